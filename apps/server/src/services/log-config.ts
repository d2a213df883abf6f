// A partition's LogConfig from its topic's effective configs (topic override > this broker's dynamic
// config > the cluster-wide dynamic default > this node's static config > Kafka's default), and the
// static broker configs that enter that precedence (they are this node's, not replicated).
import type { MetadataStateMachine } from '@chronik/metadata';
import type { BrokerDefaults } from '../config.js';
import type { LogConfig } from '../partition/types.js';

const LONG_MAX = 9223372036854775807n;

/** A numeric config (LONG values at or above 2^53 read as Number.MAX_SAFE_INTEGER). */
function configNumber(e: Readonly<Record<string, string>>, key: string, dflt: number): number {
  const v = e[key];
  if (v === undefined) return dflt;
  const n = BigInt(v);
  return n >= BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
}

/** A DOUBLE config (a ratio), or `dflt` when absent or unreadable. */
function configRatio(e: Readonly<Record<string, string>>, key: string, dflt: number): number {
  const v = Number(e[key]);
  return e[key] === undefined || !Number.isFinite(v) ? dflt : v;
}

export class LogConfigs {
  constructor(
    private readonly state: MetadataStateMachine,
    private readonly nodeId: number,
    private readonly broker: BrokerDefaults,
  ) {}

  /**
   * This node's broker configs as DescribeConfigs reports them: `static` what the operator gave
   * (STATIC_BROKER_CONFIG), `defaults` this broker's own defaults for the rest (DEFAULT_CONFIG;
   * they differ from Kafka's, e.g. log.segment.bytes and log.flush.interval.ms).
   */
  brokerConfigs(): { static: Record<string, string>; defaults: Record<string, string> } {
    const b = this.broker;
    const all: Record<string, string> = {
      'log.retention.ms': String(b.logRetentionMs),
      'log.retention.bytes': String(b.logRetentionBytes),
      'log.segment.bytes': String(b.logSegmentBytes),
      'message.max.bytes': String(b.messageMaxBytes),
      'log.flush.interval.ms': String(b.logFlushIntervalMs),
    };
    if (b.logFlushIntervalMessages !== undefined)
      all['log.flush.interval.messages'] = String(b.logFlushIntervalMessages);
    const given = new Set(b.staticConfigNames);
    const out = { static: {} as Record<string, string>, defaults: {} as Record<string, string> };
    for (const [name, value] of Object.entries(all))
      (given.has(name) ? out.static : out.defaults)[name] = value;
    return out;
  }

  /** The options @chronik/metadata's DescribeConfigs queries take for this node's broker configs. */
  describeOptions(): {
    staticBrokerConfigs: Record<string, string>;
    brokerDefaultConfigs: Record<string, string>;
  } {
    const c = this.brokerConfigs();
    return { staticBrokerConfigs: c.static, brokerDefaultConfigs: c.defaults };
  }

  /** The topic's resolved configs. */
  effective(topic: string): Record<string, string> {
    return this.state.effectiveTopicConfigs(topic, {
      brokerId: this.nodeId,
      ...this.describeOptions(),
    });
  }

  logConfig(topic: string): LogConfig {
    const e = this.effective(topic);
    const policy = (e['cleanup.policy'] ?? 'delete').split(',').map((p) => p.trim());
    // Retention applies with cleanup.policy=delete (alone or with compact); internal topics
    // (__consumer_offsets, __transaction_state) are compacted only, whatever their configs say.
    const internal = this.state.topic(topic)?.internal === true;
    const keep = internal || !policy.includes('delete');
    const compact = internal || policy.includes('compact');
    const flushMessages =
      e['flush.messages'] === undefined || BigInt(e['flush.messages']) >= LONG_MAX
        ? undefined
        : configNumber(e, 'flush.messages', 1);
    return {
      logAppendTime: e['message.timestamp.type'] === 'LogAppendTime',
      maxMessageBytes: configNumber(e, 'max.message.bytes', this.broker.messageMaxBytes),
      retentionMs: keep ? -1 : configNumber(e, 'retention.ms', -1),
      retentionBytes: keep ? -1 : configNumber(e, 'retention.bytes', -1),
      segmentBytes: configNumber(e, 'segment.bytes', this.broker.logSegmentBytes),
      flushMessages,
      flushMs: configNumber(e, 'flush.ms', this.broker.logFlushIntervalMs),
      flushBackgroundBytes: this.broker.logFlushBackgroundBytes || undefined,
      minInsyncReplicas: configNumber(e, 'min.insync.replicas', 1),
      compact,
      segmentMs: configNumber(e, 'segment.ms', 604_800_000),
      deleteRetentionMs: configNumber(e, 'delete.retention.ms', 86_400_000),
      minCompactionLagMs: configNumber(e, 'min.compaction.lag.ms', 0),
      maxCompactionLagMs: configNumber(e, 'max.compaction.lag.ms', Number.MAX_SAFE_INTEGER),
      minCleanableDirtyRatio: configRatio(e, 'min.cleanable.dirty.ratio', 0.5),
    };
  }
}
