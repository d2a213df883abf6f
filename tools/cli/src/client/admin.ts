// Topic administration: CreateTopics, DeleteTopics, CreatePartitions, DescribeConfigs,
// IncrementalAlterConfigs, DescribeLogDirs. Writes go to the controller Metadata names (a KRaft
// Kafka forwards them from any broker; an older one answers NOT_CONTROLLER, which is retried).
import { ApiKey, ErrorCode, ZERO_UUID } from '@chronik/protocol';
import { CliError, checkAdmin } from '../errors.js';
import type { BrokerConnection } from './connection.js';
import type { KafkaClient } from './client.js';
import { tpKey } from './partitions.js';

/** DescribeConfigs resource types. */
export const ResourceType = { TOPIC: 2, BROKER: 4 } as const;
/** IncrementalAlterConfigs operations. */
export const ConfigOp = { SET: 0, DELETE: 1 } as const;

export interface NewTopic {
  name: string;
  partitions: number;
  /** -1: the broker's default. */
  replicationFactor: number;
  configs: ReadonlyMap<string, string>;
}

export interface ConfigEntry {
  name: string;
  value: string | null;
  isDefault: boolean;
  /** Set on the topic itself (DYNAMIC_TOPIC_CONFIG), not inherited from the broker or the default. */
  override: boolean;
  readOnly: boolean;
  isSensitive: boolean;
  /** Kafka's ConfigSource numbers: 1 topic, 4 static broker, 5 default, … */
  source: number;
}

/** The controller Metadata names (any broker when it names none). */
export async function controller(client: KafkaClient): Promise<BrokerConnection> {
  const md = await client.metadata([]);
  return md.controllerId >= 0 ? client.broker(md.controllerId) : client.any();
}

export async function createTopic(client: KafkaClient, topic: NewTopic): Promise<{ topicId: string }> {
  return client.retry(`creating topic "${topic.name}"`, async () => {
    const { body } = await (
      await controller(client)
    ).request(ApiKey.CreateTopics, {
      timeoutMs: client.options.requestTimeoutMs,
      validateOnly: false,
      topics: [
        {
          name: topic.name,
          numPartitions: topic.partitions,
          replicationFactor: topic.replicationFactor,
          assignments: [],
          configs: [...topic.configs].map(([name, value]) => ({ name, value })),
        },
      ],
    });
    const r = body.topics.find((t) => t.name === topic.name);
    if (r === undefined) throw new CliError('PROTOCOL', `CreateTopics answered nothing for "${topic.name}"`);
    checkAdmin(r.errorCode, `topic "${topic.name}"`, r.errorMessage);
    return { topicId: r.topicId };
  });
}

export async function deleteTopic(client: KafkaClient, name: string): Promise<void> {
  await client.retry(`deleting topic "${name}"`, async () => {
    const { body } = await (
      await controller(client)
    ).request(ApiKey.DeleteTopics, (version) => ({
      timeoutMs: client.options.requestTimeoutMs,
      topicNames: version < 6 ? [name] : [],
      topics: version >= 6 ? [{ name, topicId: ZERO_UUID }] : [],
    }));
    const r = body.responses.find((t) => t.name === name) ?? body.responses[0];
    if (r === undefined) throw new CliError('PROTOCOL', `DeleteTopics answered nothing for "${name}"`);
    checkAdmin(r.errorCode, `topic "${name}"`, r.errorMessage);
  });
}

export async function createPartitions(client: KafkaClient, name: string, totalCount: number): Promise<void> {
  await client.retry(`adding partitions to "${name}"`, async () => {
    const { body } = await (
      await controller(client)
    ).request(ApiKey.CreatePartitions, {
      timeoutMs: client.options.requestTimeoutMs,
      validateOnly: false,
      topics: [{ name, count: totalCount, assignments: null }],
    });
    const r = body.results.find((t) => t.name === name);
    if (r === undefined) throw new CliError('PROTOCOL', `CreatePartitions answered nothing for "${name}"`);
    checkAdmin(r.errorCode, `topic "${name}"`, r.errorMessage);
  });
}

export async function describeTopicConfigs(client: KafkaClient, name: string): Promise<ConfigEntry[]> {
  return client.retry(`the configs of "${name}"`, async () => {
    const { body } = await client.request(ApiKey.DescribeConfigs, {
      resources: [{ resourceType: ResourceType.TOPIC, resourceName: name, configurationKeys: null }],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    const r = body.results[0];
    if (r === undefined) throw new CliError('PROTOCOL', `DescribeConfigs answered nothing for "${name}"`);
    checkAdmin(r.errorCode, `topic "${name}"`, r.errorMessage);
    return r.configs
      .map((c) => ({
        name: c.name,
        value: c.value,
        // v0 has isDefault; later versions say it through the source (5 = DEFAULT_CONFIG).
        isDefault: c.isDefault || c.configSource === 5,
        // Sources exist from v1 on (and the client asks v1+): 1 is DYNAMIC_TOPIC_CONFIG.
        override: c.configSource === 1,
        readOnly: c.readOnly,
        isSensitive: c.isSensitive,
        source: c.configSource,
      }))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
  });
}

export async function alterTopicConfigs(
  client: KafkaClient,
  name: string,
  set: ReadonlyMap<string, string>,
  remove: readonly string[],
): Promise<void> {
  await client.retry(`altering the configs of "${name}"`, async () => {
    const { body } = await (
      await controller(client)
    ).request(ApiKey.IncrementalAlterConfigs, {
      validateOnly: false,
      resources: [
        {
          resourceType: ResourceType.TOPIC,
          resourceName: name,
          configs: [
            ...[...set].map(([k, value]) => ({ name: k, configOperation: ConfigOp.SET, value })),
            ...remove.map((k) => ({ name: k, configOperation: ConfigOp.DELETE, value: null })),
          ],
        },
      ],
    });
    const r = body.responses[0];
    if (r === undefined)
      throw new CliError('PROTOCOL', `IncrementalAlterConfigs answered nothing for "${name}"`);
    checkAdmin(r.errorCode, `topic "${name}"`, r.errorMessage);
  });
}

/**
 * The size in bytes of each partition replica of `topic` on each broker, by broker id then
 * `tpKey`, through DescribeLogDirs. Brokers that do not support it, or do not answer, are left out.
 */
export async function logDirSizes(
  client: KafkaClient,
  topic: string,
  partitions: readonly number[],
  brokerIds: readonly number[],
): Promise<Map<number, Map<string, bigint>>> {
  const out = new Map<number, Map<string, bigint>>();
  await Promise.all(
    brokerIds.map(async (id) => {
      try {
        const conn = await client.broker(id);
        if (!conn.supports(ApiKey.DescribeLogDirs)) return;
        const { body } = await conn.request(ApiKey.DescribeLogDirs, {
          topics: [{ topic, partitions: [...partitions] }],
        });
        if (body.errorCode !== ErrorCode.NONE) return;
        const sizes = new Map<string, bigint>();
        for (const dir of body.results) {
          if (dir.errorCode !== ErrorCode.NONE) continue;
          for (const t of dir.topics)
            for (const p of t.partitions) {
              if (p.isFutureKey) continue;
              const k = tpKey(t.name, p.partitionIndex);
              sizes.set(k, (sizes.get(k) ?? 0n) + p.partitionSize);
            }
        }
        out.set(id, sizes);
      } catch {
        // Sizes are extra information: a broker that cannot say is shown as "-".
      }
    }),
  );
  return out;
}
