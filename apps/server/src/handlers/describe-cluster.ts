// DescribeCluster (key 60), v0–v1. Cluster id, controller and brokers. Only the broker endpoint
// type (1) is served; asking for controllers (2, v1+) is UNSUPPORTED_ENDPOINT_TYPE, as a broker
// answers. Authorized operations (asked with include_cluster_authorized_operations) are the cluster
// operations the principal may perform, 0 without DESCRIBE on the cluster (nothing else is
// checked, as in Kafka: brokers are no secret). Brokers are named at their endpoint of the listener the
// request came in on (those without it are left out).
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { OPERATIONS_NOT_REQUESTED, clusterOperationsOf } from './authorized-operations.js';
import { defineHandler } from './types.js';

export const describeClusterHandler = defineHandler({
  apiKey: ApiKey.DescribeCluster,
  minVersion: 0,
  maxVersion: 1,
  uses: ['metadata'],
  handle(req, ctx) {
    const { metadata } = ctx.deps;
    const endpointType = ctx.apiVersion >= 1 ? req.endpointType : 1;
    const base = {
      throttleTimeMs: 0,
      endpointType,
      clusterId: metadata.clusterId(),
      controllerId: metadata.controllerId(),
      clusterAuthorizedOperations: req.includeClusterAuthorizedOperations
        ? clusterOperationsOf(ctx)
        : OPERATIONS_NOT_REQUESTED,
    };
    if (endpointType !== 1) {
      return {
        ...base,
        errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
        errorMessage: 'only broker endpoints are served',
        brokers: [],
      };
    }
    return {
      ...base,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      brokers: metadata
        .brokersOn(ctx.conn.security?.listener.name)
        .map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
    };
  },
});
