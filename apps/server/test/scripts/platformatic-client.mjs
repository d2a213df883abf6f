// @platformatic/kafka 1.35 (ESM only, flexible versions only) against chronik-server.
// Usage: node platformatic-client.mjs BOOTSTRAP TOPIC COUNT — prints one JSON line.
import { Admin, Producer, Consumer, stringSerializers } from '@platformatic/kafka';

const [bootstrap, topic, countText] = process.argv.slice(2);
const count = Number(countText);
const result = {};
const admin = new Admin({ clientId: 'plt-admin', bootstrapBrokers: [bootstrap] });
try {
  await admin.createTopics({ topics: [topic], partitions: 2, replicas: 1 });
  const md = await admin.metadata({ topics: [topic] });
  result.partitions =
    md.topics.get(topic)?.partitionsCount ?? md.topics.get(topic)?.partitions?.length ?? null;
  const producer = new Producer({
    clientId: 'plt-producer',
    bootstrapBrokers: [bootstrap],
    serializers: stringSerializers,
    idempotent: true,
    acks: -1,
  });
  let sent = 0;
  for (let i = 0; i < count; i += 10) {
    const messages = [];
    for (let j = i; j < Math.min(count, i + 10); j++)
      messages.push({ topic, key: `k${j}`, value: `plt-${j}`, partition: j % 2 });
    await producer.send({ messages });
    sent += messages.length;
  }
  await producer.close();
  result.sent = sent;
  const consumer = new Consumer({
    groupId: 'plt-unused',
    clientId: 'plt-consumer',
    bootstrapBrokers: [bootstrap],
  });
  const offsets = await consumer.listOffsets({ topics: [topic] });
  result.latest = [...offsets.get(topic)].map(Number);
  await consumer.close();
  const cfg = await admin.describeConfigs({ resources: [{ resourceType: 2, resourceName: topic }] });
  result.retention = cfg[0]?.configs?.find((c) => c.name === 'retention.ms')?.value ?? null;
  await admin.deleteTopics({ topics: [topic] });
  result.ok = true;
} catch (e) {
  result.error = String(e?.stack ?? e);
  if (e?.errors) result.errors = e.errors.map((x) => String(x?.message ?? x));
} finally {
  await admin.close();
}
console.log(JSON.stringify(result));
