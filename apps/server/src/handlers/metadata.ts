// Metadata (key 3), v0–v12. Brokers, controller, cluster id, and topics with partitions, leaders,
// leader epochs (v7+), replicas, ISR and topic ids (v10+). Topics requested by id (v12+) are
// resolved; unknown ids get UNKNOWN_TOPIC_ID. Missing topics are auto-created when the broker has
// auto.create.topics.enable and the request allows it (always before v4), with the broker's default
// partition count and replication factor. v0: an empty topic list means all topics; v1+: null means
// all and an empty list none. Authorized operations are not computed (left at "not requested").
// The controller named is this broker: every broker takes admin requests and forwards them to the
// metadata leader (services/metadata-cache.ts), as KRaft brokers name a live broker (KIP-590).
import type { TopicView } from '../services/metadata-cache.js';

import { ApiKey, ErrorCode } from '@chronik/protocol';
import { errorCodeOf, kafkaCode } from './errors.js';
import { defineHandler } from './types.js';
import { topicNameProblemOf } from './util.js';
import { KafkaError } from '../errors.js';

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

export const metadataHandler = defineHandler({
  apiKey: ApiKey.Metadata,
  minVersion: 0,
  maxVersion: 12,
  uses: ['metadata', 'topics'],
  async handle(req, ctx) {
    const { metadata, topics: admin } = ctx.deps;
    const v = ctx.apiVersion;
    const all = req.topics === null || (v === 0 && req.topics.length === 0);
    const errors = new Map<string, number>();
    let wanted: Array<{ name: string | null; topicId: string }> = [];
    if (!all && req.topics !== null) wanted = req.topics.map((t) => ({ name: t.name, topicId: t.topicId }));
    const allowAuto = v < 4 || req.allowAutoTopicCreation;
    if (!all && allowAuto && admin.autoCreateEnabled()) {
      const missing = wanted
        .map((t) => t.name)
        .filter(
          (n): n is string =>
            n !== null && n !== '' && metadata.topic(n) === undefined && topicNameProblemOf(n) === null,
        );
      if (missing.length > 0) {
        const created = await admin.autoCreateTopics(missing);
        for (const [name, err] of created) if (err !== null) errors.set(name, errorCodeOf(err));
      }
    }
    const topicEntry = (t: TopicView) => ({
      errorCode: ErrorCode.NONE,
      name: t.name,
      topicId: v >= 10 ? t.topicId : ZERO_UUID,
      isInternal: t.internal,
      partitions: t.partitions.map((p) => ({
        errorCode: p.leaderId < 0 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
        partitionIndex: p.partition,
        leaderId: p.leaderId,
        leaderEpoch: p.leaderEpoch,
        replicaNodes: [...p.replicas],
        isrNodes: [...p.isr],
        offlineReplicas: [...p.offlineReplicas],
      })),
      topicAuthorizedOperations: -2147483648,
    });
    const errorEntry = (name: string | null, topicId: string, errorCode: number) => ({
      errorCode,
      name,
      topicId,
      isInternal: false,
      partitions: [],
      topicAuthorizedOperations: -2147483648,
    });
    const topics = all
      ? metadata.topics().map(topicEntry)
      : wanted.map((w) => {
          const t = w.name !== null && w.name !== '' ? metadata.topic(w.name) : metadata.topicById(w.topicId);
          if (t) return topicEntry(t);
          if (w.name === null || w.name === '')
            return errorEntry(null, w.topicId, ErrorCode.UNKNOWN_TOPIC_ID);
          const problem = topicNameProblemOf(w.name);
          if (problem !== null) return errorEntry(w.name, ZERO_UUID, ErrorCode.INVALID_TOPIC_EXCEPTION);
          return errorEntry(
            w.name,
            ZERO_UUID,
            errors.get(w.name) ?? kafkaCode(new KafkaError('UNKNOWN_TOPIC_OR_PARTITION').code),
          );
        });
    return {
      throttleTimeMs: 0,
      brokers: metadata
        .brokers()
        .map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
      clusterId: metadata.clusterId(),
      controllerId: metadata.controllerId(),
      topics,
      clusterAuthorizedOperations: -2147483648,
    };
  },
});
