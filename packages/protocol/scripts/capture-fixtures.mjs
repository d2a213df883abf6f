#!/usr/bin/env node
// Captures the raw request frames real Kafka clients send, as golden-bytes fixtures for the codec tests.
//
//   pnpm --filter @chronik/protocol capture        (builds first; needs kcat and python3-confluent-kafka)
//
// A tiny broker on a free loopback port answers ApiVersions, Metadata, Produce and just enough of the
// group and fetch APIs (an empty partition) with this package's own codec (dist/), records every
// request frame, and runs clients against it: kafkajs (in-process producer and group consumer), kcat
// (metadata listing, a produce, a partition consume), confluent-kafka-python (a produce and a group
// consumer) and
// @platformatic/kafka (in-process producer and group consumer; flexible versions only). Consumers
// repeat Fetch in a loop: only the first frame of each (API, version) of a consumer run is kept. Each
// client's frames go to test/fixtures/<client>.json with the hex bytes and the values the client was
// asked to send (client id, topic, acks, record value), which the tests check after decoding.
// The committed fixtures are what the tests use; re-run this only to refresh them.

import { Buffer } from 'node:buffer';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import * as P from '../dist/index.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.resolve(HERE, '..', 'test', 'fixtures');
const TOPIC = 'fixture-topic';
const VALUE = 'fixture-value';
const KEY = 'fixture-key';
const GROUP = 'fixture-group';
const TIMEOUT_MS = 20_000;

function apiName(key) {
  return P.apiInfo(key)?.name ?? `api${key}`;
}

/** Starts the capture broker; `frames` collects { apiKey, apiVersion, hex } per connection's client id. */
function startBroker(frames) {
  const server = net.createServer((socket) => {
    const decoder = new P.FrameDecoder();
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk) => {
      let list;
      try {
        list = decoder.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const frame of list) {
        const ids = P.peekRequestIds(frame);
        frames.push({
          apiKey: ids.apiKey,
          apiVersion: ids.apiVersion,
          api: apiName(ids.apiKey),
          hex: frame.toString('hex'),
        });
        try {
          const reply = answer(frame, ids, server.address().port);
          if (reply) socket.write(Buffer.concat(reply));
        } catch (e) {
          process.stderr.write(
            `capture broker: cannot answer ${apiName(ids.apiKey)} v${ids.apiVersion}: ${e.message}\n`,
          );
          socket.destroy();
        }
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const ADVERTISED = [
  P.ApiKey.Produce,
  P.ApiKey.Fetch,
  P.ApiKey.ListOffsets,
  P.ApiKey.Metadata,
  P.ApiKey.OffsetCommit,
  P.ApiKey.OffsetFetch,
  P.ApiKey.FindCoordinator,
  P.ApiKey.JoinGroup,
  P.ApiKey.Heartbeat,
  P.ApiKey.LeaveGroup,
  P.ApiKey.SyncGroup,
  P.ApiKey.ApiVersions,
];
const TOPIC_ID = '0f5e2d8c-1b3a-4c5d-8e7f-9a0b1c2d3e4f';
const MEMBER_ID = 'fixture-member-1';

function answer(frame, ids, port) {
  const { apiKey, apiVersion, correlationId } = ids;
  if (apiKey === P.ApiKey.ApiVersions) {
    const apiKeys = P.API_SCHEMAS.filter((a) => ADVERTISED.includes(a.apiKey)).map((a) => ({
      apiKey: a.apiKey,
      minVersion: a.minVersion,
      maxVersion: a.maxStableVersion,
    }));
    if (!P.isSupportedVersion(apiKey, apiVersion)) {
      // ApiVersions fallback: answer v0 with UNSUPPORTED_VERSION and our range.
      return P.encodeResponseFrame(P.ApiKey.ApiVersions, 0, correlationId, {
        ...P.defaultApiVersionsResponse(),
        errorCode: P.ErrorCode.UNSUPPORTED_VERSION,
        apiKeys,
      });
    }
    return P.encodeResponseFrame(apiKey, apiVersion, correlationId, {
      ...P.defaultApiVersionsResponse(),
      apiKeys,
    });
  }
  const { body } = P.decodeRequestFrame(frame);
  if (apiKey === P.ApiKey.Metadata) {
    const names =
      body.topics === null || body.topics.length === 0 ? [TOPIC] : body.topics.map((t) => t.name ?? TOPIC);
    return P.encodeResponseFrame(apiKey, apiVersion, correlationId, {
      ...P.defaultMetadataResponse(),
      brokers: [{ nodeId: 1, host: '127.0.0.1', port, rack: null }],
      clusterId: 'fixture-cluster',
      controllerId: 1,
      topics: names.map((name) => ({
        ...P.defaultMetadataResponseTopic(),
        name,
        topicId: TOPIC_ID,
        partitions: [
          {
            ...P.defaultMetadataResponsePartition(),
            partitionIndex: 0,
            leaderId: 1,
            leaderEpoch: 0,
            replicaNodes: [1],
            isrNodes: [1],
          },
        ],
      })),
    });
  }
  if (apiKey === P.ApiKey.Produce) {
    if (body.acks === 0) return null;
    return P.encodeResponseFrame(apiKey, apiVersion, correlationId, {
      ...P.defaultProduceResponse(),
      responses: body.topicData.map((t) => ({
        ...P.defaultProduceResponseTopicProduceResponse(),
        name: t.name,
        partitionResponses: t.partitionData.map((p) => ({
          ...P.defaultProduceResponsePartitionProduceResponse(),
          index: p.index,
          baseOffset: 0n,
        })),
      })),
    });
  }
  return answerConsumer(apiKey, apiVersion, correlationId, body, port);
}

/** Just enough of a group coordinator and fetch path for a consumer to join, fetch and leave. */
function answerConsumer(apiKey, apiVersion, correlationId, body, port) {
  const reply = (b) => P.encodeResponseFrame(apiKey, apiVersion, correlationId, b);
  switch (apiKey) {
    case P.ApiKey.FindCoordinator:
      if (apiVersion < 4)
        return reply({ ...P.defaultFindCoordinatorResponse(), nodeId: 1, host: '127.0.0.1', port });
      return reply({
        ...P.defaultFindCoordinatorResponse(),
        coordinators: body.coordinatorKeys.map((key) => ({
          ...P.defaultFindCoordinatorResponseCoordinator(),
          key,
          nodeId: 1,
          host: '127.0.0.1',
          port,
        })),
      });
    case P.ApiKey.JoinGroup: {
      const protocol = body.protocols[0];
      return reply({
        ...P.defaultJoinGroupResponse(),
        generationId: 1,
        protocolType: body.protocolType,
        protocolName: protocol?.name ?? null,
        leader: MEMBER_ID,
        memberId: MEMBER_ID,
        members: [
          {
            memberId: MEMBER_ID,
            groupInstanceId: body.groupInstanceId,
            metadata: protocol?.metadata ?? Buffer.alloc(0),
          },
        ],
      });
    }
    case P.ApiKey.SyncGroup: {
      const mine = body.assignments.find((a) => a.memberId === MEMBER_ID);
      return reply({
        ...P.defaultSyncGroupResponse(),
        protocolType: body.protocolType,
        protocolName: body.protocolName,
        assignment: mine?.assignment ?? Buffer.alloc(0),
      });
    }
    case P.ApiKey.Heartbeat:
      return reply(P.defaultHeartbeatResponse());
    case P.ApiKey.LeaveGroup:
      return reply({
        ...P.defaultLeaveGroupResponse(),
        members: body.members.map((m) => ({
          ...P.defaultLeaveGroupResponseMemberResponse(),
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
        })),
      });
    case P.ApiKey.OffsetFetch: {
      const partitions = (topics, make) =>
        (topics ?? []).map((t) => ({
          name: t.name,
          partitions: t.partitionIndexes.map((i) => ({ ...make(), partitionIndex: i, committedOffset: -1n })),
        }));
      return reply({
        ...P.defaultOffsetFetchResponse(),
        topics: partitions(body.topics, P.defaultOffsetFetchResponsePartition),
        groups: body.groups.map((g) => ({
          ...P.defaultOffsetFetchResponseGroup(),
          groupId: g.groupId,
          topics: partitions(g.topics, P.defaultOffsetFetchResponsePartitions),
        })),
      });
    }
    case P.ApiKey.OffsetCommit:
      return reply({
        ...P.defaultOffsetCommitResponse(),
        topics: body.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: 0 })),
        })),
      });
    case P.ApiKey.ListOffsets:
      return reply({
        ...P.defaultListOffsetsResponse(),
        topics: body.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            ...P.defaultListOffsetsResponseListOffsetsPartitionResponse(),
            partitionIndex: p.partitionIndex,
            oldStyleOffsets: apiVersion === 0 ? [0n] : [],
            timestamp: -1n,
            offset: 0n,
          })),
        })),
      });
    case P.ApiKey.Fetch:
      // An empty partition at its end: consumers see no records, kcat -e stops.
      return reply({
        ...P.defaultFetchResponse(),
        responses: body.topics.map((t) => ({
          topic: t.topic,
          topicId: t.topicId,
          partitions: t.partitions.map((p) => ({
            ...P.defaultFetchResponsePartitionData(),
            partitionIndex: p.partition,
            highWatermark: 0n,
            lastStableOffset: 0n,
            logStartOffset: 0n,
            records: Buffer.alloc(0),
          })),
        })),
      });
    default:
      return null;
  }
}

/** Resolves when `frames` holds a request of `apiKey`, or after `timeoutMs`. */
async function waitFor(frames, apiKey, timeoutMs = 10_000) {
  const start = Date.now();
  while (!frames.some((f) => f.apiKey === apiKey) && Date.now() - start < timeoutMs) {
    await sleep(50);
  }
  if (!frames.some((f) => f.apiKey === apiKey))
    throw new Error(`no ${apiName(apiKey)} request within ${timeoutMs} ms`);
}

/** Keeps at most `max` frames per (API, version): consumers repeat Fetch and Heartbeat in a loop. */
function dedupe(frames, max = 1) {
  const seen = new Map();
  return frames.filter((f) => {
    const k = `${f.apiKey}/${f.apiVersion}`;
    const n = seen.get(k) ?? 0;
    seen.set(k, n + 1);
    return n < max;
  });
}

function run(cmd, args, options = {}) {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: TIMEOUT_MS, ...options }, (error, stdout, stderr) =>
      resolve({ error, stdout, stderr }),
    );
    if (options.input !== undefined) {
      child.stdin.end(options.input);
    }
  });
}

async function withBroker(fn) {
  const frames = [];
  const server = await startBroker(frames);
  const port = server.address().port;
  const sockets = new Set();
  server.on('connection', (c) => {
    sockets.add(c);
    c.on('close', () => sockets.delete(c));
  });
  try {
    await fn(port, frames);
  } finally {
    for (const c of sockets) c.destroy();
    await new Promise((resolve) => server.close(() => resolve()));
  }
  // Let sockets close.
  return frames;
}

async function captureKafkajs() {
  const { Kafka, logLevel } = await import('kafkajs');
  const clientId = 'chronik-fixture-kafkajs';
  const frames = await withBroker(async (port) => {
    const kafka = new Kafka({
      clientId,
      brokers: [`127.0.0.1:${port}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 1 },
    });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({ topic: TOPIC, acks: -1, timeout: 30000, messages: [{ key: KEY, value: VALUE }] });
    await producer.disconnect();
  });
  const consumerFrames = await withBroker(async (port, seen) => {
    const kafka = new Kafka({
      clientId,
      brokers: [`127.0.0.1:${port}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 1 },
    });
    const consumer = kafka.consumer({ groupId: GROUP, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({ eachMessage: async () => {} });
    await waitFor(seen, P.ApiKey.Fetch);
    await consumer.disconnect();
  });
  frames.push(...dedupe(consumerFrames));
  return {
    client: 'kafkajs',
    clientId,
    version: (await import('kafkajs/package.json', { with: { type: 'json' } })).default.version,
    acks: -1,
    frames,
  };
}

async function captureKcat() {
  const clientId = 'chronik-fixture-kcat';
  const list = await withBroker(async (port) => {
    const r = await run('kcat', ['-b', `127.0.0.1:${port}`, '-L', '-m', '10', '-X', `client.id=${clientId}`]);
    if (r.error) throw new Error(`kcat -L failed: ${r.stderr}`);
  });
  const produce = await withBroker(async (port) => {
    const r = await run(
      'kcat',
      [
        '-b',
        `127.0.0.1:${port}`,
        '-P',
        '-t',
        TOPIC,
        '-p',
        '0',
        '-K',
        ':',
        '-X',
        `client.id=${clientId}`,
        '-X',
        'acks=all',
        '-X',
        'linger.ms=0',
      ],
      { input: `${KEY}:${VALUE}\n` },
    );
    if (r.error) throw new Error(`kcat -P failed: ${r.stderr}`);
  });
  const consume = await withBroker(async (port) => {
    const r = await run('kcat', [
      '-b',
      `127.0.0.1:${port}`,
      '-C',
      '-t',
      TOPIC,
      '-p',
      '0',
      '-o',
      'beginning',
      '-e',
      '-X',
      `client.id=${clientId}`,
    ]);
    if (r.error) throw new Error(`kcat -C failed: ${r.stderr}`);
  });
  const v = await run('kcat', ['-V']);
  return {
    client: 'kcat',
    clientId,
    softwareName: 'librdkafka',
    version: (v.stdout.match(/librdkafka version ([^\s]+)/) ?? [])[1] ?? 'unknown',
    acks: -1,
    frames: [...list, ...produce, ...dedupe(consume)],
  };
}

async function capturePython() {
  const clientId = 'chronik-fixture-python';
  let version = 'unknown';
  const frames = await withBroker(async (port) => {
    const script = [
      'import confluent_kafka, sys',
      `p = confluent_kafka.Producer({"bootstrap.servers": "127.0.0.1:${port}", "client.id": "${clientId}", "acks": "1", "linger.ms": 0})`,
      `p.produce("${TOPIC}", value=b"${VALUE}", key=b"${KEY}", partition=0)`,
      'left = p.flush(15)',
      'print(confluent_kafka.version()[0], confluent_kafka.libversion()[0])',
      'sys.exit(1 if left else 0)',
    ].join('\n');
    const r = await run('/usr/bin/python3', ['-c', script]);
    if (r.error) throw new Error(`confluent-kafka-python failed: ${r.stderr}`);
    version = r.stdout.trim();
  });
  const consumerFrames = await withBroker(async (port) => {
    const script = [
      'import confluent_kafka, time',
      `c = confluent_kafka.Consumer({"bootstrap.servers": "127.0.0.1:${port}", "client.id": "${clientId}", "group.id": "${GROUP}", "auto.offset.reset": "earliest", "fetch.wait.max.ms": 100})`,
      `c.subscribe(["${TOPIC}"])`,
      'end = time.time() + 4',
      'while time.time() < end:',
      '    c.poll(0.2)',
      'c.close()',
    ].join('\n');
    const r = await run('/usr/bin/python3', ['-c', script]);
    if (r.error) throw new Error(`confluent-kafka-python consumer failed: ${r.stderr}`);
  });
  frames.push(...dedupe(consumerFrames));
  return {
    client: 'confluent-kafka-python',
    clientId,
    softwareName: 'confluent-kafka-python',
    version,
    acks: 1,
    frames,
  };
}

async function capturePlatformatic() {
  const { Producer, stringSerializers } = await import('@platformatic/kafka');
  const clientId = 'chronik-fixture-platformatic';
  const frames = await withBroker(async (port) => {
    const producer = new Producer({
      clientId,
      bootstrapBrokers: [`127.0.0.1:${port}`],
      serializers: stringSerializers,
      idempotent: false,
      acks: -1,
      retries: 0,
    });
    try {
      await producer.send({ messages: [{ topic: TOPIC, key: KEY, value: VALUE, partition: 0 }], acks: -1 });
    } finally {
      await producer.close();
    }
  });
  const consumerFrames = await withBroker(async (port, seen) => {
    const { Consumer, stringDeserializers } = await import('@platformatic/kafka');
    const consumer = new Consumer({
      groupId: GROUP,
      clientId,
      bootstrapBrokers: [`127.0.0.1:${port}`],
      deserializers: stringDeserializers,
      maxWaitTime: 100,
      retries: 0,
    });
    const stream = await consumer.consume({ topics: [TOPIC], mode: 'earliest' });
    stream.on('data', () => {});
    stream.on('error', () => {});
    await waitFor(seen, P.ApiKey.Fetch);
    await stream.close();
    await consumer.close(true);
  });
  frames.push(...dedupe(consumerFrames));
  const version = JSON.parse(
    fs.readFileSync(
      path.resolve(HERE, '..', 'node_modules', '@platformatic', 'kafka', 'package.json'),
      'utf8',
    ),
  ).version;
  return {
    client: 'platformatic-kafka',
    clientId,
    softwareName: 'platformatic-kafka',
    version,
    acks: -1,
    frames,
  };
}

function expectations(capture, frame) {
  const e = { 'header.clientId': capture.clientId };
  if (frame.apiKey === P.ApiKey.ApiVersions && frame.apiVersion >= 3)
    e['body.clientSoftwareName'] = capture.softwareName;
  const v = frame.apiVersion;
  switch (frame.apiKey) {
    case P.ApiKey.Produce:
      e['body.acks'] = capture.acks;
      e['body.topicData.0.name'] = TOPIC;
      e['body.topicData.0.partitionData.0.index'] = 0;
      break;
    case P.ApiKey.FindCoordinator:
      e[v < 4 ? 'body.key' : 'body.coordinatorKeys.0'] = GROUP;
      break;
    case P.ApiKey.JoinGroup:
      e['body.groupId'] = GROUP;
      e['body.protocolType'] = 'consumer';
      break;
    case P.ApiKey.SyncGroup:
    case P.ApiKey.LeaveGroup:
    case P.ApiKey.Heartbeat:
      e['body.groupId'] = GROUP;
      break;
    case P.ApiKey.OffsetFetch:
      e[v < 8 ? 'body.groupId' : 'body.groups.0.groupId'] = GROUP;
      break;
    case P.ApiKey.ListOffsets:
      e['body.topics.0.name'] = TOPIC;
      e['body.topics.0.partitions.0.partitionIndex'] = 0;
      break;
    case P.ApiKey.Fetch:
      e[v < 13 ? 'body.topics.0.topic' : 'body.topics.0.topicId'] = v < 13 ? TOPIC : TOPIC_ID;
      e['body.topics.0.partitions.0.partition'] = 0;
      e['body.topics.0.partitions.0.fetchOffset'] = '0n';
      break;
    default:
      break;
  }
  return e;
}

async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  for (const capture of [captureKafkajs, captureKcat, capturePython, capturePlatformatic]) {
    const c = await capture();
    const frames = c.frames.map((f) => ({
      ...f,
      expect: expectations(c, f),
      recordsContain: f.apiKey === P.ApiKey.Produce ? VALUE : undefined,
    }));
    const file = path.join(OUT, `${c.client}.json`);
    const doc = {
      about:
        'Request frames (without the length prefix) captured from a real client by scripts/capture-fixtures.mjs.',
      client: c.client,
      clientVersion: c.version,
      frames,
    };
    fs.writeFileSync(file, JSON.stringify(doc, null, 2) + '\n');
    process.stdout.write(
      `${c.client}: ${frames.map((f) => `${f.api} v${f.apiVersion}`).join(', ')} -> ${path.relative(process.cwd(), file)}\n`,
    );
  }
}

main().catch((e) => {
  process.stderr.write(`${e.stack ?? e}\n`);
  process.exit(1);
});
