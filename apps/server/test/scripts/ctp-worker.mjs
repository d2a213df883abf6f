// A consume-transform-produce worker for test/e2e-txn-crash.test.ts, run as its own process so the
// test can kill it with SIGKILL at any point. kafkajs, exactly once:
// - the transactional producer connects first: its InitProducerId fences the previous instance
//   (same transactional id) and aborts its open transaction, or waits until its commit completed,
//   so the group's offsets read next are the ones the last committed transaction left;
// - a read_committed consumer in group `group` reads `input`; per chunk of `chunk` records, one
//   transaction: begin, send the transformed records to `output`, sendOffsets (the next offset of
//   the chunk) for the group, commit.
// - each transaction sends its records one output partition at a time (one Produce request to one
//   leader per send). kafkajs 2.2.4's send() keeps the answers of a request spread over several
//   leaders per broker, not per partition: when one leader's part fails and a partition already
//   acknowledged by another leader has moved before the retry, it sends that partition's records
//   again with the next sequence numbers (it advanced them on the acknowledgement), which no broker
//   can tell from new records — duplicates in a committed transaction (issue 21's cluster finding).
//   A send to one partition fails or succeeds as a whole, and its retry reuses its sequence numbers.
// Writes one JSON line per event to stdout ({ joined }, { begin }, { committed }); any error ends
// the process with code 3 (the test starts a new one, as a supervisor would).
//
// Usage: node ctp-worker.mjs <brokers,comma,separated> <input> <output> <group> <transactionalId> <chunk> <outputPartitions>
import kafkajs from 'kafkajs';

const { Kafka, Partitioners, logLevel } = kafkajs;
const [
  brokers = '',
  input = '',
  output = '',
  group = '',
  transactionalId = '',
  chunkArg = '20',
  outputPartitionsArg = '3',
] = process.argv.slice(2);
const chunk = Number(chunkArg);
// The output partition of a record is the one kafkajs' default partitioner picks for its key.
const partitionOf = Partitioners.DefaultPartitioner();
const outputPartitions = Array.from({ length: Number(outputPartitionsArg) }, (_, i) => ({
  partitionId: i,
  leader: 0,
}));
/** The transformed records of `part`, per output partition, in partition order. */
const perPartition = (part) => {
  const by = new Map();
  for (const m of part) {
    const message = { key: m.key, value: `out-${m.value?.toString() ?? ''}` };
    const partition = partitionOf({ topic: output, partitionMetadata: outputPartitions, message });
    by.set(partition, [...(by.get(partition) ?? []), { ...message, partition }]);
  }
  return [...by].sort(([a], [b]) => a - b);
};

const say = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const die = (where, e) => {
  say({ error: `${where}: ${e instanceof Error ? `${e.name} ${e.message}` : String(e)}` });
  process.exit(3);
};
process.on('unhandledRejection', (e) => die('unhandled', e));

const kafka = new Kafka({
  clientId: 'ctp-worker',
  brokers: brokers.split(','),
  logLevel: logLevel.NOTHING,
  connectionTimeout: 2000,
  requestTimeout: 10_000,
  retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 30 },
});
const producer = kafka.producer({
  transactionalId,
  idempotent: true,
  maxInFlightRequests: 1,
  transactionTimeout: 30_000,
});
const consumer = kafka.consumer({
  groupId: group,
  readUncommitted: false,
  sessionTimeout: 6000,
  heartbeatInterval: 500,
  retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 30 },
});
consumer.on(consumer.events.GROUP_JOIN, (e) => say({ joined: e.payload.memberId }));
consumer.on(consumer.events.CRASH, (e) => die('consumer crash', e.payload.error));

try {
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic: input, fromBeginning: true });
} catch (e) {
  die('connect', e);
}

let committed = 0;
await consumer.run({
  autoCommit: false,
  eachBatchAutoResolve: false,
  eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
    for (let i = 0; i < batch.messages.length; i += chunk) {
      if (!isRunning() || isStale()) return;
      const part = batch.messages.slice(i, i + chunk);
      const last = part[part.length - 1];
      say({ begin: batch.partition, offset: part[0].offset });
      try {
        const txn = await producer.transaction();
        for (const [, messages] of perPartition(part)) await txn.send({ topic: output, messages });
        await txn.sendOffsets({
          consumerGroupId: group,
          topics: [
            {
              topic: input,
              partitions: [{ partition: batch.partition, offset: String(BigInt(last.offset) + 1n) }],
            },
          ],
        });
        await txn.commit();
      } catch (e) {
        die('transaction', e);
      }
      committed += part.length;
      say({ committed, partition: batch.partition, next: String(BigInt(last.offset) + 1n) });
      resolveOffset(last.offset);
      await heartbeat();
    }
  },
});
