import {
  ConfigSource,
  DYNAMIC_BROKER_CONFIG_NAMES,
  TOPIC_CONFIGS,
  brokerConfigDefinition,
} from './configs.js';
import type { ConfigDescription, ConfigSynonym, TopicConfigDefinition } from './configs.js';
import { coordinatorPartition } from './coordinator.js';
import { MetadataError } from './errors.js';
import { CONSUMER_OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC } from './topic-names.js';
import type { BrokerInfo } from './types.js';
import type { MetadataView } from './view.js';

export interface DescribeConfigsOptions {
  /** The node answering: its per-broker dynamic overrides (DYNAMIC_BROKER_CONFIG) apply. */
  readonly brokerId?: number;
  /** The node's static configuration (STATIC_BROKER_CONFIG), keyed by broker config names such as `log.retention.ms`. */
  readonly staticBrokerConfigs?: Readonly<Record<string, string>>;
  /**
   * The node's own defaults where they differ from Kafka's (what it uses when nobody set the
   * config), keyed by broker config names; reported as DEFAULT_CONFIG (isDefault), as Kafka reports
   * a value no flag, file or dynamic config gave.
   */
  readonly brokerDefaultConfigs?: Readonly<Record<string, string>>;
  /** Only these keys (unknown keys are left out); all keys when absent or null. */
  readonly keys?: readonly string[] | null;
  /** Fill `synonyms` (DescribeConfigs v1+ `include_synonyms`); otherwise it is empty. */
  readonly includeSynonyms?: boolean;
}

function levels(
  view: MetadataView,
  definition: TopicConfigDefinition,
  topicOverrides: Readonly<Record<string, string>> | null,
  options: DescribeConfigsOptions,
): ConfigSynonym[] {
  const out: ConfigSynonym[] = [];
  if (topicOverrides !== null) {
    const v = topicOverrides[definition.name];
    if (v !== undefined)
      out.push({ name: definition.name, value: v, source: ConfigSource.DYNAMIC_TOPIC_CONFIG });
  }
  const b = definition.brokerSynonym;
  if (b !== null) {
    if (options.brokerId !== undefined) {
      const v = view.brokerConfigOverrides(options.brokerId)[b];
      if (v !== undefined) out.push({ name: b, value: v, source: ConfigSource.DYNAMIC_BROKER_CONFIG });
    }
    const d = view.brokerConfigOverrides(null)[b];
    if (d !== undefined) out.push({ name: b, value: d, source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG });
    const st = options.staticBrokerConfigs?.[b];
    if (st !== undefined) out.push({ name: b, value: st, source: ConfigSource.STATIC_BROKER_CONFIG });
  }
  out.push({
    name: b ?? definition.name,
    value: (b === null ? undefined : options.brokerDefaultConfigs?.[b]) ?? definition.defaultValue,
    source: ConfigSource.DEFAULT_CONFIG,
  });
  return out;
}

function describe(
  name: string,
  definition: TopicConfigDefinition,
  synonyms: ConfigSynonym[],
  includeSynonyms: boolean,
): ConfigDescription {
  const effective = synonyms[0] as ConfigSynonym;
  return {
    name,
    value: effective.value,
    source: effective.source,
    readOnly: false,
    isDefault: effective.source === ConfigSource.DEFAULT_CONFIG,
    isSensitive: false,
    configType: definition.type,
    documentation: definition.documentation,
    synonyms: includeSynonyms ? synonyms : [],
  };
}

/**
 * DescribeConfigs for a topic: every topic config Kafka supports, with its effective value and
 * source (topic override > this broker's dynamic config > cluster-wide dynamic default > static
 * broker config > Kafka default). Throws UNKNOWN_TOPIC_OR_PARTITION.
 */
export function describeTopicConfigs(
  view: MetadataView,
  topicName: string,
  options: DescribeConfigsOptions = {},
): ConfigDescription[] {
  const topic = view.topic(topicName);
  if (topic === undefined)
    throw new MetadataError(
      'UNKNOWN_TOPIC_OR_PARTITION',
      `This server does not host this topic: ${topicName}`,
    );
  const wanted = options.keys ?? null;
  return TOPIC_CONFIGS.filter((d) => wanted === null || wanted.includes(d.name)).map((d) =>
    describe(d.name, d, levels(view, d, topic.configs, options), options.includeSynonyms === true),
  );
}

/** The effective value of every topic config of a topic (what the log should enforce). */
export function effectiveTopicConfigs(
  view: MetadataView,
  topicName: string,
  options: Pick<DescribeConfigsOptions, 'brokerId' | 'staticBrokerConfigs' | 'brokerDefaultConfigs'> = {},
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of describeTopicConfigs(view, topicName, options)) out[entry.name] = entry.value;
  return out;
}

/**
 * DescribeConfigs for a broker: the dynamic broker configs (synonyms of topic configs, such as
 * `log.retention.ms`) with value and source (DYNAMIC_BROKER_CONFIG > DYNAMIC_DEFAULT_BROKER_CONFIG >
 * STATIC_BROKER_CONFIG > DEFAULT_CONFIG). `brokerId` null describes the cluster-wide defaults. The
 * server adds its read-only static entries (listeners, node id, …) itself.
 */
export function describeBrokerConfigs(
  view: MetadataView,
  brokerId: number | null,
  options: Omit<DescribeConfigsOptions, 'brokerId'> = {},
): ConfigDescription[] {
  const wanted = options.keys ?? null;
  return DYNAMIC_BROKER_CONFIG_NAMES.filter((name) => wanted === null || wanted.includes(name)).map(
    (name) => {
      const d = brokerConfigDefinition(name) as TopicConfigDefinition;
      const synonyms = levels(view, d, null, brokerId === null ? options : { ...options, brokerId });
      return describe(name, d, synonyms, options.includeSynonyms === true);
    },
  );
}

export type CoordinatorKeyType = 'group' | 'transaction';

export type CoordinatorLookup =
  | {
      readonly ok: true;
      readonly topic: string;
      readonly partition: number;
      readonly leaderId: number;
      readonly broker: BrokerInfo;
    }
  | {
      readonly ok: false;
      readonly topic: string;
      /** The partition the key maps to (from the topic, or from `partitionCount` when it does not exist yet). */
      readonly partition: number;
      /** false: the internal topic does not exist yet (the broker creates it, then asks again). */
      readonly topicExists: boolean;
      readonly error: MetadataError;
    };

/**
 * FindCoordinator: the partition of `__consumer_offsets` (groups) or `__transaction_state`
 * (transactional ids) that owns `key` — `abs(javaHashCode(key)) % partitionCount` as Kafka does —
 * and its current leader. The partition count is the existing topic's; `partitionCount` (the
 * broker's configured count) is used only while the topic does not exist.
 * Fails with COORDINATOR_NOT_AVAILABLE while the topic is missing or the partition has no live leader.
 */
export function findCoordinator(
  view: MetadataView,
  key: string,
  keyType: CoordinatorKeyType,
  partitionCount: number,
): CoordinatorLookup {
  const topicName = keyType === 'group' ? CONSUMER_OFFSETS_TOPIC : TRANSACTION_STATE_TOPIC;
  const topic = view.topic(topicName);
  if (topic === undefined) {
    return {
      ok: false,
      topic: topicName,
      partition: coordinatorPartition(key, partitionCount),
      topicExists: false,
      error: new MetadataError('COORDINATOR_NOT_AVAILABLE', `The ${topicName} topic does not exist yet`),
    };
  }
  const partition = coordinatorPartition(key, topic.partitions.length);
  const leaderId = topic.partitions[partition]?.leader ?? -1;
  const broker = leaderId === -1 ? undefined : view.broker(leaderId);
  if (broker === undefined || broker.fenced) {
    return {
      ok: false,
      topic: topicName,
      partition,
      topicExists: true,
      error: new MetadataError(
        'COORDINATOR_NOT_AVAILABLE',
        `${topicName}-${partition} has no available leader`,
      ),
    };
  }
  return { ok: true, topic: topicName, partition, leaderId, broker };
}
