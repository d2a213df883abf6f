// Incremental fetch sessions (KIP-227) at the wire level, as the Java client and franz-go use them:
// a full fetch opens a session, incremental fetches send only changes and get only partitions with
// something new, by topic name (v12) and by topic id (v13+), with Kafka's session errors.
import {
  ApiKey,
  ErrorCode,
  buildRecordBatch,
  defaultFetchRequest,
  defaultFetchRequestFetchPartition,
  defaultProduceRequest,
} from '@chronik/protocol';
import { removeDir, startBroker } from './helpers/broker.js';
import { RawClient } from './helpers/raw-client.js';

const ZERO = '00000000-0000-0000-0000-000000000000';

let ctx: Awaited<ReturnType<typeof startBroker>>;
let c: RawClient;
let topicId: string;

beforeAll(async () => {
  ctx = await startBroker();
  c = await RawClient.connect(ctx.broker.kafkaPort);
  const created = await c.request(ApiKey.CreateTopics, 7, {
    topics: [{ name: 's', numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  topicId = created.topics[0]?.topicId ?? ZERO;
});
afterAll(async () => {
  c.close();
  await ctx.stop();
  removeDir(ctx.dataDir);
});

async function produce(partition: number, value: string): Promise<void> {
  const r = await c.request(ApiKey.Produce, 9, {
    ...defaultProduceRequest(),
    acks: -1,
    timeoutMs: 5000,
    topicData: [
      {
        name: 's',
        partitionData: [
          { index: partition, records: buildRecordBatch({ records: [{ value: Buffer.from(value) }] }) },
        ],
      },
    ],
  });
  expect(r.responses[0]?.partitionResponses[0]?.errorCode).toBe(0);
}

function fetch(
  version: number,
  sessionId: number,
  sessionEpoch: number,
  partitions: Array<[number, bigint]>,
  forgotten: number[] = [],
) {
  const byId = version >= 13;
  return c.request(ApiKey.Fetch, version, {
    ...defaultFetchRequest(),
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    sessionId,
    sessionEpoch,
    topics:
      partitions.length === 0
        ? []
        : [
            {
              topic: byId ? '' : 's',
              topicId: byId ? topicId : ZERO,
              partitions: partitions.map(([partition, fetchOffset]) => ({
                ...defaultFetchRequestFetchPartition(),
                partition,
                fetchOffset,
                partitionMaxBytes: 1 << 20,
              })),
            },
          ],
    forgottenTopicsData:
      forgotten.length === 0
        ? []
        : [{ topic: byId ? '' : 's', topicId: byId ? topicId : ZERO, partitions: forgotten }],
  });
}

const answered = (r: Awaited<ReturnType<typeof fetch>>) =>
  r.responses.flatMap((t) =>
    t.partitions.map((p) => [p.partitionIndex, p.highWatermark, (p.records?.length ?? 0) > 0]),
  );

test.each([12, 13])(
  'Fetch v%i: a session answers only what changed; forgotten partitions leave it',
  async (v) => {
    const base = await c.request(ApiKey.ListOffsets, 7, {
      replicaId: -1,
      isolationLevel: 0,
      timeoutMs: 0,
      topics: [
        {
          name: 's',
          partitions: [0, 1, 2].map((p) => ({
            partitionIndex: p,
            currentLeaderEpoch: -1,
            timestamp: -1n,
            maxNumOffsets: 1,
          })),
        },
      ],
    });
    const end = base.topics[0]?.partitions.map((p) => p.offset) ?? [];
    const full = await fetch(v, 0, 0, [
      [0, end[0] as bigint],
      [1, end[1] as bigint],
      [2, end[2] as bigint],
    ]);
    expect(full.errorCode).toBe(0);
    expect(full.sessionId).toBeGreaterThan(0);
    expect(answered(full)).toHaveLength(3);
    const id = full.sessionId;
    // Nothing new: an empty answer, same session.
    const idle = await fetch(v, id, 1, []);
    expect(idle).toMatchObject({ errorCode: 0, sessionId: id });
    expect(answered(idle)).toEqual([]);
    // A record on partition 1: only it is answered, with the record.
    await produce(1, `v${v}`);
    const one = await fetch(v, id, 2, []);
    expect(answered(one)).toEqual([[1, (end[1] as bigint) + 1n, true]]);
    // The client moves its offset on partition 1 and forgets partition 2.
    const moved = await fetch(v, id, 3, [[1, (end[1] as bigint) + 1n]], [2]);
    expect(answered(moved)).toEqual([]);
    await produce(2, 'not asked');
    await produce(0, 'asked');
    const after = await fetch(v, id, 4, []);
    expect(answered(after)).toEqual([[0, (end[0] as bigint) + 1n, true]]);
    // Closing: epoch -1 is a full fetch without a session.
    const closed = await fetch(v, id, -1, [[0, 0n]]);
    expect(closed.sessionId).toBe(0);
    expect((await fetch(v, id, 5, [])).errorCode).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  },
);

test('session errors: unknown id, wrong epoch, topic ids changed mid-session', async () => {
  expect((await fetch(12, 123456, 1, [])).errorCode).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  const full = await fetch(12, 0, 0, [[0, 0n]]);
  expect((await fetch(12, full.sessionId, 7, [])).errorCode).toBe(ErrorCode.INVALID_FETCH_SESSION_EPOCH);
  expect((await fetch(13, full.sessionId, 1, [])).errorCode).toBe(ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR);
});
