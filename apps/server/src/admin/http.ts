// The admin HTTP listener (node:http, or node:https): GET /health, /v1/cluster, /v1/partitions
// (JSON, camelCase) and /metrics (Prometheus text); the console's views (routes.ts: /v1/topics,
// /v1/groups, /v1/raft, /v1/leader-changes) and the web console itself at `/` (console-files.ts).
// The routes a mode adds (AdminRoute: cluster operations such as /v1/reassignments,
// admin/cluster-routes.ts) may take a JSON body (at most 1 MiB). Any other path is 404, another
// method 405.
//
// Access (security/admin.ts; open plain HTTP unless configured):
// - HTTPS with the configured certificate; with client authentication the TLS handshake refuses a
//   client without a certificate of the CA (mTLS). `reloadTls` reads the files again (SIGHUP).
// - With a bearer token, every route but a bare `/health` needs `Authorization: Bearer <token>`:
//   401 with `WWW-Authenticate: Bearer` otherwise, counted in
//   `chronik_admin_authentication_failures_total`. `/health` without it answers the status and node
//   id only. The token never appears in an answer or a log line. The console's files need no token
//   (they hold no data); its views do, and a browser does not send one: with a token, open the
//   console through mTLS or not at all.
import http from 'node:http';
import https from 'node:https';
import type tls from 'node:tls';
import type { BearerToken } from '../security/admin.js';
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
  /** More routes (operations); a route's path may not be one of the above. */
  routes?: readonly AdminRoute[];
}

/** Who may use the admin API. */
export interface AdminAccess {
  /** HTTPS: the certificate, key and CA (read again on every call); `requestCert`: mTLS, required. */
  tls?: { context(): Promise<tls.SecureContextOptions>; requestCert: boolean };
  /** Every route but a bare /health needs this bearer token. */
  token?: BearerToken;
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
  private server: http.Server | https.Server | undefined;
  private readonly logger: Logger;
  private readonly consoleFiles: ConsoleFiles;

  /** @param consoleDir the web console's built files (absent: `/` says the console is not built). */
  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly source: AdminSource,
    private readonly metrics: ServerMetrics,
    logger?: Logger,
    private readonly access: AdminAccess = {},
    consoleDir?: string,
  ) {
    this.logger = logger ?? silentLogger;
    this.consoleFiles = new ConsoleFiles(consoleDir);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.route(req, res).catch((e: unknown) => {
      this.logger.error({ err: errorMessage(e), url: req.url }, 'admin request failed');
      if (!res.headersSent) this.json(res, 500, { error: errorMessage(e) });
      else res.destroy();
    });
  }

  async listen(): Promise<number> {
    const t = this.access.tls;
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => this.handle(req, res);
    const server =
      t === undefined
        ? http.createServer(handler)
        : https.createServer(
            { ...(await t.context()), requestCert: t.requestCert, rejectUnauthorized: t.requestCert },
            handler,
          );
    server.keepAliveTimeout = 5000;
    server.requestTimeout = 10_000;
    this.server = server;
    return new Promise((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException): void => {
        const code = e.code === 'EADDRINUSE' ? ServerErrorCode.PORT_IN_USE : ServerErrorCode.LISTEN_FAILED;
        const what = e.code === 'EADDRINUSE' ? 'is already in use' : `cannot be bound: ${errorMessage(e)}`;
        reject(new ServerError(code, `admin port ${this.host}:${this.port} ${what}`, { cause: e }));
      };
      server.once('error', onError);
      server.listen(this.port, this.host, () => {
        server.off('error', onError);
        const addr = server.address();
        resolve(typeof addr === 'object' && addr !== null ? addr.port : this.port);
      });
    });
  }

  /** HTTPS: reads the certificate, key and CA again for new connections (a bad file keeps the old). */
  async reloadTls(): Promise<void> {
    const t = this.access.tls;
    const server = this.server;
    if (t === undefined || !(server instanceof https.Server)) return;
    server.setSecureContext(await t.context());
  }

  close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** Whether the request carries the token (or none is configured). */
  private authenticated(req: http.IncomingMessage): boolean {
    const token = this.access.token;
    return token === undefined || token.accepts(req.headers.authorization);
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
    if (extra.length > 0) return this.operation(req, res, url, extra);
    const routes = ['/health', '/v1/cluster', '/v1/partitions', '/metrics'];
    if (!routes.includes(url.pathname)) return this.other(req, res, url);
    if (req.method !== 'GET' && req.method !== 'HEAD') return this.json(res, 405, { error: 'only GET' });
    const authenticated = this.authenticated(req);
    if (!authenticated && (url.pathname !== '/health' || req.headers.authorization !== undefined)) {
      this.metrics.adminAuthenticationFailures.inc();
      this.logger.debug(
        { remote: req.socket.remoteAddress, path: url.pathname },
        'admin request without a valid token',
      );
    }
    if (!authenticated && url.pathname !== '/health') {
      res.setHeader('www-authenticate', 'Bearer realm="chronik-admin"');
      return this.json(res, 401, { error: 'this route needs "Authorization: Bearer <token>"' });
    }
    switch (url.pathname) {
      case '/health': {
        const h = this.source.health();
        const code = h.status === 'ok' || h.status === 'degraded' ? 200 : 503;
        return this.json(res, code, authenticated ? h : { status: h.status, nodeId: h.nodeId });
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

  /** A route a mode added (cluster operations): the token, then the method and the JSON body. */
  private async operation(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    extra: readonly AdminRoute[],
  ): Promise<void> {
    if (!this.authenticated(req)) {
      this.metrics.adminAuthenticationFailures.inc();
      res.setHeader('www-authenticate', 'Bearer realm="chronik-admin"');
      return this.json(res, 401, { error: 'this route needs "Authorization: Bearer <token>"' });
    }
    const route = extra.find((r) => r.method === req.method || (req.method === 'HEAD' && r.method === 'GET'));
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
    if (!this.authenticated(req)) {
      this.metrics.adminAuthenticationFailures.inc();
      res.setHeader('www-authenticate', 'Bearer realm="chronik-admin"');
      return this.json(res, 401, { error: 'this route needs "Authorization: Bearer <token>"' });
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
