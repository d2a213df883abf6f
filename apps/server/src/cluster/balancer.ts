// The balancer (the cluster README, "Decommission and rebalance"): the metadata group's leader
// carries out what the metadata asks for — nodes being decommissioned (`decommissionNode`) and a
// rebalance of every topic (`startRebalance`) — as partition reassignments, at most
// `maxConcurrentMoves` partitions moving at once (every reassignment in progress counts, an
// operator's too). Every step is decided from the metadata alone (the drains, the rebalance, the
// partitions' replicas and targets), so a leader change or a restart of any node resumes the work
// where it was; the partition mover (partition-mover.ts) moves the data and the leadership.
// - Decommission first: each draining node's replicas move to other nodes (metadata's planDrain:
//   rack-aware, the fewest replicas; a draining or fenced node takes none); a staying replica
//   becomes the preferred leader, so leadership leaves the node as its partitions move. Once the
//   node holds no replica and `remove` is set, the balancer asks for its removal (`removeNode`,
//   which the membership manager refuses when the voters left would lose their majority; it is
//   asked again after REMOVE_RETRY_MS). The removal ends the drain; `recommissionNode` cancels it.
// - Then a running rebalance: replicas spread over the brokers across all topics
//   (planReplicaBalance), then preferred leaders (planLeaderBalance: reorders, no data moves; the
//   supervisor hands leadership to each partition's preferred replica); once neither plans a move
//   and nothing moves, `endRebalance` with 'balanced'.
import { every } from '@chronik/env';
import type { Scheduler, TimerHandle } from '@chronik/env';
import {
  isReassigning,
  planDrain,
  planLeaderBalance,
  planReplicaBalance,
  targetReplicas,
} from '@chronik/metadata';
import type { BalanceBroker, BalanceMove, BalancePartition, MetadataStateMachine } from '@chronik/metadata';
import type { Logger } from '../logger.js';
import type { MetadataStore } from '../services/metadata-store.js';

const CHECK_MS = 1000;
/** How long after a refused or failed removal the balancer asks again. */
const REMOVE_RETRY_MS = 10_000;
export const DEFAULT_MAX_CONCURRENT_MOVES = 2;

export interface BalancerOptions {
  store: MetadataStore;
  /** Whether this node leads the metadata group now. */
  isMetadataLeader(): boolean;
  scheduler: Scheduler;
  logger: Logger;
  maxConcurrentMoves: number;
  checkIntervalMs?: number;
  /** Monotonic milliseconds (the removal's retry). */
  nowMs(): number;
}

/** The brokers as the plans see them: a fenced or draining broker takes no replica. */
export function balanceBrokers(state: MetadataStateMachine): BalanceBroker[] {
  const draining = new Set(state.drains().map((d) => d.nodeId));
  return state.brokers().map((b) => ({
    brokerId: b.brokerId,
    rack: b.rack,
    canTake: !b.fenced && !draining.has(b.brokerId),
  }));
}

/** Every partition at its target (a partition moving is planned from where it ends). */
export function balancePartitions(state: MetadataStateMachine): BalancePartition[] {
  return state
    .topics()
    .flatMap((t) =>
      t.partitions.map((p) => ({ topic: t.name, partition: p.partition, replicas: targetReplicas(p) })),
    );
}

/** Partitions with a replica (now, or in a move's target) on `nodeId`. */
export function replicasOn(state: MetadataStateMachine, nodeId: number): number {
  let n = 0;
  for (const t of state.topics())
    for (const p of t.partitions) if (p.replicas.includes(nodeId) || p.addingReplicas.includes(nodeId)) n++;
  return n;
}

/** Partitions moving now. */
export function movingPartitions(state: MetadataStateMachine): number {
  let n = 0;
  for (const t of state.topics()) for (const p of t.partitions) if (isReassigning(p)) n++;
  return n;
}

export class Balancer {
  private timer: TimerHandle | undefined;
  private busy = false;
  /** Node → when its removal may be asked again. */
  private readonly removeAfterMs = new Map<number, number>();

  constructor(private readonly options: BalancerOptions) {}

  start(): void {
    this.timer = every(
      this.options.scheduler,
      this.options.checkIntervalMs ?? CHECK_MS,
      () => this.check(),
      (e) => this.options.logger.warn({ err: String(e) }, 'balancer check failed'),
    );
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  check(): void {
    if (this.busy || !this.options.isMetadataLeader()) return;
    this.busy = true;
    this.step()
      .catch((e: unknown) =>
        this.options.logger.info(
          { err: e instanceof Error ? e.message : String(e) },
          'balancer step failed; tried again at the next check',
        ),
      )
      .finally(() => (this.busy = false));
  }

  /** One round: the moves that fit under the bound, a removal, or the end of a rebalance. */
  async step(): Promise<void> {
    const state = this.options.store.state;
    const drains = state.drains();
    const rebalance = state.rebalance();
    const rebalancing = rebalance !== null && rebalance.endIndex === null;
    if (drains.length === 0 && !rebalancing) return;
    const moving = movingPartitions(state);
    const budget = Math.max(0, this.options.maxConcurrentMoves - moving);
    const brokers = balanceBrokers(state);
    const partitions = balancePartitions(state);
    if (drains.length > 0) {
      const plan = planDrain(brokers, partitions, new Set(drains.map((d) => d.nodeId)), budget);
      await this.submit(plan.moves, 'decommission');
      for (const d of drains) {
        if (!d.remove || replicasOn(state, d.nodeId) > 0) continue;
        await this.remove(d.nodeId);
      }
      return;
    }
    if (rebalance === null) return;
    const moves = planReplicaBalance(brokers, partitions, budget);
    if (moves.length > 0) return this.submit(moves, 'rebalance');
    if (moving > 0) return;
    const reorders = planLeaderBalance(brokers, partitions, this.options.maxConcurrentMoves);
    if (reorders.length > 0) return this.submit(reorders, 'rebalance (preferred leaders)');
    const r = await this.options.store.commit({
      type: 'endRebalance',
      requestIndex: rebalance.requestIndex,
      reason: 'balanced',
    });
    if (r.ok) this.options.logger.info({ requestIndex: rebalance.requestIndex }, 'rebalance done: balanced');
  }

  private async submit(moves: readonly BalanceMove[], why: string): Promise<void> {
    const state = this.options.store.state;
    for (const m of moves) {
      const topic = state.topic(m.topic);
      if (topic === undefined) continue;
      const r = await this.options.store.commit({
        type: 'alterReassignment',
        topicId: topic.topicId,
        partition: m.partition,
        replicas: [...m.to],
      });
      if (r.ok)
        this.options.logger.info(
          { topic: m.topic, partition: m.partition, from: m.from, to: m.to },
          `${why}: moving a partition`,
        );
      else
        this.options.logger.info(
          { topic: m.topic, partition: m.partition, err: r.error.message },
          `${why}: move refused; planned again at the next check`,
        );
    }
  }

  private async remove(nodeId: number): Promise<void> {
    const state = this.options.store.state;
    const change = state.membershipChange();
    if (change !== null) return;
    const now = this.options.nowMs();
    if ((this.removeAfterMs.get(nodeId) ?? 0) > now) return;
    this.removeAfterMs.set(nodeId, now + REMOVE_RETRY_MS);
    const r = await this.options.store.commit({ type: 'removeNode', nodeId });
    if (r.ok)
      this.options.logger.info({ node: nodeId }, 'decommission: the node holds no replica; removing it');
    else
      this.options.logger.warn(
        { node: nodeId, err: r.error.message },
        'decommission: the removal was refused; asked again later',
      );
  }
}
