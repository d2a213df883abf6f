// One client connection: frames in, responses out strictly in request order.
//
// - Many requests may be in flight; each gets a slot in arrival order and responses leave in
//   that order even when later ones finish first. A slot answered with `null` (acks=0 produce)
//   sends nothing and does not hold back the ones after it.
// - Received bytes are charged as they arrive — to the process-wide budget and to the budget of
//   the remote address (`InFlightBudget`), never a whole frame on the word of a size prefix — and
//   stay charged until their request is answered. When a budget is used up its connections stop
//   reading; one connection per budget at a time may go over it to finish the frame it is
//   receiving (the overdraft), so a frame that started can always finish and connections never wait
//   for each other in a cycle.
// - A connection is muted (its socket is not read and none of its requests is started) while:
//   it has maxInFlightRequestsPerConnection requests in flight; or more than
//   maxUnsentResponseBytesPerConnection of responses not yet taken by the client, or requests in
//   flight whose responses, at this connection's usual size, would be more; or it is behind — the
//   kernel has not taken all that was written — and a request is in flight (a client that does not
//   keep up gets one request at a time, as Kafka serves every connection); or it holds
//   maxBufferedBytesPerConnection of requests and responses. So a client that does not read its
//   responses costs a bounded amount of work and memory (the kernel's socket buffers, then about
//   twice the unsent bound), then stalls only itself.
// - Every request passes one gate before it is started (`RequestGate`, `gate.ts`, shared by the
//   listener's connections): connections take turns, so that one connection's pipelined requests
//   cannot hold the event loop.
// - With request quotas configured (Kafka's request_percentage, `RequestQuotas`): the time each
//   request's dispatch takes is charged to its client id (read from the frame); the dispatcher asks
//   `throttleTimeMs` right before it makes the response, which charges the time so far and returns
//   the throttle time the response carries; the rest of the dispatch (encoding) is charged when it
//   returns. A connection whose client is over its quota is muted by the gate for that time, after
//   its response (KIP-219). Without quotas nothing is read or measured for them.
// - A frame must arrive whole within requestFrameTimeoutMs of its first byte, else the connection is
//   closed: a size prefix alone holds nothing for long. Only time during which this side reads
//   counts; the listener sweeps all connections (`checkFrameDeadline`).
// - A malformed or oversized frame, or a request the dispatcher cannot answer, closes this
//   connection only; the log line is rate-limited per remote address (`CloseLog`) and counted.
// - Once closed (reset, FIN — Kafka clients never half-close —, a failed write, or closed here),
//   nothing more of the connection is read or started: of the frames received and not started,
//   only the produces are (`startReceivedProduces`), the rest are dropped. Requests already started
//   finish on their own (the dispatcher sees `isClosed` and skips what it can); their responses are
//   not written.
// - Idle connections (nothing in flight, no traffic for idleTimeoutMs) are closed.
// - Security (`security/`, given by the listener): the listener and principal of the connection;
//   a client not yet authenticated may send only small frames (`maxFrameBytes`), a request the
//   security layer refuses (`AuthenticationError`) closes the connection, and after a failed
//   authentication is answered the connection closes `closeAfter` its delay.
import type { Socket } from 'node:net';
import { ApiKey, FrameDecoder, isProtocolError, peekClientId } from '@chronik/protocol';
import type { NetworkLimits } from '../config.js';
import { errorMessage, isServerError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { AuthenticationErrorCode } from '../security/errors.js';
import type { QuotaEntity } from '../services/client-quotas.js';
import { isAuthenticationError } from '../security/errors.js';
import type { ListenerInfo } from '../security/listeners.js';
import type { CloseLog } from './close-log.js';

/** Why the broker closed a connection (the closed-connections metric's label). */
export type CloseReason =
  | 'malformed_frame'
  | 'unanswerable_request'
  | 'idle'
  | 'frame_timeout'
  | 'frame_too_large_before_authentication'
  | AuthenticationErrorCode;

/** What the network layer knows of a connection's security (`security/`): who the client is. */
export interface ConnectionSecurity {
  readonly listener: ListenerInfo;
  /** Kafka's principal string, `User:<name>`. */
  readonly principal: string;
  /** The largest request frame accepted now (before a SASL client authenticated, a small one); undefined: any. */
  maxFrameBytes?(): number | undefined;
  /** Throws AuthenticationError when a request of `apiKey` may not be served now (the dispatcher asks first). */
  check?(apiKey: number, nowMs: number): void;
  /** The next frame is a bare SASL token (after SaslHandshake v0), not a request. */
  expectsRawToken?(): boolean;
}

/** What was malformed: the framing (size prefix) or a request inside a frame. */
export type MalformedKind = 'frame' | 'request';

/** The 4-byte size prefix of a response frame. */
function sizePrefix(totalBytes: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(totalBytes, 0);
  return b;
}

export interface ConnectionInfo {
  readonly id: number;
  readonly remoteAddress: string;
  /** The connection is gone: an answer would be thrown away. */
  readonly isClosed: boolean;
  /**
   * Request quotas: called by the dispatcher once per request it answers (acks=0 produces too),
   * right before it makes the response, with the request's client id. Returns the throttle time
   * the response carries (0 within the quota, or when no quota is configured); the connection is
   * then muted for that long (KIP-219).
   */
  throttleTimeMs(clientId: string | null): number;
  /** The connection's security (listener, principal); absent in tests that fake a connection. */
  readonly security?: ConnectionSecurity | undefined;
  /**
   * Byte-rate quotas: charges `bytes` (negative: takes them back) of a Produce request or a Fetch
   * response to the client's quota; returns the throttle time the response carries (the
   * connection is muted for it, as for request quotas). Absent: no byte-rate quotas.
   */
  byteQuotaThrottleMs?(kind: ByteQuotaKind, clientId: string | null, bytes: number): number;
  /**
   * controller_mutation_rate (KIP-599): records `mutations` (partitions created or deleted; negative
   * gives back those of a topic that failed) and returns 0; or, `strict` and the client already over
   * its quota, records nothing and returns the throttle time (the topic is THROTTLING_QUOTA_EXCEEDED).
   */
  chargeMutations?(clientId: string | null, mutations: number, strict: boolean): number;
  /** The throttle time a CreateTopics / CreatePartitions / DeleteTopics response carries; mutes the connection for it. */
  mutationThrottleMs?(clientId: string | null): number;
  /** The most bytes the client may fetch in one request under its byte-rate quota (Infinity: none). */
  byteQuotaMaxBytes?(kind: ByteQuotaKind, clientId: string | null): number;
  /**
   * Closes the connection `delayMs` after the responses of the requests started so far are
   * written; nothing more of it is read or started meanwhile (a failed authentication).
   */
  closeAfter?(delayMs: number): void;
}

/** The response to one request: its bytes (without the size prefix), or null for "no response". */
export type ResponseBody = Uint8Array | readonly Uint8Array[] | null;

export interface FrameDispatcher {
  /** Rejects only when no answer is possible; the connection is then closed. */
  dispatch(frame: Buffer, conn: ConnectionInfo): Promise<ResponseBody> | ResponseBody;
}

/**
 * A budget of request bytes held (received and not yet answered): the process-wide one, or one
 * remote address's. Reading stops at the limit, except for the one holder of the overdraft, which
 * may finish the frame it is receiving: usage stays under limit + one frame + one read chunk per
 * connection.
 */
export class InFlightBudget {
  private used = 0;
  private overdraftHolder: object | undefined;
  private readonly waiters = new Set<() => void>();
  constructor(readonly limitBytes: number) {}
  get usedBytes(): number {
    return this.used;
  }
  exhausted(): boolean {
    return this.used >= this.limitBytes;
  }
  /** Whether `holder` may read: there is room, or it holds the overdraft. */
  admits(holder: object): boolean {
    return this.used < this.limitBytes || this.overdraftHolder === holder;
  }
  overdraftFree(): boolean {
    return this.overdraftHolder === undefined;
  }
  takeOverdraft(holder: object): void {
    if (this.overdraftHolder !== undefined && this.overdraftHolder !== holder)
      throw new Error('InFlightBudget: the overdraft is held by another connection');
    this.overdraftHolder = holder;
  }
  endOverdraft(holder: object): void {
    if (this.overdraftHolder !== holder) return;
    this.overdraftHolder = undefined;
    this.wake();
  }
  acquire(n: number): void {
    this.used += n;
  }
  release(n: number): void {
    this.used -= n;
    if (this.used < 0) throw new Error(`InFlightBudget: released more than acquired (${this.used})`);
    if (!this.exhausted()) this.wake();
  }
  /** `resume` is called once, the next time the budget has room or its overdraft is free. */
  wait(resume: () => void): void {
    this.waiters.add(resume);
  }
  cancel(resume: () => void): void {
    this.waiters.delete(resume);
  }
  private wake(): void {
    if (this.waiters.size === 0) return;
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }
}

/**
 * The gate every request of every connection passes before it is started (owned by the listener,
 * see `./gate.ts`). `admit` says whether the connection may start one request now; when it says
 * no, the gate calls `conn.resume()` once it may. `started` reports the time the dispatch took.
 */
export interface RequestGate {
  admit(conn: GatedConnection): boolean;
  started(conn: GatedConnection, ms: number): void;
  /** The connection closed: forget it. */
  forget(conn: GatedConnection): void;
}

/** What the gate sees of a connection. */
export interface GatedConnection {
  readonly id: number;
  /** The remote IP (a quota's key). */
  readonly remoteIp: string;
  /** Called by the gate when the connection may try again. */
  resume(): void;
}

/**
 * Request quotas (Kafka's request_percentage, KIP-124; enforced by `ThrottleGate`, `gate.ts`): what
 * a connection tells them about each request's time.
 */
export interface RequestQuotas {
  /** Whether any client has a request quota now (a request's time is measured only then). */
  requestQuotaActive(): boolean;
  /**
   * Charges `ms` of event-loop time, ending at `nowMs`, to `entity`. With `check` (the request's
   * response is being made), returns the throttle time it carries — 0 within the quota — and,
   * when positive, mutes `conn` for that long: the gate admits none of its requests until then and
   * calls `resume` after.
   */
  charge(conn: GatedConnection, entity: QuotaEntity, ms: number, nowMs: number, check: boolean): number;
  /** Charges bytes to a byte-rate quota (negative: takes them back), as `charge` does time. */
  chargeBytes(
    conn: GatedConnection,
    kind: ByteQuotaKind,
    entity: QuotaEntity,
    bytes: number,
    nowMs: number,
    check: boolean,
  ): number;
  /** The most bytes `entity` may take in one request under its byte-rate quota (Infinity: none). */
  maxBytes(kind: ByteQuotaKind, entity: QuotaEntity, nowMs: number): number;
  /** controller_mutation_rate: records mutations, or (strict, over the quota) refuses them: the throttle time. */
  chargeMutations?(entity: QuotaEntity, mutations: number, nowMs: number, strict: boolean): number;
  /** The throttle time of `entity`'s mutations (0: within its quota); mutes `conn` for it. */
  mutationThrottle?(conn: GatedConnection, entity: QuotaEntity, nowMs: number): number;
}

/** The byte-rate quotas: producer_byte_rate (Produce request bytes), consumer_byte_rate (Fetch response bytes). */
export type ByteQuotaKind = 'produce' | 'fetch';

/** What a connection shares with the others: its budgets, the request gate, the close log. */
export interface ConnectionShared {
  readonly global: InFlightBudget;
  /** The budget of the connection's remote address. */
  readonly address: InFlightBudget;
  readonly gate: RequestGate;
  /** Undefined when no request quota is configured. */
  readonly quotas: RequestQuotas | undefined;
  readonly closeLog: CloseLog;
  /** The time source of the gate's accounting (ms, sub-millisecond resolution). */
  readonly nowMs: () => number;
}

/** Responses up to this size (prefix included) are joined into one buffer (Node's Buffer pool serves below 4 KiB). */
const SMALL_RESPONSE_BYTES = 4095;

interface Slot {
  done: boolean;
  response: ResponseBody;
  /** Bytes of the request frame (prefix included), charged to the budgets until it is answered. */
  requestBytes: number;
  /** Bytes of the response (prefix included) once done, until it is written. */
  responseBytes: number;
}

export interface ConnectionHooks {
  onFrame?(bytes: number): void;
  onResponse?(bytes: number): void;
  onClose?(conn: Connection): void;
  /** The broker closed the connection itself. */
  onBrokerClose?(reason: CloseReason): void;
  /** A malformed frame or request arrived (the connection is being closed). */
  onMalformed?(kind: MalformedKind): void;
  /** A response carries a request quota's throttle time (the connection is muted for it). */
  onThrottle?(throttleMs: number): void;
  /** A Produce or Fetch response carries a byte-rate quota's throttle time. */
  onByteThrottle?(kind: ByteQuotaKind, throttleMs: number): void;
}

function responseBytesOf(r: ResponseBody): number {
  if (r === null) return 0;
  if (r instanceof Uint8Array) return r.length + 4;
  let n = 4;
  for (const c of r) n += c.length;
  return n;
}

export class Connection implements ConnectionInfo, GatedConnection {
  readonly remoteAddress: string;
  /** The remote IP: the key of the address budget and of the close log. */
  readonly remoteIp: string;
  private readonly decoder: FrameDecoder;
  private readonly slots: Slot[] = [];
  /** Received bytes not yet taken out as frames (= decoder.bufferedBytes), charged to the budgets. */
  private inputBytes = 0;
  /** Bytes of requests taken out and not yet answered, charged to the budgets. */
  private requestBytesInFlight = 0;
  /** Bytes of responses done but waiting for an earlier one (not yet written). */
  private heldResponseBytes = 0;
  private waitingForBudget = false;
  /** Inside pump(): completions then leave the decision to read to the running pump. */
  private pumping = false;
  private paused = false;
  private closed = false;
  private draining = false;
  private drainWaiters: Array<() => void> = [];
  /**
   * Time counted against the frame being received (`checkFrameDeadline`, called periodically by
   * the listener): it grows only while the connection reads and holds part of a frame.
   */
  private frameWaitedMs = 0;
  /**
   * The size this connection's responses usually have (a moving average of the last few; before
   * the first, an eighth of the unsent bound): a producer's small responses let it pipeline up to
   * the in-flight limit, a client asking for large ones gets fewer in flight.
   */
  private responseEstimateBytes: number;
  /**
   * With request quotas, while a request of this connection is being dispatched: its client id
   * (undefined otherwise), and the time up to which its time has been charged.
   */
  private dispatchClientId: string | null | undefined;
  private dispatchChargedToMs = 0;
  /** Set by closeAfter: the connection closes this long after its responses are written. */
  private closeDelayMs: number | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private readonly resumeFromBudget = (): void => this.pump();

  constructor(
    readonly id: number,
    private readonly socket: Socket,
    private readonly dispatcher: FrameDispatcher,
    private readonly limits: NetworkLimits,
    private readonly shared: ConnectionShared,
    private readonly logger: Logger,
    private readonly hooks: ConnectionHooks = {},
    readonly security: ConnectionSecurity | undefined = undefined,
  ) {
    this.remoteIp = socket.remoteAddress ?? '?';
    this.remoteAddress = `${this.remoteIp}:${socket.remotePort ?? '?'}`;
    this.decoder = new FrameDecoder({ maxFrameBytes: limits.maxRequestBytes });
    this.responseEstimateBytes = limits.maxUnsentResponseBytesPerConnection / 8;
    socket.setNoDelay(true);
    if (limits.idleTimeoutMs > 0) socket.setTimeout(limits.idleTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.pump());
    socket.on('timeout', () => {
      if (this.slots.length === 0) {
        this.logger.info({ conn: this.id, remote: this.remoteAddress }, 'closing idle connection');
        this.hooks.onBrokerClose?.('idle');
        this.destroy();
      }
    });
    socket.on('error', (e) => {
      this.logger.debug({ conn: this.id, err: errorMessage(e) }, 'socket error');
      // The socket is destroyed: stop now rather than at the 'close' event, a turn later.
      this.onClosed();
    });
    // The client closed its side: it is gone (Kafka clients never half-close).
    socket.on('end', () => this.destroy());
    socket.on('close', () => this.onClosed());
  }

  get inFlight(): number {
    return this.slots.length;
  }

  get isClosed(): boolean {
    return this.closed || this.socket.destroyed;
  }

  /** Response bytes not yet taken by the client: written and not taken by the kernel, or done and held for order. */
  get unsentResponseBytes(): number {
    return this.socket.writableLength + this.heldResponseBytes;
  }

  /** Bytes this connection holds: undecoded input, requests in flight, unsent output. */
  get bufferedBytes(): number {
    return this.inputBytes + this.requestBytesInFlight + this.unsentResponseBytes;
  }

  /** Whether the connection is muted (its socket is not being read). */
  get isMuted(): boolean {
    return this.paused;
  }

  /** The gate lets this connection try again. */
  resume(): void {
    this.pump();
  }

  /** Who this connection's quotas are charged to: its user (ANONYMOUS without authentication) and client id. */
  private quotaEntity(clientId: string | null): QuotaEntity {
    const principal = this.security?.principal;
    return {
      user: principal === undefined ? null : principal.startsWith('User:') ? principal.slice(5) : principal,
      clientId: clientId ?? '',
    };
  }

  byteQuotaThrottleMs(kind: ByteQuotaKind, clientId: string | null, bytes: number): number {
    const quotas = this.shared.quotas;
    if (quotas === undefined) return 0;
    const throttleMs = quotas.chargeBytes(
      this,
      kind,
      this.quotaEntity(clientId),
      bytes,
      this.shared.nowMs(),
      bytes > 0,
    );
    if (throttleMs > 0) this.hooks.onByteThrottle?.(kind, throttleMs);
    return throttleMs;
  }

  chargeMutations(clientId: string | null, mutations: number, strict: boolean): number {
    const quotas = this.shared.quotas;
    if (quotas?.chargeMutations === undefined) return 0;
    return quotas.chargeMutations(this.quotaEntity(clientId), mutations, this.shared.nowMs(), strict);
  }

  mutationThrottleMs(clientId: string | null): number {
    const quotas = this.shared.quotas;
    if (quotas?.mutationThrottle === undefined || this.isClosed) return 0;
    return quotas.mutationThrottle(this, this.quotaEntity(clientId), this.shared.nowMs());
  }

  byteQuotaMaxBytes(kind: ByteQuotaKind, clientId: string | null): number {
    const quotas = this.shared.quotas;
    return quotas === undefined
      ? Infinity
      : quotas.maxBytes(kind, this.quotaEntity(clientId), this.shared.nowMs());
  }

  throttleTimeMs(clientId: string | null): number {
    const quotas = this.shared.quotas;
    if (quotas === undefined || this.isClosed || !quotas.requestQuotaActive()) return 0;
    const now = this.shared.nowMs();
    let ms = 0;
    if (this.dispatchClientId !== undefined) {
      // Asked during the request's dispatch: its time so far is charged now, the rest when it returns.
      ms = now - this.dispatchChargedToMs;
      this.dispatchChargedToMs = now;
    }
    const throttleMs = quotas.charge(this, this.quotaEntity(clientId), ms, now, true);
    if (throttleMs > 0) this.hooks.onThrottle?.(throttleMs);
    return throttleMs;
  }

  private onData(chunk: Buffer): void {
    if (this.isClosed) return;
    // The bytes are in memory now: charge them at once (a paused socket delivers at most one more chunk).
    const n = chunk.length;
    this.inputBytes += n;
    this.shared.global.acquire(n);
    this.shared.address.acquire(n);
    try {
      this.decoder.write(chunk);
    } catch (e) {
      this.malformedFrame(e);
      return;
    }
    this.pump();
  }

  /** This connection's own limits: beyond them no request is started and nothing is read. */
  private overLimit(): boolean {
    const inFlight = this.slots.length;
    const kernelBehind = this.socket.writableLength;
    const unsent = kernelBehind + this.heldResponseBytes;
    const maxUnsent = this.limits.maxUnsentResponseBytesPerConnection;
    return (
      inFlight >= this.limits.maxInFlightRequestsPerConnection ||
      unsent > maxUnsent ||
      // The responses of the requests in flight, at this connection's usual size, would be
      // unsent bytes too: so a client that stops reading leaves at most about twice the bound.
      (inFlight > 0 && inFlight * this.responseEstimateBytes > maxUnsent) ||
      (kernelBehind > 0 && inFlight > 0) ||
      this.requestBytesInFlight + unsent >= this.limits.maxBufferedBytesPerConnection
    );
  }

  /** This connection may start (and read) more requests, as far as its own limits go. */
  private mayStartRequest(): boolean {
    return !this.draining && this.closeDelayMs === undefined && !this.overLimit();
  }

  closeAfter(delayMs: number): void {
    if (this.closeDelayMs !== undefined || this.isClosed) return;
    this.closeDelayMs = delayMs;
    this.setReading(false);
    this.flush();
  }

  /** Whether more input may be read: own byte limit (one lone frame may exceed it), then the budgets. */
  private mayRead(): boolean {
    const other = this.requestBytesInFlight + this.unsentResponseBytes;
    if (other > 0 && this.inputBytes + other >= this.limits.maxBufferedBytesPerConnection) return false;
    const { global, address } = this.shared;
    const globalOk = global.admits(this);
    const addressOk = address.admits(this);
    if (globalOk && addressOk) return true;
    // A frame that started may finish over the budgets, one connection per budget at a time; the
    // overdrafts it needs are taken together or not at all, and a connection that waits holds none.
    if (
      this.inputBytes > 0 &&
      (globalOk || global.overdraftFree()) &&
      (addressOk || address.overdraftFree())
    ) {
      if (!globalOk) global.takeOverdraft(this);
      if (!addressOk) address.takeOverdraft(this);
      return true;
    }
    this.waitingForBudget = true;
    if (!globalOk) global.wait(this.resumeFromBudget);
    if (!addressOk) address.wait(this.resumeFromBudget);
    return false;
  }

  private endOverdrafts(): void {
    this.shared.address.endOverdraft(this);
    this.shared.global.endOverdraft(this);
  }

  /**
   * Starts the frames received while the limits and the gate allow, then decides whether to read
   * on. Completions inside it leave that decision to it (no recursion).
   */
  private pump(): void {
    if (this.pumping || this.isClosed) return;
    this.pumping = true;
    try {
      if (this.waitingForBudget) {
        this.waitingForBudget = false;
        this.shared.global.cancel(this.resumeFromBudget);
        this.shared.address.cancel(this.resumeFromBudget);
      }
      let gated = false;
      while (this.mayStartRequest()) {
        let size: number | undefined;
        try {
          size = this.decoder.peekSize();
        } catch (e) {
          this.malformedFrame(e);
          return;
        }
        if (size === undefined) break;
        const maxFrameBytes = this.security?.maxFrameBytes?.();
        if (maxFrameBytes !== undefined && size > maxFrameBytes) {
          this.frameTooLarge(size, maxFrameBytes);
          return;
        }
        if (this.decoder.bufferedBytes < size + 4) {
          // Not here whole; next() lets the decoder copy a frame that arrives in many small chunks.
          this.decoder.next();
          break;
        }
        // The gate is asked only for a frame that is here whole.
        if (!this.shared.gate.admit(this)) {
          gated = true;
          break;
        }
        const frame = this.decoder.next() as Buffer;
        // A whole frame arrived: its overdraft (if any) is over, and the next frame gets a full deadline.
        this.endOverdrafts();
        this.frameWaitedMs = 0;
        this.accept(frame);
        if (this.isClosed) return;
      }
      // Waiting for the gate (whole frames are here): read on only while the own limits allow.
      const read = !gated && this.mayStartRequest() && this.mayRead();
      this.setReading(read);
    } finally {
      this.pumping = false;
    }
  }

  private setReading(read: boolean): void {
    if (!read) {
      // Not reading (own limits, the gate, or waiting for a budget): hold no overdraft another may need.
      this.endOverdrafts();
      if (!this.paused) {
        this.paused = true;
        this.socket.pause();
      }
      return;
    }
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /**
   * Called every `elapsedMs` by the listener: while this connection reads and holds part of a frame,
   * the time counts against the frame's deadline; past requestFrameTimeoutMs the connection is
   * closed. (One sweep for all connections: a timer per frame cost the produce path several %.)
   */
  checkFrameDeadline(elapsedMs: number): void {
    if (this.isClosed || this.paused || this.inputBytes === 0) return;
    this.frameWaitedMs += elapsedMs;
    if (this.frameWaitedMs <= this.limits.requestFrameTimeoutMs) return;
    this.shared.closeLog.log(
      this.remoteIp,
      'info',
      'request frame not complete in time: closing connection',
      {
        conn: this.id,
        remote: this.remoteAddress,
        receivedBytes: this.inputBytes,
        timeoutMs: this.limits.requestFrameTimeoutMs,
      },
    );
    this.hooks.onBrokerClose?.('frame_timeout');
    this.destroy();
  }

  /** A frame larger than a client that has not authenticated may send (Kafka: sasl.server.max.receive.size). */
  private frameTooLarge(size: number, maxBytes: number): void {
    this.shared.closeLog.log(
      this.remoteIp,
      'info',
      'frame too large before authentication: closing connection',
      {
        conn: this.id,
        remote: this.remoteAddress,
        frameBytes: size,
        maxBytes,
      },
    );
    this.hooks.onMalformed?.('frame');
    this.hooks.onBrokerClose?.('frame_too_large_before_authentication');
    this.destroy();
  }

  private malformedFrame(e: unknown): void {
    this.shared.closeLog.log(this.remoteIp, 'info', 'malformed frame: closing connection', {
      conn: this.id,
      remote: this.remoteAddress,
      err: errorMessage(e),
    });
    this.hooks.onMalformed?.('frame');
    this.hooks.onBrokerClose?.('malformed_frame');
    this.destroy();
  }

  private accept(frame: Buffer): void {
    const bytes = frame.length + 4;
    // The bytes move from input to a request in flight; the budgets stay charged.
    this.inputBytes -= bytes;
    const slot: Slot = { done: false, response: null, requestBytes: bytes, responseBytes: 0 };
    this.slots.push(slot);
    this.requestBytesInFlight += bytes;
    this.hooks.onFrame?.(frame.length);
    let result: Promise<ResponseBody> | ResponseBody;
    const startedMs = this.shared.nowMs();
    if (this.shared.quotas?.requestQuotaActive() === true) {
      this.dispatchClientId = peekClientId(frame);
      this.dispatchChargedToMs = startedMs;
    }
    try {
      result = this.dispatcher.dispatch(frame, this);
    } catch (e) {
      this.dispatched(startedMs);
      this.settle(slot);
      this.fail(e);
      return;
    }
    this.dispatched(startedMs);
    if (result instanceof Promise) {
      result.then(
        (r) => this.complete(slot, r),
        (e: unknown) => {
          this.settle(slot);
          this.fail(e);
        },
      );
    } else {
      this.complete(slot, result);
    }
  }

  /**
   * A request's dispatch returned: its time counts in the gate's turn and, what was not charged
   * yet, against its client's request quota (no throttle decided on it: the response is made).
   */
  private dispatched(startedMs: number): void {
    const now = this.shared.nowMs();
    this.shared.gate.started(this, now - startedMs);
    const quotas = this.shared.quotas;
    if (quotas !== undefined && this.dispatchClientId !== undefined) {
      quotas.charge(
        this,
        this.quotaEntity(this.dispatchClientId),
        now - this.dispatchChargedToMs,
        now,
        false,
      );
      this.dispatchClientId = undefined;
    }
  }

  private fail(e: unknown): void {
    if (this.isClosed) return;
    if (isAuthenticationError(e)) {
      // A request the security layer refuses: the client's doing, as Kafka closes such a connection.
      this.shared.closeLog.log(
        this.remoteIp,
        'info',
        'request refused by the security layer: closing connection',
        {
          conn: this.id,
          remote: this.remoteAddress,
          listener: this.security?.listener.name,
          err: e.message,
        },
      );
      this.hooks.onBrokerClose?.(e.code);
      this.destroy();
      return;
    }
    // A request that does not decode is the client's doing: info, counted. Anything else is ours.
    const malformed = isProtocolError(e);
    const level = malformed ? 'info' : isServerError(e) ? 'warn' : 'error';
    this.shared.closeLog.log(this.remoteIp, level, 'cannot answer request: closing connection', {
      conn: this.id,
      remote: this.remoteAddress,
      err: errorMessage(e),
    });
    if (malformed) this.hooks.onMalformed?.('request');
    this.hooks.onBrokerClose?.('unanswerable_request');
    this.destroy();
  }

  /** The request is over, answered or not: its bytes go back to the budgets. */
  private settle(slot: Slot): void {
    slot.done = true;
    this.requestBytesInFlight -= slot.requestBytes;
    this.shared.global.release(slot.requestBytes);
    this.shared.address.release(slot.requestBytes);
    slot.requestBytes = 0;
  }

  private complete(slot: Slot, response: ResponseBody): void {
    this.settle(slot);
    if (this.isClosed) return;
    slot.response = response;
    slot.responseBytes = responseBytesOf(response);
    this.heldResponseBytes += slot.responseBytes;
    this.responseEstimateBytes += (slot.responseBytes - this.responseEstimateBytes) / 4;
    this.flush();
    this.pump();
  }

  private flush(): void {
    let wrote = false;
    while (this.slots.length > 0 && this.slots[0]?.done === true) {
      const slot = this.slots.shift() as Slot;
      this.heldResponseBytes -= slot.responseBytes;
      const r = slot.response;
      if (r === null) continue;
      const chunks: readonly Uint8Array[] = r instanceof Uint8Array ? [r] : r;
      const total = slot.responseBytes - 4;
      if (!wrote) this.socket.cork();
      wrote = true;
      if (total + 4 <= SMALL_RESPONSE_BYTES) {
        // Small responses (most of them: Produce, Heartbeat, …) go out as one buffer from Node's
        // pool: one write instead of one per chunk.
        const out = Buffer.allocUnsafe(total + 4);
        out.writeInt32BE(total, 0);
        let off = 4;
        for (const c of chunks) {
          out.set(c, off);
          off += c.length;
        }
        this.socket.write(out);
      } else {
        // Large ones (Fetch) keep their chunks, which are views of stored batches: no copy.
        this.socket.write(sizePrefix(total));
        for (const c of chunks) if (c.length > 0) this.socket.write(c);
      }
      this.hooks.onResponse?.(total + 4);
    }
    if (wrote) this.socket.uncork();
    if (this.slots.length === 0 && this.closeDelayMs !== undefined && this.closeTimer === undefined) {
      // The answer (a failed authentication) is written: end the connection after the delay.
      this.closeTimer = setTimeout(() => this.destroy(), this.closeDelayMs);
      this.closeTimer.unref();
    }
    if (this.slots.length === 0 && this.drainWaiters.length > 0) {
      const ws = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of ws) w();
    }
  }

  /** Stops reading new requests and resolves when every accepted request has been answered. */
  drain(): Promise<void> {
    this.draining = true;
    this.pump();
    if (this.slots.length === 0 || this.isClosed) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Flushes what was written and closes. */
  end(): void {
    if (!this.isClosed) this.socket.end();
  }

  destroy(): void {
    if (!this.socket.destroyed) this.socket.destroy();
    this.onClosed();
  }

  /**
   * At close, the Produce requests received whole are still started — a producer may send acks=0
   * records and close at once, and Kafka too processes the requests it received before a
   * disconnect; the other requests received and not started are dropped. Bounded by what was
   * received (the socket is not read while requests wait for their turn).
   */
  private startReceivedProduces(): void {
    for (;;) {
      let frame: Buffer | undefined;
      try {
        frame = this.decoder.next();
      } catch {
        return;
      }
      if (frame === undefined) return;
      if (frame.length >= 2 && frame.readInt16BE(0) === ApiKey.Produce) {
        this.accept(frame);
        continue;
      }
      const bytes = frame.length + 4;
      this.inputBytes -= bytes;
      this.shared.global.release(bytes);
      this.shared.address.release(bytes);
    }
  }

  private onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer);
    const { global, address } = this.shared;
    global.cancel(this.resumeFromBudget);
    address.cancel(this.resumeFromBudget);
    this.startReceivedProduces();
    this.shared.gate.forget(this);
    this.endOverdrafts();
    // The rest of the input is dropped, never dispatched. Dispatches still running finish on
    // their own; complete() returns their bytes to the budgets and writes nothing.
    if (this.inputBytes > 0) {
      global.release(this.inputBytes);
      address.release(this.inputBytes);
      this.inputBytes = 0;
    }
    this.heldResponseBytes = 0;
    const ws = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of ws) w();
    this.hooks.onClose?.(this);
  }
}
