// Admin HTTP routes of cluster operations (JSON, camelCase): partition reassignments (below) and,
// in raft-cluster mode, cluster membership (membershipRoutes). Partition reassignments:
// - GET /v1/reassignments: every reassignment in progress in this node's metadata (the merged
//   replica set, target, adding and removing replicas), with `progress` for the moves this node
//   leads (the step it waits for, the learners' Raft match indexes against the leader's last and
//   commit index: cluster/partition-mover.ts). `?topic=t` narrows it to a topic.
// - POST /v1/reassignments `{"partitions": [{"topic": "t", "partition": 0, "replicas": [1, 2, 4]}]}`
//   starts them (`"replicas": null` cancels): 200 with one result per partition, `error` null or
//   `{code, message}` (Kafka's error names, as AlterPartitionReassignments answers); 400 for a body
//   that is not such a list.
import type { Clock, Scheduler } from '@chronik/env';
import { planDrain, planLeaderBalance, planReplicaBalance } from '@chronik/metadata';
import { balanceBrokers, balancePartitions, movingPartitions, replicasOn } from '../cluster/balancer.js';
import { kafkaErrorName } from '../error-map.js';
import type { MetadataStore } from '../services/metadata-store.js';
import type { PartitionReassignments, ReassignRequest } from '../services/reassignments.js';
import type { AdminRoute } from './http.js';

/** A move's progress as the leader of its partition reports it. */
export interface MoveProgress {
  topic: string;
  partition: number;
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

/** The body of POST /v1/reassignments, or a description of what is wrong with it. */
export function parseReassignBody(body: unknown): ReassignRequest[] | string {
  const list = (body as { partitions?: unknown } | null)?.partitions;
  if (!Array.isArray(list) || list.length === 0)
    return 'expected {"partitions": [{"topic": "...", "partition": N, "replicas": [ids] | null}, ...]}';
  const out: ReassignRequest[] = [];
  for (const [i, item] of list.entries()) {
    const o = item as { topic?: unknown; partition?: unknown; replicas?: unknown } | null;
    if (o === null || typeof o !== 'object') return `partitions[${i}] is not an object`;
    if (typeof o.topic !== 'string' || o.topic === '') return `partitions[${i}].topic must be a topic name`;
    if (!isInt(o.partition) || o.partition < 0) return `partitions[${i}].partition must be a partition index`;
    if (o.replicas !== null && !(Array.isArray(o.replicas) && o.replicas.every(isInt)))
      return `partitions[${i}].replicas must be a list of broker ids, or null to cancel`;
    out.push({ topic: o.topic, partition: o.partition, replicas: o.replicas === null ? null : o.replicas });
  }
  return out;
}

export function reassignmentRoutes(
  reassignments: PartitionReassignments,
  progress: () => readonly MoveProgress[] = () => [],
): AdminRoute[] {
  return [
    {
      method: 'GET',
      path: '/v1/reassignments',
      handle: (_body, query) => {
        const topic = query.get('topic');
        const led = new Map(progress().map((p) => [`${p.topic}\u0000${p.partition}`, p]));
        const list = reassignments
          .list(null)
          .filter((r) => topic === null || r.topic === topic)
          .map((r) => {
            const p = led.get(`${r.topic}\u0000${r.partition}`);
            return p === undefined ? r : { ...r, progress: p };
          });
        return { status: 200, body: { reassignments: list } };
      },
    },
    {
      method: 'POST',
      path: '/v1/reassignments',
      handle: async (body) => {
        const requests = parseReassignBody(body);
        if (typeof requests === 'string') return { status: 400, body: { error: requests } };
        const outcomes = await reassignments.alter(requests);
        return {
          status: 200,
          body: {
            results: outcomes.map((o) => ({
              topic: o.topic,
              partition: o.partition,
              error: o.error === null ? null : { code: kafkaErrorName(o.error), message: o.error.message },
            })),
          },
        };
      },
    },
  ];
}

/** What the membership routes need (raft-cluster mode). */
export interface MembershipRoutesOptions {
  store: MetadataStore;
  /** The metadata group's voters and learners as this node sees them. */
  members(): { voters: readonly number[]; learners: readonly number[] };
  scheduler: Scheduler;
  clock: Clock;
}

const DEFAULT_WAIT_MS = 30_000;
const POLL_MS = 100;

function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

function nodeIdOf(body: unknown): number | string {
  const id = (body as { nodeId?: unknown } | null)?.nodeId;
  return isInt(id) && id >= 0 && id <= 2 ** 31 - 1
    ? id
    : 'expected {"nodeId": N, ...} with a node id from 0 to 2147483647';
}

function waitMsOf(query: URLSearchParams): number {
  const raw = query.get('waitMs');
  const n = raw === null ? DEFAULT_WAIT_MS : Number(raw);
  return Number.isSafeInteger(n) && n >= 0 ? Math.min(n, 10 * 60_000) : DEFAULT_WAIT_MS;
}

/**
 * Cluster membership (cluster/membership.ts):
 * - GET /v1/cluster/members: the metadata group's voters and learners, the change in progress, how
 *   the last one ended, and the registered brokers (id, endpoints, rack, Raft address).
 * - POST /v1/cluster/add-node `{"nodeId": 4, "raftAddress": "h:9195"}`: admits a node before it
 *   starts (it then starts with --join): 202 once recorded; 409 with Kafka's error when refused.
 * - POST /v1/cluster/remove-node `{"nodeId": 3}` (`?waitMs=`, default 30 s): removes a member that
 *   holds no replicas; 200 once it is out, 409 when refused (replicas left, another change, or the
 *   voters left would not have a majority answering: the reason in `error.message`), 202 while it runs.
 */
export function membershipRoutes(o: MembershipRoutesOptions): AdminRoute[] {
  const state = () => o.store.state;
  const commitChange = async (
    command: Parameters<MetadataStore['commit']>[0],
  ): Promise<{ status: number; body: unknown } | number> => {
    try {
      const r = await o.store.commit(command);
      if (!r.ok) return { status: 409, body: errorBody(r.error.code, r.error.message) };
      return r.index;
    } catch (e) {
      return { status: 503, body: errorBody(kafkaErrorName(e), e instanceof Error ? e.message : String(e)) };
    }
  };
  return [
    {
      method: 'GET',
      path: '/v1/cluster/members',
      handle: () => {
        const m = o.members();
        return {
          status: 200,
          body: {
            voters: m.voters,
            learners: m.learners,
            change: state().membershipChange(),
            lastChange: state().membershipOutcome(),
            brokers: state()
              .brokers()
              .map((b) => ({
                nodeId: b.brokerId,
                host: b.host,
                port: b.port,
                rack: b.rack,
                raftAddress: b.raftAddress,
                fenced: b.fenced,
                role: m.voters.includes(b.brokerId)
                  ? 'voter'
                  : m.learners.includes(b.brokerId)
                    ? 'learner'
                    : 'none',
              })),
          },
        };
      },
    },
    {
      method: 'POST',
      path: '/v1/cluster/add-node',
      handle: async (body) => {
        const nodeId = nodeIdOf(body);
        const raftAddress = (body as { raftAddress?: unknown } | null)?.raftAddress;
        if (typeof nodeId === 'string') return { status: 400, body: { error: nodeId } };
        if (typeof raftAddress !== 'string' || !/^[^:\s]+:\d+$/.test(raftAddress))
          return {
            status: 400,
            body: { error: 'expected "raftAddress": "host:port" (the new node\'s --raft-addr)' },
          };
        const r = await commitChange({
          type: 'addNode',
          nodeId,
          raftAddress,
          clusterId: '',
          directoryId: '',
        });
        if (typeof r !== 'number') return r;
        return { status: 202, body: { status: 'admitted', change: state().membershipChange() } };
      },
    },
    {
      method: 'POST',
      path: '/v1/cluster/remove-node',
      handle: async (body, query) => {
        const nodeId = nodeIdOf(body);
        if (typeof nodeId === 'string') return { status: 400, body: { error: nodeId } };
        const r = await commitChange({ type: 'removeNode', nodeId });
        if (typeof r !== 'number') return r;
        // The change started at r, or (a retry) earlier: wait for the one of this node to end.
        const request = state().membershipChange()?.requestIndex ?? r;
        const deadline = o.clock.monotonicMs() + waitMsOf(query);
        for (;;) {
          const out = state().membershipOutcome();
          if (out !== null && out.nodeId === nodeId && out.requestIndex === request)
            return out.refused === null
              ? { status: 200, body: { status: 'removed', nodeId } }
              : { status: 409, body: errorBody('INVALID_REQUEST', out.refused) };
          if (o.clock.monotonicMs() >= deadline)
            return { status: 202, body: { status: 'in-progress', change: state().membershipChange() } };
          await new Promise<void>((resolve) => o.scheduler.setTimer(POLL_MS, resolve));
        }
      },
    },
  ];
}

/** What the balancer's routes need (raft-cluster mode). */
export interface BalancerRoutesOptions {
  store: MetadataStore;
  /** This node's --balancer-max-concurrent-moves (the metadata leader's bound applies). */
  maxConcurrentMoves: number;
}

/** A page of planned moves at most (GET /v1/cluster/balancer/plan). */
const MAX_PLAN_MOVES = 1000;

/**
 * The balancer (cluster/balancer.ts), driven by the metadata:
 * - GET /v1/cluster/balancer: the nodes being decommissioned (each with the partitions still on
 *   it, and those no other broker can take: `stuck`), the last rebalance (running while `endIndex`
 *   is null; `reason` how it ended), the partitions moving now, this node's bound on moves.
 * - POST /v1/cluster/decommission `{"nodeId": 4, "remove": true}` (remove defaults to true; false:
 *   move the replicas only): 202 once recorded; 409 with Kafka's error when refused.
 * - POST /v1/cluster/recommission `{"nodeId": 4}`: cancels a decommission (moves already made stay;
 *   moves running go on): 200, 409 when the node is not being decommissioned.
 * - POST /v1/cluster/rebalance: starts a rebalance of every topic (202; one running already: the
 *   same); POST /v1/cluster/rebalance/cancel ends the running one ('cancelled').
 * - GET /v1/cluster/balancer/plan?maxMoves=N: the moves a rebalance would start from the current
 *   state (replicas, then preferred leaders), without starting anything.
 */
export function balancerRoutes(o: BalancerRoutesOptions): AdminRoute[] {
  const state = () => o.store.state;
  const commit = async (
    command: Parameters<MetadataStore['commit']>[0],
    okStatus: number,
    okBody: () => unknown,
  ): Promise<{ status: number; body: unknown }> => {
    try {
      const r = await o.store.commit(command);
      if (!r.ok) return { status: 409, body: errorBody(r.error.code, r.error.message) };
      return { status: okStatus, body: okBody() };
    } catch (e) {
      return { status: 503, body: errorBody(kafkaErrorName(e), e instanceof Error ? e.message : String(e)) };
    }
  };
  const status = () => {
    const s = state();
    const drains = s.drains();
    const stuck =
      drains.length === 0
        ? []
        : planDrain(
            balanceBrokers(s),
            balancePartitions(s),
            new Set(drains.map((d) => d.nodeId)),
            Number.MAX_SAFE_INTEGER,
          ).stuck;
    return {
      drains: drains.map((d) => ({
        nodeId: d.nodeId,
        remove: d.remove,
        requestIndex: d.requestIndex,
        replicasLeft: replicasOn(s, d.nodeId),
        stuck: stuck
          .filter((p) => p.replicas.includes(d.nodeId))
          .map((p) => ({ topic: p.topic, partition: p.partition })),
      })),
      rebalance: s.rebalance(),
      moving: movingPartitions(s),
      maxConcurrentMoves: o.maxConcurrentMoves,
    };
  };
  return [
    { method: 'GET', path: '/v1/cluster/balancer', handle: () => ({ status: 200, body: status() }) },
    {
      method: 'GET',
      path: '/v1/cluster/balancer/plan',
      handle: (_body, query) => {
        const raw = Number(query.get('maxMoves') ?? 100);
        const maxMoves = Number.isSafeInteger(raw) && raw > 0 ? Math.min(raw, MAX_PLAN_MOVES) : 100;
        const s = state();
        const brokers = balanceBrokers(s);
        const partitions = balancePartitions(s);
        const moves = planReplicaBalance(brokers, partitions, maxMoves);
        const after = partitions.map((p) => {
          const m = moves.find((x) => x.topic === p.topic && x.partition === p.partition);
          return m === undefined ? p : { ...p, replicas: m.to };
        });
        return { status: 200, body: { moves, reorders: planLeaderBalance(brokers, after, maxMoves) } };
      },
    },
    {
      method: 'POST',
      path: '/v1/cluster/decommission',
      handle: async (body) => {
        const nodeId = nodeIdOf(body);
        if (typeof nodeId === 'string') return { status: 400, body: { error: nodeId } };
        const remove = (body as { remove?: unknown }).remove ?? true;
        if (typeof remove !== 'boolean')
          return { status: 400, body: { error: '"remove" must be true or false' } };
        return commit({ type: 'decommissionNode', nodeId, remove }, 202, () => ({
          status: 'draining',
          ...status(),
        }));
      },
    },
    {
      method: 'POST',
      path: '/v1/cluster/recommission',
      handle: async (body) => {
        const nodeId = nodeIdOf(body);
        if (typeof nodeId === 'string') return { status: 400, body: { error: nodeId } };
        return commit({ type: 'recommissionNode', nodeId }, 200, () => ({
          status: 'recommissioned',
          nodeId,
        }));
      },
    },
    {
      method: 'POST',
      path: '/v1/cluster/rebalance',
      handle: async () =>
        commit({ type: 'startRebalance' }, 202, () => ({ status: 'rebalancing', ...status() })),
    },
    {
      method: 'POST',
      path: '/v1/cluster/rebalance/cancel',
      handle: async () => {
        const r = state().rebalance();
        if (r === null || r.endIndex !== null)
          return { status: 409, body: errorBody('INVALID_REQUEST', 'No rebalance is running') };
        return commit(
          { type: 'endRebalance', requestIndex: r.requestIndex, reason: 'cancelled' },
          200,
          () => ({ status: 'cancelled', ...status() }),
        );
      },
    },
  ];
}
