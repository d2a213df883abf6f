// One client connection: frames in, responses out strictly in request order.
//
// - Many requests may be in flight; each gets a slot in arrival order and responses leave in
//   that order even when later ones finish first. A slot answered with `null` (acks=0 produce)
//   sends nothing and does not hold back the ones after it.
// - Back-pressure: the socket is paused while this connection has too many requests in flight,
//   too many request + unsent response bytes, or the process-wide in-flight byte budget is used
//   up; it resumes when those drop. Memory per connection stays bounded however fast a client sends.
// - A malformed or oversized frame, or a request the dispatcher cannot answer, closes this
//   connection only (with a log line).
// - Idle connections (nothing in flight, no traffic for idleTimeoutMs) are closed.
import type { Socket } from 'node:net';
import { FrameDecoder, isProtocolError } from '@chronik/protocol';
import type { NetworkLimits } from '../config.js';
import { errorMessage, isServerError } from '../errors.js';
import type { Logger } from '../logger.js';

/** Why the broker closed a connection (the closed-connections metric's label). */
export type CloseReason = 'malformed_frame' | 'unanswerable_request' | 'idle';

/** The 4-byte size prefix of a response frame. */
function sizePrefix(totalBytes: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(totalBytes, 0);
  return b;
}

export interface ConnectionInfo {
  readonly id: number;
  readonly remoteAddress: string;
}

/** The response to one request: its bytes (without the size prefix), or null for "no response". */
export type ResponseBody = Uint8Array | readonly Uint8Array[] | null;

export interface FrameDispatcher {
  /** Rejects only when no answer is possible; the connection is then closed. */
  dispatch(frame: Buffer, conn: ConnectionInfo): Promise<ResponseBody> | ResponseBody;
}

/** The process-wide budget of request bytes in flight. */
export class InFlightBudget {
  private used = 0;
  private readonly waiters = new Set<() => void>();
  constructor(readonly limitBytes: number) {}
  get usedBytes(): number {
    return this.used;
  }
  exhausted(): boolean {
    return this.used >= this.limitBytes;
  }
  /** A frame of `n` bytes may start: it fits, or nothing else is in flight (one oversized frame at a time). */
  canReserve(n: number): boolean {
    return this.used === 0 || this.used + n <= this.limitBytes;
  }
  acquire(n: number): void {
    this.used += n;
  }
  release(n: number): void {
    this.used -= n;
    if (!this.exhausted() && this.waiters.size > 0) {
      const ws = [...this.waiters];
      this.waiters.clear();
      for (const w of ws) w();
    }
  }
  wait(resume: () => void): void {
    this.waiters.add(resume);
  }
  cancel(resume: () => void): void {
    this.waiters.delete(resume);
  }
}

/** Responses up to this size (prefix included) are joined into one buffer (Node's Buffer pool serves below 4 KiB). */
const SMALL_RESPONSE_BYTES = 4095;

/** Bytes read beyond the frame being received before the socket is paused. */
const READ_AHEAD_BYTES = 64 * 1024;

interface Slot {
  done: boolean;
  response: ResponseBody;
  requestBytes: number;
}

export interface ConnectionHooks {
  onFrame?(bytes: number): void;
  onResponse?(bytes: number): void;
  onClose?(conn: Connection): void;
  /** The broker closed the connection itself. */
  onBrokerClose?(reason: CloseReason): void;
}

export class Connection implements ConnectionInfo {
  readonly remoteAddress: string;
  private readonly decoder: FrameDecoder;
  private readonly slots: Slot[] = [];
  private requestBytesInFlight = 0;
  /** Budget held for the frame being received (reserved when its size prefix arrives). */
  private reserved: number | undefined;
  private waitingForBudget = false;
  private paused = false;
  private closed = false;
  private draining = false;
  private drainWaiters: Array<() => void> = [];
  private readonly resumeFromBudget = (): void => this.pump();

  constructor(
    readonly id: number,
    private readonly socket: Socket,
    private readonly dispatcher: FrameDispatcher,
    private readonly limits: NetworkLimits,
    private readonly budget: InFlightBudget,
    private readonly logger: Logger,
    private readonly hooks: ConnectionHooks = {},
  ) {
    this.remoteAddress = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.decoder = new FrameDecoder({ maxFrameBytes: limits.maxRequestBytes });
    socket.setNoDelay(true);
    if (limits.idleTimeoutMs > 0) socket.setTimeout(limits.idleTimeoutMs);
    socket.on('data', (chunk: Buffer) => {
      this.decoder.write(chunk);
      this.pump();
    });
    socket.on('drain', () => this.pump());
    socket.on('timeout', () => {
      if (this.slots.length === 0) {
        this.logger.info({ conn: this.id, remote: this.remoteAddress }, 'closing idle connection');
        this.hooks.onBrokerClose?.('idle');
        this.destroy();
      }
    });
    socket.on('error', (e) => this.logger.debug({ conn: this.id, err: errorMessage(e) }, 'socket error'));
    socket.on('close', () => this.onClosed());
  }

  get inFlight(): number {
    return this.slots.length;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Bytes this connection holds: undecoded input, requests in flight, unsent output. */
  get bufferedBytes(): number {
    return this.decoder.bufferedBytes + this.requestBytesInFlight + this.socket.writableLength;
  }

  private overLimit(): boolean {
    return (
      this.slots.length >= this.limits.maxInFlightRequestsPerConnection ||
      this.requestBytesInFlight + this.socket.writableLength >= this.limits.maxBufferedBytesPerConnection
    );
  }

  /**
   * Takes frames off the decoder while the limits allow; pauses the socket otherwise. The global
   * budget is reserved for a whole frame as soon as its size prefix arrives, and the socket is read
   * at most READ_AHEAD_BYTES beyond the reserved frame, so memory held by partial frames is bounded
   * too, and a frame that started always has the budget to finish (no deadlock between connections).
   */
  private pump(): void {
    if (this.closed) return;
    this.waitingForBudget = false;
    while (!this.draining && !this.overLimit()) {
      let frame: Buffer | undefined;
      try {
        const size = this.decoder.peekSize();
        if (size === undefined) break;
        if (this.reserved === undefined) {
          if (!this.budget.canReserve(size)) {
            this.waitingForBudget = true;
            break;
          }
          this.budget.acquire(size);
          this.reserved = size;
        }
        frame = this.decoder.next();
      } catch (e) {
        this.logger.warn(
          { conn: this.id, remote: this.remoteAddress, err: errorMessage(e) },
          'malformed frame: closing connection',
        );
        this.hooks.onBrokerClose?.('malformed_frame');
        this.destroy();
        return;
      }
      if (frame === undefined) break;
      const reserved = this.reserved ?? 0;
      this.reserved = undefined;
      this.accept(frame, reserved);
    }
    const readAhead = (this.reserved ?? 0) + 4 + READ_AHEAD_BYTES;
    const stop =
      this.draining || this.overLimit() || this.waitingForBudget || this.decoder.bufferedBytes >= readAhead;
    if (this.waitingForBudget) this.budget.wait(this.resumeFromBudget);
    if (stop && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!stop && this.paused) {
      this.paused = false;
      this.budget.cancel(this.resumeFromBudget);
      this.socket.resume();
    }
  }

  private accept(frame: Buffer, reserved: number): void {
    const slot: Slot = { done: false, response: null, requestBytes: reserved };
    this.slots.push(slot);
    this.requestBytesInFlight += reserved;
    this.hooks.onFrame?.(frame.length);
    let result: Promise<ResponseBody> | ResponseBody;
    try {
      result = this.dispatcher.dispatch(frame, this);
    } catch (e) {
      this.fail(e);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (r) => this.complete(slot, r),
        (e: unknown) => this.fail(e),
      );
    } else {
      this.complete(slot, result);
    }
  }

  private fail(e: unknown): void {
    const level = isServerError(e) || isProtocolError(e) ? 'warn' : 'error';
    this.logger[level](
      { conn: this.id, remote: this.remoteAddress, err: errorMessage(e) },
      'cannot answer request: closing connection',
    );
    this.hooks.onBrokerClose?.('unanswerable_request');
    this.destroy();
  }

  private complete(slot: Slot, response: ResponseBody): void {
    slot.done = true;
    slot.response = response;
    this.requestBytesInFlight -= slot.requestBytes;
    this.budget.release(slot.requestBytes);
    slot.requestBytes = 0;
    if (this.closed) return;
    this.flush();
    this.pump();
  }

  private flush(): void {
    let wrote = false;
    while (this.slots.length > 0 && this.slots[0]?.done === true) {
      const slot = this.slots.shift() as Slot;
      const r = slot.response;
      if (r === null) continue;
      const chunks: readonly Uint8Array[] = r instanceof Uint8Array ? [r] : r;
      let total = 0;
      for (const c of chunks) total += c.length;
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
    if (this.slots.length === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Flushes what was written and closes. */
  end(): void {
    if (!this.closed) this.socket.end();
  }

  destroy(): void {
    if (!this.closed) this.socket.destroy();
    this.onClosed();
  }

  private onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.budget.cancel(this.resumeFromBudget);
    if (this.reserved !== undefined) {
      this.budget.release(this.reserved);
      this.reserved = undefined;
    }
    // Dispatches still running finish on their own; complete() returns their bytes to the budget.
    const ws = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of ws) w();
    this.hooks.onClose?.(this);
  }
}
