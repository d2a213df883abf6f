// ACLs as the metadata stores them (Kafka's AclBinding: a resource pattern and an access control
// entry), their validation, and the filters of DescribeAcls / DeleteAcls (Kafka's AclBindingFilter).
//
// - Names, not wire numbers: the state and its snapshot spell each enum as Kafka's Java enum names
//   it (`TOPIC`, `PREFIXED`, `DESCRIBE_CONFIGS`, `ALLOW`); the server maps the wire codes.
// - A binding is valid as Kafka's controller checks a new one (AclControlManager.validateNewAcl):
//   a concrete resource type, a LITERAL or PREFIXED pattern, a concrete operation and permission,
//   a non-empty resource name; plus a principal of the form `Type:name` (KafkaPrincipal) and a
//   non-empty host. The cluster resource's only name is `kafka-cluster`.
// - A filter matches a binding as Kafka's ResourcePatternFilter and AccessControlEntryFilter do:
//   ANY matches every value, a null name/principal/host every one; the MATCH pattern type matches
//   the patterns that would apply to a resource of that name (the LITERAL name, the LITERAL
//   wildcard `*`, every PREFIXED prefix of it).
// - Pure functions: every replica validates and matches the same way.
import { METADATA_LIMITS as L } from './limits.js';

/** Kafka's ResourceType names that an ACL may name (ANY and UNKNOWN only appear in filters / errors). */
export const ACL_RESOURCE_TYPES = [
  'TOPIC',
  'GROUP',
  'CLUSTER',
  'TRANSACTIONAL_ID',
  'DELEGATION_TOKEN',
  'USER',
] as const;
export type AclResourceType = (typeof ACL_RESOURCE_TYPES)[number];

/** Kafka's PatternType names an ACL may have. */
export const ACL_PATTERN_TYPES = ['LITERAL', 'PREFIXED'] as const;
export type AclPatternType = (typeof ACL_PATTERN_TYPES)[number];

/** Kafka's AclOperation names an ACL may grant or deny (ALL stands for every operation). */
export const ACL_OPERATIONS = [
  'ALL',
  'READ',
  'WRITE',
  'CREATE',
  'DELETE',
  'ALTER',
  'DESCRIBE',
  'CLUSTER_ACTION',
  'DESCRIBE_CONFIGS',
  'ALTER_CONFIGS',
  'IDEMPOTENT_WRITE',
  'CREATE_TOKENS',
  'DESCRIBE_TOKENS',
] as const;
export type AclOperationName = (typeof ACL_OPERATIONS)[number];

export const ACL_PERMISSIONS = ['ALLOW', 'DENY'] as const;
export type AclPermission = (typeof ACL_PERMISSIONS)[number];

/** The name of the cluster resource (Kafka's Resource.CLUSTER_NAME). */
export const CLUSTER_RESOURCE_NAME = 'kafka-cluster';
/** The resource name, host and principal name that match every one. */
export const ACL_WILDCARD = '*';
/** The principal that matches every user. */
export const ACL_WILDCARD_PRINCIPAL = 'User:*';

/** One ACL: `principal` is `permission`ed `operation` from `host` on resources matching the pattern. */
export interface AclBinding {
  readonly resourceType: AclResourceType;
  readonly resourceName: string;
  readonly patternType: AclPatternType;
  /** `Type:name`, e.g. `User:alice` or `User:*`. */
  readonly principal: string;
  /** A client address, or `*` for every one. */
  readonly host: string;
  readonly operation: AclOperationName;
  readonly permission: AclPermission;
}

/** Kafka's AclBindingFilter: which bindings DescribeAcls answers and DeleteAcls removes. */
export interface AclFilter {
  readonly resourceType: AclResourceType | 'ANY';
  /** null: any name. */
  readonly resourceName: string | null;
  readonly patternType: AclPatternType | 'ANY' | 'MATCH';
  /** null: any principal. */
  readonly principal: string | null;
  /** null: any host. */
  readonly host: string | null;
  readonly operation: AclOperationName | 'ANY';
  readonly permission: AclPermission | 'ANY';
}

/** Characters of an ACL's resource name, principal and host. */
const MAX_NAME = L.maxStringLength;

/** Why Kafka's controller refuses a new binding (its message), or null when it is valid. */
export function aclBindingProblem(b: AclBinding): string | null {
  if (!(ACL_RESOURCE_TYPES as readonly string[]).includes(b.resourceType))
    return `Invalid resourceType ${b.resourceType}`;
  if (!(ACL_PATTERN_TYPES as readonly string[]).includes(b.patternType))
    return `Invalid patternType ${b.patternType}`;
  if (!(ACL_OPERATIONS as readonly string[]).includes(b.operation)) return `Invalid operation ${b.operation}`;
  if (!(ACL_PERMISSIONS as readonly string[]).includes(b.permission))
    return `Invalid permissionType ${b.permission}`;
  if (b.resourceName.length === 0) return 'Resource name should not be empty';
  if (b.resourceType === 'CLUSTER' && b.resourceName !== CLUSTER_RESOURCE_NAME)
    return `The only valid name for the CLUSTER resource is ${CLUSTER_RESOURCE_NAME}`;
  if (principalProblem(b.principal) !== null) return principalProblem(b.principal);
  if (b.host.length === 0) return 'Host should not be empty';
  for (const [what, v] of [
    ['resource name', b.resourceName],
    ['principal', b.principal],
    ['host', b.host],
  ] as const)
    if (v.length > MAX_NAME) return `The ${what} is longer than ${MAX_NAME} characters`;
  return null;
}

/** Why a principal is not `Type:name` (Kafka's SecurityUtils.parseKafkaPrincipal), or null. */
export function principalProblem(principal: string): string | null {
  const colon = principal.indexOf(':');
  if (colon <= 0 || colon === principal.length - 1)
    return `Invalid principal ${JSON.stringify(principal)}: expected Type:name, e.g. User:alice`;
  return null;
}

/** Whether the filter matches the binding (Kafka's AclBindingFilter.matches). */
export function aclFilterMatches(f: AclFilter, b: AclBinding): boolean {
  if (f.resourceType !== 'ANY' && f.resourceType !== b.resourceType) return false;
  if (f.patternType !== 'ANY' && f.patternType !== 'MATCH' && f.patternType !== b.patternType) return false;
  if (f.resourceName !== null) {
    if (f.patternType === 'MATCH') {
      const applies =
        b.patternType === 'LITERAL'
          ? b.resourceName === f.resourceName || b.resourceName === ACL_WILDCARD
          : f.resourceName.startsWith(b.resourceName);
      if (!applies) return false;
    } else if (f.resourceName !== b.resourceName) return false;
  }
  if (f.principal !== null && f.principal !== b.principal) return false;
  if (f.host !== null && f.host !== b.host) return false;
  if (f.operation !== 'ANY' && f.operation !== b.operation) return false;
  if (f.permission !== 'ANY' && f.permission !== b.permission) return false;
  return true;
}

/** The identity of a binding (equal bindings, equal keys); also its order in the state and snapshot. */
export function aclKey(b: AclBinding): string {
  return [b.resourceType, b.patternType, b.resourceName, b.principal, b.host, b.operation, b.permission].join(
    '\u0000',
  );
}

/** A frozen binding of exactly the seven fields. */
export function freezeAcl(b: AclBinding): AclBinding {
  return Object.freeze({
    resourceType: b.resourceType,
    resourceName: b.resourceName,
    patternType: b.patternType,
    principal: b.principal,
    host: b.host,
    operation: b.operation,
    permission: b.permission,
  });
}
