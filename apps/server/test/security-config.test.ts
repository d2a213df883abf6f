// The security flags: listeners (Kafka's listeners / advertised.listeners /
// listener.security.protocol.map / inter.broker.listener.name), TLS and SASL settings, and what is
// refused. Without any of them the config is exactly what it was before.
import { parseCommandLine } from '../src/cli.js';
import { effectiveListeners, interBrokerListener } from '../src/security/config.js';

function run(argv: string[]) {
  const r = parseCommandLine(argv);
  if (r.kind !== 'run') throw new Error(`expected a config, got exit ${r.exitCode}: ${r.stderr}`);
  return r.config;
}

function refused(argv: string[]): string {
  const r = parseCommandLine(argv);
  if (r.kind !== 'exit' || r.exitCode !== 2) throw new Error(`expected exit 2 for ${argv.join(' ')}`);
  return r.stderr;
}

test('no security flag: no security config, one PLAINTEXT listener from the old flags', () => {
  const c = run(['--kafka-port', '19092', '--listen-addr', '127.0.0.1', '--advertised-addr', 'b.example']);
  expect(c.security).toBeUndefined();
  expect(effectiveListeners(c)).toEqual([
    {
      name: 'PLAINTEXT',
      securityProtocol: 'PLAINTEXT',
      host: '127.0.0.1',
      port: 19092,
      advertisedHost: 'b.example',
      advertisedPort: 0,
    },
  ]);
});

test('listeners, a protocol map, advertised listeners and the inter-broker listener', () => {
  const c = run([
    '--listeners',
    'internal://:9092,EXTERNAL://10.0.0.5:9093,SSL://[::1]:9094',
    '--listener-security-protocol-map',
    'INTERNAL:PLAINTEXT,EXTERNAL:SASL_SSL',
    '--advertised-listeners',
    'EXTERNAL://kafka.example.com:19093',
    '--advertised-addr',
    'node1.internal',
    '--inter-broker-listener-name',
    'ssl',
    '--ssl-cert-file',
    'c.pem',
    '--ssl-key-file',
    'k.pem',
  ]);
  expect(effectiveListeners(c)).toEqual([
    {
      name: 'INTERNAL',
      securityProtocol: 'PLAINTEXT',
      host: '0.0.0.0',
      port: 9092,
      advertisedHost: 'node1.internal',
      advertisedPort: 9092,
    },
    {
      name: 'EXTERNAL',
      securityProtocol: 'SASL_SSL',
      host: '10.0.0.5',
      port: 9093,
      advertisedHost: 'kafka.example.com',
      advertisedPort: 19093,
    },
    {
      name: 'SSL',
      securityProtocol: 'SSL',
      host: '::1',
      port: 9094,
      advertisedHost: '::1',
      advertisedPort: 9094,
    },
  ]);
  expect(interBrokerListener(c).name).toBe('SSL');
  expect(c.security?.tls).toEqual({
    certFile: 'c.pem',
    keyFile: 'k.pem',
    caFile: undefined,
    clientAuth: 'none',
    handshakeTimeoutMs: 10_000,
  });
  expect(c.security?.sasl.mechanisms).toEqual(['SCRAM-SHA-256', 'SCRAM-SHA-512']);
});

test('SASL settings', () => {
  const c = run([
    '--listeners',
    'SASL_PLAINTEXT://:9092,PLAINTEXT://:9093',
    '--inter-broker-listener-name',
    'PLAINTEXT',
    '--sasl-enabled-mechanisms',
    'plain,SCRAM-SHA-512',
    '--connections-max-reauth-ms',
    '60000',
    '--sasl-bootstrap-user',
    'admin:/run/secrets/admin-password',
  ]);
  expect(c.security?.sasl).toMatchObject({
    mechanisms: ['PLAIN', 'SCRAM-SHA-512'],
    connectionsMaxReauthMs: 60_000,
    bootstrapUser: { name: 'admin', passwordFile: '/run/secrets/admin-password' },
  });
});

test('the authorizer: super users separated by ";" (DNs have commas), allow.everyone.if.no.acl.found off by default', () => {
  const c = run(['--authorizer', 'acl', '--super-users', 'User:admin; User:CN=node1,O=Example ;']);
  expect(c.security?.authorizer).toEqual({
    superUsers: ['User:admin', 'User:CN=node1,O=Example'],
    allowEveryoneIfNoAclFound: false,
  });
  expect(c.security?.listeners).toBeUndefined();
  const open = run(['--authorizer', 'acl', '--allow-everyone-if-no-acl-found', 'true']);
  expect(open.security?.authorizer).toEqual({ superUsers: [], allowEveryoneIfNoAclFound: true });
  expect(run(['--authorizer', 'none']).security?.authorizer).toBeUndefined();
});

test('the admin API: TLS, client certificates, a token file; none given: no adminSecurity', () => {
  expect(run([]).adminSecurity).toBeUndefined();
  const c = run([
    '--admin-tls-cert-file',
    'a.pem',
    '--admin-tls-key-file',
    'a.key',
    '--admin-tls-ca-file',
    'ca.pem',
    '--admin-tls-client-auth',
    'required',
    '--admin-token-file',
    '/run/secrets/admin-token',
  ]);
  expect(c.adminSecurity).toEqual({
    tls: { certFile: 'a.pem', keyFile: 'a.key', caFile: 'ca.pem', clientAuth: 'required' },
    tokenFile: '/run/secrets/admin-token',
  });
  expect(c.security).toBeUndefined();
  expect(run(['--admin-token-file', 't']).adminSecurity).toEqual({ tls: undefined, tokenFile: 't' });
});

test.each([
  [['--admin-tls-cert-file', 'a.pem'], /--admin-tls-cert-file and --admin-tls-key-file go together/],
  [['--admin-tls-client-auth', 'required'], /need --admin-tls-cert-file/],
  [
    ['--admin-tls-cert-file', 'a', '--admin-tls-key-file', 'k', '--admin-tls-client-auth', 'required'],
    /needs --admin-tls-ca-file/,
  ],
  [['--super-users', 'User:admin'], /--super-users needs --authorizer acl/],
  [['--authorizer', 'acl', '--super-users', 'admin'], /Invalid principal/],
  [['--authorizer', 'ranger'], /Invalid values/],
  [['--listeners', 'PLAINTEXT://:9092', '--kafka-port', '9092'], /--kafka-port and --listeners/],
  [['--listeners', 'PLAINTEXT://:9092', '--advertised-addr', 'h:9092'], /--advertised-addr with a port/],
  [['--listeners', 'FOO://:9092'], /FOO has no security protocol/],
  [['--listeners', 'PLAINTEXT://:9092,PLAINTEXT://:9093'], /appears twice/],
  [
    ['--listeners', 'A://:9092,B://:9092', '--listener-security-protocol-map', 'A:PLAINTEXT,B:SSL'],
    /bound twice/,
  ],
  [['--listeners', 'PLAINTEXT://:9092', '--advertised-listeners', 'SSL://h:1'], /not one of --listeners/],
  [['--listeners', 'PLAINTEXT://9092'], /not NAME:\/\/host:port/],
  [['--listener-security-protocol-map', 'A:PLAINTEXT'], /needs --listeners/],
  [['--listeners', 'SSL://:9093'], /needs --ssl-cert-file/],
  [['--listeners', 'SASL_PLAINTEXT://:9092'], /inter-broker listener SASL_PLAINTEXT is SASL_PLAINTEXT/],
  [['--ssl-cert-file', 'c.pem'], /go together/],
  [['--ssl-cert-file', 'c', '--ssl-key-file', 'k', '--ssl-client-auth', 'required'], /needs --ssl-ca-file/],
  [['--sasl-enabled-mechanisms', 'GSSAPI'], /GSSAPI is not one of/],
  [['--sasl-bootstrap-user', 'admin'], /NAME:PASSWORD_FILE/],
])('%j is refused', (argv, message) => {
  expect(refused(argv)).toMatch(message);
});
