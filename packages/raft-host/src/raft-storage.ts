/**
 * RaftLogStorage: the Storage of @chronik/raft on top of a @chronik/wal Wal, with hard state and
 * snapshots.
 *
 * Layout of its directory:
 *   log/                                  the Wal; record index = Raft index, record type = entry type
 *   state                                 two 16 KiB slots (hard state, snapshot metadata, compaction
 *                                         point), written alternately, each with a sequence number and
 *                                         CRC: a torn write damages at most the slot being written
 *   snapshot-<20-digit index>-<term>.snap the latest snapshot (temp file, fsync, rename, fsync dir)
 *
 * Every method of the Storage contract is synchronous and answers from memory: the terms of all
 * entries (as runs of equal terms, a few bytes per term change), the most recent entries up to
 * maxCacheBytes, and the latest snapshot. Older entries are read with synchronous reads through
 * the file system seam. Writes (append, setHardState, createSnapshot, applySnapshot, compact) take
 * effect in memory at once and reach the disk in call order; `sync()` resolves when all of them
 * are durable (the Wal's fdatasync and the state slot's share one group-commit cycle).
 */
import * as path from 'node:path';
import {
  EntryType,
  RaftError,
  RaftErrorCode,
  emptyConfState,
  emptyHardState,
  limitSize,
} from '@chronik/raft';
import type { ConfState, Entry, HardState, Snapshot, StorageUnderTest } from '@chronik/raft';
import { nodeFileSystem, silentLogger } from '@chronik/env';
import type { Clock, FileSystem, Logger, WalFile } from '@chronik/env';
import {
  GroupCommitter,
  Wal,
  WalError,
  WalErrorCode,
  crc32c,
  defaultMaxRecordBytes,
  readU64,
  writeU64,
} from '@chronik/wal';
import type { Flushable, RecoverySummary, SyncPolicy } from '@chronik/wal';

export interface RaftLogStorageOptions {
  readonly dir: string;
  readonly fs?: FileSystem;
  /** The WAL's wall clock (segment stamps; only `nowMs` is read). Default `Date.now`. */
  readonly clock?: Pick<Clock, 'nowMs'>;
  readonly logger?: Logger;
  /** Shared group commit (one per process). Without one, a private committer with `syncPolicy`. */
  readonly committer?: GroupCommitter;
  readonly syncPolicy?: SyncPolicy;
  /** Bound on the entry data kept in memory (recent entries; older ones are read from disk). Default 32 MiB. */
  readonly maxCacheBytes?: number;
  /** Largest entry data accepted. Default 16 MiB (less if a segment cannot hold that). */
  readonly maxEntryBytes?: number;
  /** Largest snapshot accepted or loaded. Default 1 GiB. */
  readonly maxSnapshotBytes?: number;
  /**
   * Entry bytes queued for writing before appends wait for earlier writes (back-pressure inside the
   * disk queue; entries stay readable from memory meanwhile). Default 64 MiB.
   */
  readonly maxPendingWriteBytes?: number;
  /** Wal segment size. Default 64 MiB. */
  readonly maxSegmentBytes?: number;
  /** Operator option passed to the Wal: cut at a corruption instead of refusing to open. */
  readonly onCorruption?: 'fail' | 'truncate';
  /**
   * Passed to the Wal: what open() CRC-checks. `tail` (default): only the records after the last
   * valid index file (sealed segments' indexes and the active segment's prefix index, written every
   * 8 MiB made durable and at close), so an open costs what was written since, not the log kept;
   * a damaged record elsewhere is found when it is read (entries(), readEntries(): a WalError
   * Corruption, never its data) or by the log scrubber. `all`: every record (the whole log read).
   * See README, "Opening a log".
   */
  readonly verify?: 'all' | 'tail';
  /**
   * Passed to the Wal: write entries with a synchronous write on the calling thread instead of a
   * thread-pool hand-off (the fdatasync stays in the pool). See WalOptions.inlineWrites. Default false.
   */
  readonly inlineWrites?: boolean;
  /**
   * For a founding member of a new group: on an empty directory, record `confState` as a snapshot
   * at index 1, term 1 with empty data (as MemoryStorage does). Ignored when state exists.
   */
  readonly bootstrap?: { readonly confState: ConfState };
}

/** What open() recovered; the host logs it as `recovered raft group=...`. */
export interface RaftRecoveryInfo {
  readonly entries: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly hardState: HardState;
  readonly snapshotIndex: number;
  readonly snapshotTerm: number;
  /** True when the persisted commit index was above the recovered log and was lowered to it. */
  readonly commitClamped: boolean;
  /** True when the terms came from the runs the state recorded (checked), not from reading every entry. */
  readonly termsRecorded: boolean;
  readonly wal: RecoverySummary;
}

const ENTRY_HEADER_BYTES = 12; // u8 version, u8 type, u16 reserved, u64 term
const ENTRY_RECORD_TYPE = 1;
/** Reads of readEntries before it gives up on a log being cut under every one (Unavailable). */
const MAX_READ_ATTEMPTS = 3;
const STATE_SLOT_BYTES = 16 << 10;
const STATE_MAGIC = Buffer.from('CHRKRST1', 'latin1');
const SNAP_MAGIC = Buffer.from('CHRKSNP1', 'latin1');
const SNAP_HEADER_BYTES = 56;
const SNAP_NAME = /^snapshot-(\d{20})-(\d+)\.snap$/;

interface PersistedState {
  hardState: HardState;
  snapIndex: number;
  snapTerm: number;
  confState: ConfState;
  /**
   * The entry at compactIndex is the last one dropped from the log (firstIndex() - 1); it is
   * independent of the snapshot (a snapshot may be recorded without compacting).
   */
  compactIndex: number;
  compactTerm: number;
  /**
   * The log's runs of equal terms as of this write, flat [start, term, start, term, …] (absent:
   * not recorded — too many to fit, or written by code before them). At open they spare reading
   * every entry for its term, once checked against the log (recoverLog).
   */
  runs?: number[] | undefined;
}

function encodeEntry(e: Entry): Buffer {
  const b = Buffer.allocUnsafe(ENTRY_HEADER_BYTES + e.data.length);
  b.writeUInt8(1, 0);
  b.writeUInt8(e.type, 1);
  b.writeUInt16LE(0, 2);
  writeU64(b, e.term, 4);
  b.set(e.data, ENTRY_HEADER_BYTES);
  return b;
}

function decodeEntry(index: number, payload: Buffer, file: string): Entry {
  if (payload.length < ENTRY_HEADER_BYTES || payload.readUInt8(0) !== 1) {
    throw new WalError(WalErrorCode.Corruption, `raft entry ${index} in ${file} has an unknown encoding`, {
      file,
    });
  }
  const type = payload.readUInt8(1);
  if (type !== EntryType.Normal && type !== EntryType.ConfChange && type !== EntryType.ConfChangeV2) {
    throw new WalError(WalErrorCode.Corruption, `raft entry ${index} has unknown type ${type}`, { file });
  }
  return {
    index,
    term: readU64(payload, 4),
    type,
    // A view, not a copy: every payload the Wal reads is a buffer of its own.
    data: payload.subarray(ENTRY_HEADER_BYTES),
  };
}

function snapshotFileName(index: number, term: number): string {
  return `snapshot-${String(index).padStart(20, '0')}-${term}.snap`;
}

function encodeStateSlot(s: PersistedState, seq: number): Buffer {
  const fields = {
    term: s.hardState.term,
    vote: s.hardState.vote,
    commit: s.hardState.commit,
    snapIndex: s.snapIndex,
    snapTerm: s.snapTerm,
    confState: s.confState,
    compactIndex: s.compactIndex,
    compactTerm: s.compactTerm,
  };
  let json = Buffer.from(JSON.stringify(s.runs === undefined ? fields : { ...fields, runs: s.runs }), 'utf8');
  // Runs that do not fit are left out: the next open reads the log for its terms instead.
  if (json.length > STATE_SLOT_BYTES - 32 && s.runs !== undefined)
    json = Buffer.from(JSON.stringify(fields), 'utf8');
  if (json.length > STATE_SLOT_BYTES - 32)
    throw new WalError(WalErrorCode.InvalidArgument, 'raft state too large for a state slot');
  const b = Buffer.alloc(32 + json.length);
  STATE_MAGIC.copy(b, 0);
  b.writeUInt32LE(1, 8);
  b.writeUInt32LE(json.length, 12);
  writeU64(b, seq, 16);
  json.copy(b, 32);
  b.writeUInt32LE(crc32c(Buffer.concat([b.subarray(0, 24), json])), 24);
  return b;
}

function decodeStateSlot(b: Buffer): { seq: number; state: PersistedState } | undefined {
  if (b.length < 32 || !b.subarray(0, 8).equals(STATE_MAGIC) || b.readUInt32LE(8) !== 1) return undefined;
  const len = b.readUInt32LE(12);
  if (len > STATE_SLOT_BYTES - 32 || 32 + len > b.length) return undefined;
  const json = b.subarray(32, 32 + len);
  if (b.readUInt32LE(24) !== crc32c(Buffer.concat([b.subarray(0, 24), json]))) return undefined;
  try {
    const o = JSON.parse(json.toString('utf8')) as Record<string, unknown>;
    const num = (k: string): number => {
      const v = o[k];
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new Error(`bad ${k}`);
      return v;
    };
    const cs = o.confState as ConfState;
    return {
      seq: readU64(b, 16),
      state: {
        hardState: { term: num('term'), vote: num('vote'), commit: num('commit') },
        snapIndex: num('snapIndex'),
        snapTerm: num('snapTerm'),
        confState: {
          voters: [...cs.voters],
          learners: [...cs.learners],
          votersOutgoing: [...cs.votersOutgoing],
          learnersNext: [...cs.learnersNext],
          autoLeave: Boolean(cs.autoLeave),
        },
        compactIndex: num('compactIndex'),
        compactTerm: num('compactTerm'),
        runs: decodeRuns(o.runs),
      },
    };
  } catch {
    return undefined;
  }
}

/** Recorded runs of terms, if well formed: starts increasing, terms not decreasing. */
function decodeRuns(v: unknown): number[] | undefined {
  if (!Array.isArray(v) || v.length % 2 !== 0) return undefined;
  for (let k = 0; k < v.length; k++) {
    const x: unknown = v[k];
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) return undefined;
    if (k >= 2 && (k % 2 === 0 ? x <= (v[k - 2] as number) : x < (v[k - 2] as number))) return undefined;
  }
  return v as number[];
}

/** The two-slot state file, flushed through the group committer. */
class StateFile implements Flushable {
  /** Slot holding the last durable state; writes go to the other one. */
  private durableSlot: 0 | 1;
  private pendingSlot: 0 | 1 | undefined;
  private seq: number;
  constructor(
    private readonly file: WalFile,
    private readonly committer: GroupCommitter,
    durableSlot: 0 | 1,
    seq: number,
  ) {
    this.durableSlot = durableSlot;
    this.seq = seq;
  }

  /** Writes `state` into the slot that does not hold the last durable state (not synced yet). */
  async writeSlot(state: PersistedState): Promise<void> {
    const slot = this.durableSlot === 0 ? 1 : 0;
    this.seq++;
    await this.file.write(encodeStateSlot(state, this.seq), slot * STATE_SLOT_BYTES);
    this.pendingSlot = slot;
  }

  /** Syncs the last written slot through the committer; it then becomes the durable one. */
  async makeDurable(): Promise<void> {
    const slot = this.pendingSlot;
    if (slot === undefined) return;
    await this.committer.requestSync(this);
    if (this.pendingSlot === slot) {
      this.durableSlot = slot;
      this.pendingSlot = undefined;
    }
  }

  flushDurable(): Promise<void> {
    return this.file.datasync();
  }

  close(): Promise<void> {
    return this.file.close();
  }
}

export class RaftLogStorage implements StorageUnderTest {
  private recoveryInfo: RaftRecoveryInfo | undefined;
  private readonly dir: string;
  private readonly fs: FileSystem;
  private readonly logger: Logger;
  private readonly wal: Wal;
  private readonly stateFile: StateFile;
  private readonly committer: GroupCommitter;
  private readonly ownCommitter: boolean;
  private readonly maxCacheBytes: number;
  private readonly maxEntryBytes: number;
  private readonly maxSnapshotBytes: number;

  private hardState: HardState;
  private snap: Snapshot;
  /** firstIndex() - 1 and its term. */
  private dummyIndex: number;
  private dummyTerm: number;
  private last: number;
  /** Runs of equal terms: runStart[k] is the first index with term runTerm[k]; covers (dummyIndex, last]. */
  private runStart: number[] = [];
  private runTerm: number[] = [];
  /** Entries [cacheStart, last] in memory. */
  private cache: Entry[] = [];
  private cacheStart: number;
  private cacheBytes = 0;
  /** Every entry <= writtenUpTo is in the Wal with its current content (readable from disk). */
  private writtenUpTo: number;
  /** Bumped whenever the in-memory log is cut, so a late write completion cannot overstate writtenUpTo. */
  private generation = 0;
  private stateDirty = false;
  /**
   * The snapshot and compaction point as the disk queue has reached them. State writes use these,
   * not the in-memory values, so the state never names a snapshot file or a compaction point that
   * the queued operations before it have not made durable yet.
   */
  private queuedSnap: { index: number; term: number; confState: ConfState };
  private queuedCompact: { index: number; term: number };
  private chain: Promise<void> = Promise.resolve();
  /** The runs of terms the state slot recorded (recoverLog uses them once, if the log agrees). */
  private recordedRuns: number[] | undefined;
  private failure: Error | undefined;
  private closed = false;

  private constructor(
    opts: RaftLogStorageOptions,
    wal: Wal,
    stateFile: StateFile,
    committer: GroupCommitter,
    st: PersistedState,
    snapData: Uint8Array,
  ) {
    this.dir = opts.dir;
    this.fs = opts.fs ?? nodeFileSystem;
    this.logger = opts.logger ?? silentLogger;
    this.wal = wal;
    this.stateFile = stateFile;
    this.committer = committer;
    this.ownCommitter = opts.committer === undefined;
    this.maxCacheBytes = opts.maxCacheBytes ?? 32 << 20;
    this.maxEntryBytes =
      opts.maxEntryBytes ?? defaultMaxRecordBytes(opts.maxSegmentBytes ?? 64 << 20) - ENTRY_HEADER_BYTES;
    this.maxSnapshotBytes = opts.maxSnapshotBytes ?? 1 << 30;
    this.hardState = st.hardState;
    this.snap = {
      metadata: { index: st.snapIndex, term: st.snapTerm, confState: st.confState },
      data: snapData,
    };
    this.dummyIndex = st.compactIndex;
    this.dummyTerm = st.compactTerm;
    this.queuedSnap = { index: st.snapIndex, term: st.snapTerm, confState: st.confState };
    this.queuedCompact = { index: st.compactIndex, term: st.compactTerm };
    this.last = this.dummyIndex;
    this.cacheStart = this.dummyIndex + 1;
    this.writtenUpTo = this.dummyIndex;
    this.recordedRuns = st.runs;
  }

  /** Opens (or creates) the storage in `options.dir` and recovers entries, hard state and snapshot. */
  static async open(options: RaftLogStorageOptions): Promise<RaftLogStorage> {
    const fsys = options.fs ?? nodeFileSystem;
    const logger = options.logger ?? silentLogger;
    const committer =
      options.committer ?? new GroupCommitter({ policy: options.syncPolicy ?? { kind: 'batch' }, logger });
    await fsys.mkdir(options.dir);
    await fsys.fsyncDir(path.dirname(options.dir));
    const maxEntryBytes =
      options.maxEntryBytes ??
      defaultMaxRecordBytes(options.maxSegmentBytes ?? 64 << 20) - ENTRY_HEADER_BYTES;

    // 1. The state file (created durably on first open).
    const statePath = path.join(options.dir, 'state');
    let stateFile: StateFile;
    let st: PersistedState;
    let snapData: Uint8Array = new Uint8Array(0);
    if (!(await fsys.stat(statePath))) {
      const boot = options.bootstrap;
      st = {
        hardState: emptyHardState,
        snapIndex: boot ? 1 : 0,
        snapTerm: boot ? 1 : 0,
        confState: boot ? boot.confState : emptyConfState(),
        compactIndex: boot ? 1 : 0,
        compactTerm: boot ? 1 : 0,
      };
      if (boot)
        await writeSnapshotFile(fsys, options.dir, {
          metadata: { index: 1, term: 1, confState: boot.confState },
          data: snapData,
        });
      const tmp = `${statePath}.tmp`;
      const f = await fsys.open(tmp, 'w');
      await f.write(encodeStateSlot(st, 1), 0);
      await f.truncate(2 * STATE_SLOT_BYTES);
      await f.datasync();
      await fsys.rename(tmp, statePath);
      await fsys.fsyncDir(options.dir);
      stateFile = new StateFile(f, committer, 0, 1);
    } else {
      const f = await fsys.open(statePath, 'r+');
      const buf = Buffer.alloc(2 * STATE_SLOT_BYTES);
      const got = await f.read(buf, 0, buf.length, 0);
      const a = decodeStateSlot(buf.subarray(0, Math.min(got, STATE_SLOT_BYTES)));
      const b = got > STATE_SLOT_BYTES ? decodeStateSlot(buf.subarray(STATE_SLOT_BYTES, got)) : undefined;
      const best = a && b ? (a.seq >= b.seq ? 0 : 1) : a ? 0 : b ? 1 : undefined;
      if (best === undefined) {
        await f.close();
        throw new WalError(WalErrorCode.Corruption, `no valid slot in raft state file ${statePath}`, {
          file: statePath,
          position: 0,
        });
      }
      const chosen = (best === 0 ? a : b)!;
      st = chosen.state;
      stateFile = new StateFile(f, committer, best, chosen.seq);
      if (st.snapIndex > 0) {
        snapData = await readSnapshotFile(fsys, options.dir, st, options.maxSnapshotBytes ?? 1 << 30);
      }
    }
    await removeStaleSnapshots(fsys, options.dir, st.snapIndex, st.snapTerm);

    // 2. The log.
    let wal: Wal;
    try {
      wal = await Wal.open({
        dir: path.join(options.dir, 'log'),
        fs: fsys,
        logger,
        committer,
        maxRecordBytes: maxEntryBytes + ENTRY_HEADER_BYTES,
        ...(options.clock ? { clock: options.clock } : {}),
        ...(options.maxSegmentBytes !== undefined ? { maxSegmentBytes: options.maxSegmentBytes } : {}),
        ...(options.maxPendingWriteBytes !== undefined
          ? { maxPendingBytes: options.maxPendingWriteBytes }
          : {}),
        ...(options.onCorruption ? { onCorruption: options.onCorruption } : {}),
        verify: options.verify ?? 'tail',
        ...(options.inlineWrites !== undefined ? { inlineWrites: options.inlineWrites } : {}),
      });
    } catch (e) {
      await stateFile.close().catch(() => {});
      throw e;
    }
    const s = new RaftLogStorage(options, wal, stateFile, committer, st, snapData);
    try {
      await s.recoverLog();
    } catch (e) {
      // Damage found after the Wal opened (an entry read for its term): release the Wal and the
      // state file, or the directory stays "already open" in this process and the replica's
      // rebuild (which reopens it) fails.
      await s.close().catch(() => {});
      throw e;
    }
    return s;
  }

  /** Reconciles the Wal with the snapshot/compaction point, then loads terms and recent entries. */
  private async recoverLog(): Promise<void> {
    const wal = this.wal;
    const d = this.dummyIndex;
    const walFirst = wal.firstIndex();
    const walLast = wal.lastIndex();
    if (walFirst > d + 1 && walLast >= walFirst) {
      throw new WalError(
        WalErrorCode.Corruption,
        `raft log in ${this.dir} starts at ${walFirst} but the snapshot/compaction point is ${d}: entries are missing`,
      );
    }
    if (walLast < d || walFirst > d + 1) {
      // The log is behind the snapshot (an install was interrupted) or empty: start after it.
      if (walLast >= walFirst || walFirst !== d + 1) await wal.reset(d + 1);
    } else if (walFirst <= d) {
      const at = wal.readSync(d, d + 1, 1)[0];
      const term = at ? decodeEntry(d, at.payload, this.dir).term : -1;
      if (d === 0 || term === this.dummyTerm) await wal.truncatePrefix(d + 1);
      else await wal.reset(d + 1); // the log does not match the snapshot: discard it
    }
    const last = wal.lastIndex();
    this.writtenUpTo = last;
    const termsRecorded = this.recoverRecordedRuns(last);
    if (!termsRecorded) {
      // Load terms and cache recent entries (everything on disk may be evicted from memory).
      for (let i = d + 1; i <= last;) {
        const recs = wal.readSync(i, last + 1, 8 << 20);
        for (const r of recs) this.pushEntry(decodeEntry(r.index, r.payload, this.dir));
        // Once per chunk: evict() slices the cache array, so once per entry made recovery quadratic.
        this.evict();
        i += recs.length;
      }
    }
    this.recordedRuns = undefined;
    let commitClamped = false;
    let hs = this.hardState;
    if (hs.commit > last) {
      // The hard state reached disk in a cycle whose entries did not: nothing was acknowledged for
      // them (messages are sent only after sync() resolves), so lowering commit is safe.
      this.logger.warn('raft storage: commit index above the recovered log, lowered', {
        dir: this.dir,
        commit: hs.commit,
        lastIndex: last,
      });
      hs = { ...hs, commit: last };
      commitClamped = true;
    }
    this.hardState = hs;
    this.recoveryInfo = {
      entries: last - d,
      firstIndex: d + 1,
      lastIndex: last,
      hardState: hs,
      snapshotIndex: this.snap.metadata.index,
      snapshotTerm: this.snap.metadata.term,
      commitClamped,
      termsRecorded,
      wal: wal.recovery,
    };
    this.logger.info('raft storage recovered', {
      dir: this.dir,
      entries: last - d,
      firstIndex: d + 1,
      lastIndex: last,
      term: hs.term,
      vote: hs.vote,
      commit: hs.commit,
      snapshot: this.snap.metadata.index,
      termsRecorded,
    });
  }

  /** What open() recovered. */
  get recovery(): RaftRecoveryInfo {
    return this.recoveryInfo!;
  }

  // ---- Storage (read side, synchronous) ----------------------------------------------------

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hardState, confState: this.snap.metadata.confState };
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    this.checkRange('entries', lo, hi);
    if (lo === hi) return [];
    const out: Entry[] = [];
    if (lo < this.cacheStart) {
      const upTo = Math.min(hi, this.cacheStart);
      for (let i = lo; i < upTo;) {
        const recs = this.wal.readSync(i, upTo, Math.max(0, maxBytes));
        if (recs.length === 0)
          throw new RaftError(RaftErrorCode.Unavailable, `entry ${i} is not readable from the log`);
        for (const r of recs) out.push(decodeEntry(r.index, r.payload, this.dir));
        i += recs.length;
        if (i < upTo) return limitSize(out, maxBytes); // the byte budget stopped the read
      }
    }
    for (let i = Math.max(lo, this.cacheStart); i < hi; i++) out.push(this.cache[i - this.cacheStart]!);
    return limitSize(out, maxBytes);
  }

  /**
   * Entries in [lo, hi) without blocking the calling thread on the disk: those in memory from
   * memory, older ones with the Wal's asynchronous reads. At least one entry when lo < hi, then as
   * many as fit in `maxBytes` of entry data (data only: `entries` also counts ENTRY_OVERHEAD_BYTES
   * per entry). Not part of the Storage contract (the Raft core reads synchronously); for readers
   * of a group's log that must not stall the event loop (Kafka fetches). The data of entries read
   * from disk are views of the buffers the Wal read them into (no copy): a reader that keeps one
   * for long keeps that buffer (up to 1 MiB) alive, and copies it instead.
   *
   * The answer is the log as of when the promise settles, never a mix of before and after:
   * - Compacted (RaftError) when lo is at or below the compaction point, checked at the call and
   *   again when the reads are done (a compaction that ran meanwhile);
   * - entries cut from the log while the read ran (a conflicting suffix replaced by a new leader's,
   *   a snapshot installed) are never returned: the answer ends before the first entry whose term
   *   is no longer the log's at its index (Raft's log matching: same index and term, same entry).
   *   When the entry at lo itself went, the read starts over (at most MAX_READ_ATTEMPTS times, then
   *   Unavailable); so does a read whose disk read failed while the log was being cut (the file
   *   under it changed), where the same failure on a log left alone is the storage's (a WalError:
   *   Corruption, Io);
   * - Unavailable when hi > lastIndex() + 1 at the call; InvariantViolated when lo > hi.
   */
  async readEntries(lo: number, hi: number, maxBytes: number): Promise<Entry[]> {
    this.checkRange('readEntries', lo, hi);
    for (let attempt = 1; ; attempt++) {
      // Read again after a cut, the log may end before hi: what is left of the range.
      const end = Math.min(hi, this.last + 1);
      if (lo <= this.dummyIndex)
        throw new RaftError(RaftErrorCode.Compacted, `readEntries(${lo}): compacted to ${this.dummyIndex}`);
      if (lo >= end) {
        if (lo === hi) return [];
        throw new RaftError(RaftErrorCode.Unavailable, `readEntries(${lo}): cut from the log while reading`);
      }
      const generation = this.generation;
      let got: Entry[];
      try {
        got = await this.readEntriesOnce(lo, end, maxBytes);
      } catch (e) {
        if (e instanceof WalError && e.code === WalErrorCode.Compacted)
          throw new RaftError(RaftErrorCode.Compacted, `readEntries(${lo}): ${e.message}`);
        // A read under a cut (a truncated or replaced file) fails on what was cut: read again.
        if (this.generation !== generation && attempt < MAX_READ_ATTEMPTS && !(e instanceof RaftError))
          continue;
        throw e;
      }
      if (lo <= this.dummyIndex)
        throw new RaftError(RaftErrorCode.Compacted, `readEntries(${lo}): compacted to ${this.dummyIndex}`);
      if (this.generation === generation) return got;
      const kept = this.stillInLog(got);
      if (kept.length > 0) return kept;
      if (attempt >= MAX_READ_ATTEMPTS)
        throw new RaftError(
          RaftErrorCode.Unavailable,
          `readEntries(${lo}): the log was cut under ${attempt} reads in a row`,
        );
    }
  }

  /** The prefix of `ents` (consecutive, from the log as it was) that is still in the log. */
  private stillInLog(ents: Entry[]): Entry[] {
    let n = 0;
    while (n < ents.length) {
      const e = ents[n]!;
      if (e.index <= this.dummyIndex || e.index > this.last || this.term(e.index) !== e.term) break;
      n++;
    }
    return n === ents.length ? ents : ents.slice(0, n);
  }

  /** One pass of readEntries: the range from disk and memory as they are at each step. */
  private async readEntriesOnce(lo: number, hi: number, maxBytes: number): Promise<Entry[]> {
    const out: Entry[] = [];
    let bytes = 0;
    let i = lo;
    while (i < hi) {
      if (i >= this.cacheStart) {
        // The rest is in memory (a cut meanwhile may have shortened the log: stillInLog decides).
        const end = Math.min(hi, this.last + 1);
        for (; i < end; i++) {
          const e = this.cache[i - this.cacheStart]!;
          if (out.length > 0 && bytes + e.data.length > maxBytes) return out;
          out.push(e);
          bytes += e.data.length;
        }
        return out;
      }
      const upTo = Math.min(hi, this.cacheStart);
      // The Wal's budget counts each record's entry header too: asked for the data budget plus the
      // headers of the range, it reads exactly a range whose data fits; the loop below trims.
      const walBudget = Math.min(
        Number.MAX_SAFE_INTEGER,
        Math.max(0, maxBytes - bytes) + ENTRY_HEADER_BYTES * (upTo - i),
      );
      // Views of the read buffers, not copies: the data is answered from them (decodeEntry views too).
      const recs = await this.wal.read(i, upTo, walBudget, { views: true });
      if (recs.length === 0)
        throw new RaftError(RaftErrorCode.Unavailable, `entry ${i} is not readable from the log`);
      for (const r of recs) {
        const e = decodeEntry(r.index, r.payload, this.dir);
        if (out.length > 0 && bytes + e.data.length > maxBytes) return out;
        out.push(e);
        bytes += e.data.length;
      }
      i += recs.length;
      if (i < upTo) return out; // the byte budget stopped the read
    }
    return out;
  }

  private checkRange(what: string, lo: number, hi: number): void {
    if (lo <= this.dummyIndex)
      throw new RaftError(RaftErrorCode.Compacted, `${what}(${lo}) below first index ${this.dummyIndex + 1}`);
    if (hi > this.last + 1)
      throw new RaftError(RaftErrorCode.Unavailable, `${what}(.., ${hi}) beyond last index ${this.last}`);
    if (lo > hi) throw new RaftError(RaftErrorCode.InvariantViolated, `${what}(${lo}, ${hi}): lo > hi`);
  }

  term(index: number): number {
    if (index < this.dummyIndex)
      throw new RaftError(RaftErrorCode.Compacted, `term(${index}) below ${this.dummyIndex}`);
    if (index > this.last)
      throw new RaftError(RaftErrorCode.Unavailable, `term(${index}) beyond last index ${this.last}`);
    if (index === this.dummyIndex) return this.dummyTerm;
    let lo = 0;
    let hi = this.runStart.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.runStart[mid]! <= index) lo = mid;
      else hi = mid - 1;
    }
    return this.runTerm[lo]!;
  }

  firstIndex(): number {
    return this.dummyIndex + 1;
  }

  lastIndex(): number {
    return this.last;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  // ---- writes (in memory at once, on disk in order, durable after sync()) -----------------

  /**
   * Appends entries, replacing every stored entry at or after entries[0].index (a conflicting
   * suffix is truncated durably before the new entries are written). Entries at or below the
   * snapshot/compaction point are ignored. Throws RaftError InvariantViolated on a gap.
   */
  append(entries: readonly Entry[]): void {
    this.checkWritable();
    if (entries.length === 0) return;
    const first = this.dummyIndex + 1;
    const lastNew = entries[entries.length - 1]!.index;
    if (lastNew < first) return;
    const ents = first > entries[0]!.index ? entries.slice(first - entries[0]!.index) : entries;
    const start = ents[0]!.index;
    if (start > this.last + 1) {
      throw new RaftError(
        RaftErrorCode.InvariantViolated,
        `append at ${start} leaves a gap after last index ${this.last}`,
      );
    }
    for (let k = 0; k < ents.length; k++) {
      const e = ents[k]!;
      if (e.index !== start + k)
        throw new RaftError(RaftErrorCode.InvariantViolated, `entries are not contiguous at ${e.index}`);
      if (e.data.length > this.maxEntryBytes) {
        throw new WalError(
          WalErrorCode.RecordTooLarge,
          `entry ${e.index} of ${e.data.length} bytes exceeds maxEntryBytes ${this.maxEntryBytes}`,
        );
      }
    }
    const runsBefore = this.runStart.length;
    const cut = start <= this.last;
    if (cut) {
      this.cutAfter(start - 1);
      const after = start - 1;
      this.enqueue(() => this.wal.truncateSuffix(after));
    }
    for (const e of ents) this.pushEntry(e);
    // A run begun or cut: the state slot records the runs in the same sync as these entries.
    if (cut || this.runStart.length !== runsBefore) this.stateDirty = true;
    const records = ents.map((e) => ({ payload: encodeEntry(e), type: ENTRY_RECORD_TYPE }));
    const gen = this.generation;
    const lastIdx = ents[ents.length - 1]!.index;
    const bytes = records.reduce((n, r) => n + r.payload.length + 64, 0);
    this.enqueue(async () => {
      // Back-pressure instead of Overloaded: let earlier writes land before queuing more than the
      // Wal's pending-bytes limit (the entries stay readable from memory meanwhile).
      if (
        this.wal.pendingWriteBytes() > 0 &&
        this.wal.pendingWriteBytes() + bytes > this.wal.pendingWriteLimit()
      ) {
        await this.wal.whenWritten();
      }
      if (this.wal.lastIndex() + 1 !== start) {
        throw new WalError(
          WalErrorCode.InvalidArgument,
          `log at ${this.wal.lastIndex()} cannot take entry ${start}`,
        );
      }
      // Not awaited: the Wal keeps the order, sync() waits for the write.
      const p = this.wal.append(records).then(() => {
        if (gen === this.generation && lastIdx > this.writtenUpTo) {
          this.writtenUpTo = lastIdx;
          this.evict();
        }
      });
      p.catch((e: unknown) => this.setFailure(e));
    });
    this.evict();
  }

  /** Records the hard state; durable after the next sync(). */
  setHardState(hs: HardState): void {
    this.checkWritable();
    this.hardState = { term: hs.term, vote: hs.vote, commit: hs.commit };
    this.stateDirty = true;
  }

  /**
   * Records a snapshot of the application state as of `index` (not compacting). The snapshot file
   * is written atomically and the state points at it; durable after sync().
   */
  createSnapshot(index: number, confState: ConfState | undefined, data: Uint8Array): Snapshot {
    this.checkWritable();
    if (index <= this.snap.metadata.index) {
      throw new RaftError(
        RaftErrorCode.SnapshotOutOfDate,
        `snapshot at ${index} is not newer than ${this.snap.metadata.index}`,
      );
    }
    if (index > this.last)
      throw new RaftError(RaftErrorCode.Unavailable, `snapshot at ${index} beyond last index ${this.last}`);
    if (index < this.dummyIndex)
      throw new RaftError(
        RaftErrorCode.Compacted,
        `snapshot at ${index} below compacted index ${this.dummyIndex}`,
      );
    if (data.length > this.maxSnapshotBytes)
      throw new WalError(
        WalErrorCode.RecordTooLarge,
        `snapshot of ${data.length} bytes exceeds maxSnapshotBytes`,
      );
    const snap: Snapshot = {
      metadata: { index, term: this.term(index), confState: confState ?? this.snap.metadata.confState },
      data,
    };
    this.snap = snap;
    this.enqueue(async () => {
      await writeSnapshotFile(this.fs, this.dir, snap);
      this.queuedSnap = snap.metadata;
      await this.writeState();
      await removeStaleSnapshots(this.fs, this.dir, snap.metadata.index, snap.metadata.term);
    });
    return snap;
  }

  /**
   * Replaces the whole log with `snap` (a follower installing the leader's snapshot). The snapshot
   * file and state are durable before the log is reset; all of it durable after sync().
   */
  applySnapshot(snap: Snapshot): void {
    this.checkWritable();
    const cur = this.snap.metadata.index;
    if (snap.metadata.index <= cur) {
      throw new RaftError(
        RaftErrorCode.SnapshotOutOfDate,
        `snapshot at ${snap.metadata.index} is not newer than ${cur}`,
      );
    }
    if (snap.data.length > this.maxSnapshotBytes)
      throw new WalError(
        WalErrorCode.RecordTooLarge,
        `snapshot of ${snap.data.length} bytes exceeds maxSnapshotBytes`,
      );
    this.snap = snap;
    this.generation++;
    this.dummyIndex = snap.metadata.index;
    this.dummyTerm = snap.metadata.term;
    this.last = snap.metadata.index;
    this.runStart = [];
    this.runTerm = [];
    this.cache = [];
    this.cacheBytes = 0;
    this.cacheStart = this.last + 1;
    this.writtenUpTo = this.last;
    const next = snap.metadata.index + 1;
    this.enqueue(async () => {
      await writeSnapshotFile(this.fs, this.dir, snap);
      this.queuedSnap = snap.metadata;
      this.queuedCompact = { index: snap.metadata.index, term: snap.metadata.term };
      await this.writeState();
      await this.wal.reset(next);
      await removeStaleSnapshots(this.fs, this.dir, snap.metadata.index, snap.metadata.term);
    });
  }

  /**
   * Discards entries up to and including `compactIndex`; term(compactIndex) stays available.
   * The new first index is durable before whole Wal segments below it are deleted.
   */
  compact(compactIndex: number): void {
    this.checkWritable();
    if (compactIndex <= this.dummyIndex)
      throw new RaftError(RaftErrorCode.Compacted, `compact(${compactIndex}) at or below ${this.dummyIndex}`);
    if (compactIndex > this.last)
      throw new RaftError(
        RaftErrorCode.Unavailable,
        `compact(${compactIndex}) beyond last index ${this.last}`,
      );
    const term = this.term(compactIndex);
    this.dummyIndex = compactIndex;
    this.dummyTerm = term;
    while (this.runStart.length > 1 && this.runStart[1]! <= compactIndex + 1) {
      this.runStart.shift();
      this.runTerm.shift();
    }
    if (this.runStart.length > 0 && this.runStart[0]! < compactIndex + 1) this.runStart[0] = compactIndex + 1;
    if (this.last === compactIndex) {
      this.runStart = [];
      this.runTerm = [];
    }
    if (this.cacheStart <= compactIndex) {
      const drop = Math.min(this.cache.length, compactIndex + 1 - this.cacheStart);
      for (let k = 0; k < drop; k++) this.cacheBytes -= this.cache[k]!.data.length;
      this.cache = this.cache.slice(drop);
      this.cacheStart = compactIndex + 1;
    }
    this.enqueue(async () => {
      this.queuedCompact = { index: compactIndex, term };
      await this.writeState();
      await this.wal.truncatePrefix(compactIndex + 1);
    });
  }

  /**
   * Resolves when every write so far (entries, truncations, hard state, snapshots, compactions)
   * is durable. The host awaits it before sending the messages of a Ready.
   */
  sync(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const p = this.enqueueAndWait(async () => {
      // Write the state slot while the log's writes finish, then ask for both fsyncs at once so
      // they share one group-commit cycle.
      const dirty = this.stateDirty;
      await Promise.all([this.wal.whenWritten(), dirty ? this.writeStateSlot() : Promise.resolve()]);
      await Promise.all([this.wal.sync(), dirty ? this.stateFile.makeDurable() : Promise.resolve()]);
    });
    return p.then(() => {
      if (this.failure) throw this.failure;
    });
  }

  /** Waits for pending writes (not syncing), then closes the files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.chain.catch(() => {});
    await this.wal.close();
    await this.stateFile.close();
    if (this.ownCommitter) this.committer.close();
  }

  /** Bytes of entry data held in memory (bounded by maxCacheBytes plus entries not yet written). */
  cachedBytes(): number {
    return this.cacheBytes;
  }

  // ---- internals -------------------------------------------------------------------------

  private checkWritable(): void {
    if (this.closed) throw new WalError(WalErrorCode.Closed, `raft storage ${this.dir} is closed`);
    if (this.failure) throw this.failure;
  }

  private setFailure(e: unknown): void {
    if (this.failure) return;
    this.failure = e instanceof Error ? e : new WalError(WalErrorCode.Io, String(e));
    this.logger.error('raft storage failed', { dir: this.dir, error: String(e) });
  }

  private enqueue(op: () => Promise<void>): void {
    void this.enqueueAndWait(op).catch(() => {});
  }

  private enqueueAndWait(op: () => Promise<void>): Promise<void> {
    const p = this.chain.then(() => (this.failure ? Promise.reject(this.failure) : op()));
    this.chain = p.catch((e: unknown) => this.setFailure(e));
    return p;
  }

  private async writeState(): Promise<void> {
    await this.writeStateSlot();
    await this.stateFile.makeDurable();
  }

  private async writeStateSlot(): Promise<void> {
    this.stateDirty = false;
    await this.stateFile.writeSlot({
      hardState: this.hardState,
      snapIndex: this.queuedSnap.index,
      snapTerm: this.queuedSnap.term,
      confState: this.queuedSnap.confState,
      compactIndex: this.queuedCompact.index,
      compactTerm: this.queuedCompact.term,
      runs: this.runStart.flatMap((start, k) => [start, this.runTerm[k]!]),
    });
  }

  private pushEntry(e: Entry): void {
    if (this.runTerm.length === 0 || this.runTerm[this.runTerm.length - 1] !== e.term) {
      this.runStart.push(e.index);
      this.runTerm.push(e.term);
    }
    this.cache.push(e);
    this.cacheBytes += e.data.length;
    this.last = e.index;
  }

  /** Drops every entry after `index` from memory. */
  private cutAfter(index: number): void {
    this.generation++;
    while (this.runStart.length > 0 && this.runStart[this.runStart.length - 1]! > index) {
      this.runStart.pop();
      this.runTerm.pop();
    }
    if (index < this.cacheStart - 1) {
      // Entries that were only on disk are cut too: the cache restarts after `index`.
      for (const e of this.cache) this.cacheBytes -= e.data.length;
      this.cache = [];
      this.cacheStart = index + 1;
    } else {
      const keep = index - this.cacheStart + 1;
      for (let k = keep; k < this.cache.length; k++) this.cacheBytes -= this.cache[k]!.data.length;
      this.cache.length = keep;
    }
    this.last = index;
    this.writtenUpTo = Math.min(this.writtenUpTo, index);
  }

  /**
   * Takes the log's terms from the runs the state slot recorded instead of reading every entry,
   * when the log agrees with them: the runs are clipped to (dummyIndex, last], and the entries at
   * each run's start and just before it, and the last one, have the terms the runs say. Terms never
   * decrease along a log, so those checks leave no room for a difference in between. Nothing is
   * cached: entries are read from the log when asked. False (nothing changed): read the log.
   */
  private recoverRecordedRuns(last: number): boolean {
    const flat = this.recordedRuns;
    const d = this.dummyIndex;
    if (flat === undefined || last <= d) return false;
    const starts: number[] = [];
    const terms: number[] = [];
    for (let k = 0; k < flat.length; k += 2) {
      const start = flat[k]!;
      const term = flat[k + 1]!;
      if (start > last) break;
      if (start <= d + 1) {
        // A run beginning at or before the first entry: it begins there.
        starts.length = 0;
        terms.length = 0;
        starts.push(d + 1);
      } else starts.push(start);
      terms.push(term);
    }
    if (starts.length === 0 || starts[0] !== d + 1) return false;
    const termAt = (i: number): number | undefined => {
      try {
        const r = this.wal.readSync(i, i + 1, 1)[0];
        return r === undefined ? undefined : decodeEntry(r.index, r.payload, this.dir).term;
      } catch {
        return undefined;
      }
    };
    for (let k = 0; k < starts.length; k++) {
      if (termAt(starts[k]!) !== terms[k]) return false;
      if (k > 0 && termAt(starts[k]! - 1) !== terms[k - 1]) return false;
    }
    if (termAt(last) !== terms[terms.length - 1]) return false;
    this.runStart = starts;
    this.runTerm = terms;
    this.last = last;
    this.cache = [];
    this.cacheBytes = 0;
    this.cacheStart = last + 1;
    return true;
  }

  /** Evicts the oldest cached entries that are already readable from the Wal. */
  private evict(): void {
    let drop = 0;
    while (
      this.cacheBytes > this.maxCacheBytes &&
      drop < this.cache.length &&
      this.cacheStart + drop <= this.writtenUpTo
    ) {
      this.cacheBytes -= this.cache[drop]!.data.length;
      drop++;
    }
    if (drop > 0) {
      this.cache = this.cache.slice(drop);
      this.cacheStart += drop;
    }
  }
}

async function writeSnapshotFile(fsys: FileSystem, dir: string, snap: Snapshot): Promise<void> {
  const meta = Buffer.from(JSON.stringify(snap.metadata.confState), 'utf8');
  const h = Buffer.alloc(SNAP_HEADER_BYTES);
  SNAP_MAGIC.copy(h, 0);
  h.writeUInt32LE(1, 8);
  writeU64(h, snap.metadata.index, 16);
  writeU64(h, snap.metadata.term, 24);
  h.writeUInt32LE(meta.length, 32);
  writeU64(h, snap.data.length, 36);
  h.writeUInt32LE(crc32c(Buffer.concat([meta, snap.data])), 44);
  h.writeUInt32LE(crc32c(h.subarray(0, 52)), 52);
  const name = snapshotFileName(snap.metadata.index, snap.metadata.term);
  const p = path.join(dir, name);
  const tmp = `${p}.tmp`;
  const f = await fsys.open(tmp, 'w');
  try {
    await f.write(h, 0);
    await f.write(meta, SNAP_HEADER_BYTES);
    await f.write(snap.data, SNAP_HEADER_BYTES + meta.length);
    await f.datasync();
  } finally {
    await f.close();
  }
  await fsys.rename(tmp, p);
  await fsys.fsyncDir(dir);
}

async function readSnapshotFile(
  fsys: FileSystem,
  dir: string,
  st: PersistedState,
  maxBytes: number,
): Promise<Uint8Array> {
  const p = path.join(dir, snapshotFileName(st.snapIndex, st.snapTerm));
  const bad = (what: string): WalError =>
    new WalError(WalErrorCode.Corruption, `snapshot file ${p}: ${what}`, { file: p, position: 0 });
  const size = (await fsys.stat(p))?.size;
  if (size === undefined) throw bad('missing');
  const f = await fsys.open(p, 'r');
  try {
    const h = Buffer.alloc(SNAP_HEADER_BYTES);
    if ((await f.read(h, 0, SNAP_HEADER_BYTES, 0)) !== SNAP_HEADER_BYTES) throw bad('short header');
    if (!h.subarray(0, 8).equals(SNAP_MAGIC) || h.readUInt32LE(52) !== crc32c(h.subarray(0, 52)))
      throw bad('bad header');
    const metaLen = h.readUInt32LE(32);
    const dataLen = readU64(h, 36);
    if (readU64(h, 16) !== st.snapIndex || readU64(h, 24) !== st.snapTerm)
      throw bad('index/term do not match the state');
    if (dataLen < 0 || dataLen > maxBytes || SNAP_HEADER_BYTES + metaLen + dataLen !== size)
      throw bad('bad length');
    const body = Buffer.alloc(metaLen + dataLen);
    if ((await f.read(body, 0, body.length, SNAP_HEADER_BYTES)) !== body.length) throw bad('short body');
    if (crc32c(body) !== h.readUInt32LE(44)) throw bad('CRC mismatch');
    return new Uint8Array(body.subarray(metaLen));
  } finally {
    await f.close();
  }
}

async function removeStaleSnapshots(
  fsys: FileSystem,
  dir: string,
  index: number,
  term: number,
): Promise<void> {
  const keep = snapshotFileName(index, term);
  for (const name of await fsys.readdir(dir)) {
    if (
      (SNAP_NAME.test(name) && name !== keep) ||
      (name.startsWith('snapshot-') && name.endsWith('.tmp')) ||
      name === 'state.tmp'
    ) {
      await fsys.unlink(path.join(dir, name)).catch(() => {});
    }
  }
}
