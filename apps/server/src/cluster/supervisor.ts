// What a raft-cluster node does for the partitions it leads besides serving them:
// - the ISR (isr.ts): itself and the followers caught up within replica.lag.time.max.ms that answer
//   its Raft traffic; changes go to the metadata as changeIsr, one proposal per partition in flight;
// - preferred leaders: a leader hands a partition back to its preferred replica (the first) by
//   leadership transfer once that node has answered steadily for PREFERRED_STABLE_MS, at most
//   TRANSFERS_PER_ROUND partitions per round, so leaders stay spread over the nodes. (One per round
//   took 2 s per misplaced leader: after a 1,000-partition topic's creation, where about a third of
//   the first elections are won by another replica than the preferred one, the spread was still
//   139 / 596 / 265 after minutes; at 3,000 partitions, half an hour.)
// Liveness of peers comes from the transport's acknowledged batches (peer-liveness.ts).
import type { Clock, Scheduler, TimerHandle } from '@chronik/env';
import { every } from '@chronik/env';
import type { RaftHost } from '@chronik/raft-host';
import type { Logger } from '../logger.js';
import type { ReplicatedPartition } from '../partition/replicated-partition.js';
import type { MetadataStore } from '../services/metadata-store.js';
import { IsrTracker } from './isr.js';
import type { PeerAcks } from './peer-liveness.js';
import { PeerLiveness } from './peer-liveness.js';

/** Period of the ISR check on partition leaders. */
const ISR_CHECK_MS = 500;
/** Period of the preferred-leader check. */
const REBALANCE_EVERY_MS = 2000;
/**
 * Leadership transfers a node starts per preferred-leader round: each wakes its group, elects the
 * preferred replica and commits one changeLeader to the metadata. Bounded so that a node holding
 * thousands of misplaced leaders moves them over tens of seconds rather than all at once.
 */
const TRANSFERS_PER_ROUND = 32;
/**
 * Transfers of this node under way (within their window) at once: a transfer that does not
 * complete (a loaded target that misses its election) keeps its slot for its window, so failing
 * transfers do not pile up into an election storm.
 */
const TRANSFERS_IN_FLIGHT = 32;
/**
 * A partition whose transfer did not complete (this node still leads it) is tried again after
 * this, doubling per attempt up to TRANSFER_RETRY_MAX_MS: every attempt is an election (the
 * target campaigns in a new term), and a loaded target that keeps missing it would otherwise be
 * asked every round.
 */
const TRANSFER_RETRY_FIRST_MS = 10_000;
const TRANSFER_RETRY_MAX_MS = 120_000;
/** A preferred replica must have answered steadily this long before leadership moves back to it. */
const PREFERRED_STABLE_MS = 10_000;

export interface SupervisorOptions {
  nodeId: number;
  host: RaftHost;
  store: MetadataStore;
  /** The partition replicas of this node. */
  replicas(): Iterable<ReplicatedPartition>;
  /** The transport's per-peer acknowledgement counts. */
  peerAcks(): readonly PeerAcks[];
  /** Wall-clock time: ISR lag, peer liveness, transfer windows. */
  clock: Clock;
  scheduler: Scheduler;
  logger: Logger;
  /** A follower not caught up within this long leaves the ISR (replica.lag.time.max.ms). */
  replicaLagMaxMs: number;
  /** A follower not marked active by Raft within this long counts as not answering. */
  activeWindowMs: number;
  /** How long a leadership transfer may take before appends are accepted again. */
  transferWindowMs: number;
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id) => b.includes(id));
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class ReplicationSupervisor {
  private readonly peerLiveness = new PeerLiveness(REBALANCE_EVERY_MS * 2);
  private readonly isr: IsrTracker;
  /** Partition groups with a changeIsr proposal in flight. */
  private readonly isrReporting = new Set<number>();
  private readonly timers: TimerHandle[] = [];
  /** Per partition group led here: preferred-leader transfers tried so far and the next allowed time. */
  private readonly transferAttempts = new Map<number, { attempts: number; notBeforeMs: number }>();

  constructor(private readonly options: SupervisorOptions) {
    this.isr = new IsrTracker({ maxLagMs: options.replicaLagMaxMs, activeWindowMs: options.activeWindowMs });
  }

  start(): void {
    const onError = (what: string) => (e: unknown) =>
      this.options.logger.warn({ err: errorText(e) }, `${what} failed`);
    this.timers.push(
      every(this.options.scheduler, ISR_CHECK_MS, () => this.checkIsr(), onError('ISR check')),
      every(
        this.options.scheduler,
        REBALANCE_EVERY_MS,
        () => this.rebalance(),
        onError('preferred leader check'),
      ),
    );
  }

  stop(): void {
    for (const t of this.timers) t.cancel();
    this.timers.length = 0;
  }

  private peerAlive(nodeId: number, now: number): boolean {
    return nodeId === this.options.nodeId || this.peerLiveness.alive(nodeId, now);
  }

  /** Reports each led partition's ISR to the metadata when it changed. */
  checkIsr(): void {
    const now = this.options.clock.nowMs();
    this.peerLiveness.observe(this.options.peerAcks(), now);
    for (const r of this.options.replicas()) {
      const gid = r.group.groupId;
      if (!r.isLeaderReady()) {
        this.isr.forget(gid);
        continue;
      }
      if (this.isrReporting.has(gid)) continue;
      const p = this.options.store.state.topicById(r.topicId)?.partitions[r.partition];
      if (p === undefined || p.leader !== this.options.nodeId || p.leaderEpoch !== r.term) continue;
      // A quiescent group: every replica whose node is alive holds the whole log. While that is
      // the ISR already, nothing to compute (no Raft status, no samples): O(1) per idle partition.
      if (this.options.host.isQuiescent(gid)) {
        const alive = p.replicas.filter((id) => this.peerAlive(id, now));
        if (this.isr.caughtUpWhileQuiescent(gid, r.term, now, alive) && sameMembers(alive, p.isr)) continue;
      }
      const st = this.options.host.status(gid);
      if (st.term !== r.term) continue;
      const isr = this.isr.update({
        groupId: gid,
        term: r.term,
        nowMs: now,
        leaderId: this.options.nodeId,
        lastIndex: st.lastIndex,
        commitIndex: st.commitIndex,
        progress: st.progress,
        replicas: p.replicas,
        currentIsr: p.isr,
        reachable: (id) => this.peerAlive(id, now),
      });
      const current = [...p.isr].sort((a, b) => a - b).join(',');
      if ([...isr].sort((a, b) => a - b).join(',') === current) continue;
      this.isrReporting.add(gid);
      this.options.store
        .commit({ type: 'changeIsr', topicId: r.topicId, partition: r.partition, leaderEpoch: r.term, isr })
        .then(
          (res) => {
            if (res.ok)
              this.options.logger.info(
                { topic: r.topic, partition: r.partition, isr },
                'partition ISR changed',
              );
          },
          (e: unknown) =>
            this.options.logger.debug({ err: errorText(e) }, 'ISR report failed; retried later'),
        )
        .finally(() => this.isrReporting.delete(gid));
    }
  }

  /**
   * Moves partitions back to their preferred replicas when those are back and steady, at most
   * TRANSFERS_PER_ROUND per call.
   */
  rebalance(): void {
    const now = this.options.clock.nowMs();
    this.peerLiveness.observe(this.options.peerAcks(), now);
    const candidates: Array<{ r: ReplicatedPartition; to: number }> = [];
    let inFlight = 0;
    for (const r of this.options.replicas()) {
      if (r.transferring) inFlight++;
      const preferred = r.replicas[0];
      if (!r.isLeaderReady() || preferred === undefined || preferred === this.options.nodeId) {
        this.transferAttempts.delete(r.group.groupId);
        continue;
      }
      if (candidates.length >= TRANSFERS_PER_ROUND || r.transferring) continue;
      if (now < (this.transferAttempts.get(r.group.groupId)?.notBeforeMs ?? 0)) continue;
      if (now - r.leaderSinceMs < PREFERRED_STABLE_MS) continue;
      // A replica being rebuilt (a learner) cannot lead.
      if (!this.options.host.status(r.group.groupId).voters.includes(preferred)) continue;
      const since = this.peerLiveness.aliveSince(preferred);
      if (
        !this.peerLiveness.alive(preferred, now) ||
        since === undefined ||
        now - since < PREFERRED_STABLE_MS
      )
        continue;
      candidates.push({ r, to: preferred });
    }
    for (const { r, to } of candidates.slice(0, Math.max(0, TRANSFERS_IN_FLIGHT - inFlight))) {
      const gid = r.group.groupId;
      const attempts = (this.transferAttempts.get(gid)?.attempts ?? 0) + 1;
      const backoffMs = Math.min(
        TRANSFER_RETRY_MAX_MS,
        TRANSFER_RETRY_FIRST_MS * 2 ** Math.min(attempts - 1, 8),
      );
      this.transferAttempts.set(gid, { attempts, notBeforeMs: now + backoffMs });
      this.options.logger.info(
        { topic: r.topic, partition: r.partition, to },
        'moving partition leadership back to its preferred replica',
      );
      try {
        r.transferLeadership(to, this.options.transferWindowMs);
      } catch (e) {
        // This partition's transfer only (its leadership changed meanwhile); the others go on.
        this.options.logger.debug(
          { topic: r.topic, partition: r.partition, err: errorText(e) },
          'preferred leader transfer not started',
        );
      }
    }
  }
}
