// The Kafka TCP listener: accepts connections and hands each to a Connection.
// Seams: the net.Server factory is injectable, and `adopt(socket)` serves any connected socket.
import net from 'node:net';
import type { NetworkLimits } from '../config.js';
import { ServerError, ServerErrorCode, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import type { ConnectionHooks, FrameDispatcher } from './connection.js';
import { Connection, InFlightBudget } from './connection.js';

export interface KafkaListenerOptions {
  host: string;
  port: number;
  limits: NetworkLimits;
  dispatcher: FrameDispatcher;
  logger?: Logger;
  hooks?: ConnectionHooks;
  createServer?: () => net.Server;
}

export class KafkaListener {
  private readonly server: net.Server;
  private readonly connections = new Set<Connection>();
  private readonly budget: InFlightBudget;
  private readonly logger: Logger;
  private nextId = 1;
  private accepting = true;

  constructor(private readonly options: KafkaListenerOptions) {
    this.logger = options.logger ?? silentLogger;
    this.budget = new InFlightBudget(options.limits.maxGlobalInFlightBytes);
    this.server = (options.createServer ?? (() => net.createServer()))();
    this.server.on('connection', (socket) => this.adopt(socket));
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  get inFlightBytes(): number {
    return this.budget.usedBytes;
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
    const conn = new Connection(
      this.nextId++,
      socket,
      this.options.dispatcher,
      this.options.limits,
      this.budget,
      this.logger,
      {
        ...userHooks,
        onClose: (c) => {
          this.connections.delete(c);
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
