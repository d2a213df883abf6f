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

export class LogConfigs {
  constructor(
    private readonly state: MetadataStateMachine,
    private readonly nodeId: number,
    private readonly broker: BrokerDefaults,
  ) {}

  /** This node's static broker configs (the command line's), as DescribeConfigs reports them. */
  staticBrokerConfigs(): Record<string, string> {
    const b = this.broker;
    const s: Record<string, string> = {
      'log.retention.ms': String(b.logRetentionMs),
      'log.retention.bytes': String(b.logRetentionBytes),
      'log.segment.bytes': String(b.logSegmentBytes),
      'message.max.bytes': String(b.messageMaxBytes),
      'log.flush.interval.ms': String(b.logFlushIntervalMs),
    };
    if (b.logFlushIntervalMessages !== undefined)
      s['log.flush.interval.messages'] = String(b.logFlushIntervalMessages);
    return s;
  }

  /** The topic's resolved configs. */
  effective(topic: string): Record<string, string> {
    return this.state.effectiveTopicConfigs(topic, {
      brokerId: this.nodeId,
      staticBrokerConfigs: this.staticBrokerConfigs(),
    });
  }

  logConfig(topic: string): LogConfig {
    const e = this.effective(topic);
    // Compacted and internal topics (__consumer_offsets) keep their data: logs are not compacted.
    const keep =
      this.state.topic(topic)?.internal === true || (e['cleanup.policy'] ?? '').includes('compact');
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
    };
  }
}
