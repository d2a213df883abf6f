// The dispatcher and closed connections: a request whose connection is gone is not handled
// (except a produce, whose acks=0 records are meant to be written with no one listening), and one
// that finishes after its connection closed is not encoded. Real dispatcher and handler table,
// fake services.
import {
  ApiKey,
  buildRecordBatch,
  defaultFetchRequest,
  defaultProduceRequest,
  encodeRequestFrame,
} from '@chronik/protocol';
import type { ApiRequestByKey, KnownApiKey } from '@chronik/protocol';
import { DEFAULT_CONFIG } from '../src/config.js';
import { KafkaDispatcher } from '../src/handlers/dispatcher.js';
import { createHandlerTable } from '../src/handlers/table.js';
import { FetchSessionCache } from '../src/services/fetch-sessions.js';
import type { Services } from '../src/handlers/types.js';
import { ManualScheduler, systemRandom } from '@chronik/env';
import { silentLogger } from '../src/logger.js';
import { ServerMetrics } from '../src/metrics.js';
import { ALLOW_EVERYTHING } from '../src/security/authorizer.js';

const TOPIC_ID = '0f9c54a6-6c1b-4d43-9a43-3f3e5a3d0c01';

function setup() {
  const calls = { read: 0, append: 0 };
  let finishRead: (() => void) | undefined;
  const topic = {
    name: 't',
    topicId: TOPIC_ID,
    internal: false,
    configs: {},
    partitions: [{ partition: 0, leaderId: 1, leaderEpoch: 0, replicas: [1], isr: [1], offlineReplicas: [] }],
  };
  const services = {
    metadata: {
      brokers: () => [{ nodeId: 1, host: 'h', port: 9092, rack: null }],
      broker: () => undefined,
      topic: (name: string) => (name === 't' ? topic : undefined),
      topicById: (id: string) => (id === TOPIC_ID ? topic : undefined),
    },
    topics: { autoCreateEnabled: () => false },
    partitions: {
      read: () => {
        calls.read++;
        return new Promise((resolve) => {
          finishRead = () =>
            resolve({
              chunks: [],
              bytes: 0,
              highWatermark: 0n,
              lastStableOffset: 0n,
              logStartOffset: 0n,
              leaderEpoch: 0,
            });
        });
      },
      watch: () => () => undefined,
      append: () => {
        calls.append++;
        return Promise.resolve({ baseOffset: 0n, logAppendTimeMs: -1n, logStartOffset: 0n, recordCount: 0 });
      },
    },
    fetchSessions: new FetchSessionCache({
      maxSlots: 10,
      evictionMs: 1000,
      clock: new ManualScheduler(),
      random: systemRandom,
    }),
  } as unknown as Services;
  const metrics = new ServerMetrics();
  const table = createHandlerTable();
  const time = new ManualScheduler();
  const dispatcher = new KafkaDispatcher(
    services,
    {
      config: DEFAULT_CONFIG,
      logger: silentLogger,
      metrics,
      clock: time,
      scheduler: time,
      shutdown: new AbortController().signal,
      table: () => table,
      authorizer: ALLOW_EVERYTHING,
    },
    table,
  );
  return { dispatcher, calls, metrics, finishRead: () => finishRead?.() };
}

function frame<K extends KnownApiKey>(apiKey: K, version: number, body: ApiRequestByKey[K]): Buffer {
  return Buffer.concat(
    encodeRequestFrame(
      { requestApiKey: apiKey, requestApiVersion: version, correlationId: 7, clientId: 'c' },
      body,
    ),
  ).subarray(4);
}

const fetchFrame = frame(ApiKey.Fetch, 12, {
  ...defaultFetchRequest(),
  maxWaitMs: 0,
  topics: [
    {
      topic: 't',
      topicId: TOPIC_ID,
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
});

describe('dispatcher and closed connections', () => {
  test('a request of a closed connection is not handled', async () => {
    const { dispatcher, calls, metrics } = setup();
    const out = await dispatcher.dispatch(fetchFrame, {
      id: 1,
      remoteAddress: 'x:1',
      isClosed: true,
      throttleTimeMs: () => 0,
    });
    expect(out).toBeNull();
    expect(calls.read).toBe(0);
    const text = await metrics.registry.metrics();
    expect(text).toContain('chronik_requests_total{api="Fetch",outcome="connection_closed"} 1');
  });

  test('a produce of a closed connection is still written (acks=0 records were sent to be kept)', async () => {
    const { dispatcher, calls } = setup();
    const records = buildRecordBatch({ records: [{ value: Buffer.from('v') }], timestampMs: 1n });
    const produce = frame(ApiKey.Produce, 9, {
      ...defaultProduceRequest(),
      acks: 0,
      timeoutMs: 1000,
      topicData: [{ name: 't', partitionData: [{ index: 0, records }] }],
    });
    const out = await dispatcher.dispatch(produce, {
      id: 1,
      remoteAddress: 'x:1',
      isClosed: true,
      throttleTimeMs: () => 0,
    });
    expect(out).toBeNull();
    expect(calls.append).toBe(1);
  });

  test('the response of a request that finishes after its connection closed is not encoded', async () => {
    const { dispatcher, calls, finishRead } = setup();
    const conn = { id: 1, remoteAddress: 'x:1', isClosed: false, throttleTimeMs: () => 0 };
    const pending = dispatcher.dispatch(fetchFrame, conn);
    await new Promise((r) => setImmediate(r));
    expect(calls.read).toBe(1);
    conn.isClosed = true;
    finishRead();
    expect(await pending).toBeNull();
  });
});
