import * as fs from 'node:fs';
import * as path from 'node:path';
import { EntryType, MemoryStorage, RaftError, seededRng, storageConformanceCases } from '@chronik/raft';
import type { ConfState, Entry, StorageUnderTest } from '@chronik/raft';
import { GroupCommitter, MemFileSystem, WalError, WalErrorCode, nodeFileSystem } from '@chronik/wal';
import type { FileSystem } from '@chronik/wal';
import { RaftLogStorage } from '../src/index.js';
import { linesLogger } from './mem-net.js';
import { removeTempDirs, tempDir } from './temp-dir.js';

afterAll(removeTempDirs);

const conf: ConfState = {
  voters: [1, 2, 3],
  learners: [],
  votersOutgoing: [],
  learnersNext: [],
  autoLeave: false,
};

function ent(index: number, term: number, text = `e${index}t${term}`): Entry {
  return { index, term, type: EntryType.Normal, data: Buffer.from(text) };
}

/** Everything the Storage contract exposes, for comparing two storages. */
function view(s: StorageUnderTest): unknown {
  const first = s.firstIndex();
  const last = s.lastIndex();
  const terms: number[] = [];
  for (let i = first - 1; i <= last; i++) terms.push(s.term(i));
  const snap = s.snapshot();
  return {
    first,
    last,
    terms,
    entries: s
      .entries(first, last + 1, Number.MAX_SAFE_INTEGER)
      .map((e) => [e.index, e.term, e.type, Buffer.from(e.data).toString('hex')]),
    hardState: s.initialState().hardState,
    confState: s.initialState().confState,
    snapshot: [
      snap.metadata.index,
      snap.metadata.term,
      Buffer.from(snap.data).toString('hex'),
      snap.metadata.confState,
    ],
  };
}

const backends: [string, () => { fs: FileSystem; dir: string }][] = [
  ['memfs', () => ({ fs: new MemFileSystem(), dir: '/raft/g1' })],
  ['node fs', () => ({ fs: nodeFileSystem, dir: path.join(tempDir(), 'g1') })],
];

describe.each(backends)(
  '@chronik/raft storage conformance suite on RaftLogStorage (%s), then restart',
  (_name, mk) => {
    for (const c of storageConformanceCases()) {
      test(c.name, async () => {
        const { fs: fsys, dir } = mk();
        const s = await RaftLogStorage.open({ dir, fs: fsys, maxCacheBytes: 8 });
        let made = 0;
        await c.run(() => {
          made++;
          if (made > 1) throw new Error('the case asked for a second storage');
          return s;
        });
        // Everything it did must survive a restart.
        await s.sync();
        const before = view(s);
        await s.close();
        const again = await RaftLogStorage.open({ dir, fs: fsys });
        expect(view(again)).toEqual(before);
        await again.close();
      });
    }
  },
);

describe('RaftLogStorage', () => {
  test('behaves like MemoryStorage under random operations, and survives restarts', async () => {
    const rng = seededRng(42);
    const mem = new MemFileSystem();
    const dir = '/raft/rand';
    let s = await RaftLogStorage.open({
      dir,
      fs: mem,
      maxCacheBytes: 200,
      maxSegmentBytes: 2048,
      maxEntryBytes: 512,
    });
    const ref = new MemoryStorage();
    let term = 1;
    for (let step = 0; step < 600; step++) {
      const x = rng();
      if (x < 0.55) {
        const start = Math.max(ref.firstIndex(), ref.lastIndex() + 1 - Math.floor(rng() * 3));
        if (rng() < 0.1) term++;
        const n = 1 + Math.floor(rng() * 4);
        const es = Array.from({ length: n }, (_, k) =>
          ent(start + k, term, `s${step}k${k}`.repeat(1 + Math.floor(rng() * 10))),
        );
        ref.append(es);
        s.append(es);
      } else if (x < 0.65) {
        const hs = {
          term,
          vote: Math.floor(rng() * 4),
          commit: Math.min(ref.lastIndex(), Math.floor(rng() * (ref.lastIndex() + 1))),
        };
        ref.setHardState(hs);
        s.setHardState(hs);
      } else if (x < 0.72 && ref.lastIndex() > ref.snapshot().metadata.index) {
        const idx =
          ref.snapshot().metadata.index +
          1 +
          Math.floor(rng() * (ref.lastIndex() - ref.snapshot().metadata.index));
        if (idx >= ref.firstIndex() - 1 && idx > ref.snapshot().metadata.index) {
          ref.createSnapshot(idx, conf, Buffer.from(`snap${idx}`));
          s.createSnapshot(idx, conf, Buffer.from(`snap${idx}`));
        }
      } else if (x < 0.8 && ref.snapshot().metadata.index >= ref.firstIndex()) {
        ref.compact(ref.snapshot().metadata.index);
        s.compact(ref.snapshot().metadata.index);
      } else if (x < 0.82) {
        const snap = {
          metadata: { index: ref.lastIndex() + 1 + Math.floor(rng() * 5), term: term + 1, confState: conf },
          data: Buffer.from(`inst${step}`),
        };
        term++;
        ref.applySnapshot(snap);
        s.applySnapshot(snap);
      } else if (x < 0.95) {
        await s.sync();
      } else {
        await s.sync();
        await s.close();
        s = await RaftLogStorage.open({
          dir,
          fs: mem,
          maxCacheBytes: 200,
          maxSegmentBytes: 2048,
          maxEntryBytes: 512,
        });
      }
      expect(view(s)).toEqual(view(ref));
    }
    expect(s.cachedBytes()).toBeLessThanOrEqual(200 + 512 * 4);
    await s.close();
  });

  test('a conflicting suffix is truncated durably before the new entries are written', async () => {
    const mem = new MemFileSystem();
    const s = await RaftLogStorage.open({ dir: '/r', fs: mem });
    s.append([ent(1, 1), ent(2, 1), ent(3, 1), ent(4, 1)]);
    await s.sync();
    s.append([ent(3, 2, 'new3')]);
    await s.sync();
    // Power loss right after: nothing of the old suffix may come back.
    const rebooted = mem.crash(seededRng(1));
    const again = await RaftLogStorage.open({ dir: '/r', fs: rebooted });
    expect(again.lastIndex()).toBe(3);
    expect(again.term(3)).toBe(2);
    expect(Buffer.from(again.entries(3, 4, 100)[0]!.data).toString()).toBe('new3');
    await again.close();
  });

  test('hard state, snapshot and compaction survive power loss after sync()', async () => {
    const mem = new MemFileSystem();
    const s = await RaftLogStorage.open({ dir: '/r', fs: mem });
    s.append([ent(1, 1), ent(2, 2), ent(3, 3), ent(4, 3), ent(5, 3)]);
    s.setHardState({ term: 3, vote: 2, commit: 4 });
    s.createSnapshot(3, conf, Buffer.from('state@3'));
    s.compact(3);
    await s.sync();
    const rebooted = mem.crash(seededRng(7));
    const logLines: string[] = [];
    const again = await RaftLogStorage.open({ dir: '/r', fs: rebooted, logger: linesLogger(logLines) });
    expect(again.initialState().hardState).toEqual({ term: 3, vote: 2, commit: 4 });
    expect(again.firstIndex()).toBe(4);
    expect(again.term(3)).toBe(3);
    expect(again.lastIndex()).toBe(5);
    expect(Buffer.from(again.snapshot().data).toString()).toBe('state@3');
    expect(again.initialState().confState.voters).toEqual([1, 2, 3]);
    expect(again.recovery).toMatchObject({
      entries: 2,
      snapshotIndex: 3,
      hardState: { term: 3, vote: 2, commit: 4 },
    });
    expect(logLines).toContain('raft storage recovered');
    await again.close();
  });

  test('bootstrap records the initial configuration as a snapshot at index 1, only on an empty directory', async () => {
    const mem = new MemFileSystem();
    const s = await RaftLogStorage.open({ dir: '/b', fs: mem, bootstrap: { confState: conf } });
    expect(s.firstIndex()).toBe(2);
    expect(s.lastIndex()).toBe(1);
    expect(s.term(1)).toBe(1);
    expect(s.initialState().confState.voters).toEqual([1, 2, 3]);
    s.append([ent(2, 2)]);
    await s.sync();
    await s.close();
    const other: ConfState = { ...conf, voters: [9] };
    const again = await RaftLogStorage.open({ dir: '/b', fs: mem, bootstrap: { confState: other } });
    expect(again.initialState().confState.voters).toEqual([1, 2, 3]);
    expect(again.lastIndex()).toBe(2);
    await again.close();
  });

  test('many groups share one group-commit cycle', async () => {
    const mem = new MemFileSystem();
    const committer = new GroupCommitter();
    const groups = await Promise.all(
      Array.from({ length: 20 }, (_, g) => RaftLogStorage.open({ dir: `/n/${g}`, fs: mem, committer })),
    );
    for (const [g, s] of groups.entries()) s.append([ent(1, 1, `g${g}`)]);
    await Promise.all(groups.map((s) => s.sync())); // creates each log's first segment
    for (const [g, s] of groups.entries()) {
      s.append([ent(2, 1, `g${g}`)]);
      s.setHardState({ term: 1, vote: 1, commit: 1 });
    }
    const before = committer.cycles;
    const syncsBefore = mem.syncCount;
    await Promise.all(groups.map((s) => s.sync()));
    // One fdatasync per log and per state file, all in one shared cycle.
    expect(mem.syncCount - syncsBefore).toBe(40);
    expect(committer.cycles - before).toBe(1);
    for (const s of groups) await s.close();
  });

  test(
    'simulated power loss at random moments: synced entries and hard state always come back',
    async () => {
      const seeds = Math.max(1, Math.floor(Number(process.env.CHRONIK_WAL_SIM_SEEDS ?? 40) / 2));
      for (let seed = 1; seed <= seeds; seed++) {
        try {
          await runRaftSeed(seed);
        } catch (e) {
          throw new Error(`seed ${seed} failed: ${(e as Error).message}`, { cause: e });
        }
      }
      // Most opens took the terms from the runs the state recorded (the others read the log).
      expect(recordedOpens).toBeGreaterThan(seeds);
    },
    30_000 + Number(process.env.CHRONIK_WAL_SIM_SEEDS ?? 40) * 500,
  );

  let recordedOpens = 0;

  async function runRaftSeed(seed: number): Promise<void> {
    {
      const rng = seededRng(seed);
      let mem = new MemFileSystem();
      const dir = '/sim';
      const opts = { dir, maxSegmentBytes: 1024, maxEntryBytes: 256 };
      let durable = {
        last: 0,
        terms: new Map<number, number>(),
        hs: { term: 0, vote: 0, commit: 0 },
        snapIndex: 0,
        snapData: '',
      };
      let term = 1;
      let truncations = 0;
      for (let round = 0; round < 5; round++) {
        const s = await RaftLogStorage.open({ ...opts, fs: mem });
        // Every synced entry is there (unless compacted), with its term; hard state at least as new.
        expect(s.lastIndex()).toBeGreaterThanOrEqual(durable.last);
        for (const [i, t] of durable.terms)
          if (i >= s.firstIndex() && i <= durable.last) expect(s.term(i)).toBe(t);
        // The terms answered (from the runs the state recorded, or from reading the log) are the
        // terms the stored entries carry.
        for (let i = s.firstIndex(); i <= s.lastIndex(); i++)
          expect(s.term(i)).toBe(s.entries(i, i + 1, Number.MAX_SAFE_INTEGER)[0]?.term);
        if (s.recovery.termsRecorded) recordedOpens++;
        expect(s.initialState().hardState.term).toBeGreaterThanOrEqual(durable.hs.term);
        expect(s.snapshot().metadata.index).toBeGreaterThanOrEqual(durable.snapIndex);
        if (s.snapshot().metadata.index > 0 && s.snapshot().metadata.index === durable.snapIndex) {
          expect(Buffer.from(s.snapshot().data).toString()).toBe(durable.snapData);
        }
        term = Math.max(term, s.initialState().hardState.term, s.lastIndex() > 0 ? s.term(s.lastIndex()) : 0);
        const steps = 3 + Math.floor(rng() * 12);
        const inflight: Promise<unknown>[] = [];
        for (let k = 0; k < steps; k++) {
          const x = rng();
          if (x < 0.5) {
            const start = Math.max(s.firstIndex(), s.lastIndex() + 1 - Math.floor(rng() * 2));
            if (start <= s.lastIndex()) {
              // Overwriting a suffix (a new leader's entries) may drop synced entries: that is Raft's call.
              truncations++;
              durable = { ...durable, last: Math.min(durable.last, start - 1) };
            }
            if (rng() < 0.2) term++;
            const es = Array.from({ length: 1 + Math.floor(rng() * 3) }, (_, j) =>
              ent(start + j, term, 'x'.repeat(Math.floor(rng() * 200))),
            );
            s.append(es);
          } else if (x < 0.6) {
            s.setHardState({ term, vote: 1, commit: Math.floor(rng() * (s.lastIndex() + 1)) });
          } else if (x < 0.65 && s.lastIndex() > s.snapshot().metadata.index + 2) {
            const idx = s.lastIndex() - 1;
            s.createSnapshot(idx, conf, Buffer.from('snap'));
            s.compact(idx);
          } else if (x < 0.7) {
            // Install a leader's snapshot past the end of the log.
            term++;
            const idx = s.lastIndex() + 1 + Math.floor(rng() * 3);
            truncations++;
            durable = { ...durable, last: Math.min(durable.last, s.firstIndex() - 1) };
            s.applySnapshot({
              metadata: { index: idx, term, confState: conf },
              data: Buffer.from(`installed@${idx}`),
            });
          } else {
            const last = s.lastIndex();
            const terms = new Map<number, number>();
            for (let i = s.firstIndex(); i <= last; i++) terms.set(i, s.term(i));
            const hs = s.initialState().hardState;
            const gen = truncations;
            const snapIndex = s.snapshot().metadata.index;
            const snapData = Buffer.from(s.snapshot().data).toString();
            const p = s.sync().then(() => {
              if (gen === truncations) durable = { last, terms, hs, snapIndex, snapData };
            });
            inflight.push(p);
            if (rng() < 0.7) await p;
          }
        }
        if (rng() < 0.5) await Promise.allSettled(inflight);
        mem = mem.crash(rng);
        await Promise.allSettled(inflight);
      }
    }
  }

  test('memory stays bounded: older entries are read back from disk, also after a restart', async () => {
    const mem = new MemFileSystem();
    const opts = { dir: '/c', fs: mem, maxCacheBytes: 1000, maxSegmentBytes: 4096 };
    const s = await RaftLogStorage.open(opts);
    for (let i = 1; i <= 200; i++) s.append([ent(i, 1 + Math.floor(i / 30), String(i).padStart(100, '.'))]);
    await s.sync();
    expect(s.cachedBytes()).toBeLessThanOrEqual(1000);
    const all = s.entries(1, 201, Number.MAX_SAFE_INTEGER);
    expect(all.map((e) => Buffer.from(e.data).toString().replace(/^\.+/, ''))).toEqual(
      Array.from({ length: 200 }, (_, k) => String(k + 1)),
    );
    await s.close();
    const again = await RaftLogStorage.open(opts);
    expect(again.cachedBytes()).toBeLessThanOrEqual(1000);
    expect(again.term(100)).toBe(4);
    expect(again.entries(5, 201, 350).map((e) => e.index)).toEqual([5, 6, 7]);
    await again.close();
  });

  test('open CRC-checks only the tail; a damaged entry in a sealed segment is a Corruption error when read, never data', async () => {
    const dir = path.join(tempDir(), 'tail');
    const opts = { dir, maxSegmentBytes: 4096, maxCacheBytes: 1000 };
    const s = await RaftLogStorage.open(opts);
    for (let i = 1; i <= 100; i++)
      s.append([ent(i, 1, `entry-${String(i).padStart(4, '0')}`.padEnd(200, '.'))]);
    await s.sync();
    await s.close();
    // Damage entry 5's data in the first (sealed) segment, its CRC left as it was.
    const logDir = path.join(dir, 'log');
    const segments = fs
      .readdirSync(logDir)
      .filter((n) => !n.endsWith('.index'))
      .sort();
    expect(segments.length).toBeGreaterThan(2);
    const file = path.join(logDir, segments[0]!);
    const bytes = fs.readFileSync(file);
    const at = bytes.indexOf('entry-0005');
    expect(at).toBeGreaterThan(0);
    bytes[at + 8] = bytes[at + 8]! ^ 0xff;
    fs.writeFileSync(file, bytes);

    // verify: 'all' reads every record at open and refuses the log.
    await expect(RaftLogStorage.open({ ...opts, verify: 'all' })).rejects.toMatchObject({
      code: WalErrorCode.Corruption,
    });
    // The default opens (the sealed segment's index file is valid), and the damage surfaces when the
    // entry is read: the same error, from the synchronous and the asynchronous read, no data.
    const again = await RaftLogStorage.open(opts);
    expect(again.lastIndex()).toBe(100);
    const corrupt = (e: unknown): boolean => e instanceof WalError && e.code === WalErrorCode.Corruption;
    let thrown: unknown;
    try {
      again.entries(1, 10, Number.MAX_SAFE_INTEGER);
    } catch (e) {
      thrown = e;
    }
    expect(corrupt(thrown)).toBe(true);
    expect(corrupt(await again.readEntries(5, 6, Number.MAX_SAFE_INTEGER).catch((e: unknown) => e))).toBe(
      true,
    );
    // Entries elsewhere read as written.
    expect(
      again.entries(60, 62, Number.MAX_SAFE_INTEGER).map((e) => Buffer.from(e.data).toString().slice(0, 10)),
    ).toEqual(['entry-0060', 'entry-0061']);
    await again.close();
  });

  test('damage found after the Wal opened (an entry read for its term) refuses the open and releases the directory', async () => {
    const dir = path.join(tempDir(), 'release');
    const opts = { dir, maxSegmentBytes: 4096, maxCacheBytes: 1000 };
    const s = await RaftLogStorage.open(opts);
    for (let i = 1; i <= 100; i++)
      s.append([ent(i, 1, `entry-${String(i).padStart(4, '0')}`.padEnd(200, '.'))]);
    await s.sync();
    await s.close();
    // Entry 1 starts the recorded run of term 1: open() reads it to check the run.
    const logDir = path.join(dir, 'log');
    const file = path.join(
      logDir,
      fs
        .readdirSync(logDir)
        .filter((n) => !n.endsWith('.index'))
        .sort()[0]!,
    );
    const bytes = fs.readFileSync(file);
    const at = bytes.indexOf('entry-0001');
    bytes[at + 8] = bytes[at + 8]! ^ 0xff;
    fs.writeFileSync(file, bytes);
    const corruption = { code: WalErrorCode.Corruption };
    await expect(RaftLogStorage.open(opts)).rejects.toMatchObject(corruption);
    // Not "a Wal is already open": the failed open released the directory.
    await expect(RaftLogStorage.open(opts)).rejects.toMatchObject(corruption);
    fs.rmSync(dir, { recursive: true });
    const fresh = await RaftLogStorage.open(opts);
    expect(fresh.lastIndex()).toBe(0);
    await fresh.close();
  });

  test('a burst larger than the write queue limit waits instead of failing', async () => {
    const s = await RaftLogStorage.open({ dir: path.join(tempDir(), 'burst'), maxPendingWriteBytes: 4096 });
    for (let i = 1; i <= 100; i++) s.append([ent(i, 1, 'y'.repeat(1000))]);
    await s.sync();
    expect(s.entries(1, 101, Number.MAX_SAFE_INTEGER).length).toBe(100);
    await s.close();
  });

  test('errors are RaftError for range checks', async () => {
    const s = await RaftLogStorage.open({ dir: '/e', fs: new MemFileSystem() });
    s.append([ent(1, 1)]);
    expect(() => s.entries(1, 3, 10)).toThrow(RaftError);
    expect(() => s.term(2)).toThrow(expect.objectContaining({ code: 'Unavailable' }));
    await s.close();
  });
});
