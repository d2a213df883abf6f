// The `queue` workload, with kafkajs: producers (acks=all and acks=1, idempotent or not) each
// sending unique values "<writer>-<seq>" to explicit partitions; consumers in one group that commit
// after every batch; an observer of the group's committed offsets; and a topic churner that creates
// and deletes topics while faults happen. Every operation lands in the history.
import fs from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import type { Admin, Consumer, Producer } from 'kafkajs';
import { bounded, sleep } from './cluster.js';
import { errorMessage } from './errors.js';
import type { History, Outcome } from './history.js';

/** The workloads a run can drive: `queue` (this module) and `txn` (txn-workload.ts). */
export const WORKLOAD_KINDS = ['queue', 'txn'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

export interface WriterSpec {
  id: string;
  acks: 'all' | '1';
  idempotent: boolean;
}

export const DEFAULT_WRITERS: readonly WriterSpec[] = [
  { id: 'wi1', acks: 'all', idempotent: true },
  { id: 'wi2', acks: 'all', idempotent: true },
  { id: 'wa', acks: 'all', idempotent: false },
  { id: 'w1', acks: '1', idempotent: false },
];

export interface WorkloadOptions {
  brokers: string[];
  topic: string;
  partitions: number;
  replicationFactor: number;
  writers: readonly WriterSpec[];
  /** Sends per second per writer at most. */
  writerRatePerSec: number;
  consumers: number;
  group: string;
  /** Create + produce + delete a topic this often (0: never). */
  churnEveryMs: number;
  committedPollMs: number;
  history: History;
  log: (line: string) => void;
  /** kafkajs warnings and errors go here (JSON lines), when given. */
  clientLogFile?: string;
}

const clientLogBytes = new Map<string, number>();
/** Consumers replaced after kafkajs gave up on them, per run. */
const MAX_CONSUMER_RESTARTS = 50;

/** Produce timeout the broker is asked to respect (acks=all), and the client's request timeout. */
export const PRODUCE_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 8_000;
/** Churn topics that will never be read back, so their sends are only counted. */
export const CHURN_PREFIX = 'chaos-churn-';

/** Most bytes of client log one run writes (kafkajs warnings and errors); the rest is dropped. */
const MAX_CLIENT_LOG_BYTES = 50 * 1024 * 1024;

/**
 * A kafkajs client; with `logFile`, its warnings and errors go there as JSON lines (shared by all
 * clients of a run, bounded by MAX_CLIENT_LOG_BYTES).
 */
export function kafkaClient(brokers: string[], clientId: string, logFile?: string): Kafka {
  let written = 0;
  return new Kafka({
    clientId,
    brokers,
    ...(logFile !== undefined
      ? {
          logLevel: logLevel.WARN,
          logCreator: () => (entry) => {
            const line = `${JSON.stringify({ client: clientId, level: entry.level, ns: entry.namespace, ...entry.log })}\n`;
            clientLogBytes.set(logFile, (written = (clientLogBytes.get(logFile) ?? 0) + line.length));
            if (written <= MAX_CLIENT_LOG_BYTES) fs.appendFileSync(logFile, line);
          },
        }
      : { logLevel: logLevel.NOTHING }),
    connectionTimeout: 2_000,
    requestTimeout: REQUEST_TIMEOUT_MS,
    retry: { initialRetryTime: 200, maxRetryTime: 1_000, retries: 3 },
  });
}

/** kafkajs protocol errors after which a consumer must find its coordinator and rejoin. */
const REJOIN_ERRORS = new Set([
  'NOT_COORDINATOR_FOR_GROUP',
  'REBALANCE_IN_PROGRESS',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'GROUP_COORDINATOR_NOT_AVAILABLE',
]);

/** The protocol error after which a consumer must rejoin (unwrapping kafkajs's retry wrappers), if any. */
export function rejoinError(e: unknown): unknown {
  // kafkajs wraps the last protocol error of exhausted retries (originalError) or in `cause`.
  let c: unknown = e;
  for (let depth = 0; c !== undefined && c !== null && depth < 4; depth++) {
    const type = (c as { type?: unknown }).type;
    if (typeof type === 'string' && REJOIN_ERRORS.has(type)) return c;
    c = (c as { originalError?: unknown; cause?: unknown }).originalError ?? (c as { cause?: unknown }).cause;
  }
  return undefined;
}

/** An error's message followed by the messages of the errors it wraps (kafkajs retry wrappers), at most 300 characters. */
export function describeError(e: unknown): string {
  let msg = errorMessage(e);
  let c: unknown =
    e instanceof Error ? ((e as Error & { originalError?: unknown }).originalError ?? e.cause) : undefined;
  for (let depth = 0; c !== undefined && depth < 3; depth++) {
    msg += ` <- ${errorMessage(c)}`;
    c =
      c instanceof Error ? ((c as Error & { originalError?: unknown }).originalError ?? c.cause) : undefined;
  }
  return msg.slice(0, 300);
}

export async function createTopic(
  kafka: Kafka,
  topic: string,
  partitions: number,
  replicationFactor: number,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: partitions, replicationFactor }],
      waitForLeaders: true,
      timeout: 20_000,
    });
  } finally {
    await bounded(admin.disconnect(), 3_000);
  }
}

export class Workload {
  private stopped = false;
  private consumersStopped = false;
  private consumerRestarts = 0;
  private readonly tasks: Array<Promise<void>> = [];
  private readonly consumerTasks: Array<Promise<void>> = [];
  private readonly consumers: Consumer[] = [];
  private readonly opts: WorkloadOptions;

  constructor(opts: WorkloadOptions) {
    this.opts = opts;
  }

  startWriters(): void {
    for (const w of this.opts.writers) this.tasks.push(this.runWriter(w));
  }

  async startConsumers(): Promise<void> {
    for (let i = 0; i < this.opts.consumers; i++) await this.startConsumer(`c${i + 1}`);
    this.consumerTasks.push(this.runCommittedObserver());
  }

  startChurn(): void {
    if (this.opts.churnEveryMs > 0) this.tasks.push(this.runChurn());
  }

  /** Stops the writers and the churner (they finish their operation in flight). */
  async stopWriters(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.tasks);
  }

  /** Stops the consumers and the committed-offsets observer. */
  async stopConsumers(): Promise<void> {
    this.consumersStopped = true;
    await Promise.all(this.consumers.map((c) => bounded(c.disconnect(), 15_000)));
    await Promise.all(this.consumerTasks);
  }

  private async runWriter(w: WriterSpec): Promise<void> {
    const { history } = this.opts;
    const kafka = kafkaClient(this.opts.brokers, `chaos-${w.id}`, this.opts.clientLogFile);
    let producer: Producer | undefined;
    let seq = 0;
    const minGapMs = 1000 / this.opts.writerRatePerSec;
    while (!this.stopped) {
      const started = Date.now();
      const partition = seq % this.opts.partitions;
      const value = `${w.id}-${seq}`;
      seq++;
      const invokeMs = history.now();
      let outcome: Outcome = 'ok';
      let offset: number | undefined;
      let error: string | undefined;
      try {
        if (producer === undefined) {
          const p = kafka.producer(
            w.idempotent ? { idempotent: true, maxInFlightRequests: 1 } : { allowAutoTopicCreation: false },
          );
          try {
            await p.connect();
          } catch (e) {
            void bounded(p.disconnect(), 1_000);
            outcome = 'fail';
            throw e;
          }
          producer = p;
        }
        const res = await producer.send({
          topic: this.opts.topic,
          acks: w.acks === 'all' ? -1 : 1,
          timeout: PRODUCE_TIMEOUT_MS,
          messages: [{ partition, value }],
        });
        const meta = res.find((r) => r.partition === partition);
        if (meta?.baseOffset !== undefined) offset = Number(meta.baseOffset);
      } catch (e) {
        if (outcome === 'ok') outcome = 'info';
        error = describeError(e);
        // An idempotent producer whose send failed may have lost its sequence: start a new one (a new
        // producer id). Values are never resent, so a duplicate stays a duplicate.
        if (w.idempotent && producer !== undefined) {
          void bounded(producer.disconnect(), 2_000);
          producer = undefined;
        }
      }
      history.add({
        f: 'send',
        process: w.id,
        topic: this.opts.topic,
        partition,
        value,
        acks: w.acks,
        idempotent: w.idempotent,
        invokeMs,
        completeMs: history.now(),
        outcome,
        ...(offset !== undefined ? { offset } : {}),
        ...(error !== undefined ? { error } : {}),
      });
      const waitMs = minGapMs - (Date.now() - started);
      if (outcome !== 'ok') await sleep(100);
      else if (waitMs > 0) await sleep(waitMs);
    }
    if (producer) await bounded(producer.disconnect(), 5_000);
  }

  private async startConsumer(id: string): Promise<void> {
    const { history, topic, group } = this.opts;
    const kafka = kafkaClient(this.opts.brokers, `chaos-${id}`, this.opts.clientLogFile);
    const consumer = kafka.consumer({
      groupId: group,
      sessionTimeout: 15_000,
      rebalanceTimeout: 20_000,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: 500,
      // Few retries: kafkajs retries an OffsetCommit against the coordinator it knows; only a rejoin
      // (after the error reaches the runner) finds the new one.
      retry: { initialRetryTime: 200, maxRetryTime: 1_000, retries: 3 },
    });
    this.consumers.push(consumer);
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const now = history.now();
      const partitions = (e.payload.memberAssignment[topic] ?? []).slice().sort((a, b) => a - b);
      history.add({
        f: 'assign',
        process: id,
        topic,
        partitions,
        invokeMs: now,
        completeMs: now,
        outcome: 'ok',
      });
    });
    consumer.on(consumer.events.CRASH, (e) => {
      const now = history.now();
      history.add({
        f: 'assign',
        process: id,
        topic,
        partitions: [],
        invokeMs: now,
        completeMs: now,
        outcome: 'info',
        error: `crash: ${describeError(e.payload.error)}${e.payload.restart ? '' : ' (not restarted by kafkajs: replaced)'}`,
      });
      // kafkajs stops a consumer for good after a non-retriable error; replace it (bounded).
      if (!e.payload.restart && !this.consumersStopped && this.consumerRestarts < MAX_CONSUMER_RESTARTS) {
        this.consumerRestarts++;
        void bounded(consumer.disconnect(), 5_000).then(async () => {
          const i = this.consumers.indexOf(consumer);
          if (i >= 0) this.consumers.splice(i, 1);
          await sleep(1_000);
          if (!this.consumersStopped) await this.startConsumer(id).catch(() => undefined);
        });
      }
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        if (batch.messages.length === 0 || !isRunning() || isStale()) return;
        const now = history.now();
        const offsets = batch.messages.map((m) => Number(m.offset));
        history.add({
          f: 'poll',
          process: id,
          topic,
          partition: batch.partition,
          offsets,
          values: batch.messages.map((m) => m.value?.toString() ?? ''),
          invokeMs: now,
          completeMs: now,
          outcome: 'ok',
        });
        for (const m of batch.messages) resolveOffset(m.offset);
        const next = (offsets[offsets.length - 1] ?? 0) + 1;
        const invokeMs = history.now();
        let outcome: Outcome = 'ok';
        let error: string | undefined;
        let rejoin: unknown;
        try {
          await consumer.commitOffsets([{ topic, partition: batch.partition, offset: String(next) }]);
        } catch (e) {
          outcome = 'info';
          error = describeError(e);
          rejoin = rejoinError(e);
        }
        history.add({
          f: 'commit',
          process: id,
          group,
          topic,
          partition: batch.partition,
          offset: next,
          invokeMs,
          completeMs: history.now(),
          outcome,
          ...(error !== undefined ? { error } : {}),
        });
        // The group's own errors go back to kafkajs, which then finds the coordinator again and
        // rejoins (recorded as an `assign`); swallowing them would keep the consumer talking to an
        // old coordinator until its session expires. Other errors are only recorded: kafkajs would
        // redeliver the batch without a rejoin.
        if (rejoin !== undefined) throw rejoin;
        try {
          await heartbeat();
        } catch (e) {
          const r = rejoinError(e);
          if (r !== undefined) throw r;
        }
      },
    });
  }

  private async runCommittedObserver(): Promise<void> {
    const { history, topic, group } = this.opts;
    const kafka = kafkaClient(this.opts.brokers, 'chaos-observer', this.opts.clientLogFile);
    let admin: Admin | undefined;
    while (!this.consumersStopped) {
      const invokeMs = history.now();
      try {
        if (admin === undefined) {
          const a = kafka.admin();
          await a.connect();
          admin = a;
        }
        const res = await admin.fetchOffsets({ groupId: group, topics: [topic] });
        const offsets: Record<string, number> = {};
        for (const t of res)
          for (const p of t.partitions)
            if (Number(p.offset) >= 0) offsets[String(p.partition)] = Number(p.offset);
        history.add({
          f: 'committed',
          process: 'observer',
          group,
          topic,
          offsets,
          invokeMs,
          completeMs: history.now(),
          outcome: 'ok',
        });
      } catch (e) {
        history.add({
          f: 'committed',
          process: 'observer',
          group,
          topic,
          offsets: {},
          invokeMs,
          completeMs: history.now(),
          outcome: 'info',
          error: describeError(e),
        });
        if (admin) void bounded(admin.disconnect(), 2_000);
        admin = undefined;
      }
      await sleep(this.opts.committedPollMs);
    }
    if (admin) await bounded(admin.disconnect(), 3_000);
  }

  private async runChurn(): Promise<void> {
    const { history } = this.opts;
    const kafka = kafkaClient(this.opts.brokers, 'chaos-churn', this.opts.clientLogFile);
    let k = 0;
    await sleep(this.opts.churnEveryMs / 2);
    while (!this.stopped) {
      const topic = `${CHURN_PREFIX}${k++}`;
      const created = await this.topicOp(kafka, 'create-topic', topic);
      if (created === 'ok') {
        const producer = kafka.producer({ allowAutoTopicCreation: false });
        try {
          await producer.connect();
          for (let i = 0; i < 3; i++) {
            const value = `churn${k - 1}-${i}`;
            const op = {
              f: 'send',
              process: 'churn',
              topic,
              partition: 0,
              value,
              acks: 'all',
              idempotent: false,
              invokeMs: history.now(),
            } as const;
            try {
              const res = await producer.send({
                topic,
                acks: -1,
                timeout: PRODUCE_TIMEOUT_MS,
                messages: [{ partition: 0, value }],
              });
              const off = res[0]?.baseOffset;
              history.add({
                ...op,
                completeMs: history.now(),
                outcome: 'ok',
                ...(off !== undefined ? { offset: Number(off) } : {}),
              });
            } catch (e) {
              history.add({ ...op, completeMs: history.now(), outcome: 'info', error: describeError(e) });
            }
          }
        } catch {
          // connect failed: nothing sent
        } finally {
          await bounded(producer.disconnect(), 3_000);
        }
      }
      // Delete whatever may exist (a create that timed out may still have happened).
      if (created !== 'fail') await this.topicOp(kafka, 'delete-topic', topic);
      const left = this.opts.churnEveryMs;
      for (let waited = 0; waited < left && !this.stopped; waited += 250) await sleep(250);
    }
  }

  private async topicOp(kafka: Kafka, f: 'create-topic' | 'delete-topic', topic: string): Promise<Outcome> {
    const { history } = this.opts;
    const invokeMs = history.now();
    const admin = kafka.admin();
    let outcome: Outcome = 'ok';
    let error: string | undefined;
    try {
      await admin.connect();
      if (f === 'create-topic') {
        await admin.createTopics({
          topics: [{ topic, numPartitions: 1, replicationFactor: this.opts.replicationFactor }],
          waitForLeaders: true,
          timeout: 10_000,
        });
      } else {
        await admin.deleteTopics({ topics: [topic], timeout: 10_000 });
      }
    } catch (e) {
      outcome = 'info';
      error = describeError(e);
    } finally {
      await bounded(admin.disconnect(), 3_000);
    }
    history.add({
      f,
      process: 'churn',
      topic,
      invokeMs,
      completeMs: history.now(),
      outcome,
      ...(error !== undefined ? { error } : {}),
    });
    return outcome;
  }
}
