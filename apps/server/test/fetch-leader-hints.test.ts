// Fetch answering NOT_LEADER_OR_FOLLOWER / FENCED_LEADER_EPOCH carries KIP-951 leader hints: the
// partition's current leader (v12+) and the leaders' endpoints (v16+). Raw request frames go through
// the real dispatcher and handler table over fake services whose replica of one partition is not
// the leader (as on a raft-cluster follower).
import {
  ApiKey,
  ErrorCode,
  decodeResponseFrame,
  defaultFetchRequest,
  encodeRequestFrame,
} from '@chronik/protocol';
import type { FetchRequest, FetchResponse } from '@chronik/protocol';
import type { ReadResult } from '../src/partition/types.js';
import type { BrokerEndpoint, TopicView } from '../src/services/metadata-cache.js';
import type { ReadRequest } from '../src/services/partition-manager.js';
import { FetchSessionCache } from '../src/services/fetch-sessions.js';
import type { Services } from '../src/handlers/types.js';
import { ManualScheduler, systemRandom } from '@chronik/env';

import { DEFAULT_CONFIG } from '../src/config.js';
import { KafkaDispatcher } from '../src/handlers/dispatcher.js';
import { createHandlerTable } from '../src/handlers/table.js';
import { silentLogger } from '../src/logger.js';
import { ServerMetrics } from '../src/metrics.js';
import { KafkaError } from '../src/errors.js';
import { ALLOW_EVERYTHING } from '../src/security/authorizer.js';

const TOPIC_ID = '0f9c54a6-6c1b-4d43-9a43-3f3e5a3d0c01';
const BROKERS: BrokerEndpoint[] = [
  { nodeId: 1, host: 'node-1.example', port: 9092, rack: null },
  { nodeId: 2, host: 'node-2.example', port: 9093, rack: 'rack-b' },
  { nodeId: 3, host: 'node-3.example', port: 9094, rack: null },
];
const TOPIC: TopicView = {
  name: 'hints',
  topicId: TOPIC_ID,
  internal: false,
  configs: {},
  partitions: [
    // p0: led here (node 1); p1: led by node 2 (epoch 7); p2: led by node 3 (epoch 4); p3: no leader.
    { partition: 0, leaderId: 1, leaderEpoch: 5, replicas: [1, 2, 3], isr: [1, 2, 3], offlineReplicas: [] },
    { partition: 1, leaderId: 2, leaderEpoch: 7, replicas: [2, 3, 1], isr: [2, 3, 1], offlineReplicas: [] },
    { partition: 2, leaderId: 3, leaderEpoch: 4, replicas: [3, 1, 2], isr: [3, 1, 2], offlineReplicas: [] },
    { partition: 3, leaderId: -1, leaderEpoch: 9, replicas: [2, 3, 1], isr: [], offlineReplicas: [] },
  ],
};

/** Node 1's view: p0 is readable (epoch 5 only), the others are led elsewhere. */
function fakeServices(): Services {
  const metadata = {
    brokers: () => BROKERS,
    broker: (id: number) => BROKERS.find((b) => b.nodeId === id),
    topic: (name: string) => (name === TOPIC.name ? TOPIC : undefined),
    topicById: (id: string) => (id === TOPIC_ID ? TOPIC : undefined),
  };
  const partitions = {
    read: (req: ReadRequest): Promise<ReadResult> => {
      if (req.partition !== 0) return Promise.reject(new KafkaError('NOT_LEADER_OR_FOLLOWER'));
      if (req.currentLeaderEpoch >= 0 && req.currentLeaderEpoch < 5)
        return Promise.reject(new KafkaError('FENCED_LEADER_EPOCH'));
      return Promise.resolve({
        chunks: [],
        bytes: 0,
        highWatermark: 10n,
        lastStableOffset: 10n,
        logStartOffset: 0n,
        leaderEpoch: 5,
      });
    },
    watch: () => () => undefined,
  };
  const fetchSessions = new FetchSessionCache({
    maxSlots: 10,
    evictionMs: 1000,
    clock: new ManualScheduler(),
    random: systemRandom,
  });
  return { metadata, partitions, fetchSessions } as unknown as Services;
}

function dispatcher(): KafkaDispatcher {
  const table = createHandlerTable();
  const time = new ManualScheduler();
  return new KafkaDispatcher(
    fakeServices(),
    {
      config: DEFAULT_CONFIG,
      logger: silentLogger,
      metrics: new ServerMetrics(),
      clock: time,
      scheduler: time,
      shutdown: new AbortController().signal,
      table: () => table,
      authorizer: ALLOW_EVERYTHING,
    },
    table,
  );
}

async function fetch(
  version: number,
  partitions: Array<{ partition: number; epoch: number }>,
): Promise<FetchResponse> {
  const req: FetchRequest = {
    ...defaultFetchRequest(),
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 1 << 20,
    topics: [
      {
        topic: version <= 12 ? TOPIC.name : '',
        topicId: TOPIC_ID,
        partitions: partitions.map((p) => ({
          partition: p.partition,
          currentLeaderEpoch: p.epoch,
          fetchOffset: 0n,
          lastFetchedEpoch: -1,
          logStartOffset: -1n,
          partitionMaxBytes: 1 << 20,
          replicaDirectoryId: '00000000-0000-0000-0000-000000000000',
        })),
      },
    ],
  };
  const frame = Buffer.concat(
    encodeRequestFrame(
      { requestApiKey: ApiKey.Fetch, requestApiVersion: version, correlationId: 42, clientId: 'hints-test' },
      req,
    ),
  ).subarray(4);
  const out = await dispatcher().dispatch(frame, {
    id: 1,
    remoteAddress: 'test',
    isClosed: false,
    throttleTimeMs: () => 0,
  });
  if (out === null) throw new Error('no response');
  const bytes = out instanceof Uint8Array ? Buffer.from(out) : Buffer.concat(out.map((c) => Buffer.from(c)));
  const { header, body } = decodeResponseFrame(ApiKey.Fetch, version, bytes);
  expect(header.correlationId).toBe(42);
  return body;
}

const ALL = [
  { partition: 0, epoch: 5 },
  { partition: 1, epoch: -1 },
  { partition: 2, epoch: -1 },
  { partition: 3, epoch: -1 },
];

describe('Fetch KIP-951 leader hints', () => {
  test.each([16, 17])('v%i: current leader per partition and the named leaders’ endpoints', async (v) => {
    const res = await fetch(v, ALL);
    const parts = res.responses[0]?.partitions ?? [];
    expect(
      parts.map((p) => [
        p.partitionIndex,
        p.errorCode,
        p.currentLeader.leaderId,
        p.currentLeader.leaderEpoch,
      ]),
    ).toEqual([
      [0, ErrorCode.NONE, -1, -1],
      [1, ErrorCode.NOT_LEADER_OR_FOLLOWER, 2, 7],
      [2, ErrorCode.NOT_LEADER_OR_FOLLOWER, 3, 4],
      [3, ErrorCode.NOT_LEADER_OR_FOLLOWER, -1, -1],
    ]);
    expect(parts[0]?.highWatermark).toBe(10n);
    expect(res.nodeEndpoints).toEqual([
      { nodeId: 2, host: 'node-2.example', port: 9093, rack: 'rack-b' },
      { nodeId: 3, host: 'node-3.example', port: 9094, rack: null },
    ]);
  });

  test('FENCED_LEADER_EPOCH names the leader too (here: this node, with its newer epoch)', async () => {
    const res = await fetch(16, [{ partition: 0, epoch: 3 }]);
    const p = res.responses[0]?.partitions[0];
    expect(p?.errorCode).toBe(ErrorCode.FENCED_LEADER_EPOCH);
    expect(p?.currentLeader).toEqual({ leaderId: 1, leaderEpoch: 5 });
    expect(res.nodeEndpoints).toEqual([{ nodeId: 1, host: 'node-1.example', port: 9092, rack: null }]);
  });

  test('v12–v15: the current leader only (NodeEndpoints starts at v16)', async () => {
    for (const v of [12, 13, 15]) {
      const res = await fetch(v, ALL);
      const parts = res.responses[0]?.partitions ?? [];
      expect(parts[1]?.currentLeader).toEqual({ leaderId: 2, leaderEpoch: 7 });
      expect(parts[2]?.currentLeader).toEqual({ leaderId: 3, leaderEpoch: 4 });
      expect(res.nodeEndpoints).toEqual([]);
    }
  });

  test('before v12: the error alone', async () => {
    const res = await fetch(11, ALL);
    const parts = res.responses[0]?.partitions ?? [];
    expect(parts[1]?.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    expect(parts[1]?.currentLeader).toEqual({ leaderId: -1, leaderEpoch: -1 });
    expect(res.nodeEndpoints).toEqual([]);
  });
});
