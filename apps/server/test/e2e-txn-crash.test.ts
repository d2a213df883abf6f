// Exactly once under kill -9 (issue 21's second test): a consume-transform-produce worker
// (test/scripts/ctp-worker.mjs: kafkajs, a transactional producer and a read_committed consumer in
// a group; per chunk of records one transaction: send the transformed records to B, sendOffsets,
// commit) is killed with SIGKILL at random points and started again with the same transactional
// id until every record of topic A is processed. The new instance's InitProducerId fences the old
// one and aborts its open transaction. Then a read_committed read of B holds every input record
// exactly once, and the group's committed offsets are A's end offsets.
// - standalone: a chronik-server process;
// - raft-cluster: three real processes; once, a third of the way in, the node leading the
//   transactional id's `__transaction_state` partition (FindCoordinator key type 1) is killed with
//   SIGKILL and restarted.
// A killed worker's group member is removed by the test with LeaveGroup (its session would expire
// after 6 s; the group would rebalance then), so a run holds many restarts. The kill points come from
// a seeded generator: a failure prints the seed (CHRONIK_TEST_SEED replays the same delays; the
// processes' timing still varies).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  ApiKey,
  decodeRecordBatch,
  defaultFetchRequest,
  defaultFetchRequestFetchPartition,
  splitRecordBatches,
} from '@chronik/protocol';
import { Kafka, logLevel } from 'kafkajs';
import { readMarker } from '../src/partition/txn-state.js';
import { RawClient } from './helpers/raw-client.js';
import type { ServerProcess } from './helpers/server.js';
import { startServer, tempDir } from './helpers/server.js';
import { TestCluster, sleep, waitFor } from './cluster/cluster-helper.js';
import { seededRandom } from './helpers/prng.js';

jest.setTimeout(150_000);
process.env['KAFKAJS_NO_PARTITIONER_WARNING'] = '1';

const WORKER = path.join(__dirname, 'scripts', 'ctp-worker.mjs');
const PARTITIONS = 3;
const CHUNK = 20;

function kafka(brokers: string[]): Kafka {
  return new Kafka({
    clientId: 'txn-crash-test',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2000,
    requestTimeout: 10_000,
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 30 },
  });
}

interface Worker {
  proc: ChildProcess;
  memberId: string | undefined;
  /** True while a transaction has begun and not committed (a kill now lands inside it). */
  inTxn: boolean;
  began: Promise<void>;
  exited: Promise<number | null>;
  exitCode: number | null | undefined;
  lines: string[];
}

/** What the test knows of the pipeline: the next offset committed per partition of A (from the workers' reports). */
class Progress {
  readonly next = new Map<number, bigint>();
  /** Events, in order (kills, restarts, a transaction begun below the committed offset), for a failure's message. */
  readonly events: string[] = [];
  private readonly t0 = Date.now();
  note(e: string): void {
    this.events.push(`${Date.now() - this.t0}ms ${e}`);
  }
  total(): number {
    let n = 0n;
    for (const v of this.next.values()) n += v;
    return Number(n);
  }
}

function startWorker(brokers: string[], names: Names, progress: Progress): Worker {
  const proc = spawn(
    process.execPath,
    [
      WORKER,
      brokers.join(','),
      names.input,
      names.output,
      names.group,
      names.transactionalId,
      String(CHUNK),
      String(PARTITIONS),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let began: () => void = () => undefined;
  const w: Worker = {
    proc,
    memberId: undefined,
    inTxn: false,
    began: new Promise<void>((r) => (began = r)),
    exited: new Promise((r) => proc.once('exit', (code) => r(code))),
    exitCode: undefined,
    lines: [],
  };
  void w.exited.then((code) => (w.exitCode = code));
  let buf = '';
  proc.stdout?.on('data', (c: Buffer) => {
    buf += c.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (w.lines.length < 2000) w.lines.push(line);
      const j = JSON.parse(line) as {
        joined?: string;
        begin?: number;
        offset?: string;
        partition?: number;
        next?: string;
        error?: string;
      };
      if (j.error !== undefined) progress.note(`worker error: ${j.error}`);
      if (j.joined !== undefined) w.memberId = j.joined;
      if (j.begin !== undefined) {
        const committed = progress.next.get(j.begin) ?? 0n;
        if (BigInt(j.offset ?? '0') < committed)
          progress.note(
            `rewind: a transaction begins at ${names.input}-${j.begin} offset ${j.offset}, ${committed} was committed`,
          );
        w.inTxn = true;
        began();
      }
      if (j.next !== undefined && j.partition !== undefined) {
        w.inTxn = false;
        const n = BigInt(j.next);
        if (n > (progress.next.get(j.partition) ?? 0n)) progress.next.set(j.partition, n);
      }
    }
  });
  proc.stderr?.on('data', (c: Buffer) => w.lines.push(`stderr: ${c.toString()}`));
  return w;
}

interface Names {
  input: string;
  output: string;
  group: string;
  transactionalId: string;
}

interface Target {
  /** Bootstrap brokers of the running nodes. */
  brokers(): string[];
  /** The Kafka port of node `nodeId`, or of some running node when `nodeId` is undefined. */
  port(nodeId?: number): number;
  logs(): string;
}

async function coordinatorOf(target: Target, keyType: 0 | 1, key: string): Promise<number> {
  return waitFor(`the coordinator of ${key}`, async () => {
    const c = await RawClient.connect(target.port());
    try {
      const r = await c.request(ApiKey.FindCoordinator, 4, { key: '', keyType, coordinatorKeys: [key] });
      const found = r.coordinators[0];
      return found?.errorCode === 0 ? found.nodeId : undefined;
    } finally {
      c.close();
    }
  });
}

/** Removes a killed worker's member from the group, as its session timeout would, 6 s sooner. */
async function leaveGroup(target: Target, group: string, memberId: string | undefined): Promise<void> {
  if (memberId === undefined) return;
  try {
    const node = await coordinatorOf(target, 0, group);
    const c = await RawClient.connect(target.port(node));
    try {
      await c.request(ApiKey.LeaveGroup, 1, { groupId: group, memberId, members: [] });
    } finally {
      c.close();
    }
  } catch {
    // The member's session expires anyway.
  }
}

async function createTopicsAndFill(brokers: string[], names: Names, records: number, rf: number) {
  const admin = kafka(brokers).admin();
  await admin.connect();
  await admin.createTopics({
    topics: [names.input, names.output].map((topic) => ({
      topic,
      numPartitions: PARTITIONS,
      replicationFactor: rf,
    })),
    waitForLeaders: true,
  });
  await admin.disconnect();
  const producer = kafka(brokers).producer({ idempotent: true });
  await producer.connect();
  for (let from = 0; from < records; from += 500) {
    const messages = [];
    for (let i = from; i < Math.min(records, from + 500); i++)
      messages.push({ key: `k${i}`, value: String(i), partition: i % PARTITIONS });
    await producer.send({ topic: names.input, messages, acks: -1 });
  }
  await producer.disconnect();
}

/** Reads `topic` from the beginning with read_committed until `expected` values, then 1 s more (a duplicate would show). */
async function readCommitted(brokers: string[], topic: string, expected: number, group: string) {
  const consumer = kafka(brokers).consumer({
    groupId: group,
    readUncommitted: false,
    heartbeatInterval: 500,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, 30_000);
    consumer
      .run({
        eachMessage: ({ message }) => {
          seen.push(message.value?.toString() ?? '');
          if (seen.length === expected) {
            clearTimeout(timer);
            setTimeout(resolve, 1000);
          }
          return Promise.resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return seen;
}

interface RunReport {
  kills: number;
  killsInTxn: number;
  crashes: number;
  seed: number;
  /** Per killed worker: from its start to its first transaction (producer init, group join). */
  startupMs: number[];
  events: string[];
}

/** Waits for `p` at most `ms` (and leaves no timer behind). */
async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

/**
 * Runs workers until every record of A is committed: each of the first `maxKills` workers is killed
 * (SIGKILL) a random 0-1.5 s after it begins its first transaction; a worker that exits by itself
 * (an error) is started again. `midway` runs once, when a third of the records are committed.
 */
async function runPipeline(
  target: Target,
  names: Names,
  records: number,
  maxKills: number,
  midway?: () => Promise<void>,
): Promise<RunReport> {
  const seed = Number(process.env['CHRONIK_TEST_SEED'] ?? Date.now() % 1_000_000);
  const rng = seededRandom(seed);
  const progress = new Progress();
  const report: RunReport = { kills: 0, killsInTxn: 0, crashes: 0, seed, startupMs: [], events: [] };
  const deadline = Date.now() + 100_000;
  let midwayDone = midway === undefined;
  let w = startWorker(target.brokers(), names, progress);
  const tail = () => `seed ${seed}; worker:\n${w.lines.slice(-15).join('\n')}\n${target.logs()}`;
  try {
    while (progress.total() < records) {
      if (Date.now() > deadline)
        throw new Error(`${progress.total()} of ${records} committed in time; ${JSON.stringify(report)}`);
      if (!midwayDone && progress.total() >= records / 3) {
        midwayDone = true;
        progress.note('midway: start');
        await midway?.();
        progress.note('midway: done');
      } else if (report.kills < maxKills && w.exitCode === undefined) {
        const started = Date.now();
        await within(Promise.race([w.began, w.exited]), 30_000);
        report.startupMs.push(Date.now() - started);
        await sleep(Math.floor(rng() * 1500));
        if (w.exitCode === undefined && progress.total() < records) {
          const inTxn = w.inTxn;
          w.proc.kill('SIGKILL');
          await w.exited;
          report.kills++;
          progress.note(`worker killed${inTxn ? ' in a transaction' : ''}`);
          if (inTxn) report.killsInTxn++;
          await leaveGroup(target, names.group, w.memberId);
          w = startWorker(target.brokers(), names, progress);
        }
      } else {
        await within(w.exited, 200);
      }
      if (w.exitCode !== undefined && progress.total() < records) {
        report.crashes++;
        progress.note(`worker exited with ${w.exitCode}`);
        await leaveGroup(target, names.group, w.memberId);
        w = startWorker(target.brokers(), names, progress);
      }
    }
  } catch (e) {
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n${tail()}`, { cause: e });
  } finally {
    w.proc.kill('SIGKILL');
    await w.exited;
  }
  report.events = progress.events;
  return report;
}

/**
 * For a failure's message: the batches of `topic` as its partitions' leaders hold them (read_uncommitted)
 * — offsets, producer id and epoch, transactional / marker — the LSO, and the aborted transactions a
 * read_committed fetch from offset 0 answers.
 */
async function describeLog(
  target: Target,
  topic: string,
  show: ReadonlySet<string> = new Set(),
): Promise<string> {
  const out: string[] = [];
  const meta = kafka(target.brokers()).admin();
  await meta.connect();
  const [t] = (await meta.fetchTopicMetadata({ topics: [topic] })).topics;
  await meta.disconnect();
  for (const p of t?.partitions ?? []) {
    const c = await RawClient.connect(target.port(p.leader));
    try {
      const fetch = async (isolationLevel: number) => {
        const r = await c.request(ApiKey.Fetch, 12, {
          ...defaultFetchRequest(),
          isolationLevel,
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: 8 << 20,
          topics: [
            {
              topic,
              topicId: '00000000-0000-0000-0000-000000000000',
              partitions: [
                {
                  ...defaultFetchRequestFetchPartition(),
                  partition: p.partitionId,
                  partitionMaxBytes: 8 << 20,
                },
              ],
            },
          ],
        });
        return r.responses[0]?.partitions[0];
      };
      const all = await fetch(0);
      const committed = await fetch(1);
      const batches = splitRecordBatches(all?.records ?? Buffer.alloc(0)).map(
        ({ header: h, bytes: data }) => {
          const kind = h.isControl ? 'marker' : h.isTransactional ? 'txn' : 'plain';
          let what = '';
          if (h.isControl) {
            const m = readMarker(h, data);
            what = m === undefined ? '' : m.commit ? ' commit' : ' abort';
          } else {
            const values = decodeRecordBatch(data).records.map((r) => r.value?.toString() ?? '');
            if (values.some((v) => show.has(v))) what = ` [${values.join(' ')}]`;
          }
          return `${h.baseOffset}+${h.recordCount} ${kind} pid ${h.producerId} e${h.producerEpoch} seq ${h.baseSequence}${what}`;
        },
      );
      out.push(
        `${topic}-${p.partitionId} (leader ${p.leader}): hw ${all?.highWatermark} lso ${committed?.lastStableOffset}; ` +
          `aborted (read_committed): ${JSON.stringify(committed?.abortedTransactions, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}\n  ` +
          batches.join('\n  '),
      );
    } finally {
      c.close();
    }
  }
  return out.join('\n');
}

async function checkExactlyOnce(target: Target, names: Names, records: number, report: RunReport) {
  const admin = kafka(target.brokers()).admin();
  await admin.connect();
  const offsets = await admin.fetchOffsets({ groupId: names.group, topics: [names.input] });
  await admin.disconnect();
  const expected = [0, 1, 2].map((p) => [p, Math.floor((records - p + PARTITIONS - 1) / PARTITIONS)]);
  const committed = (offsets[0]?.partitions ?? [])
    .map((p) => [p.partition, Number(p.offset)])
    .sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0));
  expect(committed).toEqual(expected);

  const seen = await readCommitted(target.brokers(), names.output, records, `${names.group}-check`);
  const counts = new Map<string, number>();
  for (const v of seen) counts.set(v, (counts.get(v) ?? 0) + 1);
  const duplicates = [...counts].filter(([, n]) => n > 1).map(([v]) => v);
  const missing: string[] = [];
  for (let i = 0; i < records; i++) if (!counts.has(`out-${i}`)) missing.push(`out-${i}`);
  const context =
    duplicates.length + missing.length === 0
      ? ''
      : `seed ${report.seed}, ${JSON.stringify(report)}\n${await describeLog(target, names.output, new Set(duplicates))}\n${target.logs()}`;
  expect({ duplicates: duplicates.slice(0, 20), missing: missing.slice(0, 20), context }).toEqual({
    duplicates: [],
    missing: [],
    context: '',
  });
  expect(seen.length).toBe(records);
  expect(report.kills).toBeGreaterThan(0);
}

describe('consume-transform-produce killed with kill -9: exactly once', () => {
  test('standalone: a worker killed at random points and restarted; B holds every record of A once', async () => {
    const dataDir = tempDir();
    let server: ServerProcess | undefined;
    try {
      server = await startServer({ dataDir });
      const s = server;
      const target: Target = {
        brokers: () => [s.bootstrap],
        port: () => s.kafkaPort,
        logs: () => s.logs.slice(-15).join('\n'),
      };
      const names = { input: 'ctp-a', output: 'ctp-b', group: 'ctp-group', transactionalId: 'ctp-worker' };
      const records = 2000;
      await createTopicsAndFill(target.brokers(), names, records, 1);
      const report = await runPipeline(target, names, records, 8);
      await checkExactlyOnce(target, names, records, report);
      console.log(`standalone exactly-once: ${JSON.stringify(report)}`);
    } finally {
      await server?.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  // Issue 21's cluster finding (duplicates in B in 2 of 5 runs) was kafkajs re-sending records it
  // had had acknowledged, with new sequence numbers, when a send spanning several leaders was
  // retried after a partition's leadership moved; the worker now sends one partition at a time
  // (see test/scripts/ctp-worker.mjs).
  test("raft-cluster: the same, and the node leading the transactional id's coordinator partition killed and restarted once", async () => {
    const cluster = await TestCluster.started(3, [
      '--offsets-topic-partitions',
      '3',
      '--transaction-state-partitions',
      '3',
    ]);
    try {
      const running = () => cluster.nodes.filter((n) => n.proc !== undefined);
      const target: Target = {
        brokers: () => cluster.brokers(running().map((n) => n.id)),
        port: (nodeId) =>
          nodeId === undefined ? (running()[0]?.kafkaPort ?? 0) : cluster.node(nodeId).kafkaPort,
        logs: () => cluster.dumpLogs(10),
      };
      const names = {
        input: 'ctp-a',
        output: 'ctp-b',
        group: 'ctp-group',
        transactionalId: 'ctp-cluster-worker',
      };
      const records = 900;
      await createTopicsAndFill(target.brokers(), names, records, 3);
      let killedNode = -1;
      const report = await runPipeline(target, names, records, 4, async () => {
        killedNode = await coordinatorOf(target, 1, names.transactionalId);
        await cluster.kill(killedNode);
        await sleep(2000);
        cluster.start(killedNode);
        await cluster.waitForMetadata();
      });
      expect(killedNode).toBeGreaterThan(0);
      await checkExactlyOnce(target, names, records, report);
      console.log(`cluster exactly-once: coordinator node ${killedNode} killed; ${JSON.stringify(report)}`);
    } finally {
      await cluster.destroy();
    }
  });
});
