// The transactional workload (issue 21), with kafkajs, every operation into the history:
// - transactional producers `tp1`, `tp2`, ... (transactional ids `chaos-txn-tp1`, ...), one
//   transaction after another on the input topic: 2–3 partitions per transaction, 1–3 records per
//   partition, values `<producer>-<txn>-<seq>`; a share of them aborted on purpose. One send per
//   partition: kafkajs 2.2.4 may send acknowledged records again with new sequence numbers when a
//   send spread over several leaders is retried after a leader moved (see the server's
//   test/scripts/ctp-worker.mjs). Any error replaces the producer, never resending: the next one's
//   InitProducerId aborts what the old one left open.
// - a consume-transform-produce worker `ctp` (transactional id and group `chaos-txn-ctp`): a
//   read_committed consumer of the input; per fetch of a partition one transaction sends the
//   transformed records `<input value>><ctp txn>` to the output (record i of a fetch from input
//   partition p to output partition (p + i) mod P), the position after the fetch with sendOffsets,
//   and commits. Some fetches are first sent in a transaction aborted on purpose, then again. Any error,
//   or a consumer positioned below the offsets of a transaction acknowledged as committed, replaces
//   the worker: its producer first (InitProducerId fences the old one and returns once the old
//   one's last transaction is complete), then its consumer, whose committed offsets are then final.
//
// Outcomes (history.ts, TxnOp): a transaction whose EndTxn was never sent is never committed; one
// whose commit was acknowledged is committed; one whose commit got no answer is unknown.
import type { Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import { bounded, deadline, sleep } from './cluster.js';
import type { History, TxnOp, TxnWrite } from './history.js';
import type { Rng } from './rng.js';
import { createRng } from './rng.js';
import { PRODUCE_TIMEOUT_MS, describeError, kafkaClient, rejoinError } from './workload.js';

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
  /** Share of the worker's fetches first sent in a transaction aborted on purpose. */
  ctpAbortRatio: number;
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

/** A step of a transaction (begin, send, sendOffsets, EndTxn) not answered in this long fails it. */
const STEP_TIMEOUT_MS = 20_000;
/** Worker replacements per run, at most. */
const MAX_WORKER_RESTARTS = 200;

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
  /** Numbers of the worker's transactions, across its replacements. */
  private workerTxns = 0;
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
   * Runs `op` as one transaction of `producer`: begin, one send per write, the worker's sendOffsets,
   * EndTxn as `op.intent` says. Fills in the writes' acknowledgements, `end` and `outcome`; throws
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
    if (op.input !== undefined)
      await deadline(
        txn.sendOffsets({
          consumerGroupId: CTP_GROUP,
          topics: [
            {
              topic: op.input.topic,
              partitions: [{ partition: op.input.partition, offset: String(op.input.next) }],
            },
          ],
        }),
        STEP_TIMEOUT_MS,
        'sendOffsets',
      );
    op.end = op.intent;
    op.outcome = 'info';
    await deadline(op.intent === 'commit' ? txn.commit() : txn.abort(), STEP_TIMEOUT_MS, op.intent);
    op.outcome = 'ok';
  }

  // ------------------------------------------------------------------ consume-transform-produce

  private async runWorker(): Promise<void> {
    const { history } = this.opts;
    const rng = createRng(this.opts.seed * 31 + 1_000);
    for (let incarnation = 0; !this.workerStopped; incarnation++) {
      const reason = await this.runIncarnation(incarnation, rng);
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

  /** One instance of the worker, until it breaks (the reason) or the worker is stopped. */
  private async runIncarnation(incarnation: number, rng: Rng): Promise<string> {
    const { history, input } = this.opts;
    const process = `ctp#${incarnation}`;
    const producer = transactionalProducer(
      kafkaClient(this.opts.brokers, `chaos-ctp-p${incarnation}`, this.opts.clientLogFile),
      CTP_ID,
      this.opts.transactionTimeoutMs,
    );
    let consumer: Consumer | undefined;
    let broken: string | undefined;
    let onBreak: (reason: string) => void = () => undefined;
    const breaks = new Promise<string>((r) => (onBreak = r));
    const fail = (reason: string): void => {
      if (broken !== undefined) return;
      broken = reason;
      onBreak(reason);
    };
    // Partitions whose first batch since the last group join was checked; the worker's
    // transactions begun before that join.
    const checked = new Set<number>();
    let txnsAtJoin = 0;
    let txns = 0;
    try {
      await deadline(producer.connect(), STEP_TIMEOUT_MS, 'connect');
      // InitProducerId before the consumer exists: it fences the previous instance and returns once
      // that one's last transaction is complete, so the offsets the consumer fetches are final.
      const first = await deadline(producer.transaction(), STEP_TIMEOUT_MS, 'InitProducerId');
      await deadline(first.abort(), STEP_TIMEOUT_MS, 'abort'); // nothing added: no EndTxn sent
      const c = kafkaClient(this.opts.brokers, `chaos-ctp-c${incarnation}`, this.opts.clientLogFile).consumer(
        {
          groupId: CTP_GROUP,
          readUncommitted: false,
          sessionTimeout: 10_000,
          rebalanceTimeout: 15_000,
          heartbeatInterval: 1_000,
          maxWaitTimeInMs: 500,
          // kafkajs restarts a crashed consumer by itself, even one being disconnected (its restart
          // timer outlives the disconnect): such a zombie would stay in the group holding partitions
          // it no longer processes. A crash replaces the whole worker instead.
          retry: {
            initialRetryTime: 200,
            maxRetryTime: 1_000,
            retries: 3,
            restartOnFailure: async () => false,
          },
        },
      );
      consumer = c;
      c.on(c.events.GROUP_JOIN, (e) => {
        if (broken !== undefined) {
          void bounded(c.disconnect(), 10_000); // a replaced instance must not hold partitions
          return;
        }
        const now = history.now();
        checked.clear();
        txnsAtJoin = txns;
        history.add({
          f: 'assign',
          process,
          topic: input,
          partitions: (e.payload.memberAssignment[input] ?? []).slice().sort((a, b) => a - b),
          invokeMs: now,
          completeMs: now,
          outcome: 'ok',
        });
      });
      c.on(c.events.CRASH, (e) => fail(`consumer crashed: ${describeError(e.payload.error)}`));
      await deadline(c.connect(), STEP_TIMEOUT_MS, 'consumer connect');
      await deadline(c.subscribe({ topic: input, fromBeginning: true }), STEP_TIMEOUT_MS, 'subscribe');
      await c.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async (payload: EachBatchPayload) => {
          const { batch, isRunning, isStale } = payload;
          if (broken !== undefined || !isRunning() || isStale() || batch.messages.length === 0) return;
          const p = batch.partition;
          const offsets = batch.messages.map((m) => Number(m.offset));
          const now = history.now();
          history.add({
            f: 'poll',
            process,
            topic: input,
            partition: p,
            offsets,
            values: batch.messages.map((m) => m.value?.toString() ?? ''),
            invokeMs: now,
            completeMs: now,
            outcome: 'ok',
          });
          const committed = this.workerCommitted.get(p);
          const from = offsets[0] as number;
          if (!checked.has(p)) {
            checked.add(p);
            if (committed !== undefined && from < committed) {
              const fresh = txnsAtJoin === 0;
              history.add({
                f: 'rewind',
                process,
                topic: input,
                partition: p,
                from,
                committed,
                fresh,
                invokeMs: now,
                completeMs: now,
                outcome: 'ok',
              });
              if (!fresh) return fail(`rewind: ${input}-${p} from ${from}, ${committed} committed`);
            }
          }
          // One transaction for the whole fetch, sending the position after it (records of aborted
          // transactions and markers after its last record included), as a Java consumer's
          // position() is. A fetch ends at the last stable offset, where no transaction that began
          // before is still to be decided: the next fetch never begins inside aborted transactions
          // that began before it, which kafkajs's read_committed filter mishandles (README).
          const next = Number(batch.lastOffset()) + 1;
          for (const intent of rng.chance(this.opts.ctpAbortRatio)
            ? (['abort', 'commit'] as const)
            : (['commit'] as const)) {
            if (broken !== undefined || !isRunning() || isStale()) return;
            txns++;
            const op = await this.transform(producer, process, p, batch.messages, next, intent);
            if (op.outcome !== 'ok')
              return fail(`transaction ${op.txn} (${intent}): ${op.error ?? op.outcome}`);
          }
          this.workerCommitted.set(p, Math.max(next, this.workerCommitted.get(p) ?? 0));
          payload.resolveOffset(String(next - 1));
          try {
            await payload.heartbeat();
          } catch (e) {
            // The group's errors go back to kafkajs, which rejoins (see workload.ts).
            const r = rejoinError(e);
            if (r !== undefined) throw r;
          }
        },
      });
      return await Promise.race([breaks, this.workerStop.then(() => 'stopped')]);
    } catch (e) {
      return describeError(e);
    } finally {
      fail('stopped');
      if (consumer !== undefined) await bounded(consumer.disconnect(), 10_000);
      await bounded(producer.disconnect(), 5_000);
    }
  }

  /** One worker transaction over `records` of input partition `p` (delivered to `consumer`); recorded in the history. */
  private async transform(
    producer: Producer,
    consumer: string,
    p: number,
    records: EachBatchPayload['batch']['messages'],
    next: number,
    intent: 'commit' | 'abort',
  ): Promise<TxnOp> {
    const { history, output, partitions } = this.opts;
    const txn = this.workerTxns++;
    const byPartition = new Map<number, string[]>();
    records.forEach((m, i) => {
      const to = (p + i) % partitions;
      byPartition.set(to, [...(byPartition.get(to) ?? []), outputValue(m.value?.toString() ?? '', txn)]);
    });
    const op: TxnOp = {
      f: 'txn',
      process: 'ctp',
      transactionalId: CTP_ID,
      txn,
      intent,
      end: 'none',
      writes: [...byPartition]
        .sort(([a], [b]) => a - b)
        .map(([partition, values]) => ({ topic: output, partition, values, acked: false })),
      input: {
        topic: this.opts.input,
        partition: p,
        offsets: records.map((m) => Number(m.offset)),
        values: records.map((m) => m.value?.toString() ?? ''),
        next,
        consumer,
      },
      invokeMs: history.now(),
      completeMs: 0,
      outcome: 'fail',
    };
    try {
      await this.transact(producer, op);
    } catch (e) {
      op.error = describeError(e);
    }
    op.completeMs = history.now();
    return history.add(op);
  }
}
