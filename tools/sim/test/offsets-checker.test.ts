// The committed-offset and generation checks on hand-made histories: what the checker accepts as a
// linearizable OffsetFetch answer and what it reports (README, "Invariants").
import { Checker, EventQueue, encodeAssignment } from '../src/index.js';

const KEY = 'g/sim-0';

function kinds(c: Checker): string[] {
  return c.violations.map((v) => v.kind);
}

function shows(id: string, offset: bigint): { offset: bigint; leaderEpoch: number; metadata: string } {
  return { offset, leaderEpoch: 1, metadata: id };
}

test('an answer older than a commit acknowledged before the fetch was sent went back', () => {
  const c = new Checker(new EventQueue());
  c.commitSent(KEY, 'a', 10n, 1, 'a');
  c.commitAnswered('a', 'NONE');
  c.commitSent(KEY, 'b', 20n, 1, 'b');
  c.commitAnswered('b', 'NONE');
  c.offsetFetched(KEY, c.tick(), shows('a', 10n), 'fetch');
  expect(kinds(c)).toEqual(['offset-regressed']);
});

test('no offset after an acknowledged commit went back', () => {
  const c = new Checker(new EventQueue());
  c.commitSent(KEY, 'a', 10n, 1, 'a');
  c.commitAnswered('a', 'NONE');
  c.offsetFetched(KEY, c.tick(), undefined, 'fetch');
  expect(kinds(c)).toEqual(['offset-regressed']);
});

test('a lower offset committed on purpose, a commit in flight, or one of unknown outcome may show', () => {
  const c = new Checker(new EventQueue());
  c.commitSent(KEY, 'a', 10n, 1, 'a');
  c.commitAnswered('a', 'NONE');
  c.commitSent(KEY, 'back', 5n, 1, 'back');
  c.commitAnswered('back', 'NONE');
  c.offsetFetched(KEY, c.tick(), shows('back', 5n), 'fetch');
  // Sent before the fetch, answered after it: either may show.
  c.commitSent(KEY, 'concurrent', 30n, 1, 'concurrent');
  const sentAt = c.tick();
  c.commitAnswered('concurrent', 'NONE');
  c.offsetFetched(KEY, sentAt, shows('back', 5n), 'fetch');
  // An error other than a refusal: it may land at any time, even after later commits.
  c.commitSent(KEY, 'lost-answer', 40n, 1, 'lost-answer');
  c.commitAnswered('lost-answer', 'NOT_COORDINATOR');
  c.commitSent(KEY, 'd', 50n, 1, 'd');
  c.commitAnswered('d', 'NONE');
  c.offsetFetched(KEY, c.tick(), shows('lost-answer', 40n), 'fetch');
  expect(kinds(c)).toEqual([]);
});

test('once an answer showed a commit, it took effect: an older one may not show after it', () => {
  const c = new Checker(new EventQueue());
  c.commitSent(KEY, 'a', 10n, 1, 'a');
  c.commitAnswered('a', 'COORDINATOR_NOT_AVAILABLE');
  c.offsetFetched(KEY, c.tick(), shows('a', 10n), 'fetch');
  c.commitSent(KEY, 'b', 20n, 1, 'b');
  c.commitAnswered('b', 'NONE');
  c.offsetFetched(KEY, c.tick(), shows('a', 10n), 'fetch');
  expect(kinds(c)).toEqual(['offset-regressed']);
});

test('a refused commit, another offset or another register never shows', () => {
  const c = new Checker(new EventQueue());
  c.commitSent(KEY, 'zombie', 10n, 1, 'zombie');
  c.commitAnswered('zombie', 'ILLEGAL_GENERATION');
  c.offsetFetched(KEY, c.tick(), shows('zombie', 10n), 'fetch');
  c.commitSent(KEY, 'a', 20n, 1, 'a');
  c.offsetFetched(KEY, c.tick(), shows('a', 21n), 'fetch');
  c.offsetFetched('g/sim-1', c.tick(), shows('a', 20n), 'fetch');
  c.offsetFetched(KEY, c.tick(), shows('nobody', 1n), 'fetch');
  expect(kinds(c)).toEqual(['offset-phantom', 'offset-phantom', 'offset-phantom', 'offset-phantom']);
});

test('a generation has one leader, and no commit of an older one is acknowledged after it was given out', () => {
  const c = new Checker(new EventQueue());
  c.assignmentReceived('g', 3, 'L', encodeAssignment('L', 3, [0]), 'm1');
  c.assignmentReceived('g', 3, 'L', encodeAssignment('L', 3, [1]), 'm2');
  expect(kinds(c)).toEqual([]);
  c.assignmentReceived('g', 3, 'M', encodeAssignment('M', 3, [1]), 'm3');
  c.assignmentReceived('g', 4, 'M', new Uint8Array(0), 'm3');
  expect(kinds(c)).toEqual(['group-generation', 'group-generation']);
  const before = c.tick();
  c.assignmentReceived('g', 5, 'M', encodeAssignment('M', 5, [0]), 'm3');
  c.generationCommitted('g', 4, before, 'a commit sent before generation 5 was given out');
  c.generationCommitted('g', 4, c.tick(), 'a zombie commit');
  expect(kinds(c).slice(2)).toEqual(['stale-generation']);
});
