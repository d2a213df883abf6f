// A TCP proxy for one directed Raft link (node i dialing node j). The harness points node i's
// `--peers` entry for j at this proxy, so it can cut, black-hole, delay or disturb that link.
//
// Modes:
// - up: bytes pass through;
// - cut: every open connection is reset and new ones are reset at once (a refused/closed link);
// - blackhole: connections stay open but nothing passes (a silent partition; the peers notice only
//   through their own timeouts). Leaving this mode resets the held connections, since bytes were lost
//   in the middle of a stream;
// - delay: every chunk is delivered `delayMs` (+ up to `jitterMs`) late, in order;
// - flaky: each chunk resets its connection with probability `resetProbability` (TCP cannot lose
//   bytes without breaking the stream, so "lossy" means connections that keep breaking), with delay.
import net from 'node:net';
import type { Rng } from './rng.js';

export type LinkMode =
  | { kind: 'up' }
  | { kind: 'cut' }
  | { kind: 'blackhole' }
  | { kind: 'delay'; delayMs: number; jitterMs: number }
  | { kind: 'flaky'; resetProbability: number; delayMs: number };

/** Bytes one direction of one connection may hold back (delay queue) before the connection is reset. */
const MAX_QUEUED_BYTES = 64 * 1024 * 1024;

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
}

export interface LinkStats {
  connections: number;
  resets: number;
  /** Both directions. */
  bytesForwarded: number;
  /** From the dialing node to the node dialed (requests). */
  bytesForwardedOut: number;
  /** Back to the dialing node (responses, acks). */
  bytesForwardedBack: number;
  bytesDropped: number;
}

export class LinkProxy {
  private server: net.Server | undefined;
  private readonly pairs = new Set<Pair>();
  private modeValue: LinkMode = { kind: 'up' };
  readonly stats: LinkStats = {
    connections: 0,
    resets: 0,
    bytesForwarded: 0,
    bytesForwardedOut: 0,
    bytesForwardedBack: 0,
    bytesDropped: 0,
  };
  port = 0;

  /**
   * @param from the dialing node; @param to the node dialed; @param targetPort that node's Raft port;
   * @param rng randomness for jitter and flaky resets (not the schedule's: link timing is not replayed).
   */
  constructor(
    readonly from: number,
    readonly to: number,
    private readonly targetPort: number,
    private readonly rng: Rng,
  ) {}

  /** Connections being relayed now. */
  get openConnections(): number {
    return this.pairs.size;
  }

  get mode(): LinkMode {
    return this.modeValue;
  }

  async listen(port = 0): Promise<number> {
    const server = net.createServer((c) => this.accept(c));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    this.port = typeof addr === 'object' && addr !== null ? addr.port : port;
    return this.port;
  }

  setMode(mode: LinkMode): void {
    const was = this.modeValue.kind;
    this.modeValue = mode;
    if (mode.kind === 'cut' || (was === 'blackhole' && mode.kind !== 'blackhole')) this.resetAll();
  }

  resetAll(): void {
    for (const p of [...this.pairs]) this.reset(p);
  }

  async close(): Promise<void> {
    this.resetAll();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    this.stats.connections++;
    if (this.modeValue.kind === 'cut') {
      this.stats.resets++;
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(this.targetPort, '127.0.0.1');
    const pair: Pair = { client, upstream };
    this.pairs.add(pair);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const end = (): void => {
      if (!this.pairs.delete(pair)) return;
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
    this.pipe(pair, client, upstream, 'out');
    this.pipe(pair, upstream, client, 'back');
  }

  private reset(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    this.stats.resets++;
    if (!pair.client.destroyed) pair.client.resetAndDestroy();
    if (!pair.upstream.destroyed) pair.upstream.resetAndDestroy();
  }

  private count(dir: 'out' | 'back', n: number): void {
    this.stats.bytesForwarded += n;
    if (dir === 'out') this.stats.bytesForwardedOut += n;
    else this.stats.bytesForwardedBack += n;
  }

  /**
   * One direction of one connection. Delayed chunks wait in a FIFO with one timer for its head, so
   * they leave in the order they came (separate timers with equal due times may fire out of order,
   * which would corrupt the stream).
   */
  private pipe(pair: Pair, src: net.Socket, dst: net.Socket, dir: 'out' | 'back'): void {
    const queue: Array<{ dueMs: number; chunk: Buffer }> = [];
    let head = 0;
    let queuedBytes = 0;
    let lastDueMs = 0;
    let timer: NodeJS.Timeout | undefined;
    const drain = (): void => {
      timer = undefined;
      if (!this.pairs.has(pair) || dst.destroyed) {
        queue.length = 0;
        head = 0;
        queuedBytes = 0;
        return;
      }
      const now = Date.now();
      while (head < queue.length && (queue[head] as { dueMs: number }).dueMs <= now) {
        const { chunk } = queue[head] as { chunk: Buffer };
        head++;
        queuedBytes -= chunk.length;
        this.count(dir, chunk.length);
        dst.write(chunk);
      }
      if (head === queue.length) {
        queue.length = 0;
        head = 0;
      } else arm();
    };
    const arm = (): void => {
      if (timer !== undefined || head >= queue.length) return;
      timer = setTimeout(drain, Math.max(0, (queue[head] as { dueMs: number }).dueMs - Date.now()));
    };
    const enqueue = (chunk: Buffer, dueMs: number): void => {
      lastDueMs = Math.max(dueMs, lastDueMs);
      queue.push({ dueMs: lastDueMs, chunk });
      queuedBytes += chunk.length;
      if (queuedBytes > MAX_QUEUED_BYTES) {
        this.reset(pair);
        return;
      }
      arm();
    };
    src.on('data', (chunk: Buffer) => {
      const mode = this.modeValue;
      switch (mode.kind) {
        case 'up':
          // Still draining a delay queue: stay in order behind it.
          if (head < queue.length) enqueue(chunk, Date.now());
          else {
            this.count(dir, chunk.length);
            dst.write(chunk);
          }
          return;
        case 'cut':
          this.reset(pair);
          return;
        case 'blackhole':
          this.stats.bytesDropped += chunk.length;
          return;
        case 'flaky':
          if (this.rng.chance(mode.resetProbability)) {
            this.stats.bytesDropped += chunk.length;
            this.reset(pair);
            return;
          }
          enqueue(chunk, Date.now() + mode.delayMs);
          return;
        case 'delay':
          enqueue(chunk, Date.now() + mode.delayMs + this.rng.int(0, mode.jitterMs));
          return;
      }
    });
  }
}
