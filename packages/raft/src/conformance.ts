// A storage conformance suite that does not depend on any test runner: each case throws an Error
// on the first broken expectation. Run it against every Storage implementation, e.g. with jest:
//   for (const c of storageConformanceCases()) it(c.name, () => c.run(() => new MyStorage()));
import { RaftError } from './errors.js';
import type { RaftErrorCode } from './errors.js';
import { entrySizeBytes } from './storage.js';
import type { StorageUnderTest } from './storage.js';
import { EntryType } from './types.js';
import type { ConfState, Entry } from './types.js';

export interface StorageConformanceCase {
  readonly name: string;
  /** `make` returns a fresh, empty storage (no entries, empty hard state, no snapshot). */
  run(make: () => StorageUnderTest): void | Promise<void>;
}

function fail(message: string): never {
  throw new Error(`storage conformance: ${message}`);
}

function eq<T>(actual: T, expected: T, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) fail(`${what}: expected ${e}, got ${a}`);
}

function throwsCode(fn: () => unknown, code: RaftErrorCode, what: string): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof RaftError && e.code === code) return;
    fail(
      `${what}: expected RaftError ${code}, got ${e instanceof Error ? `${e.name} ${(e as { code?: string }).code ?? ''} ${e.message}` : String(e)}`,
    );
  }
  fail(`${what}: expected RaftError ${code}, nothing was thrown`);
}

function ent(index: number, term: number, payload = ''): Entry {
  const data = new Uint8Array(payload.length);
  for (let i = 0; i < payload.length; i++) data[i] = payload.charCodeAt(i) & 0xff;
  return { index, term, type: EntryType.Normal, data };
}

function ids(es: readonly Entry[]): string[] {
  return es.map((e) => `${e.index}/${e.term}`);
}

function text(e: Entry): string {
  return String.fromCharCode(...e.data);
}

const conf: ConfState = {
  voters: [1, 2, 3],
  learners: [4],
  votersOutgoing: [],
  learnersNext: [],
  autoLeave: false,
};
const big = 1 << 30;

/** Returns the storage conformance cases; see StorageConformanceCase. */
export function storageConformanceCases(): StorageConformanceCase[] {
  return [
    {
      name: 'an empty storage has first index 1, last index 0 and term(0) = 0',
      run(make) {
        const s = make();
        eq(s.firstIndex(), 1, 'firstIndex');
        eq(s.lastIndex(), 0, 'lastIndex');
        eq(s.term(0), 0, 'term(0)');
        eq(s.entries(1, 1, big), [], 'entries(1, 1)');
        const st = s.initialState();
        eq([st.hardState.term, st.hardState.vote, st.hardState.commit], [0, 0, 0], 'initial hard state');
      },
    },
    {
      name: 'appended entries read back with their terms and data',
      run(make) {
        const s = make();
        s.append([ent(1, 1, 'a'), ent(2, 1, 'bb'), ent(3, 2, 'ccc')]);
        eq(s.firstIndex(), 1, 'firstIndex');
        eq(s.lastIndex(), 3, 'lastIndex');
        eq([s.term(1), s.term(2), s.term(3)], [1, 1, 2], 'terms');
        const es = s.entries(1, 4, big);
        eq(ids(es), ['1/1', '2/1', '3/2'], 'entries');
        eq(es.map(text), ['a', 'bb', 'ccc'], 'data');
        eq(
          es.map((e) => e.type),
          [EntryType.Normal, EntryType.Normal, EntryType.Normal],
          'types',
        );
        eq(ids(s.entries(2, 3, big)), ['2/1'], 'entries(2, 3)');
      },
    },
    {
      name: 'entries() honours the byte budget but always returns at least one entry',
      run(make) {
        const s = make();
        s.append([ent(1, 1, 'aaaa'), ent(2, 1, 'bbbb'), ent(3, 1, 'cccc'), ent(4, 1, 'dddd')]);
        const one = entrySizeBytes(ent(1, 1, 'aaaa'));
        eq(ids(s.entries(1, 5, 0)), ['1/1'], 'budget 0');
        eq(ids(s.entries(1, 5, one)), ['1/1'], 'budget of one entry');
        eq(ids(s.entries(1, 5, one * 2 + 1)), ['1/1', '2/1'], 'budget of two entries');
        eq(ids(s.entries(1, 5, one * 3)), ['1/1', '2/1', '3/1'], 'budget of exactly three entries');
        eq(ids(s.entries(1, 5, big)), ['1/1', '2/1', '3/1', '4/1'], 'large budget');
      },
    },
    {
      name: 'entries() throws Unavailable beyond the last index and Compacted below the first',
      run(make) {
        const s = make();
        s.append([ent(1, 1), ent(2, 1), ent(3, 1), ent(4, 1)]);
        throwsCode(() => s.entries(3, 6, big), 'Unavailable', 'entries(3, 6)');
        s.createSnapshot(2, undefined, new Uint8Array(0));
        s.compact(2);
        throwsCode(() => s.entries(2, 4, big), 'Compacted', 'entries(2, 4) after compact(2)');
        eq(ids(s.entries(3, 5, big)), ['3/1', '4/1'], 'entries(3, 5) after compact(2)');
      },
    },
    {
      name: 'term() is available from firstIndex() - 1 to lastIndex() and typed outside',
      run(make) {
        const s = make();
        s.append([ent(1, 1), ent(2, 2), ent(3, 3), ent(4, 3)]);
        throwsCode(() => s.term(5), 'Unavailable', 'term(5)');
        s.createSnapshot(3, undefined, new Uint8Array(0));
        s.compact(3);
        eq(s.firstIndex(), 4, 'firstIndex after compact(3)');
        eq(s.term(3), 3, 'term(firstIndex - 1) after compaction');
        eq(s.term(4), 3, 'term(4)');
        throwsCode(() => s.term(2), 'Compacted', 'term(2) after compact(3)');
      },
    },
    {
      name: 'append() replaces every entry at or after the first new index (conflict truncation)',
      run(make) {
        const s = make();
        s.append([ent(1, 1), ent(2, 1), ent(3, 1), ent(4, 1)]);
        s.append([ent(3, 2, 'x')]);
        eq(s.lastIndex(), 3, 'lastIndex after truncating append');
        eq(ids(s.entries(1, 4, big)), ['1/1', '2/1', '3/2'], 'entries');
        eq(text(s.entries(3, 4, big)[0] as Entry), 'x', 'replaced data');
        s.append([ent(4, 2), ent(5, 2)]);
        eq(ids(s.entries(1, 6, big)), ['1/1', '2/1', '3/2', '4/2', '5/2'], 'entries after extending');
      },
    },
    {
      name: 'entries returned earlier are not changed by a later truncating append',
      run(make) {
        const s = make();
        s.append([ent(1, 1, 'a'), ent(2, 1, 'b'), ent(3, 1, 'c')]);
        const before = s.entries(1, 4, big);
        s.append([ent(2, 2, 'z')]);
        eq(ids(before), ['1/1', '2/1', '3/1'], 'earlier result');
        eq(before.map(text), ['a', 'b', 'c'], 'earlier data');
      },
    },
    {
      name: 'append() ignores entries already covered by the snapshot',
      run(make) {
        const s = make();
        s.append([ent(1, 1), ent(2, 1), ent(3, 1), ent(4, 1)]);
        s.createSnapshot(3, undefined, new Uint8Array(0));
        s.compact(3);
        s.append([ent(2, 1), ent(3, 1), ent(4, 1), ent(5, 2)]);
        eq(s.firstIndex(), 4, 'firstIndex');
        eq(ids(s.entries(4, 6, big)), ['4/1', '5/2'], 'entries');
        s.append([ent(1, 1), ent(2, 1)]);
        eq(s.lastIndex(), 5, 'lastIndex after an append entirely below the snapshot');
      },
    },
    {
      name: 'append() with a gap after the last index is rejected',
      run(make) {
        const s = make();
        s.append([ent(1, 1)]);
        throwsCode(() => s.append([ent(3, 1)]), 'InvariantViolated', 'append at 3 after last index 1');
        eq(s.lastIndex(), 1, 'lastIndex unchanged');
      },
    },
    {
      name: 'setHardState() is returned by initialState()',
      run(make) {
        const s = make();
        s.append([ent(1, 1), ent(2, 3)]);
        s.setHardState({ term: 3, vote: 2, commit: 2 });
        const hs = s.initialState().hardState;
        eq([hs.term, hs.vote, hs.commit], [3, 2, 2], 'hard state');
        s.setHardState({ term: 4, vote: 0, commit: 2 });
        const hs2 = s.initialState().hardState;
        eq([hs2.term, hs2.vote, hs2.commit], [4, 0, 2], 'hard state after overwrite');
      },
    },
    {
      name: 'createSnapshot() records index, term, conf state and data without compacting',
      run(make) {
        const s = make();
        s.append([ent(1, 1), ent(2, 2), ent(3, 2)]);
        const snap = s.createSnapshot(2, conf, new Uint8Array([7, 8]));
        eq([snap.metadata.index, snap.metadata.term], [2, 2], 'returned metadata');
        const got = s.snapshot();
        eq([got.metadata.index, got.metadata.term], [2, 2], 'snapshot() metadata');
        eq([...got.data], [7, 8], 'snapshot() data');
        eq(got.metadata.confState.voters, [1, 2, 3], 'voters');
        eq(got.metadata.confState.learners, [4], 'learners');
        eq(s.firstIndex(), 1, 'firstIndex unchanged');
        eq(s.lastIndex(), 3, 'lastIndex unchanged');
      },
    },
    {
      name: 'createSnapshot() rejects an out-of-date index and one beyond the log',
      run(make) {
        const s = make();
        s.append([ent(1, 1), ent(2, 1), ent(3, 1)]);
        s.createSnapshot(2, undefined, new Uint8Array(0));
        throwsCode(
          () => s.createSnapshot(2, undefined, new Uint8Array(0)),
          'SnapshotOutOfDate',
          'createSnapshot(2) twice',
        );
        throwsCode(
          () => s.createSnapshot(1, undefined, new Uint8Array(0)),
          'SnapshotOutOfDate',
          'createSnapshot(1) after 2',
        );
        throwsCode(
          () => s.createSnapshot(4, undefined, new Uint8Array(0)),
          'Unavailable',
          'createSnapshot(4) beyond last index 3',
        );
      },
    },
    {
      name: 'compact() rejects indexes already compacted and beyond the log',
      run(make) {
        const s = make();
        s.append([ent(1, 1), ent(2, 1), ent(3, 1)]);
        s.compact(2);
        throwsCode(() => s.compact(2), 'Compacted', 'compact(2) twice');
        throwsCode(() => s.compact(1), 'Compacted', 'compact(1) after 2');
        throwsCode(() => s.compact(4), 'Unavailable', 'compact(4) beyond last index 3');
        eq(s.firstIndex(), 3, 'firstIndex');
        eq(s.term(2), 1, 'term(2)');
      },
    },
    {
      name: 'applySnapshot() replaces the log; the snapshot term stays available at firstIndex() - 1',
      run(make) {
        const s = make();
        s.append([ent(1, 1), ent(2, 1)]);
        s.applySnapshot({ metadata: { index: 10, term: 4, confState: conf }, data: new Uint8Array([1]) });
        eq(s.firstIndex(), 11, 'firstIndex');
        eq(s.lastIndex(), 10, 'lastIndex');
        eq(s.term(10), 4, 'term(10)');
        throwsCode(() => s.term(9), 'Compacted', 'term(9)');
        throwsCode(() => s.entries(10, 11, big), 'Compacted', 'entries(10, 11)');
        eq(s.initialState().confState.voters, [1, 2, 3], 'initialState().confState voters');
        eq(s.snapshot().metadata.index, 10, 'snapshot() index');
        s.append([ent(11, 4), ent(12, 5)]);
        eq(ids(s.entries(11, 13, big)), ['11/4', '12/5'], 'entries after the snapshot');
      },
    },
    {
      name: 'applySnapshot() rejects a snapshot that is not newer',
      run(make) {
        const s = make();
        s.applySnapshot({ metadata: { index: 5, term: 2, confState: conf }, data: new Uint8Array(0) });
        throwsCode(
          () =>
            s.applySnapshot({ metadata: { index: 5, term: 2, confState: conf }, data: new Uint8Array(0) }),
          'SnapshotOutOfDate',
          'same snapshot twice',
        );
        throwsCode(
          () =>
            s.applySnapshot({ metadata: { index: 3, term: 2, confState: conf }, data: new Uint8Array(0) }),
          'SnapshotOutOfDate',
          'older snapshot',
        );
        eq(s.lastIndex(), 5, 'lastIndex unchanged');
      },
    },
    {
      name: 'a snapshot racing compaction: the snapshot stays readable and term(firstIndex() - 1) stays available',
      run(make) {
        const s = make();
        const es: Entry[] = [];
        for (let i = 1; i <= 10; i++) es.push(ent(i, i <= 5 ? 1 : 2));
        // The application snapshots at 8 while a compaction at 6 (from an older snapshot) is still to run.
        s.append(es);
        s.createSnapshot(8, conf, new Uint8Array([8]));
        s.compact(6);
        eq(s.snapshot().metadata.index, 8, 'snapshot index after compacting below it');
        eq(s.firstIndex(), 7, 'firstIndex after compact(6)');
        eq(s.term(6), 2, 'term(firstIndex - 1)');
        eq(s.term(5 + 2), 2, 'term(7)');
        throwsCode(() => s.term(5), 'Compacted', 'term(5) after compact(6)');
        s.compact(8);
        eq(s.firstIndex(), 9, 'firstIndex');
        eq(s.term(8), 2, 'term(8)');
        eq(ids(s.entries(9, 11, big)), ['9/2', '10/2'], 'remaining entries');
      },
    },
    {
      name: 'entry types round-trip',
      run(make) {
        const s = make();
        s.append([
          { index: 1, term: 1, type: EntryType.Normal, data: new Uint8Array(0) },
          { index: 2, term: 1, type: EntryType.ConfChange, data: new Uint8Array([1, 2]) },
          { index: 3, term: 1, type: EntryType.ConfChangeV2, data: new Uint8Array([3]) },
        ]);
        eq(
          s.entries(1, 4, big).map((e) => e.type),
          [EntryType.Normal, EntryType.ConfChange, EntryType.ConfChangeV2],
          'types',
        );
        eq(
          s.entries(2, 3, big).map((e) => [...e.data]),
          [[1, 2]],
          'data',
        );
      },
    },
  ];
}
