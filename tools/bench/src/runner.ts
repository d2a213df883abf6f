// Orchestration: start each Chronik deployment beside its JetStream peer (single node and R1, then
// 3 nodes and R3), run their throughput rows alternating back to back, then each one's other
// scenarios; measure the hardware; hand the BenchRun to the report. Both systems of a pair stay
// started during its throughput rows (the idle one costs little CPU); they never load at once.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BenchOptions } from './args.js';
import { cliBinFor, createTestCertificates } from './certs.js';
import { startCluster, startStandalone } from './chronik.js';
import type { ChronikDeployment } from './chronik.js';
import { runFetchConsume } from './consume.js';
import { errorMessage } from './errors.js';
import { machineInfo, measureDisk, measureFsyncLatency, measureLoopback } from './hardware.js';
import { prepareJetStream, runDriver, startJetStream, JETSTREAM_DEBIAN_PACKAGES } from './jetstream.js';
import type { JetStreamTools } from './jetstream.js';
import { KafkaConnection, createTopic, deleteTopic, waitForLeaders } from './kafka.js';
import { runFailover } from './failover.js';
import type { LibrdkafkaTools } from './librdkafka.js';
import { librdkafkaProduce, prepareLibrdkafka } from './librdkafka.js';
import { kcatConsume, kcatProduce, prepareRecordFile } from './kcat.js';
import type { Acks, ChronikThroughputCase, Plan, ProduceCase, TlsCase, TransactionCase } from './plan.js';
import { buildPlan, caseLabel, throughputSchedule } from './plan.js';
import { DEFAULT_REQUEST_BYTES, FIXED_RATE_IN_FLIGHT, MAX_MODE_IN_FLIGHT, runProduce } from './produce.js';
import type { LoadResult } from './produce.js';
import { ServerMeter, processCpuSeconds, settle, which } from './procs.js';
import { median } from './stats.js';
import type { BenchRun, DeploymentStatus, ScenarioResult, SystemId } from './results.js';

export interface RunnerContext {
  options: BenchOptions;
  /** tools/bench (for the Go source and the build cache). */
  packageDir: string;
  /** apps/server/bin/chronik-server */
  serverBin: string;
  invocation: string;
  log: (line: string) => void;
}

function summary(r: LoadResult | undefined): string {
  if (r === undefined) return 'no result';
  const lat =
    r.p99Ms !== undefined && Number.isFinite(r.p99Ms)
      ? `, p50 ${r.p50Ms?.toFixed(2)} p99 ${r.p99Ms.toFixed(2)} ms`
      : '';
  return `${r.ok ? '' : 'FAILED '}${Math.round(r.msgPerSec)} msg/s, ${r.mbPerSec.toFixed(1)} MB/s${lat}${r.error ? ` (${r.error})` : ''}`;
}

export async function runBenchmark(ctx: RunnerContext): Promise<BenchRun> {
  const { options, log } = ctx;
  const plan: Plan = buildPlan(options.quick, options.scale, options.pairs);
  // --only: Chronik's runs of those parts (after its warm-up), nothing else.
  const everything = options.only === undefined;
  const startedAt = new Date().toISOString();
  const workDir = fs.mkdtempSync(path.join(options.dataDir ?? os.tmpdir(), 'chronik-bench-'));
  const scenarios: ScenarioResult[] = [];
  const deployments: DeploymentStatus[] = [];
  const setupCommands: string[] = [];
  const notes: string[] = [];
  const machine = machineInfo(workDir, path.dirname(path.dirname(path.dirname(ctx.serverBin))));
  const run: BenchRun = {
    startedAt,
    finishedAt: '',
    quick: options.quick,
    invocation: ctx.invocation,
    machine,
    loadAverageAtEnd: [],
    disk: [],
    deployments,
    scenarios,
    setupCommands,
    notes,
    ...(options.only !== undefined ? { only: options.only } : {}),
  };
  const record = (s: ScenarioResult): void => {
    scenarios.push(s);
    log(
      `  ${s.system} ${s.kind} ${s.client} ${caseLabel(s)}${s.offeredPerSec ? ` @ ${Math.round(s.offeredPerSec)} msg/s` : ''}: ${s.unavailable ? `not available (${s.unavailable})` : summary(s.result)}`,
    );
  };
  try {
    if (options.hardware && everything) {
      log('hardware: disk and loopback');
      run.disk = await measureDisk(workDir, plan.diskBytes);
      for (const d of run.disk)
        log(`  ${d.name}: ${d.mbPerSec.toFixed(1)} MB/s${d.error ? ` (${d.error})` : ''}`);
      const fl = await measureFsyncLatency(workDir, options.quick ? 1 : 3);
      if (fl !== undefined) {
        run.fsyncLatency = fl;
        log(
          `  4 KiB write + fdatasync: p50 ${fl.p50Ms.toFixed(2)} ms, p99 ${fl.p99Ms.toFixed(2)} ms${fl.error ? ` (${fl.error})` : ''}`,
        );
      }
      run.loopback = await measureLoopback(plan.loopbackSeconds);
      log(`  loopback: ${run.loopback.mbPerSec.toFixed(1)} MB/s`);
    }

    // The JetStream driver, for R1 and R3.
    let js: JetStreamTools | undefined;
    let jsProblem: string | undefined;
    if (!everything) jsProblem = `skipped (--only ${options.only?.join(',') ?? ''})`;
    else if (options.jetstream) {
      const prep = await prepareJetStream(ctx.packageDir, path.join(ctx.packageDir, '.cache'));
      if (prep.ok) {
        js = prep.tools;
        setupCommands.push(`# JetStream driver\n${prep.tools.buildCommand}`);
      } else jsProblem = prep.reason;
    } else jsProblem = 'skipped (--no-jetstream)';

    // Chronik, single node (with --only, only the parts that run on it: transactions), beside
    // JetStream R1: their throughput rows alternate; then each one's other scenarios.
    let chronikMax: number | undefined;
    const single =
      everything || wantsTransactions(ctx)
        ? (log('chronik: standalone'), await startStandalone(ctx.serverBin, workDir))
        : undefined;
    if (single !== undefined)
      deployments.push({
        system: 'chronik-1',
        available: single.ok,
        ...(single.ok ? {} : { reason: single.reason }),
        commands: single.ok ? single.deployment.commands : single.commands,
      });
    const r1 = everything
      ? await openJetStream(ctx, plan, js, jsProblem, 1, plan.jetstreamR1, workDir, deployments, record)
      : undefined;
    try {
      if (single === undefined) {
        // nothing: the --only parts do not use it
      } else if (single.ok) {
        try {
          chronikMax = await chronikScenarios(
            ctx,
            plan,
            single.deployment,
            'chronik-1',
            plan.produce,
            workDir,
            record,
            setupCommands,
            run,
            r1,
          );
        } finally {
          await single.deployment.stop();
        }
      } else {
        log(`  not available: ${single.reason}`);
        recordUnavailableTransactions(ctx, plan, 'chronik-1', single.reason, record);
        if (r1 !== undefined) await pairedThroughput(plan, [], undefined, r1);
      }
      await r1?.finish(chronikMax, plan.latencyFractions);
    } finally {
      await r1?.stop();
    }

    // Chronik, single node with a PLAINTEXT and an SSL listener: TLS produce beside plaintext.
    if (wantsTls(ctx)) await tlsScenarios(ctx, plan, workDir, record, run);

    // Chronik, 3 nodes, beside JetStream R3.
    let clusterMax: number | undefined;
    const openR3 = (): Promise<JetStreamSession | undefined> =>
      everything
        ? openJetStream(
            ctx,
            plan,
            js,
            options.cluster ? jsProblem : 'skipped (--no-cluster)',
            3,
            plan.jetstreamR3,
            workDir,
            deployments,
            record,
          )
        : Promise.resolve(undefined);
    if (options.cluster && !everything && !wantsTransactions(ctx)) {
      // --only parts that do not use the cluster (tls)
    } else if (options.cluster) {
      log('chronik: 3-node raft-cluster');
      const cluster = await startCluster(ctx.serverBin, workDir, options.quick ? 45_000 : 90_000);
      deployments.push({
        system: 'chronik-3',
        available: cluster.ok,
        ...(cluster.ok ? {} : { reason: cluster.reason }),
        commands: cluster.ok ? cluster.deployment.commands : cluster.commands,
      });
      const r3 = await openR3();
      try {
        if (cluster.ok) {
          try {
            clusterMax = await chronikScenarios(
              ctx,
              plan,
              cluster.deployment,
              'chronik-3',
              plan.clusterProduce,
              workDir,
              record,
              setupCommands,
              run,
              r3,
            );
          } finally {
            await cluster.deployment.stop();
          }
        } else {
          log(`  not available: ${cluster.reason}`);
          if (everything)
            for (const c of plan.clusterProduce)
              record({
                system: 'chronik-3',
                client: 'own',
                kind: 'produce',
                ...c,
                unavailable: cluster.reason,
              });
          recordUnavailableTransactions(ctx, plan, 'chronik-3', cluster.reason, record);
          if (everything) run.failoverUnavailable = cluster.reason;
          if (r3 !== undefined) await pairedThroughput(plan, [], undefined, r3);
        }
        await r3?.finish(clusterMax, plan.clusterLatencyFractions);
      } finally {
        await r3?.stop();
      }
    } else {
      if (everything) run.failoverUnavailable = 'skipped (--no-cluster)';
      deployments.push({
        system: 'chronik-3',
        available: false,
        reason: 'skipped (--no-cluster)',
        commands: [],
      });
      await openR3();
    }
    if (jsProblem !== undefined && options.jetstream && everything)
      notes.push(
        `JetStream was not available (${jsProblem}). Install the Debian packages \`${JETSTREAM_DEBIAN_PACKAGES}\` to measure it.`,
      );
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
  run.finishedAt = new Date().toISOString();
  run.loadAverageAtEnd = os.loadavg();
  return run;
}

let topicSeq = 0;

/**
 * Runs the Chronik scenarios against a started deployment; returns the max rate the fixed-rate runs
 * were based on (single node: 1 KiB, 1 p, acks=1; cluster: 1 KiB, 1 p, acks=all).
 */
async function chronikScenarios(
  ctx: RunnerContext,
  plan: Plan,
  d: ChronikDeployment,
  system: SystemId,
  cases: ProduceCase[],
  workDir: string,
  record: (s: ScenarioResult) => void,
  setupCommands: string[],
  run: BenchRun,
  peer?: JetStreamSession,
): Promise<number | undefined> {
  const scenarios = run.scenarios;
  const pids = (): number[] => chronikPids(d);
  const everything = ctx.options.only === undefined;
  const admin = await KafkaConnection.connect(d.bootstrap);
  const { inFlight, requestBytes } = ctx.options;
  let max: number | undefined;
  let longTopic: string | undefined;
  const newTopic = async (c: { partitions: number }): Promise<string> => {
    const name = `bench-${process.pid}-${++topicSeq}`;
    await createTopic(admin, name, c.partitions, d.replicationFactor);
    return name;
  };
  const ownCommand = (topic: string, c: ProduceCase, rate?: number): string =>
    `# own generator: Produce v9 to ${topic} (${c.partitions} partitions, RF ${d.replicationFactor}), ${c.records} records of ${c.recordBytes} B, acks=${c.acks === -1 ? 'all' : '1'}, ${
      rate
        ? `${inFlight ?? FIXED_RATE_IN_FLIGHT} requests in flight of at most ~${requestBytes ?? DEFAULT_REQUEST_BYTES} B, fixed rate ${Math.round(rate)} msg/s in 1 ms ticks`
        : `${inFlight ?? MAX_MODE_IN_FLIGHT} requests in flight, ~${requestBytes ?? DEFAULT_REQUEST_BYTES} B per request`
    }`;
  try {
    // Warm-up, not recorded: a freshly started Node.js broker runs its first seconds of load in
    // the interpreter, which would count against whichever scenario happens to come first.
    try {
      const topic = await newTopic({ partitions: 1 });
      await runProduce({
        bootstrap: d.bootstrap,
        topic,
        partitions: 1,
        recordBytes: 1024,
        acks: -1,
        records: plan.warmupRecords,
        inFlight,
        requestBytes,
      });
      await dropTopic(ctx, admin, topic);
    } catch (e) {
      ctx.log(`  warm-up failed (continuing): ${errorMessage(e)}`);
    }
    // The throughput rows, alternating with the JetStream peer's (which warms up first).
    const longLogRates: number[] = [];
    const kcatOn = ctx.options.kcat && everything && which('kcat') !== undefined;
    const kcatCases = system === 'chronik-1' ? plan.kcat : plan.clusterKcat;
    const ownProduce = async (c: ProduceCase, round: number, last: boolean): Promise<void> => {
      let topic: string | undefined;
      try {
        topic = await newTopic(c);
        const m = ServerMeter.start(pids());
        const result = await runProduce({
          bootstrap: d.bootstrap,
          topic,
          partitions: c.partitions,
          recordBytes: c.recordBytes,
          acks: c.acks,
          records: c.records,
          inFlight,
          requestBytes,
        });
        metered(result, m);
        record({
          system,
          client: 'own',
          kind: 'produce',
          ...c,
          round,
          result,
          command: ownCommand(topic, c),
        });
        if (c === plan.longLog && system === 'chronik-1') {
          if (result.ok) longLogRates.push(result.msgPerSec);
          if (last) {
            longTopic = topic;
            return; // kept for the consume runs
          }
        }
      } catch (e) {
        record({ system, client: 'own', kind: 'produce', ...c, round, result: failed(errorMessage(e)) });
      }
      if (topic !== undefined) await dropTopic(ctx, admin, topic);
    };
    // librdkafka produce from prepared files (the cluster: bootstrap with all three nodes).
    const kcatProduceCase = async (c: ProduceCase, round: number): Promise<void> => {
      const file = path.join(workDir, `records-${c.recordBytes}-${c.records}.txt`);
      if (!fs.existsSync(file)) {
        prepareRecordFile(file, c.recordBytes, c.records);
        setupCommands.push(
          `# ${path.basename(file)}: ${c.records} lines of ${c.recordBytes} letters (written by the benchmark)`,
        );
      }
      let topic: string | undefined;
      try {
        topic = await newTopic(c);
        await waitForLeaders(admin, topic, c.partitions, 30_000);
        const m = ServerMeter.start(pids());
        const r = await kcatProduce(
          system === 'chronik-1' ? d.bootstrap : d.brokers,
          topic,
          file,
          c.recordBytes,
          c.records,
          c.acks,
        );
        metered(r.result, m);
        record({
          system,
          client: 'kcat',
          kind: 'produce',
          ...c,
          round,
          result: r.result,
          command: r.command,
        });
      } catch (e) {
        record({ system, client: 'kcat', kind: 'produce', ...c, round, result: failed(errorMessage(e)) });
      }
      if (topic !== undefined) await dropTopic(ctx, admin, topic);
    };
    if (everything) {
      const chronikCases: ChronikThroughputCase[] = [
        ...cases.map((c) => ({ client: 'own' as const, case: c })),
        ...(kcatOn ? kcatCases.map((c) => ({ client: 'kcat' as const, case: c })) : []),
      ];
      await pairedThroughput(
        plan,
        chronikCases,
        (x, round, last) =>
          x.client === 'own' ? ownProduce(x.case, round, last) : kcatProduceCase(x.case, round),
        peer,
      );
      for (const f of fs.readdirSync(workDir))
        if (f.startsWith('records-')) fs.rmSync(path.join(workDir, f), { force: true });
      if (longLogRates.length > 0) max = median(longLogRates);
    }
    if (system === 'chronik-3' && everything) {
      // The cluster's consume runs read a long log of their own (the cluster's produce cases do not
      // include it): produced here, not a produce row. Issue 24: a cluster leader's reads beside a
      // single node's.
      try {
        const c = plan.longLog;
        const topic = await newTopic(c);
        const r = await runProduce({
          bootstrap: d.bootstrap,
          topic,
          partitions: c.partitions,
          recordBytes: c.recordBytes,
          acks: c.acks,
          records: c.records,
          inFlight,
          requestBytes,
        });
        if (r.ok) longTopic = topic;
        else await dropTopic(ctx, admin, topic);
      } catch (e) {
        ctx.log(`  the cluster's long log for the consume runs failed: ${errorMessage(e)}`);
      }
    }
    // Consume the long log from its start: own Fetch loop, then librdkafka.
    if (longTopic !== undefined) {
      const c = plan.longLog;
      try {
        const m = ServerMeter.start(pids());
        const result = await runFetchConsume({
          bootstrap: d.bootstrap,
          topic: longTopic,
          partitions: c.partitions,
          recordBytes: c.recordBytes,
          records: c.records,
        });
        metered(result, m);
        record({
          system,
          client: 'own',
          kind: 'consume',
          ...c,
          result,
          command: `# own Fetch v12 loop from offset 0 of ${longTopic}`,
        });
      } catch (e) {
        record({ system, client: 'own', kind: 'consume', ...c, result: failed(errorMessage(e)) });
      }
      if (ctx.options.kcat && which('kcat') !== undefined) {
        const m = ServerMeter.start(pids());
        const r = await kcatConsume(d.bootstrap, longTopic, c.recordBytes, c.records);
        metered(r.result, m);
        record({ system, client: 'kcat', kind: 'consume', ...c, result: r.result, command: r.command });
      }
      await dropTopic(ctx, admin, longTopic);
    }
    // Fixed-rate latency runs at fractions of the measured max: single node 1 KiB acks=1; the
    // cluster 1 KiB acks=all (its target case), 1 partition.
    const latencyAcks: Acks = system === 'chronik-1' ? 1 : -1;
    if (system === 'chronik-3') {
      // The median of the alternated runs of the cluster's 1 KiB, 1 partition, acks=all row.
      const rates = scenarios
        .filter(
          (x) =>
            x.system === 'chronik-3' &&
            x.client === 'own' &&
            x.kind === 'produce' &&
            x.recordBytes === 1024 &&
            x.partitions === 1 &&
            x.acks === -1 &&
            x.result?.ok === true,
        )
        .map((x) => x.result!.msgPerSec);
      if (rates.length > 0) max = median(rates);
    }
    if (max !== undefined) {
      for (const fraction of system === 'chronik-1' ? plan.latencyFractions : plan.clusterLatencyFractions) {
        const rate = max * fraction;
        const c: ProduceCase = {
          recordBytes: 1024,
          partitions: 1,
          acks: latencyAcks,
          records: Math.max(100, Math.round(rate * plan.latencySeconds)),
        };
        let topic: string | undefined;
        try {
          topic = await newTopic(c);
          await settle();
          const m = ServerMeter.start(pids());
          const result = await runProduce({
            bootstrap: d.bootstrap,
            topic,
            partitions: 1,
            recordBytes: 1024,
            acks: latencyAcks,
            records: c.records,
            inFlight,
            requestBytes,
            ratePerSec: rate,
          });
          metered(result, m);
          record({
            system,
            client: 'own',
            kind: 'latency',
            ...c,
            offeredPerSec: rate,
            result,
            command: ownCommand(topic, c, rate),
          });
        } catch (e) {
          record({
            system,
            client: 'own',
            kind: 'latency',
            ...c,
            offeredPerSec: rate,
            result: failed(errorMessage(e)),
          });
        }
        if (topic !== undefined) await dropTopic(ctx, admin, topic);
      }
    }
    const target: TargetScenario = { ctx, plan, d, admin, newTopic, record, run };
    if (wantsTransactions(ctx)) await transactionScenarios(target, system);
    if (!everything) return max;
    if (system === 'chronik-1') await issue8Latency(target);
    if (system === 'chronik-3') {
      await issue9Throughput(target);
      await settle();
      await failoverScenario(target);
    }
  } finally {
    admin.close();
  }
  return max;
}

/** The servers' CPU time and peak RSS of a run, from a meter started just before it. */
function metered(result: LoadResult, m: ServerMeter): void {
  const u = m.stop();
  if (u.cpuSeconds !== undefined) result.brokerCpuSeconds = u.cpuSeconds;
  if (u.peakRssBytes !== undefined) result.brokerPeakRssBytes = u.peakRssBytes;
}

/**
 * The throughput rows of a deployment pair in `throughputSchedule`'s order: each row's Chronik
 * runs and its JetStream run back to back, alternating, `plan.pairs` rounds. The peer warms up
 * first (Chronik has by then). Without a Chronik side (`chronik` empty) the peer's rows still run.
 */
async function pairedThroughput(
  plan: Plan,
  chronik: ChronikThroughputCase[],
  runChronik: ((x: ChronikThroughputCase, round: number, last: boolean) => Promise<void>) | undefined,
  peer: JetStreamSession | undefined,
): Promise<void> {
  if (peer !== undefined) await peer.warmUp();
  for (const step of throughputSchedule(chronik, peer?.cases ?? [], plan.pairs)) {
    if (step.side === 'chronik') {
      for (const x of step.cases) await runChronik?.(x, step.round, step.last);
    } else if (peer !== undefined) {
      for (const c of step.cases) await peer.produce(c, step.round, step.last);
    }
  }
}

/** A started JetStream deployment (R1 or R3) and its runs. */
interface JetStreamSession {
  /** Its throughput cases (the plan's R1 or R3 list). */
  cases: ProduceCase[];
  /** The unrecorded warm-up. */
  warmUp(): Promise<void>;
  /** One throughput run (a stream per partition); R1's long log of the last round is kept for finish(). */
  produce(c: ProduceCase, round: number, last: boolean): Promise<void>;
  /** The consume run of R1's long log, then the fixed-rate runs at Chronik's offered loads; stops it. */
  finish(chronikMax: number | undefined, latencyFractions: readonly number[]): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts JetStream R1 or R3 (undefined, with its rows recorded as not available, when it cannot
 * run). The server processes' CPU time and peak RSS are measured around each run.
 */
async function openJetStream(
  ctx: RunnerContext,
  plan: Plan,
  tools: JetStreamTools | undefined,
  problem: string | undefined,
  replicas: 1 | 3,
  cases: ProduceCase[],
  workDir: string,
  deployments: DeploymentStatus[],
  record: (s: ScenarioResult) => void,
): Promise<JetStreamSession | undefined> {
  const system: SystemId = replicas === 1 ? 'jetstream-r1' : 'jetstream-r3';
  const { log } = ctx;
  log(`jetstream: R${replicas}`);
  const unavailable = (reason: string): undefined => {
    log(`  not available: ${reason}`);
    for (const c of cases) record({ system, client: 'jsbench', kind: 'produce', ...c, unavailable: reason });
    return undefined;
  };
  if (tools === undefined || problem !== undefined) {
    deployments.push({ system, available: false, reason: problem ?? 'not available', commands: [] });
    return unavailable(problem ?? 'not available');
  }
  const started = await startJetStream(tools, workDir, replicas);
  if (!started.ok) {
    deployments.push({ system, available: false, reason: started.reason, commands: started.commands });
    return unavailable(started.reason);
  }
  const d = started.deployment;
  deployments.push({ system, available: true, commands: d.commands });
  const status = deployments.length - 1;
  let seq = 0;
  let anyStream = false;
  /** R1's long log, written by its last throughput round and read back from the start in finish(). */
  let longLog: { c: ProduceCase; prefix: string } | undefined;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await d.stop();
  };
  return {
    cases,
    stop,
    async warmUp(): Promise<void> {
      // Not recorded, as for Chronik: the same records to a scratch stream.
      const warm = `w${++seq}`;
      if ((await runDriver(tools, d, { mode: 'setup', streams: 1, prefix: warm, timeoutS: 60 })).result.ok) {
        await runDriver(tools, d, {
          mode: 'pub',
          streams: 1,
          prefix: warm,
          recordBytes: 1024,
          count: plan.warmupRecords,
          maxPending: 4096,
        });
        await runDriver(tools, d, { mode: 'delete', streams: 1, prefix: warm });
      }
    },
    async produce(c: ProduceCase, round: number, last: boolean): Promise<void> {
      const prefix = `b${++seq}`;
      const setup = await runDriver(tools, d, { mode: 'setup', streams: c.partitions, prefix, timeoutS: 60 });
      if (!setup.result.ok) {
        record({
          system,
          client: 'jsbench',
          kind: 'produce',
          ...c,
          round,
          result: setup.result,
          command: setup.command,
        });
        if (!anyStream)
          // Not one stream could be created: the deployment does not work.
          deployments[status] = {
            system,
            available: false,
            reason: `stream creation failed: ${setup.result.error ?? ''}`,
            commands: d.commands,
          };
        return;
      }
      anyStream = true;
      const m = ServerMeter.start(d.pids());
      const pub = await runDriver(tools, d, {
        mode: 'pub',
        streams: c.partitions,
        prefix,
        recordBytes: c.recordBytes,
        count: c.records,
        maxPending: 4096,
      });
      metered(pub.result, m);
      record({
        system,
        client: 'jsbench',
        kind: 'produce',
        ...c,
        round,
        result: pub.result,
        command: pub.command,
      });
      if (c === plan.longLog && replicas === 1 && last && pub.result.ok) {
        longLog = { c, prefix }; // consumed in finish(), after the alternated rows, as Chronik's is
        return;
      }
      await runDriver(tools, d, { mode: 'delete', streams: c.partitions, prefix });
    },
    async finish(chronikMax: number | undefined, latencyFractions: readonly number[]): Promise<void> {
      try {
        if (longLog !== undefined) {
          const { c, prefix } = longLog;
          longLog = undefined;
          const m = ServerMeter.start(d.pids());
          const sub = await runDriver(tools, d, {
            mode: 'sub',
            streams: c.partitions,
            prefix,
            recordBytes: c.recordBytes,
            count: c.records,
          });
          metered(sub.result, m);
          record({
            system,
            client: 'jsbench',
            kind: 'consume',
            ...c,
            result: sub.result,
            command: sub.command,
          });
          await runDriver(tools, d, { mode: 'delete', streams: c.partitions, prefix });
        }
        if (chronikMax === undefined) return;
        // The same offered loads as Chronik's fixed-rate runs (R1: the single node's, acks=1; R3: the cluster's, acks=all).
        for (const fraction of latencyFractions) {
          const rate = chronikMax * fraction;
          const c: ProduceCase = {
            recordBytes: 1024,
            partitions: 1,
            acks: replicas === 1 ? 1 : -1,
            records: Math.max(100, Math.round(rate * plan.latencySeconds)),
          };
          const prefix = `l${++seq}`;
          await runDriver(tools, d, { mode: 'setup', streams: 1, prefix, timeoutS: 60 });
          await settle();
          const m = ServerMeter.start(d.pids());
          const pub = await runDriver(tools, d, {
            mode: 'pub',
            streams: 1,
            prefix,
            recordBytes: 1024,
            count: c.records,
            ratePerSec: rate,
            maxPending: 4096,
          });
          metered(pub.result, m);
          record({
            system,
            client: 'jsbench',
            kind: 'latency',
            ...c,
            offeredPerSec: rate,
            result: pub.result,
            command: pub.command,
          });
          await runDriver(tools, d, { mode: 'delete', streams: 1, prefix });
        }
      } finally {
        await stop();
      }
    },
  };
}

/** Deletes a benchmark topic; a failure is logged (later runs then share the broker with its data). */
async function dropTopic(ctx: RunnerContext, admin: KafkaConnection, topic: string): Promise<void> {
  const err = await deleteTopic(admin, topic);
  if (err !== null)
    ctx.log(`  could not delete topic ${topic} (later runs share the broker with its data): ${err}`);
}

function failed(error: string): LoadResult {
  return {
    ok: false,
    msgs: 0,
    bytes: 0,
    seconds: 0,
    msgPerSec: Number.NaN,
    mbPerSec: Number.NaN,
    errors: 1,
    error,
  };
}

/** What the target scenarios (issue 8 latency, issue 9 throughput and failover) run with. */
interface TargetScenario {
  ctx: RunnerContext;
  plan: Plan;
  d: ChronikDeployment;
  admin: KafkaConnection;
  newTopic: (c: { partitions: number }) => Promise<string>;
  record: (s: ScenarioResult) => void;
  run: BenchRun;
}

/** The librdkafka driver of each run, built and checked once. */
const preparedTools = new WeakMap<BenchRun, LibrdkafkaTools>();
/** The run's librdkafka driver (undefined: not available, the reason is in run). */
function librdkafkaTools(ctx: RunnerContext, run: BenchRun): LibrdkafkaTools | undefined {
  if (run.librdkafkaUnavailable !== undefined) return undefined;
  const known = preparedTools.get(run);
  if (known !== undefined) return known;
  const prep = prepareLibrdkafka(ctx.packageDir, path.join(ctx.packageDir, '.cache'));
  if (!prep.ok) {
    run.librdkafkaUnavailable = prep.reason;
    ctx.log(`  librdkafka driver not available: ${prep.reason}`);
    return undefined;
  }
  preparedTools.set(run, prep.tools);
  run.machine.tools['librdkafka driver'] = prep.tools.version;
  if (prep.tools.buildCommand !== undefined)
    run.setupCommands.push(`# librdkafka driver\n${prep.tools.buildCommand}`);
  return prep.tools;
}

/**
 * Issue 8's latency target: librdkafka at a fixed rate of half the 150 MB/s target on the single
 * node (1 KiB, acks=1, 1 partition), with each linger.ms of the plan.
 */
async function issue8Latency({ ctx, plan, d, admin, newTopic, record, run }: TargetScenario): Promise<void> {
  const tools = librdkafkaTools(ctx, run);
  if (tools === undefined) return;
  const rate = plan.issue8.ratePerSec;
  const c: ProduceCase = {
    recordBytes: 1024,
    partitions: 1,
    acks: 1,
    records: Math.max(1000, Math.round(rate * plan.issue8.seconds)),
  };
  for (const linger of plan.issue8.lingersMs) {
    const settings = [`linger.ms=${linger}`];
    let topic: string | undefined;
    try {
      topic = await newTopic(c);
      await waitForLeaders(admin, topic, c.partitions, 30_000);
      await settle();
      const m = ServerMeter.start(chronikPids(d));
      const r = await librdkafkaProduce(tools, {
        brokers: d.brokers,
        topic,
        recordBytes: c.recordBytes,
        records: c.records,
        acks: c.acks,
        ratePerSec: rate,
        settings,
      });
      metered(r.result, m);
      record({
        system: 'chronik-1',
        client: 'librdkafka',
        kind: 'latency',
        ...c,
        offeredPerSec: rate,
        settings,
        result: r.result,
        command: r.command,
      });
    } catch (e) {
      record({
        system: 'chronik-1',
        client: 'librdkafka',
        kind: 'latency',
        ...c,
        offeredPerSec: rate,
        settings,
        result: failed(errorMessage(e)),
      });
    }
    if (topic !== undefined) await dropTopic(ctx, admin, topic);
  }
}

/**
 * Issue 9's throughput target: librdkafka (C or Python driver, per-message latency) against the cluster,
 * RF 3, acks=all, 256 B: a max run, then a run at the target's fixed rate (165,000 msg/s).
 */
async function issue9Throughput({
  ctx,
  plan,
  d,
  admin,
  newTopic,
  record,
  run,
}: TargetScenario): Promise<void> {
  const tools = librdkafkaTools(ctx, run);
  if (tools === undefined) return;
  const c = plan.issue9.max;
  const rateCase: ProduceCase = {
    ...c,
    records: Math.max(1000, Math.round(plan.issue9.targetPerSec * plan.issue9.rateSeconds)),
  };
  for (const [kind, cs, rate] of [
    ['produce', c, undefined],
    ['latency', rateCase, plan.issue9.targetPerSec],
  ] as const) {
    let topic: string | undefined;
    try {
      topic = await newTopic(cs);
      await waitForLeaders(admin, topic, cs.partitions, 30_000);
      if (rate !== undefined) await settle();
      const m = ServerMeter.start(chronikPids(d));
      const r = await librdkafkaProduce(tools, {
        brokers: d.brokers,
        topic,
        recordBytes: cs.recordBytes,
        records: cs.records,
        acks: cs.acks,
        ...(rate !== undefined ? { ratePerSec: rate } : {}),
      });
      metered(r.result, m);
      record({
        system: 'chronik-3',
        client: 'librdkafka',
        kind,
        ...cs,
        ...(rate !== undefined ? { offeredPerSec: rate } : {}),
        result: r.result,
        command: r.command,
      });
    } catch (e) {
      record({
        system: 'chronik-3',
        client: 'librdkafka',
        kind,
        ...cs,
        ...(rate !== undefined ? { offeredPerSec: rate } : {}),
        result: failed(errorMessage(e)),
      });
    }
    if (topic !== undefined) await dropTopic(ctx, admin, topic);
  }
}

/** Whether the run measures transactional produce (`--no-transactions` and `--only` decide). */
function wantsTransactions(ctx: RunnerContext): boolean {
  const { transactions, only } = ctx.options;
  return transactions && (only === undefined || only.includes('transactions'));
}

/** Whether the run measures TLS produce beside plaintext (`--no-tls` and `--only` decide). */
function wantsTls(ctx: RunnerContext): boolean {
  const { tls, only } = ctx.options;
  return tls && (only === undefined || only.includes('tls'));
}

/**
 * TLS produce beside plaintext: certificates made into the run's temporary directory, one
 * standalone broker with a PLAINTEXT and an SSL listener, an unrecorded warm-up over each, then the
 * plan's runs (librdkafka driver, max mode, a fresh topic per run) with the broker's CPU time taken
 * around each driver process.
 */
async function tlsScenarios(
  ctx: RunnerContext,
  plan: Plan,
  workDir: string,
  record: (s: ScenarioResult) => void,
  run: BenchRun,
): Promise<void> {
  const { log } = ctx;
  log('chronik: standalone with a PLAINTEXT and an SSL listener');
  const unavailable = (reason: string): void => {
    log(`  not available: ${reason}`);
    for (const c of plan.tls)
      record({ system: 'chronik-1', client: 'librdkafka', kind: 'tls', ...c, unavailable: reason });
  };
  const tools = librdkafkaTools(ctx, run);
  if (tools === undefined) return unavailable(run.librdkafkaUnavailable ?? 'no librdkafka driver');
  const made = await createTestCertificates(cliBinFor(ctx.serverBin), path.join(workDir, 'certs'));
  if (!made.ok) return unavailable(made.reason);
  const { certs } = made;
  run.setupCommands.push(certs.command);
  const started = await startStandalone(ctx.serverBin, workDir, certs);
  run.deployments.push({
    system: 'chronik-1',
    variant: 'PLAINTEXT and SSL listeners',
    available: started.ok,
    ...(started.ok ? {} : { reason: started.reason }),
    commands: started.ok ? started.deployment.commands : started.commands,
  });
  if (!started.ok) return unavailable(started.reason);
  const d = started.deployment;
  const admin = await KafkaConnection.connect(d.bootstrap);
  const sslSettings = ['security.protocol=ssl', `ssl.ca.location=${certs.caFile}`];
  const produceOnce = async (c: TlsCase): Promise<{ result: LoadResult; command: string }> => {
    const topic = `bench-${process.pid}-${++topicSeq}`;
    await createTopic(admin, topic, c.partitions, d.replicationFactor);
    try {
      await waitForLeaders(admin, topic, c.partitions, 30_000);
      const cpuBefore = brokersCpuSeconds(d);
      const r = await librdkafkaProduce(tools, {
        brokers: c.security === 'ssl' ? (d.sslBrokers ?? []) : d.brokers,
        topic,
        recordBytes: c.recordBytes,
        records: c.records,
        acks: c.acks,
        ...(c.security === 'ssl' ? { settings: sslSettings } : {}),
      });
      const cpuAfter = brokersCpuSeconds(d);
      if (cpuBefore !== undefined && cpuAfter !== undefined) r.result.brokerCpuSeconds = cpuAfter - cpuBefore;
      return r;
    } finally {
      await dropTopic(ctx, admin, topic);
    }
  };
  try {
    // Warm-up, not recorded: the broker's usual one (own generator), then a short run over each listener.
    try {
      const topic = `bench-${process.pid}-${++topicSeq}`;
      await createTopic(admin, topic, 1, d.replicationFactor);
      await runProduce({
        bootstrap: d.bootstrap,
        topic,
        partitions: 1,
        recordBytes: 1024,
        acks: -1,
        records: plan.warmupRecords,
      });
      await dropTopic(ctx, admin, topic);
      for (const security of ['plaintext', 'ssl'] as const) {
        const first = plan.tls[0];
        if (first === undefined) break;
        const warm = await produceOnce({
          ...first,
          security,
          records: Math.max(1000, Math.round(first.records / 4)),
        });
        if (!warm.result.ok) log(`  ${security} warm-up failed (continuing): ${warm.result.error ?? ''}`);
      }
    } catch (e) {
      log(`  warm-up failed (continuing): ${errorMessage(e)}`);
    }
    await settle();
    for (const c of plan.tls) {
      const scenario = {
        system: 'chronik-1',
        client: 'librdkafka',
        kind: 'tls',
        ...c,
        ...(c.security === 'ssl' ? { settings: sslSettings } : {}),
      } as const;
      try {
        const r = await produceOnce(c);
        record({ ...scenario, result: r.result, command: r.command });
      } catch (e) {
        record({ ...scenario, result: failed(errorMessage(e)) });
      }
    }
  } finally {
    admin.close();
    await d.stop();
  }
}

/** The transactional runs of a deployment that did not start: not available, with the reason. */
function recordUnavailableTransactions(
  ctx: RunnerContext,
  plan: Plan,
  system: SystemId,
  reason: string,
  record: (s: ScenarioResult) => void,
): void {
  if (!wantsTransactions(ctx)) return;
  for (const c of plan.transactions)
    record({ system, client: 'librdkafka', kind: 'transactions', ...c, unavailable: reason });
}

/** The process ids of a Chronik deployment's nodes (as they are now: a restarted node has a new one). */
function chronikPids(d: ChronikDeployment): number[] {
  return d.nodes.flatMap((n) => (n.service.pid === undefined ? [] : [n.service.pid]));
}

/** CPU seconds used so far by every node's process together; undefined when any is unknown. */
function brokersCpuSeconds(d: ChronikDeployment): number | undefined {
  let sum = 0;
  for (const n of d.nodes) {
    const pid = n.service.pid;
    const s = pid === undefined ? undefined : processCpuSeconds(pid);
    if (s === undefined) return undefined;
    sum += s;
  }
  return sum;
}

/**
 * Transactional produce beside the idempotent producer (librdkafka driver, acks=all, a fresh topic
 * per run): an unrecorded transactional warm-up, then per transaction size an idempotent run and
 * the transactional one; the brokers' CPU time is taken around each driver process.
 */
async function transactionScenarios(
  { ctx, plan, d, admin, newTopic, record, run }: TargetScenario,
  system: SystemId,
): Promise<void> {
  const tools = librdkafkaTools(ctx, run);
  if (tools === undefined) return;
  const produceOnce = async (c: TransactionCase): Promise<{ result: LoadResult; command: string }> => {
    const topic = await newTopic(c);
    try {
      await waitForLeaders(admin, topic, c.partitions, 30_000);
      const cpuBefore = brokersCpuSeconds(d);
      const r = await librdkafkaProduce(tools, {
        brokers: d.brokers,
        topic,
        recordBytes: c.recordBytes,
        records: c.records,
        acks: c.acks,
        ...(c.producer === 'transactional'
          ? { recordsPerTransaction: c.recordsPerTransaction }
          : { settings: ['enable.idempotence=true'] }),
      });
      const cpuAfter = brokersCpuSeconds(d);
      if (cpuBefore !== undefined && cpuAfter !== undefined) r.result.brokerCpuSeconds = cpuAfter - cpuBefore;
      return r;
    } finally {
      await dropTopic(ctx, admin, topic);
    }
  };
  await settle();
  try {
    const warm = await produceOnce(plan.transactionWarmup);
    if (!warm.result.ok) ctx.log(`  transactional warm-up failed (continuing): ${warm.result.error ?? ''}`);
  } catch (e) {
    ctx.log(`  transactional warm-up failed (continuing): ${errorMessage(e)}`);
  }
  for (const c of plan.transactions) {
    const scenario = { system, client: 'librdkafka', kind: 'transactions', ...c } as const;
    try {
      const r = await produceOnce(c);
      record({ ...scenario, result: r.result, command: r.command });
    } catch (e) {
      record({ ...scenario, result: failed(errorMessage(e)) });
    }
  }
}

/** Issue 9's unavailability target: kill -9 of the partition leader under acks=all load, repeated. */
async function failoverScenario({ ctx, plan, d, admin, newTopic, run }: TargetScenario): Promise<void> {
  let topic: string;
  try {
    topic = await newTopic({ partitions: 1 });
    await waitForLeaders(admin, topic, 1, 30_000);
  } catch (e) {
    run.failoverUnavailable = `could not create the failover topic: ${errorMessage(e)}`;
    return;
  }
  ctx.log(`  failover: ${plan.failoverKills} kills of the leader of ${topic}`);
  run.failover = await runFailover({ deployment: d, topic, kills: plan.failoverKills, log: ctx.log });
}
