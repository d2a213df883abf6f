// @platformatic/kafka 1.35 with the consumer group protocol of KIP-848 (`groupProtocol: 'consumer'`:
// ConsumerGroupHeartbeat, server-side assignment) against chronik-server: a producer writes while
// three consumers of one group join one after the other and one of them leaves; every message is
// committed (OffsetCommit v9 with the member epoch, retried when the epoch moved). Prints one JSON
// line: what was produced and consumed, by whom, the committed offsets, and whether two open
// consumers were ever seen assigned the same partition.
// Usage: node platformatic-consumer-protocol.mjs BOOTSTRAP TOPIC GROUP [PARTITIONS] [TOTAL]
import { Admin, Consumer, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka';

const [bootstrap, topic, groupId, partitionsArg, totalArg] = process.argv.slice(2);
const PARTITIONS = Number(partitionsArg ?? 4);
const TOTAL = Number(totalArg ?? 400);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const result = { produced: 0, consumers: {}, overlaps: 0, commitRetries: 0 };
const seen = new Set();
let duplicates = 0;

async function produceAll() {
  const producer = new Producer({
    clientId: 'plt-848-producer',
    bootstrapBrokers: [bootstrap],
    serializers: stringSerializers,
    acks: -1,
  });
  const batch = 20;
  for (let from = 0; from < TOTAL; from += batch) {
    const messages = [];
    for (let i = from; i < Math.min(TOTAL, from + batch); i++)
      messages.push({ topic, key: `k${i}`, value: `v${i}`, partition: i % PARTITIONS });
    await producer.send({ messages });
    result.produced += messages.length;
    await sleep(150);
  }
  await producer.close();
}

/** Commits a message, retrying while the member epoch moves under it (STALE_MEMBER_EPOCH). */
async function commit(message) {
  for (let attempt = 0; ; attempt++) {
    try {
      await message.commit();
      return;
    } catch (e) {
      if (attempt >= 20) throw e;
      result.commitRetries++;
      await sleep(100);
    }
  }
}

const open = new Map();

function startConsumer(name) {
  const consumer = new Consumer({
    groupId,
    clientId: `plt-848-${name}`,
    bootstrapBrokers: [bootstrap],
    deserializers: stringDeserializers,
    groupProtocol: 'consumer',
    maxWaitTime: 200,
  });
  const stats = { consumed: 0, partitions: [] };
  result.consumers[name] = stats;
  const state = { consumer, stream: undefined, closed: false };
  open.set(name, state);
  state.done = (async () => {
    const stream = await consumer.consume({
      topics: [topic],
      mode: 'committed',
      fallbackMode: 'earliest',
      autocommit: false,
      maxWaitTime: 200,
    });
    state.stream = stream;
    for await (const message of stream) {
      if (seen.has(message.value)) duplicates++;
      seen.add(message.value);
      stats.consumed++;
      if (!stats.partitions.includes(message.partition)) stats.partitions.push(message.partition);
      await commit(message);
      if (state.closed) break;
    }
  })();
  return state;
}

async function stopConsumer(name) {
  const state = open.get(name);
  if (state === undefined) return;
  state.closed = true;
  open.delete(name);
  await state.stream?.close();
  await state.done.catch((e) => {
    result.errors = [...(result.errors ?? []), `${name}: ${String(e?.message ?? e)}`];
  });
  await state.consumer.close();
}

/** Two open consumers assigned the same partition at once (sampled). */
const sampler = setInterval(() => {
  const owners = new Map();
  for (const [name, { consumer }] of open) {
    for (const a of consumer.assignments ?? []) {
      for (const p of a.partitions) {
        const k = `${a.topic}-${p}`;
        if (owners.has(k) && owners.get(k) !== name) result.overlaps++;
        owners.set(k, name);
      }
    }
  }
}, 50);

const admin = new Admin({ clientId: 'plt-848-admin', bootstrapBrokers: [bootstrap] });
try {
  await admin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas: 1 });
  const producing = produceAll();
  startConsumer('c1');
  await sleep(1000);
  startConsumer('c2');
  await sleep(1000);
  startConsumer('c3');
  await sleep(2000);
  await stopConsumer('c2');
  await producing;
  const deadline = Date.now() + 40_000;
  while (seen.size < TOTAL && Date.now() < deadline) await sleep(100);
  // Let the last commits land, then read them as a member of the group.
  await sleep(500);
  const reader = open.get('c1') ?? open.get('c3');
  const committed = await reader.consumer.listCommittedOffsets({
    topics: [{ topic, partitions: Array.from({ length: PARTITIONS }, (_, i) => i) }],
  });
  result.committed = [...(committed.get(topic) ?? [])].map(Number);
  await stopConsumer('c1');
  await stopConsumer('c3');
  result.consumedUnique = seen.size;
  result.duplicates = duplicates;
  result.ok = true;
} catch (e) {
  result.error = String(e?.stack ?? e);
  if (e?.errors) result.errors = e.errors.map((x) => String(x?.message ?? x));
} finally {
  clearInterval(sampler);
  for (const name of [...open.keys()]) await stopConsumer(name).catch(() => undefined);
  await admin.close();
}
console.log(JSON.stringify(result, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)));
process.exit(0);
