// One chaos run: start a cluster behind link proxies, create the topics, run the workloads (`queue`,
// `txn`) while the nemesis injects the seeded schedule, heal, wait for the replicas to converge,
// read everything back, check, and write the history, the report and the chart.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CheckOutcome, CheckResult, FinalRead, ReplicaState, Unavailability } from './checker.js';
import { checkQueue, clusterChecks, mergeChecks, unavailabilityWindows } from './checker.js';
import { ChaosCluster, bounded, mountTmpfs, sleep } from './cluster.js';
import type { ReplicaView } from './cluster.js';
import { ChaosError, errorMessage } from './errors.js';
import { readPartition } from './final-read.js';
import type { LinkStats } from './proxy.js';
import { compareReplicaLogs } from './replica-logs.js';
import { History } from './history.js';
import type { CommittedOp, Op } from './history.js';
import type { FaultKind, NemesisContext, PlannedFault, ScheduleOptions, TargetRole } from './nemesis.js';
import { DEFAULT_ROLES, DEFAULT_SCHEDULE_TIMING, Nemesis, TXN_ROLES, planSchedule } from './nemesis.js';
import type { RunReport } from './report.js';
import { reportMarkdown } from './report.js';
import { createRng } from './rng.js';
import { runChartSvg } from './svg.js';
import type { TxnCheckOutcome, TxnRead } from './txn-checker.js';
import { checkTxn, txnUnavailability } from './txn-checker.js';
import { CTP_GROUP, CTP_ID, TXN_INPUT, TXN_OUTPUT, TxnWorkload } from './txn-workload.js';
import type { WorkloadKind, WriterSpec } from './workload.js';
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
  /** The roles faults target (default: DEFAULT_ROLES; TXN_ROLES when the `txn` workload runs). */
  roles?: readonly TargetRole[];
  /** Which workloads run (at least one). */
  workloads: readonly WorkloadKind[];
  txn: TxnRunOptions;
  log: (line: string) => void;
}

/** The transactional workload's settings (see txn-workload.ts). */
export interface TxnRunOptions {
  producers: number;
  ratePerSec: number;
  abortRatio: number;
  ctpAbortRatio: number;
  transactionTimeoutMs: number;
  /** A producer's transaction slower than this counts as unavailable. */
  slowMs: number;
  /** The Python with confluent-kafka-python, and the worker (tools/chaos/scripts/ctp_worker.py). */
  python: string;
  workerScript: string;
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
  workloads: ['queue'] as readonly WorkloadKind[],
  txn: {
    producers: 2,
    ratePerSec: 5,
    abortRatio: 0.25,
    ctpAbortRatio: 0.1,
    transactionTimeoutMs: 10_000,
    slowMs: 3_000,
    python: '/usr/bin/python3',
    workerScript: '',
  } as TxnRunOptions,
} as const;

/** `__transaction_state` and `__consumer_offsets` partitions of a chaos cluster. */
const TXN_STATE_PARTITIONS = 3;
const OFFSETS_PARTITIONS = 3;

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

/** Every partition of `topics` has a leader and its replicas agree (replicasOf: `topic-p` → nodes). */
function agreed(
  states: readonly ReplicaState[],
  topics: readonly string[],
  partitions: number,
  replicasOf: Map<string, number[]>,
): boolean {
  for (const topic of topics)
    for (let p = 0; p < partitions; p++) if (!partitionAgreed(states, topic, p, replicasOf)) return false;
  return true;
}

function partitionAgreed(
  states: readonly ReplicaState[],
  topic: string,
  p: number,
  replicasOf: Map<string, number[]>,
): boolean {
  const s = states.filter((x) => x.topic === topic && x.partition === p);
  const expected = replicasOf.get(`${topic}-${p}`) ?? [];
  if (s.length === 0 || s.length < expected.length) return false;
  const first = s[0] as ReplicaState;
  if (first.leader < 0 || !s.some((x) => x.role === 'leader')) return false;
  return s.every(
    (x) =>
      x.leader === first.leader &&
      x.leaderEpoch === first.leaderEpoch &&
      x.highWatermark === first.highWatermark &&
      x.logEndOffset === first.logEndOffset &&
      x.logEndOffset === x.highWatermark,
  );
}

/** Every proxy's counters (`from->to`). */
function linkStats(cluster: ChaosCluster): Record<string, LinkStats & { open: number; mode: string }> {
  const out: Record<string, LinkStats & { open: number; mode: string }> = {};
  for (const [k, p] of cluster.proxies) out[k] = { ...p.stats, open: p.openConnections, mode: p.mode.kind };
  return out;
}

/** Each node's own file system when the disk-full fault is on (a tmpfs, in memory). */
const SMALL_DISK_MIB = 768;

/**
 * The end of the transactional workload, its producers stopped: InitProducerId for their ids (what
 * they left open is aborted), the worker given up to 30 s to commit its input up to the last stable
 * offsets, then stopped, and InitProducerId for its id. The ids whose InitProducerId kept failing.
 */
async function finishTxnWorkers(
  w: TxnWorkload,
  lastRecords: () => Promise<Map<number, number>>,
  log: (line: string) => void,
): Promise<{ failed: string[]; caughtUp: boolean }> {
  const failed = await w.closeOut(w.producerIds, 30_000);
  let caughtUp = false;
  const last = await lastRecords().catch(() => undefined);
  for (const until = Date.now() + 30_000; !caughtUp && Date.now() < until; await sleep(1_000))
    caughtUp = last !== undefined && w.workerCaughtUp(last);
  log(
    `chaos: txn: the worker ${caughtUp ? 'caught up with its input' : 'did NOT catch up with its input in 30 s'}`,
  );
  await w.stopWorkerNow();
  failed.push(...(await w.closeOut([CTP_ID], 30_000)));
  return { failed, caughtUp };
}

/**
 * Waits (at most `timeoutMs`) until every partition's last stable offset equals its leader's high
 * watermark; the partitions where it did not ("topic-p: ...", empty when all did).
 */
async function waitStable(
  cluster: ChaosCluster,
  w: TxnWorkload,
  topics: readonly string[],
  partitions: number,
  timeoutMs: number,
): Promise<string[]> {
  let behind: string[] = ['(never asked)'];
  for (const until = Date.now() + timeoutMs; Date.now() < until; await sleep(1_000)) {
    try {
      const states = await snapshot(cluster);
      behind = [];
      for (const topic of topics) {
        const lso = await w.lastStableOffsets(topic);
        for (let p = 0; p < partitions; p++) {
          const hw = states.find(
            (s) => s.topic === topic && s.partition === p && s.role === 'leader',
          )?.highWatermark;
          const l = lso.get(p);
          if (hw === undefined || l !== hw)
            behind.push(`${topic}-${p}: last stable offset ${l ?? '?'}, high watermark ${hw ?? '?'}`);
        }
      }
      if (behind.length === 0) return [];
    } catch (e) {
      behind = [`(no answer: ${errorMessage(e)})`];
    }
  }
  return behind;
}

/** Per fault, the longer of two lists' unavailability windows (both one per fault, in order). */
function longerWindows(a: readonly Unavailability[], b: readonly Unavailability[]): Unavailability[] {
  if (a.length === 0) return [...b];
  return a.map((u, i) => {
    const t = b[i];
    return t !== undefined && t.windowMs > u.windowMs ? t : u;
  });
}

/**
 * The unavailability windows of a run's history: the queue workload's acks=all sends on `topic`,
 * the transactional producers' transactions, or per fault the longer of the two.
 */
export function runUnavailability(
  ops: readonly Op[],
  workloads: readonly WorkloadKind[],
  topic: string,
  slowMs: number,
  txnSlowMs: number,
): Unavailability[] {
  return longerWindows(
    workloads.includes('queue') ? unavailabilityWindows(ops, topic, slowMs) : [],
    workloads.includes('txn') ? txnUnavailability(ops, txnSlowMs) : [],
  );
}

/** The checks of the workloads and the cluster as one outcome (unavailability: the longer per fault). */
function combineOutcomes(
  queue: CheckOutcome | undefined,
  cluster: readonly CheckResult[],
  txnChecks: readonly CheckResult[],
  txnWindows: readonly Unavailability[],
): CheckOutcome {
  const checks = mergeChecks([queue?.checks ?? [], cluster, txnChecks]);
  const unavailability = longerWindows(queue?.unavailability ?? [], txnWindows);
  return {
    checks,
    unavailability,
    longestUnavailabilityMs: unavailability.reduce((m, u) => Math.max(m, u.windowMs), 0),
    valid: checks.every((r) => !r.safety || r.count === 0),
    stats: queue?.stats ?? {
      sends: {},
      polls: 0,
      commits: { ok: 0, info: 0 },
      finalRecords: 0,
      churn: { created: 0, deleted: 0, failed: 0 },
      longestPollGapMs: 0,
      longestPollGapAtMs: 0,
    },
  };
}

export async function runChaos(o: RunOptions): Promise<RunReport> {
  const started = Date.now();
  const queue = o.workloads.includes('queue');
  const txn = o.workloads.includes('txn');
  if (!queue && !txn) throw new ChaosError('BadArgument', 'no workload to run');
  const topics = [...(queue ? [TOPIC] : []), ...(txn ? [TXN_INPUT, TXN_OUTPUT] : [])];
  const outDir = path.join(o.outDir, `seed-${o.seed}`);
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  if (!fs.existsSync(o.serverBin))
    throw new ChaosError('ProcessFailed', `no chronik-server at ${o.serverBin}: build it first`);
  if (txn && !fs.existsSync(o.txn.workerScript))
    throw new ChaosError('BadArgument', `no consume-transform-produce worker at "${o.txn.workerScript}"`);
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
    roles: o.roles ?? (txn ? TXN_ROLES : DEFAULT_ROLES),
  });
  fs.writeFileSync(path.join(outDir, 'schedule.json'), `${JSON.stringify(schedule, null, 2)}\n`);
  o.log(
    `chaos: seed ${o.seed}, ${o.nodes} nodes, ${o.durationMs / 1000} s, workloads ${o.workloads.join(',')}, faults ${faults.join(',')}: ${schedule.length} planned; output in ${outDir}`,
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
      String(OFFSETS_PARTITIONS),
      ...(txn
        ? [
            '--transaction-state-partitions',
            String(TXN_STATE_PARTITIONS),
            // Transactions past their timeout (a producer given up on) are aborted within a second.
            '--transaction-abort-interval-ms',
            '1000',
          ]
        : []),
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
    workloads: [...o.workloads],
    topic: queue ? TOPIC : TXN_INPUT,
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
  let txnWorkload: TxnWorkload | undefined;
  let txnClosed = { failed: [] as string[], caughtUp: true };
  try {
    for (const id of cluster.ids) cluster.start(id);
    await waitFor(
      'the cluster to form (one metadata leader, every broker registered)',
      async () => {
        const views = await Promise.all(cluster.ids.map((id) => cluster.clusterView(id)));
        const leaders = new Set(views.map((v) => v.metadataGroup.leaderId));
        const [leader] = [...leaders];
        if (leaders.size !== 1 || leader === undefined || leader < 0) return undefined;
        return views.every((v) => v.brokers.length >= o.nodes) ? true : undefined;
      },
      120_000,
    );
    for (const topic of topics)
      await createTopic(kafkaClient(cluster.brokers(), 'chaos-setup'), topic, o.partitions, rf);
    const replicasOf = new Map<string, number[]>();
    await waitFor(
      `leaders for ${topics.join(', ')}`,
      async () => {
        const s = await snapshot(cluster);
        for (const topic of topics)
          for (let p = 0; p < o.partitions; p++) {
            const lead = s.find((x) => x.topic === topic && x.partition === p && x.role === 'leader');
            if (!lead) return undefined;
            replicasOf.set(
              `${topic}-${p}`,
              s.filter((x) => x.topic === topic && x.partition === p).map((x) => x.node),
            );
          }
        return true;
      },
      60_000,
    );
    o.log(`chaos: cluster up in ${((Date.now() - started) / 1000).toFixed(1)} s; starting the workload`);

    if (queue) {
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
    }
    if (txn) {
      txnWorkload = new TxnWorkload({
        ...o.txn,
        brokers: cluster.brokers(),
        input: TXN_INPUT,
        output: TXN_OUTPUT,
        partitions: o.partitions,
        seed: o.seed,
        history,
        log: o.log,
        clientLogFile: path.join(outDir, 'clients.log'),
        workerLogFile: path.join(outDir, 'ctp-worker.log'),
      });
      txnWorkload.start();
    }
    const ctx: NemesisContext = {
      cluster,
      history,
      topic: report.topic,
      partitions: o.partitions,
      log: o.log,
      ...(txnWorkload !== undefined
        ? {
            coordinators: {
              transactionalIds: txnWorkload.transactionalIds,
              transactionStatePartitions: TXN_STATE_PARTITIONS,
              groups: [CTP_GROUP, ...(queue ? [GROUP] : [])],
              offsetsPartitions: OFFSETS_PARTITIONS,
            },
          }
        : {}),
    };
    const nemesis = new Nemesis(ctx, schedule);
    const nemesisDone = nemesis.run();
    await sleep(o.durationMs);
    nemesis.stop();
    await nemesisDone;
    await nemesis.healAll();
    o.log(`chaos: healed at ${(history.now() / 1000).toFixed(1)} s; the workload goes on for 5 s`);
    await sleep(5_000);
    await Promise.all([workload?.stopWriters(), txnWorkload?.stopProducers()]);
    if (txnWorkload !== undefined) {
      // The last committed record of each input partition (read_committed, once the producers'
      // transactions are all closed).
      const lastRecords = async (): Promise<Map<number, number>> => {
        const last = new Map<number, number>();
        for (let p = 0; p < o.partitions; p++) {
          const r = await readPartition({
            kcat: o.kcat,
            bootstrap: cluster.brokers()[p % o.nodes] as string,
            topic: TXN_INPUT,
            partition: p,
            timeoutMs: 30_000,
            maxRecords: 2_000_000,
            isolation: 'read_committed',
          });
          const end = r.records[r.records.length - 1];
          if (!r.complete)
            throw new ChaosError('Timeout', `${TXN_INPUT}-${p}: ${r.error ?? 'incomplete read'}`);
          if (end !== undefined) last.set(p, end.offset);
        }
        return last;
      };
      txnClosed = await finishTxnWorkers(txnWorkload, lastRecords, o.log);
    }

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
          const sig = JSON.stringify(s.filter((x) => topics.includes(x.topic)));
          const ok = agreed(s, topics, o.partitions, replicasOf) && sig === prev;
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
    if (workload !== undefined) {
      for (let i = 0; i < 60 && !caughtUp(); i++) await sleep(500);
      await workload.stopConsumers();
    }

    // Final reads: every partition, twice, through two different bootstrap brokers.
    const finalReads: FinalRead[] = [];
    const brokers = cluster.brokers();
    const read = (topic: string, p: number, via: string, isolation?: TxnRead['isolation']) =>
      readPartition({
        kcat: o.kcat,
        bootstrap: via,
        topic,
        partition: p,
        timeoutMs: 90_000,
        maxRecords: 2_000_000,
        ...(isolation !== undefined ? { isolation } : {}),
      });
    const vias = (p: number): string[] =>
      [brokers[p % brokers.length], brokers[(p + 1) % brokers.length]].filter((b) => b !== undefined);
    if (queue)
      for (let p = 0; p < o.partitions; p++)
        for (const via of vias(p)) finalReads.push(await read(TOPIC, p, via));
    // The transactional topics: once their last stable offsets reach their high watermarks,
    // read_committed twice and read_uncommitted once per partition; and the group's offsets.
    const txnReads: TxnRead[] = [];
    let unstable: string[] = [];
    let committedOffsets: Record<string, number> | undefined;
    if (txnWorkload !== undefined) {
      unstable = await waitStable(cluster, txnWorkload, [TXN_INPUT, TXN_OUTPUT], o.partitions, 60_000);
      for (const topic of [TXN_INPUT, TXN_OUTPUT])
        for (let p = 0; p < o.partitions; p++) {
          const [first, second] = vias(p) as [string, string | undefined];
          for (const [via, isolation] of [
            [first, 'read_committed'],
            [second ?? first, 'read_committed'],
            [first, 'read_uncommitted'],
          ] as const)
            txnReads.push({ ...(await read(topic, p, via, isolation)), topic, isolation });
        }
      committedOffsets = await txnWorkload.committedOffsets().catch((e: unknown) => {
        o.log(`chaos: txn: the group's committed offsets could not be read: ${errorMessage(e)}`);
        return undefined;
      });
    }
    // The state the checks see: the replicas agreeing again, or as they are after 30 s. A leadership
    // move after the convergence — a preferred replica taking its partition back 10 s after it
    // returned (a node that rejoined, or was restarted late), an election — is not a divergence,
    // but a snapshot taken in its middle shows replicas without a leader.
    let finalState = last;
    await waitFor(
      'the replicas to agree after the final reads',
      async () => {
        finalState = await snapshot(cluster);
        return agreed(finalState, topics, o.partitions, replicasOf) ? true : undefined;
      },
      30_000,
      1_000,
    ).catch((e: unknown) => o.log(`chaos: ${errorMessage(e)}`));
    const topicsPresent = [...new Set(finalState.map((s) => s.topic))];
    history.close();
    // Stop every node cleanly and compare the Raft logs on disk.
    await Promise.all(cluster.ids.map((id) => cluster.stop(id)));
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), `chronik-chaos-logs-${o.seed}-`));
    const replicaLogs = await compareReplicaLogs(
      new Map<number | string, string>([
        ...cluster.nodes.map((n): [number, string] => [n.id, n.dataDir]),
        // A node that left and joined anew: its directory from before, beside its new one.
        ...cluster.departed.map((d, i): [string, string] => [
          `${d.id} (before leaving, #${i + 1})`,
          d.dataDir,
        ]),
      ]),
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
    const queueOutcome = queue
      ? checkQueue({
          ops: history.ops,
          topic: TOPIC,
          partitions: o.partitions,
          finalReads,
          replicas: finalState,
          converged: report.converged,
          topicsPresent,
          slowMs: o.slowMs,
          replicaLogs,
        })
      : undefined;
    const txnOutcome: TxnCheckOutcome | undefined = txnWorkload
      ? checkTxn({
          ops: history.ops,
          input: TXN_INPUT,
          output: TXN_OUTPUT,
          partitions: o.partitions,
          reads: txnReads,
          committedOffsets,
          unstable,
          closeOutFailed: txnClosed.failed,
        })
      : undefined;
    const outcome = combineOutcomes(
      queueOutcome,
      clusterChecks({
        ops: history.ops,
        replicas: finalState,
        converged: report.converged,
        replicaLogs,
        topics: topics.map((topic) => ({ topic, partitions: o.partitions })),
      }),
      txnOutcome?.checks ?? [],
      txn ? txnUnavailability(history.ops, o.txn.slowMs) : [],
    );
    if (txnOutcome !== undefined) report.txn = txnOutcome.stats;
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
    fs.writeFileSync(
      path.join(outDir, 'final-reads.json'),
      `${JSON.stringify([...finalReads, ...txnReads])}\n`,
    );
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
    if (txnWorkload) {
      await bounded(txnWorkload.stopProducers(), 20_000);
      await bounded(txnWorkload.stopWorkerNow(), 20_000);
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
    runChartSvg(`seed ${o.seed}: ${o.nodes} nodes, faults shaded`, history.ops, report.topic, bands, endMs),
  );
  fs.writeFileSync(path.join(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(path.join(outDir, 'report.md'), reportMarkdown(report));
  return report;
}
