// Authorized operations (KIP-430) as the bit sets Kafka answers: bit n set = AclOperation code n
// allowed. Chronik has no authorizer, so every operation that applies to the resource type is
// allowed, as Kafka answers without one (AclEntry.supportedOperations). AclOperation codes:
// READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10,
// ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12.

const bits = (...codes: number[]): number => codes.reduce((set, c) => set | (1 << c), 0);

/** What a field holds when the client did not ask (INT32 min). */
export const OPERATIONS_NOT_REQUESTED = -2147483648;
/** READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS (3576). */
export const TOPIC_OPERATIONS = bits(3, 4, 5, 6, 7, 8, 10, 11);
/** CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE (8096). */
export const CLUSTER_OPERATIONS = bits(5, 7, 8, 9, 10, 11, 12);
/** READ, DELETE, DESCRIBE (328). */
export const GROUP_OPERATIONS = bits(3, 6, 8);
