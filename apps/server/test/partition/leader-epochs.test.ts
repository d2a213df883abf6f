// The leader-epoch cache answers OffsetForLeaderEpoch as Kafka's LeaderEpochFileCache.endOffsetFor
// does, with the leader's current epoch counting as a last entry that starts at the log end.
import { LeaderEpochCache } from '../../src/partition/leader-epochs.js';

function cache(entries: Array<[number, bigint]>): LeaderEpochCache {
  const c = new LeaderEpochCache();
  for (const [epoch, start] of entries) c.record(epoch, start);
  return c;
}

test('end offsets: the start of the next epoch, the log end for the latest, unknown above it', () => {
  const c = cache([
    [2, 0n],
    [5, 10n],
    [6, 25n],
  ]);
  expect(c.endOffsetFor(2, 6, 40n)).toEqual({ leaderEpoch: 2, endOffset: 10n });
  expect(c.endOffsetFor(3, 6, 40n)).toEqual({ leaderEpoch: 2, endOffset: 10n }); // between: the floor epoch
  expect(c.endOffsetFor(5, 6, 40n)).toEqual({ leaderEpoch: 5, endOffset: 25n });
  expect(c.endOffsetFor(6, 6, 40n)).toEqual({ leaderEpoch: 6, endOffset: 40n }); // the current one
  expect(c.endOffsetFor(7, 6, 40n)).toEqual({ leaderEpoch: -1, endOffset: -1n }); // above the current
  expect(c.endOffsetFor(1, 6, 40n)).toEqual({ leaderEpoch: 1, endOffset: 0n }); // below every known one
  expect(c.endOffsetFor(-1, 6, 40n)).toEqual({ leaderEpoch: -1, endOffset: -1n });
});

test('a leader that has not written in its epoch yet: the previous epoch ends at the log end', () => {
  const c = cache([
    [2, 0n],
    [5, 10n],
  ]);
  expect(c.endOffsetFor(5, 8, 30n)).toEqual({ leaderEpoch: 5, endOffset: 30n });
  expect(c.endOffsetFor(7, 8, 30n)).toEqual({ leaderEpoch: 5, endOffset: 30n });
  expect(c.endOffsetFor(8, 8, 30n)).toEqual({ leaderEpoch: 8, endOffset: 30n });
  expect(new LeaderEpochCache().endOffsetFor(0, 0, 0n)).toEqual({ leaderEpoch: 0, endOffset: 0n });
});

test('epochAt names the epoch that wrote an offset; older epochs are ignored when recorded late', () => {
  const c = cache([
    [2, 0n],
    [5, 10n],
    [3, 12n],
  ]);
  expect([c.epochAt(0n), c.epochAt(9n), c.epochAt(10n), c.epochAt(99n)]).toEqual([2, 2, 5, 5]);
  expect(c.latest).toBe(5);
  const copy = new LeaderEpochCache();
  copy.load(c.toJSON());
  expect(copy.endOffsetFor(2, 5, 20n)).toEqual({ leaderEpoch: 2, endOffset: 10n });
});
