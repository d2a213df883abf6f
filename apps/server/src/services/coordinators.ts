// FindCoordinator: a consumer group's coordinator is the leader of its `__consumer_offsets`
// partition (abs(javaStringHashCode(group)) % partitions), the topic being created on the first
// lookup. Leaders are named as the metadata cache names them (this node's replicas may know a newer
// leader than the metadata). Transactional ids are answered with this node (transactions are not
// supported yet, InitProducerId refuses them).
import { CONSUMER_OFFSETS_TOPIC, prepareConsumerOffsetsTopic } from '@chronik/metadata';
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

export class Coordinators {
  constructor(private readonly options: CoordinatorsOptions) {}

  /** The broker that coordinates `key` (keyType: CoordinatorKeyType). */
  async findCoordinator(keyType: number, key: string): Promise<BrokerEndpoint> {
    const self = this.options.cache.broker(this.options.nodeId);
    if (self === undefined)
      throw new KafkaError('COORDINATOR_NOT_AVAILABLE', 'this broker is not registered yet');
    if (keyType !== CoordinatorKeyType.GROUP) return self;
    try {
      await this.ensureOffsetsTopic();
    } catch (e) {
      throw new KafkaError(
        'COORDINATOR_NOT_AVAILABLE',
        `creating ${CONSUMER_OFFSETS_TOPIC} failed: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
    const lookup = this.options.store.state.findCoordinator(
      key,
      'group',
      this.options.broker.offsetsTopicNumPartitions,
    );
    const t = this.options.store.state.topic(lookup.topic);
    const info = t?.partitions[lookup.partition];
    const leaderId =
      t !== undefined && info !== undefined ? this.options.cache.leaderOf(t.topicId, info).leaderId : -1;
    const broker = leaderId > 0 ? this.options.cache.broker(leaderId) : undefined;
    if (broker === undefined) {
      if (!lookup.ok) throw toKafkaError(lookup.error);
      throw new KafkaError(
        'COORDINATOR_NOT_AVAILABLE',
        `${lookup.topic}-${lookup.partition} has no available leader`,
      );
    }
    return broker;
  }

  /** Creates `__consumer_offsets` the first time a group needs a coordinator. */
  async ensureOffsetsTopic(): Promise<void> {
    const state = this.options.store.state;
    if (state.topic(CONSUMER_OFFSETS_TOPIC) !== undefined) return;
    const partitions = this.options.broker.offsetsTopicNumPartitions;
    const prepared = prepareConsumerOffsetsTopic(state, {
      partitionCount: partitions,
      replicationFactor: defaultReplicationFactor(
        { ...this.options.broker, defaultReplicationFactorExplicit: false },
        state.liveBrokers().length,
      ),
      newTopicId: () => this.options.newTopicId(),
    });
    if (!prepared.ok) {
      if (prepared.error.code === 'TOPIC_ALREADY_EXISTS') return;
      throw toKafkaError(prepared.error);
    }
    const r = await this.options.store.commit(prepared.command);
    if (!r.ok && r.error.code !== 'TOPIC_ALREADY_EXISTS') throw toKafkaError(r.error);
    await this.options.settled();
    if (r.ok) this.options.logger.info({ partitions }, `created ${CONSUMER_OFFSETS_TOPIC}`);
  }
}
