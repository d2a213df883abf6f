// CreateTopics (key 19), v0–v7. Validates and creates each topic through the cluster (name rules,
// partition count, replication factor against live brokers, explicit assignments, config keys
// and values, with Kafka's error codes and messages). Explicit assignments go to @chronik/metadata
// as listed (partition index and brokers), so a gap or a repeated partition is
// INVALID_REPLICA_ASSIGNMENT; num_partitions and replication_factor must then be -1. validate_only (v1+) checks without creating.
// v5+ answers the partition count, replication factor and the effective configs; v7+ the topic id.
// A created topic is answered once its partitions have leaders, up to timeout_ms (TopicAdmin).
// controller_mutation_rate (KIP-599, mutation-quota.ts): v6+ topics over the quota are
// THROTTLING_QUOTA_EXCEEDED; every version's response carries the throttle time.
// cleanup.policy=compact (and compact,delete) is accepted: the log cleaner compacts the topic.
// Authorization, as Kafka: CREATE on the cluster, or on each topic (TOPIC_AUTHORIZATION_FAILED,
// "Authorization failed."); a created topic's configs, partition count and replication factor are
// answered only with DESCRIBE_CONFIGS on it (else topic_config_error_code TOPIC_AUTHORIZATION_FAILED).
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { allowedNames, clusterAllowed } from './authz.js';
import { errorCodeOf, errorMessageOf } from './errors.js';
import {
  THROTTLING_QUOTA_MESSAGE,
  chargeMutations,
  mutationThrottleMs,
  refundMutations,
} from './mutation-quota.js';
import { defineHandler } from './types.js';

export const createTopicsHandler = defineHandler({
  apiKey: ApiKey.CreateTopics,
  minVersion: 0,
  maxVersion: 7,
  uses: ['topics'],
  async handle(req, ctx) {
    const v = ctx.apiVersion;
    const seen = new Set<string>();
    const duplicates = new Set<string>();
    for (const t of req.topics) (seen.has(t.name) ? duplicates : seen).add(t.name);
    const names = req.topics.map((t) => t.name);
    const creatable = clusterAllowed(ctx, 'CREATE', true)
      ? new Set(names)
      : allowedNames(ctx, 'CREATE', 'TOPIC', names);
    const configsVisible = allowedNames(ctx, 'DESCRIBE_CONFIGS', 'TOPIC', names, true);
    const denied = [...new Set(names.filter((n) => !duplicates.has(n) && !creatable.has(n)))];
    const validateOnly = v >= 1 && req.validateOnly;
    const mutations = (t: (typeof req.topics)[number]): number =>
      validateOnly
        ? 0
        : t.assignments.length > 0
          ? t.assignments.length
          : t.numPartitions > 0
            ? t.numPartitions
            : ctx.deps.config.broker.numPartitions;
    const { admitted: specs, throttled } = chargeMutations(
      ctx,
      req.topics.filter((t) => !duplicates.has(t.name) && creatable.has(t.name)),
      mutations,
      v >= 6,
    );
    const outcomes = await ctx.deps.topics.createTopics(
      specs.map((t) => ({
        name: t.name,
        numPartitions: t.numPartitions,
        replicationFactor: t.replicationFactor,
        assignments: t.assignments.map((a) => ({ partition: a.partitionIndex, brokerIds: a.brokerIds })),
        configs: t.configs.map((c) => ({ name: c.name, value: c.value })),
      })),
      validateOnly,
      req.timeoutMs,
    );
    for (const o of outcomes) {
      const spec = specs.find((t) => t.name === o.name);
      if (o.error !== null && spec !== undefined) refundMutations(ctx, mutations(spec));
    }
    const topics = outcomes.map((o) => {
      const shown = v >= 5 && (o.error !== null || configsVisible.has(o.name));
      return {
        name: o.name,
        topicId: v >= 7 && o.error === null ? o.topicId : '00000000-0000-0000-0000-000000000000',
        errorCode: o.error === null ? ErrorCode.NONE : errorCodeOf(o.error),
        errorMessage: v >= 1 && o.error !== null ? errorMessageOf(o.error) : null,
        topicConfigErrorCode: shown || v < 5 ? ErrorCode.NONE : ErrorCode.TOPIC_AUTHORIZATION_FAILED,
        numPartitions: shown ? o.numPartitions : -1,
        replicationFactor: shown ? o.replicationFactor : -1,
        configs: shown
          ? o.configs.map((c) => ({
              name: c.name,
              value: c.value,
              readOnly: c.readOnly,
              configSource: c.source,
              isSensitive: c.isSensitive,
            }))
          : [],
      };
    });
    for (const name of denied) {
      topics.push({
        name,
        topicId: '00000000-0000-0000-0000-000000000000',
        errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
        errorMessage: v >= 1 ? 'Authorization failed.' : null,
        topicConfigErrorCode: ErrorCode.NONE,
        numPartitions: -1,
        replicationFactor: -1,
        configs: [],
      });
    }
    for (const { name } of throttled) {
      topics.push({
        name,
        topicId: '00000000-0000-0000-0000-000000000000',
        errorCode: ErrorCode.THROTTLING_QUOTA_EXCEEDED,
        errorMessage: THROTTLING_QUOTA_MESSAGE,
        topicConfigErrorCode: ErrorCode.NONE,
        numPartitions: -1,
        replicationFactor: -1,
        configs: [],
      });
    }
    for (const name of duplicates) {
      topics.push({
        name,
        topicId: '00000000-0000-0000-0000-000000000000',
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage:
          v >= 1 ? `Create topics request from client contains multiple entries for topic ${name}` : null,
        topicConfigErrorCode: ErrorCode.NONE,
        numPartitions: -1,
        replicationFactor: -1,
        configs: [],
      });
    }
    return { throttleTimeMs: mutationThrottleMs(ctx), topics };
  },
});
