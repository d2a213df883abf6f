// Which peers answer this node's Raft traffic, from the transport's acknowledged batches
// (heartbeats flow every tick, so a live peer acknowledges something between any two checks).
// The count must be one that only grows: a peer that restarts gets a new stream whose own
// counter starts again at zero, and comparing that with the old stream's count kept a returning
// follower "not answering" (and so out of the ISR) until the new stream had caught up with the
// old one's total — 20 s and more in the failover benchmark.

/** One peer as the transport reports it. */
export interface PeerAcks {
  nodeId: number;
  /** Batches the peer acknowledged over every stream so far (monotonic). */
  totalAckedBatches: number;
}

interface Liveness {
  acked: number;
  lastProgressMs: number;
  aliveSinceMs: number;
}

export class PeerLiveness {
  private readonly peers = new Map<number, Liveness>();

  /** @param windowMs a peer with no acknowledgement for longer than this is not alive. */
  constructor(private readonly windowMs: number) {}

  /** Records the transport's counts at `nowMs`. */
  observe(stats: readonly PeerAcks[], nowMs: number): void {
    for (const s of stats) {
      const prev = this.peers.get(s.nodeId);
      if (prev === undefined) {
        this.peers.set(s.nodeId, {
          acked: s.totalAckedBatches,
          lastProgressMs: s.totalAckedBatches > 0 ? nowMs : Number.NEGATIVE_INFINITY,
          aliveSinceMs: nowMs,
        });
        continue;
      }
      if (s.totalAckedBatches > prev.acked) {
        if (nowMs - prev.lastProgressMs > this.windowMs) prev.aliveSinceMs = nowMs;
        prev.lastProgressMs = nowMs;
        prev.acked = s.totalAckedBatches;
      }
    }
  }

  /** Whether the peer acknowledged something within the window (self is always alive). */
  alive(nodeId: number, nowMs: number): boolean {
    const p = this.peers.get(nodeId);
    return p !== undefined && nowMs - p.lastProgressMs <= this.windowMs;
  }

  /** Since when the peer has been answering without a gap longer than the window (undefined: never heard). */
  aliveSince(nodeId: number): number | undefined {
    return this.peers.get(nodeId)?.aliveSinceMs;
  }
}
