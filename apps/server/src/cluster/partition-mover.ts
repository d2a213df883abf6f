// Partition reassignment (KIP-455), done by the partition's Raft group. The metadata records the
// target (`alterReassignment`: the merged replica set, adding and removing replicas); the leader of
// the partition moves the group's membership toward it, one Raft membership change at a time, and
// reports the end (`completeReassignment`). Every step is decided from two things any leader can
// read — the metadata's target and the group's configuration — so a crash or a leader change
// anywhere resumes the move where it was:
//   1. a learner that is not in the target (a cancelled move's) is removed;
//   2. each target replica that is not a member is added as a learner: it opens its replica empty
//      (partition-groups.ts, "joins"), gets the leader's snapshot and the log, votes in nothing and
//      counts in no commit or ISR — the catch-up is throttled (replication-throttle.ts);
//   3. once every such learner has caught up — acknowledged an entry after it was added and holds
//      everything committed as of the previous check, as replica-repair.ts promotes rebuilt ones —
//   4. if this leader leaves, it hands leadership to a voter that stays (leadership transfer) and
//      the next leader goes on; with none (every target replica is new), it stays;
//   5. once a majority of the target answers (a target replica whose copy is lost or whose node is
//      down would leave the switched group without a working majority: the move waits), one
//      membership change switches the voters to the target: the learners become voters and the
//      leaving voters go, in one joint configuration (Raft's joint consensus, left automatically)
//      when more than one node changes. A leader that switched itself out hands over (the core);
//   6. the voters are exactly the target: `completeReassignment`. Only then does the metadata drop
//      the leaving replicas, whose nodes delete their data (partition-manager.ts).
// No committed record is lost: a membership change commits on a majority of the configuration it
// leaves and of the one it enters; a learner holds nothing anyone counted; a leaving replica keeps
// its copy until the group no longer counts it. A partition under repair (replica-repair.ts) waits
// for the repair to end.
import { every } from '@chronik/env';
import type { Scheduler, TimerHandle } from '@chronik/env';
import { isReassigning, originalReplicas, targetReplicas } from '@chronik/metadata';
import type { PartitionInfo } from '@chronik/metadata';
import { ConfChangeTransition, ConfChangeType } from '@chronik/raft';
import type { ConfChangeSingle } from '@chronik/raft';
import type { Logger } from '../logger.js';
import type { ReplicatedPartition } from '../partition/replicated-partition.js';
import type { MetadataStore } from '../services/metadata-store.js';

/** Period of the move check. */
const CHECK_MS = 500;
const NO_CONTEXT = new Uint8Array(0);

export interface PartitionMoverOptions {
  nodeId: number;
  store: MetadataStore;
  /** The partition replicas of this node (its Raft groups). */
  replicas(): Iterable<ReplicatedPartition>;
  scheduler: Scheduler;
  logger: Logger;
  /** Time a membership change or a metadata commit may take. */
  proposalTimeoutMs: number;
  /** How long a leadership transfer may take before appends are accepted again. */
  transferWindowMs: number;
  /** Told which learners of a group catch up for a move (their replication is throttled). */
  throttle?: { setThrottled(groupId: number, nodes: readonly number[]): void };
  /** Period of the check. Default 500 ms. */
  checkIntervalMs?: number;
}

/** One replica a move adds, as its leader sees it. */
export interface LearnerProgress {
  nodeId: number;
  /** The highest Raft index it holds, as the leader knows it. */
  matchIndex: number;
  /** Caught up: may become a voter. */
  caughtUp: boolean;
}

/** A move led by this node (the admin API's progress). */
export interface MoveStatus {
  topic: string;
  partition: number;
  replicas: readonly number[];
  target: readonly number[];
  adding: readonly number[];
  removing: readonly number[];
  /** What it waits for now. */
  step: 'waiting-for-repair' | 'adding-learners' | 'catching-up' | 'switching' | 'completing';
  voters: readonly number[];
  learners: readonly LearnerProgress[];
  /** The leader's last Raft index and commit index (learners' match indexes approach them). */
  lastIndex: number;
  commitIndex: number;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function same(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v) => b.includes(v));
}

export class PartitionMover {
  private timer: TimerHandle | undefined;
  /** Partition groups with a step running here (one membership change at a time per group). */
  private readonly busy = new Set<number>();
  /** Per group and member: the leader's term and commit index at the previous check. */
  private readonly samples = new Map<string, { term: number; commit: number }>();
  /**
   * Per group: the voters (this leader among them) that acknowledged, in this term, everything
   * committed as of the previous check. `recentActive` alone is not enough: a new leader counts
   * every follower active until an election timeout passes, a follower whose copy was lost
   * (waiting for its repair) among them, and a switch that counted on it left the group without a
   * working majority (simulator seed 3 with quiescence).
   */
  private readonly answering = new Map<number, ReadonlySet<number>>();
  /** Groups whose learners this node throttles now. */
  private readonly throttled = new Set<number>();
  private readonly moves = new Map<number, MoveStatus>();

  constructor(private readonly options: PartitionMoverOptions) {}

  start(): void {
    this.timer = every(
      this.options.scheduler,
      this.options.checkIntervalMs ?? CHECK_MS,
      () => this.check(),
      (e) => this.options.logger.warn({ err: errorText(e) }, 'partition move check failed'),
    );
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** The moves this node leads now, with their progress. */
  statuses(): MoveStatus[] {
    return [...this.moves.values()].sort((a, b) =>
      a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
    );
  }

  check(): void {
    const active = new Set<number>();
    for (const r of this.options.replicas()) {
      if (!r.isLeaderReady()) continue;
      const info = this.options.store.state.topicById(r.topicId)?.partitions[r.partition];
      if (info === undefined || !isReassigning(info)) continue;
      const gid = r.group.groupId;
      active.add(gid);
      const status = this.observe(r, info);
      this.moves.set(gid, status);
      if (status.step === 'waiting-for-repair' || this.busy.has(gid)) continue;
      this.busy.add(gid);
      this.advance(r, info, status)
        .catch((e: unknown) =>
          this.options.logger.info(
            { topic: r.topic, partition: r.partition, err: errorText(e) },
            'partition move step failed; tried again at the next check',
          ),
        )
        .finally(() => this.busy.delete(gid));
    }
    // Moves no longer led here (finished, or another node leads them now): forget what was tracked.
    for (const gid of [...this.moves.keys()]) if (!active.has(gid)) this.moves.delete(gid);
    for (const gid of [...this.throttled])
      if (!active.has(gid)) {
        this.throttled.delete(gid);
        this.options.throttle?.setThrottled(gid, []);
      }
    for (const key of [...this.samples.keys()])
      if (!active.has(Number(key.slice(0, key.indexOf('/'))))) this.samples.delete(key);
    for (const gid of [...this.answering.keys()]) if (!active.has(gid)) this.answering.delete(gid);
  }

  /** Where the move stands, from the group's configuration and progress; samples the learners. */
  private observe(r: ReplicatedPartition, info: PartitionInfo): MoveStatus {
    const st = r.group.status();
    const gid = r.group.groupId;
    const target = targetReplicas(info);
    const answering = new Set<number>([this.options.nodeId]);
    for (const b of st.voters) {
      if (b === this.options.nodeId) continue;
      const p = st.progress.find((x) => x.nodeId === b);
      const key = `${gid}/${b}`;
      const before = this.samples.get(key);
      this.samples.set(key, { term: st.term, commit: st.commitIndex });
      if (p?.recentActive === true && before?.term === st.term && p.match >= before.commit) answering.add(b);
    }
    this.answering.set(gid, answering);
    const learners: LearnerProgress[] = st.learners.map((b) => {
      const p = st.progress.find((x) => x.nodeId === b);
      const key = `${gid}/${b}`;
      const before = this.samples.get(key);
      this.samples.set(key, { term: st.term, commit: st.commitIndex });
      // An acknowledgement after it became a learner (an earlier copy of it counts for nothing),
      // and everything committed as of the previous check (under writes it always trails the newest).
      const caughtUp =
        p !== undefined &&
        p.recentActive &&
        before !== undefined &&
        before.term === st.term &&
        p.match >= Math.max(1, r.learnerSince(b)) &&
        p.match >= before.commit;
      return { nodeId: b, matchIndex: p?.match ?? 0, caughtUp };
    });
    const members = [...st.voters, ...st.learners];
    let step: MoveStatus['step'];
    if (info.repairs.length > 0) step = 'waiting-for-repair';
    else if (st.learners.some((b) => !target.includes(b)) || target.some((b) => !members.includes(b)))
      step = 'adding-learners';
    else if (learners.some((l) => target.includes(l.nodeId) && !l.caughtUp)) step = 'catching-up';
    else if (st.votersOutgoing.length > 0 || !same(st.voters, target)) step = 'switching';
    else step = 'completing';
    // The replicas of the target that are not voters catch up through the throttle: the learners, and
    // the ones not added yet, so that the throttle holds from the first MsgApp after the learner
    // joins (advance() adds it right after this; throttled only from the next check, it received up
    // to a check interval of log at full speed).
    const catching = target.filter((b) => !st.voters.includes(b));
    this.options.throttle?.setThrottled(gid, catching);
    if (catching.length > 0) this.throttled.add(gid);
    return {
      topic: r.topic,
      partition: r.partition,
      replicas: info.replicas,
      target,
      adding: info.addingReplicas,
      removing: info.removingReplicas,
      step,
      voters: st.voters,
      learners,
      lastIndex: st.lastIndex,
      commitIndex: st.commitIndex,
    };
  }

  private async advance(r: ReplicatedPartition, info: PartitionInfo, status: MoveStatus): Promise<void> {
    const { logger, proposalTimeoutMs, nodeId } = this.options;
    const st = r.group.status();
    // A joint configuration is left by the leader on its own (automatic transition).
    if (st.votersOutgoing.length > 0) return;
    const target = status.target;
    const where = { topic: r.topic, partition: r.partition, target };
    const change = (type: ConfChangeType, b: number) =>
      r.group.proposeConfChange({ type, nodeId: b, context: NO_CONTEXT }, proposalTimeoutMs);
    // 1. A learner outside the target (the move was cancelled): out of the group.
    const stray = st.learners.find((b) => !target.includes(b));
    if (stray !== undefined) {
      await change(ConfChangeType.RemoveNode, stray);
      logger.info(
        { ...where, replica: stray },
        'partition move: a learner outside the target left the group',
      );
      return;
    }
    // 2. Target replicas that are not members: learners first.
    const missing = target.find((b) => !st.voters.includes(b) && !st.learners.includes(b));
    if (missing !== undefined) {
      await change(ConfChangeType.AddLearnerNode, missing);
      logger.info(
        { ...where, replica: missing },
        'partition move: a new replica joined as a learner; it catches up from this leader',
      );
      return;
    }
    // 3. Every learner of the target caught up.
    if (status.step === 'catching-up') return;
    const promote = st.learners.filter((b) => target.includes(b));
    const remove = st.voters.filter((b) => !target.includes(b));
    // 6. Done: the voters are the target.
    if (promote.length === 0 && remove.length === 0) {
      const res = await this.options.store.commit({
        type: 'completeReassignment',
        topicId: r.topicId,
        partition: r.partition,
        replicas: target,
      });
      if (res.ok)
        logger.info(
          { ...where, from: originalReplicas(info) },
          'partition move done: the leaving replicas remove their copies',
        );
      else logger.debug({ ...where, err: res.error.message }, 'partition move completion not taken');
      return;
    }
    const acked = this.answering.get(r.group.groupId) ?? new Set<number>([nodeId]);
    // 4. This leader leaves: hand over to a voter that stays and answers, if there is one.
    if (remove.includes(nodeId) && !r.transferring) {
      const to = target.find((b) => b !== nodeId && st.voters.includes(b) && acked.has(b));
      if (to !== undefined) {
        logger.info({ ...where, to }, 'partition move: this leader leaves; handing leadership over first');
        r.transferLeadership(to, this.options.transferWindowMs);
        return;
      }
    }
    if (r.transferring) return;
    // 5. Only while a majority of the target answers (a replica whose copy is lost or whose node is
    // down would leave the switched group without a working majority: the move waits for it). A
    // learner of the target answers when caught up (step 3); a voter when it acknowledged this
    // term's commits (observe).
    const answering = target.filter(
      (b) => acked.has(b) || status.learners.some((l) => l.nodeId === b && l.caughtUp),
    );
    if (answering.length * 2 <= target.length) {
      logger.debug(
        { ...where, answering },
        'partition move waits: fewer than a majority of the target replicas answer',
      );
      return;
    }
    // One switch to the target voters (joint consensus when more than one node changes).
    const changes: ConfChangeSingle[] = [
      ...promote.map((b) => ({ type: ConfChangeType.AddNode, nodeId: b })),
      ...remove.map((b) => ({ type: ConfChangeType.RemoveNode, nodeId: b })),
    ];
    logger.info({ ...where, promote, remove }, 'partition move: switching the group to the target voters');
    await r.group.proposeConfChange(
      { transition: ConfChangeTransition.Auto, changes, context: NO_CONTEXT },
      proposalTimeoutMs,
    );
  }
}
