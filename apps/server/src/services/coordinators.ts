// FindCoordinator: a consumer group's coordinator is the leader of its `__consumer_offsets`
// partition, a transactional id's the leader of its `__transaction_state` partition
// (abs(javaStringHashCode(key)) % partitions, Kafka's rule), the topic being created on the first
// lookup. Leaders are named as the metadata cache names them (this node's replicas may know a newer
// leader than the metadata).
import {
  CONSUMER_OFFSETS_TOPIC,
  TRANSACTION_STATE_TOPIC,
  prepareConsumerOffsetsTopic,
  prepareTransactionStateTopic,
} from '@chronik/metadata';
import type { CoordinatorKeyType as LookupKind, InternalTopicOptions } from '@chronik/metadata';
import { KafkaError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { BrokerEndpoint, MetadataCache } from './metadata-cache.js';
import type { MetadataStore } from './metadata-store.js';
import { toKafkaError } from '../error-map.js';
import { defaultReplicationFactor } from './topic-admin.js';
import type { BrokerDefaults } from '../config.js';

export const CoordinatorKeyType = { GROUP: 0, TRANSACTION: 1 } as const;

export interface CoordinatorsOptions {
  store: MetadataStore;
  cache: MetadataCache;
  nodeId: number;
  broker: BrokerDefaults;
  /** Resolves once this node's replicas follow the metadata applied so far. */
  settled(): Promise<void>;
  newTopicId(): string;
  logger: Logger;
}

interface InternalTopic {
  name: string;
  kind: LookupKind;
  partitions: number;
  prepare: typeof prepareConsumerOffsetsTopic;
}

export class Coordinators {
  private readonly offsets: InternalTopic;
  private readonly transactions: InternalTopic;

  constructor(private readonly options: CoordinatorsOptions) {
    this.offsets = {
      name: CONSUMER_OFFSETS_TOPIC,
      kind: 'group',
      partitions: options.broker.offsetsTopicNumPartitions,
      prepare: prepareConsumerOffsetsTopic,
    };
    this.transactions = {
      name: TRANSACTION_STATE_TOPIC,
      kind: 'transaction',
      partitions: options.broker.transactionStateNumPartitions,
      prepare: prepareTransactionStateTopic,
    };
  }

  private topicOf(keyType: number): InternalTopic {
    return keyType === CoordinatorKeyType.TRANSACTION ? this.transactions : this.offsets;
  }

  /** The broker that coordinates `key` (keyType: CoordinatorKeyType), creating its topic on first use. */
  async findCoordinator(keyType: number, key: string): Promise<BrokerEndpoint> {
    const self = this.options.cache.broker(this.options.nodeId);
    if (self === undefined)
      throw new KafkaError('COORDINATOR_NOT_AVAILABLE', 'this broker is not registered yet');
    const internal = this.topicOf(keyType);
    try {
      await this.ensureTopic(internal);
    } catch (e) {
      throw new KafkaError(
        'COORDINATOR_NOT_AVAILABLE',
        `creating ${internal.name} failed: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
    const lookup = this.options.store.state.findCoordinator(key, internal.kind, internal.partitions);
    const leaderId = this.coordinatorId(keyType, key);
    const broker = leaderId >= 0 ? this.options.cache.broker(leaderId) : undefined;
    if (broker === undefined) {
      if (!lookup.ok) throw toKafkaError(lookup.error);
      throw new KafkaError(
        'COORDINATOR_NOT_AVAILABLE',
        `${lookup.topic}-${lookup.partition} has no available leader`,
      );
    }
    return broker;
  }

  /**
   * The node leading the coordinator partition of `key` as clients are told it, without creating
   * anything; -1 when the topic does not exist or the partition has no leader.
   */
  coordinatorId(keyType: number, key: string): number {
    const internal = this.topicOf(keyType);
    const lookup = this.options.store.state.findCoordinator(key, internal.kind, internal.partitions);
    const t = this.options.store.state.topic(lookup.topic);
    const info = t?.partitions[lookup.partition];
    return t !== undefined && info !== undefined ? this.options.cache.leaderOf(t.topicId, info).leaderId : -1;
  }

  /** Creates `__consumer_offsets` the first time a group needs a coordinator. */
  ensureOffsetsTopic(): Promise<void> {
    return this.ensureTopic(this.offsets);
  }

  /** Creates `__transaction_state` the first time a transactional id needs a coordinator. */
  ensureTransactionStateTopic(): Promise<void> {
    return this.ensureTopic(this.transactions);
  }

  private async ensureTopic(internal: InternalTopic): Promise<void> {
    const state = this.options.store.state;
    if (state.topic(internal.name) !== undefined) return;
    const prepared = internal.prepare(state, {
      partitionCount: internal.partitions,
      replicationFactor: defaultReplicationFactor(
        { ...this.options.broker, defaultReplicationFactorExplicit: false },
        state.liveBrokers().length,
      ),
      newTopicId: () => this.options.newTopicId(),
    } satisfies InternalTopicOptions);
    if (!prepared.ok) {
      if (prepared.error.code === 'TOPIC_ALREADY_EXISTS') return;
      throw toKafkaError(prepared.error);
    }
    const r = await this.options.store.commit(prepared.command);
    if (!r.ok && r.error.code !== 'TOPIC_ALREADY_EXISTS') throw toKafkaError(r.error);
    await this.options.settled();
    if (r.ok) this.options.logger.info({ partitions: internal.partitions }, `created ${internal.name}`);
  }
}
