// Leader elections on demand (ElectLeaders, KIP-460), as Raft allows them. A partition's leader is
// its Raft group's, elected among the replicas that hold every committed record, so:
// - PREFERRED: leadership moves to the preferred replica (the first of the target replicas) by a
//   Raft leadership transfer, which the partition's current leader starts (here, or on the leader's
//   node through an inter-broker ElectLeaders); the answer comes once this node sees the preferred
//   replica lead, or REQUEST_TIMED_OUT. Already leading: ELECTION_NOT_NEEDED. Not in the ISR, or
//   its broker not registered or fenced: PREFERRED_LEADER_NOT_AVAILABLE.
// - UNCLEAN: a partition with a leader needs none (ELECTION_NOT_NEEDED, as Kafka answers); one
//   without cannot get an out-of-sync leader — Raft never elects one, and a majority of the
//   replicas elects a leader by itself — so ELIGIBLE_LEADERS_NOT_AVAILABLE.
// The automatic return of leadership to the preferred replica (cluster/supervisor.ts) stays.
import type { Clock, Scheduler } from '@chronik/env';
import { targetReplicas } from '@chronik/metadata';
import { KafkaError } from '../errors.js';
import type { MetadataStore } from './metadata-store.js';

export const ElectionType = { PREFERRED: 0, UNCLEAN: 1 } as const;
export type ElectionType = (typeof ElectionType)[keyof typeof ElectionType];

export interface ElectionResult {
  topic: string;
  partition: number;
  /** Null when the election took place. */
  error: KafkaError | null;
}

/** How a mode moves a partition's leadership (cluster mode: the leader's Raft group transfers it). */
export interface LeadershipTransfers {
  /**
   * Starts the transfer of the partition's leadership to `to` where it can be started: on this
   * node when it leads the partition, else (unless `localOnly`) on the leader's node. Resolves once
   * started (not done); rejects with a KafkaError when it cannot be (NOT_LEADER_OR_FOLLOWER: the
   * leader moved; the caller asks again).
   */
  transfer(
    tp: { topic: string; topicId: string; partition: number },
    to: number,
    leaderId: number,
    options: { localOnly: boolean; timeoutMs: number },
  ): Promise<void>;
}

export interface LeaderElectionsOptions {
  store: MetadataStore;
  /** The leader clients are told (the metadata, overlaid with what this node's replicas know). */
  leaderOf(topic: string, partition: number): number;
  transfers?: LeadershipTransfers;
  clock: Clock;
  scheduler: Scheduler;
}

/** How often an election's outcome is looked at while waiting. */
const POLL_MS = 50;
/** A transfer that has not moved leadership after this long is started again. */
const RESTART_TRANSFER_MS = 3000;
/** Partitions of one request elected at once. */
const CONCURRENCY = 64;

export class LeaderElections {
  constructor(private readonly options: LeaderElectionsOptions) {}

  /**
   * Elects leaders for the named partitions, or for every partition when `partitions` is null (then
   * the partitions that need none are left out of the answer, as Kafka does). `localOnly`: a
   * request forwarded by another node — only partitions led here are transferred.
   */
  async elect(
    type: number,
    partitions: ReadonlyArray<{ topic: string; partitions: readonly number[] }> | null,
    timeoutMs: number,
    localOnly = false,
  ): Promise<ElectionResult[]> {
    const state = this.options.store.state;
    const all = partitions === null;
    const wanted =
      partitions ??
      state.topics().map((t) => ({ topic: t.name, partitions: t.partitions.map((p) => p.partition) }));
    const jobs = wanted.flatMap((w) =>
      [...new Set(w.partitions)].map((p) => ({ topic: w.topic, partition: p })),
    );
    const deadline = this.options.clock.monotonicMs() + Math.max(0, timeoutMs);
    const out: ElectionResult[] = [];
    for (let i = 0; i < jobs.length; i += CONCURRENCY)
      out.push(
        ...(await Promise.all(
          jobs
            .slice(i, i + CONCURRENCY)
            .map((j) => this.electOne(type, j.topic, j.partition, deadline, localOnly)),
        )),
      );
    return all ? out.filter((r) => r.error?.code !== 'ELECTION_NOT_NEEDED') : out;
  }

  private async electOne(
    type: number,
    topic: string,
    partition: number,
    deadline: number,
    localOnly: boolean,
  ): Promise<ElectionResult> {
    const out = (code: string | null, message?: string): ElectionResult => ({
      topic,
      partition,
      error: code === null ? null : new KafkaError(code, message ?? code),
    });
    const state = this.options.store.state;
    const t = state.topic(topic);
    const info = t?.partitions[partition];
    if (t === undefined || info === undefined)
      return out('UNKNOWN_TOPIC_OR_PARTITION', `unknown partition ${topic}-${partition}`);
    const leader = this.options.leaderOf(topic, partition);
    if (type === ElectionType.UNCLEAN)
      return leader >= 0
        ? out('ELECTION_NOT_NEEDED', `${topic}-${partition} has a leader (${leader})`)
        : out(
            'ELIGIBLE_LEADERS_NOT_AVAILABLE',
            `${topic}-${partition} has no leader: Raft elects one once a majority of its replicas answer; it never elects a replica that lacks committed records`,
          );
    if (type !== ElectionType.PREFERRED) return out('INVALID_REQUEST', `unknown election type ${type}`);
    const preferred = targetReplicas(info)[0];
    if (preferred === undefined) return out('PREFERRED_LEADER_NOT_AVAILABLE', 'no replicas');
    if (leader === preferred)
      return out('ELECTION_NOT_NEEDED', `${topic}-${partition} is led by its preferred replica ${preferred}`);
    const broker = state.broker(preferred);
    if (broker === undefined || broker.fenced || !info.isr.includes(preferred))
      return out(
        'PREFERRED_LEADER_NOT_AVAILABLE',
        `the preferred replica ${preferred} of ${topic}-${partition} is not ${broker === undefined || broker.fenced ? 'a live broker' : 'in the ISR'}`,
      );
    const transfers = this.options.transfers;
    if (transfers === undefined || leader < 0)
      return out('PREFERRED_LEADER_NOT_AVAILABLE', `${topic}-${partition} has no leader to hand over now`);
    const { clock, scheduler } = this.options;
    /** When the transfer was last started (-1: not yet, or it is to be started again). */
    let startedAt = -1;
    let lastError: KafkaError | null = null;
    while (clock.monotonicMs() < deadline) {
      const now = this.options.leaderOf(topic, partition);
      if (now === preferred) return out(null);
      // A transfer that did not take (Raft abandons one after an election timeout): start it again.
      if (startedAt >= 0 && clock.monotonicMs() - startedAt > RESTART_TRANSFER_MS) startedAt = -1;
      if (startedAt < 0 && now >= 0) {
        try {
          await transfers.transfer({ topic, topicId: t.topicId, partition }, preferred, now, {
            localOnly,
            timeoutMs: Math.max(1, Math.floor(deadline - clock.monotonicMs())),
          });
          startedAt = clock.monotonicMs();
        } catch (e) {
          lastError = e instanceof KafkaError ? e : new KafkaError('UNKNOWN_SERVER_ERROR', String(e));
          if (localOnly || lastError.code !== 'NOT_LEADER_OR_FOLLOWER')
            return { topic, partition, error: lastError };
        }
      }
      await new Promise<void>((resolve) => scheduler.setTimer(POLL_MS, resolve));
    }
    return this.options.leaderOf(topic, partition) === preferred
      ? out(null)
      : {
          topic,
          partition,
          error: new KafkaError(
            'REQUEST_TIMED_OUT',
            `${topic}-${partition}: leadership did not reach the preferred replica ${preferred} in time${lastError !== null ? ` (${lastError.message})` : ''}`,
          ),
        };
  }
}
