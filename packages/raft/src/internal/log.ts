// The Raft log as the core sees it: stable entries in Storage followed by unstable entries that
// the caller has not persisted yet (handed out in Ready.entries).
import { RaftError, RaftErrorCode, isRaftError } from '../errors.js';
import { limitSize } from '../storage.js';
import type { Storage } from '../storage.js';
import type { Entry, Logger, Snapshot } from '../types.js';

/**
 * Entries and an incoming snapshot not yet persisted.
 * Invariant: entries[k].index === offset + k; if snapshot != null then offset === snapshot.index + 1.
 */
export class Unstable {
  snapshot: Snapshot | null = null;
  entries: Entry[] = [];
  offset: number;

  constructor(offset: number) {
    this.offset = offset;
  }

  maybeFirstIndex(): number {
    return this.snapshot === null ? 0 : this.snapshot.metadata.index + 1;
  }

  /** The last index held here, or 0 if neither entries nor snapshot. */
  maybeLastIndex(): number {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    if (this.snapshot !== null) return this.snapshot.metadata.index;
    return 0;
  }

  /** The term of index if held here, or -1. */
  maybeTerm(i: number): number {
    if (i < this.offset) {
      if (this.snapshot !== null && this.snapshot.metadata.index === i) return this.snapshot.metadata.term;
      return -1;
    }
    const e = this.entries[i - this.offset];
    return e === undefined ? -1 : e.term;
  }

  /** The caller persisted entries up to (index, term): drop them unless they were replaced meanwhile. */
  stableTo(index: number, term: number): void {
    const t = this.maybeTerm(index);
    if (t === -1 || index < this.offset) return;
    if (t !== term) return;
    const n = index + 1 - this.offset;
    this.entries = n >= this.entries.length ? [] : this.entries.slice(n);
    this.offset = index + 1;
  }

  stableSnapTo(index: number): void {
    if (this.snapshot !== null && this.snapshot.metadata.index === index) this.snapshot = null;
  }

  restore(s: Snapshot): void {
    this.offset = s.metadata.index + 1;
    this.entries = [];
    this.snapshot = s;
  }

  truncateAndAppend(ents: readonly Entry[]): void {
    const first = (ents[0] as Entry).index;
    const after = first - 1;
    if (after === this.offset + this.entries.length - 1) {
      for (const e of ents) this.entries.push(e);
    } else if (after < this.offset) {
      // Replace everything unstable: the new entries start at or before our first one.
      this.offset = first;
      this.entries = ents.slice();
    } else {
      const kept = this.entries.slice(0, after + 1 - this.offset);
      for (const e of ents) kept.push(e);
      this.entries = kept;
    }
  }

  slice(lo: number, hi: number): Entry[] {
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}

/**
 * Invariants (asserted by assertInvariants): applied <= committed <= lastIndex();
 * firstIndex() - 1 <= applied; unstable.offset <= storage.lastIndex() + 1.
 */
export class RaftLog {
  readonly storage: Storage;
  readonly unstable: Unstable;
  /** The highest index known to be committed on a quorum. */
  committed: number;
  /** The highest index handed to the application in Ready.committedEntries (applied <= applying <= committed). */
  applying: number;
  /** The highest index the application has applied (acknowledged through advance()). */
  applied: number;
  readonly maxApplyingEntsBytes: number;
  private readonly logger: Logger;

  constructor(storage: Storage, logger: Logger, maxApplyingEntsBytes: number) {
    this.storage = storage;
    this.logger = logger;
    this.maxApplyingEntsBytes = maxApplyingEntsBytes;
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    this.committed = first - 1;
    this.applying = first - 1;
    this.applied = first - 1;
  }

  firstIndex(): number {
    const i = this.unstable.maybeFirstIndex();
    return i !== 0 ? i : this.storage.firstIndex();
  }

  lastIndex(): number {
    const i = this.unstable.maybeLastIndex();
    return i !== 0 ? i : this.storage.lastIndex();
  }

  lastTerm(): number {
    return this.termOrZero(this.lastIndex());
  }

  /**
   * The term of the entry at i, or 0 if i is outside [firstIndex() - 1, lastIndex()] or was compacted
   * meanwhile. Throws only for storage failures other than Compacted/Unavailable.
   */
  termOrZero(i: number): number {
    const u = this.unstable.maybeTerm(i);
    if (u !== -1) return u;
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return 0;
    try {
      return this.storage.term(i);
    } catch (e) {
      if (isRaftError(e, RaftErrorCode.Compacted) || isRaftError(e, RaftErrorCode.Unavailable)) return 0;
      throw e;
    }
  }

  /** Throws RaftError Compacted/Unavailable when i is outside the log. */
  term(i: number): number {
    const u = this.unstable.maybeTerm(i);
    if (u !== -1) return u;
    if (i < this.firstIndex() - 1) throw new RaftError(RaftErrorCode.Compacted, `term(${i}) compacted`);
    if (i > this.lastIndex()) throw new RaftError(RaftErrorCode.Unavailable, `term(${i}) beyond last index`);
    return this.storage.term(i);
  }

  matchTerm(i: number, t: number): boolean {
    const u = this.unstable.maybeTerm(i);
    if (u !== -1) return u === t;
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return false;
    try {
      return this.storage.term(i) === t;
    } catch (e) {
      if (isRaftError(e, RaftErrorCode.Compacted) || isRaftError(e, RaftErrorCode.Unavailable)) return false;
      throw e;
    }
  }

  /**
   * Appends entries received from the leader after (index, logTerm), truncating conflicting entries.
   * Returns the last index of the new entries, or -1 if (index, logTerm) does not match our log.
   * Never truncates committed entries (that would be a safety violation: it throws).
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: readonly Entry[]): number {
    if (!this.matchTerm(index, logTerm)) return -1;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      if (ci <= this.committed) {
        throw new RaftError(
          RaftErrorCode.InvariantViolated,
          `entry ${ci} conflicts with committed entry (committed ${this.committed})`,
        );
      }
      this.append(ents.slice(ci - index - 1));
    }
    // Only what this message proves: our log matches the leader's up to lastNew, not beyond (Figure 2, rule 5).
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  /** Appends entries following lastIndex() (or truncating the unstable tail); returns the new last index. */
  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = (ents[0] as Entry).index - 1;
    if (after < this.committed) {
      throw new RaftError(
        RaftErrorCode.InvariantViolated,
        `append after ${after} is below committed ${this.committed}`,
      );
    }
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /**
   * The index of the first entry whose term differs from ours, or of the first new entry if all
   * existing ones match; 0 if every entry is already present with the same term.
   */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) {
        if (e.index <= this.lastIndex()) {
          this.logger.debug('found conflict', {
            index: e.index,
            term: e.term,
            existingTerm: this.termOrZero(e.index),
          });
        }
        return e.index;
      }
    }
    return 0;
  }

  /**
   * The largest index <= index whose term is <= term (or firstIndex() - 1 at the bottom): where a
   * leader probing with (index, term) can next try. Walks back over at most one term's worth of entries.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    const floor = this.firstIndex() - 1;
    let i = Math.min(index, this.lastIndex());
    for (; i >= floor; i--) {
      const t = this.termOrZero(i);
      if (t <= term || i === floor) return { index: i, term: t };
    }
    return { index: floor, term: 0 };
  }

  unstableEntries(): readonly Entry[] {
    return this.unstable.entries;
  }

  hasNextCommittedEnts(): boolean {
    if (this.unstable.snapshot !== null) return false; // apply the snapshot first
    if (this.committed <= this.applying) return false; // the common, idle case: no storage call
    return this.committed > Math.max(this.applying, this.firstIndex() - 1);
  }

  /** Committed entries not yet handed out, up to maxApplyingEntsBytes. */
  nextCommittedEnts(): Entry[] {
    if (!this.hasNextCommittedEnts()) return [];
    const lo = Math.max(this.applying, this.firstIndex() - 1) + 1;
    return this.slice(lo, this.committed + 1, this.maxApplyingEntsBytes);
  }

  snapshot(): Snapshot {
    if (this.unstable.snapshot !== null) return this.unstable.snapshot;
    return this.storage.snapshot();
  }

  commitTo(tocommit: number): void {
    if (tocommit <= this.committed) return;
    if (tocommit > this.lastIndex()) {
      throw new RaftError(
        RaftErrorCode.InvariantViolated,
        `commit ${tocommit} beyond last index ${this.lastIndex()}: the log is corrupt, truncated or lost`,
      );
    }
    this.committed = tocommit;
  }

  acceptApplying(i: number): void {
    if (i > this.applying) this.applying = i;
  }

  appliedTo(i: number): void {
    if (i === 0) return;
    if (i > this.committed || i < this.applied) {
      throw new RaftError(
        RaftErrorCode.InvariantViolated,
        `applied ${i} outside [${this.applied}, ${this.committed}]`,
      );
    }
    this.applied = i;
    if (this.applying < i) this.applying = i;
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index);
  }

  /** Is a log ending at (lasti, term) at least as up-to-date as ours (section 5.4.1)? */
  isUpToDate(lasti: number, term: number): boolean {
    const ourTerm = this.lastTerm();
    return term > ourTerm || (term === ourTerm && lasti >= this.lastIndex());
  }

  /** Commits up to maxIndex if that entry is from `term` (the leader's current term: Figure 8 / section 5.4.2). */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.termOrZero(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  restore(s: Snapshot): void {
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  /** Entries in [lo, hi) across storage and unstable, within maxBytes (at least one). */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo === hi) return [];
    const first = this.firstIndex();
    if (lo < first) throw new RaftError(RaftErrorCode.Compacted, `slice(${lo}) below first index ${first}`);
    if (hi > this.lastIndex() + 1)
      throw new RaftError(
        RaftErrorCode.Unavailable,
        `slice(.., ${hi}) beyond last index ${this.lastIndex()}`,
      );
    const uOff = this.unstable.offset;
    let ents: Entry[] = [];
    if (lo < uOff) {
      const stored = this.storage.entries(lo, Math.min(hi, uOff), maxBytes);
      // Storage applied the budget already; stop if it ran out there or nothing unstable is wanted.
      if (stored.length < Math.min(hi, uOff) - lo || hi <= uOff) return stored;
      ents = stored;
    }
    if (hi > uOff) {
      const u = this.unstable.slice(Math.max(lo, uOff), hi);
      ents = ents.length > 0 ? ents.concat(u) : u;
    }
    return limitSize(ents, maxBytes);
  }

  /** Entries from i to the end within maxBytes, for MsgApp. */
  entriesFrom(i: number, maxBytes: number): Entry[] {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, maxBytes);
  }

  assertInvariants(): void {
    if (!(this.applied <= this.committed && this.committed <= this.lastIndex())) {
      throw new RaftError(
        RaftErrorCode.InvariantViolated,
        `log invariant broken: applied ${this.applied} <= committed ${this.committed} <= lastIndex ${this.lastIndex()}`,
      );
    }
  }
}
