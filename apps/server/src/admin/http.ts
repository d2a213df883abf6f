// The admin HTTP listener (node:http): GET /health, /v1/cluster, /v1/partitions (JSON, camelCase)
// and /metrics (Prometheus text); the console's views (routes.ts: /v1/topics, /v1/groups, /v1/raft,
// /v1/leader-changes) and the web console itself at `/` (console-files.ts). Read-only; anything
// else is 404/405.
import http from 'node:http';
import { ServerError, ServerErrorCode, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import type { ServerMetrics } from '../metrics.js';
import { CONSOLE_HEADERS, ConsoleFiles } from './console-files.js';
import { isViewRoute, viewJson, viewRoute } from './routes.js';
import type { AdminViews } from './views.js';

export interface AdminSource {
  /**
   * `degraded`: the node serves, but some replicas it holds do not (answered 200, with the list);
   * `starting` and `stopping` are answered 503.
   */
  health(): { status: 'ok' | 'degraded' | 'starting' | 'stopping'; nodeId: number };
  cluster(): unknown;
  partitions(): unknown;
  /** The console's views (absent: their routes are 404). */
  views?: AdminViews;
}

export class AdminListener {
  private readonly server: http.Server;
  private readonly logger: Logger;
  private readonly consoleFiles: ConsoleFiles;

  /** @param consoleDir the web console's built files (absent: `/` says the console is not built). */
  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly source: AdminSource,
    private readonly metrics: ServerMetrics,
    logger?: Logger,
    consoleDir?: string,
  ) {
    this.logger = logger ?? silentLogger;
    this.consoleFiles = new ConsoleFiles(consoleDir);
    this.server = http.createServer((req, res) => {
      this.route(req, res).catch((e: unknown) => {
        this.logger.error({ err: errorMessage(e), url: req.url }, 'admin request failed');
        if (!res.headersSent) this.json(res, 500, { error: errorMessage(e) });
        else res.destroy();
      });
    });
    this.server.keepAliveTimeout = 5000;
    this.server.requestTimeout = 10_000;
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException): void => {
        const code = e.code === 'EADDRINUSE' ? ServerErrorCode.PORT_IN_USE : ServerErrorCode.LISTEN_FAILED;
        const what = e.code === 'EADDRINUSE' ? 'is already in use' : `cannot be bound: ${errorMessage(e)}`;
        reject(new ServerError(code, `admin port ${this.host}:${this.port} ${what}`, { cause: e }));
      };
      this.server.once('error', onError);
      this.server.listen(this.port, this.host, () => {
        this.server.off('error', onError);
        const addr = this.server.address();
        resolve(typeof addr === 'object' && addr !== null ? addr.port : this.port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private json(res: http.ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v), 2);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const routes = ['/health', '/v1/cluster', '/v1/partitions', '/metrics'];
    if (!routes.includes(url.pathname)) return this.other(req, res, url);
    if (req.method !== 'GET' && req.method !== 'HEAD') return this.json(res, 405, { error: 'only GET' });
    switch (url.pathname) {
      case '/health': {
        const h = this.source.health();
        return this.json(res, h.status === 'ok' || h.status === 'degraded' ? 200 : 503, h);
      }
      case '/v1/cluster':
        return this.json(res, 200, this.source.cluster());
      case '/v1/partitions':
        return this.json(res, 200, this.source.partitions());
      default: {
        const text = await this.metrics.registry.metrics();
        res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
        res.end(text);
      }
    }
  }

  /** The console's view routes and files. */
  private async other(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const views = this.source.views;
    const viewRouteAsked = isViewRoute(url.pathname);
    const file = viewRouteAsked ? undefined : await this.consoleFiles.get(url.pathname);
    if ((viewRouteAsked && views === undefined) || (!viewRouteAsked && file === undefined)) {
      if (url.pathname === '/' && !this.consoleFiles.available)
        return this.json(res, 404, {
          error: 'the web console is not built here: run `pnpm build` (apps/console), then restart',
        });
      return this.json(res, 404, { error: `no route ${url.pathname}` });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return this.json(res, 405, { error: 'only GET' });
    if (file !== undefined) {
      res.writeHead(200, {
        ...CONSOLE_HEADERS,
        'content-type': file.contentType,
        'content-length': file.body.length,
      });
      res.end(req.method === 'HEAD' ? undefined : file.body);
      return;
    }
    const { status, body } = await viewRoute(views as AdminViews, url);
    const text = viewJson(body);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
    });
    res.end(text);
  }
}
