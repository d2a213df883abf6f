// @platformatic/kafka 1.35 (ESM only, flexible versions only) consuming in a group against
// chronik-server: produce, consume everything in group GROUP and commit, produce more, and a new
// consumer of the same group resumes from the committed offsets.
// Usage: node platformatic-group.mjs BOOTSTRAP TOPIC GROUP — prints one JSON line.
import { Admin, Consumer, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka';

const [bootstrap, topic, groupId] = process.argv.slice(2);
const result = {};

async function produce(from, count) {
  const producer = new Producer({
    clientId: 'plt-group-producer',
    bootstrapBrokers: [bootstrap],
    serializers: stringSerializers,
    acks: -1,
  });
  const messages = [];
  for (let i = from; i < from + count; i++)
    messages.push({ topic, key: `k${i}`, value: `v${i}`, partition: i % 2 });
  await producer.send({ messages });
  await producer.close();
}

/** Consumes `expected` messages in the group, committing each, then leaves. */
async function consumeInGroup(expected) {
  const consumer = new Consumer({
    groupId,
    clientId: 'plt-group-consumer',
    bootstrapBrokers: [bootstrap],
    deserializers: stringDeserializers,
    sessionTimeout: 10000,
    heartbeatInterval: 500,
  });
  const values = [];
  let joined;
  consumer.on('consumer:group:join', (p) => {
    joined = {
      generationId: p.generationId,
      isLeader: p.isLeader,
      assignments: (p.assignments ?? []).map((a) => [a.topic, [...a.partitions].sort()]),
    };
  });
  const stream = await consumer.consume({
    topics: [topic],
    mode: 'committed',
    fallbackMode: 'earliest',
    autocommit: false,
    maxWaitTime: 200,
  });
  const timer = setTimeout(() => stream.close(), 30000);
  for await (const message of stream) {
    values.push(message.value);
    await message.commit();
    if (values.length >= expected) break;
  }
  clearTimeout(timer);
  await stream.close();
  const committed = await consumer.listCommittedOffsets({ topics: [{ topic, partitions: [0, 1] }] });
  await consumer.close();
  return { values, joined, committed: [...(committed.get(topic) ?? [])].map(Number) };
}

const admin = new Admin({ clientId: 'plt-group-admin', bootstrapBrokers: [bootstrap] });
try {
  await admin.createTopics({ topics: [topic], partitions: 2, replicas: 1 });
  await produce(0, 20);
  result.first = await consumeInGroup(20);
  await produce(20, 6);
  result.second = await consumeInGroup(6);
  const groups = await admin.describeGroups({ groups: [groupId] });
  const g = groups.get?.(groupId) ?? groups[0];
  result.state = g?.state ?? null;
  result.ok = true;
} catch (e) {
  result.error = String(e?.stack ?? e);
  if (e?.errors) result.errors = e.errors.map((x) => String(x?.message ?? x));
} finally {
  await admin.close();
}
console.log(JSON.stringify(result, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)));
