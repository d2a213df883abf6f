// Metadata (key 3), v0–v12. Brokers, controller, cluster id, and topics with partitions, leaders,
// leader epochs (v7+), replicas, ISR and topic ids (v10+). Topics requested by id (v12+) are
// resolved; unknown ids get UNKNOWN_TOPIC_ID. Missing topics are auto-created when the broker has
// auto.create.topics.enable and the request allows it (always before v4), with the broker's default
// partition count and replication factor. v0: an empty topic list means all topics; v1+: null means
// all and an empty list none. Authorized operations, when asked (v8+; the cluster's v8–v10), are
// those the principal may perform (every one without an authorizer; the cluster's 0 without
// DESCRIBE on it). Authorization, as Kafka: all topics lists only those the principal may DESCRIBE;
// a topic asked for by name without DESCRIBE is TOPIC_AUTHORIZATION_FAILED (its existence is not
// disclosed), by id TOPIC_AUTHORIZATION_FAILED with the id and no name; a missing topic is
// auto-created only with CREATE on the cluster or on the topic, else TOPIC_AUTHORIZATION_FAILED.
// The controller named is this broker: every broker takes admin requests and forwards them to the
// metadata leader (services/metadata-cache.ts), as KRaft brokers name a live broker (KIP-590). A
// node whose registration is not applied yet (just started) waits for it, up to 5 s.
// Brokers are named at their endpoint of the listener the request came in on; a broker without that
// listener is left out, and a partition it leads answers LISTENER_NOT_FOUND (v6+; before,
// LEADER_NOT_AVAILABLE), as Kafka answers.
// Cost: each topic's view is built once (for a 2,000-partition topic that is most of the
// request's time: two views cost 3.7 ms, one 1.9 ms); when no topic is to be created the handler
// answers synchronously, so the response is encoded inside the request's dispatch and the
// network layer's turns and request quotas see all of its time.
import type { ApiRequestByKey, ApiResponseByKey } from '@chronik/protocol';
import type { TopicView } from '../services/metadata-cache.js';

import { ApiKey, ErrorCode } from '@chronik/protocol';
import { errorCodeOf, kafkaCode } from './errors.js';
import type { RequestContext } from './types.js';
import { defineHandler } from './types.js';
import { topicNameProblemOf } from './util.js';
import { KafkaError } from '../errors.js';
import { OPERATIONS_NOT_REQUESTED, clusterOperationsOf } from './authorized-operations.js';
import { allowed, allowedNames, clusterAllowed, operationsOf } from './authz.js';
import { isInternalTopic } from '@chronik/metadata';

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

type MetadataRequest = ApiRequestByKey[typeof ApiKey.Metadata];
type MetadataResponse = ApiResponseByKey[typeof ApiKey.Metadata];
type Context = RequestContext<'metadata' | 'topics'>;

export const metadataHandler = defineHandler({
  apiKey: ApiKey.Metadata,
  minVersion: 0,
  maxVersion: 12,
  uses: ['metadata', 'topics'],
  handle(req, ctx) {
    // A node just started answers once its own registration is applied (briefly bounded), so the
    // brokers and controller it names include itself, as a Kafka broker listens only once registered.
    if (!ctx.deps.metadata.registered())
      return ctx.deps.metadata.untilRegistered(REGISTRATION_WAIT_MS).then(() => answer(req, ctx));
    return answer(req, ctx);
  },
});

/** Longest a Metadata request waits for this node's registration before answering what it knows. */
const REGISTRATION_WAIT_MS = 5000;

/** What the principal may see of the topics asked for by name, and which missing ones it may not create. */
interface TopicAccess {
  described: ReadonlySet<string>;
  createDenied: ReadonlySet<string>;
}

function answer(req: MetadataRequest, ctx: Context): MetadataResponse | Promise<MetadataResponse> {
  const { metadata, topics: admin } = ctx.deps;
  const v = ctx.apiVersion;
  const all = req.topics === null || (v === 0 && req.topics.length === 0);
  const allowAuto = v < 4 || req.allowAutoTopicCreation;
  const names =
    all || req.topics === null
      ? []
      : req.topics.map((t) => t.name).filter((n): n is string => n !== null && n !== '');
  const described = allowedNames(ctx, 'DESCRIBE', 'TOPIC', names);
  const createDenied = new Set<string>();
  const access = { described, createDenied };
  if (all || !allowAuto || !admin.autoCreateEnabled()) return metadataResponse(req, ctx, new Map(), access);
  // A name check only: the topic's view is built once, for the response.
  const missing = names.filter(
    (n) => described.has(n) && !metadata.hasTopic(n) && topicNameProblemOf(n) === null,
  );
  const creatable = clusterAllowed(ctx, 'CREATE', true)
    ? missing
    : missing.filter((n) => allowed(ctx, 'CREATE', 'TOPIC', n));
  for (const n of missing) if (!creatable.includes(n)) createDenied.add(n);
  if (creatable.length === 0) return metadataResponse(req, ctx, new Map(), access);
  return admin.autoCreateTopics(creatable).then((created) => {
    const errors = new Map<string, number>();
    for (const [name, err] of created) if (err !== null) errors.set(name, errorCodeOf(err));
    return metadataResponse(req, ctx, errors, access);
  });
}

/** The response, topics that could not be auto-created answered with their `errors`. */
function metadataResponse(
  req: MetadataRequest,
  ctx: Context,
  errors: ReadonlyMap<string, number>,
  access: TopicAccess,
): MetadataResponse {
  const { metadata } = ctx.deps;
  const v = ctx.apiVersion;
  const all = req.topics === null || (v === 0 && req.topics.length === 0);
  const wanted = all || req.topics === null ? [] : req.topics;
  const topicOps = (name: string): number =>
    v >= 8 && req.includeTopicAuthorizedOperations
      ? operationsOf(ctx, 'TOPIC', name)
      : OPERATIONS_NOT_REQUESTED;
  const listener = ctx.conn.security?.listener.name;
  const brokers = metadata.brokersOn(listener);
  // Leaders that are live brokers but have no endpoint on this listener.
  const unreachable = new Set<number>();
  if (listener !== undefined)
    for (const b of metadata.brokers())
      if (!brokers.some((x) => x.nodeId === b.nodeId)) unreachable.add(b.nodeId);
  const noListener = v >= 6 ? ErrorCode.LISTENER_NOT_FOUND : ErrorCode.LEADER_NOT_AVAILABLE;
  const topicEntry = (t: TopicView) => ({
    errorCode: ErrorCode.NONE,
    name: t.name,
    topicId: v >= 10 ? t.topicId : ZERO_UUID,
    isInternal: t.internal,
    partitions: t.partitions.map((p) => ({
      errorCode:
        p.leaderId < 0
          ? ErrorCode.LEADER_NOT_AVAILABLE
          : unreachable.size > 0 && unreachable.has(p.leaderId)
            ? noListener
            : ErrorCode.NONE,
      partitionIndex: p.partition,
      leaderId: p.leaderId,
      leaderEpoch: p.leaderEpoch,
      replicaNodes: [...p.replicas],
      isrNodes: [...p.isr],
      offlineReplicas: [...p.offlineReplicas],
    })),
    topicAuthorizedOperations: topicOps(t.name),
  });
  const errorEntry = (name: string | null, topicId: string, errorCode: number) => ({
    errorCode,
    name,
    topicId,
    isInternal: false,
    partitions: [],
    topicAuthorizedOperations: OPERATIONS_NOT_REQUESTED,
  });
  const denied = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
  const topics = all
    ? metadata
        .topics()
        .filter((t) => allowed(ctx, 'DESCRIBE', 'TOPIC', t.name, true))
        .map(topicEntry)
    : wanted.map((w) => {
        const byName = w.name !== null && w.name !== '';
        if (byName && !access.described.has(w.name as string)) return errorEntry(w.name, ZERO_UUID, denied);
        if (byName && access.createDenied.has(w.name as string))
          return { ...errorEntry(w.name, ZERO_UUID, denied), isInternal: isInternalTopic(w.name as string) };
        const t = byName ? metadata.topic(w.name as string) : metadata.topicById(w.topicId);
        // By id: the id is not secret, the name is.
        if (t && !byName && !allowed(ctx, 'DESCRIBE', 'TOPIC', t.name))
          return errorEntry(null, t.topicId, denied);
        if (t) return topicEntry(t);
        if (w.name === null || w.name === '') return errorEntry(null, w.topicId, ErrorCode.UNKNOWN_TOPIC_ID);
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
    brokers: brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
    clusterId: metadata.clusterId(),
    controllerId: metadata.controllerId(),
    topics,
    clusterAuthorizedOperations:
      v >= 8 && v <= 10 && req.includeClusterAuthorizedOperations
        ? clusterOperationsOf(ctx)
        : OPERATIONS_NOT_REQUESTED,
  };
}
