// The request gate: every request of every connection passes it before it is started.
//
// One event loop serves every connection, and a request's handler runs on it: a connection with many
// requests pipelined (and their completions starting the next ones) could keep it busy while other
// connections' requests, the admin API and timers wait. The gate makes connections take turns:
//
// - Requests start at once while the time spent starting them in this turn of the event loop stays
//   under `turnBudgetMs` and no connection is waiting. Past it, a connection that wants to start one
//   waits (its socket is paused) and the rest of the turn goes to I/O: other connections' requests
//   come in, responses go out.
// - At the end of the turn (`setImmediate`), the waiting connections are served one request at a
//   time, least used first, until the turn budget is spent again; the rest wait for the next turn.
//   Each grant runs in its own callback, so the promise callbacks of a light request (a produce)
//   finish before a heavy one starts.
//   A connection's usage is the time its requests took to start (their synchronous part) while
//   connections were waiting (contention); it is forgotten when no one waits any more. A connection
//   that starts waiting comes in at no less than the virtual time (the usage of the last one
//   served) less one turn budget: so one that sends a request now and then goes ahead of those
//   that keep it busy, and no connection can bank the time it did not use.
//
// Client quotas are enforced here too (`ThrottleGate`, in front of the turns): request quotas
// (Kafka's request_percentage, KIP-124: the time each request takes is charged to its client) and
// byte rates (producer_byte_rate, consumer_byte_rate: the bytes of Produce requests and Fetch
// responses); `quota.ts` measures them. A connection whose client went over a quota is muted for the
// throttle time its response carries — the response goes out at once, then `admit` answers no for
// that connection until the time is over, and `resume` is called (KIP-219). A throttled connection
// does not wait in the turns' queue. A throttle is at most one quota window (as Kafka bounds request
// quotas' throttles), so a client id over its quota still starts about one request per connection
// per window: its connections are bounded by the connection and address limits.
import type { TimerHandle } from '@chronik/env';
import type { QuotaEntity } from '../services/client-quotas.js';
import type { ByteQuotaKind, GatedConnection, RequestGate, RequestQuotas } from './connection.js';
import type { QuotaManager, MutationQuotaManager } from './quota.js';

/** Requests granted at most at the end of one turn (the turn budget usually stops it earlier). */
const MAX_GRANTS_PER_TURN = 32;

export interface FairGateOptions {
  /** Time spent starting requests in one event-loop turn before connections take turns. */
  turnBudgetMs: number;
  /** Schedules the end of the turn (default `setImmediate`). */
  defer?: (f: () => void) => void;
}

interface Waiting {
  readonly conn: GatedConnection;
  readonly usageMs: number;
  readonly seq: number;
}

export class FairGate implements RequestGate {
  private readonly turnBudgetMs: number;
  private readonly defer: (f: () => void) => void;
  /** Time spent starting requests in this turn. */
  private spentMs = 0;
  private turnEndScheduled = false;
  /** Connections have been waiting since the queue was last empty: usage is being counted. */
  private contended = false;
  /** Per connection, while contended: the time its requests took to start, on the virtual clock. */
  private readonly usage = new Map<GatedConnection, number>();
  /** The usage of the connection served last from the queue: never goes back while contended. */
  private virtualMs = 0;
  /** Connections waiting for their turn, least used first (a binary heap). */
  private readonly heap: Waiting[] = [];
  private readonly queued = new Set<GatedConnection>();
  private seq = 0;
  /** The connection being served from the queue: its next `admit` is granted. */
  private granted: GatedConnection | undefined;
  private readonly endTurn = (): void => this.onTurnEnd();
  private readonly grantNext = (): void => this.grant();

  constructor(options: FairGateOptions) {
    this.turnBudgetMs = options.turnBudgetMs;
    this.defer = options.defer ?? setImmediate;
  }

  /** Connections waiting for their turn. */
  get waitingCount(): number {
    return this.queued.size;
  }

  admit(conn: GatedConnection): boolean {
    if (this.granted === conn) {
      this.granted = undefined;
      return true;
    }
    if (this.queued.size === 0 && this.spentMs < this.turnBudgetMs) return true;
    this.enqueue(conn);
    return false;
  }

  started(conn: GatedConnection, ms: number): void {
    this.spentMs += ms;
    if (this.contended) this.usage.set(conn, this.entryUsage(conn) + ms);
    // The turn's count is reset at its end. Small amounts are let add up over turns first (a
    // callback per turn cost the produce path ~2 %): a turn is then gated after three quarters of
    // the budget at the earliest.
    if (this.spentMs >= this.turnBudgetMs / 4) this.scheduleTurnEnd();
  }

  forget(conn: GatedConnection): void {
    this.usage.delete(conn);
    this.queued.delete(conn); // its heap entry is skipped when it comes up
    if (this.granted === conn) this.granted = undefined;
  }

  /** A connection's usage as it (re)joins: no less than the virtual time less one turn budget. */
  private entryUsage(conn: GatedConnection): number {
    return Math.max(this.usage.get(conn) ?? -Infinity, this.virtualMs - this.turnBudgetMs);
  }

  private enqueue(conn: GatedConnection): void {
    if (this.queued.has(conn)) return;
    this.contended = true;
    const usageMs = this.entryUsage(conn);
    this.usage.set(conn, usageMs);
    this.queued.add(conn);
    this.push({ conn, usageMs, seq: this.seq++ });
    this.scheduleTurnEnd();
  }

  /**
   * Schedules the end of this turn: one callback per connection to serve (up to
   * MAX_GRANTS_PER_TURN), each granting one request, so that the promise callbacks of one request
   * (they run between callbacks) finish before the next request starts.
   */
  private scheduleTurnEnd(): void {
    if (this.turnEndScheduled) return;
    this.turnEndScheduled = true;
    this.defer(this.endTurn);
    const more = Math.min(this.queued.size, MAX_GRANTS_PER_TURN) - 1;
    for (let i = 0; i < more; i++) this.defer(this.grantNext);
  }

  private onTurnEnd(): void {
    this.turnEndScheduled = false;
    this.spentMs = 0;
    this.grant();
  }

  /** Lets the least used waiting connection start one request, if the turn's budget allows. */
  private grant(): void {
    while (this.queued.size > 0 && this.spentMs < this.turnBudgetMs) {
      const next = this.pop();
      if (next === undefined) break;
      if (!this.queued.has(next.conn)) continue; // forgotten while waiting
      this.queued.delete(next.conn);
      this.virtualMs = Math.max(this.virtualMs, next.usageMs);
      this.granted = next.conn;
      next.conn.resume();
      this.granted = undefined;
      break;
    }
    if (this.queued.size > 0) {
      this.scheduleTurnEnd();
    } else if (this.contended) {
      // No one waits: the contention is over, and what was counted for it with it.
      this.contended = false;
      this.usage.clear();
      this.virtualMs = 0;
      this.heap.length = 0;
    }
  }

  private less(a: Waiting, b: Waiting): boolean {
    return a.usageMs < b.usageMs || (a.usageMs === b.usageMs && a.seq < b.seq);
  }

  private push(w: Waiting): void {
    const h = this.heap;
    h.push(w);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(h[i] as Waiting, h[parent] as Waiting)) break;
      [h[i], h[parent]] = [h[parent] as Waiting, h[i] as Waiting];
      i = parent;
    }
  }

  private pop(): Waiting | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l] as Waiting, h[m] as Waiting)) m = l;
      if (r < h.length && this.less(h[r] as Waiting, h[m] as Waiting)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m] as Waiting, h[i] as Waiting];
      i = m;
    }
    return top;
  }
}

/** The quota managers a throttle gate charges: request time, produce bytes, fetch bytes, controller mutations. */
export interface ClientQuotaManagers {
  readonly request: QuotaManager;
  readonly produce: QuotaManager;
  readonly fetch: QuotaManager;
  readonly mutations?: MutationQuotaManager;
}

export interface ThrottleGateOptions {
  /** Starts the timer that ends a throttle (Node's, unref'd, in the server). */
  setTimer: (delayMs: number, fn: () => void) => TimerHandle;
}

/**
 * Request quotas' enforcement in front of another gate: charges each request's time to its client
 * and mutes a connection whose client is over its quota for the throttle time (KIP-219).
 */
export class ThrottleGate implements RequestGate, RequestQuotas {
  /** Connections muted until a time (their throttle's timer resumes them). */
  private readonly throttled = new Map<GatedConnection, { untilMs: number; timer: TimerHandle }>();

  constructor(
    private readonly inner: RequestGate,
    private readonly quotas: ClientQuotaManagers,
    private readonly options: ThrottleGateOptions,
  ) {}

  /** Connections muted by a throttle now. */
  get throttledCount(): number {
    return this.throttled.size;
  }

  admit(conn: GatedConnection): boolean {
    return !this.throttled.has(conn) && this.inner.admit(conn);
  }

  started(conn: GatedConnection, ms: number): void {
    this.inner.started(conn, ms);
  }

  forget(conn: GatedConnection): void {
    this.throttled.get(conn)?.timer.cancel();
    this.throttled.delete(conn);
    this.inner.forget(conn);
  }

  requestQuotaActive(): boolean {
    return this.quotas.request.active();
  }

  charge(conn: GatedConnection, entity: QuotaEntity, ms: number, nowMs: number, check: boolean): number {
    if (!this.quotas.request.active()) return 0;
    const throttleMs = this.quotas.request.record(entity, ms, nowMs, check);
    if (throttleMs > 0) this.mute(conn, nowMs + throttleMs, throttleMs);
    return throttleMs;
  }

  chargeBytes(
    conn: GatedConnection,
    kind: ByteQuotaKind,
    entity: QuotaEntity,
    bytes: number,
    nowMs: number,
    check: boolean,
  ): number {
    const m = this.quotas[kind];
    if (!m.active()) return 0;
    const throttleMs = m.record(entity, bytes, nowMs, check);
    if (throttleMs > 0) this.mute(conn, nowMs + throttleMs, throttleMs);
    return throttleMs;
  }

  chargeMutations(entity: QuotaEntity, mutations: number, nowMs: number, strict: boolean): number {
    const m = this.quotas.mutations;
    if (m === undefined || !m.active()) return 0;
    return m.record(entity, mutations, nowMs, strict);
  }

  mutationThrottle(conn: GatedConnection, entity: QuotaEntity, nowMs: number): number {
    const m = this.quotas.mutations;
    if (m === undefined || !m.active()) return 0;
    const throttleMs = m.throttleMs(entity, nowMs);
    if (throttleMs > 0) this.mute(conn, nowMs + throttleMs, throttleMs);
    return throttleMs;
  }

  maxBytes(kind: ByteQuotaKind, entity: QuotaEntity, nowMs: number): number {
    const m = this.quotas[kind];
    return m.active() ? m.maxInWindow(entity, nowMs) : Infinity;
  }

  /** Mutes `conn` until `untilMs` (a later throttle extends it; an earlier one changes nothing). */
  private mute(conn: GatedConnection, untilMs: number, delayMs: number): void {
    const current = this.throttled.get(conn);
    if (current !== undefined) {
      if (current.untilMs >= untilMs) return;
      current.timer.cancel();
    }
    const timer = this.options.setTimer(delayMs, () => {
      this.throttled.delete(conn);
      conn.resume();
    });
    this.throttled.set(conn, { untilMs, timer });
  }
}
