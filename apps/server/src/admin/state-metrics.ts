// Prometheus gauges of the broker's state, beside the network layer's counters (metrics.ts), for the
// Grafana dashboard's topic, consumer-lag and cluster rows (deploy/grafana/chronik.json):
//
//   chronik_partitions{state}                          the cluster's partitions by state (in_sync,
//                                                      under_replicated, offline), as this node's
//                                                      metadata has them (every node reports them)
//   chronik_partition_high_watermark{topic,partition}  partitions led here
//   chronik_partition_log_start_offset{topic,partition}
//   chronik_partition_under_replicated{topic,partition}  1 when a partition led here has fewer in-sync
//                                                      replicas than replicas
//   chronik_partition_log_size_bytes{topic,partition}  every replica on this node
//   chronik_partition_leader_changes_total             leader changes this node applied
//   chronik_raft_groups{role}                          this node's Raft groups by role (raft-cluster)
//   chronik_raft_follower_lag_entries_max              the largest follower lag of the groups led here
//   chronik_consumer_group_members{group}              groups coordinated here
//   chronik_consumer_group_lag{group,topic,partition}  high watermark − committed offset
//   chronik_consumer_group_lag_sum{group}
//
// Scrapes read state already in memory. Group lag needs high watermarks of partitions that may be
// led elsewhere, so it is sampled in the background (every `lagSampleMs`, at most MAX_LAG_GROUPS
// groups, one at a time) through the admin views and reported as last sampled; a group that left
// this node's coordinator drops out at the next sample. Sampling starts with the first scrape: a
// node nobody scrapes (a test, the simulator) asks no other node anything. Per-partition series
// are bounded by MAX_PARTITION_SERIES.
import type { Scheduler, TimerHandle } from '@chronik/env';
import type { Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';
import type { Logger } from '../logger.js';
import type { PartitionManager } from '../services/partition-manager.js';
import type { NodeReader } from './node-reader.js';
import type { AdminViews, GroupView } from './views.js';

/** Groups whose lag one sample measures. */
const MAX_LAG_GROUPS = 1000;
/** Partitions reported per per-partition metric (the rest are left out, and logged once). */
const MAX_PARTITION_SERIES = 10_000;
const DEFAULT_LAG_SAMPLE_MS = 15_000;

/** Every metric this file registers. */
export const STATE_METRICS = [
  'chronik_partitions',
  'chronik_partition_high_watermark',
  'chronik_partition_log_start_offset',
  'chronik_partition_under_replicated',
  'chronik_partition_log_size_bytes',
  'chronik_partition_leader_changes_total',
  'chronik_raft_groups',
  'chronik_raft_follower_lag_entries_max',
  'chronik_consumer_group_members',
  'chronik_consumer_group_lag',
  'chronik_consumer_group_lag_sum',
] as const;

export interface StateMetricsOptions {
  registry: Registry;
  views: AdminViews;
  partitions: PartitionManager;
  /** This node's coordinator, for the groups it coordinates. */
  local: NodeReader;
  scheduler: Scheduler;
  logger: Logger;
  lagSampleMs?: number;
}

export class StateMetrics {
  private lags = new Map<string, GroupView>();
  private timer: TimerHandle | undefined;
  private sampling = false;
  private closed = false;
  private leaderChangesCounted = 0;
  private warnedSeries = false;

  constructor(private readonly options: StateMetricsOptions) {
    const registers = [options.registry];
    // A registry composed again (a mode started twice on one ServerMetrics) gets fresh gauges.
    for (const name of STATE_METRICS) options.registry.removeSingleMetric(name);
    const partitionLabels = ['topic', 'partition'] as const;
    new Gauge({
      name: 'chronik_partitions',
      help: "The cluster's partitions by state (in_sync, under_replicated, offline), as this node's metadata has them",
      labelNames: ['state'] as const,
      registers,
      collect(): void {
        const p = options.views.topics().partitions;
        this.set({ state: 'in_sync' }, p.online - p.underReplicated);
        this.set({ state: 'under_replicated' }, p.underReplicated);
        this.set({ state: 'offline' }, p.offline);
      },
    });
    const statuses = (): ReturnType<PartitionManager['statuses']> => {
      const all = options.partitions.statuses();
      if (all.length > MAX_PARTITION_SERIES && !this.warnedSeries) {
        this.warnedSeries = true;
        options.logger.warn(
          { replicas: all.length, reported: MAX_PARTITION_SERIES },
          'more partition replicas than per-partition metrics report: the rest are left out',
        );
      }
      return all.slice(0, MAX_PARTITION_SERIES);
    };
    new Gauge({
      name: 'chronik_partition_high_watermark',
      help: 'High watermark of each partition led by this node',
      labelNames: partitionLabels,
      registers,
      collect(): void {
        this.reset();
        for (const s of statuses())
          if (s.role === 'leader')
            this.set({ topic: s.topic, partition: String(s.partition) }, Number(s.highWatermark));
      },
    });
    new Gauge({
      name: 'chronik_partition_log_start_offset',
      help: 'Log start offset of each partition led by this node',
      labelNames: partitionLabels,
      registers,
      collect(): void {
        this.reset();
        for (const s of statuses())
          if (s.role === 'leader')
            this.set({ topic: s.topic, partition: String(s.partition) }, Number(s.logStartOffset));
      },
    });
    new Gauge({
      name: 'chronik_partition_under_replicated',
      help: 'Partitions led by this node with fewer in-sync replicas than replicas (1) or not (0)',
      labelNames: partitionLabels,
      registers,
      collect(): void {
        this.reset();
        for (const s of statuses())
          if (s.role === 'leader')
            this.set(
              { topic: s.topic, partition: String(s.partition) },
              s.isr.length < s.replicas.length ? 1 : 0,
            );
      },
    });
    new Gauge({
      name: 'chronik_partition_log_size_bytes',
      help: 'Bytes of the batches each partition replica on this node holds',
      labelNames: partitionLabels,
      registers,
      collect(): void {
        this.reset();
        let n = 0;
        for (const dir of options.partitions.logDirs())
          for (const p of dir.partitions) {
            if (n++ >= MAX_PARTITION_SERIES) return;
            this.set({ topic: p.topic, partition: String(p.partition) }, p.sizeBytes);
          }
      },
    });
    const counted = (): number => {
      const delta = options.views.leaderChangesSeen - this.leaderChangesCounted;
      this.leaderChangesCounted = options.views.leaderChangesSeen;
      return delta;
    };
    new Counter({
      name: 'chronik_partition_leader_changes_total',
      help: 'Partition leader changes this node applied from the metadata',
      registers,
      collect(): void {
        const delta = counted();
        if (delta > 0) this.inc(delta);
      },
    });
    new Gauge({
      name: 'chronik_raft_groups',
      help: "This node's Raft groups by role (raft-cluster)",
      labelNames: ['role'] as const,
      registers,
      collect(): void {
        this.reset();
        for (const g of options.views.raftGroups()) this.inc({ role: g.role });
      },
    });
    new Gauge({
      name: 'chronik_raft_follower_lag_entries_max',
      help: 'The largest follower lag (leader last index − follower match) of the Raft groups led by this node',
      registers,
      collect(): void {
        let max = 0;
        for (const g of options.views.raftGroups()) for (const f of g.followers) max = Math.max(max, f.lag);
        this.set(max);
      },
    });
    const lags = (): Map<string, GroupView> => {
      if (this.timer === undefined && !this.closed) this.start();
      return this.lags;
    };
    new Gauge({
      name: 'chronik_consumer_group_members',
      help: 'Members of each consumer group this node coordinates (as last sampled)',
      labelNames: ['group'] as const,
      registers,
      collect(): void {
        this.reset();
        for (const [group, g] of lags()) this.set({ group }, g.members.length);
      },
    });
    new Gauge({
      name: 'chronik_consumer_group_lag',
      help: 'High watermark minus committed offset, per partition of each group this node coordinates (as last sampled)',
      labelNames: ['group', 'topic', 'partition'] as const,
      registers,
      collect(): void {
        this.reset();
        for (const [group, g] of lags())
          for (const p of g.partitions)
            if (p.lag !== null)
              this.set({ group, topic: p.topic, partition: String(p.partition) }, Number(p.lag));
      },
    });
    new Gauge({
      name: 'chronik_consumer_group_lag_sum',
      help: 'Total lag of each group this node coordinates (as last sampled)',
      labelNames: ['group'] as const,
      registers,
      collect(): void {
        this.reset();
        for (const [group, g] of lags()) this.set({ group }, Number(g.totalLag));
      },
    });
  }

  /** Starts sampling group lag in the background (the first scrape does). */
  private start(): void {
    const period = this.options.lagSampleMs ?? DEFAULT_LAG_SAMPLE_MS;
    const tick = (): void => {
      if (this.closed) return;
      this.sample().finally(() => {
        if (!this.closed) this.timer = this.options.scheduler.setTimer(period, tick);
      });
    };
    this.timer = this.options.scheduler.setTimer(0, tick);
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
  }

  /** One sample of every group coordinated here (at most MAX_LAG_GROUPS), one at a time. */
  async sample(): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      const groups = (await this.options.local.listGroups()).slice(0, MAX_LAG_GROUPS);
      const next = new Map<string, GroupView>();
      for (const g of groups) {
        if (this.closed) return;
        try {
          next.set(g.groupId, await this.options.views.group(g.groupId));
        } catch {
          // Moved to another coordinator, or a leader did not answer: left out of this sample.
        }
      }
      this.lags = next;
    } catch (e) {
      this.options.logger.debug(
        { err: e instanceof Error ? e.message : String(e) },
        'group lag sample failed',
      );
    } finally {
      this.sampling = false;
    }
  }
}
