// A partition's Raft group as the test scripts it, for a ReplicatedPartition on node 1: who leads in
// which term, which entries reach the log, which commit (and apply), which proposals are refused
// or time out. Deterministic, with no timers: the cases in back-pressure.test.ts and
// leader-change.test.ts decide every step.
import { readRecordBatchHeader } from '@chronik/protocol';
import type { Entry } from '@chronik/raft';
import { EntryType, RaftError, RaftErrorCode, StateType } from '@chronik/raft';
import type {
  GroupLog,
  GroupStatus,
  ProposalOutcome,
  ProposeOptions,
  StateMachine,
} from '@chronik/raft-host';
import { HostError } from '@chronik/raft-host';
import { WalError } from '@chronik/wal';
import { KafkaError } from '../../src/errors.js';
import { silentLogger } from '../../src/logger.js';
import type { PartitionGroup } from '../../src/partition/replicated-partition.js';
import type { LogConfig } from '../../src/partition/types.js';
import { ReplicatedPartition } from '../../src/partition/replicated-partition.js';
import { LOG_CONFIG, TOPIC_ID } from './harness.js';

export class ScriptedGroup implements PartitionGroup {
  readonly groupId = 7;
  term = 0;
  role: StateType = StateType.Follower;
  readonly entries: Entry[] = [];
  /** The next proposal is refused with this (nothing appended). */
  refuseNext: unknown;
  /** The followers' match indexes, as the leader's progress reports them. */
  readonly matches: Map<number, number>;

  /** A group of `voters` (node 1 among them). */
  constructor(readonly voters: readonly number[] = [1, 2, 3]) {
    this.matches = new Map(voters.filter((v) => v !== 1).map((v) => [v, 0]));
  }
  private sm!: StateMachine;
  private applied = 0;
  private readonly waiting = new Map<
    number,
    { resolve(o: ProposalOutcome): void; reject(e: unknown): void }
  >();

  open(sm: StateMachine): Promise<void> {
    this.sm = sm;
    return Promise.resolve();
  }

  /** Node 1 wins an election in the next term and appends its no-op (not committed yet). */
  elect(): void {
    this.term++;
    this.role = StateType.Leader;
    this.sm.onRoleChange?.(StateType.Leader, 1, this.term);
    this.append(new Uint8Array());
  }

  /** Node 1 wins an election and commits its no-op: the partition is a ready leader. */
  lead(): void {
    this.elect();
    this.commit();
  }

  /** Node 1 follows `leaderId` in the next term (its uncommitted entries stay in its log). */
  follow(leaderId: number): void {
    this.term++;
    this.role = StateType.Follower;
    this.sm.onRoleChange?.(StateType.Follower, leaderId, this.term);
  }

  /** Node 1 loses the leadership to node 2. */
  stepDown(): void {
    this.follow(2);
  }

  /** An entry of the current term reaches node 1's log (from the leader, or proposed here). */
  append(data: Uint8Array): { index: number; term: number } {
    const at = { index: this.entries.length + 1, term: this.term };
    this.entries.push({ ...at, type: EntryType.Normal, data: Uint8Array.from(data) });
    return at;
  }

  /** Membership changes are not scripted here. */
  proposeConfChange(): Promise<ProposalOutcome> {
    return Promise.reject(new Error('the scripted group does not change its membership'));
  }

  propose(data: Uint8Array, _timeoutMs: number, options: ProposeOptions = {}): Promise<ProposalOutcome> {
    if (this.refuseNext !== undefined) {
      const e = this.refuseNext;
      this.refuseNext = undefined;
      return Promise.reject(e);
    }
    const at = this.append(data);
    const outcome = new Promise<ProposalOutcome>((resolve, reject) =>
      this.waiting.set(at.index, { resolve, reject }),
    );
    options.onAppended?.(at);
    options.onPersisted?.();
    return outcome;
  }

  /** Commits and applies the entries up to `index` (default: all). */
  commit(index = this.entries.length): void {
    while (this.applied < index) {
      const e = this.entries[this.applied] as Entry;
      this.applied++;
      const result = this.sm.apply(e);
      this.waiting.get(e.index)?.resolve({ index: e.index, term: e.term, result });
      this.waiting.delete(e.index);
    }
  }

  /** Follower `nodeId` acknowledges the entries up to `index` (the leader's progress moves). */
  ack(nodeId: number, index = this.entries.length): void {
    this.matches.set(nodeId, index);
    if (this.role === StateType.Leader) this.sm.onReplicated?.();
  }

  /** The proposal of entry `index` times out (the entry stays in the log). */
  timeOut(index: number): void {
    this.waiting.get(index)?.reject(new HostError('Timeout', `entry ${index} not applied in time`));
    this.waiting.delete(index);
  }

  status(): GroupStatus {
    return {
      groupId: this.groupId,
      role: this.role,
      leaderId: this.role === StateType.Leader ? 1 : 2,
      term: this.term,
      vote: 1,
      commitIndex: this.applied,
      appliedIndex: this.applied,
      firstIndex: 1,
      lastIndex: this.entries.length,
      snapshotIndex: 0,
      voters: this.voters,
      learners: [],
      votersOutgoing: [],
      maxEntryBytes: 1 << 20,
      quiescent: false,
      failure: null,
      progress:
        this.role === StateType.Leader
          ? [[1, this.entries.length] as const, ...this.matches].map(([nodeId, match]) => ({
              nodeId,
              match,
              next: match + 1,
              state: 'replicate',
              isLearner: false,
              recentActive: true,
            }))
          : [],
    };
  }

  /** Entries whose read fails (damaged storage under the log). */
  readonly damaged = new Set<number>();
  /** The log is compacted up to this index (reads at or below it are Compacted). */
  compactedTo = 0;
  /** While set, asynchronous reads wait for it (a read held at the disk). */
  readGate: Promise<void> | undefined;

  log(): GroupLog {
    const entries = (lo: number, hi: number): Entry[] => {
      if (lo <= this.compactedTo) throw new RaftError(RaftErrorCode.Compacted, `entries(${lo}): compacted`);
      for (const d of this.damaged)
        if (d >= lo && d < hi) throw new WalError('Corruption', `entry ${d}: checksum mismatch`);
      return this.entries.slice(lo - 1, hi - 1);
    };
    return {
      entries,
      // As RaftLogStorage answers: after a turn of the event loop, within the data budget.
      readEntries: async (lo, hi, maxBytes) => {
        await new Promise((r) => setImmediate(r));
        await this.readGate;
        const all = entries(lo, hi);
        let bytes = 0;
        let n = 0;
        while (n < all.length && (n === 0 || bytes + (all[n] as Entry).data.length <= maxBytes))
          bytes += (all[n++] as Entry).data.length;
        return all.slice(0, n);
      },
      term: (i) => (i === 0 ? 0 : (this.entries[i - 1] as Entry).term),
      firstIndex: () => this.compactedTo + 1,
      lastIndex: () => this.entries.length,
    };
  }

  transferLeadership(): void {}
  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Base offsets of the record batches in the log, in log order. */
  batchOffsets(): bigint[] {
    return this.entries
      .filter((e) => e.data.length > 0)
      .map((e) => readRecordBatchHeader(Buffer.from(e.data), 0).baseOffset);
  }
}

export interface ScriptedPartition {
  group: ScriptedGroup;
  p: ReplicatedPartition;
  /** The partition's clock (ms). */
  clock: { now: number };
  /** What the partition reported through events.failed. */
  failures: Error[];
}

/** A replicated partition of node 1 on a ScriptedGroup, opened (a follower until the test elects it). */
export async function scriptedPartition(
  o: { maxUncommittedBytes?: number; config?: Partial<LogConfig>; voters?: readonly number[] } = {},
): Promise<ScriptedPartition> {
  const group = new ScriptedGroup(o.voters);
  const clock = { now: 1_000_000 };
  const failures: Error[] = [];
  const p = new ReplicatedPartition({
    topic: 't',
    topicId: TOPIC_ID,
    partition: 0,
    nodeId: 1,
    group,
    config: { ...LOG_CONFIG, ...o.config },
    retentionCheckIntervalMs: 1_000_000,
    proposalTimeoutMs: 5000,
    logger: silentLogger,
    nowMs: () => clock.now,
    events: {
      leaderReady: () => undefined,
      leaderLost: () => undefined,
      damaged: () => undefined,
      failed: (_p, e) => failures.push(e),
    },
    ...(o.maxUncommittedBytes !== undefined ? { maxUncommittedBytes: o.maxUncommittedBytes } : {}),
  });
  p.replicas = group.voters;
  await p.open();
  return { group, p, clock, failures };
}

/** The Kafka error name a call or promise fails with ('ok' when it succeeds). */
export async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
    return 'ok';
  } catch (e) {
    return e instanceof KafkaError ? e.code : String(e);
  }
}
