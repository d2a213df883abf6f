// The in-memory internal-topic log both coordinators' tests use (InMemoryTxnLog, InMemoryOffsetLog):
// entries with offsets per partition, truncation, and the failure and delay injection their tests
// need (`failNext`, `hold`/`release`). Each subclass says what an entry is and what its coordinator's
// default failure is.

/**
 * Per-partition entries in offset order. `failNext` makes the next append reject; while held
 * (`hold`) appends wait, in order, until `release`.
 */
export abstract class InMemoryInternalLog<E extends { readonly offset: bigint }, F extends Error> {
  private readonly logs = new Map<number, E[]>();
  private readonly nextOffsets = new Map<number, bigint>();
  /** Appends resolved so far. */
  appendCount = 0;
  private readonly failures: F[] = [];
  private held: Array<() => void> | undefined;

  /** The failure `failNext()` injects when given none. */
  protected abstract defaultFailure(): F;

  /**
   * Appends what `entries(base)` returns (one per record, offsets from `base`) as one append:
   * rejected when a failure is queued, delayed while held.
   */
  protected appendEntries(partition: number, entries: (base: bigint) => readonly E[]): Promise<bigint> {
    const failure = this.failures.shift();
    if (failure !== undefined) return Promise.reject(failure);
    const write = (): bigint => {
      const base = this.nextOffset(partition);
      for (const e of entries(base)) this.push(partition, e);
      this.appendCount++;
      return base;
    };
    if (this.held !== undefined) {
      const held = this.held;
      return new Promise((resolve) => held.push(() => resolve(write())));
    }
    return Promise.resolve(write());
  }

  /** The offset the next entry of `partition` gets. */
  protected nextOffset(partition: number): bigint {
    return this.nextOffsets.get(partition) ?? 0n;
  }

  /** Adds `entry` at its offset, bypassing failures and holds. */
  protected push(partition: number, entry: E): void {
    let log = this.logs.get(partition);
    if (log === undefined) {
      log = [];
      this.logs.set(partition, log);
    }
    log.push(entry);
    this.nextOffsets.set(partition, entry.offset + 1n);
  }

  /** The entries of `partition` now (after truncation), a copy. */
  protected entries(partition: number): E[] {
    return [...(this.logs.get(partition) ?? [])];
  }

  truncateBefore(partition: number, offset: bigint): Promise<void> {
    const log = this.logs.get(partition);
    if (log !== undefined)
      this.logs.set(
        partition,
        log.filter((e) => e.offset >= offset),
      );
    return Promise.resolve();
  }

  /** The next append rejects with `error` (default: the subclass's). */
  failNext(error?: F): void {
    this.failures.push(error ?? this.defaultFailure());
  }

  /** From now on appends wait until `release()`. */
  hold(): void {
    this.held ??= [];
  }

  /** Completes every held append, in order, and stops holding. */
  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const w of held) w();
  }

  /** Appends waiting for `release()`. */
  get heldCount(): number {
    return this.held?.length ?? 0;
  }

  /** Entries currently in the partition (after truncation), markers included. */
  recordCount(partition: number): number {
    return this.logs.get(partition)?.length ?? 0;
  }
}
