// The Kafka TCP listener: accepts connections and hands each to a Connection.
// Seams: the net.Server factory is injectable, and `adopt(socket)` serves any connected socket.
// It owns what connections share: the process-wide in-flight budget, one budget per remote address
// with open connections (so the map is bounded by maxConnections), the request gate that makes
// connections take turns and, when a request quota is configured, enforces it (`gate.ts`,
// `quota.ts`), and the rate-limited close log.
// One listener object serves every endpoint of the node (Kafka's `listeners`: `endpoints`), so all
// share the budgets, the connection limit and the gate; each endpoint has its security protocol,
// and those with TLS a `tls.Server` whose certificate can be replaced while it runs
// (`reloadTls`). Each connection gets its security object from `security(endpoint, socket)`.
import net from 'node:net';
import tls from 'node:tls';
import type { NetworkLimits } from '../config.js';
import { ServerError, ServerErrorCode, errorMessage } from '../errors.js';
import type { TimerHandle } from '@chronik/env';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import type { ClientQuotaStore } from '../services/client-quotas.js';
import { CloseLog } from './close-log.js';
import type { ListenerInfo } from '../security/listeners.js';
import type { TlsEndpointSettings } from '../security/tls.js';
import type {
  ConnectionHooks,
  ConnectionSecurity,
  ConnectionShared,
  FrameDispatcher,
  RequestGate,
  RequestQuotas,
} from './connection.js';
import { Connection, InFlightBudget } from './connection.js';
import { FairGate, ThrottleGate } from './gate.js';
import type { QuotaWindows } from './quota.js';
import {
  ConnectionRateQuotas,
  FETCH_QUOTA,
  MutationQuotaManager,
  PRODUCE_QUOTA,
  QuotaManager,
  RequestQuotaManager,
} from './quota.js';

/** The machine's timer (the listener reads the machine's clock and timers, like the sockets it serves). */
function machineTimer(delayMs: number, fn: () => void): TimerHandle {
  const t = setTimeout(fn, delayMs);
  t.unref();
  return { cancel: () => clearTimeout(t) };
}
/** TLS of an endpoint: the secure context's options (certificate, key, CA; read again by `reloadTls`) and client authentication. */
export type EndpointTls = TlsEndpointSettings;

/** One endpoint (a Kafka listener) the listener binds. */
export interface EndpointOptions {
  listener: ListenerInfo;
  host: string;
  port: number;
  /** Present for SSL and SASL_SSL. */
  tls?: EndpointTls;
}

export interface KafkaListenerOptions {
  /** The bind address and port of the single plaintext endpoint when `endpoints` is absent. */
  host: string;
  port: number;
  /** The endpoints to bind; default one PLAINTEXT endpoint at host:port. */
  endpoints?: readonly EndpointOptions[];
  /** Each connection's security (listener, principal, SASL state); default: the listener, User:ANONYMOUS. */
  security?: (endpoint: EndpointOptions, socket: net.Socket) => ConnectionSecurity;
  /** A TLS handshake failed (a client with a bad certificate, or not speaking TLS). */
  onTlsError?: (endpoint: EndpointOptions, error: Error) => void;
  /** A connection was taken (`accepted`) or refused at once (`refused`: the limit, or shutting down). */
  onConnection?: (endpoint: EndpointOptions, outcome: 'accepted' | 'refused') => void;
  limits: NetworkLimits;
  dispatcher: FrameDispatcher;
  logger?: Logger;
  hooks?: ConnectionHooks;
  createServer?: () => net.Server;
  /** The clock of the request gate's and the request quotas' accounting (default `performance.now`). */
  nowMs?: () => number;
  /**
   * Client quotas: where their values come from (they may change at run time), and the sample
   * windows they are measured over. Absent: nothing is measured.
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

interface BoundEndpoint {
  readonly options: EndpointOptions;
  readonly server: net.Server;
  port: number;
}

export class KafkaListener {
  private readonly endpoints: BoundEndpoint[];
  private readonly connections = new Set<Connection>();
  private readonly budget: InFlightBudget;
  private readonly byAddress = new Map<string, AddressEntry>();
  private readonly closeLog: CloseLog;
  private readonly gate: RequestGate;
  private readonly quotas: RequestQuotas | undefined;
  /** connection_creation_rate per client ip (KIP-612), with the quotas. */
  private readonly connectionRates: ConnectionRateQuotas | undefined;
  /** Connections over their ip's connection rate: held unread, closed when their throttle ends. */
  private readonly held = new Map<net.Socket, TimerHandle>();
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
    if (quotas !== undefined) {
      // Always in place with a store: quotas may be set at run time (AlterClientQuotas). Without
      // any, a request costs a check of the store's cached `any`.
      const managers = {
        request: new RequestQuotaManager(quotas.store, quotas.windows),
        produce: new QuotaManager(PRODUCE_QUOTA, quotas.store, quotas.windows),
        fetch: new QuotaManager(FETCH_QUOTA, quotas.store, quotas.windows),
        mutations: new MutationQuotaManager(quotas.store, quotas.windows),
      };
      this.connectionRates = new ConnectionRateQuotas(quotas.store, quotas.windows);
      const throttles = new ThrottleGate(turns, managers, {
        setTimer: options.setTimer ?? machineTimer,
      });
      this.gate = throttles;
      this.quotas = throttles;
    } else {
      this.gate = turns;
      this.quotas = undefined;
      this.connectionRates = undefined;
    }
    this.nowMs = options.nowMs ?? (() => performance.now());
    const endpoints: readonly EndpointOptions[] = options.endpoints ?? [
      {
        listener: { name: 'PLAINTEXT', securityProtocol: 'PLAINTEXT' },
        host: options.host,
        port: options.port,
      },
    ];
    this.endpoints = endpoints.map((e) => ({ options: e, server: this.createServer(e), port: e.port }));
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

  private createServer(endpoint: EndpointOptions): net.Server {
    const t = endpoint.tls;
    if (t === undefined) {
      const server = (this.options.createServer ?? (() => net.createServer()))();
      server.on('connection', (socket) => this.adopt(socket, endpoint));
      return server;
    }
    // The secure context is set by listen() (and reloadTls) once its files are read.
    const server = tls.createServer({
      requestCert: t.requestCert,
      rejectUnauthorized: t.rejectUnauthorized,
      handshakeTimeout: t.handshakeTimeoutMs,
    });
    // Connections in their handshake count against the limit too.
    server.maxConnections = this.options.limits.maxConnections;
    server.on('secureConnection', (socket: tls.TLSSocket) => this.adopt(socket, endpoint));
    server.on('tlsClientError', (e: Error, socket: tls.TLSSocket) => {
      this.closeLog.log(socket.remoteAddress ?? '?', 'info', 'TLS handshake failed: closing connection', {
        listener: endpoint.listener.name,
        remote: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`,
        err: errorMessage(e),
      });
      this.options.onTlsError?.(endpoint, e);
    });
    return server;
  }

  /** The bound port of each endpoint, by listener name (known once listen() resolved). */
  get boundPorts(): ReadonlyMap<string, number> {
    return new Map(this.endpoints.map((e) => [e.options.listener.name, e.port]));
  }

  /**
   * Reads every TLS endpoint's certificate, key and CA again and uses them for new connections
   * (open ones keep theirs). Rejects, leaving the old ones in use, when a file cannot be read or
   * does not make a valid context.
   */
  async reloadTls(): Promise<void> {
    const fresh: Array<[BoundEndpoint, tls.SecureContextOptions]> = [];
    for (const e of this.endpoints) {
      if (e.options.tls === undefined) continue;
      const context = await e.options.tls.context();
      tls.createSecureContext(context); // throws on a bad certificate or key, before anything changes
      fresh.push([e, context]);
    }
    for (const [e, context] of fresh) (e.server as tls.Server).setSecureContext(context);
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

  /**
   * Binds every endpoint (TLS ones after reading their certificates); resolves with the first one's
   * bound port (`boundPorts` has them all). Fails with PORT_IN_USE when a port is taken.
   */
  async listen(): Promise<number> {
    for (const e of this.endpoints) {
      if (e.options.tls !== undefined)
        (e.server as tls.Server).setSecureContext(await e.options.tls.context());
      e.port = await this.bind(e);
    }
    return (this.endpoints[0] as BoundEndpoint).port;
  }

  private bind(e: BoundEndpoint): Promise<number> {
    const { host, port, listener } = e.options;
    const what =
      this.endpoints.length > 1 || listener.name !== 'PLAINTEXT'
        ? `Kafka listener ${listener.name} (port`
        : 'Kafka port';
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        const code = err.code === 'EADDRINUSE' ? ServerErrorCode.PORT_IN_USE : ServerErrorCode.LISTEN_FAILED;
        const problem =
          err.code === 'EADDRINUSE' ? 'is already in use' : `cannot be bound: ${errorMessage(err)}`;
        const name = what.endsWith('(port') ? `${what} ${host}:${port})` : `${what} ${host}:${port}`;
        reject(new ServerError(code, `${name} ${problem}`, { cause: err }));
      };
      e.server.once('error', onError);
      e.server.listen(port, host, () => {
        e.server.off('error', onError);
        e.server.on('error', (err) =>
          this.logger.error({ err: errorMessage(err), listener: listener.name }, 'Kafka listener error'),
        );
        const addr = e.server.address();
        resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
      });
    });
  }

  adopt(socket: net.Socket, endpoint: EndpointOptions = (this.endpoints[0] as BoundEndpoint).options): void {
    if (!this.accepting || this.connections.size >= this.options.limits.maxConnections) {
      this.logger.warn({ remote: socket.remoteAddress, open: this.connections.size }, 'refusing connection');
      socket.destroy();
      this.options.onConnection?.(endpoint, 'refused');
      return;
    }
    this.options.onConnection?.(endpoint, 'accepted');
    const userHooks = this.options.hooks ?? {};
    const address = socket.remoteAddress ?? '?';
    const throttleMs = this.connectionRates?.admit(normalizeIp(address), this.nowMs()) ?? 0;
    if (throttleMs > 0) {
      this.hold(socket, address, throttleMs);
      return;
    }
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
      this.options.security?.(endpoint, socket) ?? {
        listener: endpoint.listener,
        principal: 'User:ANONYMOUS',
      },
    );
    this.connections.add(conn);
    this.logger.debug({ conn: conn.id, remote: conn.remoteAddress }, 'connection opened');
  }

  /**
   * A connection over its ip's connection_creation_rate: Kafka accepts it, reads nothing from it,
   * and closes it once the throttle time is over (the client sees its connection closed, late).
   * Held sockets are bounded by maxConnections (beyond, closed at once).
   */
  private hold(socket: net.Socket, address: string, throttleMs: number): void {
    this.closeLog.log(
      address,
      'info',
      'connection over its ip connection_creation_rate: closing it after the throttle',
      {
        remote: address,
        throttleMs,
      },
    );
    socket.pause();
    socket.on('error', () => undefined);
    if (this.held.size >= this.options.limits.maxConnections) {
      socket.destroy();
      return;
    }
    const timer = (this.options.setTimer ?? machineTimer)(throttleMs, () => {
      this.held.delete(socket);
      socket.destroy();
    });
    this.held.set(socket, timer);
    socket.once('close', () => {
      this.held.get(socket)?.cancel();
      this.held.delete(socket);
    });
  }

  /** Connections held for their ip's connection rate now (tests, metrics). */
  get heldConnections(): number {
    return this.held.size;
  }

  /**
   * Stops accepting, lets every connection finish the requests it already accepted (up to
   * timeoutMs), then closes them all.
   */
  async close(timeoutMs: number): Promise<void> {
    this.accepting = false;
    for (const [socket, timer] of this.held) {
      timer.cancel();
      socket.destroy();
    }
    this.held.clear();
    if (this.frameSweep !== undefined) clearInterval(this.frameSweep);
    const closed = Promise.all(
      this.endpoints.map((e) => new Promise<void>((resolve) => e.server.close(() => resolve()))),
    );
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

/** An IPv4 client address as Kafka names it (without the IPv6-mapped prefix Node gives it). */
function normalizeIp(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
