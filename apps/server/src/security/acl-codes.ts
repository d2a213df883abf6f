// The wire codes of Kafka's ACL enums (ResourceType, PatternType, AclOperation, AclPermissionType:
// the int8 fields of CreateAcls, DescribeAcls, DeleteAcls and the KIP-430 authorized-operations
// bit sets) and the names the metadata stores them by. One table each; `UNKNOWN` (0) is what a
// code this broker does not know maps to, as Kafka's fromCode answers.
import type { AclOperationName, AclPatternType, AclPermission, AclResourceType } from '@chronik/metadata';

export const RESOURCE_TYPE_CODES = {
  UNKNOWN: 0,
  ANY: 1,
  TOPIC: 2,
  GROUP: 3,
  CLUSTER: 4,
  TRANSACTIONAL_ID: 5,
  DELEGATION_TOKEN: 6,
  USER: 7,
} as const satisfies Record<AclResourceType | 'ANY' | 'UNKNOWN', number>;

export const PATTERN_TYPE_CODES = {
  UNKNOWN: 0,
  ANY: 1,
  MATCH: 2,
  LITERAL: 3,
  PREFIXED: 4,
} as const satisfies Record<AclPatternType | 'ANY' | 'MATCH' | 'UNKNOWN', number>;

export const OPERATION_CODES = {
  UNKNOWN: 0,
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
  CREATE_TOKENS: 13,
  DESCRIBE_TOKENS: 14,
} as const satisfies Record<AclOperationName | 'ANY' | 'UNKNOWN', number>;

export const PERMISSION_CODES = {
  UNKNOWN: 0,
  ANY: 1,
  DENY: 2,
  ALLOW: 3,
} as const satisfies Record<AclPermission | 'ANY' | 'UNKNOWN', number>;

/** The name of a code (`UNKNOWN` for one the table lacks). */
export function nameOfCode<T extends Record<string, number>>(table: T, code: number): keyof T & string {
  for (const [name, c] of Object.entries(table)) if (c === code) return name as keyof T & string;
  return 'UNKNOWN' as keyof T & string;
}

/** An operation a request is checked for: every operation but the filter values ALL, ANY, UNKNOWN. */
export type Operation = Exclude<AclOperationName, 'ALL'>;

/**
 * The operations that apply to each resource type (Kafka's AclEntry.supportedOperations): the
 * ones an authorized-operations answer (KIP-430) is made of.
 */
export const SUPPORTED_OPERATIONS: Readonly<Record<AclResourceType, readonly Operation[]>> = {
  TOPIC: ['READ', 'WRITE', 'CREATE', 'DESCRIBE', 'DELETE', 'ALTER', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS'],
  GROUP: ['READ', 'DESCRIBE', 'DELETE'],
  CLUSTER: [
    'CREATE',
    'CLUSTER_ACTION',
    'DESCRIBE_CONFIGS',
    'ALTER_CONFIGS',
    'IDEMPOTENT_WRITE',
    'ALTER',
    'DESCRIBE',
  ],
  TRANSACTIONAL_ID: ['DESCRIBE', 'WRITE'],
  DELEGATION_TOKEN: ['DESCRIBE'],
  USER: ['CREATE_TOKENS', 'DESCRIBE_TOKENS'],
};

/** The KIP-430 bit set of operations: bit n set = the operation of code n. */
export function operationBits(ops: readonly Operation[]): number {
  return ops.reduce((set, op) => set | (1 << OPERATION_CODES[op]), 0);
}
