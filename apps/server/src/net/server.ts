// The Kafka TCP listener: accepts connections and hands each to a Connection.
// Seams: the net.Server factory is injectable, and `adopt(socket)` serves any connected socket.
// It owns what connections share: the process-wide in-flight budget, one budget per remote address
// with open connections (so the map is bounded by maxConnections), the request gate that makes
// connections take turns and, when a request quota is configured, enforces it (`gate.ts`,
// `quota.ts`), and the rate-limited close log.
import net from 'node:net';
import type { NetworkLimits } from '../config.js';
import { ServerError, ServerErrorCode, errorMessage } from '../errors.js';
import type { TimerHandle } from '@chronik/env';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import type { ClientQuotaStore } from '../services/client-quotas.js';
import { CloseLog } from './close-log.js';
import type {
  ConnectionHooks,
  ConnectionShared,
  FrameDispatcher,
  RequestGate,
  RequestQuotas,
} from './connection.js';
import { Connection, InFlightBudget } from './connection.js';
import { FairGate, ThrottleGate } from './gate.js';
import type { QuotaWindows } from './quota.js';
import { RequestQuotaManager } from './quota.js';

/** The machine's timer (the listener reads the machine's clock and timers, like the sockets it serves). */
function machineTimer(delayMs: number, fn: () => void): TimerHandle {
  const t = setTimeout(fn, delayMs);
  t.unref();
  return { cancel: () => clearTimeout(t) };
}
export interface KafkaListenerOptions {
  host: string;
  port: number;
  limits: NetworkLimits;
  dispatcher: FrameDispatcher;
  logger?: Logger;
  hooks?: ConnectionHooks;
  createServer?: () => net.Server;
  /** The clock of the request gate's and the request quotas' accounting (default `performance.now`). */
  nowMs?: () => number;
  /**
   * Client quotas: where their values come from, and the sample windows they are measured over.
   * Absent, or a store with no request quota: nothing is measured. (A store whose quotas can be
   * set at run time — AlterClientQuotas — would need the quota gate from the start.)
   */
  quotas?: { store: ClientQuotaStore; windows: QuotaWindows };
  /** The timers that end request quotas' throttles (default Node's, unref'd). */
  setTimer?: (delayMs: number, fn: () => void) => TimerHandle;
}

/** Remote addresses the close log remembers (the least recently logged is forgotten first). */
const CLOSE_LOG_ADDRESSES = 4096;

/** Admits every request at once (`requestTurnBudgetMs` 0: no turns). */
const OPEN_GATE: RequestGate = {
  admit: () => true,
  started: () => undefined,
  forget: () => undefined,
};

interface AddressEntry {
  readonly budget: InFlightBudget;
  connections: number;
}

export class KafkaListener {
  private readonly server: net.Server;
  private readonly connections = new Set<Connection>();
  private readonly budget: InFlightBudget;
  private readonly byAddress = new Map<string, AddressEntry>();
  private readonly closeLog: CloseLog;
  private readonly gate: RequestGate;
  private readonly quotas: RequestQuotas | undefined;
  private readonly nowMs: () => number;
  private readonly logger: Logger;
  private nextId = 1;
  private accepting = true;
  private frameSweep: NodeJS.Timeout | undefined;

  constructor(private readonly options: KafkaListenerOptions) {
    this.logger = options.logger ?? silentLogger;
    this.budget = new InFlightBudget(options.limits.maxGlobalInFlightBytes);
    this.closeLog = new CloseLog(this.logger, {
      intervalMs: options.limits.clientErrorLogIntervalMs,
      maxAddresses: CLOSE_LOG_ADDRESSES,
    });
    const turnMs = options.limits.requestTurnBudgetMs;
    const turns = turnMs > 0 ? new FairGate({ turnBudgetMs: turnMs }) : OPEN_GATE;
    const quotas = options.quotas;
    if (quotas !== undefined && quotas.store.any('request_percentage')) {
      const throttles = new ThrottleGate(turns, new RequestQuotaManager(quotas.store, quotas.windows), {
        setTimer: options.setTimer ?? machineTimer,
      });
      this.gate = throttles;
      this.quotas = throttles;
    } else {
      this.gate = turns;
      this.quotas = undefined;
    }
    this.nowMs = options.nowMs ?? (() => performance.now());
    this.server = (options.createServer ?? (() => net.createServer()))();
    this.server.on('connection', (socket) => this.adopt(socket));
    // Frame deadlines: one sweep over the connections every tenth of the timeout (50 ms – 1 s).
    const frameTimeoutMs = options.limits.requestFrameTimeoutMs;
    if (frameTimeoutMs > 0) {
      const tickMs = Math.min(1000, Math.max(50, Math.floor(frameTimeoutMs / 10)));
      this.frameSweep = setInterval(() => {
        for (const c of this.connections) c.checkFrameDeadline(tickMs);
      }, tickMs);
      this.frameSweep.unref();
    }
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Request bytes received and not yet answered, over all connections. */
  get inFlightBytes(): number {
    return this.budget.usedBytes;
  }

  /** The same for one remote address (0 when it has no connection). */
  inFlightBytesOf(address: string): number {
    return this.byAddress.get(address)?.budget.usedBytes ?? 0;
  }

  /** Response bytes not yet taken by their clients, over all connections. */
  get unsentResponseBytes(): number {
    let n = 0;
    for (const c of this.connections) n += c.unsentResponseBytes;
    return n;
  }

  /** Connections whose socket is not being read (own limits, a budget, or waiting for their turn). */
  get mutedConnectionCount(): number {
    let n = 0;
    for (const c of this.connections) if (c.isMuted) n++;
    return n;
  }

  /** Binds; resolves with the bound port. Fails with PORT_IN_USE when the port is taken. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException): void => {
        const code = e.code === 'EADDRINUSE' ? ServerErrorCode.PORT_IN_USE : ServerErrorCode.LISTEN_FAILED;
        const what = e.code === 'EADDRINUSE' ? 'is already in use' : `cannot be bound: ${errorMessage(e)}`;
        reject(
          new ServerError(code, `Kafka port ${this.options.host}:${this.options.port} ${what}`, { cause: e }),
        );
      };
      this.server.once('error', onError);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', onError);
        this.server.on('error', (e) => this.logger.error({ err: errorMessage(e) }, 'Kafka listener error'));
        const addr = this.server.address();
        resolve(typeof addr === 'object' && addr !== null ? addr.port : this.options.port);
      });
    });
  }

  adopt(socket: net.Socket): void {
    if (!this.accepting || this.connections.size >= this.options.limits.maxConnections) {
      this.logger.warn({ remote: socket.remoteAddress, open: this.connections.size }, 'refusing connection');
      socket.destroy();
      return;
    }
    const userHooks = this.options.hooks ?? {};
    const address = socket.remoteAddress ?? '?';
    let entry = this.byAddress.get(address);
    if (entry === undefined) {
      // Never more than the global budget: a per-address limit above it would mean nothing.
      const { maxInFlightBytesPerAddress, maxGlobalInFlightBytes } = this.options.limits;
      const limit = Math.min(maxInFlightBytesPerAddress, maxGlobalInFlightBytes);
      entry = { budget: new InFlightBudget(limit), connections: 0 };
      this.byAddress.set(address, entry);
    }
    entry.connections++;
    const shared: ConnectionShared = {
      global: this.budget,
      address: entry.budget,
      gate: this.gate,
      quotas: this.quotas,
      closeLog: this.closeLog,
      nowMs: this.nowMs,
    };
    const conn = new Connection(
      this.nextId++,
      socket,
      this.options.dispatcher,
      this.options.limits,
      shared,
      this.logger,
      {
        ...userHooks,
        onClose: (c) => {
          this.connections.delete(c);
          // Requests of the closed connection still running release into the budget object they hold.
          const e = this.byAddress.get(address);
          if (e !== undefined && --e.connections === 0) this.byAddress.delete(address);
          userHooks.onClose?.(c);
        },
      },
    );
    this.connections.add(conn);
    this.logger.debug({ conn: conn.id, remote: conn.remoteAddress }, 'connection opened');
  }

  /**
   * Stops accepting, lets every connection finish the requests it already accepted (up to
   * timeoutMs), then closes them all.
   */
  async close(timeoutMs: number): Promise<void> {
    this.accepting = false;
    if (this.frameSweep !== undefined) clearInterval(this.frameSweep);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const drained = Promise.all([...this.connections].map((c) => c.drain()));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const r = await Promise.race([drained.then(() => 'ok' as const), timeout]);
    if (timer) clearTimeout(timer);
    if (r === 'timeout')
      this.logger.warn(
        { open: this.connections.size },
        'shutdown: in-flight requests did not finish in time',
      );
    for (const c of [...this.connections]) {
      if (r === 'ok') c.end();
      else c.destroy();
    }
    // end() flushes; give sockets a moment, then force.
    const forceTimer = setTimeout(() => {
      for (const c of [...this.connections]) c.destroy();
    }, 500);
    await closed;
    clearTimeout(forceTimer);
  }
}
