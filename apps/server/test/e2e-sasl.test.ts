// SASL with real clients: kcat (librdkafka), kafkajs and confluent-kafka-python with PLAIN,
// SCRAM-SHA-256 and SCRAM-SHA-512 over SASL_PLAINTEXT and SASL_SSL. The first user comes from
// --sasl-bootstrap-user; others are made with AlterUserScramCredentials (kafkajs has no admin call
// for it: raw requests). Wrong password, unknown user, a mechanism not enabled and a client that
// skips authentication are refused, counted, and the broker serves others meanwhile.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { Kafka, logLevel } from 'kafkajs';
import type { SASLOptions } from 'kafkajs';
import { makeTestCerts } from './helpers/certs.js';
import type { TestCerts } from './helpers/certs.js';
import { kcat } from './helpers/kcat.js';
import { runPython } from './helpers/python.js';
import { RawClient } from './helpers/raw-client.js';
import type { ServerProcess } from './helpers/server.js';
import { startServer, tempDir } from './helpers/server.js';

jest.setTimeout(120_000);

const PYTHON = path.join(__dirname, 'scripts', 'secure_client.py');
const ADMIN_PASSWORD = 'admin-secret-Ünïcode';
let certs: TestCerts;
let server: ServerProcess;
let port: (name: string) => number;

beforeAll(async () => {
  certs = makeTestCerts(tempDir('chronik-certs-'));
  const passwordFile = path.join(certs.dir, 'admin-password');
  fs.writeFileSync(passwordFile, `${ADMIN_PASSWORD}\n`);
  server = await startServer({
    args: [
      '--listeners',
      'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0',
      '--inter-broker-listener-name',
      'PLAINTEXT',
      '--ssl-cert-file',
      certs.serverCertFile,
      '--ssl-key-file',
      certs.serverKeyFile,
      '--sasl-enabled-mechanisms',
      'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
      '--sasl-bootstrap-user',
      `admin:${passwordFile}`,
      '--failed-authentication-delay-ms',
      '10',
      '--max-authentication-failures-per-address',
      '1000',
    ],
  });
  port = (name) => {
    const l = server.listeners.find((x) => x.name === name);
    if (l === undefined) throw new Error(`no listener ${name}`);
    return l.port;
  };
});
afterAll(async () => {
  expect(await server.stop()).toBe(0);
  for (const d of [server.dataDir, certs.dir]) fs.rmSync(d, { recursive: true, force: true });
});

const kcatSasl = (
  listener: 'SASL_PLAINTEXT' | 'SASL_SSL',
  mechanism: string,
  user: string,
  password: string,
): string[] => [
  '-b',
  `127.0.0.1:${port(listener)}`,
  '-X',
  `security.protocol=${listener.toLowerCase()}`,
  '-X',
  `sasl.mechanisms=${mechanism}`,
  '-X',
  `sasl.username=${user}`,
  '-X',
  `sasl.password=${password}`,
  ...(listener === 'SASL_SSL' ? ['-X', `ssl.ca.location=${certs.caFile}`] : []),
];

/** Creates a SCRAM user over the PLAINTEXT listener (AlterUserScramCredentials v0, as kafka-configs does). */
async function createUser(user: string, password: string, mechanism: 1 | 2): Promise<number> {
  const client = await RawClient.connect(server.kafkaPort);
  const salt = randomBytes(24);
  const hash = mechanism === 1 ? 'sha256' : 'sha512';
  const salted = pbkdf2Sync(password, salt, 4096, mechanism === 1 ? 32 : 64, hash);
  const r = await client.request(ApiKey.AlterUserScramCredentials, 0, {
    deletions: [],
    upsertions: [{ name: user, mechanism, iterations: 4096, salt, saltedPassword: salted }],
  });
  client.close();
  return r.results[0]?.errorCode ?? -2;
}

describe('kcat (librdkafka)', () => {
  test.each([
    ['SASL_PLAINTEXT', 'SCRAM-SHA-256'],
    ['SASL_PLAINTEXT', 'SCRAM-SHA-512'],
    ['SASL_PLAINTEXT', 'PLAIN'],
    ['SASL_SSL', 'SCRAM-SHA-512'],
    ['SASL_SSL', 'PLAIN'],
  ] as const)('%s %s: the bootstrap user produces and consumes', async (listener, mechanism) => {
    const topic = `sasl-${listener}-${mechanism}`.toLowerCase();
    const args = kcatSasl(listener, mechanism, 'admin', ADMIN_PASSWORD);
    const p = await kcat([...args, '-P', '-t', topic], 'x\ny\n');
    expect(p.stderr).toBe('');
    expect(p.code).toBe(0);
    const c = await kcat([...args, '-C', '-t', topic, '-o', 'beginning', '-e', '-q']);
    expect(c.stdout.split('\n').filter((l) => l !== '')).toEqual(['x', 'y']);
  });

  test.each([
    ['SCRAM-SHA-256', 'admin', 'wrong'],
    ['SCRAM-SHA-512', 'nobody', 'whatever'],
    ['PLAIN', 'admin', 'wrong'],
    ['PLAIN', 'nobody', 'whatever'],
  ])('%s as %s with a wrong password: SASL authentication failed', async (mechanism, user, password) => {
    const r = await kcat(
      [...kcatSasl('SASL_PLAINTEXT', mechanism, user, password), '-L', '-m', '3'],
      undefined,
      20_000,
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/SASL authentication (error|failed)|Authentication failed/i);
    expect(r.stderr).not.toContain(password === 'wrong' ? ADMIN_PASSWORD : '\u0000');
  });
});

describe('kafkajs', () => {
  const kafkaFor = (sasl: SASLOptions, ssl: boolean): Kafka =>
    new Kafka({
      brokers: [`localhost:${port(ssl ? 'SASL_SSL' : 'SASL_PLAINTEXT')}`],
      sasl,
      ...(ssl ? { ssl: { ca: [certs.caPem] } } : {}),
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });

  test('a user made with AlterUserScramCredentials authenticates with scram-sha-256 and scram-sha-512, over SASL_SSL too', async () => {
    expect(await createUser('alice', 'alice-pw', 1)).toBe(ErrorCode.NONE);
    expect(await createUser('bob', 'bob-pw', 2)).toBe(ErrorCode.NONE);
    for (const [sasl, ssl] of [
      [{ mechanism: 'scram-sha-256', username: 'alice', password: 'alice-pw' }, false],
      [{ mechanism: 'scram-sha-512', username: 'bob', password: 'bob-pw' }, true],
      [{ mechanism: 'plain', username: 'alice', password: 'alice-pw' }, true],
    ] as const) {
      const producer = kafkaFor(sasl, ssl).producer();
      await producer.connect();
      await producer.send({ topic: 'sasl-kafkajs', messages: [{ value: sasl.mechanism }] });
      await producer.disconnect();
    }
  });

  test('a wrong password is SASL_AUTHENTICATION_FAILED; a mechanism not held by the user too', async () => {
    const wrong = kafkaFor(
      { mechanism: 'scram-sha-256', username: 'alice', password: 'nope' },
      false,
    ).producer();
    await expect(wrong.connect()).rejects.toMatchObject({ name: 'KafkaJSSASLAuthenticationError' });
    // bob has only SCRAM-SHA-512 credentials.
    const other = kafkaFor(
      { mechanism: 'scram-sha-256', username: 'bob', password: 'bob-pw' },
      false,
    ).producer();
    await expect(other.connect()).rejects.toThrow(
      'Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256',
    );
  });
});

test('confluent-kafka-python: SCRAM-SHA-512 over SASL_SSL works; a wrong password fails', async () => {
  const settings = (password: string): string =>
    JSON.stringify({
      'security.protocol': 'SASL_SSL',
      'ssl.ca.location': certs.caFile,
      'sasl.mechanisms': 'SCRAM-SHA-512',
      'sasl.username': 'admin',
      'sasl.password': password,
    });
  const ok = await runPython(
    PYTHON,
    [`127.0.0.1:${port('SASL_SSL')}`, 'sasl-python', settings(ADMIN_PASSWORD)],
    60_000,
  );
  expect(ok).toEqual({ ok: true, values: ['secure-0', 'secure-1', 'secure-2'] });
  const bad = await runPython(
    PYTHON,
    [`127.0.0.1:${port('SASL_SSL')}`, 'sasl-python', settings('wrong')],
    60_000,
  );
  expect(bad).toMatchObject({ ok: false, error: '_AUTHENTICATION' });
});

describe('raw requests on the SASL listener', () => {
  test('before authentication only ApiVersions and the SASL APIs: a Produce or Metadata closes the connection', async () => {
    const client = await RawClient.connect(port('SASL_PLAINTEXT'));
    const versions = await client.request(ApiKey.ApiVersions, 3, {
      clientSoftwareName: 'raw',
      clientSoftwareVersion: '1',
    });
    expect(versions.errorCode).toBe(ErrorCode.NONE);
    expect(versions.apiKeys.some((k) => k.apiKey === ApiKey.SaslAuthenticate)).toBe(true);
    await expect(
      client.request(ApiKey.Metadata, 12, {
        topics: null,
        allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      }),
    ).rejects.toThrow();
    client.close();
  });

  test('a mechanism not enabled: UNSUPPORTED_SASL_MECHANISM with the enabled ones', async () => {
    const client = await RawClient.connect(port('SASL_PLAINTEXT'));
    const r = await client.request(ApiKey.SaslHandshake, 1, { mechanism: 'GSSAPI' });
    expect(r.errorCode).toBe(ErrorCode.UNSUPPORTED_SASL_MECHANISM);
    expect(r.mechanisms).toEqual(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']);
    client.close();
  });

  test('PLAIN with SaslAuthenticate, then requests are served; SaslHandshake on a PLAINTEXT listener is ILLEGAL_SASL_STATE', async () => {
    const client = await RawClient.connect(port('SASL_PLAINTEXT'));
    expect((await client.request(ApiKey.SaslHandshake, 1, { mechanism: 'PLAIN' })).errorCode).toBe(
      ErrorCode.NONE,
    );
    const auth = await client.request(ApiKey.SaslAuthenticate, 2, {
      authBytes: Buffer.from(`\0admin\0${ADMIN_PASSWORD}`, 'utf8'),
    });
    expect(auth.errorCode).toBe(ErrorCode.NONE);
    expect(auth.sessionLifetimeMs).toBe(0n);
    const md = await client.request(ApiKey.Metadata, 12, {
      topics: null,
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    expect(md.brokers).toEqual([expect.objectContaining({ nodeId: 1, port: port('SASL_PLAINTEXT') })]);
    client.close();
    const plain = await RawClient.connect(server.kafkaPort);
    expect((await plain.request(ApiKey.SaslHandshake, 1, { mechanism: 'PLAIN' })).errorCode).toBe(
      ErrorCode.ILLEGAL_SASL_STATE,
    );
    plain.close();
  });

  test('SCRAM by hand: the server signature proves the server knows the credential; a replayed proof fails', async () => {
    const client = await RawClient.connect(port('SASL_PLAINTEXT'));
    await client.request(ApiKey.SaslHandshake, 1, { mechanism: 'SCRAM-SHA-256' });
    const clientNonce = randomBytes(18).toString('base64');
    const bare = `n=admin,r=${clientNonce}`;
    const first = await client.request(ApiKey.SaslAuthenticate, 2, { authBytes: Buffer.from(`n,,${bare}`) });
    const serverFirst = first.authBytes.toString();
    const fields = Object.fromEntries(serverFirst.split(',').map((f) => [f[0], f.slice(2)]));
    expect(fields['r']?.startsWith(clientNonce)).toBe(true);
    const salted = pbkdf2Sync(
      ADMIN_PASSWORD,
      Buffer.from(fields['s'] as string, 'base64'),
      Number(fields['i']),
      32,
      'sha256',
    );
    const clientKey = createHmac('sha256', salted).update('Client Key').digest();
    const storedKey = createHash('sha256').update(clientKey).digest();
    const withoutProof = `c=biws,r=${fields['r']}`;
    const authMessage = `${bare},${serverFirst},${withoutProof}`;
    const signature = createHmac('sha256', storedKey).update(authMessage).digest();
    const proof = Buffer.from(clientKey.map((b, i) => b ^ (signature[i] as number)));
    const final = await client.request(ApiKey.SaslAuthenticate, 2, {
      authBytes: Buffer.from(`${withoutProof},p=${proof.toString('base64')}`),
    });
    expect(final.errorCode).toBe(ErrorCode.NONE);
    const serverKey = createHmac('sha256', salted).update('Server Key').digest();
    expect(final.authBytes.toString()).toBe(
      `v=${createHmac('sha256', serverKey).update(authMessage).digest('base64')}`,
    );
    client.close();
    // The same proof on a new exchange (a new server nonce) fails.
    const again = await RawClient.connect(port('SASL_PLAINTEXT'));
    await again.request(ApiKey.SaslHandshake, 1, { mechanism: 'SCRAM-SHA-256' });
    await again.request(ApiKey.SaslAuthenticate, 2, { authBytes: Buffer.from(`n,,${bare}`) });
    const replay = await again.request(ApiKey.SaslAuthenticate, 2, {
      authBytes: Buffer.from(`${withoutProof},p=${proof.toString('base64')}`),
    });
    expect(replay.errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
    expect(replay.errorMessage).toBe(
      'Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256',
    );
    again.close();
  });

  test('DescribeUserScramCredentials names mechanisms and iterations, never keys', async () => {
    const client = await RawClient.connect(server.kafkaPort);
    const r = await client.request(ApiKey.DescribeUserScramCredentials, 0, {
      users: [{ name: 'admin' }, { name: 'ghost' }],
    });
    expect(r.results).toEqual([
      {
        user: 'admin',
        errorCode: 0,
        errorMessage: null,
        credentialInfos: [
          { mechanism: 1, iterations: 8192 },
          { mechanism: 2, iterations: 8192 },
        ],
      },
      expect.objectContaining({ user: 'ghost', errorCode: ErrorCode.RESOURCE_NOT_FOUND }),
    ]);
    client.close();
  });
});

test('failures are counted in /metrics; no password appears in the logs', async () => {
  const metrics = await (await fetch(`http://127.0.0.1:${server.adminPort}/metrics`)).text();
  expect(metrics).toMatch(
    /chronik_sasl_authentications_total\{listener="SASL_PLAINTEXT",mechanism="SCRAM-SHA-256",outcome="failed"\} [1-9]/,
  );
  expect(metrics).toMatch(
    /chronik_sasl_authentications_total\{listener="SASL_SSL",mechanism="SCRAM-SHA-512",outcome="ok"\} [1-9]/,
  );
  const logs = server.logs.join('\n');
  for (const secret of [ADMIN_PASSWORD, 'alice-pw', 'bob-pw']) expect(logs).not.toContain(secret);
});
