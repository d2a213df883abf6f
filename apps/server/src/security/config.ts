// The security part of the server's configuration: listeners, TLS, SASL. Everything is off unless
// a flag turns it on: without --listeners the broker has its one PLAINTEXT listener, as before.
import type { ListenerConfig, ListenerEndpoint, SecurityProtocol } from './listeners.js';
import { defaultListener, usesSasl, usesTls } from './listeners.js';

/** The SASL mechanisms this broker implements. */
export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/** Kafka's ssl.client.auth. */
export type ClientAuth = 'none' | 'requested' | 'required';

export interface TlsConfig {
  /** PEM certificate (chain) of this broker (--ssl-cert-file). */
  readonly certFile: string;
  /** PEM private key (--ssl-key-file). */
  readonly keyFile: string;
  /** PEM CA certificates that client certificates must chain to (--ssl-ca-file). */
  readonly caFile: string | undefined;
  /** Whether clients must (required), may (requested) or do not (none) present a certificate. */
  readonly clientAuth: ClientAuth;
  /** A TLS handshake not complete this long after the connection is closed. */
  readonly handshakeTimeoutMs: number;
}

export interface SaslConfig {
  /** sasl.enabled.mechanisms. */
  readonly mechanisms: readonly SaslMechanism[];
  /** connections.max.reauth.ms: 0 = sessions do not expire (and re-authentication is refused). */
  readonly connectionsMaxReauthMs: number;
  /** connection.failed.authentication.delay.ms: the connection closes this long after a failure is answered. */
  readonly failedAuthenticationDelayMs: number;
  /** Failed authentications one remote address may have in a window before its attempts are refused unchecked. */
  readonly maxFailuresPerAddress: number;
  readonly failureWindowMs: number;
  /** A SCRAM user to create at start when it has no credential yet (--sasl-bootstrap-user). */
  readonly bootstrapUser: { readonly name: string; readonly passwordFile: string } | undefined;
}

/** The ACL authorizer (Kafka's authorizer.class.name = StandardAuthorizer): --authorizer acl. */
export interface AuthorizerConfig {
  /** super.users: principals (`User:<name>`) allowed everything whatever the ACLs say. */
  readonly superUsers: readonly string[];
  /** allow.everyone.if.no.acl.found: a resource no ACL applies to is open to everyone (default false). */
  readonly allowEveryoneIfNoAclFound: boolean;
}

export interface SecurityConfig {
  /** Undefined: one PLAINTEXT listener from --listen-addr, --kafka-port and --advertised-addr. */
  readonly listeners: readonly ListenerConfig[] | undefined;
  /** The listener other nodes use to reach this one (default: the first). */
  readonly interBrokerListenerName: string | undefined;
  readonly tls: TlsConfig | undefined;
  readonly sasl: SaslConfig;
  /** Undefined: no authorizer, every request is allowed (as before ACLs existed). */
  readonly authorizer?: AuthorizerConfig | undefined;
}

export const DEFAULT_SASL: SaslConfig = {
  mechanisms: ['SCRAM-SHA-256', 'SCRAM-SHA-512'],
  connectionsMaxReauthMs: 0,
  failedAuthenticationDelayMs: 100,
  maxFailuresPerAddress: 20,
  failureWindowMs: 60_000,
  bootstrapUser: undefined,
};

export const DEFAULT_SECURITY: SecurityConfig = {
  listeners: undefined,
  interBrokerListenerName: undefined,
  tls: undefined,
  sasl: DEFAULT_SASL,
};

/** What the listeners are computed from (the ServerConfig fields; a structural type keeps the import one way). */
export interface ListenerSource {
  readonly listenHost: string;
  readonly kafkaPort: number;
  readonly advertisedHost: string;
  readonly advertisedPort: number;
  readonly security?: SecurityConfig | undefined;
}

/** The node's listeners, in order (the first is the one `--kafka-port` used to be). */
export function effectiveListeners(c: ListenerSource): readonly ListenerConfig[] {
  return c.security?.listeners ?? [defaultListener(c)];
}

/** The listener other nodes reach this one on (its endpoint is the broker's registered host:port). */
export function interBrokerListener(c: ListenerSource): ListenerConfig {
  const listeners = effectiveListeners(c);
  const name = c.security?.interBrokerListenerName;
  return (name === undefined ? listeners[0] : listeners.find((l) => l.name === name)) as ListenerConfig;
}

/** Whether the endpoints are what a broker without --listeners registers (one PLAINTEXT listener). */
export function isDefaultListenerSet(endpoints: readonly ListenerEndpoint[]): boolean {
  const [only, more] = endpoints;
  return more === undefined && only?.name === 'PLAINTEXT' && only.securityProtocol === 'PLAINTEXT';
}

/** Checks the security settings together; returns the problem, or undefined. */
export function securityProblem(c: ListenerSource): string | undefined {
  const s = c.security;
  if (s === undefined) return undefined;
  const listeners = effectiveListeners(c);
  const protocols = new Set<SecurityProtocol>(listeners.map((l) => l.securityProtocol));
  if (s.interBrokerListenerName !== undefined && !listeners.some((l) => l.name === s.interBrokerListenerName))
    return `--inter-broker-listener-name ${s.interBrokerListenerName} is not one of the listeners (${listeners.map((l) => l.name).join(', ')})`;
  const inter = interBrokerListener(c);
  if (usesSasl(inter.securityProtocol))
    return `the inter-broker listener ${inter.name} is ${inter.securityProtocol}: nodes reach each other over PLAINTEXT or SSL (--inter-broker-listener-name)`;
  const tlsListeners = listeners.filter((l) => usesTls(l.securityProtocol));
  if (tlsListeners.length > 0 && s.tls === undefined)
    return `listener ${(tlsListeners[0] as ListenerConfig).name} is ${(tlsListeners[0] as ListenerConfig).securityProtocol}: it needs --ssl-cert-file and --ssl-key-file`;
  if (s.tls !== undefined && s.tls.clientAuth !== 'none' && s.tls.caFile === undefined)
    return `--ssl-client-auth ${s.tls.clientAuth} needs --ssl-ca-file (the CA client certificates must chain to)`;
  if ((protocols.has('SASL_PLAINTEXT') || protocols.has('SASL_SSL')) && s.sasl.mechanisms.length === 0)
    return '--sasl-enabled-mechanisms must name at least one mechanism for a SASL listener';
  return undefined;
}
