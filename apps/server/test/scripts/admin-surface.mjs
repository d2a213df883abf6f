// The admin surface of issue 26 with real clients (kafkajs 2.2 and @platformatic/kafka 1.35) against
// chronik-server — one node or a cluster: CreateTopics with manual replica assignments,
// DeleteRecords (kafkajs's parse of per-partition errors), DescribeConfigs defaults, broker configs
// altered at run time (IncrementalAlterConfigs on a BROKER resource), DescribeLogDirs sizes,
// ListOffsets max-timestamp (KIP-734), ListGroups state filters, OffsetDelete, authorized
// operations, and the client quotas of KIP-612/KIP-599 through AlterClientQuotas/DescribeClientQuotas.
// Every step is run even when one fails; prints one JSON line: each step's result or error.
// Usage: node admin-surface.mjs BOOTSTRAP[,BOOTSTRAP…] PREFIX REPLICAS
import { Admin, Consumer } from '@platformatic/kafka';
import kafkajs from 'kafkajs';

const [bootstrapList, prefix, replicasArg] = process.argv.slice(2);
const brokers = bootstrapList.split(',');
const REPLICAS = Number(replicasArg ?? 1);
const result = {};
const kafka = new kafkajs.Kafka({
  clientId: 'admin-surface',
  brokers,
  logLevel: kafkajs.logLevel.NOTHING,
  retry: { retries: 10, initialRetryTime: 100 },
});
const kadmin = kafka.admin();
const padmin = new Admin({ clientId: 'admin-surface', bootstrapBrokers: brokers });
const json = (v) => JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? Number(x) : x)));

async function step(name, fn) {
  try {
    result[name] = json(await fn());
  } catch (e) {
    result[name] = {
      error: String(e?.message ?? e),
      type: e?.name,
      ...(e?.partitions
        ? { partitions: e.partitions.map((p) => [p.partition, p.error?.type ?? String(p.error)]) }
        : {}),
      ...(e?.errors ? { errors: e.errors.map((x) => String(x?.message ?? x)) } : {}),
    };
  }
}

const data = `${prefix}-data`;
const manual = `${prefix}-manual`;
const group = `${prefix}-group`;
try {
  await kadmin.connect();
  const cluster = await kadmin.describeCluster();
  const ids = cluster.brokers.map((b) => b.nodeId).sort((a, b) => a - b);
  await kadmin.createTopics({ topics: [{ topic: data, numPartitions: 3, replicationFactor: REPLICAS }] });
  const producer = kafka.producer();
  await producer.connect();
  const base = Date.now() - 60_000;
  // Partition 0: ten records; the one at offset 5 has the greatest timestamp.
  await producer.send({
    topic: data,
    acks: -1,
    messages: Array.from({ length: 10 }, (_, i) => ({
      partition: 0,
      value: `v${i}`,
      timestamp: String(i === 5 ? base + 50_000 : base + i),
    })),
  });
  await producer.disconnect();

  await step('manualAssignment', async () => {
    const a = ids.slice(0, Math.min(2, ids.length));
    const b = ids.slice(-Math.min(2, ids.length)).reverse();
    await kadmin.createTopics({
      topics: [
        {
          topic: manual,
          replicaAssignment: [
            { partition: 0, replicas: a },
            { partition: 1, replicas: b },
          ],
        },
      ],
    });
    const md = await kadmin.fetchTopicMetadata({ topics: [manual] });
    return {
      asked: [a, b],
      got: md.topics[0].partitions.sort((x, y) => x.partitionId - y.partitionId).map((p) => p.replicas),
    };
  });

  await step('deleteRecords', async () => {
    // kafkajs finds partition leaders in its metadata cache: load the topic into it first.
    await kadmin.fetchTopicMetadata({ topics: [data] });
    await kadmin.deleteTopicRecords({ topic: data, partitions: [{ partition: 0, offset: '2' }] });
    const low = (await kadmin.fetchTopicOffsets(data)).find((p) => p.partition === 0).low;
    let beyond;
    try {
      await kadmin.deleteTopicRecords({ topic: data, partitions: [{ partition: 0, offset: '1000' }] });
      beyond = 'accepted';
    } catch (e) {
      // kafkajs wraps its KafkaJSDeleteTopicRecordsError (the partitions' errors) after its retries.
      const inner = e?.partitions !== undefined ? e : e?.cause;
      beyond = {
        type: inner?.name,
        partitions: (inner?.partitions ?? []).map((p) => [p.partition, p.error?.type]),
      };
    }
    return { low: Number(low), beyond };
  });

  await step('describeConfigsDefaults', async () => {
    const r = await kadmin.describeConfigs({
      resources: [
        {
          type: kafkajs.ConfigResourceTypes.TOPIC,
          name: data,
          configNames: ['retention.ms', 'segment.bytes'],
        },
      ],
      includeSynonyms: false,
    });
    return r.resources[0].configEntries.map((c) => [c.configName, c.isDefault, c.configSource]);
  });

  await step('brokerConfigAtRunTime', async () => {
    // Every broker's own value (IncrementalAlterConfigs on each BROKER resource, @platformatic/kafka);
    // topics without their own retention follow it, whichever broker answers.
    const setAll = (op, value) =>
      padmin.incrementalAlterConfigs({
        resources: ids.map((id) => ({
          resourceType: 4,
          resourceName: String(id),
          configs: [{ name: 'log.retention.ms', configOperation: op, ...(value ? { value } : {}) }],
        })),
      });
    await setAll(0, '86400000');
    const d = await padmin.describeConfigs({
      resources: [{ resourceType: 4, resourceName: String(ids[0]), configurationKeys: ['log.retention.ms'] }],
      includeSynonyms: true,
    });
    const c = d[0].configs.find((x) => x.name === 'log.retention.ms');
    const t = await kadmin.describeConfigs({
      resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: data, configNames: ['retention.ms'] }],
      includeSynonyms: false,
    });
    const topicEntry = t.resources[0].configEntries[0];
    await setAll(1);
    return {
      brokerValue: c?.value,
      brokerSource: c?.configSource,
      topicRetention: topicEntry.configValue,
      topicSource: topicEntry.configSource,
    };
  });

  await step('describeLogDirs', async () => {
    await new Promise((r) => setTimeout(r, 200));
    const r = await padmin.describeLogDirs({ topics: [{ name: data, partitions: [0, 1, 2] }] });
    const sizes = {};
    for (const b of r)
      for (const dir of b.results)
        for (const t of dir.topics)
          for (const p of t.partitions) sizes[`${b.broker}:${p.partitionIndex}`] = Number(p.partitionSize);
    return { brokers: r.length, sizes };
  });

  await step('listOffsetsMaxTimestamp', async () => {
    const consumer = new Consumer({
      groupId: `${prefix}-lo`,
      clientId: 'admin-surface',
      bootstrapBrokers: brokers,
    });
    try {
      const r = await consumer.listOffsets({ topics: [data], partitions: { [data]: [0] }, timestamp: -3n });
      return Number((r.get(data) ?? [])[0]);
    } finally {
      await consumer.close();
    }
  });

  await step('groupsAndOffsetDelete', async () => {
    await kadmin.setOffsets({
      groupId: group,
      topic: data,
      partitions: [
        { partition: 0, offset: '4' },
        { partition: 1, offset: '0' },
      ],
    });
    const empty = await padmin.listGroups({ states: ['EMPTY'] });
    const stable = await padmin.listGroups({ states: ['STABLE'] });
    const described = await padmin.describeGroups({ groups: [group], includeAuthorizedOperations: true });
    const g = described.get(group);
    await padmin.deleteConsumerGroupOffsets({
      groupId: group,
      topics: [{ name: data, partitionIndexes: [0] }],
    });
    const after = await kadmin.fetchOffsets({ groupId: group, topics: [data] });
    return {
      listedEmpty: empty.has(group),
      listedStable: stable.has(group),
      authorizedOperations: g?.authorizedOperations,
      offsetsAfterDelete: after[0].partitions
        .sort((a, b) => a.partition - b.partition)
        .map((p) => Number(p.offset)),
    };
  });

  await step('newQuotas', async () => {
    await padmin.alterClientQuotas({
      entries: [
        {
          entities: [{ entityType: 'ip', entityName: '10.9.8.7' }],
          ops: [{ key: 'connection_creation_rate', value: 20, remove: false }],
        },
        {
          entities: [{ entityType: 'client-id', entityName: `${prefix}-ctl` }],
          ops: [{ key: 'controller_mutation_rate', value: 5, remove: false }],
        },
      ],
    });
    const ip = await padmin.describeClientQuotas({
      components: [{ entityType: 'ip', matchType: 0, match: '10.9.8.7' }],
      strict: true,
    });
    const client = await padmin.describeClientQuotas({
      components: [{ entityType: 'client-id', matchType: 0, match: `${prefix}-ctl` }],
      strict: true,
    });
    await padmin.alterClientQuotas({
      entries: [
        {
          entities: [{ entityType: 'ip', entityName: '10.9.8.7' }],
          ops: [{ key: 'connection_creation_rate', remove: true }],
        },
        {
          entities: [{ entityType: 'client-id', entityName: `${prefix}-ctl` }],
          ops: [{ key: 'controller_mutation_rate', remove: true }],
        },
      ],
    });
    const v = (entries) => entries.flatMap((e) => e.values.map((x) => [x.key, x.value]));
    return { ip: v(ip), client: v(client) };
  });
  result.ok = true;
} catch (e) {
  result.error = String(e?.stack ?? e);
} finally {
  await kadmin.disconnect().catch(() => undefined);
  await padmin.close().catch(() => undefined);
}
console.log(JSON.stringify(result));
process.exit(0);
