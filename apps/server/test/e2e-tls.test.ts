// TLS listeners with real clients: kcat (librdkafka, security.protocol=ssl), kafkajs (ssl) and
// confluent-kafka-python produce and consume over an SSL listener beside a PLAINTEXT one; client
// certificates (ssl.client.auth=required): a CA-signed one is served, none or a stranger's is
// refused; a renewed certificate is served after SIGHUP without a restart. Certificates are made by
// the test (helpers/certs.ts).
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { Kafka, logLevel } from 'kafkajs';
import { makeTestCerts } from './helpers/certs.js';
import type { TestCerts } from './helpers/certs.js';
import { kcat } from './helpers/kcat.js';
import { runPython } from './helpers/python.js';
import type { ServerProcess } from './helpers/server.js';
import { startServer, tempDir } from './helpers/server.js';

jest.setTimeout(120_000);

const PYTHON = path.join(__dirname, 'scripts', 'secure_client.py');
let certs: TestCerts;
let server: ServerProcess;
let strict: ServerProcess;
let sslPort = 0;
let strictPort = 0;

function portOf(s: ServerProcess, name: string): number {
  const l = s.listeners.find((x) => x.name === name);
  if (l === undefined) throw new Error(`no listener ${name}`);
  return l.port;
}

/** The serial number of the certificate a TLS client is shown on `port`. */
function servedSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: certs.caPem, servername: 'localhost' }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.destroy();
      resolve(serial.toLowerCase());
    });
    socket.on('error', reject);
  });
}

beforeAll(async () => {
  certs = makeTestCerts(tempDir('chronik-certs-'));
  const tlsArgs = ['--ssl-cert-file', certs.serverCertFile, '--ssl-key-file', certs.serverKeyFile];
  [server, strict] = await Promise.all([
    startServer({
      args: [
        '--listeners',
        'PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0',
        ...tlsArgs,
        '--ssl-ca-file',
        certs.caFile,
        '--ssl-client-auth',
        'requested',
      ],
    }),
    startServer({
      args: [
        '--listeners',
        'SSL://127.0.0.1:0',
        ...tlsArgs,
        '--ssl-ca-file',
        certs.caFile,
        '--ssl-client-auth',
        'required',
      ],
    }),
  ]);
  sslPort = portOf(server, 'SSL');
  strictPort = portOf(strict, 'SSL');
});
afterAll(async () => {
  expect(await server.stop()).toBe(0);
  expect(await strict.stop()).toBe(0);
  for (const d of [server.dataDir, strict.dataDir, certs.dir]) fs.rmSync(d, { recursive: true, force: true });
});

const sslKcat = (port: number, extra: string[] = []): string[] => [
  '-b',
  `127.0.0.1:${port}`,
  '-X',
  'security.protocol=ssl',
  '-X',
  `ssl.ca.location=${certs.caFile}`,
  ...extra,
];

test('kcat produces and consumes over SSL, and is told the SSL endpoint', async () => {
  const p = await kcat([...sslKcat(sslPort), '-P', '-t', 'tls-kcat'], 'a\nb\nc\n');
  expect(p.stderr).toBe('');
  expect(p.code).toBe(0);
  const c = await kcat([...sslKcat(sslPort), '-C', '-t', 'tls-kcat', '-o', 'beginning', '-e', '-q']);
  expect(c.stdout.split('\n').filter((l) => l !== '')).toEqual(['a', 'b', 'c']);
  const l = await kcat([...sslKcat(sslPort), '-L']);
  expect(l.stdout).toContain(`broker 1 at 127.0.0.1:${sslPort}`);
  // The plaintext listener still serves plaintext clients, and they are told its endpoint.
  const plain = await kcat(['-b', `127.0.0.1:${server.kafkaPort}`, '-L']);
  expect(plain.stdout).toContain(`broker 1 at 127.0.0.1:${server.kafkaPort}`);
});

test('a plaintext client on the SSL listener gets nowhere, and the broker serves on', async () => {
  const r = await kcat(['-b', `127.0.0.1:${sslPort}`, '-L', '-m', '3'], undefined, 20_000);
  expect(r.code).not.toBe(0);
  const ok = await kcat([...sslKcat(sslPort), '-L']);
  expect(ok.code).toBe(0);
});

test('kafkajs over SSL, with and without a client certificate', async () => {
  const client = certs.client('kafkajs-app');
  for (const ssl of [
    { ca: [certs.caPem] },
    { ca: [certs.caPem], cert: client.certPem, key: client.keyPem },
  ]) {
    const kafka = new Kafka({ brokers: [`localhost:${sslPort}`], ssl, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'tls-kafkajs', messages: [{ value: 'over tls' }] });
    await producer.disconnect();
  }
  const admin = new Kafka({
    brokers: [`localhost:${sslPort}`],
    ssl: { ca: [certs.caPem] },
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets('tls-kafkajs');
  await admin.disconnect();
  expect(offsets).toEqual([expect.objectContaining({ partition: 0, high: '2' })]);
});

test('confluent-kafka-python over SSL', async () => {
  const r = await runPython(
    PYTHON,
    [
      `127.0.0.1:${sslPort}`,
      'tls-python',
      JSON.stringify({ 'security.protocol': 'SSL', 'ssl.ca.location': certs.caFile }),
    ],
    60_000,
  );
  expect(r).toEqual({ ok: true, values: ['secure-0', 'secure-1', 'secure-2'] });
});

test('ssl.client.auth=required: a CA-signed client certificate is served; none, or one the CA did not sign, is refused', async () => {
  const client = certs.client('kcat-app');
  const withCert = await kcat([
    ...sslKcat(strictPort, [
      '-X',
      `ssl.certificate.location=${client.certFile}`,
      '-X',
      `ssl.key.location=${client.keyFile}`,
    ]),
    '-L',
  ]);
  expect(withCert.code).toBe(0);
  expect(withCert.stdout).toContain(`broker 1 at 127.0.0.1:${strictPort}`);
  const without = await kcat([...sslKcat(strictPort), '-L', '-m', '3'], undefined, 20_000);
  expect(without.code).not.toBe(0);
  const stranger = certs.stranger('intruder');
  const refused = await kcat(
    [
      ...sslKcat(strictPort, [
        '-X',
        `ssl.certificate.location=${stranger.certFile}`,
        '-X',
        `ssl.key.location=${stranger.keyFile}`,
      ]),
      '-L',
      '-m',
      '3',
    ],
    undefined,
    20_000,
  );
  expect(refused.code).not.toBe(0);
  // Counted.
  const metrics = await (await fetch(`http://127.0.0.1:${strict.adminPort}/metrics`)).text();
  expect(metrics).toMatch(/chronik_tls_handshake_failures_total\{listener="SSL"\} [1-9]/);
});

test('SIGHUP reloads the certificate: new connections get the renewed one, no restart', async () => {
  const before = await servedSerial(sslPort);
  const renewed = certs.renewServer();
  server.proc.kill('SIGHUP');
  const deadline = Date.now() + 10_000;
  let now = before;
  while (now !== renewed && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    now = await servedSerial(sslPort);
  }
  expect(now).toBe(renewed);
  expect(now).not.toBe(before);
  expect(server.logs.some((l) => l.includes('TLS certificates reloaded'))).toBe(true);
  // A bad file keeps the renewed certificate in use.
  fs.writeFileSync(certs.serverKeyFile, 'not a key');
  server.proc.kill('SIGHUP');
  await new Promise((r) => setTimeout(r, 500));
  expect(server.logs.some((l) => l.includes('TLS reload failed'))).toBe(true);
  expect(await servedSerial(sslPort)).toBe(renewed);
  const ok = await kcat([...sslKcat(sslPort), '-L']);
  expect(ok.code).toBe(0);
});
