// What a run measures: the scenario matrix of the full plan and of --quick. Pure.

export type Acks = 1 | -1;

export interface ProduceCase {
  recordBytes: number;
  partitions: number;
  acks: Acks;
  records: number;
}

export interface Plan {
  quick: boolean;
  /** Own-generator produce runs (single node and, when it starts, the 3-node cluster). */
  produce: ProduceCase[];
  /** The 3-node produce runs (acks=all is the target; acks=1 too in the full plan). */
  clusterProduce: ProduceCase[];
  /** librdkafka (kcat) produce runs on the single node. */
  kcat: ProduceCase[];
  /** JetStream runs: same sizes, counts and stream counts (= partitions) as the Chronik ones. */
  jetstreamR1: ProduceCase[];
  jetstreamR3: ProduceCase[];
  /** The long log consumed from its start (1 KiB, 1 partition). */
  longLog: ProduceCase;
  /** Fixed-rate latency runs as fractions of Chronik's measured max (1 KiB, acks=1, 1 partition). */
  latencyFractions: number[];
  latencySeconds: number;
  diskBytes: number;
  loopbackSeconds: number;
}

export const RECORD_SIZES = [256, 1024, 16 * 1024] as const;
export const PARTITION_COUNTS = [1, 12] as const;

/** Records for about `bytes` of payload, at least 1000. */
export function recordsFor(bytes: number, recordBytes: number): number {
  return Math.max(1000, Math.round(bytes / recordBytes));
}

export function buildPlan(quick: boolean, scale = 1): Plan {
  if (!(scale > 0)) throw new RangeError(`scale must be positive, got ${scale}`);
  const perRunBytes = (quick ? 48 : 256) * 1024 * 1024 * scale;
  const longLogBytes = (quick ? 64 : 1024) * 1024 * 1024 * scale;
  const c = (recordBytes: number, partitions: number, acks: Acks, bytes = perRunBytes): ProduceCase => ({
    recordBytes,
    partitions,
    acks,
    records: recordsFor(bytes, recordBytes),
  });
  const longLog = c(1024, 1, 1, longLogBytes);
  if (quick) {
    return {
      quick,
      produce: [longLog, c(1024, 1, -1), c(1024, 12, 1)],
      clusterProduce: [c(1024, 1, -1)],
      kcat: [c(1024, 1, 1)],
      jetstreamR1: [longLog, c(1024, 12, 1)],
      jetstreamR3: [c(1024, 1, -1)],
      longLog,
      latencyFractions: [0.5],
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
  for (const size of RECORD_SIZES) for (const partitions of PARTITION_COUNTS) streams.push(size === 1024 && partitions === 1 ? longLog : c(size, partitions, 1));
  return {
    quick,
    produce,
    clusterProduce: produce.map((p) => (p === longLog ? c(1024, 1, 1) : p)),
    kcat: [...RECORD_SIZES.flatMap((s) => [c(s, 1, 1), c(s, 1, -1)]), c(1024, 12, 1)],
    jetstreamR1: streams,
    jetstreamR3: streams.map((p) => (p === longLog ? c(1024, 1, -1) : { ...p, acks: -1 as const })),
    longLog,
    latencyFractions: [0.1, 0.25, 0.5, 0.75, 0.9],
    latencySeconds: 8 * Math.min(1, scale),
    diskBytes: 1024 * 1024 * 1024,
    loopbackSeconds: 3,
  };
}

/** A short label: "1 KiB, 12 p, acks=all". */
export function caseLabel(p: { recordBytes: number; partitions: number; acks?: Acks }): string {
  const size = p.recordBytes >= 1024 ? `${p.recordBytes / 1024} KiB` : `${p.recordBytes} B`;
  return `${size}, ${p.partitions} p${p.acks === undefined ? '' : `, acks=${p.acks === -1 ? 'all' : '1'}`}`;
}
