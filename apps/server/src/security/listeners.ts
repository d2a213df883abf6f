// Kafka listeners: what each one binds, which security protocol it speaks and what clients are told
// to connect to — Kafka's `listeners`, `advertised.listeners`, `listener.security.protocol.map` and
// `inter.broker.listener.name` (docs/design/security.md).
//
// - A listener is `NAME://host:port`. NAME is upper-cased, as Kafka normalises it; its security
//   protocol is the map's entry for it, and without a map each of the four protocol names maps to
//   itself (so `SASL_SSL://:9093` needs no map).
// - An empty bind host binds every address (0.0.0.0). Port 0 binds any free port; an advertised
//   port 0 is then the bound one.
// - A listener without an advertised entry is advertised at its own host when it names one (not a
//   wildcard), else at --advertised-addr's host, and at its port.
// - Without --listeners the broker has one listener, PLAINTEXT, from --listen-addr, --kafka-port
//   and --advertised-addr, exactly as before listeners existed.
import type { SecurityProtocolName } from '@chronik/metadata';
import { SECURITY_PROTOCOLS } from '@chronik/metadata';

export type SecurityProtocol = SecurityProtocolName;

/** One Kafka listener of this node. */
export interface ListenerConfig {
  /** Upper-case, [A-Z0-9_]+. */
  readonly name: string;
  readonly securityProtocol: SecurityProtocol;
  /** Address bound. */
  readonly host: string;
  /** Port bound (0: any free port). */
  readonly port: number;
  /** Host clients are told. */
  readonly advertisedHost: string;
  /** Port clients are told (0: the bound port). */
  readonly advertisedPort: number;
}

/** A listener as it runs: the advertised endpoint with its bound port resolved. */
export interface ListenerEndpoint {
  readonly name: string;
  readonly securityProtocol: SecurityProtocol;
  readonly host: string;
  readonly port: number;
}

/** The listener of a request, as handlers see it: its name and protocol. */
export interface ListenerInfo {
  readonly name: string;
  readonly securityProtocol: SecurityProtocol;
}

/** The name of the single listener of a broker configured without --listeners. */
export const DEFAULT_LISTENER_NAME = 'PLAINTEXT';

export class ListenerConfigError extends Error {
  override readonly name = 'ListenerConfigError';
}

function bad(message: string): never {
  throw new ListenerConfigError(message);
}

export function isSecurityProtocol(s: string): s is SecurityProtocol {
  return (SECURITY_PROTOCOLS as readonly string[]).includes(s);
}

/** Whether the protocol runs TLS (SSL, SASL_SSL). */
export function usesTls(p: SecurityProtocol): boolean {
  return p === 'SSL' || p === 'SASL_SSL';
}

/** Whether clients must authenticate with SASL first (SASL_PLAINTEXT, SASL_SSL). */
export function usesSasl(p: SecurityProtocol): boolean {
  return p === 'SASL_PLAINTEXT' || p === 'SASL_SSL';
}

function listenerName(raw: string, flag: string): string {
  const name = raw.trim().toUpperCase();
  if (!/^[A-Z0-9_]{1,249}$/.test(name)) bad(`${flag}: "${raw}" is not a listener name ([A-Za-z0-9_]+)`);
  return name;
}

/** "INTERNAL:PLAINTEXT,EXTERNAL:SASL_SSL" → name → protocol (the four protocol names map to themselves unless given). */
export function parseProtocolMap(raw: string | undefined): Map<string, SecurityProtocol> {
  const map = new Map<string, SecurityProtocol>(SECURITY_PROTOCOLS.map((p) => [p, p]));
  if (raw === undefined) return map;
  const given = new Set<string>();
  for (const item of raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    const colon = item.indexOf(':');
    if (colon <= 0) bad(`--listener-security-protocol-map: "${item}" is not NAME:PROTOCOL`);
    const name = listenerName(item.slice(0, colon), '--listener-security-protocol-map');
    const protocol = item
      .slice(colon + 1)
      .trim()
      .toUpperCase();
    if (!isSecurityProtocol(protocol))
      bad(
        `--listener-security-protocol-map: "${protocol}" is not a security protocol (${SECURITY_PROTOCOLS.join(', ')})`,
      );
    if (given.has(name)) bad(`--listener-security-protocol-map: ${name} appears twice`);
    given.add(name);
    map.set(name, protocol);
  }
  return map;
}

/** "NAME://host:port" (host may be empty, IPv6 in brackets). */
function parseListenerUrl(item: string, flag: string): { name: string; host: string; port: number } {
  const m = /^([^:/]+):\/\/(\[[^\]]*\]|[^:]*):(\d+)$/.exec(item.trim());
  if (m === null) return bad(`${flag}: "${item}" is not NAME://host:port`);
  const name = listenerName(m[1] as string, flag);
  const rawHost = m[2] as string;
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  const port = Number(m[3]);
  if (!Number.isInteger(port) || port > 65535)
    bad(`${flag}: port ${m[3]} of ${name} is out of range [0, 65535]`);
  return { name, host, port };
}

function parseUrls(raw: string, flag: string): Array<{ name: string; host: string; port: number }> {
  const out: Array<{ name: string; host: string; port: number }> = [];
  for (const item of raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    const l = parseListenerUrl(item, flag);
    if (out.some((o) => o.name === l.name)) bad(`${flag}: listener ${l.name} appears twice`);
    out.push(l);
  }
  return out;
}

const WILDCARDS = new Set(['', '0.0.0.0', '::']);

/**
 * The listeners of --listeners, --advertised-listeners and --listener-security-protocol-map.
 * `defaultAdvertisedHost` is --advertised-addr's host.
 */
export function parseListeners(options: {
  listeners: string;
  advertisedListeners: string | undefined;
  protocolMap: string | undefined;
  defaultAdvertisedHost: string;
}): ListenerConfig[] {
  const protocols = parseProtocolMap(options.protocolMap);
  const bound = parseUrls(options.listeners, '--listeners');
  if (bound.length === 0) bad('--listeners: at least one listener is needed');
  if (bound.length > 16) bad('--listeners: at most 16 listeners');
  const advertised =
    options.advertisedListeners === undefined
      ? []
      : parseUrls(options.advertisedListeners, '--advertised-listeners');
  for (const a of advertised) {
    if (!bound.some((b) => b.name === a.name))
      bad(
        `--advertised-listeners: ${a.name} is not one of --listeners (${bound.map((b) => b.name).join(', ')})`,
      );
    if (WILDCARDS.has(a.host))
      bad(`--advertised-listeners: ${a.name} must name a host clients can reach, not "${a.host}"`);
  }
  const ports = new Set<number>();
  return bound.map((b) => {
    const securityProtocol = protocols.get(b.name);
    if (securityProtocol === undefined)
      bad(
        `--listeners: ${b.name} has no security protocol: name it in --listener-security-protocol-map (e.g. ${b.name}:SASL_SSL) or use a protocol name`,
      );
    if (b.port !== 0) {
      if (ports.has(b.port)) bad(`--listeners: port ${b.port} is bound twice`);
      ports.add(b.port);
    }
    const a = advertised.find((x) => x.name === b.name);
    return {
      name: b.name,
      securityProtocol,
      host: b.host === '' ? '0.0.0.0' : b.host,
      port: b.port,
      advertisedHost: a?.host ?? (WILDCARDS.has(b.host) ? options.defaultAdvertisedHost : b.host),
      advertisedPort: a?.port ?? b.port,
    };
  });
}

/** The listener a broker configured without --listeners has: PLAINTEXT from the old flags. */
export function defaultListener(c: {
  listenHost: string;
  kafkaPort: number;
  advertisedHost: string;
  advertisedPort: number;
}): ListenerConfig {
  return {
    name: DEFAULT_LISTENER_NAME,
    securityProtocol: 'PLAINTEXT',
    host: c.listenHost,
    port: c.kafkaPort,
    advertisedHost: c.advertisedHost,
    // As before listeners: an advertised port equal to the Kafka port (or 0) follows the bound port.
    advertisedPort: c.advertisedPort === c.kafkaPort ? 0 : c.advertisedPort,
  };
}
