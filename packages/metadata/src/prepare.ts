import { assignReplicas, chooseStartIndex, rackAlternatedOrder } from './assignment.js';
import type { AssignmentBroker } from './assignment.js';
import {
  alterConfigMap,
  brokerConfigDefinition,
  topicConfigDefinition,
  validateTopicConfig,
} from './configs.js';
import type { ConfigAlteration } from './configs.js';
import { isMetadataError, MetadataError } from './errors.js';
import { METADATA_LIMITS as L } from './limits.js';
import { targetReplicas } from './reassignment.js';
import { isValidTopicId } from './topic-id.js';
import {
  collisionKey,
  CONSUMER_OFFSETS_TOPIC,
  isInternalTopic,
  topicNameProblem,
  TRANSACTION_STATE_TOPIC,
} from './topic-names.js';
import type {
  AlterBrokerConfigsCommand,
  AlterTopicConfigsCommand,
  ConfigEntry,
  CreatePartitionsCommand,
  CreateTopicCommand,
  DeleteTopicCommand,
} from './types.js';
import type { MetadataView } from './view.js';

/**
 * The proposer side: pure functions that validate a request against the proposer's view of the
 * state and build the command to propose (with everything that must not be computed at apply
 * time: topic ids, replica assignments). Apply validates again, because the state may have
 * changed between prepare and commit.
 */
export type PrepareResult<C> =
  { readonly ok: true; readonly command: C } | { readonly ok: false; readonly error: MetadataError };

function attempt<C>(fn: () => C): PrepareResult<C> {
  try {
    return { ok: true, command: fn() };
  } catch (e) {
    if (isMetadataError(e)) return { ok: false, error: e };
    throw e;
  }
}

function fail(code: ConstructorParameters<typeof MetadataError>[0], message: string): never {
  throw new MetadataError(code, message);
}

/** One topic of a CreateTopics request. */
export interface CreateTopicRequest {
  readonly name: string;
  /** -1: the broker default. Must be -1 when `assignments` is given. */
  readonly numPartitions: number;
  /** -1: the broker default. Must be -1 when `assignments` is given. */
  readonly replicationFactor: number;
  /** Explicit replica assignment (partition index → broker ids, leader first); empty or absent: computed. */
  readonly assignments?: readonly { readonly partition: number; readonly brokerIds: readonly number[] }[];
  readonly configs?: readonly { readonly name: string; readonly value: string | null }[];
}

export interface PrepareCreateTopicsOptions {
  /** `num.partitions`: used when a request says -1. */
  readonly defaultPartitions: number;
  /** `default.replication.factor`: used when a request says -1. */
  readonly defaultReplicationFactor: number;
  /** Returns a fresh topic id (use `topicIdFromBytes` on 16 bytes of the proposer's injected randomness). */
  readonly newTopicId: () => string;
  /** Allow the internal topic names (`__consumer_offsets`, …): only the broker itself sets this. */
  readonly allowInternal?: boolean;
  /**
   * Partition replicas one broker may hold (a node-local policy: its file descriptors, memory). A
   * topic that would place more on any broker is refused with POLICY_VIOLATION. Unlimited when
   * absent.
   */
  readonly maxReplicasPerBroker?: number;
}

/** Partition replicas per broker id, over every topic in the view. */
function replicasPerBroker(view: MetadataView): Map<number, number> {
  const counts = new Map<number, number>();
  for (const t of view.topics())
    for (const p of t.partitions) for (const b of p.replicas) counts.set(b, (counts.get(b) ?? 0) + 1);
  return counts;
}

/**
 * Refuses (POLICY_VIOLATION) adding partitions that would put more than `max` replicas on a
 * broker. `adding` is either the explicit replica lists, or a partition count and replication
 * factor the balanced assignment spreads over `brokers` (at most ⌈partitions × rf / brokers⌉ on
 * any one of them). `counts` holds the replicas per broker so far and is updated when it passes.
 */
function checkReplicaBudget(
  counts: Map<number, number>,
  adding: readonly (readonly number[])[] | { partitions: number; rf: number; brokers: readonly number[] },
  max: number | undefined,
): void {
  if (max === undefined) return;
  const added = new Map<number, number>();
  if ('partitions' in adding) {
    const { partitions, rf, brokers } = adding;
    const each = brokers.length === 0 ? 0 : Math.ceil((partitions * rf) / brokers.length);
    for (const b of brokers) added.set(b, each);
  } else {
    for (const replicas of adding) for (const b of replicas) added.set(b, (added.get(b) ?? 0) + 1);
  }
  for (const [b, n] of added) {
    const total = (counts.get(b) ?? 0) + n;
    if (total > max)
      fail(
        'POLICY_VIOLATION',
        `This would place ${total} partition replicas on broker ${b}; a broker holds at most ${max} (its replica budget: the configured maximum within its file descriptor limit)`,
      );
  }
  for (const [b, n] of added) counts.set(b, (counts.get(b) ?? 0) + n);
}

export interface CreateTopicPrepared {
  readonly name: string;
  readonly result: PrepareResult<CreateTopicCommand>;
}

/**
 * Live brokers not being decommissioned, in assignment order, and how many preferred leaders each
 * one holds already.
 */
class LeaderPlanner {
  readonly order: AssignmentBroker[];
  /** Live brokers left out because they are being decommissioned. */
  readonly draining: number;
  private readonly counts: number[];
  private readonly position = new Map<number, number>();

  constructor(view: MetadataView) {
    const drains = new Set(view.drains().map((d) => d.nodeId));
    const live = view.liveBrokers();
    const takers = live.filter((b) => !drains.has(b.brokerId));
    this.draining = live.length - takers.length;
    this.order = rackAlternatedOrder(takers.map((b) => ({ brokerId: b.brokerId, rack: b.rack })));
    this.order.forEach((b, i) => this.position.set(b.brokerId, i));
    this.counts = this.order.map(() => 0);
    for (const topic of view.topics()) for (const p of topic.partitions) this.count(p.replicas);
  }

  count(replicas: readonly number[]): void {
    const leader = replicas[0];
    const i = leader === undefined ? undefined : this.position.get(leader);
    if (i !== undefined) this.counts[i] = (this.counts[i] as number) + 1;
  }

  assign(partitionCount: number, replicationFactor: number): number[][] {
    const startIndex = chooseStartIndex(this.counts, partitionCount);
    const result = assignReplicas({ brokers: this.order, partitionCount, replicationFactor, startIndex });
    for (const replicas of result) this.count(replicas);
    return result;
  }
}

function checkExplicitAssignment(
  view: MetadataView,
  lists: readonly (readonly number[])[],
  replicationFactor: number | null,
  firstPartition: number,
): void {
  const rf = replicationFactor ?? lists[0]?.length ?? 0;
  lists.forEach((replicas, i) => {
    const p = firstPartition + i;
    if (replicas.length === 0) fail('INVALID_REPLICA_ASSIGNMENT', `Partition ${p} has an empty replica list`);
    if (replicas.length !== rf) {
      fail(
        'INVALID_REPLICA_ASSIGNMENT',
        `Partition ${p} has ${replicas.length} replicas; all partitions must have the same number of replicas (${rf})`,
      );
    }
    if (new Set(replicas).size !== replicas.length) {
      fail(
        'INVALID_REPLICA_ASSIGNMENT',
        `Duplicate brokers not allowed in the replica assignment of partition ${p}: ${replicas.join(', ')}`,
      );
    }
    for (const b of replicas) {
      if (!Number.isInteger(b) || view.broker(b) === undefined) {
        fail(
          'INVALID_REPLICA_ASSIGNMENT',
          `The replica assignment of partition ${p} contains broker ${b}, which is not registered`,
        );
      }
    }
  });
}

function checkReplicationFactor(replicationFactor: number, live: number, draining = 0): void {
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1) {
    fail(
      'INVALID_REPLICATION_FACTOR',
      'Replication factor must be larger than 0, or -1 to use the default value.',
    );
  }
  if (replicationFactor > L.maxReplicationFactor)
    fail('INVALID_REPLICATION_FACTOR', `Replication factor ${replicationFactor} is too large`);
  if (replicationFactor > live) {
    fail(
      'INVALID_REPLICATION_FACTOR',
      `Unable to replicate the partition ${replicationFactor} time(s): The target replication factor of ${replicationFactor} cannot be reached because only ${live} broker(s) are registered${draining > 0 ? ` and not being decommissioned (${draining} are)` : ''}.`,
    );
  }
}

function checkPartitionCount(count: number): void {
  if (!Number.isInteger(count) || count < 1)
    fail('INVALID_PARTITIONS', 'Number of partitions was set to an invalid non-positive value.');
  if (count > L.maxPartitionsPerTopic)
    fail(
      'INVALID_PARTITIONS',
      `Number of partitions ${count} exceeds the limit of ${L.maxPartitionsPerTopic}`,
    );
}

/**
 * Validates a CreateTopics request (every topic independently, as Kafka does) and builds one
 * createTopic command per valid topic, with a balanced replica assignment. Topics earlier in the
 * batch count for balance and name collisions of later ones. Validate-only requests use the
 * results without proposing.
 */
export function prepareCreateTopics(
  view: MetadataView,
  requests: readonly CreateTopicRequest[],
  options: PrepareCreateTopicsOptions,
): CreateTopicPrepared[] {
  const nameCounts = new Map<string, number>();
  for (const r of requests) nameCounts.set(r.name, (nameCounts.get(r.name) ?? 0) + 1);
  const planner = new LeaderPlanner(view);
  const replicaCounts =
    options.maxReplicasPerBroker === undefined ? new Map<number, number>() : replicasPerBroker(view);
  const pendingCollisions = new Map<string, string>();
  const pendingIds = new Set<string>();
  let pendingPartitions = 0;
  return requests.map((request) => {
    const result = attempt<CreateTopicCommand>(() => {
      const name = request.name;
      if ((nameCounts.get(name) ?? 0) > 1)
        fail(
          'INVALID_REQUEST',
          `Create topics request from client contains multiple entries for topic ${name}`,
        );
      const problem = topicNameProblem(name);
      if (problem !== null) fail('INVALID_TOPIC_EXCEPTION', problem);
      const internal = isInternalTopic(name);
      if (internal && options.allowInternal !== true)
        fail('INVALID_REQUEST', `Topic name ${name} is reserved for internal use`);
      if (view.topic(name) !== undefined) fail('TOPIC_ALREADY_EXISTS', `Topic '${name}' already exists.`);
      const collides = view.collidingTopic(name) ?? pendingCollisions.get(collisionKey(name));
      if (collides !== undefined)
        fail('INVALID_TOPIC_EXCEPTION', `Topic '${name}' collides with existing topic: ${collides}`);

      let explicitAssignments: number[][] | null = null;
      let partitions: number;
      let rf = 0;
      const explicit = request.assignments ?? [];
      if (explicit.length > 0) {
        if (request.numPartitions !== -1 || request.replicationFactor !== -1) {
          fail(
            'INVALID_REQUEST',
            'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.',
          );
        }
        checkPartitionCount(explicit.length);
        const byPartition = new Map<number, readonly number[]>();
        for (const a of explicit) {
          if (byPartition.has(a.partition))
            fail('INVALID_REPLICA_ASSIGNMENT', `Partition ${a.partition} is assigned twice`);
          byPartition.set(a.partition, a.brokerIds);
        }
        explicitAssignments = [];
        for (let p = 0; p < explicit.length; p++) {
          const replicas = byPartition.get(p);
          if (replicas === undefined)
            fail(
              'INVALID_REPLICA_ASSIGNMENT',
              `Partitions should be a consecutive 0-based integer sequence; partition ${p} is missing`,
            );
          explicitAssignments.push([...replicas]);
        }
        checkExplicitAssignment(view, explicitAssignments, null, 0);
        partitions = explicitAssignments.length;
      } else {
        partitions = request.numPartitions === -1 ? options.defaultPartitions : request.numPartitions;
        checkPartitionCount(partitions);
        rf = request.replicationFactor === -1 ? options.defaultReplicationFactor : request.replicationFactor;
        checkReplicationFactor(rf, planner.order.length, planner.draining);
      }
      if (view.totalPartitionCount() + pendingPartitions + partitions > L.maxTotalPartitions) {
        fail(
          'POLICY_VIOLATION',
          `Creating ${partitions} partitions would exceed the cluster's limit of ${L.maxTotalPartitions} partitions`,
        );
      }
      const budget = new Map(replicaCounts);
      checkReplicaBudget(
        budget,
        explicitAssignments ?? { partitions, rf, brokers: planner.order.map((b) => b.brokerId) },
        options.maxReplicasPerBroker,
      );

      const configs: ConfigEntry[] = [];
      const seen = new Set<string>();
      for (const c of request.configs ?? []) {
        if (seen.has(c.name)) fail('INVALID_REQUEST', `Duplicate config key ${c.name}`);
        seen.add(c.name);
        if (c.value === null) fail('INVALID_CONFIG', `Null value not supported for topic configs: ${c.name}`);
        configs.push({ name: c.name, value: validateTopicConfig(c.name, c.value) });
      }
      const topicId = options.newTopicId();
      if (!isValidTopicId(topicId) || view.topicById(topicId) !== undefined || pendingIds.has(topicId)) {
        fail('INVALID_REQUEST', `The proposer produced an unusable topic id ${topicId}`);
      }
      // Nothing below can fail: only now does the topic count for later topics of the batch.
      let assignments: number[][];
      if (explicitAssignments !== null) {
        assignments = explicitAssignments;
        for (const replicas of assignments) planner.count(replicas);
      } else {
        assignments = planner.assign(partitions, rf);
      }
      for (const [b, n] of budget) replicaCounts.set(b, n);
      pendingCollisions.set(collisionKey(name), name);
      pendingIds.add(topicId);
      pendingPartitions += assignments.length;
      return { type: 'createTopic', name, topicId, assignments, configs, internal };
    });
    return { name: request.name, result };
  });
}

/** One topic of a CreateTopics request, prepared on its own. */
export function prepareCreateTopic(
  view: MetadataView,
  request: CreateTopicRequest,
  options: PrepareCreateTopicsOptions,
): PrepareResult<CreateTopicCommand> {
  return (prepareCreateTopics(view, [request], options)[0] as CreateTopicPrepared).result;
}

export interface InternalTopicOptions {
  /** `offsets.topic.num.partitions` / `transaction.state.log.num.partitions` (Kafka's defaults: 50). */
  readonly partitionCount: number;
  /** `offsets.topic.replication.factor` / `transaction.state.log.replication.factor` (Kafka's defaults: 3); capped at the number of live brokers. */
  readonly replicationFactor: number;
  readonly newTopicId: () => string;
  /** `offsets.topic.segment.bytes` / `transaction.state.log.segment.bytes` (Kafka's defaults: 104857600). */
  readonly segmentBytes?: number;
}

function prepareInternalTopic(
  view: MetadataView,
  name: string,
  compressionType: string,
  options: InternalTopicOptions,
): PrepareResult<CreateTopicCommand> {
  const live = view.liveBrokers().length;
  const rf = Math.max(1, Math.min(options.replicationFactor, live));
  return prepareCreateTopic(
    view,
    {
      name,
      numPartitions: options.partitionCount,
      replicationFactor: rf,
      configs: [
        { name: 'cleanup.policy', value: 'compact' },
        { name: 'compression.type', value: compressionType },
        { name: 'segment.bytes', value: String(options.segmentBytes ?? 104857600) },
      ],
    },
    {
      defaultPartitions: options.partitionCount,
      defaultReplicationFactor: rf,
      newTopicId: options.newTopicId,
      allowInternal: true,
    },
  );
}

/**
 * The createTopic command for `__consumer_offsets` (the broker proposes it when the first group
 * needs a coordinator): compacted, producer compression, the given partition count.
 */
export function prepareConsumerOffsetsTopic(
  view: MetadataView,
  options: InternalTopicOptions,
): PrepareResult<CreateTopicCommand> {
  return prepareInternalTopic(view, CONSUMER_OFFSETS_TOPIC, 'producer', options);
}

/** The createTopic command for `__transaction_state`: compacted, uncompressed, the given partition count. */
export function prepareTransactionStateTopic(
  view: MetadataView,
  options: InternalTopicOptions,
): PrepareResult<CreateTopicCommand> {
  return prepareInternalTopic(view, TRANSACTION_STATE_TOPIC, 'uncompressed', options);
}

/** DeleteTopics for one topic, by name or (DeleteTopics v6+) by id. */
export function prepareDeleteTopic(
  view: MetadataView,
  target: { readonly name: string } | { readonly topicId: string },
  options: { readonly allowInternal?: boolean } = {},
): PrepareResult<DeleteTopicCommand> {
  return attempt(() => {
    const topic = 'name' in target ? view.topic(target.name) : view.topicById(target.topicId);
    if (topic === undefined) {
      if ('name' in target)
        fail('UNKNOWN_TOPIC_OR_PARTITION', `This server does not host this topic: ${target.name}`);
      fail('UNKNOWN_TOPIC_ID', `Unknown topic id ${target.topicId}`);
    }
    if (topic.internal && options.allowInternal !== true)
      fail('INVALID_REQUEST', `Internal topic ${topic.name} cannot be deleted`);
    return { type: 'deleteTopic', name: topic.name, topicId: topic.topicId };
  });
}

/** One topic of a CreatePartitions request. */
export interface CreatePartitionsRequest {
  readonly name: string;
  /** The new total partition count. */
  readonly count: number;
  /** Replicas of each new partition (leader first); null/absent: computed. */
  readonly assignments?: readonly (readonly number[])[] | null;
}

/** CreatePartitions for one topic; computed assignments keep the topic's replication factor. */
export function prepareCreatePartitions(
  view: MetadataView,
  request: CreatePartitionsRequest,
  options: { readonly maxReplicasPerBroker?: number } = {},
): PrepareResult<CreatePartitionsCommand> {
  return attempt(() => {
    const topic = view.topic(request.name);
    if (topic === undefined)
      fail('UNKNOWN_TOPIC_OR_PARTITION', `This server does not host this topic: ${request.name}`);
    const current = topic.partitions.length;
    if (!Number.isInteger(request.count))
      fail('INVALID_PARTITIONS', `Invalid partition count ${request.count}`);
    if (request.count === current) fail('INVALID_PARTITIONS', `Topic already has ${current} partitions.`);
    if (request.count < current)
      fail(
        'INVALID_PARTITIONS',
        `Topic currently has ${current} partitions, which is higher than the requested ${request.count}.`,
      );
    checkPartitionCount(request.count);
    const added = request.count - current;
    if (view.totalPartitionCount() + added > L.maxTotalPartitions) {
      fail(
        'POLICY_VIOLATION',
        `Creating ${added} partitions would exceed the cluster's limit of ${L.maxTotalPartitions} partitions`,
      );
    }
    // The replication factor a reassignment in progress moves partition 0 to (its target).
    const first = topic.partitions[0];
    const rf = first === undefined ? 1 : targetReplicas(first).length;
    let assignments: number[][];
    if (request.assignments !== undefined && request.assignments !== null) {
      if (request.assignments.length !== added) {
        fail(
          'INVALID_REPLICA_ASSIGNMENT',
          `Increasing the number of partitions by ${added} but ${request.assignments.length} assignments provided.`,
        );
      }
      assignments = request.assignments.map((r) => [...r]);
      checkExplicitAssignment(view, assignments, rf, current);
      if (options.maxReplicasPerBroker !== undefined)
        checkReplicaBudget(replicasPerBroker(view), assignments, options.maxReplicasPerBroker);
    } else {
      const planner = new LeaderPlanner(view);
      checkReplicationFactor(rf, planner.order.length, planner.draining);
      if (options.maxReplicasPerBroker !== undefined)
        checkReplicaBudget(
          replicasPerBroker(view),
          { partitions: added, rf, brokers: planner.order.map((b) => b.brokerId) },
          options.maxReplicasPerBroker,
        );
      assignments = planner.assign(added, rf);
    }
    return {
      type: 'createPartitions',
      name: topic.name,
      topicId: topic.topicId,
      expectedCurrentCount: current,
      assignments,
    };
  });
}

/** AlterConfigs (`replace`) or IncrementalAlterConfigs for one topic. */
export function prepareAlterTopicConfigs(
  view: MetadataView,
  request: {
    readonly name: string;
    readonly alterations: readonly ConfigAlteration[];
    readonly replace: boolean;
  },
): PrepareResult<AlterTopicConfigsCommand> {
  return attempt(() => {
    const topic = view.topic(request.name);
    if (topic === undefined)
      fail('UNKNOWN_TOPIC_OR_PARTITION', `This server does not host this topic: ${request.name}`);
    if (request.alterations.length > L.maxConfigAlterations)
      fail('INVALID_REQUEST', `More than ${L.maxConfigAlterations} config changes`);
    alterConfigMap(
      new Map(Object.entries(topic.configs)),
      request.alterations,
      request.replace,
      topicConfigDefinition,
      'topic',
    );
    return {
      type: 'alterTopicConfigs',
      name: topic.name,
      topicId: topic.topicId,
      alterations: request.alterations.map((a) => ({ ...a })),
      replace: request.replace,
    };
  });
}

/** AlterConfigs (`replace`) or IncrementalAlterConfigs for one broker, or (brokerId null) the cluster-wide default. */
export function prepareAlterBrokerConfigs(
  view: MetadataView,
  request: {
    readonly brokerId: number | null;
    readonly alterations: readonly ConfigAlteration[];
    readonly replace: boolean;
  },
): PrepareResult<AlterBrokerConfigsCommand> {
  return attempt(() => {
    if (
      request.brokerId !== null &&
      (!Number.isInteger(request.brokerId) || request.brokerId < 0 || request.brokerId > L.maxInt32)
    ) {
      fail('INVALID_REQUEST', `Invalid broker id ${request.brokerId}`);
    }
    if (request.alterations.length > L.maxConfigAlterations)
      fail('INVALID_REQUEST', `More than ${L.maxConfigAlterations} config changes`);
    alterConfigMap(
      new Map(Object.entries(view.brokerConfigOverrides(request.brokerId))),
      request.alterations,
      request.replace,
      brokerConfigDefinition,
      'broker',
    );
    return {
      type: 'alterBrokerConfigs',
      brokerId: request.brokerId,
      alterations: request.alterations.map((a) => ({ ...a })),
      replace: request.replace,
    };
  });
}
