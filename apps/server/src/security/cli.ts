// The security flags of the command line (cli.ts adds them to its parser): listeners, TLS, SASL.
// Each has its CHRONIK_* environment equivalent, like every other flag.
import { ServerError, ServerErrorCode } from '../errors.js';
import { principalProblem } from '@chronik/metadata';
import type { AdminSecurityConfig } from './admin.js';
import type { AuthorizerConfig, ClientAuth, SaslMechanism, SecurityConfig } from './config.js';
import { DEFAULT_SASL, SASL_MECHANISMS } from './config.js';
import { ListenerConfigError, parseListeners } from './listeners.js';

function bad(message: string): never {
  throw new ServerError(ServerErrorCode.INVALID_CONFIG, message);
}

function int(name: string, raw: unknown, min: number, max: number): number {
  const s = String(raw).trim();
  if (!/^-?\d+$/.test(s)) bad(`--${name}: "${String(raw)}" is not an integer`);
  const v = Number(s);
  if (!Number.isSafeInteger(v) || v < min || v > max) bad(`--${name}: ${s} is out of range [${min}, ${max}]`);
  return v;
}

/** The yargs options of the security flags. */
export const securityOptions = {
  listeners: {
    type: 'string',
    describe:
      'Kafka listeners, NAME://host:port,... (listeners); e.g. "PLAINTEXT://:9092,SASL_SSL://:9093" [default: PLAINTEXT from --listen-addr and --kafka-port]',
  },
  'advertised-listeners': {
    type: 'string',
    describe:
      'what clients are told per listener, NAME://host:port,... (advertised.listeners) [default: each listener at its host, or --advertised-addr]',
  },
  'listener-security-protocol-map': {
    type: 'string',
    describe:
      'security protocol of each listener name, NAME:PROTOCOL,... (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL; these names map to themselves)',
  },
  'inter-broker-listener-name': {
    type: 'string',
    describe:
      'the listener other nodes reach this one on: PLAINTEXT or SSL (inter.broker.listener.name) [default: the first]',
  },
  'ssl-cert-file': { type: 'string', describe: 'PEM certificate (chain) of the SSL and SASL_SSL listeners' },
  'ssl-key-file': { type: 'string', describe: 'PEM private key of that certificate' },
  'ssl-ca-file': { type: 'string', describe: 'PEM CA certificates client certificates must chain to' },
  'ssl-client-auth': {
    type: 'string',
    choices: ['none', 'requested', 'required'],
    describe: 'client certificates (ssl.client.auth): principal User:<subject DN> [default: none]',
  },
  'ssl-handshake-timeout-ms': {
    type: 'string',
    describe:
      'close a connection whose TLS handshake is not complete this long after it opened [default: 10000]',
  },
  'sasl-enabled-mechanisms': {
    type: 'string',
    describe: `SASL mechanisms of the SASL listeners (${SASL_MECHANISMS.join(', ')}) [default: ${DEFAULT_SASL.mechanisms.join(',')}]`,
  },
  'connections-max-reauth-ms': {
    type: 'string',
    describe: `connections.max.reauth.ms: a SASL session lasts this long, then the client re-authenticates or is disconnected (0 = forever) [default: ${DEFAULT_SASL.connectionsMaxReauthMs}]`,
  },
  'failed-authentication-delay-ms': {
    type: 'string',
    describe: `connection.failed.authentication.delay.ms: close a connection this long after its failed authentication [default: ${DEFAULT_SASL.failedAuthenticationDelayMs}]`,
  },
  'max-authentication-failures-per-address': {
    type: 'string',
    describe: `failed authentications a remote address may have per minute; beyond, its attempts fail unchecked [default: ${DEFAULT_SASL.maxFailuresPerAddress}]`,
  },
  'sasl-bootstrap-user': {
    type: 'string',
    describe:
      'NAME:PASSWORD_FILE: create this SCRAM user (SHA-256 and SHA-512) at start unless it has credentials; the file holds the password',
  },
  authorizer: {
    type: 'string',
    choices: ['none', 'acl'],
    describe:
      'acl: authorize every request by the ACLs in the cluster metadata (Kafka authorizer.class.name=StandardAuthorizer) [default: none]',
  },
  'super-users': {
    type: 'string',
    describe:
      'principals allowed everything, separated by ";" (super.users), e.g. "User:admin;User:CN=node1,O=Example"',
  },
  'allow-everyone-if-no-acl-found': {
    type: 'string',
    choices: ['true', 'false'],
    describe:
      'a resource no ACL applies to is open to everyone (allow.everyone.if.no.acl.found) [default: false]',
  },
} as const;

/** The yargs options of the admin API's security. */
export const adminSecurityOptions = {
  'admin-tls-cert-file': {
    type: 'string',
    describe: 'PEM certificate (chain) of the admin API: it is served over HTTPS (with --admin-tls-key-file)',
  },
  'admin-tls-key-file': { type: 'string', describe: 'PEM private key of that certificate' },
  'admin-tls-ca-file': { type: 'string', describe: "PEM CA the admin clients' certificates must chain to" },
  'admin-tls-client-auth': {
    type: 'string',
    choices: ['none', 'required'],
    describe: 'required: only clients with a certificate of --admin-tls-ca-file (mTLS) [default: none]',
  },
  'admin-token-file': {
    type: 'string',
    describe:
      'a file holding a bearer token (16+ characters) every admin request but a bare /health must carry: "Authorization: Bearer <token>"',
  },
} as const;

/** The admin API's security of the parsed flags; undefined when none is given (plain HTTP, open). */
export function adminSecurityFromArgs(a: Record<string, unknown>): AdminSecurityConfig | undefined {
  if (Object.keys(adminSecurityOptions).every((k) => a[k] === undefined)) return undefined;
  const raw = (k: string): string | undefined => (a[k] === undefined ? undefined : String(a[k]));
  const cert = raw('admin-tls-cert-file');
  const key = raw('admin-tls-key-file');
  if ((cert === undefined) !== (key === undefined))
    bad('--admin-tls-cert-file and --admin-tls-key-file go together');
  const clientAuth = (raw('admin-tls-client-auth') ?? 'none') as 'none' | 'required';
  const caFile = raw('admin-tls-ca-file');
  if (cert === undefined && (caFile !== undefined || raw('admin-tls-client-auth') !== undefined))
    bad(
      '--admin-tls-ca-file and --admin-tls-client-auth need --admin-tls-cert-file and --admin-tls-key-file',
    );
  if (clientAuth === 'required' && caFile === undefined)
    bad('--admin-tls-client-auth required needs --admin-tls-ca-file');
  return {
    tls:
      cert === undefined || key === undefined
        ? undefined
        : { certFile: cert, keyFile: key, caFile, clientAuth },
    tokenFile: raw('admin-token-file'),
  };
}

/** --authorizer, --super-users and --allow-everyone-if-no-acl-found. */
function authorizerFromArgs(a: Record<string, unknown>): AuthorizerConfig | undefined {
  const kind = a['authorizer'] === undefined ? 'none' : String(a['authorizer']);
  if (kind !== 'acl') {
    for (const k of ['super-users', 'allow-everyone-if-no-acl-found'])
      if (a[k] !== undefined) bad(`--${k} needs --authorizer acl`);
    return undefined;
  }
  const superUsers = (a['super-users'] === undefined ? '' : String(a['super-users']))
    .split(';')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  for (const p of superUsers) {
    const problem = principalProblem(p);
    if (problem !== null) bad(`--super-users: ${problem}`);
  }
  return {
    superUsers: [...new Set(superUsers)],
    allowEveryoneIfNoAclFound: String(a['allow-everyone-if-no-acl-found'] ?? 'false') === 'true',
  };
}

/** "host:port" with an explicit port ("[::1]:9092" too). */
function hasPort(raw: string): boolean {
  return /^\[[^\]]*\]:\d+$/.test(raw.trim()) || /^[^:[\]]+:\d+$/.test(raw.trim());
}

/**
 * The security config of the parsed flags; undefined when none is given (the config is then exactly
 * what it was before security existed).
 */
export function securityFromArgs(
  a: Record<string, unknown>,
  context: { kafkaPortGiven: boolean; advertisedAddr: string; advertisedHost: string },
): SecurityConfig | undefined {
  // The security flags have no yargs defaults, so that "none given" is visible.
  if (Object.keys(securityOptions).every((k) => a[k] === undefined)) return undefined;
  const raw = (k: string): string | undefined => (a[k] === undefined ? undefined : String(a[k]));
  let listeners: SecurityConfig['listeners'];
  const listenersFlag = raw('listeners');
  if (listenersFlag !== undefined) {
    if (context.kafkaPortGiven)
      bad('--kafka-port and --listeners cannot both be given: put the port in --listeners');
    if (hasPort(context.advertisedAddr))
      bad('--advertised-addr with a port and --listeners cannot both be given: use --advertised-listeners');
    try {
      listeners = parseListeners({
        listeners: listenersFlag,
        advertisedListeners: raw('advertised-listeners'),
        protocolMap: raw('listener-security-protocol-map'),
        defaultAdvertisedHost: context.advertisedHost,
      });
    } catch (e) {
      if (e instanceof ListenerConfigError) bad(e.message);
      throw e;
    }
  } else {
    for (const k of ['advertised-listeners', 'listener-security-protocol-map', 'inter-broker-listener-name'])
      if (a[k] !== undefined) bad(`--${k} needs --listeners`);
  }
  const cert = raw('ssl-cert-file');
  const key = raw('ssl-key-file');
  if ((cert === undefined) !== (key === undefined)) bad('--ssl-cert-file and --ssl-key-file go together');
  const tls =
    cert === undefined || key === undefined
      ? undefined
      : {
          certFile: cert,
          keyFile: key,
          caFile: raw('ssl-ca-file'),
          clientAuth: (raw('ssl-client-auth') ?? 'none') as ClientAuth,
          handshakeTimeoutMs: int(
            'ssl-handshake-timeout-ms',
            a['ssl-handshake-timeout-ms'] ?? '10000',
            100,
            600_000,
          ),
        };
  if (tls === undefined && (a['ssl-ca-file'] !== undefined || a['ssl-client-auth'] !== undefined))
    bad('--ssl-ca-file and --ssl-client-auth need --ssl-cert-file and --ssl-key-file');
  let mechanisms: readonly SaslMechanism[] = DEFAULT_SASL.mechanisms;
  const mechanismsFlag = raw('sasl-enabled-mechanisms');
  if (mechanismsFlag !== undefined) {
    const list = mechanismsFlag
      .split(',')
      .map((m) => m.trim().toUpperCase())
      .filter((m) => m !== '');
    for (const m of list)
      if (!(SASL_MECHANISMS as readonly string[]).includes(m))
        bad(`--sasl-enabled-mechanisms: ${m} is not one of ${SASL_MECHANISMS.join(', ')}`);
    mechanisms = [...new Set(list)] as SaslMechanism[];
  }
  let bootstrapUser: SecurityConfig['sasl']['bootstrapUser'];
  const bootstrap = raw('sasl-bootstrap-user');
  if (bootstrap !== undefined) {
    const colon = bootstrap.indexOf(':');
    if (colon <= 0 || colon === bootstrap.length - 1)
      bad(
        '--sasl-bootstrap-user: expected NAME:PASSWORD_FILE (the password is read from the file, never given on the command line)',
      );
    bootstrapUser = { name: bootstrap.slice(0, colon), passwordFile: bootstrap.slice(colon + 1) };
  }
  return {
    listeners,
    interBrokerListenerName:
      raw('inter-broker-listener-name') === undefined
        ? undefined
        : String(raw('inter-broker-listener-name')).toUpperCase(),
    tls,
    sasl: {
      mechanisms,
      connectionsMaxReauthMs: int(
        'connections-max-reauth-ms',
        a['connections-max-reauth-ms'] ?? 0,
        0,
        2 ** 31 - 1,
      ),
      failedAuthenticationDelayMs: int(
        'failed-authentication-delay-ms',
        a['failed-authentication-delay-ms'] ?? DEFAULT_SASL.failedAuthenticationDelayMs,
        0,
        60_000,
      ),
      maxFailuresPerAddress: int(
        'max-authentication-failures-per-address',
        a['max-authentication-failures-per-address'] ?? DEFAULT_SASL.maxFailuresPerAddress,
        1,
        1_000_000,
      ),
      failureWindowMs: DEFAULT_SASL.failureWindowMs,
      bootstrapUser,
    },
    authorizer: authorizerFromArgs(a),
  };
}
