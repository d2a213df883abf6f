// The authorizer: whether a principal, from a host, may perform an operation on a resource, decided
// from the ACLs in the replicated metadata as Kafka's StandardAuthorizer decides it
// (docs/design/security.md, "ACLs").
//
// - Off (no --authorizer): `ALLOW_EVERYTHING` allows every operation and answers every operation
//   of a resource type as authorized (KIP-430), as a Kafka broker without an authorizer does.
// - Super users (--super-users, super.users) may do everything, whatever the ACLs say.
// - The ACLs that apply to a resource are the LITERAL ones naming it, the LITERAL wildcard `*`,
//   and every PREFIXED one whose prefix starts its name. Of those, one whose principal is the
//   request's or `User:*`, whose host is the client's address or `*`, and whose operation is the
//   one asked or ALL decides: any DENY denies (deny over allow); else any ALLOW allows. An ALLOW of
//   READ, WRITE, DELETE or ALTER also allows DESCRIBE, and an ALLOW of ALTER_CONFIGS also allows
//   DESCRIBE_CONFIGS (a DENY implies nothing).
// - No ACL applies to the resource at all (whatever its principal or operation): allowed only with
//   --allow-everyone-if-no-acl-found (allow.everyone.if.no.acl.found, default false).
// - `allowsAny` is Kafka's authorizeByResourceType (KIP-679: an idempotent producer needs
//   IDEMPOTENT_WRITE on the cluster or WRITE on some topic): allowed when some ALLOW of the principal
//   names a topic pattern that no DENY of it covers.
// - The ACLs are read from the metadata on every decision through `acls()`, whose array keeps its
//   identity until they change: the index over them, and a bounded cache of decisions, are rebuilt
//   when it changes. A decision is a few map lookups; Produce asks once per topic per request.
import type { AclBinding, AclOperationName, AclResourceType } from '@chronik/metadata';
import { ACL_WILDCARD, ACL_WILDCARD_PRINCIPAL } from '@chronik/metadata';
import type { Operation } from './acl-codes.js';
import { SUPPORTED_OPERATIONS, operationBits } from './acl-codes.js';
import type { AuthorizerConfig } from './config.js';

/** Who asks: the connection's principal (`User:<name>`) and the client's address. */
export interface Requester {
  readonly principal: string;
  readonly host: string;
}

export interface Authorizer {
  /** Whether an authorizer is configured (without one every request is allowed). */
  readonly enabled: boolean;
  allows(who: Requester, op: Operation, type: AclResourceType, name: string): boolean;
  /** Whether `op` is allowed on at least one resource of the type (Kafka's authorizeByResourceType). */
  allowsAny(who: Requester, op: Operation, type: AclResourceType): boolean;
  /** The KIP-430 bit set of the resource type's operations `who` may perform on the resource. */
  operations(who: Requester, type: AclResourceType, name: string): number;
}

/** Without an authorizer: everything is allowed. */
export const ALLOW_EVERYTHING: Authorizer = {
  enabled: false,
  allows: () => true,
  allowsAny: () => true,
  operations: (_who, type) => operationBits(SUPPORTED_OPERATIONS[type]),
};

/** Decisions remembered between ACL changes (then forgotten all at once). */
const MAX_CACHED_DECISIONS = 10_000;

/** An ALLOW of these also allows DESCRIBE; of ALTER_CONFIGS, DESCRIBE_CONFIGS. */
const IMPLIES_DESCRIBE: ReadonlySet<AclOperationName> = new Set([
  'DESCRIBE',
  'READ',
  'WRITE',
  'DELETE',
  'ALTER',
]);
const IMPLIES_DESCRIBE_CONFIGS: ReadonlySet<AclOperationName> = new Set([
  'DESCRIBE_CONFIGS',
  'ALTER_CONFIGS',
]);

/** The ACLs of one resource type, indexed by how they apply to a name. */
interface TypeIndex {
  /** LITERAL ACLs by name (the wildcard under `*`). */
  literal: Map<string, AclBinding[]>;
  /** PREFIXED ACLs by prefix length, then prefix. */
  prefixed: Map<number, Map<string, AclBinding[]>>;
  /** Every ACL of the type (for allowsAny). */
  all: AclBinding[];
}

function push<K>(map: Map<K, AclBinding[]>, key: K, b: AclBinding): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [b]);
  else list.push(b);
}

function indexOf(acls: readonly AclBinding[]): Map<AclResourceType, TypeIndex> {
  const out = new Map<AclResourceType, TypeIndex>();
  for (const b of acls) {
    let t = out.get(b.resourceType);
    if (t === undefined) {
      t = { literal: new Map(), prefixed: new Map(), all: [] };
      out.set(b.resourceType, t);
    }
    t.all.push(b);
    if (b.patternType === 'LITERAL') push(t.literal, b.resourceName, b);
    else {
      let byPrefix = t.prefixed.get(b.resourceName.length);
      if (byPrefix === undefined) {
        byPrefix = new Map();
        t.prefixed.set(b.resourceName.length, byPrefix);
      }
      push(byPrefix, b.resourceName, b);
    }
  }
  return out;
}

/** Whether an ACL's entry applies to the request (resource already matched). */
function entryApplies(b: AclBinding, who: Requester, op: Operation): boolean {
  if (b.principal !== who.principal && b.principal !== ACL_WILDCARD_PRINCIPAL) return false;
  if (b.host !== ACL_WILDCARD && b.host !== who.host) return false;
  if (b.operation === 'ALL' || b.operation === op) return true;
  if (b.permission !== 'ALLOW') return false;
  if (op === 'DESCRIBE') return IMPLIES_DESCRIBE.has(b.operation);
  if (op === 'DESCRIBE_CONFIGS') return IMPLIES_DESCRIBE_CONFIGS.has(b.operation);
  return false;
}

export class AclAuthorizer implements Authorizer {
  readonly enabled = true;
  private readonly superUsers: ReadonlySet<string>;
  private indexedAcls: readonly AclBinding[] | undefined;
  private index = new Map<AclResourceType, TypeIndex>();
  private readonly decisions = new Map<string, boolean>();

  constructor(
    private readonly config: AuthorizerConfig,
    /** The current ACLs (the metadata's `acls()`: the same array until they change). */
    private readonly acls: () => readonly AclBinding[],
  ) {
    this.superUsers = new Set(config.superUsers);
  }

  allows(who: Requester, op: Operation, type: AclResourceType, name: string): boolean {
    if (this.superUsers.has(who.principal)) return true;
    const index = this.current();
    const key = `${who.principal}\u0000${who.host}\u0000${op}\u0000${type}\u0000${name}`;
    const cached = this.decisions.get(key);
    if (cached !== undefined) return cached;
    const decision = this.decide(index.get(type), who, op, name);
    if (this.decisions.size >= MAX_CACHED_DECISIONS) this.decisions.clear();
    this.decisions.set(key, decision);
    return decision;
  }

  allowsAny(who: Requester, op: Operation, type: AclResourceType): boolean {
    // A name no ACL is likely to mention: super users, and a type without ACLs under
    // allow.everyone.if.no.acl.found, are allowed here (Kafka's hard-coded probe).
    if (this.allows(who, op, type, 'hardcode')) return true;
    const t = this.current().get(type);
    if (t === undefined) return false;
    const applies = (b: AclBinding): boolean =>
      (b.principal === who.principal || b.principal === ACL_WILDCARD_PRINCIPAL) &&
      (b.host === ACL_WILDCARD || b.host === who.host) &&
      (b.operation === op || b.operation === 'ALL');
    const denyLiteral = new Set<string>();
    const denyPrefixed = new Set<string>();
    const allowLiteral: string[] = [];
    const allowPrefixed: string[] = [];
    for (const b of t.all) {
      if (!applies(b)) continue;
      const literal = b.patternType === 'LITERAL';
      if (b.permission === 'DENY') {
        if (literal && b.resourceName === ACL_WILDCARD) return false;
        (literal ? denyLiteral : denyPrefixed).add(b.resourceName);
      } else {
        if (literal && b.resourceName === ACL_WILDCARD) return true;
        (literal ? allowLiteral : allowPrefixed).push(b.resourceName);
      }
    }
    const deniedByPrefix = (name: string): boolean => {
      for (let i = 1; i <= name.length; i++) if (denyPrefixed.has(name.slice(0, i))) return true;
      return false;
    };
    return (
      allowLiteral.some((n) => !denyLiteral.has(n) && !deniedByPrefix(n)) ||
      allowPrefixed.some((n) => !deniedByPrefix(n))
    );
  }

  operations(who: Requester, type: AclResourceType, name: string): number {
    return operationBits(SUPPORTED_OPERATIONS[type].filter((op) => this.allows(who, op, type, name)));
  }

  /** The index of the current ACLs (rebuilt, and the decisions forgotten, when they changed). */
  private current(): Map<AclResourceType, TypeIndex> {
    const acls = this.acls();
    if (acls !== this.indexedAcls) {
      this.indexedAcls = acls;
      this.index = indexOf(acls);
      this.decisions.clear();
    }
    return this.index;
  }

  private decide(t: TypeIndex | undefined, who: Requester, op: Operation, name: string): boolean {
    if (t === undefined) return this.config.allowEveryoneIfNoAclFound;
    const lists: Array<readonly AclBinding[] | undefined> = [t.literal.get(name)];
    if (name !== ACL_WILDCARD) lists.push(t.literal.get(ACL_WILDCARD));
    for (const [length, byPrefix] of t.prefixed)
      if (length <= name.length) lists.push(byPrefix.get(name.slice(0, length)));
    const found = { any: false, allowed: false };
    for (const list of lists) {
      if (list === undefined) continue;
      found.any = true;
      for (const b of list) {
        if (!entryApplies(b, who, op)) continue;
        if (b.permission === 'DENY') return false;
        found.allowed = true;
      }
    }
    return found.allowed || (!found.any && this.config.allowEveryoneIfNoAclFound);
  }
}

/** The authorizer of the configuration: ACLs when configured, else everything allowed. */
export function authorizerOf(
  config: AuthorizerConfig | undefined,
  acls: () => readonly AclBinding[],
): Authorizer {
  return config === undefined ? ALLOW_EVERYTHING : new AclAuthorizer(config, acls);
}
