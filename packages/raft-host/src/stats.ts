// What a RaftHost counts for its operator (public API: chronik-server reports it as Prometheus
// metrics; this package knows nothing of Prometheus). Aggregates over every group of the host, not
// per group: a node may hold ten thousand groups, and per-group counters would be that many series.
import type { WalObserver } from '@chronik/wal';

/** Counters of a host, over all its groups; plain numbers, only ever increased. */
export class HostStats {
  /** Cycles run (each persists, sends, applies and advances every group with a Ready). */
  cycles = 0;
  /** Proposals this node's groups took as leader (appended to their logs). */
  proposals = 0;
  /** Changes of a group's known leader to another node or to this one (not to "no leader"). */
  leaderChanges = 0;
  /** Times a group of this node became its leader. */
  leadershipsWon = 0;
  /** Snapshots sent to followers or learners too far behind the log (MsgSnap handed to the transport). */
  snapshotsSent = 0;
  /** Snapshots received from a leader and restored into a group's state machine. */
  snapshotsInstalled = 0;
  /** Groups stopped for good (README, "When a group stops"). */
  groupsStopped = 0;
  /** Times a follower forgot its leader because the leader's node became unreachable (README, "Leader loss"). */
  leadersForgotten = 0;
  /** Elections started here after a leader's node became unreachable, without waiting for a timeout. */
  leaderLossCampaigns = 0;
}

/**
 * Told about the host's work as it happens (RaftHostOptions.observer); keep it cheap. Durations
 * come from the host's injected clock (`monotonicMs`), which is read only when an observer is set.
 */
export interface HostObserver extends WalObserver {
  /** One cycle ended: `durationMs` from taking the Readys to advancing, the shared fsync included. */
  onCycle?(durationMs: number): void;
}
