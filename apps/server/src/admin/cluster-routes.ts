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
