// Unit tests of the core's building blocks: the inflight window, follower progress, quorum
// counting (simple and joint), the unstable log and pending reads.
import {
  Inflights,
  Progress,
  ProgressTracker,
  VoteResult,
  majorityVoteResult,
} from '../src/internal/tracker.js';
import { RaftLog, Unstable } from '../src/internal/log.js';
import { ReadOnly } from '../src/internal/readonly.js';
import { MemoryStorage, newMessage, silentLogger } from '../src/index.js';
import { ent } from './support/node.js';

describe('Inflights', () => {
  it('is full at the message count, frees in order and wraps around its ring', () => {
    const w = new Inflights(3, 0);
    w.add(1, 10);
    w.add(2, 10);
    w.add(3, 10);
    expect(w.full()).toBe(true);
    expect(() => w.add(4, 1)).toThrow(/full/);
    w.freeLE(1);
    expect([w.count, w.bytes, w.full()]).toEqual([2, 20, false]);
    w.add(4, 5); // wraps to slot 0
    w.freeLE(3);
    expect([w.count, w.bytes]).toEqual([1, 5]);
    w.freeLE(0); // stale: frees nothing
    expect(w.count).toBe(1);
    w.freeLE(100);
    expect([w.count, w.bytes]).toEqual([0, 0]);
  });

  it('is full at the byte limit', () => {
    const w = new Inflights(100, 50);
    w.add(1, 30);
    expect(w.full()).toBe(false);
    w.add(2, 20);
    expect(w.full()).toBe(true);
    w.freeFirstOne();
    expect([w.count, w.bytes, w.full()]).toEqual([1, 20, false]);
  });
});

describe('Progress', () => {
  const make = (): Progress => new Progress(5, new Inflights(2, 0), false);

  it('probes with one message at a time, then pipelines once the follower answered', () => {
    const p = make();
    expect(p.isPaused()).toBe(false);
    p.sentEntries(3, 30, 5);
    expect(p.isPaused()).toBe(true);
    expect(p.maybeUpdate(7)).toBe(true);
    expect(p.isPaused()).toBe(false);
    p.becomeReplicate();
    expect(p.next).toBe(8);
    p.sentEntries(2, 20, 8);
    p.sentEntries(1, 10, 10);
    expect([p.next, p.isPaused()]).toEqual([11, true]);
    p.maybeUpdate(9);
    p.inflights.freeLE(9);
    expect(p.isPaused()).toBe(false);
  });

  it('ignores stale rejections and backs off to the hint on a current one', () => {
    const p = make();
    p.maybeUpdate(3);
    p.becomeReplicate(); // next 4
    p.sentEntries(2, 20, 4); // next 6
    expect(p.maybeDecrTo(2, 0)).toBe(false); // at or below match: stale
    expect(p.maybeDecrTo(5, 4)).toBe(true);
    expect(p.next).toBe(4);
    p.becomeProbe();
    expect(p.maybeDecrTo(9, 1)).toBe(false); // not the probe we sent (next - 1 = 3)
    expect(p.maybeDecrTo(3, 1)).toBe(true);
    expect(p.next).toBe(4); // never below match + 1
  });

  it('resumes after a snapshot from the snapshot index', () => {
    const p = make();
    p.becomeSnapshot(20);
    expect(p.isPaused()).toBe(true);
    p.becomeProbe();
    expect(p.next).toBe(21);
  });
});

describe('quorums', () => {
  function tracker(voters: number[], outgoing: number[], match: Record<number, number>): ProgressTracker {
    const t = new ProgressTracker(10, 0);
    t.config.incoming = new Set(voters);
    t.config.outgoing = new Set(outgoing);
    for (const id of new Set([...voters, ...outgoing])) {
      const p = t.newProgress(1, false);
      p.match = match[id] ?? 0;
      t.progress.set(id, p);
    }
    return t;
  }

  it.each<[number[], number[], Record<number, number>, number]>([
    [[1], [], { 1: 7 }, 7],
    [[1, 2, 3], [], { 1: 5, 2: 3, 3: 1 }, 3],
    [[1, 2, 3, 4], [], { 1: 9, 2: 8, 3: 2, 4: 1 }, 2],
    [[1, 2, 3, 4, 5], [], { 1: 9, 2: 8, 3: 7, 4: 1, 5: 1 }, 7],
    // joint: the smaller of the two majorities
    [[1, 2, 3], [1, 4, 5], { 1: 9, 2: 9, 3: 9, 4: 1, 5: 1 }, 1],
    [[1, 2, 3], [1, 4, 5], { 1: 9, 2: 9, 3: 1, 4: 6, 5: 1 }, 6],
  ])('voters %j (outgoing %j) with matches %j commit %i', (voters, outgoing, match, want) => {
    expect(tracker(voters, outgoing, match).committed()).toBe(want);
  });

  it('learners never count', () => {
    const t = tracker([1, 2, 3], [], { 1: 9, 2: 1, 3: 1 });
    const learner = t.newProgress(1, true);
    learner.match = 9;
    t.progress.set(4, learner);
    t.config.learners.add(4);
    expect(t.committed()).toBe(1);
  });

  it.each<[number[], Record<number, boolean>, VoteResult]>([
    [[1, 2, 3], { 1: true, 2: true }, VoteResult.Won],
    [[1, 2, 3], { 1: true }, VoteResult.Pending],
    [[1, 2, 3], { 1: true, 2: false, 3: false }, VoteResult.Lost],
    [[1, 2, 3, 4], { 1: true, 2: true }, VoteResult.Pending],
    [[], {}, VoteResult.Won],
  ])('votes of %j: %j -> %s', (voters, votes, want) => {
    expect(
      majorityVoteResult(new Set(voters), new Map(Object.entries(votes).map(([k, v]) => [Number(k), v]))),
    ).toBe(want);
  });

  it('a joint vote needs both majorities', () => {
    const t = tracker([1, 2, 3], [3, 4, 5], {});
    expect(
      t.voteResultOf(
        new Map([
          [1, true],
          [2, true],
          [3, true],
        ]),
      ),
    ).toBe(VoteResult.Pending);
    expect(
      t.voteResultOf(
        new Map([
          [1, true],
          [2, true],
          [3, true],
          [4, true],
        ]),
      ),
    ).toBe(VoteResult.Won);
    expect(
      t.voteResultOf(
        new Map([
          [1, true],
          [2, true],
          [4, false],
          [5, false],
        ]),
      ),
    ).toBe(VoteResult.Lost);
  });
});

describe('the unstable log', () => {
  it('truncates and appends, and drops only what was persisted with the same term', () => {
    const u = new Unstable(5);
    u.truncateAndAppend([ent(1, 5), ent(1, 6), ent(1, 7)]);
    u.truncateAndAppend([ent(2, 6)]); // conflict: replaces 6 and 7
    expect(u.entries.map((e) => `${e.term}/${e.index}`)).toEqual(['1/5', '2/6']);
    u.stableTo(6, 1); // persisted an older version of 6: keep
    expect(u.entries).toHaveLength(2);
    u.stableTo(5, 1);
    expect([u.offset, u.entries.map((e) => e.index)]).toEqual([6, [6]]);
    u.truncateAndAppend([ent(3, 4)]); // before the offset: replaces everything
    expect([u.offset, u.entries.map((e) => e.index)]).toEqual([4, [4]]);
  });

  it('RaftLog reads across storage and unstable entries within a byte budget', () => {
    const s = new MemoryStorage();
    s.append([ent(1, 1, 'aaaa'), ent(1, 2, 'bbbb')]);
    const log = new RaftLog(s, silentLogger, 1 << 20);
    log.append([ent(2, 3, 'cccc'), ent(2, 4, 'dddd')]);
    expect(log.lastIndex()).toBe(4);
    expect(log.slice(1, 5, 1 << 20).map((e) => e.index)).toEqual([1, 2, 3, 4]);
    expect(log.slice(2, 5, 41).map((e) => e.index)).toEqual([2, 3]);
    expect(log.termOrZero(3)).toBe(2);
    expect(log.termOrZero(9)).toBe(0);
    expect(log.findConflictByTerm(4, 1)).toEqual({ index: 2, term: 1 });
    expect(log.isUpToDate(4, 2)).toBe(true);
    expect(log.isUpToDate(3, 2)).toBe(false);
    expect(log.isUpToDate(1, 3)).toBe(true);
  });

  it('never truncates a committed entry', () => {
    const s = new MemoryStorage();
    s.append([ent(1, 1), ent(1, 2)]);
    const log = new RaftLog(s, silentLogger, 1 << 20);
    log.commitTo(2);
    expect(() => log.maybeAppend(1, 1, 2, [ent(2, 2)])).toThrow(/conflicts with committed/);
  });
});

describe('pending reads', () => {
  it('answers every request up to the acknowledged one, in order', () => {
    const ro = new ReadOnly();
    const req = (ctx: string) => newMessage({ type: 'MsgReadIndex', context: Buffer.from(ctx) });
    expect(ro.addRequest(5, req('a'))).toBe(true);
    expect(ro.addRequest(6, req('b'))).toBe(true);
    expect(ro.addRequest(6, req('b'))).toBe(false);
    expect(Buffer.from(ro.lastPendingRequestCtx() ?? []).toString()).toBe('b');
    expect(ro.recvAck(2, Buffer.from('b'))?.size).toBe(1);
    expect(ro.advance(Buffer.from('b')).map((r) => r.index)).toEqual([5, 6]);
    expect(ro.lastPendingRequestCtx()).toBeNull();
    expect(ro.recvAck(2, Buffer.from('zzz'))).toBeNull();
  });
});
