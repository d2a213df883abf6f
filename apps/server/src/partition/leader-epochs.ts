// The leader-epoch cache of a partition: for each leader epoch that wrote batches, the first offset
// it wrote (Kafka's LeaderEpochFileCache). OffsetForLeaderEpoch answers from it (KIP-101, and the
// consumer's truncation check of KIP-320), and ListOffsets names the epoch of an offset.
//
// Kafka's leader adds its epoch to the cache the moment it becomes leader, starting at its log end
// offset; here an epoch enters the cache with its first batch, and the current leader epoch is
// passed to `endOffsetFor` instead, as a last entry starting at the log end when it has written
// nothing yet — the same answers.

/** Epochs remembered; the oldest are dropped first. */
const MAX_EPOCHS = 10_000;

export interface EpochEntry {
  epoch: number;
  startOffset: bigint;
}

export class LeaderEpochCache {
  private entries: EpochEntry[] = [];

  get latest(): number {
    return this.entries[this.entries.length - 1]?.epoch ?? -1;
  }

  /** Records that `epoch` wrote a batch at `startOffset` (a no-op unless it is a newer epoch). */
  record(epoch: number, startOffset: bigint): void {
    if (epoch <= this.latest) return;
    this.entries.push({ epoch, startOffset });
    if (this.entries.length > MAX_EPOCHS) this.entries.shift();
  }

  /** The epoch that wrote `offset` (-1 when older than every entry). */
  epochAt(offset: bigint): number {
    let e = -1;
    for (const x of this.entries) {
      if (x.startOffset > offset) break;
      e = x.epoch;
    }
    return e;
  }

  /**
   * The end offset of `requested`: the start of the first later epoch, or `logEndOffset` for the
   * current one; with the epoch that ends there (the largest known one not above `requested`).
   * `currentEpoch` is the leader's epoch now. An epoch above the current one, or -1, is unknown:
   * (-1, -1).
   */
  endOffsetFor(
    requested: number,
    currentEpoch: number,
    logEndOffset: bigint,
  ): { leaderEpoch: number; endOffset: bigint } {
    const latest = Math.max(this.latest, currentEpoch);
    if (requested < 0 || requested > latest) return { leaderEpoch: -1, endOffset: -1n };
    if (requested === latest) return { leaderEpoch: requested, endOffset: logEndOffset };
    let floor: EpochEntry | undefined;
    let higher: EpochEntry | undefined;
    for (const x of this.entries) {
      if (x.epoch <= requested) floor = x;
      else {
        higher = x;
        break;
      }
    }
    // Only the current epoch, which has not written yet, is above `requested`.
    const end = higher?.startOffset ?? logEndOffset;
    return floor === undefined
      ? { leaderEpoch: requested, endOffset: end }
      : { leaderEpoch: floor.epoch, endOffset: end };
  }

  /** As plain data: [epoch, start offset] pairs. */
  toJSON(): Array<[number, string]> {
    return this.entries.map((e) => [e.epoch, String(e.startOffset)]);
  }

  load(pairs: ReadonlyArray<readonly [number, string]>): void {
    this.entries = pairs.map(([epoch, start]) => ({ epoch, startOffset: BigInt(start) }));
  }
}
