// chronik certs create: a CA kept across runs, node certificates named CN=node-<id> and valid for
// the hosts given, client certificates, private key files, and a real mutual-TLS handshake with them.
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { startBroker } from './helpers/broker.js';
import { jsonOf, run } from './helpers/run.js';

interface Written {
  kind: string;
  name: string;
  certFile: string;
  keyFile: string;
  principal: string;
  created: boolean;
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chronik-certs-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('a CA, node and client certificates signed by it, keys private to their owner', async () => {
  const out = jsonOf<Written[]>(
    await run([
      'certs',
      'create',
      '--dir',
      dir,
      '--nodes',
      '1,2',
      '--clients',
      'admin',
      '--hosts',
      'localhost,127.0.0.1,node1.example',
      '--format',
      'json',
    ]),
  );
  expect(out.map((w) => [w.kind, w.name, w.principal, w.created])).toEqual([
    ['ca', 'ca', 'User:CN=Chronik cluster CA,O=Chronik', true],
    ['node', '1', 'User:CN=node-1,O=Chronik', true],
    ['node', '2', 'User:CN=node-2,O=Chronik', true],
    ['client', 'admin', 'User:CN=admin,O=Chronik', true],
  ]);
  const ca = new X509Certificate(fs.readFileSync(path.join(dir, 'ca.pem')));
  expect(ca.ca).toBe(true);
  const node = new X509Certificate(fs.readFileSync(path.join(dir, 'node-1.pem')));
  expect(node.checkIssued(ca)).toBe(true);
  expect(node.verify(ca.publicKey)).toBe(true);
  expect(node.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, DNS:node1.example');
  expect(node.checkHost('node1.example')).toBe('node1.example');
  expect(fs.statSync(path.join(dir, 'node-1.key')).mode & 0o777).toBe(0o600);
  expect(fs.statSync(path.join(dir, 'ca.key')).mode & 0o777).toBe(0o600);
});

test('a second run keeps the CA and existing files, adds new ones; --force replaces a node certificate', async () => {
  const caBefore = fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8');
  const node1Before = fs.readFileSync(path.join(dir, 'node-1.pem'), 'utf8');
  const out = jsonOf<Written[]>(
    await run(['certs', 'create', '--dir', dir, '--nodes', '1,3', '--format', 'json']),
  );
  expect(out.map((w) => [w.name, w.created])).toEqual([
    ['ca', false],
    ['1', false],
    ['3', true],
  ]);
  expect(fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8')).toBe(caBefore);
  expect(fs.readFileSync(path.join(dir, 'node-1.pem'), 'utf8')).toBe(node1Before);
  const forced = jsonOf<Written[]>(
    await run(['certs', 'create', '--dir', dir, '--nodes', '1', '--force', '--format', 'json']),
  );
  expect(forced[1]?.created).toBe(true);
  expect(fs.readFileSync(path.join(dir, 'node-1.pem'), 'utf8')).not.toBe(node1Before);
  expect(fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8')).toBe(caBefore);
});

test('the text answer names the files and the chronik-server flags that use them', async () => {
  const r = await run(['certs', 'create', '--dir', dir, '--nodes', '1,2']);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(`--raft-tls-cert-file ${path.join(dir, 'node-1.pem')}`);
  expect(r.stdout).toContain("--super-users 'User:CN=node-1,O=Chronik;User:CN=node-2,O=Chronik'");
  expect((await run(['certs', 'create', '--dir', dir, '--nodes', 'x'])).code).toBe(2);
});

test('a mutual-TLS handshake: node 2 serves, the admin client presents its certificate', async () => {
  const read = (f: string): Buffer => fs.readFileSync(path.join(dir, f));
  const ca = read('ca.pem');
  const server = tls.createServer({
    cert: read('node-2.pem'),
    key: read('node-2.key'),
    ca,
    requestCert: true,
    rejectUnauthorized: true,
  });
  const peer = new Promise<string>((resolve) =>
    server.on('secureConnection', (s) => {
      resolve(s.getPeerX509Certificate()?.subject ?? '');
      s.end();
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const client = tls.connect({
    host: '127.0.0.1',
    port,
    ca,
    cert: read('client-admin.pem'),
    key: read('client-admin.key'),
  });
  await new Promise<void>((resolve, reject) => {
    client.once('secureConnect', resolve);
    client.once('error', reject);
  });
  expect(client.authorized).toBe(true);
  expect(await peer).toBe('O=Chronik\nCN=admin');
  client.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test('the node certificate serves the admin API over HTTPS; cluster health reaches it with the CA and the token', async () => {
  const tokenFile = path.join(dir, 'admin-token');
  fs.writeFileSync(tokenFile, 'token-of-the-admin-api-42\n', { mode: 0o600 });
  const broker = await startBroker([
    '--admin-tls-cert-file',
    path.join(dir, 'node-1.pem'),
    '--admin-tls-key-file',
    path.join(dir, 'node-1.key'),
    '--admin-token-file',
    tokenFile,
  ]);
  try {
    const admin = broker.adminUrl.replace('http://', 'https://');
    const ca = path.join(dir, 'ca.pem');
    const ok = await run([
      'cluster',
      'health',
      '--admin',
      admin,
      '--admin-ca-file',
      ca,
      '--admin-token-file',
      tokenFile,
      '--format',
      'json',
    ]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({
      healthy: true,
      nodes: [{ status: 'ok', mode: 'standalone' }],
    });
    // Without the token /health still answers, but /v1/cluster (the mode) does not.
    const bare = await run([
      'cluster',
      'health',
      '--admin',
      admin,
      '--admin-ca-file',
      ca,
      '--format',
      'json',
    ]);
    expect(JSON.parse(bare.stdout)).toMatchObject({ nodes: [{ status: 'ok', mode: null }] });
    // Without the CA the certificate is not trusted.
    const untrusted = await run(['cluster', 'health', '--admin', admin, '--format', 'json']);
    expect(untrusted.code).toBe(1);
  } finally {
    await broker.stop();
  }
});
