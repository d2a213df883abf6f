// The transactional workload (issue 21), every operation into the history:
// - transactional producers `tp1`, `tp2`, ... (transactional ids `chaos-txn-tp1`, ...), one
//   transaction after another on the input topic: 2–3 partitions per transaction, 1–3 records per
//   partition, values `<producer>-<txn>-<seq>`; a share of them aborted on purpose. One send per
//   partition: kafkajs 2.2.4 may send acknowledged records again with new sequence numbers when a
//   send spread over several leaders is retried after a leader moved (see the server's
//   test/scripts/ctp-worker.mjs). Any error replaces the producer, never resending: the next one's
//   InitProducerId aborts what the old one left open.
// - a consume-transform-produce worker `ctp` (transactional id and group `chaos-txn-ctp`),
//   scripts/ctp_worker.py with confluent-kafka-python (librdkafka; kafkajs 2.2.4's read_committed
//   consumer hands over records of aborted transactions in some interleavings, see the README): a
//   read_committed consumer of the input; per partition of each consume() one transaction sends
//   the transformed records `<input value>>c<txn>` to the output (record i from input partition p
//   to output partition (p + i) mod P), the input's next offset with send_offsets_to_transaction
//   (with the consumer's group metadata, KIP-447), and commits. Some are first sent in a
//   transaction aborted on purpose, then again. One process at a time: any error, or a consumer
//   positioned below the offsets of a transaction acknowledged as committed (a rewind), ends it,
//   and the next one's InitProducerId fences it and returns once its last transaction is complete,
//   before the next consumer fetches its committed offsets.
//
// Outcomes (history.ts, TxnOp): a transaction whose EndTxn was never sent is never committed; one
// whose commit was acknowledged is committed; one whose commit got no answer is unknown.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type { Kafka, Producer } from 'kafkajs';
import { bounded, deadline, sleep } from './cluster.js';
import type { History, TxnOp, TxnWrite } from './history.js';
import type { Rng } from './rng.js';
import { createRng } from './rng.js';
import { PRODUCE_TIMEOUT_MS, describeError, kafkaClient } from './workload.js';

export interface TxnWorkloadOptions {
  brokers: string[];
  /** The topic the producers write and the worker reads. */
  input: string;
  /** The topic the worker writes. */
  output: string;
  /** Partitions of each topic. */
  partitions: number;
  producers: number;
  /** Transactions per second per producer at most. */
  ratePerSec: number;
  /** Share of the producers' transactions aborted on purpose. */
  abortRatio: number;
  /** Share of the worker's transactions first sent aborted on purpose, then again. */
  ctpAbortRatio: number;
  /** The Python with confluent-kafka-python, and the worker (scripts/ctp_worker.py). */
  python: string;
  workerScript: string;
  /** The worker's stderr (librdkafka's transaction log, stacks of blocked calls), when given. */
  workerLogFile?: string;
  /** transaction.timeout.ms of every transactional producer. */
  transactionTimeoutMs: number;
  /** What each transaction writes and which are aborted on purpose derive from this seed. */
  seed: number;
  history: History;
  log: (line: string) => void;
  /** kafkajs warnings and errors (JSON lines), when given. */
  clientLogFile?: string;
}

export const TXN_INPUT = 'chaos-txn-a';
export const TXN_OUTPUT = 'chaos-txn-b';
/** The worker's transactional id and consumer group. */
export const CTP_ID = 'chaos-txn-ctp';
export const CTP_GROUP = 'chaos-txn-ctp';

/** The transactional id of producer `process` (`tp1`, ...). */
export const producerTransactionalId = (process: string): string => `chaos-txn-${process}`;

/** The worker's output value for an input value, written by its transaction `txn`. */
export const outputValue = (input: string, txn: number): string => `${input}>c${txn}`;

/** The input value an output value was made from, and the worker's transaction (undefined: not an output value). */
export function parseOutputValue(v: string): { input: string; txn: number } | undefined {
  const i = v.lastIndexOf('>c');
  const txn = Number(v.slice(i + 2));
  return i <= 0 || !Number.isInteger(txn) ? undefined : { input: v.slice(0, i), txn };
}

/** A step of a producer's transaction (begin, send, EndTxn) not answered in this long fails it. */
const STEP_TIMEOUT_MS = 20_000;
/** Worker replacements per run, at most. */
const MAX_WORKER_RESTARTS = 200;
/** Worker instance k numbers its transactions from k * TXNS_PER_INSTANCE. */
const TXNS_PER_INSTANCE = 1_000_000;
/** A worker silent this long (it says `alive` every 2 s) is stuck: killed and replaced. */
const WORKER_STUCK_MS = 60_000;
/** Most bytes of worker stderr one run keeps. */
const MAX_WORKER_LOG_BYTES = 50 * 1024 * 1024;

function transactionalProducer(kafka: Kafka, transactionalId: string, timeoutMs: number): Producer {
  return kafka.producer({
    transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: timeoutMs,
    allowAutoTopicCreation: false,
    // Bounded (kafkajs warns): a send that fails after its retries ends its transaction, which is
    // then never committed, so giving up cannot duplicate anything.
    retry: { initialRetryTime: 200, maxRetryTime: 1_000, retries: 5 },
  });
}

export class TxnWorkload {
  private stopped = false;
  private workerStopped = false;
  private stopWorker: () => void = () => undefined;
  private readonly workerStop = new Promise<void>((r) => (this.stopWorker = r));
  private readonly producerTasks: Array<Promise<void>> = [];
  private workerTask: Promise<void> | undefined;
  /** Per input partition: the next offset sent by the worker's last transaction acknowledged as committed. */
  private readonly workerCommitted = new Map<number, number>();
  private readonly admin: Kafka;

  constructor(private readonly opts: TxnWorkloadOptions) {
    this.admin = kafkaClient(opts.brokers, 'chaos-txn-admin', opts.clientLogFile);
  }

  /** The producers' transactional ids. */
  get producerIds(): string[] {
    return Array.from({ length: this.opts.producers }, (_, i) => producerTransactionalId(`tp${i + 1}`));
  }

  /** Every transactional id the workload uses. */
  get transactionalIds(): string[] {
    return [...this.producerIds, CTP_ID];
  }

  start(): void {
    for (let i = 0; i < this.opts.producers; i++) this.producerTasks.push(this.runProducer(i));
    this.workerTask = this.runWorker();
  }

  /** Stops the producers (each finishes the transaction in flight). */
  async stopProducers(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.producerTasks);
  }

  /** Stops the worker (it finishes the transaction in flight). */
  async stopWorkerNow(): Promise<void> {
    this.workerStopped = true;
    this.stopWorker();
    await this.workerTask;
  }

  /**
   * Whether the worker's transactions acknowledged as committed have sent offsets past `last`, the
   * last committed record of each input partition (absent: none).
   */
  workerCaughtUp(last: ReadonlyMap<number, number>): boolean {
    return [...last].every(([p, o]) => (this.workerCommitted.get(p) ?? 0) > o);
  }

  /**
   * InitProducerId for each of `ids`, with a new producer each: a transaction left open is aborted,
   * one being completed is waited for. Returns the ids for which it failed (retried for at most
   * `timeoutMs` each).
   */
  async closeOut(ids: readonly string[], timeoutMs: number): Promise<string[]> {
    const failed: string[] = [];
    for (const id of ids) {
      let last = '';
      let done = false;
      for (const until = Date.now() + timeoutMs; !done && Date.now() < until;) {
        const producer = transactionalProducer(
          kafkaClient(this.opts.brokers, `chaos-close-${id}`, this.opts.clientLogFile),
          id,
          this.opts.transactionTimeoutMs,
        );
        try {
          await deadline(producer.connect(), STEP_TIMEOUT_MS, 'connect');
          const t = await deadline(producer.transaction(), STEP_TIMEOUT_MS, 'InitProducerId');
          await deadline(t.abort(), STEP_TIMEOUT_MS, 'abort'); // nothing added: no EndTxn sent
          done = true;
        } catch (e) {
          last = describeError(e);
          await sleep(1_000);
        } finally {
          await bounded(producer.disconnect(), 3_000);
        }
      }
      if (!done) {
        failed.push(id);
        this.opts.log(`chaos: txn: InitProducerId for ${id} failed for ${timeoutMs} ms: ${last}`);
      }
    }
    return failed;
  }

  /** Per partition of `topic`, its last stable offset (ListOffsets, read_committed). */
  async lastStableOffsets(topic: string): Promise<Map<number, number>> {
    const admin = this.admin.admin();
    await deadline(admin.connect(), STEP_TIMEOUT_MS, 'admin connect');
    try {
      const offsets = await deadline(admin.fetchTopicOffsets(topic), STEP_TIMEOUT_MS, 'ListOffsets');
      return new Map(offsets.map((o) => [o.partition, Number(o.offset)]));
    } finally {
      await bounded(admin.disconnect(), 3_000);
    }
  }

  /** The worker group's committed offsets of the input topic (OffsetFetch), per partition. */
  async committedOffsets(): Promise<Record<string, number>> {
    const admin = this.admin.admin();
    await deadline(admin.connect(), STEP_TIMEOUT_MS, 'admin connect');
    try {
      const res = await deadline(
        admin.fetchOffsets({ groupId: CTP_GROUP, topics: [this.opts.input] }),
        STEP_TIMEOUT_MS,
        'OffsetFetch',
      );
      const out: Record<string, number> = {};
      for (const t of res)
        for (const p of t.partitions) if (Number(p.offset) >= 0) out[String(p.partition)] = Number(p.offset);
      return out;
    } finally {
      await bounded(admin.disconnect(), 3_000);
    }
  }

  // ------------------------------------------------------------------ producers

  /** What transaction `txn` of producer `process` writes: 2–3 partitions, 1–3 records each. */
  private plan(rng: Rng, process: string, txn: number): TxnWrite[] {
    const { partitions } = this.opts;
    const count = rng.int(Math.min(2, partitions), Math.min(3, partitions));
    const chosen = rng
      .shuffle(Array.from({ length: partitions }, (_, p) => p))
      .slice(0, count)
      .sort((a, b) => a - b);
    let seq = 0;
    return chosen.map((partition) => ({
      topic: this.opts.input,
      partition,
      values: Array.from({ length: rng.int(1, 3) }, () => `${process}-${txn}-${seq++}`),
      acked: false,
    }));
  }

  private async runProducer(index: number): Promise<void> {
    const { history } = this.opts;
    const process = `tp${index + 1}`;
    const transactionalId = producerTransactionalId(process);
    const rng = createRng(this.opts.seed * 31 + index + 1);
    const kafka = kafkaClient(this.opts.brokers, `chaos-${process}`, this.opts.clientLogFile);
    const minGapMs = 1000 / this.opts.ratePerSec;
    let producer: Producer | undefined;
    for (let txn = 0; !this.stopped; txn++) {
      const started = Date.now();
      const op: TxnOp = {
        f: 'txn',
        process,
        transactionalId,
        txn,
        intent: rng.chance(this.opts.abortRatio) ? 'abort' : 'commit',
        end: 'none',
        writes: this.plan(rng, process, txn),
        invokeMs: history.now(),
        completeMs: 0,
        outcome: 'fail',
      };
      try {
        if (producer === undefined) {
          producer = transactionalProducer(kafka, transactionalId, this.opts.transactionTimeoutMs);
          await deadline(producer.connect(), STEP_TIMEOUT_MS, 'connect');
        }
        await this.transact(producer, op);
      } catch (e) {
        op.error = describeError(e);
      }
      op.completeMs = history.now();
      history.add(op);
      if (op.outcome !== 'ok' && producer !== undefined) {
        void bounded(producer.disconnect(), 2_000);
        producer = undefined;
      }
      const waitMs = minGapMs - (Date.now() - started);
      if (op.outcome !== 'ok') await sleep(200);
      else if (waitMs > 0) await sleep(waitMs);
    }
    if (producer !== undefined) await bounded(producer.disconnect(), 5_000);
  }

  /**
   * Runs `op` as one transaction of `producer`: begin, one send per write, EndTxn as `op.intent`
   * says. Fills in the writes' acknowledgements, `end` and `outcome`; throws
   * on the first error (the caller records it and replaces the producer).
   */
  private async transact(producer: Producer, op: TxnOp): Promise<void> {
    const txn = await deadline(producer.transaction(), STEP_TIMEOUT_MS, 'begin');
    for (const w of op.writes) {
      const res = await deadline(
        txn.send({
          topic: w.topic,
          acks: -1,
          timeout: PRODUCE_TIMEOUT_MS,
          messages: w.values.map((value) => ({ partition: w.partition, key: op.process, value })),
        }),
        STEP_TIMEOUT_MS,
        `send to ${w.topic}-${w.partition}`,
      );
      w.acked = true;
      const base = res.find((r) => r.partition === w.partition)?.baseOffset;
      if (base !== undefined) w.offset = Number(base);
    }
    op.end = op.intent;
    op.outcome = 'info';
    await deadline(op.intent === 'commit' ? txn.commit() : txn.abort(), STEP_TIMEOUT_MS, op.intent);
    op.outcome = 'ok';
  }

  // ------------------------------------------------------------------ consume-transform-produce

  private workerLogBytes = 0;

  private appendWorkerLog(file: string, text: string): void {
    if (this.workerLogBytes > MAX_WORKER_LOG_BYTES) return;
    this.workerLogBytes += text.length;
    fs.appendFileSync(file, text);
  }

  /** Runs worker instances one after the other (scripts/ctp_worker.py) until stopped. */
  private async runWorker(): Promise<void> {
    const { history } = this.opts;
    for (let incarnation = 0; !this.workerStopped; incarnation++) {
      const reason = await this.runIncarnation(incarnation);
      if (this.workerStopped) break;
      const now = history.now();
      history.add({ f: 'restart', process: 'ctp', reason, invokeMs: now, completeMs: now, outcome: 'ok' });
      if (incarnation + 1 >= MAX_WORKER_RESTARTS) {
        this.opts.log(`chaos: txn: the worker was replaced ${MAX_WORKER_RESTARTS} times; it stops`);
        break;
      }
      await sleep(500);
    }
  }

  /**
   * One worker process, its events into the history, until it exits (why) or the worker is
   * stopped (SIGTERM: it ends the transaction in flight; SIGKILL after 30 s).
   */
  private async runIncarnation(incarnation: number): Promise<string> {
    const { history } = this.opts;
    const process = `ctp#${incarnation}`;
    const config = {
      bootstrap: this.opts.brokers.join(','),
      input: this.opts.input,
      output: this.opts.output,
      partitions: this.opts.partitions,
      group: CTP_GROUP,
      transactional_id: CTP_ID,
      transaction_timeout_ms: this.opts.transactionTimeoutMs,
      first_txn: incarnation * TXNS_PER_INSTANCE,
      abort_ratio: this.opts.ctpAbortRatio,
      seed: this.opts.seed * 31 + incarnation,
      committed: Object.fromEntries(this.workerCommitted),
    };
    const proc = spawn(this.opts.python, [this.opts.workerScript, JSON.stringify(config)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => {
      proc.once('error', () => resolve(-1));
      proc.once('exit', (code: number | null) => resolve(code));
    });
    let lastError = '';
    let lastEventAt = Date.now();
    const begun = new Map<number, number>();
    const onEvent = (e: WorkerEvent): void => {
      lastEventAt = Date.now();
      const now = history.now();
      const at = { invokeMs: now, completeMs: now, outcome: 'ok' as const };
      switch (e.ev) {
        case 'assign':
          history.add({ f: 'assign', process, topic: this.opts.input, partitions: e.partitions, ...at });
          break;
        case 'poll':
          history.add({
            f: 'poll',
            process,
            topic: this.opts.input,
            partition: e.partition,
            offsets: e.offsets,
            values: e.values,
            ...at,
          });
          break;
        case 'rewind':
          history.add({
            f: 'rewind',
            process,
            topic: this.opts.input,
            partition: e.partition,
            from: e.from,
            committed: e.committed,
            fresh: e.fresh,
            ...at,
          });
          break;
        case 'begin':
          begun.set(e.txn, now);
          break;
        case 'txn': {
          const { ev: _ev, error, input, ...rest } = e;
          history.add<TxnOp>({
            f: 'txn',
            process: 'ctp',
            transactionalId: CTP_ID,
            ...rest,
            input: { ...input, consumer: process },
            invokeMs: begun.get(e.txn) ?? now,
            completeMs: now,
            ...(error !== undefined ? { error } : {}),
          });
          begun.delete(e.txn);
          if (e.end === 'commit' && e.outcome === 'ok')
            this.workerCommitted.set(
              input.partition,
              Math.max(input.next, this.workerCommitted.get(input.partition) ?? 0),
            );
          break;
        }
        case 'error':
          lastError = e.error;
          break;
        case 'ready':
        case 'alive':
          break;
      }
    };
    let buffered = '';
    proc.stdout.on('data', (c: Buffer) => {
      buffered += c.toString();
      for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
        const line = buffered.slice(0, i);
        buffered = buffered.slice(i + 1);
        try {
          onEvent(JSON.parse(line) as WorkerEvent);
        } catch {
          lastError = `unreadable line from the worker: ${line.slice(0, 200)}`;
        }
      }
    });
    const logFile = this.opts.workerLogFile;
    if (logFile !== undefined)
      this.appendWorkerLog(logFile, `--- [chaos] ${process} started at ${new Date().toISOString()}\n`);
    proc.stderr.on('data', (c: Buffer) => {
      if (logFile !== undefined) this.appendWorkerLog(logFile, c.toString());
    });
    let stuck = false;
    const watchdog = setInterval(() => {
      if (Date.now() - lastEventAt < WORKER_STUCK_MS) return;
      stuck = true;
      proc.kill('SIGKILL');
    }, 5_000);
    try {
      const stopped = this.workerStop.then(() => 'stopped' as const);
      const first = await Promise.race([exited, stopped]);
      if (first === 'stopped') {
        proc.kill('SIGTERM');
        if ((await bounded(exited, 30_000)) === undefined) proc.kill('SIGKILL');
        await exited;
        return 'stopped';
      }
      if (stuck)
        return `stuck: no event for ${WORKER_STUCK_MS / 1000} s, killed (its stack: ${logFile ?? 'stderr'})`;
      return `exited with ${first}${lastError !== '' ? `: ${lastError}` : ''}`;
    } finally {
      clearInterval(watchdog);
    }
  }
}

/** What scripts/ctp_worker.py prints, one JSON object a line. */
type WorkerEvent =
  | { ev: 'ready' }
  | { ev: 'assign'; partitions: number[] }
  | { ev: 'poll'; partition: number; offsets: number[]; values: string[] }
  | { ev: 'rewind'; partition: number; from: number; committed: number; fresh: boolean }
  | { ev: 'begin'; txn: number }
  | ({ ev: 'txn'; input: Omit<NonNullable<TxnOp['input']>, 'consumer'>; error?: string } & Pick<
      TxnOp,
      'txn' | 'intent' | 'end' | 'outcome' | 'writes'
    >)
  | { ev: 'error'; error: string }
  | { ev: 'alive' };
