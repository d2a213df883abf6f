// One chaos run: start a cluster behind link proxies, create the topic, run the workload while the
// nemesis injects the seeded schedule, heal, wait for the replicas to converge, read everything back,
// check, and write the history, the report and the chart.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FinalRead, ReplicaState } from './checker.js';
import { check } from './checker.js';
import { ChaosCluster, bounded, mountTmpfs, sleep } from './cluster.js';
import type { ReplicaView } from './cluster.js';
import { ChaosError, errorMessage } from './errors.js';
import { readPartition } from './final-read.js';
import type { LinkStats } from './proxy.js';
import { compareReplicaLogs } from './replica-logs.js';
import { History } from './history.js';
import type { CommittedOp } from './history.js';
import type { FaultKind, PlannedFault, ScheduleOptions } from './nemesis.js';
import { DEFAULT_SCHEDULE_TIMING, Nemesis, planSchedule } from './nemesis.js';
import type { RunReport } from './report.js';
import { reportMarkdown } from './report.js';
import { createRng } from './rng.js';
import { runChartSvg } from './svg.js';
import type { WriterSpec } from './workload.js';
import { DEFAULT_WRITERS, Workload, createTopic, kafkaClient } from './workload.js';

export interface RunOptions {
  seed: number;
  /** How long faults are injected while the workload runs. */
  durationMs: number;
  nodes: number;
  faults: readonly FaultKind[];
  /** The run's files go to `<outDir>/seed-<seed>`. */
  outDir: string;
  /** The chronik-server program. */
  serverBin: string;
  kcat: string;
  partitions: number;
  writers: readonly WriterSpec[];
  writerRatePerSec: number;
  consumers: number;
  churnEveryMs: number;
  /** Keep the nodes' data directories even when the run is valid. */
  keepData: boolean;
  /** Limit for the replicas to converge after healing. */
  convergeTimeoutMs: number;
  /** A send slower than this counts as unavailable. */
  slowMs: number;
  /** Overrides of the schedule's timing (tests). */
  scheduleTiming?: Partial<
    Pick<ScheduleOptions, 'warmupMs' | 'holdMinMs' | 'holdMaxMs' | 'quietMinMs' | 'quietMaxMs'>
  >;
  log: (line: string) => void;
}

export const DEFAULT_RUN_OPTIONS = {
  durationMs: 60_000,
  nodes: 3,
  faults: ['kill', 'pause', 'partition', 'delay', 'flaky', 'combined'] as readonly FaultKind[],
  kcat: 'kcat',
  writers: DEFAULT_WRITERS,
  writerRatePerSec: 25,
  consumers: 2,
  churnEveryMs: 8_000,
  keepData: false,
  convergeTimeoutMs: 120_000,
  slowMs: 1_000,
} as const;

export const TOPIC = 'chaos';
export const GROUP = 'chaos-consumers';

const num = (v: string | number): number => Number(v);

function toState(node: number, r: ReplicaView): ReplicaState {
  return {
    node,
    topic: r.topic,
    partition: r.partition,
    role: r.role,
    leader: r.leader,
    leaderEpoch: r.leaderEpoch,
    highWatermark: num(r.highWatermark),
    logEndOffset: num(r.logEndOffset),
    logStartOffset: num(r.logStartOffset),
  };
}

async function waitFor<T>(
  what: string,
  f: () => Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new ChaosError(
        'Timeout',
        `timed out waiting for ${what}${last ? `: ${errorMessage(last)}` : ''}`,
        { cause: last },
      );
    await sleep(everyMs);
  }
}

/** Every node's replicas (all nodes must answer). */
async function snapshot(cluster: ChaosCluster): Promise<ReplicaState[]> {
  const views = await Promise.all(
    cluster.ids.map(async (id) => (await cluster.replicas(id)).map((r) => toState(id, r))),
  );
  return views.flat();
}

function agreed(
  states: readonly ReplicaState[],
  topic: string,
  partitions: number,
  replicasOf: Map<number, number[]>,
): boolean {
  for (let p = 0; p < partitions; p++) {
    const s = states.filter((x) => x.topic === topic && x.partition === p);
    const expected = replicasOf.get(p) ?? [];
    if (s.length === 0 || s.length < expected.length) return false;
    const first = s[0] as ReplicaState;
    if (first.leader <= 0 || !s.some((x) => x.role === 'leader')) return false;
    for (const x of s)
      if (
        x.leader !== first.leader ||
        x.leaderEpoch !== first.leaderEpoch ||
        x.highWatermark !== first.highWatermark ||
        x.logEndOffset !== first.logEndOffset ||
        x.logEndOffset !== x.highWatermark
      )
        return false;
  }
  return true;
}

/** Every proxy's counters (`from->to`). */
function linkStats(cluster: ChaosCluster): Record<string, LinkStats & { open: number; mode: string }> {
  const out: Record<string, LinkStats & { open: number; mode: string }> = {};
  for (const [k, p] of cluster.proxies) out[k] = { ...p.stats, open: p.openConnections, mode: p.mode.kind };
  return out;
}

/** Each node's own file system when the disk-full fault is on (a tmpfs, in memory). */
const SMALL_DISK_MIB = 768;

export async function runChaos(o: RunOptions): Promise<RunReport> {
  const started = Date.now();
  const outDir = path.join(o.outDir, `seed-${o.seed}`);
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  if (!fs.existsSync(o.serverBin))
    throw new ChaosError('ProcessFailed', `no chronik-server at ${o.serverBin}: build it first`);
  const dataRoot = fs.mkdtempSync(path.join(os.tmpdir(), `chronik-chaos-${o.seed}-`));
  const rf = Math.min(3, o.nodes);
  // disk-full needs a small file system per node (a tmpfs, so root): without, it is left out.
  let faults = o.faults;
  let smallDiskMiB: number | undefined;
  if (faults.includes('disk-full')) {
    const probe = fs.mkdtempSync(path.join(os.tmpdir(), 'chronik-chaos-mount-'));
    const m = mountTmpfs(probe, 1);
    if (m.ok) {
      execFileSync('umount', [probe]);
      smallDiskMiB = SMALL_DISK_MIB;
    } else {
      faults = faults.filter((f) => f !== 'disk-full');
      o.log(`chaos: fault disk-full left out: cannot mount a tmpfs (${m.reason})`);
    }
    fs.rmSync(probe, { recursive: true, force: true });
  }
  const schedule: PlannedFault[] = planSchedule(createRng(o.seed), {
    durationMs: o.durationMs,
    faults,
    nodes: o.nodes,
    ...DEFAULT_SCHEDULE_TIMING,
    ...o.scheduleTiming,
  });
  fs.writeFileSync(path.join(outDir, 'schedule.json'), `${JSON.stringify(schedule, null, 2)}\n`);
  o.log(
    `chaos: seed ${o.seed}, ${o.nodes} nodes, ${o.durationMs / 1000} s, faults ${faults.join(',')}: ${schedule.length} planned; output in ${outDir}`,
  );
  const history = new History(path.join(outDir, 'history.jsonl'));
  const cluster = await ChaosCluster.create({
    size: o.nodes,
    bin: o.serverBin,
    dataRoot,
    logDir: outDir,
    ...(smallDiskMiB !== undefined ? { smallDiskMiB } : {}),
    extraArgs: [
      '--offsets-topic-partitions',
      '3',
      '--default-replication-factor',
      String(rf),
      '--log-level',
      'info',
    ],
    rng: createRng(o.seed ^ 0x5eed),
  });
  const report: RunReport = {
    seed: o.seed,
    startedAt: new Date(started).toISOString(),
    nodes: o.nodes,
    durationMs: o.durationMs,
    faultKinds: [...o.faults],
    topic: TOPIC,
    partitions: o.partitions,
    elapsedMs: 0,
    schedule,
    timeline: [],
    converged: false,
    convergeMs: 0,
    outcome: {
      checks: [],
      unavailability: [],
      longestUnavailabilityMs: 0,
      valid: false,
      stats: {
        sends: {},
        polls: 0,
        commits: { ok: 0, info: 0 },
        finalRecords: 0,
        churn: { created: 0, deleted: 0, failed: 0 },
        longestPollGapMs: 0,
        longestPollGapAtMs: 0,
      },
    },
    valid: false,
    outDir,
  };
  let workload: Workload | undefined;
  try {
    for (const id of cluster.ids) cluster.start(id);
    await waitFor(
      'the cluster to form (one metadata leader, every broker registered)',
      async () => {
        const views = await Promise.all(cluster.ids.map((id) => cluster.clusterView(id)));
        const leaders = new Set(views.map((v) => v.metadataGroup.leaderId));
        const [leader] = [...leaders];
        if (leaders.size !== 1 || leader === undefined || leader <= 0) return undefined;
        return views.every((v) => v.brokers.length >= o.nodes) ? true : undefined;
      },
      120_000,
    );
    await createTopic(kafkaClient(cluster.brokers(), 'chaos-setup'), TOPIC, o.partitions, rf);
    const replicasOf = new Map<number, number[]>();
    await waitFor(
      `leaders for ${TOPIC}`,
      async () => {
        const s = await snapshot(cluster);
        for (let p = 0; p < o.partitions; p++) {
          const lead = s.find((x) => x.topic === TOPIC && x.partition === p && x.role === 'leader');
          if (!lead) return undefined;
          replicasOf.set(
            p,
            s.filter((x) => x.topic === TOPIC && x.partition === p).map((x) => x.node),
          );
        }
        return true;
      },
      60_000,
    );
    o.log(`chaos: cluster up in ${((Date.now() - started) / 1000).toFixed(1)} s; starting the workload`);

    workload = new Workload({
      brokers: cluster.brokers(),
      topic: TOPIC,
      partitions: o.partitions,
      replicationFactor: rf,
      writers: o.writers,
      writerRatePerSec: o.writerRatePerSec,
      consumers: o.consumers,
      group: GROUP,
      churnEveryMs: o.churnEveryMs,
      committedPollMs: 2_000,
      history,
      log: o.log,
      clientLogFile: path.join(outDir, 'clients.log'),
    });
    await workload.startConsumers();
    workload.startWriters();
    workload.startChurn();
    const nemesis = new Nemesis(
      { cluster, history, topic: TOPIC, partitions: o.partitions, log: o.log },
      schedule,
    );
    const nemesisDone = nemesis.run();
    await sleep(o.durationMs);
    nemesis.stop();
    await nemesisDone;
    await nemesis.healAll();
    o.log(`chaos: healed at ${(history.now() / 1000).toFixed(1)} s; the workload goes on for 5 s`);
    await sleep(5_000);
    await workload.stopWriters();

    // Convergence: every replica agrees (two snapshots in a row).
    const convergeStart = Date.now();
    let last: ReplicaState[] = [];
    let prev = '';
    try {
      await waitFor(
        'the replicas to converge',
        async () => {
          const s = await snapshot(cluster);
          last = s;
          const sig = JSON.stringify(s.filter((x) => x.topic === TOPIC));
          const ok = agreed(s, TOPIC, o.partitions, replicasOf) && sig === prev;
          prev = sig;
          return ok ? true : undefined;
        },
        o.convergeTimeoutMs,
        1_000,
      );
      report.converged = true;
    } catch (e) {
      o.log(`chaos: ${errorMessage(e)}`);
      // Which links still carry bytes: two samples of the proxies' counters 12 s apart (longer than gRPC's 10 s keepalive).
      const before = linkStats(cluster);
      await sleep(12_000);
      const after = linkStats(cluster);
      const flow = Object.entries(after).map(
        ([k, v]) =>
          `${k}: ${v.connections} conns, ${v.open} open, +${v.bytesForwardedOut - (before[k]?.bytesForwardedOut ?? 0)} B out, +${v.bytesForwardedBack - (before[k]?.bytesForwardedBack ?? 0)} B back in 12 s`,
      );
      o.log(`chaos: links after the deadline: ${flow.join('; ')}`);
      report.linksAtDeadline = flow;
      last = await snapshot(cluster).catch(() => last);
    }
    report.convergeMs = Date.now() - convergeStart;
    o.log(
      `chaos: replicas ${report.converged ? 'converged' : 'did NOT converge'} in ${(report.convergeMs / 1000).toFixed(1)} s`,
    );

    // Let the consumers catch up to the high watermarks (bounded), then stop them.
    const hw = new Map<number, number>();
    for (const s of last) if (s.topic === TOPIC && s.role === 'leader') hw.set(s.partition, s.highWatermark);
    const caughtUp = (): boolean => {
      const c = [...history.ops]
        .reverse()
        .find((x): x is CommittedOp => x.f === 'committed' && x.outcome === 'ok');
      return c !== undefined && [...hw].every(([p, h]) => (c.offsets[String(p)] ?? 0) >= h);
    };
    for (let i = 0; i < 60 && !caughtUp(); i++) await sleep(500);
    await workload.stopConsumers();

    // Final reads: every partition, twice, through two different bootstrap brokers.
    const finalReads: FinalRead[] = [];
    const brokers = cluster.brokers();
    for (let p = 0; p < o.partitions; p++)
      for (const via of [brokers[p % brokers.length], brokers[(p + 1) % brokers.length]]) {
        if (via === undefined) continue;
        finalReads.push(
          await readPartition({
            kcat: o.kcat,
            bootstrap: via,
            topic: TOPIC,
            partition: p,
            timeoutMs: 90_000,
            maxRecords: 2_000_000,
          }),
        );
      }
    const finalState = await snapshot(cluster).catch(() => last);
    const topicsPresent = [...new Set(finalState.map((s) => s.topic))];
    history.close();
    // Stop every node cleanly and compare the Raft logs on disk.
    await Promise.all(cluster.ids.map((id) => cluster.stop(id)));
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), `chronik-chaos-logs-${o.seed}-`));
    const replicaLogs = await compareReplicaLogs(
      new Map(cluster.nodes.map((n) => [n.id, n.dataDir])),
      scratch,
    );
    fs.rmSync(scratch, { recursive: true, force: true });
    report.replicaLogs = {
      groups: replicaLogs.groups,
      entriesCompared: replicaLogs.entriesCompared,
      mismatches: replicaLogs.mismatchCount,
      errors: replicaLogs.errors.length,
    };
    o.log(
      `chaos: replica logs: ${replicaLogs.groups} groups, ${replicaLogs.entriesCompared} committed entries compared, ${replicaLogs.mismatchCount} differ, ${replicaLogs.errors.length} unreadable`,
    );
    const outcome = check({
      ops: history.ops,
      topic: TOPIC,
      partitions: o.partitions,
      finalReads,
      replicas: finalState,
      converged: report.converged,
      topicsPresent,
      slowMs: o.slowMs,
      replicaLogs,
    });
    report.outcome = outcome;
    report.valid = outcome.valid;
    report.timeline = outcome.unavailability.map((u) => ({
      index: u.faultIndex,
      kind: u.kind,
      description: u.description,
      appliedMs: u.appliedMs,
      healedMs: u.healedMs,
      unavailabilityMs: u.windowMs,
    }));
    fs.writeFileSync(path.join(outDir, 'final-reads.json'), `${JSON.stringify(finalReads)}\n`);
    report.links = linkStats(cluster);
    fs.writeFileSync(path.join(outDir, 'replicas.json'), `${JSON.stringify(finalState, null, 1)}\n`);
  } catch (e) {
    report.error = errorMessage(e);
    report.valid = false;
    o.log(`chaos: run broke: ${report.error}`);
  } finally {
    history.close();
    if (workload) {
      await bounded(workload.stopWriters(), 20_000);
      await bounded(workload.stopConsumers(), 20_000);
    }
    await cluster.destroy();
    if (report.valid && !o.keepData) fs.rmSync(dataRoot, { recursive: true, force: true });
    else o.log(`chaos: data directories kept in ${dataRoot}`);
  }
  report.elapsedMs = Date.now() - started;
  const endMs = history.ops.reduce((m, x) => Math.max(m, x.completeMs), 0) + 2_000;
  const bands = history.ops
    .filter((x) => x.f === 'fault')
    .map((f) => ({ label: `${f.index}:${f.kind}`, fromMs: f.completeMs, toMs: f.healedMs ?? f.completeMs }));
  fs.writeFileSync(
    path.join(outDir, 'chart.svg'),
    runChartSvg(`seed ${o.seed}: ${o.nodes} nodes, faults shaded`, history.ops, TOPIC, bands, endMs),
  );
  fs.writeFileSync(path.join(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(path.join(outDir, 'report.md'), reportMarkdown(report));
  return report;
}
