// One @platformatic/kafka consumer of the consumer group protocol (KIP-848, `groupProtocol:
// 'consumer'`), static when given an instance id, that a test drives from its own process (the
// client is ESM-only): it prints one JSON line per event on stdout — `joined` (its member id),
// `assigned` (the partitions of its topic, each time they change), `consumed` (a running count),
// `error` (the Kafka error code and message that ended its consume), `closed` — and leaves the
// group and exits when it reads `close` on stdin.
// Usage: node platformatic-member.mjs BOOTSTRAP GROUP TOPIC [INSTANCE_ID]
import readline from 'node:readline';
import { Consumer, stringDeserializers } from '@platformatic/kafka';

const [bootstrap, groupId, topic, instanceId] = process.argv.slice(2);
const say = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

const consumer = new Consumer({
  groupId,
  clientId: 'plt-member',
  bootstrapBrokers: bootstrap.split(','),
  deserializers: stringDeserializers,
  groupProtocol: 'consumer',
  maxWaitTime: 200,
  retries: 3,
  ...(instanceId ? { groupInstanceId: instanceId } : {}),
});

let stream;
let closing = false;
async function close() {
  if (closing) return;
  closing = true;
  clearInterval(watch);
  await stream?.close().catch(() => undefined);
  await consumer.close(true).catch(() => undefined);
  say({ event: 'closed' });
  process.exit(0);
}
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'close') void close();
});

let last = '';
const watch = setInterval(() => {
  const partitions = (consumer.assignments ?? [])
    .filter((a) => a.topic === topic)
    .flatMap((a) => a.partitions)
    .sort((a, b) => a - b);
  const now = JSON.stringify(partitions);
  if (consumer.memberId && now !== last) {
    last = now;
    say({ event: 'assigned', memberId: consumer.memberId, partitions });
  }
}, 50);

/** The Kafka error under a client error (platformatic wraps them: MultipleErrors, ResponseError). */
function kafkaError(e) {
  const stack = [e];
  while (stack.length > 0) {
    const x = stack.pop();
    if (x === undefined || x === null) continue;
    if (typeof x.apiId === 'string') return { code: x.apiId, message: x.serverErrorMessage ?? x.message };
    for (const inner of x.errors ?? []) stack.push(inner);
    if (x.cause) stack.push(x.cause);
  }
  return { code: 'UNKNOWN', message: String(e?.message ?? e) };
}

try {
  stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false, maxWaitTime: 200 });
  say({ event: 'joined', memberId: consumer.memberId });
  let consumed = 0;
  for await (const message of stream)
    say({ event: 'consumed', count: ++consumed, partition: message.partition });
} catch (e) {
  if (!closing) {
    say({ event: 'error', ...kafkaError(e) });
    await close();
  }
}
