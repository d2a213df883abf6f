// The admin HTTP API over TLS with a bearer token, and with client certificates (mTLS), on real
// chronik-server processes: routes refused (401, WWW-Authenticate) without the token or with a wrong
// one, a bare /health answered with its status only, failures counted, the token never in an answer
// or a log line (at debug); with --admin-tls-client-auth required a client without a certificate of
// the CA does not get through the handshake; plain HTTP to the TLS port gets nothing.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { makeTestCerts } from './helpers/certs.js';
import type { TestCerts } from './helpers/certs.js';
import type { ServerProcess } from './helpers/server.js';
import { startServer, tempDir } from './helpers/server.js';

jest.setTimeout(120_000);

const TOKEN = 'admin-token-0123456789-abcdef';
let certs: TestCerts;
let tokenServer: ServerProcess;
let mtlsServer: ServerProcess;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function get(
  port: number,
  route: string,
  options: { token?: string; cert?: { certFile: string; keyFile: string }; plain?: boolean } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const common = {
      host: '127.0.0.1',
      port,
      path: route,
      headers: options.token === undefined ? {} : { authorization: `Bearer ${options.token}` },
    };
    const onAnswer = (res: http.IncomingMessage): void => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    };
    const req = options.plain
      ? http.get(common, onAnswer)
      : https.get(
          {
            ...common,
            ca: certs.caPem,
            ...(options.cert === undefined
              ? {}
              : { cert: fs.readFileSync(options.cert.certFile), key: fs.readFileSync(options.cert.keyFile) }),
          },
          onAnswer,
        );
    req.setTimeout(5000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

beforeAll(async () => {
  certs = makeTestCerts(tempDir('chronik-admin-certs-'));
  const tokenFile = path.join(certs.dir, 'admin-token');
  fs.writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  const tlsArgs = [
    '--admin-tls-cert-file',
    certs.serverCertFile,
    '--admin-tls-key-file',
    certs.serverKeyFile,
  ];
  [tokenServer, mtlsServer] = await Promise.all([
    startServer({ args: [...tlsArgs, '--admin-token-file', tokenFile, '--log-level', 'debug'] }),
    startServer({
      args: [...tlsArgs, '--admin-tls-ca-file', certs.caFile, '--admin-tls-client-auth', 'required'],
    }),
  ]);
});

afterAll(async () => {
  for (const s of [tokenServer, mtlsServer]) {
    expect(await s.stop()).toBe(0);
    fs.rmSync(s.dataDir, { recursive: true, force: true });
  }
  fs.rmSync(certs.dir, { recursive: true, force: true });
});

test('HTTPS with a bearer token: 401 without it or with a wrong one, the route with it', async () => {
  const port = tokenServer.adminPort;
  const none = await get(port, '/v1/cluster');
  expect(none.status).toBe(401);
  expect(none.headers['www-authenticate']).toBe('Bearer realm="chronik-admin"');
  const wrong = await get(port, '/v1/partitions', { token: 'not-the-token-0000000' });
  expect(wrong.status).toBe(401);
  expect(wrong.body).not.toContain('not-the-token');
  const ok = await get(port, '/v1/cluster', { token: TOKEN });
  expect(ok.status).toBe(200);
  expect(JSON.parse(ok.body)).toMatchObject({ nodeId: 1, mode: 'standalone' });
  expect(ok.body).not.toContain(TOKEN);
});

test('a bare /health answers its status and node id only; with the token, all of it', async () => {
  const port = tokenServer.adminPort;
  const bare = await get(port, '/health');
  expect(bare.status).toBe(200);
  expect(JSON.parse(bare.body)).toEqual({ status: 'ok', nodeId: 1 });
  expect((await get(port, '/health', { token: TOKEN })).status).toBe(200);
});

test('failures are counted in /metrics; the token is never in a log line, even at debug', async () => {
  await get(tokenServer.adminPort, '/metrics', { token: `${TOKEN}x` });
  const metrics = await get(tokenServer.adminPort, '/metrics', { token: TOKEN });
  const failures = /chronik_admin_authentication_failures_total (\d+)/.exec(metrics.body);
  expect(Number(failures?.[1])).toBeGreaterThanOrEqual(3);
  expect(tokenServer.logs.some((l) => l.includes('admin request without a valid token'))).toBe(true);
  expect(tokenServer.logs.join('\n')).not.toContain(TOKEN);
});

test('plain HTTP to the TLS port gets no answer', async () => {
  await expect(get(tokenServer.adminPort, '/health', { plain: true })).rejects.toThrow();
});

test('mTLS: a client certificate of the CA gets through; without one, or a self-signed one, the handshake fails', async () => {
  const port = mtlsServer.adminPort;
  const ok = await get(port, '/v1/cluster', { cert: certs.client('operator') });
  expect(ok.status).toBe(200);
  await expect(get(port, '/health')).rejects.toThrow();
  await expect(get(port, '/health', { cert: certs.stranger('operator') })).rejects.toThrow();
});
