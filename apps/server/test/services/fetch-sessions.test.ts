// Incremental fetch sessions (KIP-227): the request forms, what an incremental answer holds, the
// answering order, and the cache's bound and eviction rules.
import { ManualScheduler } from '@chronik/env';
import type { PartitionAnswer, SessionPartition } from '../../src/services/fetch-sessions.js';
import { FetchSessionCache } from '../../src/services/fetch-sessions.js';
import { seededRandom } from '../helpers/prng.js';

const ZERO = '00000000-0000-0000-0000-000000000000';

function part(partition: number, fetchOffset = 0n, topic = 't'): SessionPartition {
  return { topic, topicId: ZERO, partition, fetchOffset, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1 };
}

function answer(o: Partial<PartitionAnswer> = {}): PartitionAnswer {
  return { errorCode: 0, bytes: 0, highWatermark: 10n, lastStableOffset: 10n, logStartOffset: 0n, ...o };
}

function cache(maxSlots = 10, evictionMs = 1000) {
  const clock = new ManualScheduler(0);
  const rng = seededRandom(7);
  const random = {
    bytes: (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rng() * 256))),
    uuid: () => ZERO,
  };
  return { clock, sessions: new FetchSessionCache({ maxSlots, evictionMs, clock, random }) };
}

/** Opens a session over `partitions` (every answer plain) and returns its id. */
function open(sessions: FetchSessionCache, partitions: SessionPartition[]): number {
  const start = sessions.begin({
    sessionId: 0,
    sessionEpoch: 0,
    usesTopicIds: false,
    partitions,
    forgotten: [],
  });
  if (start.kind === 'error') throw new Error(start.error);
  return sessions.finish(
    start,
    partitions.map(() => answer()),
  ).sessionId;
}

function incremental(
  sessions: FetchSessionCache,
  sessionId: number,
  sessionEpoch: number,
  partitions: SessionPartition[] = [],
  forgotten: number[] = [],
) {
  return sessions.begin({
    sessionId,
    sessionEpoch,
    usesTopicIds: false,
    partitions,
    forgotten: forgotten.length > 0 ? [{ topic: 't', topicId: ZERO, partitions: forgotten }] : [],
  });
}

test('epoch 0 opens a session over the partitions sent; epoch -1 is a full fetch without one and closes the one named', () => {
  const { sessions } = cache();
  const id = open(sessions, [part(0), part(1)]);
  expect(id).toBeGreaterThan(0);
  expect(sessions.partitionsOf(id)?.map((p) => p.partition)).toEqual([0, 1]);
  const full = sessions.begin({
    sessionId: id,
    sessionEpoch: -1,
    usesTopicIds: false,
    partitions: [part(2)],
    forgotten: [],
  });
  expect(full.kind).toBe('sessionless');
  if (full.kind === 'error') return;
  expect(sessions.finish(full, [answer()])).toEqual({ sessionId: 0, include: [true] });
  expect(sessions.partitionsOf(id)).toBeUndefined();
});

test('an incremental fetch reads every partition of the session and answers only those with something new', () => {
  const { sessions } = cache();
  const id = open(sessions, [part(0), part(1), part(2)]);
  let start = incremental(sessions, id, 1);
  expect(start.kind).toBe('incremental');
  if (start.kind !== 'incremental') return;
  expect(start.partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
  // Nothing moved: an empty answer. Then records on 1, a high watermark move on 2, an error on 0.
  expect(sessions.finish(start, [answer(), answer(), answer()]).include).toEqual([false, false, false]);
  start = incremental(sessions, id, 2);
  if (start.kind !== 'incremental') throw new Error(start.kind);
  const r = sessions.finish(start, [
    answer({ errorCode: 6 }),
    answer({ bytes: 100 }),
    answer({ highWatermark: 11n }),
  ]);
  expect(r).toEqual({ sessionId: id, include: [true, true, true] });
  // An errored partition is answered every time; the others only when they change again.
  start = incremental(sessions, id, 3);
  if (start.kind !== 'incremental') throw new Error(start.kind);
  expect(
    sessions
      .finish(start, [answer({ errorCode: 6 }), answer(), answer({ highWatermark: 11n })])
      .include.filter(Boolean),
  ).toHaveLength(1);
});

test('sent partitions update their offsets or join; forgotten ones leave; answered ones go to the end of the order', () => {
  const { sessions } = cache();
  const id = open(sessions, [part(0), part(1), part(2)]);
  let start = incremental(sessions, id, 1, [part(1, 42n), part(3, 7n)], [2]);
  if (start.kind !== 'incremental') throw new Error(start.kind);
  expect(start.partitions.map((p) => [p.partition, p.fetchOffset])).toEqual([
    [0, 0n],
    [1, 42n],
    [3, 7n],
  ]);
  // 3 is new: answered; 0 had records. Both move behind 1.
  expect(sessions.finish(start, [answer({ bytes: 5 }), answer(), answer()]).include).toEqual([
    true,
    false,
    true,
  ]);
  start = incremental(sessions, id, 2);
  if (start.kind !== 'incremental') throw new Error(start.kind);
  expect(start.partitions.map((p) => p.partition)).toEqual([1, 0, 3]);
});

test('an unknown session, a wrong epoch and a change of topic id use are refused', () => {
  const { sessions } = cache();
  const id = open(sessions, [part(0)]);
  expect(incremental(sessions, id + 1, 1)).toEqual({ kind: 'error', error: 'FETCH_SESSION_ID_NOT_FOUND' });
  expect(incremental(sessions, 0, 1)).toEqual({ kind: 'error', error: 'FETCH_SESSION_ID_NOT_FOUND' });
  expect(incremental(sessions, id, 2)).toEqual({ kind: 'error', error: 'INVALID_FETCH_SESSION_EPOCH' });
  expect(incremental(sessions, id, -5)).toEqual({ kind: 'error', error: 'INVALID_FETCH_SESSION_EPOCH' });
  expect(
    sessions.begin({ sessionId: id, sessionEpoch: 1, usesTopicIds: true, partitions: [], forgotten: [] }),
  ).toEqual({ kind: 'error', error: 'FETCH_SESSION_TOPIC_ID_ERROR' });
  expect(incremental(sessions, id, 1).kind).toBe('incremental');
  // The epoch moved on even though the answer was never finished (a lost response): a retry of
  // epoch 1 is refused, and the client starts a new session.
  expect(incremental(sessions, id, 1)).toEqual({ kind: 'error', error: 'INVALID_FETCH_SESSION_EPOCH' });
});

test('a full cache evicts a session idle for the eviction time, else a smaller one, else makes none', () => {
  const { sessions, clock } = cache(2, 1000);
  const a = open(sessions, [part(0)]);
  clock.advance(10);
  const b = open(sessions, [part(0), part(1), part(2)]);
  clock.advance(10);
  // Full, nobody idle long enough, the newcomer no bigger than the smallest: no session.
  expect(open(sessions, [part(0)])).toBe(0);
  // Bigger than the smallest (a, one partition): a gives its place.
  const c = open(sessions, [part(0), part(1)]);
  expect(c).toBeGreaterThan(0);
  expect(sessions.partitionsOf(a)).toBeUndefined();
  expect(sessions.evictions).toBe(1);
  // b stays in use; c goes idle past the eviction time and is the one evicted.
  clock.advance(600);
  expect(incremental(sessions, b, 1).kind).toBe('incremental');
  clock.advance(600);
  const d = open(sessions, [part(0)]);
  expect(d).toBeGreaterThan(0);
  expect(sessions.partitionsOf(c)).toBeUndefined();
  expect(sessions.partitionsOf(b)).toBeDefined();
  expect(sessions.size).toBe(2);
});

test('no slots: no sessions, every fetch is full', () => {
  const { sessions } = cache(0);
  expect(open(sessions, [part(0)])).toBe(0);
  expect(sessions.size).toBe(0);
});
