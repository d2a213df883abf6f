// Prometheus metrics of the layers under the network (issue 25): the Raft host, the WALs and the
// group coordinator. The packages know nothing of Prometheus: each exposes plain counters (raft-host's
// `HostStats`, wal's `WalStats`) and an observer for durations (`HostObserver`, `WalObserver`); the
// mode that built them points the sources below at them, and scrapes read them.
//
//   chronik_raft_cycles_total, chronik_raft_proposals_total, chronik_raft_leader_changes_total,
//   chronik_raft_leaderships_won_total, chronik_raft_snapshots_sent_total,
//   chronik_raft_snapshots_installed_total, chronik_raft_groups_stopped_total
//                                       aggregates over every group of the node (raft-cluster)
//   chronik_raft_cycle_duration_seconds  histogram: one host cycle, the shared fsync included
//   chronik_raft_commit_lag_entries_max  the largest (last index − commit index) of the node's groups
//   chronik_raft_apply_lag_entries_max   the largest (commit index − applied index)
//   chronik_raft_metadata_term, chronik_raft_metadata_commit_index, chronik_raft_metadata_leader
//                                       the metadata group, the one group named in series
//   chronik_wal_written_bytes_total, chronik_wal_fsyncs_total, chronik_wal_flush_failures_total
//   chronik_wal_recovery_actions_total{action}   what recovery did when logs were opened
//   chronik_wal_fsync_duration_seconds   histogram: one shared flush cycle (every log's fdatasync)
//   chronik_consumer_group_rebalances_total      classic-protocol rebalances started here
//   chronik_file_pool_descriptors{state}  the data-file pool's descriptors: open, pinned, max, peak
//   chronik_file_pool_files               data files open through the pool (the callers' view)
//   chronik_file_pool_opens_total, chronik_file_pool_reopens_total,
//   chronik_file_pool_evictions_total, chronik_file_pool_over_limit_opens_total
//                                       its real opens, reopens, closes to make room, opens past the limit
//   chronik_file_pool_dir_syncs_total, chronik_file_pool_dir_syncs_shared_total
//                                       directory syncs run, and asked while one ran (served by the next)
//
// Cardinality: a node may hold 10,000 Raft groups. Nothing here has a per-group label: counters are
// aggregates over the node's groups, lags are maxima, and per-group state is in the admin API
// (GET /v1/raft) and the console. The per-partition gauges that exist (state-metrics.ts: high
// watermark, log size, under-replicated) are the ones the dashboard's topic row already shows.
// Every metric here is registered in every mode (a standalone node reports its WAL and zeros for
// Raft), so a dashboard's expressions never refer to a series that is missing.
import type { HostObserver, HostStats } from '@chronik/raft-host';
import type { FilePoolStats, WalStats } from '@chronik/wal';
import type { Registry } from 'prom-client';
import { Counter, Gauge, Histogram } from 'prom-client';

/** What a scrape reads of the Raft groups (the mode that runs a Raft host sets it). */
export interface RaftSource {
  stats: HostStats;
  /** One pass over the groups: the largest lags and the metadata group's state. */
  summary(): RaftSummary;
}

export interface RaftSummary {
  commitLagMax: number;
  applyLagMax: number;
  metadata: { term: number; commitIndex: number; leaderId: number } | undefined;
}

/** Latency buckets of cycles and fsyncs: 100 µs to 10 s. */
const DURATION_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
];

const RECOVERY_ACTIONS = [
  ['tail_truncated', 'tailsTruncated'],
  ['broken_copy', 'brokenCopies'],
  ['segment_removed', 'segmentsRemoved'],
  ['temp_file_removed', 'tempFilesRemoved'],
  ['index_rebuilt', 'indexesRebuilt'],
  ['corruption_truncated', 'corruptionsTruncated'],
] as const;

/** A counter that reports a running total kept elsewhere (0 while there is no source). */
function totalCounter(registry: Registry, name: string, help: string, total: () => number): Counter {
  return new Counter({
    name,
    help,
    registers: [registry],
    collect(): void {
      this.reset();
      const n = total();
      if (n > 0) this.inc(n);
    },
  });
}

export class LayerMetrics {
  /** The Raft host's counters and groups (raft-cluster mode), or undefined. */
  raft: RaftSource | undefined;
  /** The WAL counters of this node's logs (a Raft host's, or the standalone partition logs'). */
  readonly walSources = new Set<() => WalStats>();
  /** The group coordinator's counters, or undefined. */
  groups: (() => { rebalances: number }) | undefined;
  /** The data-file pool's counters (docs/design/file-handles.md), or undefined. */
  filePool: (() => FilePoolStats) | undefined;

  private readonly cycleSeconds: Histogram;
  private readonly fsyncSeconds: Histogram;
  /** Hand this to a RaftHost (`observer`) or a GroupCommitter: it fills the histograms. */
  readonly observer: HostObserver;

  constructor(registry: Registry) {
    const registers = [registry];
    this.cycleSeconds = new Histogram({
      name: 'chronik_raft_cycle_duration_seconds',
      help: 'Raft host cycles: persisting, sending, applying and advancing every group with work, the shared fsync included',
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.fsyncSeconds = new Histogram({
      name: 'chronik_wal_fsync_duration_seconds',
      help: 'Shared WAL flush cycles: the fdatasync of every log that asked, in parallel, until the last one settled',
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.observer = {
      onCycle: (ms) => this.cycleSeconds.observe(ms / 1000),
      onFlushCycle: (ms) => this.fsyncSeconds.observe(ms / 1000),
    };
    const raft = (f: (s: HostStats) => number) => (): number => (this.raft ? f(this.raft.stats) : 0);
    totalCounter(
      registry,
      'chronik_raft_cycles_total',
      'Raft host cycles run',
      raft((s) => s.cycles),
    );
    totalCounter(
      registry,
      'chronik_raft_proposals_total',
      "Entries proposed to this node's Raft groups while it led them",
      raft((s) => s.proposals),
    );
    totalCounter(
      registry,
      'chronik_raft_leader_changes_total',
      "Times one of this node's Raft groups learned of a new leader",
      raft((s) => s.leaderChanges),
    );
    totalCounter(
      registry,
      'chronik_raft_leaderships_won_total',
      'Times this node became the leader of one of its Raft groups',
      raft((s) => s.leadershipsWon),
    );
    totalCounter(
      registry,
      'chronik_raft_snapshots_sent_total',
      'Raft snapshots sent to followers too far behind the log',
      raft((s) => s.snapshotsSent),
    );
    totalCounter(
      registry,
      'chronik_raft_snapshots_installed_total',
      'Raft snapshots received from a leader and installed',
      raft((s) => s.snapshotsInstalled),
    );
    totalCounter(
      registry,
      'chronik_raft_groups_stopped_total',
      'Raft groups of this node stopped for good (an invariant broke, or the storage failed)',
      raft((s) => s.groupsStopped),
    );
    totalCounter(
      registry,
      'chronik_raft_leaders_forgotten_total',
      "Times a follower here forgot its group's leader because the leader's node became unreachable",
      raft((s) => s.leadersForgotten),
    );
    totalCounter(
      registry,
      'chronik_raft_leader_loss_campaigns_total',
      "Elections this node started at once after a group's leader's node became unreachable",
      raft((s) => s.leaderLossCampaigns),
    );
    let summary: RaftSummary | undefined;
    // Each scrape walks the groups once: the first of these gauges takes the summary, the others
    // reuse it (prom-client collects them in registration order).
    const take = (): RaftSummary | undefined => (summary = this.raft?.summary());
    new Gauge({
      name: 'chronik_raft_commit_lag_entries_max',
      help: "The largest number of entries in one of this node's Raft logs not yet known committed",
      registers,
      collect(): void {
        this.set(take()?.commitLagMax ?? 0);
      },
    });
    new Gauge({
      name: 'chronik_raft_apply_lag_entries_max',
      help: "The largest number of committed entries one of this node's Raft groups has not applied yet",
      registers,
      collect(): void {
        this.set(summary?.applyLagMax ?? 0);
      },
    });
    new Gauge({
      name: 'chronik_raft_metadata_term',
      help: "The metadata Raft group's term on this node",
      registers,
      collect(): void {
        this.set(summary?.metadata?.term ?? 0);
      },
    });
    new Gauge({
      name: 'chronik_raft_metadata_commit_index',
      help: "The metadata Raft group's commit index on this node",
      registers,
      collect(): void {
        this.set(summary?.metadata?.commitIndex ?? 0);
      },
    });
    new Gauge({
      name: 'chronik_raft_metadata_leader',
      help: "The metadata Raft group's leader as this node knows it (node id; -1: none known)",
      registers,
      collect(): void {
        this.set(summary?.metadata?.leaderId ?? -1);
      },
    });
    const wal = (f: (s: WalStats) => number) => (): number => {
      let n = 0;
      for (const source of this.walSources) n += f(source());
      return n;
    };
    totalCounter(
      registry,
      'chronik_wal_written_bytes_total',
      'Record bytes written to WAL segments (Raft logs, or the standalone partition logs)',
      wal((s) => s.bytesWritten),
    );
    totalCounter(
      registry,
      'chronik_wal_fsyncs_total',
      'fdatasync calls on WAL segments',
      wal((s) => s.fsyncs),
    );
    totalCounter(
      registry,
      'chronik_wal_flush_failures_total',
      'WAL flushes that failed (each stops its log)',
      wal((s) => s.flushFailures),
    );
    const walSources = this.walSources;
    new Counter({
      name: 'chronik_wal_recovery_actions_total',
      help: 'What WAL recovery did as logs were opened, by action (torn tails cut, .broken copies, segments, temp files, indexes, corruptions cut)',
      labelNames: ['action'] as const,
      registers,
      collect(): void {
        this.reset();
        for (const [action, key] of RECOVERY_ACTIONS) {
          let n = 0;
          for (const source of walSources) n += source().recovery[key];
          this.inc({ action }, n);
        }
      },
    });
    const pool = (): FilePoolStats | undefined => this.filePool?.();
    new Gauge({
      name: 'chronik_file_pool_descriptors',
      help: 'Descriptors of the data-file pool: open now, pinned (in use, not yet synced, or unlinked while open), its limit, and the most open at once',
      labelNames: ['state'] as const,
      registers,
      collect(): void {
        const s = pool();
        this.set({ state: 'open' }, s?.open ?? 0);
        this.set({ state: 'pinned' }, s?.pinned ?? 0);
        this.set({ state: 'max' }, s?.maxOpenFiles ?? 0);
        this.set({ state: 'peak' }, s?.peakOpen ?? 0);
      },
    });
    new Gauge({
      name: 'chronik_file_pool_files',
      help: 'Data files open through the pool (each with or without a descriptor of its own at the moment)',
      registers,
      collect(): void {
        this.set(pool()?.files ?? 0);
      },
    });
    totalCounter(
      registry,
      'chronik_file_pool_opens_total',
      'Descriptors the data-file pool opened (first opens and reopens)',
      () => pool()?.opens ?? 0,
    );
    totalCounter(
      registry,
      'chronik_file_pool_reopens_total',
      'Data files reopened after their descriptor was closed to make room',
      () => pool()?.reopens ?? 0,
    );
    totalCounter(
      registry,
      'chronik_file_pool_evictions_total',
      'Idle, synced descriptors the data-file pool closed to make room',
      () => pool()?.evictions ?? 0,
    );
    totalCounter(
      registry,
      'chronik_file_pool_over_limit_opens_total',
      'Descriptors opened past the pool limit because every open one was pinned',
      () => pool()?.overLimitOpens ?? 0,
    );
    totalCounter(
      registry,
      'chronik_file_pool_dir_syncs_total',
      'Directory syncs run by the data-file pool',
      () => pool()?.dirSyncs ?? 0,
    );
    totalCounter(
      registry,
      'chronik_file_pool_dir_syncs_shared_total',
      'Directory syncs asked while one of the same directory ran, served by the next one',
      () => pool()?.dirSyncsShared ?? 0,
    );
    totalCounter(
      registry,
      'chronik_consumer_group_rebalances_total',
      'Rebalances of classic-protocol consumer groups coordinated by this node',
      () => this.groups?.().rebalances ?? 0,
    );
  }
}
