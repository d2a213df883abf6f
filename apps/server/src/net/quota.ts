// Client quotas' accounting: request quotas (Kafka's request_percentage, KIP-124: the event-loop
// time each client's requests take) and byte rates (producer_byte_rate: the bytes of its Produce
// requests; consumer_byte_rate: the bytes of its Fetch responses; KIP-13), measured over sample
// windows, and the throttle time of a client over its quota. The values come from a
// `ClientQuotaStore` (`services/client-quotas.ts`); muting a throttled connection is the gate's
// (`ThrottleGate`, `gate.ts`).
//
// - One measure per quota entity (client id; with authentication, user principal and client id),
//   made the first time the entity is charged, holding Kafka's `Rate` over a windowed sum:
//   `windowNum` samples of `windowMs` (quota.window.num 11 × quota.window.size.seconds 1).
//   - A record goes to the current sample; once that sample is `windowMs` old, the next one starts
//     at the record's time (the oldest of windowNum + 1 samples is reused).
//   - A sample not recorded in for windowNum windows is obsolete: reset before any measurement.
//   - The rate is the sum of the samples divided by the time since the oldest one started, taken as
//     at least windowNum − 1 whole windows plus the current one: a client's first burst is measured
//     as if the earlier windows had been empty (Kafka's Rate.windowSize).
// - Time is recorded as a percentage of one second (ms / 10), so the rate compares directly with
//   request_percentage: 100 is the whole event loop.
// - Over the quota — the rate after recording exceeds it — the throttle time is Kafka's
//   (rate − quota) / quota × window size, rounded: the pause that brings the rate back to the quota
//   if nothing more is recorded (QuotaUtils.throttleTime). Request quotas bound it by one sample
//   window, as Kafka's ClientRequestQuotaManager does; byte-rate quotas do not.
// - Measures are bounded (`maxEntities`): when full, those not recorded in for a whole window set
//   are dropped, then the oldest; a client id dropped starts again from an empty measure.
import type { ClientQuotaStore, ClientQuotaType, QuotaEntity } from '../services/client-quotas.js';

/** The sample windows of a quota measure. */
export interface QuotaWindows {
  /** Samples kept (Kafka's quota.window.num, default 11). */
  windowNum: number;
  /** Length of one sample in ms (Kafka's quota.window.size.seconds × 1000, default 1000). */
  windowMs: number;
}

/** Measures kept at most (client ids); beyond, idle then oldest ones are dropped. */
export const DEFAULT_MAX_QUOTA_ENTITIES = 10_000;

interface Sample {
  /** When the sample started (its first record). */
  startMs: number;
  /** Its last record. */
  lastEventMs: number;
  value: number;
}

/**
 * Kafka's `Rate` over a `WindowedSum` (SampledStat): a sum per sample window, the rate per second
 * over the samples kept. Times are the caller's clock (ms; it need not be the wall clock).
 */
export class WindowedRate {
  /** Up to windowNum + 1 samples (one more than measured, so a sample is reused only once obsolete). */
  private readonly samples: Sample[] = [];
  private current = 0;

  constructor(private readonly windows: QuotaWindows) {
    if (!Number.isInteger(windows.windowNum) || windows.windowNum < 1)
      throw new Error(`WindowedRate: windowNum must be a positive integer, got ${windows.windowNum}`);
    if (!(windows.windowMs > 0))
      throw new Error(`WindowedRate: windowMs must be positive, got ${windows.windowMs}`);
  }

  record(value: number, nowMs: number): void {
    let sample = this.currentSample(nowMs);
    if (nowMs - sample.startMs >= this.windows.windowMs) sample = this.advance(nowMs);
    sample.value += value;
    sample.lastEventMs = nowMs;
  }

  /** The rate per second at `nowMs`. */
  measure(nowMs: number): number {
    this.purgeObsolete(nowMs);
    let sum = 0;
    for (const s of this.samples) sum += s.value;
    return sum / (this.windowSizeMs(nowMs) / 1000);
  }

  /**
   * The time the rate is measured over at `nowMs`: since the oldest sample started, and at least
   * windowNum − 1 whole windows plus the current one's part (never 0: with one sample, a record at
   * the very start of its window would otherwise divide by zero).
   */
  windowSizeMs(nowMs: number): number {
    this.purgeObsolete(nowMs);
    const { windowNum, windowMs } = this.windows;
    let elapsedMs = nowMs - this.oldest(nowMs).startMs;
    const fullWindows = Math.floor(elapsedMs / windowMs);
    const minFullWindows = windowNum - 1;
    if (fullWindows < minFullWindows) elapsedMs += (minFullWindows - fullWindows) * windowMs;
    return Math.max(elapsedMs, 1);
  }

  private currentSample(nowMs: number): Sample {
    if (this.samples.length === 0) this.samples.push({ startMs: nowMs, lastEventMs: nowMs, value: 0 });
    return this.samples[this.current] as Sample;
  }

  private advance(nowMs: number): Sample {
    this.current = (this.current + 1) % (this.windows.windowNum + 1);
    const reused = this.samples[this.current];
    if (reused === undefined) {
      const sample = { startMs: nowMs, lastEventMs: nowMs, value: 0 };
      this.samples.push(sample);
      return sample;
    }
    reset(reused, nowMs);
    return reused;
  }

  private oldest(nowMs: number): Sample {
    let oldest = this.currentSample(nowMs);
    for (const s of this.samples) if (s.startMs < oldest.startMs) oldest = s;
    return oldest;
  }

  private purgeObsolete(nowMs: number): void {
    const expireMs = this.windows.windowNum * this.windows.windowMs;
    for (const s of this.samples) if (nowMs - s.lastEventMs >= expireMs) reset(s, nowMs);
  }
}

function reset(s: Sample, nowMs: number): void {
  s.startMs = nowMs;
  s.lastEventMs = nowMs;
  s.value = 0;
}

/**
 * Kafka's throttle time (QuotaUtils.throttleTime): the pause X that brings an `observed` rate over
 * a window W down to `quota` if nothing more is recorded, observed × W / (W + X) = quota, so
 * X = (observed − quota) / quota × W; rounded to whole ms. Negative when within the quota.
 */
export function throttleTimeMs(observed: number, quota: number, windowSizeMs: number): number {
  return Math.round(((observed - quota) / quota) * windowSizeMs);
}

/** What every per-entity state holds: the quota as last read from the store, and when. */
interface QuotaState {
  /** The quota when last read from the store (undefined: none applies). */
  quota: number | undefined;
  /** The store's version it was read at. */
  version: number;
}

/** A windowed rate of one entity (quota undefined: nothing is recorded). */
interface Measure extends QuotaState {
  readonly rate: WindowedRate;
  lastRecordMs: number;
}

/**
 * The per-entity states of one kind of quota, at most `maxEntities` of them. When full, a new
 * entity first drops the states `forgettable` says can go without changing any answer (idle for a
 * whole window set, a full token bucket), then the oldest eighth. A state whose quota was read at
 * an older store version is re-read (`reread`) before it is used.
 */
class EntityTable<S extends QuotaState> {
  private readonly states = new Map<string, S>();

  constructor(
    private readonly maxEntities: number,
    private readonly forgettable: (s: S, nowMs: number) => boolean,
  ) {}

  get size(): number {
    return this.states.size;
  }

  /**
   * `key`'s state: the one kept (re-read if the store moved on), else a new one made by `create`
   * from the store's quota. With `keepUnquoted` false an entity without a quota gets no state.
   */
  stateOf(
    key: string,
    nowMs: number,
    version: number,
    quotaOf: () => number | undefined,
    create: (quota: number | undefined) => S,
    keepUnquoted: boolean,
    reread?: (s: S) => void,
  ): S | undefined {
    let s = this.states.get(key);
    if (s === undefined) {
      const quota = quotaOf();
      if (quota === undefined && !keepUnquoted) return undefined;
      if (this.states.size >= this.maxEntities) this.makeRoom(nowMs);
      s = create(quota);
      this.states.set(key, s);
    } else if (s.version !== version) {
      s.quota = quotaOf();
      s.version = version;
      reread?.(s);
    }
    return s;
  }

  private makeRoom(nowMs: number): void {
    for (const [key, s] of this.states) if (this.forgettable(s, nowMs)) this.states.delete(key);
    if (this.states.size < this.maxEntities) return;
    let drop = Math.max(1, Math.floor(this.maxEntities / 8));
    for (const key of this.states.keys()) {
      if (drop-- <= 0) break;
      this.states.delete(key);
    }
  }
}

/** The key of an entity's measure: the client id, or with a user principal both (unambiguously). */
function keyOf(entity: QuotaEntity): string {
  return entity.user === null
    ? `c${entity.clientId}`
    : `u${entity.user.length}:${entity.user}${entity.clientId}`;
}

/** What one kind of quota measures. */
export interface QuotaKind {
  readonly type: ClientQuotaType;
  /** The value recorded per unit charged: request time in ms is recorded as a percentage of a second (/10). */
  readonly scale: number;
  /** Whether the throttle time is bounded by one sample window (request quotas, as Kafka). */
  readonly boundedByWindow: boolean;
}

export const REQUEST_QUOTA: QuotaKind = { type: 'request_percentage', scale: 0.1, boundedByWindow: true };
export const PRODUCE_QUOTA: QuotaKind = { type: 'producer_byte_rate', scale: 1, boundedByWindow: false };
export const FETCH_QUOTA: QuotaKind = { type: 'consumer_byte_rate', scale: 1, boundedByWindow: false };

/** One kind of quota's accounting: one windowed rate per entity that has a quota of that kind. */
export class QuotaManager {
  private readonly measures: EntityTable<Measure>;

  constructor(
    readonly kind: QuotaKind,
    private readonly store: ClientQuotaStore,
    private readonly windows: QuotaWindows,
    maxEntities = DEFAULT_MAX_QUOTA_ENTITIES,
  ) {
    const idleMs = windows.windowNum * windows.windowMs;
    this.measures = new EntityTable(maxEntities, (m, nowMs) => nowMs - m.lastRecordMs >= idleMs);
  }

  /** Entities measured (for tests and metrics). */
  get entityCount(): number {
    return this.measures.size;
  }

  /** Whether any entity has a quota of this kind (nothing is measured while none has). */
  active(): boolean {
    return this.store.any(this.kind.type);
  }

  /**
   * Records `amount` (ms of event-loop time, or bytes; negative takes back what was recorded) for
   * `entity` at `nowMs`. With `check` (the request's response is about to be made), returns the
   * throttle time the response carries: 0 within the quota or without one, else Kafka's throttle
   * time (bounded by one sample window for request quotas). Without `check` it only records.
   */
  record(entity: QuotaEntity, amount: number, nowMs: number, check: boolean): number {
    const m = this.measureOf(entity, nowMs);
    if (m.quota === undefined) return 0;
    if (amount !== 0) {
      m.rate.record(amount * this.kind.scale, nowMs);
      m.lastRecordMs = nowMs;
    }
    if (!check) return 0;
    const observed = m.rate.measure(nowMs);
    if (observed <= m.quota) return 0;
    const throttle = throttleTimeMs(observed, m.quota, m.rate.windowSizeMs(nowMs));
    return Math.max(0, this.kind.boundedByWindow ? Math.min(throttle, this.windows.windowMs) : throttle);
  }

  /**
   * The most `entity` may take in one request: its quota over the whole measured window (Kafka's
   * getMaxValueInQuotaWindow, which bounds a fetch's size), Infinity without a quota.
   */
  maxInWindow(entity: QuotaEntity, nowMs: number): number {
    const m = this.measureOf(entity, nowMs);
    if (m.quota === undefined) return Infinity;
    return (m.quota * ((this.windows.windowNum - 1) * this.windows.windowMs)) / 1000 / this.kind.scale;
  }

  private measureOf(entity: QuotaEntity, nowMs: number): Measure {
    // An entity without a quota keeps a measure too: the store is asked once per version, not per request.
    return this.measures.stateOf(
      keyOf(entity),
      nowMs,
      this.store.version,
      () => this.store.quota(this.kind.type, entity),
      (quota) => ({
        quota,
        version: this.store.version,
        rate: new WindowedRate(this.windows),
        lastRecordMs: nowMs,
      }),
      true,
    )!;
  }
}

/** Request quotas' accounting: one windowed rate of event-loop time per entity that has a quota. */
export class RequestQuotaManager extends QuotaManager {
  constructor(store: ClientQuotaStore, windows: QuotaWindows, maxEntities = DEFAULT_MAX_QUOTA_ENTITIES) {
    super(REQUEST_QUOTA, store, windows, maxEntities);
  }
}

/**
 * controller_mutation_rate (KIP-599): partitions created (CreateTopics, CreatePartitions) or deleted
 * (DeleteTopics) per second, per user / client id, as Kafka's token bucket: it holds up to
 * quota × windowNum × window seconds tokens (the burst), refills at `quota` per second, and a
 * mutation takes one token per partition, possibly below zero. It is exceeded while below zero;
 * the throttle time is the time until it is back at zero. A strict request (CreateTopics v6+,
 * CreatePartitions v3+, DeleteTopics v5+) has each topic refused (THROTTLING_QUOTA_EXCEEDED) while
 * exceeded, and records nothing for it; an older one is always recorded and only throttled.
 */
export class MutationQuotaManager {
  private readonly buckets: EntityTable<QuotaState & { tokens: number; lastMs: number }>;

  constructor(
    private readonly store: ClientQuotaStore,
    private readonly windows: QuotaWindows,
    maxEntities = DEFAULT_MAX_QUOTA_ENTITIES,
  ) {
    // A full bucket forgets nothing.
    this.buckets = new EntityTable(
      maxEntities,
      (x, nowMs) =>
        x.quota === undefined || x.tokens + (x.quota * (nowMs - x.lastMs)) / 1000 >= this.burst(x.quota),
    );
  }

  active(): boolean {
    return this.store.any('controller_mutation_rate');
  }

  /**
   * Records `mutations` for `entity` (negative: gives back those of a topic that failed), unless
   * `strict` and the bucket is below zero: then records nothing and returns the throttle time.
   */
  record(entity: QuotaEntity, mutations: number, nowMs: number, strict: boolean): number {
    const b = this.bucketOf(entity, nowMs);
    if (b === undefined || b.quota === undefined) return 0;
    if (strict && mutations > 0 && b.tokens < 0) return this.throttleOf(b.tokens, b.quota);
    b.tokens = Math.min(this.burst(b.quota), b.tokens - mutations);
    return 0;
  }

  /** The time until `entity`'s bucket is back at zero (0: not exceeded, or no quota). */
  throttleMs(entity: QuotaEntity, nowMs: number): number {
    const b = this.bucketOf(entity, nowMs);
    if (b === undefined || b.quota === undefined || b.tokens >= 0) return 0;
    return this.throttleOf(b.tokens, b.quota);
  }

  private throttleOf(tokens: number, quota: number): number {
    return Math.max(1, Math.ceil((-tokens / quota) * 1000));
  }

  private burst(quota: number): number {
    return (quota * this.windows.windowNum * this.windows.windowMs) / 1000;
  }

  private bucketOf(entity: QuotaEntity, nowMs: number) {
    const b = this.buckets.stateOf(
      keyOf(entity),
      nowMs,
      this.store.version,
      () => this.store.quota('controller_mutation_rate', entity),
      (quota) => ({ quota, version: this.store.version, tokens: this.burst(quota!), lastMs: nowMs }),
      false,
      (x) => {
        if (x.quota !== undefined) x.tokens = Math.min(x.tokens, this.burst(x.quota));
      },
    );
    if (b === undefined) return undefined;
    if (b.quota !== undefined) {
      b.tokens = Math.min(this.burst(b.quota), b.tokens + (b.quota * Math.max(0, nowMs - b.lastMs)) / 1000);
    }
    b.lastMs = nowMs;
    return b;
  }
}

/**
 * connection_creation_rate (KIP-612): new connections per second from one client ip, measured as
 * the other rates (windowNum samples of windowMs). A connection that would take its ip over the
 * quota is not counted; `admit` returns the time to hold it before closing it (Kafka keeps such a
 * socket open and unread for the throttle time, then closes it), 0 to accept it.
 */
export class ConnectionRateQuotas {
  private readonly rates: EntityTable<QuotaState & { rate: WindowedRate; lastMs: number }>;

  constructor(
    private readonly store: ClientQuotaStore,
    private readonly windows: QuotaWindows,
    maxEntities = DEFAULT_MAX_QUOTA_ENTITIES,
  ) {
    const idleMs = windows.windowNum * windows.windowMs;
    this.rates = new EntityTable(maxEntities, (x, nowMs) => nowMs - x.lastMs >= idleMs);
  }

  admit(ip: string, nowMs: number): number {
    if (this.store.anyConnectionCreationRate?.() !== true) return 0;
    const m = this.rates.stateOf(
      ip,
      nowMs,
      this.store.version,
      () => this.store.connectionCreationRate?.(ip),
      (quota) => ({
        quota,
        version: this.store.version,
        rate: new WindowedRate(this.windows),
        lastMs: nowMs,
      }),
      false,
    );
    if (m?.quota === undefined) return 0;
    m.lastMs = nowMs;
    m.rate.record(1, nowMs);
    const observed = m.rate.measure(nowMs);
    if (observed <= m.quota) return 0;
    m.rate.record(-1, nowMs);
    return Math.max(1, throttleTimeMs(observed, m.quota, m.rate.windowSizeMs(nowMs)));
  }
}
