// The admin HTTP API of Chronik nodes as the tool reaches it: the URLs (--admin, $CHRONIK_ADMIN) and
// credentials (a bearer token from a file, a CA, a client certificate for mTLS) shared by the
// commands that use it (cluster health and membership, partitions status), and one JSON request
// over http or https. Node's http/https: one request at a time, no dependency needed.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Argv } from 'yargs';
import type { Context } from '../context.js';
import { CliError, errorMessage, usage } from '../errors.js';

/** How long a read (GET) may take. */
export const ADMIN_READ_TIMEOUT_MS = 5000;
/** A membership change may wait for the metadata leader (the server waits up to 30 s). */
export const ADMIN_CHANGE_TIMEOUT_MS = 45_000;

export const ADMIN_OPTION = {
  type: 'string',
  describe:
    'admin API URLs, comma-separated; the first that answers is used (default $CHRONIK_ADMIN or http://localhost:6092)',
} as const;

/** The admin API endpoints and credentials of a membership command. */
export interface Admins {
  urls: string[];
  auth: AdminAuth;
}

/** How to reach an admin API that asks for credentials: a bearer token, a CA, a client certificate. */
export interface AdminAuth {
  token?: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export function adminsOf(ctx: Context, a: Record<string, unknown>): Admins {
  const raw = typeof a.admin === 'string' ? a.admin : undefined;
  return {
    urls: (raw ?? ctx.io.env.CHRONIK_ADMIN ?? 'http://localhost:6092')
      .split(',')
      .map((u) => u.trim().replace(/\/+$/, ''))
      .filter((u) => u !== ''),
    auth: adminAuth(a, ctx.io.env.CHRONIK_ADMIN_TOKEN_FILE),
  };
}

/** The options of the admin API and its credentials (cluster health and the membership commands). */
export function adminOptions<T>(y: Argv<T>): Argv<T> {
  return adminAuthOptions(y.option('admin', ADMIN_OPTION));
}

/** The credentials' options alone (a command with an `--admin` of its own). */
export function adminAuthOptions<T>(y: Argv<T>): Argv<T> {
  return y
    .option('admin-token-file', {
      type: 'string',
      describe: 'a file holding the admin API bearer token (default $CHRONIK_ADMIN_TOKEN_FILE)',
    })
    .option('admin-ca-file', { type: 'string', describe: 'PEM CA of an https admin API' })
    .option('admin-cert-file', { type: 'string', describe: 'PEM client certificate (mTLS)' })
    .option('admin-key-file', { type: 'string', describe: 'PEM key of the client certificate' }) as Argv<T>;
}

/** The first admin API that answers (any status): its status and JSON body. */
export async function adminCall(
  admins: Admins,
  path: string,
  body?: unknown,
): Promise<{ admin: string; status: number; body: Record<string, unknown> }> {
  let last: unknown = new CliError('ADMIN_API', 'no admin API URL given');
  for (const admin of admins.urls) {
    try {
      const r = await requestJson(
        `${admin}${path}`,
        admins.auth,
        body,
        body === undefined ? ADMIN_READ_TIMEOUT_MS : ADMIN_CHANGE_TIMEOUT_MS,
      );
      return { admin, ...r };
    } catch (e) {
      last = e;
      // An answer that is not JSON is an answer: do not ask the others.
      if (e instanceof CliError) break;
    }
  }
  throw last instanceof CliError
    ? last
    : new CliError('ADMIN_API', `no admin API answered (${admins.urls.join(', ')}): ${errorMessage(last)}`);
}

export function adminAuth(a: Record<string, unknown>, envTokenFile: string | undefined): AdminAuth {
  const read = (option: string, file: unknown): Buffer => {
    try {
      return fs.readFileSync(String(file));
    } catch (e) {
      throw usage(`--${option}: cannot read ${String(file)}: ${errorMessage(e)}`);
    }
  };
  const out: AdminAuth = {};
  const tokenFile = a['admin-token-file'] ?? envTokenFile;
  if (tokenFile !== undefined && tokenFile !== '')
    out.token = read('admin-token-file', tokenFile)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  if (a['admin-ca-file'] !== undefined) out.ca = read('admin-ca-file', a['admin-ca-file']);
  if ((a['admin-cert-file'] === undefined) !== (a['admin-key-file'] === undefined))
    throw usage('--admin-cert-file and --admin-key-file go together');
  if (a['admin-cert-file'] !== undefined) {
    out.cert = read('admin-cert-file', a['admin-cert-file']);
    out.key = read('admin-key-file', a['admin-key-file']);
  }
  return out;
}

/**
 * A JSON route (http or https), with the credentials given: GET, or POST of `body` as JSON; never
 * follows redirects.
 */
export function requestJson(
  url: string,
  auth: AdminAuth,
  body?: unknown,
  timeoutMs = ADMIN_READ_TIMEOUT_MS,
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const options: https.RequestOptions = {
      method: payload === undefined ? 'GET' : 'POST',
      timeout: timeoutMs,
      headers: {
        ...(auth.token === undefined ? {} : { authorization: `Bearer ${auth.token}` }),
        ...(payload === undefined
          ? {}
          : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
      },
      ...(u.protocol === 'https:'
        ? {
            ...(auth.ca !== undefined ? { ca: auth.ca } : {}),
            ...(auth.cert !== undefined ? { cert: auth.cert, key: auth.key } : {}),
          }
        : {}),
    };
    const req = (u.protocol === 'https:' ? https : http).request(u, options, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> });
        } catch {
          reject(
            new CliError(
              'ADMIN_API',
              `${url} answered ${res.statusCode ?? '?'} with something that is not JSON`,
            ),
          );
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}
