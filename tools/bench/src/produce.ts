// The project's own produce load generator: pipelined Produce requests built with
// @chronik/protocol (generated request codec + buildRecordBatch) over raw TCP sockets, one per
// partition leader, many requests in flight.
//
// - Max mode (no rate): each request carries one batch per partition the broker leads, together
//   about `requestBytes` (default 1,000,000 B: librdkafka's largest batch, batch.size), with 4
//   requests in flight per connection; the batches are built once and re-sent with fresh
//   correlation ids (the broker assigns offsets by rewriting the base offset). Latency = request
//   written → response.
// - Fixed-rate mode: an open-loop schedule, in ticks of `tickMs`; the records due in a tick go into
//   one fresh request per leader (round-robin over partitions), and each record's latency is
//   measured from its intended send time, so a stall shows up in the percentiles instead of
//   silently lowering the offered load (no coordinated omission).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ApiKey, ErrorCode, buildRecordBatch, decodeResponseFrame } from '@chronik/protocol';
import type { ProduceRequest } from '@chronik/protocol';
import { BenchError, errorMessage } from './errors.js';
import { KafkaConnection, PRODUCE_VERSION, errorName, prebuildRequest, waitForLeaders } from './kafka.js';
import type { BrokerAddress, PrebuiltRequest } from './kafka.js';
import { LatencyHistogram, throughput } from './stats.js';

export interface ProduceSpec {
  bootstrap: BrokerAddress;
  topic: string;
  partitions: number;
  recordBytes: number;
  /** 1 or -1 (all). */
  acks: 1 | -1;
  /** Records to send in total. */
  records: number;
  /** Requests in flight per connection (default: MAX_MODE_IN_FLIGHT or FIXED_RATE_IN_FLIGHT). */
  inFlight?: number | undefined;
  /** Request size: the target in max mode, the cap in fixed-rate mode (default DEFAULT_REQUEST_BYTES). */
  requestBytes?: number | undefined;
  /** Records per second; undefined = as fast as the window allows. */
  ratePerSec?: number;
  tickMs?: number;
  /** Fixed-rate runs stop as saturated when this far behind schedule (default 2 s). */
  maxScheduleLagMs?: number;
  /** Whole run limit (default 120 s). */
  timeoutMs?: number;
}

/** The outcome of one load run, the same shape for every system and client. */
export interface LoadResult {
  ok: boolean;
  msgs: number;
  /** Payload bytes (records × record size), not wire bytes. */
  bytes: number;
  seconds: number;
  msgPerSec: number;
  mbPerSec: number;
  p50Ms?: number;
  p99Ms?: number;
  p999Ms?: number;
  maxMs?: number;
  errors: number;
  /** The offered load was above what the system could take (fixed-rate runs). */
  saturated?: boolean;
  /**
   * Fixed-rate runs of the own generator: p99 of the generator's own event-loop delay, in ms. A
   * large value means the load generator, not the broker, was late (the machine was busy).
   */
  generatorLagP99Ms?: number;
  /** librdkafka driver: the client process's CPU time (its threads included), in seconds. */
  clientCpuSeconds?: number;
  /**
   * The servers' CPU time during the run (every Chronik node's process, every nats-server), in
   * seconds: set by the runner around produce, consume, latency, transactional and TLS runs.
   */
  brokerCpuSeconds?: number;
  /** The largest RSS of any one server process sampled during the run (bytes). */
  brokerPeakRssBytes?: number;
  /** Transactional produce runs: how many transactions committed, and how long one took. */
  transactions?: TransactionStats;
  /** Max-mode runs: how often partition leaders moved and the run re-routed (as a client does). */
  leaderMoves?: number;
  error?: string;
}

/** Committed transactions of a run and the duration of one (begin → commit returned), nearest-rank. */
export interface TransactionStats {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const MAX_SCHEDULE_LAG_MS = 2000;

/**
 * Request size (the target in max mode, the cap in fixed-rate mode): librdkafka's largest batch (its batch.size default, 1,000,000 B), under
 * the broker's default max.message.bytes (1 MiB) whatever the record size. Larger requests cost the
 * broker less per byte: 1 node, 1 KiB, acks=1 went 1.3× faster than with 256 KiB requests at the
 * same bytes in flight.
 */
export const DEFAULT_REQUEST_BYTES = 1_000_000;
/** Max mode's requests in flight per connection: about 4 MB in flight with the default size. */
export const MAX_MODE_IN_FLIGHT = 4;
/** Fixed-rate mode's limit of requests in flight per connection (its requests are small). */
export const FIXED_RATE_IN_FLIGHT = 16;
/** Distinct batch sizes a fixed-rate run keeps built (at most ~1 MB each by default). */
const MAX_BATCH_TEMPLATES = 64;
/** Upper bound of a record's framing in a v2 batch (length, attributes, deltas, key, value length, headers). */
const RECORD_FRAMING_BYTES = 16;

interface Leader {
  conn: KafkaConnection;
  partitions: number[];
}

async function openLeaders(spec: ProduceSpec): Promise<{ leaders: Leader[]; close: () => void }> {
  const boot = await KafkaConnection.connect(spec.bootstrap);
  try {
    const layout = await waitForLeaders(boot, spec.topic, spec.partitions, 30_000);
    const byNode = new Map<number, number[]>();
    layout.leaders.forEach((node, p) => byNode.set(node, [...(byNode.get(node) ?? []), p]));
    const leaders: Leader[] = [];
    for (const [node, partitions] of byNode) {
      const addr = layout.brokers.get(node)!;
      leaders.push({ conn: await KafkaConnection.connect(addr), partitions });
    }
    return { leaders, close: () => leaders.forEach((l) => l.conn.close()) };
  } finally {
    boot.close();
  }
}

function produceBody(spec: ProduceSpec, batches: { partition: number; batch: Buffer }[]): ProduceRequest {
  return {
    transactionalId: null,
    acks: spec.acks,
    timeoutMs: 30_000,
    topicData: [
      { name: spec.topic, partitionData: batches.map((b) => ({ index: b.partition, records: b.batch })) },
    ],
  };
}

/** Errors a Kafka producer retries after refreshing metadata (the partition's leader moved). */
const RETRIABLE = new Set<number>([
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.NOT_ENOUGH_REPLICAS,
  ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
]);

/**
 * Counts the records a Produce response failed: `failed` for errors that end the run (the first is
 * remembered), `retriable` for leader moves a client retries.
 */
function checkResponse(
  frame: Buffer,
  recordsPerPartition: (p: number) => number,
  onError: (msg: string) => void,
): { failed: number; retriable: number } {
  const res = decodeResponseFrame(ApiKey.Produce, PRODUCE_VERSION, frame).body;
  let failed = 0;
  let retriable = 0;
  for (const t of res.responses) {
    for (const p of t.partitionResponses) {
      if (p.errorCode === ErrorCode.NONE) continue;
      if (RETRIABLE.has(p.errorCode)) {
        retriable += recordsPerPartition(p.index);
      } else {
        failed += recordsPerPartition(p.index);
        onError(
          `partition ${p.index}: ${errorName(p.errorCode)}${p.errorMessage ? ` ${p.errorMessage}` : ''}`,
        );
      }
    }
  }
  return { failed, retriable };
}

function values(recordBytes: number, variants: number): Buffer[] {
  return Array.from({ length: variants }, (_, v) => {
    const b = Buffer.allocUnsafe(recordBytes);
    for (let i = 0; i < recordBytes; i++) b[i] = 97 + ((i + v * 7) % 26);
    return b;
  });
}

function result(
  hist: LatencyHistogram,
  msgs: number,
  recordBytes: number,
  seconds: number,
  errors: number,
  firstError: string | undefined,
  saturated = false,
): LoadResult {
  const t = throughput(msgs, recordBytes, seconds);
  const r: LoadResult = {
    ok: errors === 0 && !saturated && firstError === undefined,
    msgs,
    bytes: msgs * recordBytes,
    seconds,
    msgPerSec: t.msgPerSec,
    mbPerSec: t.mbPerSec,
    p50Ms: hist.percentileMs(0.5),
    p99Ms: hist.percentileMs(0.99),
    p999Ms: hist.percentileMs(0.999),
    maxMs: hist.maxMs,
    errors,
  };
  if (saturated) r.saturated = true;
  if (firstError !== undefined) r.error = firstError;
  return r;
}

/** Runs one produce load (max or fixed rate) against a topic that already exists. */
export async function runProduce(spec: ProduceSpec): Promise<LoadResult> {
  if (!(spec.records > 0) || !(spec.recordBytes > 0))
    throw new BenchError('BadArgument', 'records and recordBytes must be positive');
  if (spec.ratePerSec === undefined) return maxRun(spec);
  const { leaders, close } = await openLeaders(spec);
  try {
    return await fixedRateRun(spec, leaders, spec.ratePerSec);
  } finally {
    close();
  }
}

/** Leader moves a max-mode run follows (metadata refresh, then on) before it gives up. */
const MAX_LEADER_MOVES = 20;

/**
 * Max mode. When a partition's leader moves (NOT_LEADER_OR_FOLLOWER and the like), the run does
 * what a Kafka client does: refresh metadata, reconnect to the new leaders and send the rejected
 * records again; the time spent counts in the throughput. Any other error ends the run as failed.
 */
async function maxRun(spec: ProduceSpec): Promise<LoadResult> {
  const inFlight = spec.inFlight ?? MAX_MODE_IN_FLIGHT;
  const requestBytes = spec.requestBytes ?? DEFAULT_REQUEST_BYTES;
  const hist = new LatencyHistogram();
  const vals = values(spec.recordBytes, 4);
  let claimed = 0;
  let acked = 0;
  let errors = 0;
  let leaderMoves = 0;
  let firstError: string | undefined;
  const deadline = Date.now() + (spec.timeoutMs ?? 120_000);
  // The clock starts when the first requests are ready to go (connections open, batches built), as
  // a producer's throughput is counted from its first send; re-routing after a leader move counts.
  let t0: bigint | undefined;
  const runStart = process.hrtime.bigint();
  while (acked < spec.records && errors === 0 && firstError === undefined && Date.now() < deadline) {
    if (leaderMoves > MAX_LEADER_MOVES) {
      firstError = `partition leaders moved more than ${MAX_LEADER_MOVES} times`;
      break;
    }
    let moved = false;
    claimed = acked; // records rejected by a moved leader are sent again
    let opened: { leaders: Leader[]; close: () => void } | undefined;
    try {
      opened = await openLeaders(spec);
      const leaders = opened.leaders;
      await Promise.all(
        leaders.map(async (leader) => {
          const perBatch = Math.max(
            1,
            Math.floor(requestBytes / leader.partitions.length / (spec.recordBytes + RECORD_FRAMING_BYTES)),
          );
          const templates: PrebuiltRequest[] = vals.map((value) =>
            prebuildRequest(
              ApiKey.Produce,
              PRODUCE_VERSION,
              produceBody(
                spec,
                leader.partitions.map((partition) => ({
                  partition,
                  batch: buildRecordBatch({ records: Array.from({ length: perBatch }, () => ({ value })) }),
                })),
              ),
            ),
          );
          const perRequest = perBatch * leader.partitions.length;
          t0 ??= process.hrtime.bigint();
          let n = 0;
          const worker = async (): Promise<void> => {
            while (claimed < spec.records && errors === 0 && !moved && Date.now() < deadline) {
              claimed += perRequest;
              const sent = process.hrtime.bigint();
              const frame = await leader.conn.sendPrebuilt(templates[n++ % templates.length]!);
              const ms = Number(process.hrtime.bigint() - sent) / 1e6;
              const { failed, retriable } = checkResponse(
                frame,
                () => perBatch,
                (m) => (firstError ??= m),
              );
              errors += failed;
              acked += perRequest - failed - retriable;
              hist.record(ms, perRequest - failed - retriable);
              if (retriable > 0) moved = true;
            }
          };
          await Promise.all(Array.from({ length: inFlight }, worker));
        }),
      );
    } catch (e) {
      firstError ??= errorMessage(e);
      errors++;
    } finally {
      opened?.close();
    }
    if (moved && errors === 0) {
      leaderMoves++;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const seconds = Number(process.hrtime.bigint() - (t0 ?? runStart)) / 1e9;
  if (acked < spec.records && firstError === undefined)
    firstError = `timed out after ${acked} of ${spec.records} records`;
  const r = result(hist, acked, spec.recordBytes, seconds, errors, firstError);
  if (leaderMoves > 0) r.leaderMoves = leaderMoves;
  return r;
}

async function fixedRateRun(spec: ProduceSpec, leaders: Leader[], ratePerSec: number): Promise<LoadResult> {
  if (!(ratePerSec > 0)) throw new BenchError('BadArgument', `rate must be positive, got ${ratePerSec}`);
  const inFlight = spec.inFlight ?? FIXED_RATE_IN_FLIGHT;
  const tickMs = spec.tickMs ?? 1;
  const maxLagMs = spec.maxScheduleLagMs ?? MAX_SCHEDULE_LAG_MS;
  // The records due in a tick go in requests of at most ~1 MB: with 256 KiB, 1 KiB records at 426,000
  // msg/s took two requests per tick, and p99 was 4–6× higher.
  const maxPerRequest = Math.max(
    1,
    Math.floor((spec.requestBytes ?? DEFAULT_REQUEST_BYTES) / (spec.recordBytes + RECORD_FRAMING_BYTES)),
  );
  const hist = new LatencyHistogram();
  const value = values(spec.recordBytes, 1)[0]!;
  // A batch of n identical records is built once per n and re-sent (the broker assigns offsets),
  // as in max mode: building and checksumming every batch afresh capped the offered load near
  // 400 MB/s on 2 cores, below half of what the broker takes. Counts per tick cluster around a few
  // values; past MAX_BATCH_TEMPLATES distinct ones, batches are built per request.
  const templates = new Map<number, Buffer>();
  const batchOf = (count: number): Buffer => {
    let b = templates.get(count);
    if (b === undefined) {
      b = buildRecordBatch({ records: Array.from({ length: count }, () => ({ value })) });
      if (templates.size < MAX_BATCH_TEMPLATES) templates.set(count, b);
    }
    return b;
  };
  const leaderOf: Leader[] = [];
  for (const l of leaders) for (const p of l.partitions) leaderOf[p] = l;
  const msPerRecord = 1000 / ratePerSec;
  let sent = 0;
  let acked = 0;
  let errors = 0;
  let firstError: string | undefined;
  let saturated = false;
  const outstanding = new Set<Promise<void>>();
  const deadline = Date.now() + (spec.timeoutMs ?? 120_000);
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  const start = performance.now();

  const send = (leader: Leader, records: number[]): void => {
    const byPartition = new Map<number, number>();
    for (const k of records)
      byPartition.set(k % spec.partitions, (byPartition.get(k % spec.partitions) ?? 0) + 1);
    const batches = [...byPartition].map(([partition, count]) => ({ partition, batch: batchOf(count) }));
    const req = prebuildRequest(ApiKey.Produce, PRODUCE_VERSION, produceBody(spec, batches));
    const p = leader.conn.sendPrebuilt(req).then(
      (frame) => {
        const now = performance.now();
        const { failed, retriable } = checkResponse(
          frame,
          (q) => byPartition.get(q) ?? 0,
          (m) => (firstError ??= m),
        );
        // Fixed-rate runs do not re-route: a moved leader fails the run like any other error.
        if (retriable > 0) firstError ??= 'a partition leader moved during a fixed-rate run';
        errors += failed + retriable;
        acked += records.length - failed - retriable;
        if (failed + retriable === 0) for (const k of records) hist.record(now - (start + k * msPerRecord));
      },
      (e: unknown) => {
        errors += records.length;
        firstError ??= errorMessage(e);
      },
    );
    outstanding.add(p);
    void p.finally(() => outstanding.delete(p));
  };

  while (sent < spec.records) {
    const now = performance.now();
    const due = Math.min(spec.records, Math.floor((now - start) / msPerRecord) + 1);
    if ((due - sent) * msPerRecord > maxLagMs || Date.now() > deadline || errors > 0) {
      saturated = errors === 0;
      break;
    }
    // Group the due records by leader; a leader whose window is full keeps its records queued.
    while (sent < due) {
      const take = Math.min(due - sent, maxPerRequest);
      const groups = new Map<Leader, number[]>();
      for (let k = sent; k < sent + take; k++) {
        const l = leaderOf[k % spec.partitions]!;
        const g = groups.get(l);
        if (g === undefined) groups.set(l, [k]);
        else g.push(k);
      }
      if ([...groups.keys()].some((l) => l.conn.inFlight >= inFlight)) break;
      for (const [l, ks] of groups) send(l, ks);
      sent += take;
    }
    await new Promise((r) => setTimeout(r, tickMs));
  }
  await Promise.all([...outstanding]);
  const seconds = (performance.now() - start) / 1000;
  lag.disable();
  if (saturated)
    firstError ??= `offered load of ${Math.round(ratePerSec)} msg/s is above capacity (fell more than ${maxLagMs / 1000} s behind)`;
  const r = result(hist, acked, spec.recordBytes, seconds, errors, firstError, saturated);
  // The delay histogram (ns) includes the 1 ms resolution timer itself.
  r.generatorLagP99Ms = lag.percentile(99) / 1e6;
  return r;
}
