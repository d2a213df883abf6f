import { MetadataError } from './errors.js';

/** DescribeConfigs `config_type` values (KIP-554). */
export const ConfigType = {
  UNKNOWN: 0,
  BOOLEAN: 1,
  STRING: 2,
  INT: 3,
  SHORT: 4,
  LONG: 5,
  DOUBLE: 6,
  LIST: 7,
  CLASS: 8,
  PASSWORD: 9,
} as const;
export type ConfigType = (typeof ConfigType)[keyof typeof ConfigType];

/** DescribeConfigs `config_source` values. */
export const ConfigSource = {
  UNKNOWN: 0,
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  DYNAMIC_BROKER_LOGGER_CONFIG: 6,
} as const;
export type ConfigSource = (typeof ConfigSource)[keyof typeof ConfigSource];

/** IncrementalAlterConfigs operation types. */
export const AlterConfigOp = {
  SET: 0,
  DELETE: 1,
  APPEND: 2,
  SUBTRACT: 3,
} as const;
export type AlterConfigOp = (typeof AlterConfigOp)[keyof typeof AlterConfigOp];

/** Longest config value accepted, in characters. */
export const MAX_CONFIG_VALUE_LENGTH = 4096;

const INT_MIN = -2147483648n;
const INT_MAX = 2147483647n;
const LONG_MIN = -9223372036854775808n;
const LONG_MAX = 9223372036854775807n;
const LONG_MAX_STRING = LONG_MAX.toString();

/** One topic-level config Kafka supports, with its broker-level synonym. */
export interface TopicConfigDefinition {
  readonly name: string;
  readonly type: ConfigType;
  /** Kafka's default, as a string (what DescribeConfigs shows with source DEFAULT_CONFIG). */
  readonly defaultValue: string;
  /** The broker config that supplies the topic's default (e.g. `log.retention.ms`), or null. */
  readonly brokerSynonym: string | null;
  readonly documentation: string;
  /** Range for numeric types (inclusive), as bigint for INT/LONG and number for DOUBLE. */
  readonly min?: bigint | number;
  readonly max?: bigint | number;
  /** Allowed values for STRING (exact) or each item of LIST. */
  readonly validValues?: readonly string[];
  /** LIST only: at least one item. */
  readonly nonEmptyList?: boolean;
  /** Extra check of the trimmed value; returns a problem or null. */
  readonly check?: (value: string) => string | null;
}

const throttledReplicas = (value: string): string | null => {
  if (value === '' || value === '*') return null;
  for (const item of value.split(',')) {
    if (!/^\s*\d+\s*:\s*\d+\s*$/.test(item)) return 'must be "*" or a list of partitionId:brokerId';
  }
  return null;
};

function def(d: TopicConfigDefinition): TopicConfigDefinition {
  return d;
}

/** The topic-level configs Kafka supports (Kafka 3.x `TopicConfig`/`LogConfig`), sorted by name. */
export const TOPIC_CONFIGS: readonly TopicConfigDefinition[] = [
  def({
    name: 'cleanup.policy',
    type: ConfigType.LIST,
    defaultValue: 'delete',
    brokerSynonym: 'log.cleanup.policy',
    validValues: ['compact', 'delete'],
    nonEmptyList: true,
    documentation: 'The retention policy of old log segments: "delete", "compact" or both.',
  }),
  def({
    name: 'compression.gzip.level',
    type: ConfigType.INT,
    defaultValue: '-1',
    brokerSynonym: 'compression.gzip.level',
    min: -1n,
    max: 9n,
    check: (v) => (BigInt(v) === 0n ? 'must be -1 or between 1 and 9' : null),
    documentation: 'The compression level for gzip.',
  }),
  def({
    name: 'compression.lz4.level',
    type: ConfigType.INT,
    defaultValue: '9',
    brokerSynonym: 'compression.lz4.level',
    min: 1n,
    max: 17n,
    documentation: 'The compression level for lz4.',
  }),
  def({
    name: 'compression.type',
    type: ConfigType.STRING,
    defaultValue: 'producer',
    brokerSynonym: 'compression.type',
    validValues: ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'],
    documentation: 'The final compression type of the topic; "producer" keeps what the producer sent.',
  }),
  def({
    name: 'compression.zstd.level',
    type: ConfigType.INT,
    defaultValue: '3',
    brokerSynonym: 'compression.zstd.level',
    min: -131072n,
    max: 22n,
    documentation: 'The compression level for zstd.',
  }),
  def({
    name: 'delete.retention.ms',
    type: ConfigType.LONG,
    defaultValue: '86400000',
    brokerSynonym: 'log.cleaner.delete.retention.ms',
    min: 0n,
    documentation: 'How long delete tombstones are retained on compacted topics.',
  }),
  def({
    name: 'file.delete.delay.ms',
    type: ConfigType.LONG,
    defaultValue: '60000',
    brokerSynonym: 'log.segment.delete.delay.ms',
    min: 0n,
    documentation: 'Time to wait before deleting a file from the filesystem.',
  }),
  def({
    name: 'flush.messages',
    type: ConfigType.LONG,
    defaultValue: LONG_MAX_STRING,
    brokerSynonym: 'log.flush.interval.messages',
    min: 1n,
    documentation: 'Force an fsync after this many messages.',
  }),
  def({
    name: 'flush.ms',
    type: ConfigType.LONG,
    defaultValue: LONG_MAX_STRING,
    brokerSynonym: 'log.flush.interval.ms',
    min: 0n,
    documentation: 'Force an fsync after this much time.',
  }),
  def({
    name: 'follower.replication.throttled.replicas',
    type: ConfigType.LIST,
    defaultValue: '',
    brokerSynonym: null,
    check: throttledReplicas,
    documentation: 'Replicas whose log replication is throttled on the follower side.',
  }),
  def({
    name: 'index.interval.bytes',
    type: ConfigType.INT,
    defaultValue: '4096',
    brokerSynonym: 'log.index.interval.bytes',
    min: 0n,
    documentation: 'How often an entry is added to the offset index.',
  }),
  def({
    name: 'leader.replication.throttled.replicas',
    type: ConfigType.LIST,
    defaultValue: '',
    brokerSynonym: null,
    check: throttledReplicas,
    documentation: 'Replicas whose log replication is throttled on the leader side.',
  }),
  def({
    name: 'local.retention.bytes',
    type: ConfigType.LONG,
    defaultValue: '-2',
    brokerSynonym: 'log.local.retention.bytes',
    min: -2n,
    documentation: 'Local log size kept before deletion when tiered storage is enabled.',
  }),
  def({
    name: 'local.retention.ms',
    type: ConfigType.LONG,
    defaultValue: '-2',
    brokerSynonym: 'log.local.retention.ms',
    min: -2n,
    documentation: 'Local log age kept before deletion when tiered storage is enabled.',
  }),
  def({
    name: 'max.compaction.lag.ms',
    type: ConfigType.LONG,
    defaultValue: LONG_MAX_STRING,
    brokerSynonym: 'log.cleaner.max.compaction.lag.ms',
    min: 1n,
    documentation: 'The longest a message stays ineligible for compaction.',
  }),
  def({
    name: 'max.message.bytes',
    type: ConfigType.INT,
    defaultValue: '1048588',
    brokerSynonym: 'message.max.bytes',
    min: 0n,
    documentation: 'The largest record batch size allowed.',
  }),
  def({
    name: 'message.downconversion.enable',
    type: ConfigType.BOOLEAN,
    defaultValue: 'true',
    brokerSynonym: 'log.message.downconversion.enable',
    documentation: 'Whether down-conversion of message formats is enabled for consumers.',
  }),
  def({
    name: 'message.timestamp.after.max.ms',
    type: ConfigType.LONG,
    defaultValue: LONG_MAX_STRING,
    brokerSynonym: 'log.message.timestamp.after.max.ms',
    min: 0n,
    documentation: 'Largest allowed amount a record timestamp may be ahead of the broker time.',
  }),
  def({
    name: 'message.timestamp.before.max.ms',
    type: ConfigType.LONG,
    defaultValue: LONG_MAX_STRING,
    brokerSynonym: 'log.message.timestamp.before.max.ms',
    min: 0n,
    documentation: 'Largest allowed amount a record timestamp may be behind the broker time.',
  }),
  def({
    name: 'message.timestamp.difference.max.ms',
    type: ConfigType.LONG,
    defaultValue: LONG_MAX_STRING,
    brokerSynonym: 'log.message.timestamp.difference.max.ms',
    min: 0n,
    documentation: 'Largest allowed difference between a record timestamp and the broker time (deprecated).',
  }),
  def({
    name: 'message.timestamp.type',
    type: ConfigType.STRING,
    defaultValue: 'CreateTime',
    brokerSynonym: 'log.message.timestamp.type',
    validValues: ['CreateTime', 'LogAppendTime'],
    documentation: "Whether record timestamps are the producer's create time or the log append time.",
  }),
  def({
    name: 'min.cleanable.dirty.ratio',
    type: ConfigType.DOUBLE,
    defaultValue: '0.5',
    brokerSynonym: 'log.cleaner.min.cleanable.ratio',
    min: 0,
    max: 1,
    documentation: 'Minimum ratio of dirty log to total log for a log to be eligible for cleaning.',
  }),
  def({
    name: 'min.compaction.lag.ms',
    type: ConfigType.LONG,
    defaultValue: '0',
    brokerSynonym: 'log.cleaner.min.compaction.lag.ms',
    min: 0n,
    documentation: 'The shortest a message remains uncompacted.',
  }),
  def({
    name: 'min.insync.replicas',
    type: ConfigType.INT,
    defaultValue: '1',
    brokerSynonym: 'min.insync.replicas',
    min: 1n,
    documentation: 'Minimum number of in-sync replicas for an acks=all produce to succeed.',
  }),
  def({
    name: 'preallocate',
    type: ConfigType.BOOLEAN,
    defaultValue: 'false',
    brokerSynonym: 'log.preallocate',
    documentation: 'Whether segment files are preallocated.',
  }),
  def({
    name: 'remote.storage.enable',
    type: ConfigType.BOOLEAN,
    defaultValue: 'false',
    brokerSynonym: null,
    documentation: 'Whether tiered storage is enabled for the topic.',
  }),
  def({
    name: 'retention.bytes',
    type: ConfigType.LONG,
    defaultValue: '-1',
    brokerSynonym: 'log.retention.bytes',
    documentation:
      'Maximum size a partition log grows to before old segments are discarded; -1 for no limit.',
  }),
  def({
    name: 'retention.ms',
    type: ConfigType.LONG,
    defaultValue: '604800000',
    brokerSynonym: 'log.retention.ms',
    min: -1n,
    documentation: 'Maximum age of a log segment before it is discarded; -1 for no limit.',
  }),
  def({
    name: 'segment.bytes',
    type: ConfigType.INT,
    defaultValue: '1073741824',
    brokerSynonym: 'log.segment.bytes',
    min: 14n,
    documentation: 'Segment file size of the log.',
  }),
  def({
    name: 'segment.index.bytes',
    type: ConfigType.INT,
    defaultValue: '10485760',
    brokerSynonym: 'log.index.size.max.bytes',
    min: 4n,
    documentation: 'Size of the offset index per segment.',
  }),
  def({
    name: 'segment.jitter.ms',
    type: ConfigType.LONG,
    defaultValue: '0',
    brokerSynonym: 'log.roll.jitter.ms',
    min: 0n,
    documentation: 'Maximum random jitter subtracted from segment.ms.',
  }),
  def({
    name: 'segment.ms',
    type: ConfigType.LONG,
    defaultValue: '604800000',
    brokerSynonym: 'log.roll.ms',
    min: 1n,
    documentation: 'Time after which a segment is rolled even if not full.',
  }),
  def({
    name: 'unclean.leader.election.enable',
    type: ConfigType.BOOLEAN,
    defaultValue: 'false',
    brokerSynonym: 'unclean.leader.election.enable',
    documentation: 'Whether replicas not in the ISR may be elected leader.',
  }),
];

const TOPIC_CONFIG_BY_NAME: ReadonlyMap<string, TopicConfigDefinition> = new Map(
  TOPIC_CONFIGS.map((d) => [d.name, d]),
);
const BROKER_CONFIG_BY_NAME: ReadonlyMap<string, TopicConfigDefinition> = new Map(
  TOPIC_CONFIGS.filter((d) => d.brokerSynonym !== null).map((d) => [d.brokerSynonym as string, d]),
);

/** The definition of a topic config, or undefined for an unknown key. */
export function topicConfigDefinition(name: string): TopicConfigDefinition | undefined {
  return TOPIC_CONFIG_BY_NAME.get(name);
}

/**
 * The broker configs that may be changed through the metadata log (dynamic broker configs): the
 * broker-level synonyms of the topic configs, e.g. `log.retention.ms`. Sorted by name.
 */
export const DYNAMIC_BROKER_CONFIG_NAMES: readonly string[] = [...BROKER_CONFIG_BY_NAME.keys()].sort();

/** The topic config that a dynamic broker config supplies the default for, or undefined. */
export function brokerConfigDefinition(name: string): TopicConfigDefinition | undefined {
  return BROKER_CONFIG_BY_NAME.get(name);
}

function parseInteger(value: string, min: bigint, max: bigint, typeName: string): bigint | string {
  if (!/^[+-]?\d+$/.test(value)) return `value must be a ${typeName}`;
  const n = BigInt(value);
  if (n < min || n > max) return `value is out of the ${typeName} range`;
  return n;
}

/**
 * Checks one value against a definition. Returns the normalized (trimmed) value, or throws
 * INVALID_CONFIG naming the key and the problem.
 */
export function validateConfigValue(
  definition: TopicConfigDefinition,
  rawValue: string,
  key = definition.name,
): string {
  if (rawValue.length > MAX_CONFIG_VALUE_LENGTH) {
    throw new MetadataError(
      'INVALID_CONFIG',
      `Invalid value for configuration ${key}: longer than ${MAX_CONFIG_VALUE_LENGTH} characters`,
    );
  }
  const value = rawValue.trim();
  const fail = (problem: string): never => {
    throw new MetadataError(
      'INVALID_CONFIG',
      `Invalid value ${JSON.stringify(rawValue)} for configuration ${key}: ${problem}`,
    );
  };
  switch (definition.type) {
    case ConfigType.INT:
    case ConfigType.LONG: {
      const isInt = definition.type === ConfigType.INT;
      const parsed = parseInteger(
        value,
        isInt ? INT_MIN : LONG_MIN,
        isInt ? INT_MAX : LONG_MAX,
        isInt ? '32-bit integer' : '64-bit integer',
      );
      if (typeof parsed === 'string') return fail(parsed);
      if (typeof definition.min === 'bigint' && parsed < definition.min)
        return fail(`value must be at least ${definition.min}`);
      if (typeof definition.max === 'bigint' && parsed > definition.max)
        return fail(`value must be no more than ${definition.max}`);
      break;
    }
    case ConfigType.DOUBLE: {
      if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value)) return fail('value must be a number');
      const n = Number(value);
      if (!Number.isFinite(n)) return fail('value must be finite');
      if (typeof definition.min === 'number' && n < definition.min)
        return fail(`value must be at least ${definition.min}`);
      if (typeof definition.max === 'number' && n > definition.max)
        return fail(`value must be no more than ${definition.max}`);
      break;
    }
    case ConfigType.BOOLEAN: {
      const lower = value.toLowerCase();
      if (lower !== 'true' && lower !== 'false') return fail('value must be true or false');
      return lower;
    }
    case ConfigType.STRING: {
      if (definition.validValues !== undefined && !definition.validValues.includes(value)) {
        return fail(`string must be one of: ${definition.validValues.join(', ')}`);
      }
      break;
    }
    case ConfigType.LIST: {
      const items = parseList(value);
      if (definition.nonEmptyList === true && items.length === 0) return fail('the list must not be empty');
      if (definition.validValues !== undefined) {
        for (const item of items) {
          if (!definition.validValues.includes(item))
            return fail(`each item must be one of: ${definition.validValues.join(', ')}`);
        }
      }
      break;
    }
    default:
      return fail('unsupported config type');
  }
  if (definition.check !== undefined) {
    const problem = definition.check(value);
    if (problem !== null) return fail(problem);
  }
  return value;
}

/** Splits a LIST value the way Kafka does: comma-separated, items trimmed, empty string = empty list. */
export function parseList(value: string): string[] {
  const trimmed = value.trim();
  if (trimmed === '') return [];
  return trimmed.split(',').map((s) => s.trim());
}

/** Validates a topic config key and value; throws INVALID_CONFIG for unknown keys or bad values. */
export function validateTopicConfig(key: string, value: string): string {
  const definition = TOPIC_CONFIG_BY_NAME.get(key);
  if (definition === undefined)
    throw new MetadataError('INVALID_CONFIG', `Unknown topic config name: ${key}`);
  return validateConfigValue(definition, value, key);
}

/** Validates a dynamic broker config key and value; throws INVALID_CONFIG for unknown keys or bad values. */
export function validateBrokerConfig(key: string, value: string): string {
  const definition = BROKER_CONFIG_BY_NAME.get(key);
  if (definition === undefined) {
    throw new MetadataError('INVALID_CONFIG', `Unknown or non-dynamic broker config name: ${key}`);
  }
  return validateConfigValue(definition, value, key);
}

/** One change of an (Incremental)AlterConfigs request. `value` is ignored for DELETE. */
export interface ConfigAlteration {
  readonly name: string;
  readonly op: AlterConfigOp;
  readonly value: string | null;
}

/**
 * Applies alterations to a config map (pure). With `replace` (the legacy AlterConfigs semantics)
 * the result holds exactly the SET entries. Throws INVALID_CONFIG / INVALID_REQUEST.
 */
export function alterConfigMap(
  current: ReadonlyMap<string, string>,
  alterations: readonly ConfigAlteration[],
  replace: boolean,
  lookup: (name: string) => TopicConfigDefinition | undefined,
  kind: 'topic' | 'broker',
): Map<string, string> {
  const next = replace ? new Map<string, string>() : new Map(current);
  const seen = new Set<string>();
  for (const alteration of alterations) {
    if (seen.has(alteration.name)) {
      throw new MetadataError('INVALID_REQUEST', `Duplicate config key in the request: ${alteration.name}`);
    }
    seen.add(alteration.name);
    const definition = lookup(alteration.name);
    if (definition === undefined) {
      throw new MetadataError(
        'INVALID_CONFIG',
        `Unknown ${kind === 'topic' ? 'topic' : 'or non-dynamic broker'} config name: ${alteration.name}`,
      );
    }
    if (replace && alteration.op !== AlterConfigOp.SET) {
      throw new MetadataError('INVALID_REQUEST', 'AlterConfigs (non-incremental) only sets values');
    }
    switch (alteration.op) {
      case AlterConfigOp.SET: {
        if (alteration.value === null) {
          throw new MetadataError(
            'INVALID_CONFIG',
            `Null value not supported for ${kind} config ${alteration.name}`,
          );
        }
        next.set(alteration.name, validateConfigValue(definition, alteration.value, alteration.name));
        break;
      }
      case AlterConfigOp.DELETE:
        next.delete(alteration.name);
        break;
      case AlterConfigOp.APPEND:
      case AlterConfigOp.SUBTRACT: {
        if (definition.type !== ConfigType.LIST) {
          throw new MetadataError(
            'INVALID_CONFIG',
            `Can't ${alteration.op === AlterConfigOp.APPEND ? 'APPEND to' : 'SUBTRACT from'} key ${alteration.name} because its type is not LIST.`,
          );
        }
        if (alteration.value === null) {
          throw new MetadataError(
            'INVALID_CONFIG',
            `Null value not supported for ${kind} config ${alteration.name}`,
          );
        }
        const base = parseList(current.get(alteration.name) ?? definition.defaultValue);
        const items = parseList(alteration.value);
        let result: string[];
        if (alteration.op === AlterConfigOp.APPEND) {
          result = [...base];
          for (const item of items) if (!result.includes(item)) result.push(item);
        } else {
          result = base.filter((item) => !items.includes(item));
        }
        next.set(alteration.name, validateConfigValue(definition, result.join(','), alteration.name));
        break;
      }
      default:
        throw new MetadataError(
          'INVALID_REQUEST',
          `Unknown config operation ${String(alteration.op)} for ${alteration.name}`,
        );
    }
  }
  return next;
}

/** A synonym entry of DescribeConfigs (v1+), highest precedence first. */
export interface ConfigSynonym {
  readonly name: string;
  readonly value: string;
  readonly source: ConfigSource;
}

/** One entry of a DescribeConfigs answer. */
export interface ConfigDescription {
  readonly name: string;
  readonly value: string;
  readonly source: ConfigSource;
  readonly readOnly: boolean;
  readonly isDefault: boolean;
  readonly isSensitive: boolean;
  readonly configType: ConfigType;
  readonly documentation: string;
  /** Every level that has a value, highest precedence first (the first is the effective one). */
  readonly synonyms: readonly ConfigSynonym[];
}
