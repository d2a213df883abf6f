// The broker: data directory, cluster, handlers, Kafka listener and admin listener, started and
// stopped in order. main() wraps it with the command line and signals; tests start it in-process.
import { readFile } from 'node:fs/promises';
import tls from 'node:tls';
import v8 from 'node:v8';
import type { ServerConfig } from './config.js';
import type { DataDirHandle } from './datadir.js';
import { openDataDir } from './datadir.js';
import { AdminListener } from './admin/http.js';
import type { AdminAccess } from './admin/http.js';
import { BearerToken, tokenOf } from './security/admin.js';
import type { AdminViews } from './admin/views.js';
import type { AdminRoute } from './admin/http.js';
import { ServerError, ServerErrorCode, errorMessage } from './errors.js';
import type { Logger } from './logger.js';
import { silentLogger } from './logger.js';
import { ServerMetrics } from './metrics.js';
import type { FrameDispatcher } from './net/connection.js';
import { KafkaListener } from './net/server.js';
import { ClientQuotas, StaticClientQuotaStore } from './services/client-quotas.js';
import { effectiveListeners, interBrokerListener } from './security/config.js';
import type { ListenerEndpoint } from './security/listeners.js';
import { usesSasl, usesTls } from './security/listeners.js';
import { SaslSession } from './security/sasl.js';
import { StaticSecurity } from './security/session.js';
import { tlsEndpointSettings, tlsPrincipal } from './security/tls.js';

export interface BrokerDeps {
  logger?: Logger;
  randomId: () => string;
  /** Collect Node process metrics (off in tests that run several brokers). */
  processMetrics?: boolean;
  /**
   * V8's old-generation growing factor, as `--heap-growing-percent` (the heap may grow to
   * live × (1 + percent/100) before a major GC), set when the broker starts; undefined leaves V8's
   * default. Process-wide, so only the program sets it, never a library embedding the broker.
   *
   * Why: request bytes live in Buffers outside the JS heap, and V8 counts every byte allocated
   * there since the last major GC against a limit derived from the JS heap, which is small (about
   * 13 MB). With the default factor a broker taking 75 MB/s ran a major GC (2–10 ms pauses) about
   * every 100 ms; with 400, about every 700 ms. See the README's performance section.
   */
  heapGrowingPercent?: number;
  /** Told when the broker stopped because it could not go on (the program exits non-zero). */
  onFatal?(error: Error): void;
  /**
   * The web console's built files (apps/console's `dist`), served on the admin port at `/`;
   * absent: the admin API only.
   */
  consoleDir?: string;
}

/** The largest heapGrowingPercent accepted (V8's factor 1 + percent/100). */
const MAX_HEAP_GROWING_PERCENT = 1000;
/** Replica problems listed in /health (all of them are in /v1/partitions). */
const MAX_HEALTH_PROBLEMS = 100;

/** What the broker runs on, as a mode composed it: the request handling, admin views, shutdown. */
export interface BrokerServices {
  dispatcher: FrameDispatcher;
  admin: {
    cluster(): unknown;
    partitions(): unknown;
    /** Operations beyond the views (cluster operations: admin/cluster-routes.ts). */
    routes?: readonly AdminRoute[];
    /** Replicas of this node that do not serve fully (damaged, stopped, not opened): /health. */
    problems(): ReadonlyArray<{ topic: string; partition: number; state: string; error: string }>;
    /** The web console's views (/v1/topics, /v1/groups, /v1/raft, /v1/leader-changes). */
    views?: AdminViews;
  };
  /** Called first on shutdown: long polls return so in-flight requests finish quickly. */
  beginShutdown(): void;
  /** Flushes and closes storage. */
  close(): Promise<void>;
}

/** What a mode gets from the broker. */
export interface ModeContext {
  config: ServerConfig;
  dataDir: DataDirHandle;
  logger: Logger;
  metrics: ServerMetrics;
  /** The inter-broker listener's advertised address (known once the Kafka listener is bound). */
  advertised: () => { host: string; port: number };
  /** Every listener's advertised endpoint (known once bound), in configured order; absent: one PLAINTEXT at `advertised()`. */
  listeners?: () => readonly ListenerEndpoint[];
  /** The client quotas the network layer enforces: the mode attaches the metadata's to it. */
  clientQuotas?: ClientQuotas;
  /** The node cannot go on: it stops (and the program exits non-zero). */
  fatal(error: Error): void;
}

/** A broker mode (modes/standalone.ts, modes/raft-cluster.ts): composes the services it runs on. */
export type BrokerMode = (ctx: ModeContext) => Promise<BrokerServices>;

export class Broker {
  readonly metrics: ServerMetrics;
  private readonly logger: Logger;
  private dataDir: DataDirHandle | undefined;
  private services: BrokerServices | undefined;
  private kafka: KafkaListener | undefined;
  private admin: AdminListener | undefined;
  private state: 'new' | 'starting' | 'ok' | 'stopping' | 'stopped' = 'new';
  private kafkaPortBound = 0;
  private adminPortBound = -1;

  constructor(
    readonly config: ServerConfig,
    private readonly deps: BrokerDeps,
    private readonly mode: BrokerMode,
  ) {
    this.logger = deps.logger ?? silentLogger;
    const growing = deps.heapGrowingPercent;
    if (
      growing !== undefined &&
      (!Number.isInteger(growing) || growing < 0 || growing > MAX_HEAP_GROWING_PERCENT)
    ) {
      throw new ServerError(
        ServerErrorCode.INVALID_CONFIG,
        `heapGrowingPercent must be an integer in 0..${MAX_HEAP_GROWING_PERCENT}, got ${growing}`,
      );
    }
    this.metrics = new ServerMetrics({ processMetrics: deps.processMetrics ?? false });
  }

  get kafkaPort(): number {
    return this.kafkaPortBound;
  }
  get adminPort(): number {
    return this.adminPortBound;
  }

  /**
   * The address other nodes are told to reach this one at: the inter-broker listener's advertised
   * host, and its bound port when the configured one was 0 (without --listeners: --advertised-addr).
   */
  advertised(): { host: string; port: number } {
    const inter = interBrokerListener(this.config);
    const e = this.listenerEndpoints().find((l) => l.name === inter.name) as ListenerEndpoint;
    return { host: e.host, port: e.port };
  }

  /** Every listener's advertised endpoint, bound ports filled in. */
  listenerEndpoints(): ListenerEndpoint[] {
    const bound = this.kafka?.boundPorts;
    return effectiveListeners(this.config).map((l) => ({
      name: l.name,
      securityProtocol: l.securityProtocol,
      host: l.advertisedHost,
      port: l.advertisedPort !== 0 ? l.advertisedPort : (bound?.get(l.name) ?? l.port),
    }));
  }

  /** The bound port of each listener, by name. */
  get listenerPorts(): ReadonlyMap<string, number> {
    return this.kafka?.boundPorts ?? new Map();
  }

  /**
   * Reads the TLS certificate, key and CA files again and serves new connections with them (open
   * connections keep theirs). Rejects, keeping the old ones, when a file is unreadable or invalid.
   */
  async reloadTls(): Promise<void> {
    await this.kafka?.reloadTls();
    await this.admin?.reloadTls();
    this.logger.info({}, 'TLS certificates reloaded');
  }

  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error('Broker.start called twice');
    this.state = 'starting';
    const growing = this.deps.heapGrowingPercent;
    if (growing !== undefined) v8.setFlagsFromString(`--heap-growing-percent=${growing}`);
    const c = this.config;
    this.dataDir = openDataDir(c.dataDir, c.nodeId, this.deps.randomId);
    this.logger.info({ dataDir: this.dataDir.path, nodeId: c.nodeId }, 'data directory ready');
    // Bind first (the advertised port may be the one the OS picked), then open storage; requests
    // that arrive in between wait for the services.
    let ready!: (s: BrokerServices) => void;
    let failed!: (e: unknown) => void;
    const servicesReady = new Promise<BrokerServices>((res, rej) => {
      ready = res;
      failed = rej;
    });
    servicesReady.catch(() => undefined);
    const metrics = this.metrics;
    // The flags' quotas at once; the metadata's (AlterClientQuotas) once the mode has opened it.
    const clientQuotas = new ClientQuotas(new StaticClientQuotaStore(c.clientQuotas));
    const tlsConfig = c.security?.tls;
    const tlsSettings =
      tlsConfig === undefined ? undefined : tlsEndpointSettings(tlsConfig, (f) => readFile(f));
    this.kafka = new KafkaListener({
      host: c.listenHost,
      port: c.kafkaPort,
      endpoints: effectiveListeners(c).map((l) => ({
        listener: { name: l.name, securityProtocol: l.securityProtocol },
        host: l.host,
        port: l.port,
        ...(usesTls(l.securityProtocol) && tlsSettings !== undefined ? { tls: tlsSettings } : {}),
      })),
      security: (endpoint, socket) => {
        const principal = socket instanceof tls.TLSSocket ? tlsPrincipal(socket) : undefined;
        return usesSasl(endpoint.listener.securityProtocol)
          ? new SaslSession(endpoint.listener, socket.remoteAddress ?? '?', principal)
          : new StaticSecurity(endpoint.listener, principal);
      },
      onTlsError: (endpoint) => metrics.tlsHandshakeFailures.inc({ listener: endpoint.listener.name }),
      limits: c.limits,
      dispatcher: {
        dispatch: (frame, conn) =>
          this.services
            ? this.services.dispatcher.dispatch(frame, conn)
            : servicesReady.then((s) => s.dispatcher.dispatch(frame, conn)),
      },
      logger: this.logger.child({ component: 'net' }),
      quotas: {
        store: clientQuotas,
        windows: { windowNum: c.clientQuotas.windowNum, windowMs: c.clientQuotas.windowSizeSeconds * 1000 },
      },
      hooks: {
        onFrame: (n) => metrics.bytesIn.inc(n + 4),
        onResponse: (n) => metrics.bytesOut.inc(n),
        onBrokerClose: (reason) => metrics.closedConnections.inc({ reason }),
        onMalformed: (kind) => metrics.malformedRequests.inc({ kind }),
        onThrottle: (ms) => {
          metrics.throttledResponses.inc({ quota: 'request' });
          metrics.throttleSeconds.inc({ quota: 'request' }, ms / 1000);
        },
        onByteThrottle: (kind, ms) => {
          metrics.throttledResponses.inc({ quota: kind });
          metrics.throttleSeconds.inc({ quota: kind }, ms / 1000);
        },
      },
    });
    metrics.connectionCount = () => this.kafka?.connectionCount ?? 0;
    metrics.networkState = () => {
      const k = this.kafka;
      return k === undefined
        ? { muted: 0, inFlightBytes: 0, unsentBytes: 0 }
        : {
            muted: k.mutedConnectionCount,
            inFlightBytes: k.inFlightBytes,
            unsentBytes: k.unsentResponseBytes,
          };
    };
    this.kafkaPortBound = await this.kafka.listen();
    try {
      this.services = await this.mode({
        config: c,
        dataDir: this.dataDir,
        logger: this.logger,
        metrics: this.metrics,
        advertised: () => this.advertised(),
        listeners: () => this.listenerEndpoints(),
        clientQuotas,
        fatal: (e) => this.fatal(e),
      });
      ready(this.services);
    } catch (e) {
      failed(e);
      throw e;
    }
    if (c.adminPort >= 0) {
      const services = this.services;
      const access = await adminAccess(c);
      this.admin = new AdminListener(
        c.adminHost,
        c.adminPort,
        {
          health: () => {
            if (this.state !== 'ok')
              return { status: this.state === 'stopping' ? 'stopping' : 'starting', nodeId: c.nodeId };
            const problems = services.admin.problems();
            if (problems.length === 0) return { status: 'ok', nodeId: c.nodeId };
            // The node serves, but not every replica it holds: say which, and why.
            return {
              status: 'degraded',
              nodeId: c.nodeId,
              replicaProblems: problems.length,
              replicas: problems.slice(0, MAX_HEALTH_PROBLEMS),
            };
          },
          cluster: () => services.admin.cluster(),
          partitions: () => services.admin.partitions(),
          ...(services.admin.views !== undefined ? { views: services.admin.views } : {}),
          ...(services.admin.routes !== undefined ? { routes: services.admin.routes } : {}),
        },
        this.metrics,
        this.logger.child({ component: 'admin' }),
        access,
        this.deps.consoleDir,
      );
      this.adminPortBound = await this.admin.listen();
    }
    this.state = 'ok';
    this.logger.info(
      {
        kafkaPort: this.kafkaPortBound,
        adminPort: this.adminPortBound,
        advertised: this.advertised(),
        listeners: this.listenerEndpoints(),
        mode: c.mode,
      },
      'chronik-server started',
    );
  }

  /** A component found the node unable to go on: say so, stop, and tell the owner. */
  private fatal(e: Error): void {
    this.logger.error({ err: e.message }, 'the broker cannot go on: stopping');
    this.stop().then(
      () => this.deps.onFatal?.(e),
      () => this.deps.onFatal?.(e),
    );
  }

  /** Stops accepting, finishes in-flight requests, syncs and closes storage, releases the data directory. */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    this.state = 'stopping';
    const errors: unknown[] = [];
    const step = async (what: string, f: () => Promise<void>): Promise<void> => {
      try {
        await f();
      } catch (e) {
        errors.push(e);
        this.logger.error({ err: errorMessage(e) }, `shutdown: ${what} failed`);
      }
    };
    this.services?.beginShutdown();
    if (this.kafka)
      await step('Kafka listener', () => (this.kafka as KafkaListener).close(this.config.shutdownTimeoutMs));
    if (this.admin) await step('admin listener', () => (this.admin as AdminListener).close());
    if (this.services) await step('storage', () => (this.services as BrokerServices).close());
    this.dataDir?.release();
    this.state = 'stopped';
    if (errors.length > 0) throw errors[0];
  }
}

/** The admin listener's access from the config: its TLS files and token file, read now. */
async function adminAccess(c: ServerConfig): Promise<AdminAccess> {
  const a = c.adminSecurity;
  if (a === undefined) return {};
  const read = async (file: string, what: string): Promise<Buffer> => {
    try {
      return await readFile(file);
    } catch (e) {
      throw new ServerError(
        ServerErrorCode.INVALID_CONFIG,
        `cannot read the admin ${what} ${file}: ${errorMessage(e)}`,
        { cause: e },
      );
    }
  };
  const access: AdminAccess = {};
  if (a.tokenFile !== undefined) {
    const file = a.tokenFile;
    const raw = await read(file, 'token file');
    try {
      access.token = new BearerToken(tokenOf(raw, file));
    } catch (e) {
      throw new ServerError(ServerErrorCode.INVALID_CONFIG, errorMessage(e));
    }
  }
  const t = a.tls;
  if (t !== undefined) {
    const context = async (): Promise<tls.SecureContextOptions> => {
      const [cert, key, ca] = await Promise.all([
        read(t.certFile, 'TLS certificate'),
        read(t.keyFile, 'TLS key'),
        t.caFile === undefined ? Promise.resolve(undefined) : read(t.caFile, 'TLS CA'),
      ]);
      return { cert, key, ...(ca === undefined ? {} : { ca }) };
    };
    access.tls = { context, requestCert: t.clientAuth === 'required' };
  }
  return access;
}
