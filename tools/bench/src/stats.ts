// Percentiles. Both the exact form (sorted samples) and the histogram use the nearest-rank
// definition: the p-th percentile of n samples is the ceil(p·n)-th smallest (1-based). The Go
// program on the JetStream side uses the same definition, so the two columns compare like for like.

/** Nearest-rank percentile of ascending `sorted` (q in 0..1). NaN for no samples. */
export function percentileOfSorted(sorted: ArrayLike<number>, q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`percentile ${q} is outside 0..1`);
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const rank = Math.min(n, Math.max(1, Math.ceil(q * n)));
  return sorted[rank - 1]!;
}

/** Sub-bucket bits: values below 2^7 µs are exact, above that buckets are 1/64 of their power of two. */
const SUB_BITS = 7;
const HALF = 1 << (SUB_BITS - 1);
/** Largest recorded value in µs (about 35 minutes); larger values are clamped. */
export const MAX_HISTOGRAM_US = 0x7fffffff;
const BUCKETS = (31 - SUB_BITS + 1) * HALF + (1 << SUB_BITS);

function bucketOf(us: number): number {
  const v = Math.min(MAX_HISTOGRAM_US, Math.max(0, Math.round(us)));
  if (v < 1 << SUB_BITS) return v;
  const msb = 31 - Math.clz32(v);
  const shift = msb - (SUB_BITS - 1);
  return shift * HALF + (v >>> shift);
}

/** The middle of a bucket's value range, in µs. */
function valueOf(bucket: number): number {
  if (bucket < 1 << SUB_BITS) return bucket;
  const shift = Math.floor(bucket / HALF) - 1;
  const sub = bucket - shift * HALF;
  const low = sub * 2 ** shift;
  return low + (2 ** shift - 1) / 2;
}

/**
 * A bounded latency histogram (log-linear, ≤ 0.8% relative error above 128 µs, exact below):
 * constant memory whatever the number of samples, weighted adds for batches of messages that share
 * one acknowledgement.
 */
export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  private total = 0;
  private sumUs = 0;
  private maxUs = 0;

  /** Records `count` samples of `latencyMs` milliseconds. */
  record(latencyMs: number, count = 1): void {
    if (!(count > 0) || !Number.isFinite(latencyMs)) return;
    const us = Math.max(0, latencyMs * 1000);
    this.counts[bucketOf(us)]! += count;
    this.total += count;
    this.sumUs += us * count;
    if (us > this.maxUs) this.maxUs = us;
  }

  get count(): number {
    return this.total;
  }

  /** Mean in ms (NaN when empty). */
  get meanMs(): number {
    return this.total === 0 ? Number.NaN : this.sumUs / this.total / 1000;
  }

  get maxMs(): number {
    return this.total === 0 ? Number.NaN : this.maxUs / 1000;
  }

  /** Nearest-rank percentile in ms (q in 0..1); NaN when empty. */
  percentileMs(q: number): number {
    if (!(q >= 0 && q <= 1)) throw new RangeError(`percentile ${q} is outside 0..1`);
    if (this.total === 0) return Number.NaN;
    const rank = Math.min(this.total, Math.max(1, Math.ceil(q * this.total)));
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.counts[b]!;
      if (seen >= rank) return Math.min(valueOf(b), this.maxUs) / 1000;
    }
    return this.maxUs / 1000;
  }

  /** Adds another histogram's samples to this one. */
  merge(other: LatencyHistogram): void {
    for (let b = 0; b < BUCKETS; b++) this.counts[b]! += other.counts[b]!;
    this.total += other.total;
    this.sumUs += other.sumUs;
    if (other.maxUs > this.maxUs) this.maxUs = other.maxUs;
  }
}

/** Throughput of `msgs` messages of `recordBytes` payload bytes in `seconds`. MB = 10^6 bytes. */
export function throughput(
  msgs: number,
  recordBytes: number,
  seconds: number,
): { msgPerSec: number; mbPerSec: number } {
  if (!(seconds > 0)) return { msgPerSec: Number.NaN, mbPerSec: Number.NaN };
  return { msgPerSec: msgs / seconds, mbPerSec: (msgs * recordBytes) / seconds / 1e6 };
}

/** Median of numbers (NaN when empty); used to pick the middle of repeated measurements. */
export function median(values: readonly number[]): number {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
