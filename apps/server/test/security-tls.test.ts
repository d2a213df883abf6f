// The principal of a TLS client (security/tls.ts): User:<subject DN in RFC 2253 order> for a
// certificate that chains to the CA, User:ANONYMOUS without one.
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { rfc2253, tlsPrincipal } from '../src/security/tls.js';
import { makeTestCerts } from './helpers/certs.js';
import type { TestCerts } from './helpers/certs.js';
import { tempDir } from './helpers/server.js';

let certs: TestCerts;
beforeAll(() => {
  certs = makeTestCerts(tempDir('chronik-certs-'));
});
afterAll(() => fs.rmSync(certs.dir, { recursive: true, force: true }));

/** The principal the server side computes for a client connecting with `options`. */
async function principalOf(options: tls.ConnectionOptions): Promise<string> {
  const server = tls.createServer({
    cert: fs.readFileSync(certs.serverCertFile),
    key: fs.readFileSync(certs.serverKeyFile),
    ca: certs.caPem,
    requestCert: true,
    rejectUnauthorized: false,
  });
  const seen = new Promise<string>((resolve) =>
    server.on('secureConnection', (s: tls.TLSSocket) => resolve(tlsPrincipal(s))),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const client = tls.connect({
    host: '127.0.0.1',
    port,
    ca: certs.caPem,
    servername: 'localhost',
    ...options,
  });
  client.on('error', () => undefined);
  const principal = await seen;
  client.destroy();
  await new Promise((resolve) => server.close(resolve));
  return principal;
}

test('a CA-signed client certificate: User:<subject DN>, most specific first', async () => {
  const c = certs.client('alice');
  expect(await principalOf({ cert: c.certPem, key: c.keyPem })).toBe('User:CN=alice,O=Chronik Tests');
});

test('no certificate, or one the CA did not sign: User:ANONYMOUS', async () => {
  expect(await principalOf({})).toBe('User:ANONYMOUS');
  const s = certs.stranger('mallory');
  expect(await principalOf({ cert: fs.readFileSync(s.certFile), key: fs.readFileSync(s.keyFile) })).toBe(
    'User:ANONYMOUS',
  );
});

test('rfc2253 reverses the RDNs', () => {
  expect(rfc2253('C=US\nO=Example\nOU=eng\nCN=app')).toBe('CN=app,OU=eng,O=Example,C=US');
});
