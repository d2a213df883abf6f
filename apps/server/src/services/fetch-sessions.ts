// Incremental fetch sessions (KIP-227). A consumer of many partitions sends them all once (epoch 0),
// is given a session id, and from then on sends only what changed (new fetch offsets, partitions
// added or forgotten) with the next epoch; the answer holds only the partitions with something to
// say — records, an error, or a watermark or log start that moved since the session last answered
// it. Partitions answered move to the end of the session's order, so a partition that always has
// data cannot keep the others out of the byte budget.
//
// Request forms (session_id, session_epoch):
//   (any, -1)  a full fetch without a session (a session named is closed first);
//   (0, 0)     a full fetch that opens a session, if the cache has room (else session id 0: the
//              client goes on with full fetches); (id, 0) closes session id first;
//   (id, n>0)  an incremental fetch: FETCH_SESSION_ID_NOT_FOUND for a session the cache does not
//              hold (evicted, or never made), INVALID_FETCH_SESSION_EPOCH unless n is the epoch
//              the session expects next, FETCH_SESSION_TOPIC_ID_ERROR when its use of topic ids
//              (Fetch v13+) differs from the request's.
//
// The cache is bounded (max.incremental.fetch.session.cache.slots, 1,000 by default). A new session
// that finds it full takes the place of the least recently used session idle for at least
// min.incremental.fetch.session.eviction.ms (120 s), else of the smallest session if the new one
// has more partitions (a consumer of many partitions gains most), else it is not made. Clock and
// randomness are injected (session ids are random, never 0).
import type { Clock, Random } from '@chronik/env';

export interface FetchSessionOptions {
  maxSlots: number;
  evictionMs: number;
  clock: Clock;
  random: Random;
}

/** A partition as the request names it (and as a session keeps it between requests). */
export interface SessionPartition {
  /** The topic name (Fetch v7–v12); '' with topic ids. */
  topic: string;
  /** The topic id (Fetch v13+); the zero UUID with names. */
  topicId: string;
  partition: number;
  fetchOffset: bigint;
  partitionMaxBytes: number;
  currentLeaderEpoch: number;
}

/** What the answer to one partition said: what the session compares with next time. */
export interface PartitionAnswer {
  errorCode: number;
  bytes: number;
  highWatermark: bigint;
  lastStableOffset: bigint;
  logStartOffset: bigint;
}

export interface FetchSessionRequest {
  sessionId: number;
  sessionEpoch: number;
  /** Fetch v13+: partitions are named by topic id. */
  usesTopicIds: boolean;
  partitions: readonly SessionPartition[];
  forgotten: ReadonlyArray<{ topic: string; topicId: string; partitions: readonly number[] }>;
}

export type FetchSessionErrorName =
  'FETCH_SESSION_ID_NOT_FOUND' | 'INVALID_FETCH_SESSION_EPOCH' | 'FETCH_SESSION_TOPIC_ID_ERROR';

/** How a request is served: the partitions to read, in order, and what to do with the answers. */
export type FetchSessionStart =
  | { kind: 'error'; error: FetchSessionErrorName }
  | { kind: 'sessionless'; partitions: readonly SessionPartition[] }
  | { kind: 'new'; usesTopicIds: boolean; partitions: readonly SessionPartition[] }
  | { kind: 'incremental'; session: FetchSession; partitions: readonly SessionPartition[] };

interface Cached extends SessionPartition {
  answered: PartitionAnswer | undefined;
}

export class FetchSession {
  /** In answering order: partitions answered last are at the end. */
  readonly partitions = new Map<string, Cached>();

  constructor(
    readonly id: number,
    readonly usesTopicIds: boolean,
    /** The epoch the next incremental request must carry. */
    public epoch: number,
    public lastUsedMs: number,
  ) {}
}

const MAX_EPOCH = 2 ** 31 - 1;

function keyOf(p: { topic: string; topicId: string }, usesTopicIds: boolean, partition: number): string {
  return `${usesTopicIds ? p.topicId : p.topic}\0${partition}`;
}

/** The epoch after `epoch`: 1 again after the largest int32 (0 and -1 have their own meanings). */
function nextEpoch(epoch: number): number {
  return epoch >= MAX_EPOCH ? 1 : epoch + 1;
}

function mustAnswer(before: PartitionAnswer | undefined, now: PartitionAnswer): boolean {
  return (
    before === undefined ||
    now.errorCode !== 0 ||
    now.bytes > 0 ||
    now.highWatermark !== before.highWatermark ||
    now.lastStableOffset !== before.lastStableOffset ||
    now.logStartOffset !== before.logStartOffset
  );
}

export class FetchSessionCache {
  /** Least recently used first (a session used is moved to the end). */
  private readonly sessions = new Map<number, FetchSession>();
  /** Sessions that took the place of another since start. */
  evictions = 0;

  constructor(private readonly options: FetchSessionOptions) {}

  get size(): number {
    return this.sessions.size;
  }

  /** The partitions a session holds (undefined: no such session). For tests and metrics. */
  partitionsOf(sessionId: number): readonly SessionPartition[] | undefined {
    const s = this.sessions.get(sessionId);
    return s === undefined ? undefined : [...s.partitions.values()];
  }

  /** Checks and applies a request to its session; see the file header for the forms. */
  begin(req: FetchSessionRequest): FetchSessionStart {
    if (req.sessionEpoch === 0 || req.sessionEpoch === -1) {
      if (req.sessionId !== 0) this.sessions.delete(req.sessionId);
      return req.sessionEpoch === 0
        ? { kind: 'new', usesTopicIds: req.usesTopicIds, partitions: req.partitions }
        : { kind: 'sessionless', partitions: req.partitions };
    }
    const s = this.sessions.get(req.sessionId);
    if (s === undefined) return { kind: 'error', error: 'FETCH_SESSION_ID_NOT_FOUND' };
    if (s.epoch !== req.sessionEpoch) return { kind: 'error', error: 'INVALID_FETCH_SESSION_EPOCH' };
    if (s.usesTopicIds !== req.usesTopicIds) return { kind: 'error', error: 'FETCH_SESSION_TOPIC_ID_ERROR' };
    for (const p of req.partitions) {
      const k = keyOf(p, s.usesTopicIds, p.partition);
      const cached = s.partitions.get(k);
      if (cached === undefined) s.partitions.set(k, { ...p, answered: undefined });
      else {
        cached.fetchOffset = p.fetchOffset;
        cached.partitionMaxBytes = p.partitionMaxBytes;
        cached.currentLeaderEpoch = p.currentLeaderEpoch;
      }
    }
    for (const t of req.forgotten)
      for (const partition of t.partitions) s.partitions.delete(keyOf(t, s.usesTopicIds, partition));
    s.epoch = nextEpoch(s.epoch);
    this.touch(s);
    return { kind: 'incremental', session: s, partitions: [...s.partitions.values()] };
  }

  /**
   * After the read: which partitions the answer holds (aligned with `start.partitions`) and the
   * session id to answer (0: none). A new session is made here, holding what was answered.
   */
  finish(
    start: Exclude<FetchSessionStart, { kind: 'error' }>,
    answers: readonly PartitionAnswer[],
  ): { sessionId: number; include: readonly boolean[] } {
    if (start.kind === 'sessionless') return { sessionId: 0, include: answers.map(() => true) };
    if (start.kind === 'new') {
      const s = this.create(start.usesTopicIds, start.partitions.length);
      if (s !== undefined)
        start.partitions.forEach((p, i) =>
          s.partitions.set(keyOf(p, s.usesTopicIds, p.partition), { ...p, answered: answers[i] }),
        );
      return { sessionId: s?.id ?? 0, include: answers.map(() => true) };
    }
    const s = start.session;
    const include = start.partitions.map((p, i) => {
      const now = answers[i] as PartitionAnswer;
      const cached = p as Cached;
      const answer = mustAnswer(cached.answered, now);
      cached.answered = now;
      if (answer && s.partitions.has(keyOf(p, s.usesTopicIds, p.partition))) {
        // To the end of the order: the others go first next time.
        const k = keyOf(p, s.usesTopicIds, p.partition);
        s.partitions.delete(k);
        s.partitions.set(k, cached);
      }
      return answer;
    });
    return { sessionId: s.id, include };
  }

  /** A new session with room made for it, or undefined when the cache keeps what it has. */
  private create(usesTopicIds: boolean, size: number): FetchSession | undefined {
    const { maxSlots, evictionMs, clock } = this.options;
    if (maxSlots <= 0) return undefined;
    const now = clock.nowMs();
    if (this.sessions.size >= maxSlots) {
      const lru = this.sessions.values().next().value as FetchSession;
      let victim: FetchSession | undefined = now - lru.lastUsedMs >= evictionMs ? lru : undefined;
      if (victim === undefined) {
        for (const s of this.sessions.values())
          if (
            s.partitions.size < size &&
            (victim === undefined || s.partitions.size < victim.partitions.size)
          )
            victim = s;
      }
      if (victim === undefined) return undefined;
      this.sessions.delete(victim.id);
      this.evictions++;
    }
    const s = new FetchSession(this.newId(), usesTopicIds, 1, now);
    this.sessions.set(s.id, s);
    return s;
  }

  private touch(s: FetchSession): void {
    s.lastUsedMs = this.options.clock.nowMs();
    this.sessions.delete(s.id);
    this.sessions.set(s.id, s);
  }

  private newId(): number {
    for (;;) {
      const id = this.options.random.bytes(4).readUInt32BE(0) & 0x7fffffff;
      if (id !== 0 && !this.sessions.has(id)) return id;
    }
  }
}
