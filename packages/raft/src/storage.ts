import { RaftError, RaftErrorCode } from './errors.js';
import { EntryType, emptyConfState, emptyHardState } from './types.js';
import type { ConfState, Entry, HardState, Snapshot } from './types.js';

/**
 * What the Raft core reads from its log storage. Read-only from the core's view: the caller
 * appends entries, sets the hard state and applies snapshots after handling a Ready, in the
 * order the Ready contract prescribes. Every method is synchronous; an implementation backed by
 * disk keeps what it needs in memory or reads with synchronous I/O.
 *
 * Invariant: firstIndex() - 1 <= lastIndex(); the entry at firstIndex() - 1 is the last one
 * covered by the latest snapshot (or the dummy entry at index 0), and its term stays available.
 */
export interface Storage {
  /** The persisted hard state and the configuration as of the last applied snapshot/conf change. */
  initialState(): { hardState: HardState; confState: ConfState };

  /**
   * Entries in [lo, hi), lo >= firstIndex(), hi <= lastIndex() + 1. Returns at least one entry
   * when lo < hi even if it alone exceeds maxBytes, then stops before the total size (sum of
   * data lengths plus a fixed per-entry overhead) would exceed maxBytes.
   * Throws RaftError Compacted if lo < firstIndex(), Unavailable if hi > lastIndex() + 1.
   */
  entries(lo: number, hi: number, maxBytes: number): Entry[];

  /**
   * The term of the entry at `index`, for firstIndex() - 1 <= index <= lastIndex().
   * Throws RaftError Compacted below that range and Unavailable above it.
   */
  term(index: number): number;

  /** The index of the first entry still available (one past the snapshot's index). */
  firstIndex(): number;

  /** The index of the last entry in the log (the snapshot's index when the log is empty). */
  lastIndex(): number;

  /**
   * The most recent snapshot. Throws RaftError SnapshotTemporarilyUnavailable when one is being
   * built; the core retries later.
   */
  snapshot(): Snapshot;
}

/**
 * What the storage conformance suite drives: the read-only Storage plus the write methods a
 * caller needs to handle a Ready (MemoryStorage has exactly these).
 */
export interface StorageUnderTest extends Storage {
  /**
   * Appends entries, replacing every stored entry at or after entries[0].index. Entries at or below
   * the snapshot index are ignored. Throws RaftError InvariantViolated if entries[0].index > lastIndex() + 1 (a gap).
   */
  append(entries: readonly Entry[]): void;
  setHardState(hs: HardState): void;
  /** Replaces the whole log with the snapshot. Throws SnapshotOutOfDate if not newer than the current one. */
  applySnapshot(snap: Snapshot): void;
  /**
   * Records a snapshot of the application state as of `index` (firstIndex() - 1 < index <= lastIndex()),
   * without compacting. Throws SnapshotOutOfDate at or below the current snapshot, Unavailable beyond lastIndex().
   */
  createSnapshot(index: number, confState: ConfState | undefined, data: Uint8Array): Snapshot;
  /**
   * Discards the entries up to and including `compactIndex` (normally a snapshot's index); afterwards
   * firstIndex() === compactIndex + 1 and term(compactIndex) stays available. Throws Compacted if
   * compactIndex <= firstIndex() - 1, Unavailable if compactIndex > lastIndex().
   */
  compact(compactIndex: number): void;
}

/** Bytes one entry counts for in byte budgets: its data plus a fixed overhead for index, term and type. */
export const ENTRY_OVERHEAD_BYTES = 16;

export function entrySizeBytes(e: Entry): number {
  return e.data.byteLength + ENTRY_OVERHEAD_BYTES;
}

/** Returns the longest prefix of `ents` (at least one entry) whose total size is within maxBytes. */
export function limitSize<T extends Entry>(ents: T[], maxBytes: number): T[] {
  if (ents.length === 0) return ents;
  let size = entrySizeBytes(ents[0] as T);
  let n = 1;
  for (; n < ents.length; n++) {
    size += entrySizeBytes(ents[n] as T);
    if (size > maxBytes) break;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}

/**
 * The in-memory Storage: the reference implementation and the one tests use.
 * ents[0] is a dummy entry holding the snapshot's index and term, so term(firstIndex() - 1) is always available.
 * Invariant: ents[k].index === ents[0].index + k for every k.
 */
export class MemoryStorage implements StorageUnderTest {
  private hardState: HardState = emptyHardState;
  private snap: Snapshot;
  private ents: Entry[];

  /**
   * Without options: an empty log (a node that joins an existing group; the leader sends it a snapshot).
   * With `confState`: bootstraps a founding member of a new group. The configuration is recorded as a
   * snapshot at index 1, term 1 with empty data (the state machine's initial, empty state), so every
   * founding member starts with the same committed log prefix, and a node joining later (empty log) is
   * caught up with that snapshot and then learns every later membership change from the log.
   */
  constructor(options: { confState?: ConfState } = {}) {
    const confState = options.confState;
    if (confState === undefined) {
      this.snap = { metadata: { index: 0, term: 0, confState: emptyConfState() }, data: new Uint8Array(0) };
      this.ents = [{ term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) }];
    } else {
      this.snap = { metadata: { index: 1, term: 1, confState }, data: new Uint8Array(0) };
      this.ents = [{ term: 1, index: 1, type: EntryType.Normal, data: new Uint8Array(0) }];
    }
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hardState, confState: this.snap.metadata.confState };
  }

  setHardState(hs: HardState): void {
    this.hardState = { term: hs.term, vote: hs.vote, commit: hs.commit };
  }

  private offset(): number {
    return (this.ents[0] as Entry).index;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const offset = this.offset();
    if (lo <= offset)
      throw new RaftError(RaftErrorCode.Compacted, `entries(${lo}) below first index ${offset + 1}`);
    if (hi > this.lastIndex() + 1)
      throw new RaftError(
        RaftErrorCode.Unavailable,
        `entries(.., ${hi}) beyond last index ${this.lastIndex()}`,
      );
    if (lo > hi) throw new RaftError(RaftErrorCode.InvariantViolated, `entries(${lo}, ${hi}): lo > hi`);
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxBytes);
  }

  term(index: number): number {
    const offset = this.offset();
    if (index < offset)
      throw new RaftError(RaftErrorCode.Compacted, `term(${index}) below snapshot index ${offset}`);
    const e = this.ents[index - offset];
    if (e === undefined)
      throw new RaftError(RaftErrorCode.Unavailable, `term(${index}) beyond last index ${this.lastIndex()}`);
    return e.term;
  }

  firstIndex(): number {
    return this.offset() + 1;
  }

  lastIndex(): number {
    return this.offset() + this.ents.length - 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  applySnapshot(snap: Snapshot): void {
    const cur = this.snap.metadata.index;
    if (snap.metadata.index <= cur) {
      throw new RaftError(
        RaftErrorCode.SnapshotOutOfDate,
        `snapshot at ${snap.metadata.index} is not newer than ${cur}`,
      );
    }
    this.snap = snap;
    this.ents = [
      {
        term: snap.metadata.term,
        index: snap.metadata.index,
        type: EntryType.Normal,
        data: new Uint8Array(0),
      },
    ];
  }

  createSnapshot(index: number, confState: ConfState | undefined, data: Uint8Array): Snapshot {
    if (index <= this.snap.metadata.index) {
      throw new RaftError(
        RaftErrorCode.SnapshotOutOfDate,
        `snapshot at ${index} is not newer than ${this.snap.metadata.index}`,
      );
    }
    if (index > this.lastIndex())
      throw new RaftError(
        RaftErrorCode.Unavailable,
        `snapshot at ${index} beyond last index ${this.lastIndex()}`,
      );
    const offset = this.offset();
    if (index < offset)
      throw new RaftError(RaftErrorCode.Compacted, `snapshot at ${index} below compacted index ${offset}`);
    const term = (this.ents[index - offset] as Entry).term;
    this.snap = { metadata: { index, term, confState: confState ?? this.snap.metadata.confState }, data };
    return this.snap;
  }

  compact(compactIndex: number): void {
    const offset = this.offset();
    if (compactIndex <= offset)
      throw new RaftError(RaftErrorCode.Compacted, `compact(${compactIndex}) at or below ${offset}`);
    if (compactIndex > this.lastIndex())
      throw new RaftError(
        RaftErrorCode.Unavailable,
        `compact(${compactIndex}) beyond last index ${this.lastIndex()}`,
      );
    const i = compactIndex - offset;
    const head = this.ents[i] as Entry;
    const rest = this.ents.slice(i + 1);
    rest.unshift({ term: head.term, index: head.index, type: EntryType.Normal, data: new Uint8Array(0) });
    this.ents = rest;
  }

  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const lastNew = (entries[entries.length - 1] as Entry).index;
    if (lastNew < first) return;
    let ents = entries;
    if (first > (entries[0] as Entry).index) ents = entries.slice(first - (entries[0] as Entry).index);
    const start = (ents[0] as Entry).index;
    const offset = this.offset();
    if (start > this.lastIndex() + 1) {
      throw new RaftError(
        RaftErrorCode.InvariantViolated,
        `append at ${start} leaves a gap after last index ${this.lastIndex()}`,
      );
    }
    if (start !== this.lastIndex() + 1) this.ents.length = start - offset; // truncate the conflicting suffix
    for (const e of ents) this.ents.push(e);
  }
}
