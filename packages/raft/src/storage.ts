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
