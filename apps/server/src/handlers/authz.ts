// What handlers ask the authorizer (security/authorizer.ts): whether the request's principal, from
// its client's address, may perform an operation on a resource — the checks Kafka's KafkaApis makes
// per API (docs/design/security.md, "Which operation each API checks"). Without --authorizer every
// answer is yes and the authorized-operations sets are every operation of the resource type.
//
// - The principal is the connection's (`User:ANONYMOUS` on PLAINTEXT and on SSL without a client
//   certificate, `User:<subject DN>` with one, `User:<name>` after SASL); the host is the client's
//   IP address as Kafka writes it (an IPv4 address mapped into IPv6 is written as IPv4).
// - A denial is counted (`chronik_authorization_denied_total{operation,resource_type}`) and logged
//   at debug, unless the check only filters what is listed (Metadata for every topic, ListGroups):
//   Kafka's logIfDenied.
import type { AclResourceType } from '@chronik/metadata';
import { CLUSTER_RESOURCE_NAME } from '@chronik/metadata';
import { ErrorCode } from '@chronik/protocol';
import type { Logger } from '../logger.js';
import type { ServerMetrics } from '../metrics.js';
import type { ConnectionInfo } from '../net/connection.js';
import type { Operation } from '../security/acl-codes.js';
import type { Authorizer, Requester } from '../security/authorizer.js';
import { ANONYMOUS } from '../security/session.js';

export type { Operation } from '../security/acl-codes.js';

/** What of a request context the checks read (every RequestContext has it). */
export interface AuthzContext {
  readonly conn: ConnectionInfo;
  readonly deps: {
    readonly authorizer: Authorizer;
    readonly logger: Logger;
    readonly metrics: ServerMetrics;
  };
}

/** The client's IP address as Kafka names hosts in ACLs. */
export function hostOf(conn: ConnectionInfo): string {
  const i = conn.remoteAddress.lastIndexOf(':');
  const ip = i > 0 ? conn.remoteAddress.slice(0, i) : conn.remoteAddress;
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice('::ffff:'.length) : ip;
}

export function requesterOf(conn: ConnectionInfo): Requester {
  return { principal: conn.security?.principal ?? ANONYMOUS, host: hostOf(conn) };
}

/**
 * Whether the request may perform `op` on the resource. `quiet`: a filter of what is listed, not
 * a request for this resource (a denial is not counted or logged).
 */
export function allowed(
  ctx: AuthzContext,
  op: Operation,
  type: AclResourceType,
  name: string,
  quiet = false,
): boolean {
  const { authorizer } = ctx.deps;
  if (!authorizer.enabled) return true;
  const who = requesterOf(ctx.conn);
  if (authorizer.allows(who, op, type, name)) return true;
  if (!quiet) {
    ctx.deps.metrics.authorizationDenials.inc({ operation: op, resource_type: type });
    ctx.deps.logger.debug(
      { principal: who.principal, host: who.host, operation: op, resourceType: type, resource: name },
      'authorization denied',
    );
  }
  return false;
}

/** Whether the request may perform `op` on the cluster. */
export function clusterAllowed(ctx: AuthzContext, op: Operation, quiet = false): boolean {
  return allowed(ctx, op, 'CLUSTER', CLUSTER_RESOURCE_NAME, quiet);
}

/** Whether the request may perform `op` on some resource of the type (Kafka's authorizeByResourceType). */
export function allowedOnAny(ctx: AuthzContext, op: Operation, type: AclResourceType): boolean {
  const { authorizer } = ctx.deps;
  return !authorizer.enabled || authorizer.allowsAny(requesterOf(ctx.conn), op, type);
}

/** The names among `names` the request may perform `op` on (each asked once). */
export function allowedNames(
  ctx: AuthzContext,
  op: Operation,
  type: AclResourceType,
  names: Iterable<string>,
  quiet = false,
): Set<string> {
  const out = new Set<string>();
  const denied = new Set<string>();
  for (const name of names) {
    if (out.has(name) || denied.has(name)) continue;
    (allowed(ctx, op, type, name, quiet) ? out : denied).add(name);
  }
  return out;
}

/** The KIP-430 bit set of the operations the request's principal may perform on the resource. */
export function operationsOf(ctx: AuthzContext, type: AclResourceType, name: string): number {
  return ctx.deps.authorizer.operations(requesterOf(ctx.conn), type, name);
}

/** Kafka's ConfigResource types whose configs are authorized on the cluster / on the topic. */
const CONFIG_RESOURCE_TOPIC = 2;
const CONFIG_RESOURCE_BROKER = 4;
const CONFIG_RESOURCE_BROKER_LOGGER = 8;

/**
 * Whether the request may perform `op` (DESCRIBE_CONFIGS, ALTER_CONFIGS) on a config resource:
 * undefined when allowed (or a type authorization does not cover, left to the service), else the
 * error code Kafka answers — TOPIC_AUTHORIZATION_FAILED for a topic, CLUSTER_AUTHORIZATION_FAILED
 * for a broker (its configs are the cluster's to see and change).
 */
export function configRefusal(
  ctx: AuthzContext,
  op: 'DESCRIBE_CONFIGS' | 'ALTER_CONFIGS',
  resourceType: number,
  resourceName: string,
): number | undefined {
  if (resourceType === CONFIG_RESOURCE_TOPIC)
    return allowed(ctx, op, 'TOPIC', resourceName) ? undefined : ErrorCode.TOPIC_AUTHORIZATION_FAILED;
  if (resourceType === CONFIG_RESOURCE_BROKER || resourceType === CONFIG_RESOURCE_BROKER_LOGGER)
    return clusterAllowed(ctx, op) ? undefined : ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
  return undefined;
}
