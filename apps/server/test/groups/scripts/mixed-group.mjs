// Kafka 4's mixed groups (KIP-848 online upgrade) with real clients against chronik-server: one
// group id, classic members (kafkajs, and confluent-kafka-python in a child process) and members of
// the consumer protocol (@platformatic/kafka, `groupProtocol: 'consumer'`) at once.
//   1. kafkajs k1 starts the group (classic, Stable) while a producer writes;
//   2. platformatic p1 joins with ConsumerGroupHeartbeat: the running classic group is upgraded;
//   3. confluent-kafka-python (classic) and kafkajs k2 join the consumer group;
//   4. k1 leaves (LeaveGroup), then p1 leaves: the group is converted back to a classic group
//      (Kafka 4's downgrade) and rebalances; the classic members go on alone, python or k2 leading
//      it. Classic members of one group need a protocol in common (Kafka refuses one without):
//      kafkajs runs a range assignor named as librdkafka's (`range`).
// Every member commits each record it processes, and counts it as consumed once the commit is
// answered: a record counted twice was delivered to two members past a committed offset. Prints one JSON line: produced, consumed by whom,
// duplicates, the committed offsets, and the group as ConsumerGroupDescribe saw it while mixed.
// Usage: node mixed-group.mjs BOOTSTRAP[,BOOTSTRAP…] TOPIC GROUP [PARTITIONS] [TOTAL] [REPLICAS] [--no-python]
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Admin, Consumer, stringDeserializers } from '@platformatic/kafka';
import kafkajs from 'kafkajs';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const withPython = !process.argv.includes('--no-python');
const [bootstrapList, topic, groupId, partitionsArg, totalArg, replicasArg] = args;
const brokers = bootstrapList.split(',');
const REPLICAS = Number(replicasArg ?? 1);
const PARTITIONS = Number(partitionsArg ?? 6);
const TOTAL = Number(totalArg ?? 600);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const here = path.dirname(fileURLToPath(import.meta.url));
const result = { produced: 0, consumers: {}, errors: [] };
const seen = new Map();
let duplicates = 0;

function consumed(name, value) {
  const stats = (result.consumers[name] ??= { consumed: 0 });
  stats.consumed++;
  if (seen.has(value)) {
    duplicates++;
    const k = `${seen.get(value)}->${name}`;
    (result.duplicatesBy ??= {})[k] = (result.duplicatesBy[k] ?? 0) + 1;
  }
  seen.set(value, name);
}

const kafka = new kafkajs.Kafka({
  clientId: 'mixed-kafkajs',
  brokers,
  logLevel: kafkajs.logLevel.NOTHING,
  retry: { retries: 10, initialRetryTime: 100 },
});

/** Range assignment under the protocol name librdkafka uses, so kafkajs and python share it. */
const RangeAssigner = ({ cluster }) => ({
  name: 'range',
  version: 0,
  protocol: ({ topics }) => ({
    name: 'range',
    metadata: kafkajs.AssignerProtocol.MemberMetadata.encode({
      version: 0,
      topics,
      userData: Buffer.alloc(0),
    }),
  }),
  async assign({ members, topics }) {
    const ids = members.map((m) => m.memberId).sort();
    const plan = new Map(ids.map((id) => [id, {}]));
    for (const t of topics) {
      const subscribed = members
        .filter((m) => kafkajs.AssignerProtocol.MemberMetadata.decode(m.memberMetadata).topics.includes(t))
        .map((m) => m.memberId)
        .sort();
      const partitions = cluster
        .findTopicPartitionMetadata(t)
        .map((p) => p.partitionId)
        .sort((a, b) => a - b);
      const per = Math.floor(partitions.length / subscribed.length);
      const extra = partitions.length % subscribed.length;
      let next = 0;
      subscribed.forEach((id, i) => {
        const n = per + (i < extra ? 1 : 0);
        plan.get(id)[t] = partitions.slice(next, next + n);
        next += n;
      });
    }
    return ids.map((memberId) => ({
      memberId,
      memberAssignment: kafkajs.AssignerProtocol.MemberAssignment.encode({
        version: 0,
        assignment: plan.get(memberId),
        userData: Buffer.alloc(0),
      }),
    }));
  },
});

async function startKafkajs(name) {
  const consumer = kafka.consumer({
    groupId,
    heartbeatInterval: 500,
    sessionTimeout: 10_000,
    partitionAssigners: [RangeAssigner],
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
      consumed(name, message.value.toString());
    },
  });
  return consumer;
}

function startPlatformatic(name) {
  const consumer = new Consumer({
    groupId,
    clientId: `mixed-${name}`,
    bootstrapBrokers: brokers,
    deserializers: stringDeserializers,
    groupProtocol: 'consumer',
    maxWaitTime: 200,
  });
  const state = { consumer, stream: undefined, closed: false };
  state.done = (async () => {
    const stream = await consumer.consume({
      topics: [topic],
      mode: 'committed',
      fallbackMode: 'earliest',
      autocommit: false,
      maxWaitTime: 200,
    });
    state.stream = stream;
    stream.on('error', (e) => result.errors.push(`${name} stream: ${String(e?.message ?? e)}`));
    for await (const message of stream) {
      for (let attempt = 0; ; attempt++) {
        try {
          await message.commit();
          consumed(name, message.value);
          break;
        } catch (e) {
          // Leaving: the record is not processed; its next owner reads it from the last commit.
          if (state.closed) break;
          if (attempt >= 20) throw e;
          await sleep(100);
        }
      }
      if (state.closed) break;
    }
  })();
  return state;
}

async function stopPlatformatic(state) {
  state.closed = true;
  await state.stream?.close();
  await state.done.catch((e) => result.errors.push(`platformatic: ${String(e?.message ?? e)}`));
  await state.consumer.close();
}

function startPython(name) {
  const child = spawn(
    '/usr/bin/python3',
    [path.join(here, 'classic_member.py'), bootstrapList, topic, groupId],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const state = { child, closed: new Promise((r) => child.on('close', r)), assignments: 0 };
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    const m = JSON.parse(line);
    if (m.v !== undefined) consumed(name, m.v);
    if (m.assigned !== undefined) state.assignments++;
    if (m.error !== undefined) result.errors.push(`${name}: ${m.error}`);
  });
  child.stderr.on('data', (c) => result.errors.push(`${name} stderr: ${c.toString().slice(0, 300)}`));
  return state;
}

async function produceAll() {
  // kafkajs: @platformatic/kafka 1.35 cannot parse a Produce v11 answer carrying
  // NOT_LEADER_OR_FOLLOWER with its KIP-951 leader hint (a cluster's leader change).
  const producer = kafka.producer();
  await producer.connect();
  const batch = 20;
  for (let from = 0; from < TOTAL; from += batch) {
    const messages = [];
    for (let i = from; i < Math.min(TOTAL, from + batch); i++)
      messages.push({ key: `k${i}`, value: `v${i}`, partition: i % PARTITIONS });
    await producer.send({ topic, messages, acks: -1 });
    result.produced += messages.length;
    // Spread over ~15 s, so that every phase of the group has records to consume.
    await sleep(15_000 / (TOTAL / batch));
  }
  await producer.disconnect();
}

process.on('unhandledRejection', (e) => result.errors.push(`unhandled: ${String(e?.message ?? e)}`));
const admin = new Admin({ clientId: 'mixed-admin', bootstrapBrokers: brokers });
let python;
let consumedWhenClassic = 0;
const t0 = Date.now();
const phase = (name) => ((result.phasesMs ??= {})[name] = Date.now() - t0);
try {
  await admin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas: REPLICAS });
  // Every partition led, and the leaders settled (@platformatic/kafka 1.35 gives up a consumer on
  // a Fetch answered NOT_LEADER_OR_FOLLOWER).
  const kadmin0 = kafka.admin();
  await kadmin0.connect();
  for (let i = 0; i < 100; i++) {
    const md = await kadmin0.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
    const ps = md?.topics[0]?.partitions ?? [];
    if (ps.length === PARTITIONS && ps.every((p) => p.leader >= 0)) break;
    await sleep(100);
  }
  await kadmin0.disconnect();
  await sleep(REPLICAS > 1 ? 2000 : 0);
  const producing = produceAll();
  const k1 = await startKafkajs('kafkajs-1');
  phase('k1');
  await sleep(2500);
  const p1 = startPlatformatic('platformatic');
  await sleep(2500);
  if (withPython) python = startPython('python');
  const k2 = await startKafkajs('kafkajs-2');
  phase('k2');
  await sleep(4000);
  // While mixed: the coordinator's view (ConsumerGroupDescribe through a raw request is not in
  // the clients' admin APIs; the broker's ListGroups type tells it is a consumer group).
  const listed = await admin.listGroups({ types: ['consumer'] }).catch((e) => String(e));
  result.listedAsConsumer = listed instanceof Map ? listed.has(groupId) : listed;
  await k1.disconnect();
  await sleep(2000);
  await stopPlatformatic(p1);
  phase('p1stopped');
  // The last consumer-protocol member left: a classic group again (ListGroups' type).
  for (let i = 0; i < 50 && result.listedAsClassic !== true; i++) {
    const classic = await admin.listGroups({ types: ['classic'] }).catch(() => new Map());
    result.listedAsClassic = classic.has(groupId);
    if (!result.listedAsClassic) await sleep(100);
  }
  consumedWhenClassic = seen.size;
  await producing;
  phase('produced');
  const deadline = Date.now() + 40_000;
  while (seen.size < TOTAL && Date.now() < deadline) await sleep(200);
  phase('allConsumed');
  await sleep(1500);
  const kadmin = kafka.admin();
  await kadmin.connect();
  const offsets = await kadmin.fetchOffsets({ groupId, topics: [topic] });
  await kadmin.disconnect();
  result.committed = (offsets[0]?.partitions ?? [])
    .sort((a, b) => a.partition - b.partition)
    .map((p) => Number(p.offset));
  await k2.disconnect();
  if (python !== undefined) {
    python.child.kill('SIGTERM');
    await python.closed;
    result.pythonAssignments = python.assignments;
  }
  result.consumedUnique = seen.size;
  // The classic members went on consuming once the group was classic again.
  result.consumedAfterDowngrade = seen.size - consumedWhenClassic;
  result.duplicates = duplicates;
  result.ok = true;
} catch (e) {
  result.error = String(e?.stack ?? e);
  if (e?.errors) result.errors.push(...e.errors.map((x) => String(x?.message ?? x)));
} finally {
  if (python !== undefined && python.child.exitCode === null) python.child.kill('SIGKILL');
  await admin.close();
}
console.log(
  JSON.stringify(result, (_k, v) =>
    typeof v === 'bigint' ? Number(v) : v instanceof Map ? Object.fromEntries(v) : v,
  ),
);
process.exit(0);
