// The admin HTTP listener (node:http): GET /health, /v1/cluster, /v1/partitions (JSON, camelCase)
// and /metrics (Prometheus text), and the routes a mode adds (AdminRoute: cluster operations such
// as /v1/reassignments, admin/cluster-routes.ts), which may take a JSON body (at most 1 MiB). Any
// other path is 404, another method 405.
import http from 'node:http';
import { ServerError, ServerErrorCode, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import type { ServerMetrics } from '../metrics.js';

export interface AdminSource {
  /**
   * `degraded`: the node serves, but some replicas it holds do not (answered 200, with the list);
   * `starting` and `stopping` are answered 503.
   */
  health(): { status: 'ok' | 'degraded' | 'starting' | 'stopping'; nodeId: number };
  cluster(): unknown;
  partitions(): unknown;
  /** More routes (operations); a route's path may not be one of the above. */
  routes?: readonly AdminRoute[];
}

/** A route beyond the read-only views. */
export interface AdminRoute {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  /**
   * The answer (status and JSON body). `body` is the request's JSON body, undefined when it has none;
   * `query` the URL's parameters.
   */
  handle(
    body: unknown,
    query: URLSearchParams,
  ): Promise<{ status: number; body: unknown }> | { status: number; body: unknown };
}

/** Largest request body a route reads. */
const MAX_BODY_BYTES = 1024 * 1024;

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error(`request body over ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export class AdminListener {
  private readonly server: http.Server;
  private readonly logger: Logger;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly source: AdminSource,
    private readonly metrics: ServerMetrics,
    logger?: Logger,
  ) {
    this.logger = logger ?? silentLogger;
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
    const extra = (this.source.routes ?? []).filter((r) => r.path === url.pathname);
    if (extra.length > 0) {
      const route = extra.find(
        (r) => r.method === req.method || (req.method === 'HEAD' && r.method === 'GET'),
      );
      if (route === undefined)
        return this.json(res, 405, {
          error: `${url.pathname} takes ${extra.map((r) => r.method).join(', ')}`,
        });
      let body: unknown = undefined;
      if (req.method === 'POST' || req.method === 'DELETE') {
        let text: string;
        try {
          text = await readBody(req);
        } catch (e) {
          return this.json(res, 413, { error: errorMessage(e) });
        }
        if (text.trim() !== '') {
          try {
            body = JSON.parse(text) as unknown;
          } catch {
            return this.json(res, 400, { error: 'the request body is not JSON' });
          }
        }
      }
      const answer = await route.handle(body, url.searchParams);
      return this.json(res, answer.status, answer.body);
    }
    const routes = ['/health', '/v1/cluster', '/v1/partitions', '/metrics'];
    if (!routes.includes(url.pathname)) return this.json(res, 404, { error: `no route ${url.pathname}` });
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
}
