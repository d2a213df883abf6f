// The group coordinator's broker configs (group.*, offsets.retention.minutes) as DescribeConfigs
// reports them for this broker: read-only (they are command-line flags, not dynamic configs),
// STATIC_BROKER_CONFIG when a flag gave them, else DEFAULT_CONFIG with this broker's default.
import { ConfigSource, ConfigType } from '@chronik/metadata';
import type { BrokerDefaults } from '../config.js';
import type { ConfigEntryView } from './topic-admin.js';

interface GroupConfig {
  name: string;
  type: ConfigType;
  value: (b: BrokerDefaults) => string;
  documentation: string;
}

const GROUP_CONFIGS: readonly GroupConfig[] = [
  {
    name: 'group.initial.rebalance.delay.ms',
    type: ConfigType.INT,
    value: (b) => String(b.groupInitialRebalanceDelayMs),
    documentation: "How long a new classic group's first rebalance waits for more members.",
  },
  {
    name: 'group.min.session.timeout.ms',
    type: ConfigType.INT,
    value: (b) => String(b.groupMinSessionTimeoutMs),
    documentation: 'The smallest session timeout a classic member may ask for.',
  },
  {
    name: 'group.max.session.timeout.ms',
    type: ConfigType.INT,
    value: (b) => String(b.groupMaxSessionTimeoutMs),
    documentation: 'The largest session timeout a classic member may ask for.',
  },
  {
    name: 'group.max.size',
    type: ConfigType.INT,
    value: (b) => String(b.groupMaxSize),
    documentation: 'The most members a group may have.',
  },
  {
    name: 'group.coordinator.rebalance.protocols',
    type: ConfigType.LIST,
    value: (b) => b.groupRebalanceProtocols.join(','),
    documentation: 'The group protocols served: classic, and consumer (KIP-848).',
  },
  {
    name: 'group.consumer.heartbeat.interval.ms',
    type: ConfigType.INT,
    value: (b) => String(b.groupConsumerHeartbeatIntervalMs),
    documentation: 'How often members of the consumer group protocol heartbeat.',
  },
  {
    name: 'group.consumer.session.timeout.ms',
    type: ConfigType.INT,
    value: (b) => String(b.groupConsumerSessionTimeoutMs),
    documentation: 'A member of the consumer group protocol silent this long is removed.',
  },
  {
    name: 'group.consumer.assignors',
    type: ConfigType.LIST,
    value: (b) => b.groupConsumerAssignors.join(','),
    documentation: 'The server-side assignors of the consumer group protocol, the first the default.',
  },
  {
    name: 'group.consumer.migration.policy',
    type: ConfigType.STRING,
    value: (b) => b.groupConsumerMigrationPolicy,
    documentation:
      'Which conversions of running groups between the classic and the consumer protocol are allowed: disabled, upgrade, downgrade or bidirectional.',
  },
  {
    name: 'offsets.retention.minutes',
    type: ConfigType.INT,
    value: (b) => String(Math.floor(b.offsetsRetentionMs / 60_000)),
    documentation: 'Committed offsets of an empty group expire after this long.',
  },
];

/** Names of the group configs (those a flag can set). */
export const GROUP_CONFIG_NAMES: readonly string[] = GROUP_CONFIGS.map((c) => c.name);

/** The group configs of this broker, restricted to `keys` when given. */
export function groupConfigEntries(
  b: BrokerDefaults,
  keys: readonly string[] | null,
  includeSynonyms: boolean,
): ConfigEntryView[] {
  const given = new Set(b.staticConfigNames);
  return GROUP_CONFIGS.filter((c) => keys === null || keys.includes(c.name)).map((c) => {
    const value = c.value(b);
    const source = given.has(c.name) ? ConfigSource.STATIC_BROKER_CONFIG : ConfigSource.DEFAULT_CONFIG;
    return {
      name: c.name,
      value,
      readOnly: true,
      source,
      isDefault: source === ConfigSource.DEFAULT_CONFIG,
      isSensitive: false,
      configType: c.type,
      documentation: c.documentation,
      synonyms: includeSynonyms ? [{ name: c.name, value, source }] : [],
    };
  });
}
