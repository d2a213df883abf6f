// Authorized operations (KIP-430) as the bit sets Kafka answers: bit n set = AclOperation code n
// allowed (security/acl-codes.ts). With an authorizer they are the operations of the resource type
// (Kafka's AclEntry.supportedOperations) the request's principal may perform; without one, all of
// them, as Kafka answers without an authorizer. The cluster's set needs DESCRIBE on the cluster,
// else it is 0 (Metadata v8–v10, DescribeCluster), as Kafka answers.
import { clusterAllowed, operationsOf } from './authz.js';
import type { AuthzContext } from './authz.js';
import { CLUSTER_RESOURCE_NAME } from '@chronik/metadata';

/** What a field holds when the client did not ask (INT32 min). */
export const OPERATIONS_NOT_REQUESTED = -2147483648;

/** The cluster's authorized operations for the request: 0 without DESCRIBE on the cluster. */
export function clusterOperationsOf(ctx: AuthzContext): number {
  return clusterAllowed(ctx, 'DESCRIBE') ? operationsOf(ctx, 'CLUSTER', CLUSTER_RESOURCE_NAME) : 0;
}
