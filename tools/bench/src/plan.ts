// What a run measures: the scenario matrix of the full plan and of --quick. Pure.

export type Acks = 1 | -1;

export interface ProduceCase {
  recordBytes: number;
  partitions: number;
  acks: Acks;
  records: number;
}

/** The producer of a transactional comparison run. */
export type TransactionProducer = 'idempotent' | 'transactional';

/**
 * One run of a transactional comparison pair (librdkafka driver, acks=all, max mode): the
 * transactional producer, its records in transactions of `recordsPerTransaction` committed one at
 * a time, and just before it the pair's reference, the idempotent producer with the same client,
 * record size and settings (it sends no transactions; `recordsPerTransaction` names its pair).
 */
export interface TransactionCase extends ProduceCase {
  producer: TransactionProducer;
  recordsPerTransaction: number;
}

/** The listener a TLS comparison run produces through. */
export type ListenerSecurity = 'plaintext' | 'ssl';

/**
 * One run of the TLS comparison (librdkafka driver, max mode, single node): the same records over
 * the PLAINTEXT or the SSL listener of one server; `round` numbers the pairs, whose order alternates
 * (PLAINTEXT first in even rounds, SSL first in odd ones) so a drifting load moves both sides alike.
 */
export interface TlsCase extends ProduceCase {
  security: ListenerSecurity;
  round: number;
}

export interface Plan {
  quick: boolean;
  /** Own-generator produce runs (single node and, when it starts, the 3-node cluster). */
  produce: ProduceCase[];
  /** The 3-node produce runs (acks=all is the target; acks=1 too in the full plan). */
  clusterProduce: ProduceCase[];
  /** librdkafka (kcat) produce runs on the single node. */
  kcat: ProduceCase[];
  /** librdkafka (kcat) produce runs on the 3-node cluster (bootstrap: all three nodes). */
  clusterKcat: ProduceCase[];
  /**
   * Issue 9's throughput target on the 3-node cluster: librdkafka with per-message latency (Python
   * driver), RF 3, acks=all, 256 B; a max run and a run at the target's fixed rate.
   */
  issue9: Issue9Plan;
  /**
   * Issue 8's latency target on the single node: librdkafka at a fixed rate of half the 150 MB/s
   * target (1 KiB, acks=1, 1 partition), once per linger.ms setting.
   */
  issue8: Issue8Plan;
  /**
   * Transactional produce beside the idempotent producer, on each Chronik deployment (1 KiB, 1
   * partition, acks=all): per transaction size, the idempotent run then the transactional one.
   * Each transactional run has its own reference just before it, so a machine whose load changes
   * during the section changes both sides of a ratio alike.
   */
  transactions: TransactionCase[];
  /** A transactional run before them, not recorded: the transaction code paths' first load. */
  transactionWarmup: TransactionCase;
  /**
   * TLS produce beside plaintext on one node with both listeners (1 KiB, 1 partition): per round
   * and acks, a PLAINTEXT run and an SSL run back to back, their order alternating between rounds.
   */
  tls: TlsCase[];
  /** Records (1 KiB, acks=all, 1 partition) produced and thrown away before a system's first measured run. */
  warmupRecords: number;
  /** Leader kills in the failover scenario (issue 9's unavailability target). */
  failoverKills: number;
  /**
   * Runs of each system per throughput row: the Chronik and JetStream runs of a row alternate back
   * to back, `pairs` times each (see `throughputSchedule`).
   */
  pairs: number;
  /** JetStream runs: same sizes, counts and stream counts (= partitions) as the Chronik ones. */
  jetstreamR1: ProduceCase[];
  jetstreamR3: ProduceCase[];
  /** The long log consumed from its start (1 KiB, 1 partition). */
  longLog: ProduceCase;
  /** Fixed-rate latency runs as fractions of Chronik's measured max (1 KiB, acks=1, 1 partition). */
  latencyFractions: number[];
  /** The same on the 3-node cluster: fractions of its 1 KiB, 1 partition, acks=all max; beside JetStream R3. */
  clusterLatencyFractions: number[];
  latencySeconds: number;
  diskBytes: number;
  loopbackSeconds: number;
}

export interface Issue9Plan {
  /** The max run (msg/s; its latency includes the client's queue). */
  max: ProduceCase;
  /** Offered load of the fixed-rate run: the target, 165,000 msg/s. */
  targetPerSec: number;
  /** Target p99 at that load. */
  targetP99Ms: number;
  rateSeconds: number;
}

export interface Issue8Plan {
  ratePerSec: number;
  seconds: number;
  /** librdkafka linger.ms of each run; the first is the target's. */
  lingersMs: number[];
}

/** Issue 8: ≥ 150 MB/s of 1 KiB records at acks=1 (1 MB = 10^6 bytes)… */
export const ISSUE8_TARGET_MB_PER_SEC = 150;
/** …and a p99 produce latency under 10 ms at half that rate. */
export const ISSUE8_TARGET_P99_MS = 10;
export const ISSUE8_LATENCY_PER_SEC = Math.round(((ISSUE8_TARGET_MB_PER_SEC / 2) * 1e6) / 1024);

/** Issue 9: ≥ 165,000 msg/s with p99 under 50 ms (3 nodes, RF 3, acks=all, 256 B, librdkafka). */
export const ISSUE9_TARGET_PER_SEC = 165_000;
export const ISSUE9_TARGET_P99_MS = 50;
/** Issue 9: a partition is writable again within 2 s of its leader's kill -9. */
export const ISSUE9_FAILOVER_TARGET_MS = 2000;
/** Partitions of the issue 9 throughput topic: one leader per node. */
export const ISSUE9_PARTITIONS = 3;

/** Records per transaction of the transactional produce runs. */
export const TRANSACTION_SIZES = [10, 100, 1000] as const;

/** Acknowledgement modes of the TLS comparison runs. */
export const TLS_ACKS: readonly Acks[] = [-1, 1];

/** The TLS comparison runs: `rounds` pairs per acks mode, the pair's order alternating by round. */
export function tlsCases(reference: Omit<ProduceCase, 'acks'>, rounds: number): TlsCase[] {
  const out: TlsCase[] = [];
  for (let round = 0; round < rounds; round++) {
    const order: ListenerSecurity[] = round % 2 === 0 ? ['plaintext', 'ssl'] : ['ssl', 'plaintext'];
    for (const acks of TLS_ACKS)
      for (const security of order) out.push({ ...reference, acks, security, round });
  }
  return out;
}

/** A Chronik throughput run of a row: the own generator or librdkafka (kcat). */
export interface ChronikThroughputCase {
  client: 'own' | 'kcat';
  case: ProduceCase;
}

/** One step of the throughput schedule: a row's runs on one side, in one round. */
export type ThroughputStep =
  | { side: 'chronik'; row: number; round: number; last: boolean; cases: ChronikThroughputCase[] }
  | { side: 'jetstream'; row: number; round: number; last: boolean; cases: ProduceCase[] };

/**
 * The order of the throughput runs of a deployment pair (single node beside JetStream R1, 3 nodes
 * beside R3). A row is a record size and partition (stream) count; its Chronik runs (own generator
 * and kcat, every acks mode of the row) and its JetStream run alternate back to back, `pairs`
 * rounds, the order swapped every round (Chronik first in even rounds: C J, J C, C J…), so a load
 * that drifts moves both sides alike. Rows follow in the order their cases first appear. A row
 * that only one system runs still runs `pairs` times. `last` marks a side's final round.
 */
export function throughputSchedule(
  chronik: readonly ChronikThroughputCase[],
  jetstream: readonly ProduceCase[],
  pairs: number,
): ThroughputStep[] {
  const keys: string[] = [];
  const key = (c: ProduceCase): string => `${c.recordBytes}/${c.partitions}`;
  for (const c of [...chronik.map((x) => x.case), ...jetstream])
    if (!keys.includes(key(c))) keys.push(key(c));
  const steps: ThroughputStep[] = [];
  keys.forEach((k, row) => {
    const cs = chronik.filter((x) => key(x.case) === k);
    const js = jetstream.filter((c) => key(c) === k);
    for (let round = 0; round < pairs; round++) {
      const last = round === pairs - 1;
      const c: ThroughputStep | undefined =
        cs.length > 0 ? { side: 'chronik', row, round, last, cases: cs } : undefined;
      const j: ThroughputStep | undefined =
        js.length > 0 ? { side: 'jetstream', row, round, last, cases: js } : undefined;
      const order = round % 2 === 0 ? [c, j] : [j, c];
      for (const s of order) if (s !== undefined) steps.push(s);
    }
  });
  return steps;
}

export const RECORD_SIZES = [256, 1024, 16 * 1024] as const;
export const PARTITION_COUNTS = [1, 12] as const;

/** Records for about `bytes` of payload, at least 1000. */
export function recordsFor(bytes: number, recordBytes: number): number {
  return Math.max(1000, Math.round(bytes / recordBytes));
}

/** Runs of each system per throughput row: the full plan's default, and --quick's. */
export const DEFAULT_PAIRS = 3;
export const QUICK_PAIRS = 2;

export function buildPlan(quick: boolean, scale = 1, pairs?: number): Plan {
  if (!(scale > 0)) throw new RangeError(`scale must be positive, got ${scale}`);
  const rounds = pairs ?? (quick ? QUICK_PAIRS : DEFAULT_PAIRS);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new RangeError(`pairs must be a positive integer, got ${pairs}`);
  const perRunBytes = (quick ? 48 : 256) * 1024 * 1024 * scale;
  // Quick: long enough that the pipeline's start and drain stay a small part of the 1 KiB max run.
  const longLogBytes = (quick ? 256 : 1024) * 1024 * 1024 * scale;
  const c = (recordBytes: number, partitions: number, acks: Acks, bytes = perRunBytes): ProduceCase => ({
    recordBytes,
    partitions,
    acks,
    records: recordsFor(bytes, recordBytes),
  });
  const longLog = c(1024, 1, 1, longLogBytes);
  const issue9 = (seconds: number): Issue9Plan => ({
    max: {
      recordBytes: 256,
      partitions: ISSUE9_PARTITIONS,
      acks: -1,
      records: Math.max(10_000, Math.round(ISSUE9_TARGET_PER_SEC * seconds * scale)),
    },
    targetPerSec: ISSUE9_TARGET_PER_SEC,
    targetP99Ms: ISSUE9_TARGET_P99_MS,
    rateSeconds: seconds * Math.min(1, scale),
  });
  // A transaction is a few round trips whatever its size (one at a time: ~5 ms on one node, ~15 ms
  // on three here), so the small sizes are bounded by a count of transactions, not by bytes.
  const maxTransactions = Math.max(20, Math.round((quick ? 150 : 500) * scale));
  const reference = c(1024, 1, -1);
  const transactions: TransactionCase[] = TRANSACTION_SIZES.flatMap((n): TransactionCase[] => [
    { ...reference, producer: 'idempotent', recordsPerTransaction: n },
    {
      ...reference,
      producer: 'transactional',
      records: n * Math.max(1, Math.min(maxTransactions, Math.floor(reference.records / n))),
      recordsPerTransaction: n,
    },
  ]);
  const transactionWarmup: TransactionCase = {
    ...reference,
    producer: 'transactional',
    records: 100 * Math.max(20, Math.round(100 * Math.min(1, scale))),
    recordsPerTransaction: 100,
  };
  // The produce max runs' size (256 MiB, 64 MiB in --quick): shorter runs are mostly start-up.
  const tls = tlsCases(
    { recordBytes: 1024, partitions: 1, records: recordsFor((quick ? 64 : 256) * 1024 * 1024 * scale, 1024) },
    quick ? 2 : 3,
  );
  const issue8 = (seconds: number): Issue8Plan => ({
    ratePerSec: ISSUE8_LATENCY_PER_SEC,
    seconds: seconds * Math.min(1, scale),
    lingersMs: [1, 5],
  });
  if (quick) {
    return {
      quick,
      produce: [longLog, c(1024, 1, -1), c(1024, 12, 1)],
      clusterProduce: [c(1024, 1, -1)],
      kcat: [c(1024, 1, 1)],
      clusterKcat: [c(1024, 1, -1)],
      issue9: issue9(2),
      issue8: issue8(4),
      transactions,
      transactionWarmup,
      tls,
      warmupRecords: recordsFor(128 * 1024 * 1024 * scale, 1024),
      failoverKills: 2,
      pairs: rounds,
      jetstreamR1: [longLog, c(1024, 12, 1)],
      jetstreamR3: [c(1024, 1, -1)],
      longLog,
      // 0.1: a load JetStream also sustains, where the latency target compares the two.
      latencyFractions: [0.1, 0.5],
      clusterLatencyFractions: [0.1, 0.5],
      latencySeconds: 4 * Math.min(1, scale),
      diskBytes: 512 * 1024 * 1024,
      loopbackSeconds: 1,
    };
  }
  const produce: ProduceCase[] = [];
  for (const size of RECORD_SIZES) {
    for (const partitions of PARTITION_COUNTS) {
      for (const acks of [1, -1] as const) {
        produce.push(size === 1024 && partitions === 1 && acks === 1 ? longLog : c(size, partitions, acks));
      }
    }
  }
  const streams: ProduceCase[] = [];
  for (const size of RECORD_SIZES)
    for (const partitions of PARTITION_COUNTS)
      streams.push(size === 1024 && partitions === 1 ? longLog : c(size, partitions, 1));
  return {
    quick,
    produce,
    clusterProduce: produce.map((p) => (p === longLog ? c(1024, 1, 1) : p)),
    kcat: [...RECORD_SIZES.flatMap((s) => [c(s, 1, 1), c(s, 1, -1)]), c(1024, 12, 1)],
    clusterKcat: [...RECORD_SIZES.map((s) => c(s, 1, -1)), c(1024, 1, 1), c(1024, 12, -1)],
    issue9: issue9(8),
    issue8: issue8(8),
    transactions,
    transactionWarmup,
    tls,
    warmupRecords: recordsFor(128 * 1024 * 1024 * scale, 1024),
    failoverKills: 5,
    pairs: rounds,
    jetstreamR1: streams,
    jetstreamR3: streams.map((p) => (p === longLog ? c(1024, 1, -1) : { ...p, acks: -1 as const })),
    longLog,
    latencyFractions: [0.1, 0.25, 0.5, 0.75, 0.9],
    clusterLatencyFractions: [0.1, 0.25, 0.5, 0.75],
    latencySeconds: 8 * Math.min(1, scale),
    diskBytes: 1024 * 1024 * 1024,
    loopbackSeconds: 3,
  };
}

/**
 * A short label: "1 KiB, 12 p, acks=all"; a transactional comparison run adds ", 100 per
 * transaction" or ", idempotent (reference for 100 per transaction)"; a TLS comparison run adds
 * ", SSL" or ", PLAINTEXT".
 */
export function caseLabel(p: {
  recordBytes: number;
  partitions: number;
  acks?: Acks;
  producer?: TransactionProducer;
  recordsPerTransaction?: number;
  security?: ListenerSecurity;
}): string {
  const size = p.recordBytes >= 1024 ? `${p.recordBytes / 1024} KiB` : `${p.recordBytes} B`;
  const n = p.recordsPerTransaction;
  const txn =
    n === undefined
      ? ''
      : p.producer === 'idempotent'
        ? `, idempotent (reference for ${n} per transaction)`
        : `, ${n} per transaction`;
  const listener = p.security === undefined ? '' : `, ${p.security === 'ssl' ? 'SSL' : 'PLAINTEXT'}`;
  return `${size}, ${p.partitions} p${p.acks === undefined ? '' : `, acks=${p.acks === -1 ? 'all' : '1'}`}${txn}${listener}`;
}
