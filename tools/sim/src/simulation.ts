// One simulated run from one seed. The seed draws the run's parameters (swarm testing: partitions,
// tick period, network misbehaviour, fault rates, producers), then the run goes through four phases
// on one event queue:
//   1. boot: N nodes start from empty disks through raftClusterMode and register in the metadata;
//   2. a topic with `partitions` partitions, replication factor N, min.insync.replicas 2 is created
//      through TopicAdmin on some node, and every partition gets a ready leader; the cluster-wide
//      cleaning defaults are set so that the log cleaner compacts `__consumer_offsets` (a compacted
//      topic) through the run: its segments roll after 1 s, any dirty share is worth a pass;
//   3. `steps` steps, a few virtual milliseconds apart: each draws faults (faults.ts) and one client
//      operation (workload.ts); the checker samples every node after every event;
//   4. calm: faults stop, links heal, every node is (re)started; within the liveness bound every
//      partition must serve (a ready leader, caught-up replicas, an acks=all produce answered); the
//      whole log of each partition is read back and checked; the nodes stop cleanly and their Raft
//      logs are compared.
// The result carries a hash of the whole trace (every event that ran, every client outcome): the
// same seed gives the same hash.
import path from 'node:path';
import { buildRecordBatch } from '@chronik/protocol';
import { Checker, incarnationKey, recordsOf } from './checker.js';
import type { ReadRecord, Violation } from './checker.js';
import { DATA_ROOT, SimCluster } from './cluster.js';
import type { SimNode } from './cluster.js';
import { EventQueue, Owner } from './event-queue.js';
import type { TraceLine } from './event-queue.js';
import { Nemesis } from './faults.js';
import type { FaultRates } from './faults.js';
import { CALM_NETWORK, SimNetwork } from './network.js';
import type { NetworkFaults } from './network.js';
import { Prng } from './prng.js';
import { compareReplicaLogs } from './replica-logs.js';
import { Workload } from './workload.js';
import type { GroupSpec, ProducerSpec } from './workload.js';

export const TOPIC = 'sim';

export interface SimParams {
  nodes: number;
  partitions: number;
  tickMs: number;
  electionTicks: number;
  partitionElectionTicks: number;
  /** How long an fsync takes (virtual ms, inclusive range). */
  fsyncMs: [number, number];
  network: NetworkFaults;
  faults: FaultRates;
  producers: ProducerSpec[];
  /** Virtual milliseconds between steps (inclusive range). */
  stepGapMs: [number, number];
  produceTimeoutMs: number;
  /** Consumer-group clients: committers outside group management and members of one group. */
  groups: GroupSpec;
  /** After the calm begins, every partition must serve within this long (virtual ms). */
  livenessBoundMs: number;
  /**
   * Per step, the probability of a reassignment of a partition of the main topic (FaultRates.reassign);
   * a parameter of its own so that `--params '{"reassignRate":0}'` replays a seed as it ran before.
   */
  reassignRate: number;
  /**
   * The first node's id: the nodes are firstNodeId, firstNodeId + 1, …. 0 on some seeds (Kafka's
   * usual broker ids 0, 1, 2; docs/design/node-ids.md); `--params '{"firstNodeId":1}'` replays a
   * seed recorded before it was drawn.
   */
  firstNodeId: number;
}

/** The parameters seed `seed` draws (before overrides). */
export function drawParams(rng: Prng, overrides: Partial<SimParams> = {}): SimParams {
  const partitions = rng.between(1, 3);
  const minDelay = rng.between(0, 2);
  const producers: ProducerSpec[] = [];
  const count = rng.between(2, 5);
  for (let i = 0; i < count; i++)
    producers.push({
      idempotent: rng.chance(0.6),
      acks: rng.chance(0.7) ? -1 : 1,
      partition: rng.int(partitions),
    });
  const drawn: SimParams = {
    nodes: 3,
    partitions,
    tickMs: rng.pick([20, 50, 100]),
    electionTicks: 10,
    partitionElectionTicks: 7,
    fsyncMs: rng.pick<[number, number]>([
      [0, 0],
      [0, 2],
      [1, 10],
      [5, 60],
    ]),
    network: {
      dropProbability: rng.pick([0, 0, 0.01, 0.05]),
      duplicateProbability: rng.pick([0, 0.01, 0.05]),
      reorderProbability: rng.pick([0, 0.05, 0.2]),
      minDelayMs: minDelay,
      maxDelayMs: minDelay + rng.between(1, 30),
    },
    faults: {
      crash: rng.pick([0, 0.002, 0.01]),
      crashAll: rng.pick([0, 0, 0.0005, 0.002]),
      isolate: rng.pick([0, 0.002, 0.01]),
      cutOneWay: rng.pick([0, 0, 0.003]),
      transfer: rng.pick([0, 0.003, 0.01]),
      diskError: rng.pick([0, 0, 0.002, 0.005]),
      downMs: [300, rng.pick([2000, 6000])],
      partitionMs: [200, rng.pick([2000, 8000])],
      maxDown: 1,
    },
    producers,
    stepGapMs: [1, rng.pick([5, 20, 50])],
    produceTimeoutMs: rng.pick([200, 1000, 5000]),
    groups: { committers: 0, members: 0, rebalanceTimeoutMs: 1000 },
    livenessBoundMs: 60_000,
    reassignRate: 0,
    firstNodeId: 1,
  };
  // Drawn after everything above, so those draws keep their values: some producers send acks=0.
  for (const p of producers) if (rng.chance(0.15)) p.acks = 0;
  // Then the damage fault's rate (a crashed node's replica lost or corrupt: rebuilt from the others).
  drawn.faults.damage = rng.pick([0, 0, 0.3, 1]);
  // And after that, the consumer-group clients (none on some seeds).
  drawn.groups = {
    committers: rng.pick([0, 1, 2, 3]),
    members: rng.pick([0, 2, 3]),
    rebalanceTimeoutMs: rng.pick([1000, 3000]),
  };
  // Then the reassignment rate (none on half the seeds).
  drawn.reassignRate = rng.pick([0, 0, 0.002, 0.01]);
  // Last, the node ids: from 0 on a third of the seeds.
  drawn.firstNodeId = rng.pick([0, 1, 1]);
  return { ...drawn, ...overrides };
}

export interface SimOptions {
  steps: number;
  params?: Partial<SimParams>;
  /** Every trace line, as it happens. */
  trace?: (line: string) => void;
  /** Log lines of the nodes (errors always; everything with trace). */
  log?: (line: string) => void;
}

export interface SimResult {
  seed: number;
  steps: number;
  ok: boolean;
  violations: Violation[];
  traceHash: string;
  events: number;
  simMs: number;
  realMs: number;
  params: SimParams;
  summary: Record<string, unknown>;
  /** The last trace lines (for a failing seed's report). */
  recent: TraceLine[];
}

function formatTrace(t: TraceLine): string {
  return `${t.atMs.toFixed(2).padStart(11)}ms ${t.owner.padEnd(9)} ${t.label}`;
}

export async function runSeed(seed: number, options: SimOptions): Promise<SimResult> {
  const started = performance.now();
  const root = new Prng(seed);
  const params = drawParams(root.fork('params'), options.params);
  const queue = new EventQueue();
  if (options.trace !== undefined) {
    const t = options.trace;
    queue.onTrace = (line) => t(formatTrace(line));
  }
  const net = new SimNetwork(queue, root.fork('network'), CALM_NETWORK);
  const nodeIds = Array.from({ length: params.nodes }, (_, i) => params.firstNodeId + i);
  const log = options.log;
  const cluster = new SimCluster(queue, net, root.fork('nodes'), {
    nodeIds,
    tickMs: params.tickMs,
    electionTicks: params.electionTicks,
    partitionElectionTicks: params.partitionElectionTicks,
    fsyncMs: params.fsyncMs,
    ...(log !== undefined
      ? {
          log: (id: number, level: string, msg: string, fields: object) =>
            log(
              `${queue.elapsed().toFixed(2).padStart(11)}ms n${id} ${level} ${msg} ${JSON.stringify(fields, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`,
            ),
          verbose: options.trace !== undefined,
        }
      : {}),
  });
  const checker = new Checker(queue);
  const workload = new Workload(queue, cluster, checker, root.fork('workload'), {
    topic: TOPIC,
    partitions: params.partitions,
    producers: params.producers,
    produceTimeoutMs: params.produceTimeoutMs,
    groups: params.groups,
  });
  const nemesis = new Nemesis(
    queue,
    cluster,
    net,
    root.fork('faults'),
    { ...params.faults, reassign: params.reassignRate },
    TOPIC,
    params.tickMs * params.partitionElectionTicks * 2 + 500,
    new Prng(seed).fork('damage'),
    (id) => path.posix.join(DATA_ROOT, `node${id}`, 'raft'),
    new Prng(seed).fork('reassign'),
  );
  const driver = new Owner('driver');
  /** Known product findings met by this run (README, Findings): reported, not failed. */
  const known: string[] = [];
  const unhandled: string[] = [];
  const onUnhandled = (e: unknown): void => {
    unhandled.push(e instanceof Error ? e.message : String(e));
  };
  process.on('unhandledRejection', onUnhandled);

  /** A bound on events per run: a livelock (work re-scheduled at the same instant) ends the run. */
  const maxEvents = Math.max(1_000_000, options.steps * 500);
  /** The continuous checks, after every event. */
  const sample = (): void => {
    for (const n of cluster.nodes.values()) {
      const c = n.composed;
      if (n.state !== 'up' || c === undefined) continue;
      for (const p of c.partitions.replicas()) {
        const key = incarnationKey(p.topic, p.topicId, p.partition, TOPIC);
        if (p.isLeader()) checker.leader(key, p.leaderEpoch, n.id);
        if (p.isLeaderReady()) checker.hw(key, p.leaderEpoch, p.highWatermark, `ready leader n${n.id}`);
      }
    }
  };
  /** Runs the queue until `cond` holds or `boundMs` of virtual time pass; whether it holds. */
  const until = async (cond: () => boolean, boundMs: number): Promise<boolean> => {
    if (cond()) return true;
    await queue.run(queue.elapsed() + boundMs, () => {
      sample();
      return queue.errors.length > 0 || queue.executed > maxEvents || cond();
    });
    if (queue.executed > maxEvents) throw new Error(`the run went past its budget of ${maxEvents} events`);
    return cond();
  };
  /** Runs the queue until `p` settles (within `boundMs`). */
  const drive = async <T>(p: Promise<T>, boundMs: number, what: string): Promise<T> => {
    let done = false;
    p.then(
      () => (done = true),
      () => (done = true),
    );
    if (!(await until(() => done, boundMs))) throw new Error(`${what} did not finish within ${boundMs} ms`);
    return p;
  };
  const partitionsOf = (): number[] => Array.from({ length: params.partitions }, (_, i) => i);
  const leaderOf = (partition: number): SimNode | undefined =>
    cluster.up().find((n) => {
      for (const p of n.composed?.partitions.replicas() ?? [])
        if (p.topic === TOPIC && p.partition === partition && p.isLeaderReady()) return true;
      return false;
    });

  const finish = (extra: Record<string, unknown> = {}): SimResult => {
    process.off('unhandledRejection', onUnhandled);
    for (const e of queue.errors) checker.fail('crash', e);
    return {
      seed,
      steps: options.steps,
      ok: checker.violations.length === 0,
      violations: checker.violations,
      traceHash: queue.traceHash(),
      events: queue.executed,
      simMs: queue.elapsed(),
      realMs: Math.round(performance.now() - started),
      params,
      summary: {
        acked: checker.ackCount,
        workload: workload.stats,
        clientErrors: Object.fromEntries(workload.errors().slice(0, 8)),
        faults: nemesis.counts,
        network: { delivered: net.delivered, dropped: net.dropped, duplicated: net.duplicated },
        unhandledRejections: unhandled.length,
        ...(known.length > 0 ? { known } : {}),
        ...extra,
      },
      recent: queue.recent,
    };
  };

  try {
    // 1. Boot.
    for (const id of nodeIds) void cluster.start(id);
    const formed = await until(
      () =>
        cluster.up().length === params.nodes &&
        cluster.up().every((n) => n.composed?.services.metadata.brokers().length === params.nodes),
      60_000,
    );
    if (!formed) {
      checker.fail(
        'liveness',
        `the cluster did not form within 60 s: ${[...cluster.nodes.values()].map((n) => `n${n.id} ${n.state} ${n.lastError ?? ''}`).join(', ')}`,
      );
      return finish();
    }
    // 2. The topic.
    let created = false;
    for (let attempt = 0; attempt < 20 && !created; attempt++) {
      const n = root.fork(`create${attempt}`).pick(cluster.up());
      const out = await drive(
        cluster
          .request(n, (c) =>
            c.services.topics.createTopics(
              [
                {
                  name: TOPIC,
                  numPartitions: params.partitions,
                  replicationFactor: params.nodes,
                  assignments: [],
                  configs: [{ name: 'min.insync.replicas', value: '2' }],
                },
              ],
              false,
            ),
          )
          .catch((e: unknown) => [{ error: e as Error }]),
        30_000,
        'CreateTopics',
      );
      const err = out[0]?.error;
      created = err === null || (err as { code?: string } | undefined)?.code === 'TOPIC_ALREADY_EXISTS';
      queue.note('driver', `create topic attempt ${attempt}: ${err === null ? 'ok' : String(err?.message)}`);
      if (!created) await until(() => false, 500);
    }
    const led =
      created && (await until(() => partitionsOf().every((p) => leaderOf(p) !== undefined), 30_000));
    if (!led) {
      checker.fail('liveness', `topic ${TOPIC} was not created with a leader for every partition`);
      return finish();
    }

    // 2b. The log cleaner compacts __consumer_offsets during the run (the group coordinator's
    // answers are checked against what the clients committed, across reloads of compacted logs).
    let tuned = false;
    for (let attempt = 0; attempt < 20 && !tuned; attempt++) {
      const n = root.fork(`cleaning${attempt}`).pick(cluster.up());
      tuned = await drive(
        cluster
          .request(n, (c) =>
            c.services.topics.alterConfigs(
              4,
              '',
              [
                { name: 'log.roll.ms', op: 0, value: '1000' },
                { name: 'log.cleaner.min.cleanable.ratio', op: 0, value: '0.05' },
              ],
              false,
              false,
            ),
          )
          .then(
            () => true,
            () => false,
          ),
        30_000,
        'AlterConfigs',
      );
      queue.note('driver', `cleaning configs attempt ${attempt}: ${tuned ? 'ok' : 'failed'}`);
      if (!tuned) await until(() => false, 500);
    }

    // 3. The workload under faults.
    net.faults = params.network;
    let stepsRun = 0;
    const gaps = root.fork('gaps');
    const step = (): void => {
      stepsRun++;
      nemesis.step();
      workload.step();
      if (stepsRun < options.steps)
        queue.schedule(driver, gaps.between(params.stepGapMs[0], params.stepGapMs[1]), 'step', step);
    };
    queue.schedule(driver, 0, 'step', step);
    const maxMs = options.steps * params.stepGapMs[1] + 1000;
    await until(() => stepsRun >= options.steps, maxMs);

    // 4. Calm: heal, restart, and everything must serve again within the bound.
    const calmAt = queue.elapsed();
    nemesis.calm();
    net.faults = CALM_NETWORK;
    for (const n of cluster.nodes.values()) if (n.state === 'down') void cluster.start(n.id);
    // A replica that could not be opened (a disk error while it was being opened) stays out of
    // service until its node restarts: the operator restarts every node /health calls degraded.
    await until(() => cluster.up().length === params.nodes, 30_000);
    for (const n of cluster.up())
      if ((n.composed?.partitions.replicaProblems() ?? []).length > 0) {
        queue.note('driver', `restart n${n.id}: it reports replica problems`);
        cluster.exit(n.id);
        void cluster.start(n.id);
      }
    const topicReplicas = (
      n: SimNode,
    ): Array<{ partition: number; hw: bigint; state: string; role: string }> =>
      (n.composed?.partitions.statuses() ?? [])
        .filter((s) => s.topic === TOPIC)
        .map((s) => ({ partition: s.partition, hw: s.highWatermark, state: s.state, role: s.role }));
    const serving = (): boolean =>
      workload.outstanding === 0 &&
      cluster.up().length === params.nodes &&
      // Damaged or lost replicas are rebuilt from the others by then (replica-repair.ts).
      cluster.up().every((n) => (n.composed?.partitions.replicaProblems() ?? []).length === 0) &&
      partitionsOf().every((p) => {
        const l = leaderOf(p);
        if (l === undefined) return false;
        // A reassignment in progress finishes (cluster/partition-mover.ts); then every replica of
        // the partition holds it whole.
        const info = l.composed?.store.state.partition(TOPIC, p);
        if (info === undefined || info.addingReplicas.length > 0 || info.removingReplicas.length > 0)
          return false;
        const hw = topicReplicas(l).find((r) => r.partition === p)?.hw;
        return cluster
          .up()
          .filter((n) => info.replicas.includes(n.id))
          .every((n) =>
            topicReplicas(n).some((r) => r.partition === p && r.state === 'online' && r.hw === hw),
          );
      });
    const healed = await until(serving, params.livenessBoundMs);
    for (const n of cluster.up())
      for (const pr of n.composed?.partitions.replicaProblems() ?? [])
        // A replica lost or damaged is rebuilt from the others by now (Finding 2 of the README was
        // a lost replica that stayed out for good: it is repaired since).
        checker.fail(
          'replica-stopped',
          `${pr.topic}-${pr.partition} on n${n.id} is ${pr.state}: ${pr.error}`,
        );
    if (!healed) {
      const views = [...cluster.nodes.values()].map(
        (n) =>
          `n${n.id} ${n.state}${n.lastError !== undefined ? ` (${n.lastError})` : ''} ${JSON.stringify(topicReplicas(n), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`,
      );
      checker.fail(
        'liveness',
        `not every partition serves ${params.livenessBoundMs} ms after the faults healed (outstanding requests ${workload.outstanding}): ${views.join('; ')}`,
      );
      return finish();
    }
    // An acks=all produce is answered on every partition.
    for (const p of partitionsOf()) {
      let ok = false;
      const deadline = queue.elapsed() + 10_000;
      for (let i = 0; !ok && queue.elapsed() < deadline; i++) {
        const l = leaderOf(p);
        if (l !== undefined) {
          const value = `final:${p}:${i}`;
          checker.sent(value);
          const batch = buildRecordBatch({
            records: [{ value: Buffer.from(value) }],
            timestampMs: BigInt(queue.now()),
            now: () => queue.now(),
          });
          const res = await drive(
            cluster
              .request(l, (c) => c.partitions.append({ topic: TOPIC, partition: p }, batch, -1, 5000))
              .catch(() => undefined),
            10_000,
            'the final produce',
          );
          if (res !== undefined) {
            ok = true;
            checker.ack({
              tp: `${TOPIC}-${p}`,
              offset: res.baseOffset,
              value,
              acks: -1,
              idempotent: false,
              atMs: queue.elapsed(),
            });
          }
        }
        if (!ok) await until(() => false, 100);
      }
      if (!ok)
        checker.fail('liveness', `${TOPIC}-${p}: no acks=all produce answered within 10 s after the calm`);
    }
    const recoveredMs = queue.elapsed() - calmAt;

    // Deleted topics are gone: every node's metadata agrees on the topics, and no node keeps a
    // replica of a topic id its metadata no longer holds (the partition manager drops them).
    const leftovers = (): string[] => {
      const out: string[] = [];
      const views = cluster
        .up()
        .map((n) =>
          JSON.stringify(
            (n.composed?.services.metadata.topics() ?? []).map((t) => `${t.name}#${t.topicId}`).sort(),
          ),
        );
      if (new Set(views).size > 1) out.push(`the nodes' metadata differ: ${views.join(' / ')}`);
      for (const n of cluster.up()) {
        const c = n.composed;
        if (c === undefined) continue;
        for (const p of c.partitions.replicas()) {
          const t = c.services.metadata.topicById(p.topicId);
          if (t === undefined)
            out.push(`n${n.id} keeps ${p.topic}-${p.partition} (id ${p.topicId}), deleted`);
          // A replica a completed reassignment moved away is closed and its data removed.
          else if (t.partitions[p.partition]?.replicas.includes(n.id) === false)
            out.push(`n${n.id} keeps ${p.topic}-${p.partition}, moved away from it`);
        }
      }
      return out;
    };
    if (!(await until(() => leftovers().length === 0, 20_000)))
      for (const l of leftovers()) checker.fail('topic-not-deleted', l);

    // The whole log of every partition, from its leader.
    for (const p of partitionsOf()) {
      // Leadership may be moving right now (the preferred leader taking it back): wait a little.
      await until(() => leaderOf(p) !== undefined, 10_000);
      const l = leaderOf(p);
      if (l === undefined) {
        checker.fail('liveness', `${TOPIC}-${p}: no leader for the final read within 10 s`);
        continue;
      }
      const records: ReadRecord[] = [];
      const batches: Array<[bigint, bigint]> = [];
      let offset = 0n;
      let hw = 0n;
      // The log start first (DeleteRecords may have moved it: a fetch below it is out of range).
      let logStart = (
        await drive(
          cluster.request(l, (c) => c.partitions.listOffset({ topic: TOPIC, partition: p }, -2n, 0, -1)),
          10_000,
          'the final ListOffsets',
        )
      ).offset;
      offset = logStart;
      for (let page = 0; page < 100_000; page++) {
        const res = await drive(
          cluster.request(l, (c) =>
            c.partitions.read({
              topic: TOPIC,
              partition: p,
              fetchOffset: offset,
              maxBytes: 1 << 20,
              minOneBatch: true,
              isolationLevel: 0,
              currentLeaderEpoch: -1,
            }),
          ),
          10_000,
          'the final read',
        );
        hw = res.highWatermark;
        logStart = res.logStartOffset;
        const got = recordsOf(res.chunks);
        records.push(...got.records);
        batches.push(...got.batches);
        const last = got.batches[got.batches.length - 1];
        if (last === undefined) break;
        offset = last[1] + 1n;
        if (offset >= hw) break;
      }
      checker.finalLog(`${TOPIC}-${p}`, logStart, hw, records, batches);
      queue.note('driver', `final ${TOPIC}-${p} hw ${hw} records ${records.length}`);
    }

    // Committed offsets: the coordinator of every group committed to answers OffsetFetch, and shows
    // the last commits (acknowledged ones are durable through the crashes and power failures).
    for (const group of workload.groupIds()) {
      let answered = false;
      const deadline = queue.elapsed() + 30_000;
      while (!answered && queue.elapsed() < deadline) {
        answered = await drive(workload.finalOffsets(group), 10_000, 'the final OffsetFetch');
        if (!answered) await until(() => false, 200);
      }
      if (!answered)
        checker.fail(
          'liveness',
          `group ${group}: no coordinator answered OffsetFetch within 30 s after the calm`,
        );
    }

    // Stop cleanly, then compare the replicas' Raft logs.
    await drive(cluster.stopAll(), 30_000, 'stopping the nodes');
    const disks = new Map(
      [...cluster.nodes.values()].map((n) => [n.id, [n.disk, `/data/node${n.id}/raft`] as const]),
    );
    const logs = await compareReplicaLogs(disks);
    for (const m of logs.mismatches) checker.fail('replicas-differ', m);
    queue.note('driver', `replica logs: ${logs.groups} groups, ${logs.entriesCompared} entries compared`);
    return finish({ recoveredMs, replicaLogs: { groups: logs.groups, entries: logs.entriesCompared } });
  } catch (e) {
    if (queue.executed > maxEvents) checker.fail('liveness', `livelock: more than ${maxEvents} events`);
    else
      checker.fail(
        'crash',
        `the simulation failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
      );
    return finish();
  }
}

/** The command that replays `r` exactly, with a trace. */
export function replayCommand(r: SimResult, extra = ''): string {
  return `pnpm sim --seed ${r.seed} --steps ${r.steps}${extra} --verbose`;
}

/** One line for a seed: its outcome, and for a failure the first violations and the replay command. */
export function formatResult(r: SimResult, extra = ''): string {
  const head = `seed ${r.seed}: ${r.ok ? 'ok' : 'FAIL'} events=${r.events} sim=${(r.simMs / 1000).toFixed(1)}s real=${(r.realMs / 1000).toFixed(1)}s hash=${r.traceHash}`;
  const known = (r.summary.known as string[] | undefined)?.map((k) => `  [known] ${k}`) ?? [];
  if (r.ok) return [head, ...known].join('\n');
  const lines = r.violations.slice(0, 5).map((v) => `  [${v.kind}] t=${v.atMs.toFixed(2)}ms ${v.detail}`);
  return [head, ...lines, `  replay: ${replayCommand(r, extra)}`].join('\n');
}
