// @platformatic/kafka consumers of the consumer group protocol (KIP-848, `groupProtocol:
// 'consumer'`), static when given an instance id, that a test drives from its own process (the
// client is ESM-only; one process for all of a test file's members saves their start-up). Commands
// on stdin, one a line:
//   start NAME BOOTSTRAP GROUP TOPIC [INSTANCE_ID]   a new member NAME consumes TOPIC in GROUP
//   close NAME                                       NAME leaves its group (epoch -1) and closes
//   exit                                             closes every member, then exits
// Events on stdout, one JSON line each, with the member's name: `joined` (its member id), `assigned`
// (its partitions of TOPIC, each time they change), `consumed` (a running count), `error` (the
// Kafka error code and message that ended its consume), `closed`.
// Usage: node platformatic-member.mjs
import readline from 'node:readline';
import { Consumer, stringDeserializers } from '@platformatic/kafka';

const say = (name, o) => process.stdout.write(`${JSON.stringify({ name, ...o })}\n`);
const members = new Map();

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

function start(name, bootstrap, groupId, topic, instanceId) {
  const consumer = new Consumer({
    groupId,
    clientId: `plt-${name}`,
    bootstrapBrokers: bootstrap.split(','),
    deserializers: stringDeserializers,
    groupProtocol: 'consumer',
    maxWaitTime: 200,
    retries: 3,
    ...(instanceId ? { groupInstanceId: instanceId } : {}),
  });
  const m = { consumer, stream: undefined, closing: false, last: '' };
  members.set(name, m);
  m.watch = setInterval(() => {
    const partitions = (consumer.assignments ?? [])
      .filter((a) => a.topic === topic)
      .flatMap((a) => a.partitions)
      .sort((a, b) => a - b);
    const now = JSON.stringify(partitions);
    if (consumer.memberId && now !== m.last) {
      m.last = now;
      say(name, { event: 'assigned', memberId: consumer.memberId, partitions });
    }
  }, 50);
  m.done = (async () => {
    try {
      m.stream = await consumer.consume({
        topics: [topic],
        mode: 'earliest',
        autocommit: false,
        maxWaitTime: 200,
      });
      say(name, { event: 'joined', memberId: consumer.memberId });
      let consumed = 0;
      for await (const message of m.stream)
        say(name, { event: 'consumed', count: ++consumed, partition: message.partition });
    } catch (e) {
      if (!m.closing) {
        say(name, { event: 'error', ...kafkaError(e) });
        await close(name);
      }
    }
  })();
}

async function close(name) {
  const m = members.get(name);
  if (m === undefined || m.closing) return;
  m.closing = true;
  clearInterval(m.watch);
  await m.stream?.close().catch(() => undefined);
  await m.consumer.close(true).catch(() => undefined);
  members.delete(name);
  say(name, { event: 'closed' });
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, name, ...args] = line.trim().split(/\s+/);
  if (command === 'start') start(name, ...args);
  else if (command === 'close') void close(name);
  else if (command === 'exit') void Promise.all([...members.keys()].map(close)).then(() => process.exit(0));
});
process.stdin.on('end', () => process.exit(0));
