// Checkpoints of a replicated partition's small state (next offset, log start, leader epochs, the
// largest timestamp, producer state) at applied Raft indexes, in a bounded ring. When the log start
// moves, the newest checkpoint below the first batch still kept is where the group's log may be
// compacted (RaftHost's snapshotPolicy 'stateMachine'): the checkpoint plus the entries after it
// rebuild the whole partition.

/** Checkpoints kept; when more are taken, interior ones are thinned out (the oldest stays). */
const MAX_CHECKPOINTS = 32;
/** Bytes of checkpoints kept per partition (large producer state): thinned down to two beyond it. */
const MAX_CHECKPOINT_BYTES = 32 * 1024 * 1024;

export interface Checkpoint {
  /** The applied Raft index the state is as of. */
  index: number;
  data: Uint8Array;
}

export class CheckpointRing {
  private checkpoints: Checkpoint[] = [];
  private bytes = 0;

  get length(): number {
    return this.checkpoints.length;
  }

  clear(): void {
    this.checkpoints = [];
    this.bytes = 0;
  }

  add(index: number, data: Uint8Array): void {
    this.checkpoints.push({ index, data });
    this.bytes += data.length;
    while (
      this.checkpoints.length > 2 &&
      (this.checkpoints.length > MAX_CHECKPOINTS || this.bytes > MAX_CHECKPOINT_BYTES)
    ) {
      // Thin out: drop the interior checkpoint whose neighbours are closest, so the remaining ones
      // stay spread over the log (the oldest is kept: it is what the next compaction may need).
      let drop = 1;
      let best = Number.MAX_SAFE_INTEGER;
      for (let k = 1; k < this.checkpoints.length - 1; k++) {
        const gap =
          (this.checkpoints[k + 1] as Checkpoint).index - (this.checkpoints[k - 1] as Checkpoint).index;
        if (gap < best) {
          best = gap;
          drop = k;
        }
      }
      const [gone] = this.checkpoints.splice(drop, 1);
      this.bytes -= gone?.data.length ?? 0;
    }
  }

  /**
   * The newest checkpoint below `belowIndex` and above `afterIndex`, removed from the ring with
   * every older one; undefined when there is none.
   */
  takeBelow(belowIndex: number, afterIndex: number): Checkpoint | undefined {
    let best: Checkpoint | undefined;
    for (const c of this.checkpoints) {
      if (c.index >= belowIndex) break;
      best = c;
    }
    if (best === undefined || best.index <= afterIndex) return undefined;
    const at = best.index;
    this.checkpoints = this.checkpoints.filter((c) => c.index > at);
    this.bytes = this.checkpoints.reduce((n, c) => n + c.data.length, 0);
    return best;
  }
}
