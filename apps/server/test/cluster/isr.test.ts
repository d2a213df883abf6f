// IsrTracker: the ISR of a partition leader from Raft progress (caught up within maxLagMs and
// answering; a returning follower joins only once its log holds everything committed).
import { IsrTracker } from '../../src/cluster/isr.js';
import type { IsrInput, MemberProgress } from '../../src/cluster/isr.js';

function input(
  nowMs: number,
  lastIndex: number,
  commitIndex: number,
  progress: MemberProgress[],
  currentIsr: number[],
  down: number[] = [],
): IsrInput {
  return {
    groupId: 1024,
    term: 3,
    nowMs,
    leaderId: 1,
    lastIndex,
    commitIndex,
    progress,
    replicas: [1, 2, 3],
    currentIsr,
    reachable: (id) => !down.includes(id),
  };
}

const pr = (nodeId: number, match: number, recentActive = true): MemberProgress => ({
  nodeId,
  match,
  recentActive,
});

test('followers at the log end stay in sync; an unreachable one leaves at once', () => {
  const t = new IsrTracker({ maxLagMs: 10_000, activeWindowMs: 3000 });
  expect(t.update(input(0, 10, 10, [pr(1, 10), pr(2, 10), pr(3, 10)], [1, 2, 3]))).toEqual([1, 2, 3]);
  expect(t.update(input(500, 20, 20, [pr(1, 20), pr(2, 20), pr(3, 15)], [1, 2, 3], [3]))).toEqual([1, 2]);
});

test('a follower that stops catching up leaves after maxLagMs, even while it answers', () => {
  const t = new IsrTracker({ maxLagMs: 2000, activeWindowMs: 3000 });
  let isr = [1, 2, 3];
  // The leader's log keeps growing; follower 3 stays at 10 (answering, but not replicating).
  for (let now = 0; now <= 5000; now += 500) {
    const last = 10 + now / 10;
    isr = t.update(input(now, last, last, [pr(1, last), pr(2, last), pr(3, 10)], isr));
    if (now <= 2000) expect(isr).toEqual([1, 2, 3]);
  }
  expect(isr).toEqual([1, 2]);
});

test('a slow but progressing follower stays while it reaches some recent log end', () => {
  const t = new IsrTracker({ maxLagMs: 3000, activeWindowMs: 3000 });
  let isr = [1, 2, 3];
  for (let now = 0; now <= 10_000; now += 500) {
    const last = 100 + now; // +500 per check
    // follower 3 is always 1 s behind the leader's log end
    isr = t.update(input(now, last, last, [pr(1, last), pr(2, last), pr(3, Math.max(0, last - 1000))], isr));
    expect(isr).toEqual([1, 2, 3]);
  }
});

test('under continuous writes a returning follower joins once it holds what was committed at the previous check', () => {
  const t = new IsrTracker({ maxLagMs: 10_000, activeWindowMs: 3000 });
  // The follower always trails the current commit index by the entries in flight.
  expect(t.update(input(0, 1000, 990, [pr(1, 1000), pr(2, 995), pr(3, 400)], [1, 2]))).toEqual([1, 2]);
  // Still far behind what was committed 500 ms ago: out.
  expect(t.update(input(500, 1100, 1090, [pr(1, 1100), pr(2, 1095), pr(3, 900)], [1, 2]))).toEqual([1, 2]);
  // Past the previous check's commit index (1090) though not the current one (1190): in.
  expect(t.update(input(1000, 1200, 1190, [pr(1, 1200), pr(2, 1195), pr(3, 1150)], [1, 2]))).toEqual([
    1, 2, 3,
  ]);
});

test('a returning follower joins only once its log holds everything committed', () => {
  const t = new IsrTracker({ maxLagMs: 10_000, activeWindowMs: 3000 });
  expect(t.update(input(0, 100, 100, [pr(1, 100), pr(2, 100), pr(3, 40)], [1, 2]))).toEqual([1, 2]);
  expect(t.update(input(500, 100, 100, [pr(1, 100), pr(2, 100), pr(3, 99)], [1, 2]))).toEqual([1, 2]);
  expect(t.update(input(1000, 101, 100, [pr(1, 101), pr(2, 101), pr(3, 100)], [1, 2]))).toEqual([1, 2, 3]);
  // Once in, it counts as caught up now (no flapping out on the next check).
  expect(t.update(input(1500, 120, 118, [pr(1, 120), pr(2, 120), pr(3, 110)], [1, 2, 3]))).toEqual([1, 2, 3]);
});

test('a follower whose Raft progress has not been active within the window is not in sync', () => {
  const t = new IsrTracker({ maxLagMs: 10_000, activeWindowMs: 1000 });
  expect(t.update(input(0, 10, 10, [pr(1, 10), pr(2, 10), pr(3, 10, false)], [1, 2, 3]))).toEqual([1, 2, 3]);
  // One false reading (recentActive is cleared every election timeout) is not enough ...
  expect(t.update(input(500, 10, 10, [pr(1, 10), pr(2, 10), pr(3, 10, false)], [1, 2, 3]))).toEqual([
    1, 2, 3,
  ]);
  // ... a whole window without activity is.
  expect(t.update(input(1500, 10, 10, [pr(1, 10), pr(2, 10), pr(3, 10, false)], [1, 2, 3]))).toEqual([1, 2]);
  // A new term starts over from the metadata's ISR.
  expect(t.update({ ...input(2000, 10, 10, [pr(1, 10), pr(2, 10), pr(3, 10)], [1, 2, 3]), term: 4 })).toEqual(
    [1, 2, 3],
  );
  t.forget(1024);
  expect(t.size).toBe(0);
});

test('a quiescent group checked without update() keeps its live followers caught up for when it wakes', () => {
  const t = new IsrTracker({ maxLagMs: 2000, activeWindowMs: 3000 });
  expect(t.caughtUpWhileQuiescent(1024, 3, 0, [1, 2, 3])).toBe(false); // not tracked yet
  expect(t.update(input(0, 10, 10, [pr(1, 10), pr(2, 10), pr(3, 10)], [1, 2, 3]))).toEqual([1, 2, 3]);
  // An hour of quiescence, checked every 500 ms without update().
  for (let now = 500; now <= 3_600_000; now += 500)
    expect(t.caughtUpWhileQuiescent(1024, 3, now, [1, 2, 3])).toBe(true);
  // A write wakes the group; the followers trail by the entry in flight: still in sync.
  expect(t.update(input(3_600_500, 11, 10, [pr(1, 11), pr(2, 10), pr(3, 10)], [1, 2, 3]))).toEqual([1, 2, 3]);
  expect(t.caughtUpWhileQuiescent(1024, 4, 3_601_000, [1, 2, 3])).toBe(false); // another term
});
