// The checks of the transactional workload, as pure functions of the history and the final reads —
// those of Jepsen's Kafka tests, over transactions:
// - aborted read: no record of a transaction that was never committed is visible to read_committed
//   (the final reads, and the worker's read_committed consumer);
// - lost write: every record of a transaction whose commit was acknowledged is visible;
// - all or nothing: a transaction whose commit got no answer is visible entirely or not at all;
// - duplicates: a value at most once in each topic, and each input record transformed into at most
//   one visible output record; below the worker's committed offsets exactly one (the pipeline is
//   exactly once), above them none;
// - order: read_committed offsets increase, and each producer's records (and the worker's) appear
//   in the order of its transactions;
// - the aborted records acknowledged are physically in the log (read_uncommitted), so the
//   aborted-read check is not vacuous.
import type { CheckResult, FinalRead, Unavailability } from './checker.js';
import { faultWindows } from './checker.js';
import type { StreamOp } from './checker.js';
import type { Op, PollOp, RestartOp, RewindOp, TxnOp } from './history.js';
import { parseOutputValue } from './txn-workload.js';

export type Isolation = 'read_committed' | 'read_uncommitted';

/** A final read of one partition of one of the workload's topics. */
export interface TxnRead extends FinalRead {
  topic: string;
  isolation: Isolation;
}

export interface TxnCheckInput {
  ops: readonly Op[];
  /** The producers' topic, read by the worker. */
  input: string;
  /** The worker's topic. */
  output: string;
  partitions: number;
  reads: readonly TxnRead[];
  /** The worker group's committed offsets of the input topic at the end (undefined: not read). */
  committedOffsets: Record<string, number> | undefined;
  /** Partitions whose last stable offset stayed below their high watermark at the end ("t-p: ..."). */
  unstable: readonly string[];
  /** Transactional ids whose InitProducerId kept failing at the end. */
  closeOutFailed: readonly string[];
}

/** Transactions by what became of them. */
export interface TxnCounts {
  /** Commit acknowledged. */
  committed: number;
  /** Commit sent, no answer: of these, visible in full / not at all. */
  unknown: number;
  unknownVisible: number;
  unknownInvisible: number;
  /** Aborted on purpose (EndTxn abort sent). */
  aborted: number;
  /** Stopped by an error before any EndTxn (never committed). */
  failed: number;
}

export interface TxnStats {
  producers: TxnCounts & { recordsAcked: number; recordsCommitted: number };
  worker: TxnCounts & {
    restarts: number;
    /** Rewinds after a rejoin (the worker was replaced), and on a fresh start (a violation). */
    rewinds: number;
    freshRewinds: number;
    polls: number;
  };
  /** Records per final read (the first complete one per partition). */
  reads: Record<string, { read_committed: number; read_uncommitted: number }>;
  /** Records of never-committed transactions acknowledged by the broker, and found in read_uncommitted. */
  abortedAcked: number;
  abortedInLog: number;
  /** Input records (read_committed) below the group's committed offsets, transformed exactly once. */
  pipelineInput: number;
  pipelineExactlyOnce: number;
  /** Input records (read_committed) at or above the committed offsets: not processed by the end. */
  backlog: number;
  committedOffsets: Record<string, number> | undefined;
}

export interface TxnCheckOutcome {
  checks: CheckResult[];
  valid: boolean;
  stats: TxnStats;
}

const MAX_DETAILS = 20;

class Check {
  count = 0;
  readonly details: string[] = [];
  constructor(
    readonly name: string,
    readonly safety: boolean,
  ) {}
  add(detail: string): void {
    this.count++;
    if (this.details.length < MAX_DETAILS) this.details.push(detail);
  }
  result(): CheckResult {
    return { name: this.name, safety: this.safety, count: this.count, details: this.details };
  }
}

type Status = 'committed' | 'unknown' | 'aborted' | 'failed';

export function txnStatus(t: TxnOp): Status {
  if (t.end === 'commit') return t.outcome === 'ok' ? 'committed' : 'unknown';
  return t.end === 'abort' ? 'aborted' : 'failed';
}

const never = (s: Status): boolean => s === 'aborted' || s === 'failed';
const name = (t: TxnOp): string => `${t.process} txn ${t.txn} (${txnStatus(t)})`;
const at = (topic: string, p: number, o: number): string => `${topic}-${p}@${o}`;

interface Place {
  partition: number;
  offset: number;
}

export function checkTxn(input: TxnCheckInput): TxnCheckOutcome {
  const { ops } = input;
  const topics = [input.input, input.output];
  const checks = {
    abortedRead: new Check('txn-aborted-read', true),
    lostWrite: new Check('txn-lost-write', true),
    allOrNothing: new Check('txn-all-or-nothing', true),
    duplicate: new Check('txn-duplicate', true),
    pipelineLost: new Check('txn-pipeline-lost', true),
    pipelineDuplicate: new Check('txn-pipeline-duplicate', true),
    pipelineOffsets: new Check('txn-pipeline-offsets', true),
    nonmonotonic: new Check('txn-nonmonotonic', true),
    inconsistent: new Check('txn-inconsistent-offsets', true),
    unexpected: new Check('txn-unexpected-value', true),
    abortedInLog: new Check('txn-aborted-in-log', true),
    finalReads: new Check('txn-final-reads', true),
    rewinds: new Check('txn-worker-rewinds', false),
    stuck: new Check('txn-worker-stuck', false),
    backlog: new Check('txn-worker-backlog', false),
    closeOut: new Check('txn-close-out', false),
  };
  const txns = ops.filter((o): o is TxnOp => o.f === 'txn');
  const polls = ops.filter((o): o is PollOp => o.f === 'poll' && o.topic === input.input);

  // Every value written, and by which transaction (values are unique per transaction attempt).
  const owner = new Map<string, TxnOp>();
  for (const t of txns) for (const w of t.writes) for (const v of w.values) owner.set(v, t);

  // The final logs: per topic and partition, the first complete read of each isolation level.
  const logs = new Map<string, Map<number, string>>(); // `${isolation}/${topic}/${p}` → offset → value
  const logKey = (iso: Isolation, topic: string, p: number): string => `${iso}/${topic}/${p}`;
  const readStats: TxnStats['reads'] = {};
  for (const topic of topics) {
    readStats[topic] = { read_committed: 0, read_uncommitted: 0 };
    for (let p = 0; p < input.partitions; p++)
      for (const iso of ['read_committed', 'read_uncommitted'] as const) {
        const reads = input.reads.filter(
          (r) => r.topic === topic && r.partition === p && r.isolation === iso,
        );
        const good = reads.filter((r) => r.complete);
        const first = good[0];
        if (first === undefined) {
          checks.finalReads.add(
            `${topic}-${p} (${iso}): no complete read (${reads.map((r) => `${r.via}: ${r.error ?? 'incomplete'}`).join('; ') || 'none'})`,
          );
          continue;
        }
        const log = new Map<number, string>();
        let prev = -1;
        for (const r of first.records) {
          if (r.offset <= prev)
            checks.nonmonotonic.add(
              `${topic}-${p} (${iso}) via ${first.via}: offset ${r.offset} after ${prev}`,
            );
          prev = r.offset;
          log.set(r.offset, r.value);
        }
        logs.set(logKey(iso, topic, p), log);
        (readStats[topic] as Record<Isolation, number>)[iso] += log.size;
        const sig = (r: FinalRead): string => r.records.map((x) => `${x.offset}=${x.value}`).join(',');
        for (const other of good.slice(1))
          if (sig(other) !== sig(first))
            checks.finalReads.add(
              `${topic}-${p} (${iso}): the read via ${first.via} (${first.records.length} records) differs from the read via ${other.via} (${other.records.length})`,
            );
      }
  }
  for (const u of input.unstable)
    checks.finalReads.add(
      `last stable offset below the high watermark after healing (a transaction never ended): ${u}`,
    );
  if (input.committedOffsets === undefined)
    checks.finalReads.add(`the group's committed offsets of ${input.input} could not be read`);
  for (const id of input.closeOutFailed)
    checks.closeOut.add(`InitProducerId for ${id} kept failing after healing`);

  // inconsistent-offsets: one offset, two values, across reads, polls and acknowledged sends.
  const seen = new Map<string, Map<string, string>>();
  const note = (topic: string, p: number, o: number, v: string, source: string): void => {
    const k = at(topic, p, o);
    let m = seen.get(k);
    if (m === undefined) seen.set(k, (m = new Map()));
    if (!m.has(v)) m.set(v, source);
  };
  for (const r of input.reads)
    for (const rec of r.records)
      note(r.topic, r.partition, rec.offset, rec.value, `${r.isolation} read via ${r.via}`);
  for (const pl of polls)
    pl.offsets.forEach((o, i) =>
      note(pl.topic, pl.partition, o, pl.values[i] ?? '', `poll by ${pl.process} at ${pl.completeMs} ms`),
    );
  for (const t of txns)
    for (const w of t.writes)
      if (w.acked && w.offset !== undefined)
        w.values.forEach((v, i) =>
          note(w.topic, w.partition, (w.offset as number) + i, v, `ack of ${t.process} txn ${t.txn}`),
        );
  for (const [k, m] of seen)
    if (m.size > 1)
      checks.inconsistent.add(`${k}: ${[...m].map(([v, src]) => `${v} (${src})`).join(' vs ')}`);
  // Every read_committed record is in the log as read_uncommitted.
  for (const topic of topics)
    for (let p = 0; p < input.partitions; p++) {
      const rc = logs.get(logKey('read_committed', topic, p));
      const ru = logs.get(logKey('read_uncommitted', topic, p));
      if (rc === undefined || ru === undefined) continue;
      for (const [o, v] of rc)
        if (ru.get(o) !== v)
          checks.inconsistent.add(
            `${at(topic, p, o)}: ${v} read_committed, ${ru.get(o) ?? 'nothing'} read_uncommitted`,
          );
    }

  // What read_committed shows, per topic: value → places.
  const visible = new Map<string, Map<string, Place[]>>();
  for (const topic of topics) {
    const m = new Map<string, Place[]>();
    visible.set(topic, m);
    for (let p = 0; p < input.partitions; p++)
      for (const [offset, v] of logs.get(logKey('read_committed', topic, p)) ?? []) {
        const list = m.get(v) ?? [];
        list.push({ partition: p, offset });
        m.set(v, list);
      }
  }
  const isVisible = (topic: string, v: string): boolean => visible.get(topic)?.has(v) ?? false;

  for (const topic of topics)
    for (const [v, places] of visible.get(topic) ?? []) {
      const where = places.map((x) => at(topic, x.partition, x.offset)).join(', ');
      if (places.length > 1) checks.duplicate.add(`${v} at ${where}`);
      const t = owner.get(v);
      if (t === undefined) checks.unexpected.add(`${where} holds ${v}, which no transaction wrote`);
      else if (never(txnStatus(t))) checks.abortedRead.add(`${v} of ${name(t)} is visible at ${where}`);
    }
  for (const pl of polls)
    pl.values.forEach((v, i) => {
      const t = owner.get(v);
      const where = at(pl.topic, pl.partition, pl.offsets[i] ?? -1);
      if (t === undefined)
        checks.unexpected.add(`${pl.process} polled ${v} at ${where}, which no transaction wrote`);
      else if (never(txnStatus(t)))
        checks.abortedRead.add(`${pl.process} (read_committed) polled ${v} of ${name(t)} at ${where}`);
    });

  // Per transaction: lost writes, all or nothing, aborted records in the log.
  const producers: TxnStats['producers'] = {
    ...zeroCounts(),
    recordsAcked: 0,
    recordsCommitted: 0,
  };
  const worker: TxnStats['worker'] = {
    ...zeroCounts(),
    restarts: ops.filter((o): o is RestartOp => o.f === 'restart').length,
    rewinds: 0,
    freshRewinds: 0,
    polls: polls.length,
  };
  let abortedAcked = 0;
  let abortedInLog = 0;
  for (const t of txns) {
    const status = txnStatus(t);
    const counts = t.process === 'ctp' ? worker : producers;
    counts[status]++;
    const values = t.writes.flatMap((w) => w.values.map((v) => [w, v] as const));
    const shown = values.filter(([w, v]) => isVisible(w.topic, v));
    if (t.process !== 'ctp') {
      producers.recordsAcked += t.writes.reduce((n, w) => n + (w.acked ? w.values.length : 0), 0);
      if (status === 'committed') producers.recordsCommitted += values.length;
    }
    if (status === 'committed')
      for (const [w, v] of values)
        if (!isVisible(w.topic, v) && logs.has(logKey('read_committed', w.topic, w.partition)))
          checks.lostWrite.add(
            `${v} of ${name(t)} (${w.topic}-${w.partition}, acked at ${w.offset ?? '?'}, commit acked at ${t.completeMs} ms) is not visible`,
          );
    if (status === 'unknown') {
      if (shown.length === 0) counts.unknownInvisible++;
      else if (shown.length === values.length) counts.unknownVisible++;
      else
        checks.allOrNothing.add(
          `${name(t)}: ${shown.length} of its ${values.length} records visible (${shown
            .slice(0, 3)
            .map(([, v]) => v)
            .join(', ')}; missing ${values
            .filter(([w, v]) => !isVisible(w.topic, v))
            .slice(0, 3)
            .map(([, v]) => v)
            .join(', ')})`,
        );
    }
    if (never(status))
      for (const w of t.writes) {
        if (!w.acked) continue;
        abortedAcked += w.values.length;
        const ru = logs.get(logKey('read_uncommitted', w.topic, w.partition));
        if (ru === undefined) continue;
        const present = new Set(ru.values());
        for (const v of w.values)
          if (present.has(v)) abortedInLog++;
          else
            checks.abortedInLog.add(
              `${v} of ${name(t)} acknowledged at ${w.topic}-${w.partition}@${w.offset ?? '?'} is not in the log (read_uncommitted)`,
            );
      }
  }
  if (abortedInLog === 0)
    checks.abortedInLog.add(
      `no record of an aborted transaction is in the log (${abortedAcked} acknowledged): the aborted-read check proved nothing`,
    );

  // Order: each producer's records in the order of its transactions (and sequence numbers) per
  // partition; the worker's by transaction.
  for (const topic of topics)
    for (let p = 0; p < input.partitions; p++) {
      const last = new Map<string, { key: [number, number]; offset: number; v: string }>();
      for (const [offset, v] of logs.get(logKey('read_committed', topic, p)) ?? []) {
        const t = owner.get(v);
        if (t === undefined) continue;
        const key: [number, number] =
          t.process === 'ctp' ? [t.txn, 0] : [t.txn, Number(v.slice(v.lastIndexOf('-') + 1))];
        const prev = last.get(t.process);
        if (prev !== undefined && (key[0] < prev.key[0] || (key[0] === prev.key[0] && key[1] < prev.key[1])))
          checks.nonmonotonic.add(
            `${topic}-${p}: ${v} at ${offset} after ${prev.v} at ${prev.offset} (${t.process}'s transactions out of order)`,
          );
        last.set(t.process, { key, offset, v });
      }
    }
  // The worker's consumer: per instance and partition, offsets increase within a poll, and a poll
  // begins past the last input record a committed transaction of that instance processed, until
  // the instance (re)joins its group. (kafkajs hands over a fetch's records again from the last
  // resolved offset when the worker stopped in the middle of a batch.)
  const processed = new Map<string, number>();
  for (const o of ops) {
    if (o.f === 'assign' && o.topic === input.input) {
      for (const k of [...processed.keys()]) if (k.startsWith(`${o.process}/`)) processed.delete(k);
      continue;
    }
    if (o.f === 'txn' && o.input !== undefined && txnStatus(o) === 'committed') {
      const last = o.input.offsets[o.input.offsets.length - 1];
      if (last !== undefined) processed.set(`${o.input.consumer}/${o.input.partition}`, last);
      continue;
    }
    if (o.f !== 'poll' || o.topic !== input.input) continue;
    let prev = processed.get(`${o.process}/${o.partition}`);
    const what = prev === undefined ? '' : ' (processed)';
    for (const off of o.offsets) {
      if (prev !== undefined && off <= prev)
        checks.nonmonotonic.add(
          `${o.process} polled ${input.input}-${o.partition}@${off} after @${prev}${off === o.offsets[0] ? what : ''} (at ${o.completeMs} ms)`,
        );
      prev = off;
    }
  }

  // The pipeline: every read_committed input record below the group's committed offset appears
  // transformed in the output exactly once; none at or above it.
  const outputsOf = new Map<string, Array<{ v: string; place: Place }>>();
  for (const [v, places] of visible.get(input.output) ?? []) {
    const parsed = parseOutputValue(v);
    if (parsed === undefined) continue;
    const list = outputsOf.get(parsed.input) ?? [];
    for (const place of places) list.push({ v, place });
    outputsOf.set(parsed.input, list);
  }
  let pipelineInput = 0;
  let pipelineExactlyOnce = 0;
  let backlog = 0;
  const committed = input.committedOffsets ?? {};
  for (let p = 0; p < input.partitions; p++) {
    const next = committed[String(p)] ?? 0;
    for (const [offset, v] of logs.get(logKey('read_committed', input.input, p)) ?? []) {
      const outs = outputsOf.get(v) ?? [];
      const where = outs
        .map((x) => `${x.v} at ${at(input.output, x.place.partition, x.place.offset)}`)
        .join(', ');
      if (offset < next) {
        pipelineInput++;
        if (outs.length === 0)
          checks.pipelineLost.add(
            `${v} (${at(input.input, p, offset)}, below the committed offset ${next}) is in no committed output`,
          );
        else if (outs.length === 1) pipelineExactlyOnce++;
      } else if (outs.length > 0)
        checks.pipelineOffsets.add(
          `${v} (${at(input.input, p, offset)}) was transformed and committed (${where}), but the group's committed offset is ${next}`,
        );
      else backlog++;
      if (outs.length > 1) checks.pipelineDuplicate.add(`${v} (${at(input.input, p, offset)}) → ${where}`);
    }
  }
  if (backlog > 0)
    checks.backlog.add(
      `${backlog} committed input records at or above the committed offsets ${JSON.stringify(committed)}`,
    );
  for (const [inputValue, outs] of outputsOf) {
    if (isVisible(input.input, inputValue)) continue;
    const t = owner.get(inputValue);
    const where = outs
      .map((x) => `${x.v} at ${at(input.output, x.place.partition, x.place.offset)}`)
      .join(', ');
    if (t === undefined)
      checks.unexpected.add(`output ${where} was made from ${inputValue}, which no transaction wrote`);
    else if (txnStatus(t) !== 'committed')
      checks.abortedRead.add(
        `output ${where} was made from ${inputValue} of ${name(t)}, not visible in ${input.input}`,
      );
  }
  for (const r of ops.filter((o): o is RewindOp => o.f === 'rewind')) {
    const d = `${r.process}: ${r.topic}-${r.partition} from ${r.from}, where a transaction acknowledged as committed had sent ${r.committed} (at ${r.completeMs} ms)`;
    if (r.fresh) {
      worker.freshRewinds++;
      checks.pipelineOffsets.add(`the group's committed offset went back after InitProducerId: ${d}`);
    } else {
      worker.rewinds++;
      checks.rewinds.add(`${d}; the worker was replaced`);
    }
  }

  for (const r of ops)
    if (r.f === 'restart' && (r.reason.startsWith('stuck') || r.reason.includes('blocked past its timeout')))
      checks.stuck.add(`${r.process} at ${r.completeMs} ms: ${r.reason}`);

  const results = Object.values(checks).map((c) => c.result());
  return {
    checks: results,
    valid: results.every((r) => !r.safety || r.count === 0),
    stats: {
      producers,
      worker,
      reads: readStats,
      abortedAcked,
      abortedInLog,
      pipelineInput,
      pipelineExactlyOnce,
      backlog,
      committedOffsets: input.committedOffsets,
    },
  };
}

function zeroCounts(): TxnCounts {
  return { committed: 0, unknown: 0, unknownVisible: 0, unknownInvisible: 0, aborted: 0, failed: 0 };
}

/**
 * Per fault, the longest run of bad transactions of one producer (not committed or aborted as
 * intended, or slower than `slowMs`) — see `faultWindows`.
 */
export function txnUnavailability(ops: readonly Op[], slowMs: number): Unavailability[] {
  const streams = new Map<string, StreamOp[]>();
  for (const o of ops)
    if (o.f === 'txn' && o.process !== 'ctp') {
      const list = streams.get(o.process) ?? [];
      list.push({
        invokeMs: o.invokeMs,
        completeMs: o.completeMs,
        bad: o.outcome !== 'ok' || o.completeMs - o.invokeMs > slowMs,
      });
      streams.set(o.process, list);
    }
  return faultWindows(ops, streams.values());
}
