// FindCoordinator (key 10), v0–v6. Group keys (key_type 0) map to the leader of partition
// hash(group) mod N of __consumer_offsets, transactional ids (key_type 1) to the leader of partition
// hash(id) mod N of __transaction_state (each topic created on first use; in standalone the leader
// is this node). v4+ batches keys (coordinator_keys) and answers one coordinator per key; v0–v3
// answer the single key at the top level. The coordinator is named at its endpoint of the listener
// the request came in on; one without that listener is COORDINATOR_NOT_AVAILABLE. Authorization:
// DESCRIBE on the group (GROUP_AUTHORIZATION_FAILED) or the transactional id
// (TRANSACTIONAL_ID_AUTHORIZATION_FAILED), per key.
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { KafkaError } from '../errors.js';
import { endpointOn } from '../services/metadata-cache.js';
import { allowed } from './authz.js';
import { errorCodeOf, errorMessageOf } from './errors.js';
import { defineHandler } from './types.js';

export const findCoordinatorHandler = defineHandler({
  apiKey: ApiKey.FindCoordinator,
  minVersion: 0,
  maxVersion: 6,
  uses: ['coordinators'],
  async handle(req, ctx) {
    const { coordinators } = ctx.deps;
    const keyType = ctx.apiVersion >= 1 ? req.keyType : 0;
    const lookup = async (key: string) => {
      if (keyType !== 0 && keyType !== 1) {
        return {
          key,
          nodeId: -1,
          host: '',
          port: -1,
          errorCode: ErrorCode.INVALID_REQUEST,
          errorMessage: `unknown key type ${keyType}`,
        };
      }
      const [resourceType, deniedCode] =
        keyType === 0
          ? (['GROUP', ErrorCode.GROUP_AUTHORIZATION_FAILED] as const)
          : (['TRANSACTIONAL_ID', ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED] as const);
      if (!allowed(ctx, 'DESCRIBE', resourceType, key))
        return {
          key,
          nodeId: -1,
          host: '',
          port: -1,
          errorCode: deniedCode,
          errorMessage:
            resourceType === 'GROUP'
              ? 'Group authorization failed.'
              : 'Transactional Id authorization failed.',
        };
      try {
        const found = await coordinators.findCoordinator(keyType, key);
        const b = endpointOn(found, ctx.conn.security?.listener.name);
        if (b === undefined)
          throw new KafkaError(
            'COORDINATOR_NOT_AVAILABLE',
            `the coordinator, node ${found.nodeId}, has no listener ${ctx.conn.security?.listener.name ?? ''}`,
          );
        return {
          key,
          nodeId: b.nodeId,
          host: b.host,
          port: b.port,
          errorCode: ErrorCode.NONE,
          errorMessage: null,
        };
      } catch (e) {
        return {
          key,
          nodeId: -1,
          host: '',
          port: -1,
          errorCode: errorCodeOf(e),
          errorMessage: errorMessageOf(e),
        };
      }
    };
    if (ctx.apiVersion >= 4) {
      const coordinators = await Promise.all(req.coordinatorKeys.map(lookup));
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        nodeId: 0,
        host: '',
        port: 0,
        coordinators,
      }; // v4+: the top-level fields do not exist and must stay at their defaults
    }
    const c = await lookup(req.key);
    return {
      throttleTimeMs: 0,
      errorCode: c.errorCode,
      errorMessage: ctx.apiVersion >= 1 ? c.errorMessage : null,
      nodeId: c.nodeId,
      host: c.host,
      port: c.port,
      coordinators: [],
    };
  },
});
