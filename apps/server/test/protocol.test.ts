// Protocol-level behaviour of the broker, with raw frames: ApiVersions (and its v0 fallback),
// unsupported versions, unknown API keys, acks=0, pipelining order, and the admin HTTP API.
import net from 'node:net';
import {
  ApiKey,
  CompressionType,
  ErrorCode,
  buildRecordBatch,
  decodeRecordBatch,
  defaultMetadataRequest,
  defaultProduceRequest,
} from '@chronik/protocol';
import { startBroker, removeDir } from './helpers/broker.js';
import { RawClient } from './helpers/raw-client.js';

let ctx: Awaited<ReturnType<typeof startBroker>>;
beforeAll(async () => {
  ctx = await startBroker();
});
afterAll(async () => {
  await ctx.stop();
  removeDir(ctx.dataDir);
});

function batch(values: string[]): Buffer {
  return buildRecordBatch({
    records: values.map((v) => ({ value: Buffer.from(v) })),
    timestampMs: 1_700_000_000_000n,
  });
}

function produceBody(topic: string, records: Buffer, acks: number) {
  return {
    ...defaultProduceRequest(),
    acks,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  };
}

describe('broker protocol behaviour', () => {
  test.each([0, 1, 2, 3, 4])('ApiVersions v%i lists the handler table', async (v) => {
    const c = await RawClient.connect(ctx.broker.kafkaPort);
    const r = await c.request(ApiKey.ApiVersions, v, {
      clientSoftwareName: 'raw',
      clientSoftwareVersion: '1',
    });
    expect(r.errorCode).toBe(0);
    const keys = r.apiKeys.map((k) => k.apiKey);
    for (const k of [
      ApiKey.Produce,
      ApiKey.Fetch,
      ApiKey.Metadata,
      ApiKey.ApiVersions,
      ApiKey.CreateTopics,
      ApiKey.FindCoordinator,
      ApiKey.InitProducerId,
      ApiKey.DescribeConfigs,
    ]) {
      expect(keys).toContain(k);
    }
    expect(r.apiKeys.find((k) => k.apiKey === ApiKey.ApiVersions)).toEqual({
      apiKey: 18,
      minVersion: 0,
      maxVersion: 4,
    });
    c.close();
  });

  test('ApiVersions at an unsupported version: a v0 answer with UNSUPPORTED_VERSION and our versions', async () => {
    const s = net.connect(ctx.broker.kafkaPort, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    // ApiVersions v99, correlation id 7, client id "x", then a flexible-looking body
    const body = Buffer.from([0, 18, 0, 99, 0, 0, 0, 7, 0, 1, 0x78, 0, 2, 0x61, 2, 0x31, 0]);
    const frame = Buffer.alloc(4 + body.length);
    frame.writeInt32BE(body.length);
    body.copy(frame, 4);
    s.write(frame);
    const data = await new Promise<Buffer>((resolve) => {
      let acc = Buffer.alloc(0);
      s.on('data', (c: Buffer) => {
        acc = Buffer.concat([acc, c]);
        if (acc.length >= 4 && acc.length >= 4 + acc.readInt32BE(0)) resolve(acc);
      });
    });
    expect(data.readInt32BE(4)).toBe(7); // correlation id, header v0
    expect(data.readInt16BE(8)).toBe(ErrorCode.UNSUPPORTED_VERSION);
    const count = data.readInt32BE(10);
    expect(count).toBeGreaterThan(10);
    s.destroy();
  });

  test('a version outside a handler range answers UNSUPPORTED_VERSION where the response can say so', async () => {
    const c = await RawClient.connect(ctx.broker.kafkaPort);
    // DescribeDelegationToken (41) has no handler: its response has a top-level error code
    const r = await c.request(ApiKey.DescribeDelegationToken, 1, { owners: null });
    expect(r.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    // the connection is still usable
    const m = await c.request(ApiKey.Metadata, 1, { ...defaultMetadataRequest(), topics: [] });
    expect(m.brokers).toHaveLength(1);
    c.close();
  });

  test('an unknown API key closes only that connection', async () => {
    const bad = await RawClient.connect(ctx.broker.kafkaPort);
    const frame = Buffer.from([0, 0, 0, 10, 0x7f, 0x00, 0, 0, 0, 0, 0, 1, 0xff, 0xff]);
    bad.socket.write(frame);
    expect(await bad.nextFrame(3000)).toBeUndefined();
    expect(bad.closed).toBe(true);
    const good = await RawClient.connect(ctx.broker.kafkaPort);
    expect(
      (await good.request(ApiKey.ApiVersions, 0, { clientSoftwareName: '', clientSoftwareVersion: '' }))
        .errorCode,
    ).toBe(0);
    good.close();
  });

  test('acks=0 gets no response, and the next response is not held back', async () => {
    const c = await RawClient.connect(ctx.broker.kafkaPort);
    await c.request(ApiKey.Metadata, 9, {
      ...defaultMetadataRequest(),
      topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: 'acks0' }],
      allowAutoTopicCreation: true,
    });
    c.send(ApiKey.Produce, 9, produceBody('acks0', batch(['fire', 'and', 'forget']), 0));
    const r = await c.request(ApiKey.Produce, 9, produceBody('acks0', batch(['answered']), 1));
    expect(r.responses[0]?.partitionResponses[0]).toMatchObject({ errorCode: 0, baseOffset: 3n });
    c.close();
  });

  test('pipelined requests are answered in order; fetch long-poll wakes on produce', async () => {
    const c = await RawClient.connect(ctx.broker.kafkaPort);
    await c.request(ApiKey.CreateTopics, 7, {
      topics: [{ name: 'poll', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    const fetchBody = {
      clusterId: null,
      replicaId: -1,
      replicaState: { replicaId: -1, replicaEpoch: -1n },
      maxWaitMs: 5000,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic: 'poll',
          topicId: '00000000-0000-0000-0000-000000000000',
          partitions: [
            {
              partition: 0,
              currentLeaderEpoch: -1,
              fetchOffset: 0n,
              lastFetchedEpoch: -1,
              logStartOffset: -1n,
              partitionMaxBytes: 1 << 20,
              replicaDirectoryId: '00000000-0000-0000-0000-000000000000',
            },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    };
    const started = Date.now();
    const fetching = c.request(ApiKey.Fetch, 11, fetchBody);
    const other = await RawClient.connect(ctx.broker.kafkaPort);
    await new Promise((r) => setTimeout(r, 100));
    await other.request(ApiKey.Produce, 8, produceBody('poll', batch(['wake']), -1));
    const f = await fetching;
    expect(Date.now() - started).toBeLessThan(3000);
    const p = f.responses[0]?.partitions[0];
    expect(p?.errorCode).toBe(0);
    expect(p?.highWatermark).toBe(1n);
    const records = decodeRecordBatch(p?.records as Buffer).records;
    expect(records.map((r) => r.value?.toString())).toEqual(['wake']);
    other.close();
    c.close();
  });

  test('legacy Produce v2 gets UNSUPPORTED_FOR_MESSAGE_FORMAT per partition; ListOffsets v0 answers old-style offsets', async () => {
    const c = await RawClient.connect(ctx.broker.kafkaPort);
    // a magic-1 message set: offset, size, crc, magic 1, ...
    const legacy = Buffer.alloc(12 + 22);
    legacy.writeInt32BE(22, 8);
    legacy.writeInt8(1, 16);
    const r = await c.request(ApiKey.Produce, 2, produceBody('legacy', legacy, 1));
    expect(r.responses[0]?.partitionResponses[0]?.errorCode).toBe(ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT);
    await c.request(ApiKey.Produce, 3, produceBody('legacy', batch(['a', 'b']), 1));
    const o = await c.request(ApiKey.ListOffsets, 0, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [
        {
          name: 'legacy',
          partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }],
        },
      ],
      timeoutMs: 0,
    });
    expect(o.topics[0]?.partitions[0]?.oldStyleOffsets).toEqual([2n]);
    c.close();
  });

  test('Fetch max_bytes: only the first partition with data may exceed it', async () => {
    const c = await RawClient.connect(ctx.broker.kafkaPort);
    await c.request(ApiKey.CreateTopics, 7, {
      topics: [{ name: 'two', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    for (const partition of [0, 1]) {
      const body = {
        ...defaultProduceRequest(),
        acks: 1,
        timeoutMs: 5000,
        topicData: [
          { name: 'two', partitionData: [{ index: partition, records: batch(['x'.repeat(500)]) }] },
        ],
      };
      await c.request(ApiKey.Produce, 9, body);
    }
    const part = (partition: number) => ({
      partition,
      currentLeaderEpoch: -1,
      fetchOffset: 0n,
      lastFetchedEpoch: -1,
      logStartOffset: -1n,
      partitionMaxBytes: 1 << 20,
      replicaDirectoryId: '00000000-0000-0000-0000-000000000000',
    });
    const f = await c.request(ApiKey.Fetch, 11, {
      clusterId: null,
      replicaId: -1,
      replicaState: { replicaId: -1, replicaEpoch: -1n },
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 10,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        { topic: 'two', topicId: '00000000-0000-0000-0000-000000000000', partitions: [part(0), part(1)] },
      ],
      forgottenTopicsData: [],
      rackId: '',
    });
    const [p0, p1] = f.responses[0]?.partitions ?? [];
    expect(p0?.records?.length).toBeGreaterThan(500);
    expect(p1?.records?.length ?? 0).toBe(0);
    expect(p1?.highWatermark).toBe(1n);
    c.close();
  });

  test('a corrupt batch (bad CRC) is CORRUPT_MESSAGE and nothing is appended', async () => {
    const c = await RawClient.connect(ctx.broker.kafkaPort);
    const b = batch(['x', 'y']);
    b.writeUInt8(b.readUInt8(b.length - 1) ^ 0xff, b.length - 1);
    const r = await c.request(ApiKey.Produce, 7, produceBody('corrupt', b, 1));
    expect(r.responses[0]?.partitionResponses[0]?.errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    const offsets = await c.request(ApiKey.ListOffsets, 5, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [
        {
          name: 'corrupt',
          partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }],
        },
      ],
      timeoutMs: 0,
    });
    expect(offsets.topics[0]?.partitions[0]?.offset).toBe(0n);
    c.close();
  });

  test('Produce v3+: two batches for one partition are INVALID_RECORD, zstd before v7 is refused; nothing is appended', async () => {
    const c = await RawClient.connect(ctx.broker.kafkaPort);
    const two = Buffer.concat([batch(['a']), batch(['b'])]);
    const r = await c.request(ApiKey.Produce, 9, produceBody('two-batches', two, 1));
    const p = r.responses[0]?.partitionResponses[0];
    expect(p?.errorCode).toBe(ErrorCode.INVALID_RECORD);
    expect(p?.errorMessage).toMatch(/exactly one record batch/);
    const zstd = buildRecordBatch({
      records: [{ value: Buffer.from('z') }],
      compression: CompressionType.Zstd,
    });
    const old = await c.request(ApiKey.Produce, 6, produceBody('two-batches', zstd, 1));
    expect(old.responses[0]?.partitionResponses[0]?.errorCode).toBe(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
    const ok = await c.request(ApiKey.Produce, 9, produceBody('two-batches', batch(['one']), 1));
    expect(ok.responses[0]?.partitionResponses[0]).toMatchObject({ errorCode: 0, baseOffset: 0n });
    c.close();
  });

  test('admin HTTP: /health, /v1/cluster, /v1/partitions, /metrics', async () => {
    const base = `http://127.0.0.1:${ctx.broker.adminPort}`;
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', nodeId: 1 });
    const cluster = (await (await fetch(`${base}/v1/cluster`)).json()) as Record<string, unknown>;
    expect(cluster).toMatchObject({
      nodeId: 1,
      mode: 'standalone',
      metadataGroup: { leaderId: 1, voters: [1] },
    });
    const parts = (await (await fetch(`${base}/v1/partitions`)).json()) as Array<Record<string, unknown>>;
    expect(parts.find((p) => p['topic'] === 'poll')).toMatchObject({
      partition: 0,
      role: 'leader',
      leader: 1,
      highWatermark: 1,
      logEndOffset: 1,
      logStartOffset: 0,
      replicas: [1],
      isr: [1],
    });
    const open = await RawClient.connect(ctx.broker.kafkaPort);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    open.close();
    expect(metrics).toMatch(/chronik_requests_total\{api="Produce",outcome="ok"\} \d+/);
    expect(metrics).toMatch(/chronik_connections [1-9]/);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});
