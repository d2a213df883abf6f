// The own load generator against a fake broker (real sockets, real @chronik/protocol frames): it
// sends exactly the records it reports, with valid batches, many requests in flight, and counts a
// broker error as a failure.
import * as net from 'node:net';
import {
  ApiKey,
  ErrorCode,
  FrameDecoder,
  decodeRequestFrame,
  defaultMetadataResponse,
  defaultMetadataResponseBroker,
  defaultMetadataResponsePartition,
  defaultMetadataResponseTopic,
  defaultProduceResponse,
  defaultProduceResponsePartitionProduceResponse,
  encodeResponseFrame,
  splitRecordBatches,
  validateRecordBatch,
} from '@chronik/protocol';
import type { MetadataRequest, ProduceRequest } from '@chronik/protocol';
import { runProduce } from '../src/index.js';

interface FakeBroker {
  port: number;
  records: Map<number, number>;
  maxInFlight: number;
  produceRequests: number;
  close(): Promise<void>;
}

async function fakeBroker(
  partitions: number,
  failWith: number = ErrorCode.NONE,
  failFirst = Number.MAX_SAFE_INTEGER,
): Promise<FakeBroker> {
  const state = { records: new Map<number, number>(), maxInFlight: 0, produceRequests: 0 };
  const sockets = new Set<net.Socket>();
  let port = 0;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const decoder = new FrameDecoder();
    let inFlight = 0;
    socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) {
        const { header, body } = decodeRequestFrame(frame);
        inFlight++;
        state.maxInFlight = Math.max(state.maxInFlight, inFlight);
        let chunks: Buffer[];
        if (header.requestApiKey === ApiKey.Metadata) {
          const req = body as MetadataRequest;
          chunks = encodeResponseFrame(ApiKey.Metadata, header.requestApiVersion, header.correlationId, {
            ...defaultMetadataResponse(),
            brokers: [{ ...defaultMetadataResponseBroker(), nodeId: 1, host: '127.0.0.1', port }],
            topics: (req.topics ?? []).map((t) => ({
              ...defaultMetadataResponseTopic(),
              name: t.name,
              partitions: Array.from({ length: partitions }, (_, i) => ({
                ...defaultMetadataResponsePartition(),
                partitionIndex: i,
                leaderId: 1,
                replicaNodes: [1],
                isrNodes: [1],
              })),
            })),
          });
        } else if (header.requestApiKey === ApiKey.Produce) {
          state.produceRequests++;
          const req = body as ProduceRequest;
          const code = state.produceRequests <= failFirst ? failWith : ErrorCode.NONE;
          const responses = req.topicData.map((t) => ({
            name: t.name,
            partitionResponses: t.partitionData.map((p) => {
              let n = 0;
              for (const b of splitRecordBatches(p.records!))
                n += validateRecordBatch(b.bytes, { checkCrc: true }).recordCount;
              if (code === ErrorCode.NONE) state.records.set(p.index, (state.records.get(p.index) ?? 0) + n);
              return { ...defaultProduceResponsePartitionProduceResponse(), index: p.index, errorCode: code };
            }),
          }));
          chunks = encodeResponseFrame(ApiKey.Produce, header.requestApiVersion, header.correlationId, {
            ...defaultProduceResponse(),
            responses,
          });
        } else {
          throw new Error(`unexpected API key ${header.requestApiKey}`);
        }
        // Answer a little later so that requests pile up, in order.
        setTimeout(() => {
          inFlight--;
          socket.write(Buffer.concat(chunks));
        }, 2);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as net.AddressInfo).port;
  return {
    port,
    get records() {
      return state.records;
    },
    get maxInFlight() {
      return state.maxInFlight;
    },
    get produceRequests() {
      return state.produceRequests;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

const total = (m: Map<number, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

describe('runProduce against a fake broker', () => {
  it('max mode: pipelines requests and sends exactly the records it reports, over every partition', async () => {
    const broker = await fakeBroker(3);
    try {
      const r = await runProduce({
        bootstrap: { host: '127.0.0.1', port: broker.port },
        topic: 't',
        partitions: 3,
        recordBytes: 1024,
        acks: 1,
        records: 3000,
        inFlight: 8,
        requestBytes: 48 * 1024,
      });
      expect(r.error).toBeUndefined();
      expect(r.ok).toBe(true);
      expect(r.msgs).toBeGreaterThanOrEqual(3000);
      expect(total(broker.records)).toBe(r.msgs);
      expect([...broker.records.keys()].sort()).toEqual([0, 1, 2]);
      expect(broker.maxInFlight).toBeGreaterThan(1);
      expect(broker.maxInFlight).toBeLessThanOrEqual(8);
      expect(r.bytes).toBe(r.msgs * 1024);
      expect(r.p50Ms).toBeGreaterThan(0);
      expect(r.p999Ms!).toBeGreaterThanOrEqual(r.p50Ms!);
    } finally {
      await broker.close();
    }
  });

  it('fixed-rate mode: sends exactly the requested records at about the requested rate', async () => {
    const broker = await fakeBroker(2);
    try {
      const r = await runProduce({
        bootstrap: { host: '127.0.0.1', port: broker.port },
        topic: 't',
        partitions: 2,
        recordBytes: 256,
        acks: -1,
        records: 600,
        ratePerSec: 2000,
        maxScheduleLagMs: 60_000,
      });
      expect(r.error).toBeUndefined();
      expect(r.ok).toBe(true);
      expect(r.msgs).toBe(600);
      expect(total(broker.records)).toBe(600);
      expect(broker.records.get(0)).toBe(300);
      // 600 records at 2000/s take at least 0.3 s (scheduling may stretch it on a busy machine).
      expect(r.seconds).toBeGreaterThanOrEqual(0.29);
      expect(broker.produceRequests).toBeGreaterThan(10);
    } finally {
      await broker.close();
    }
  });

  it('counts a partition error as a failure and names it', async () => {
    const broker = await fakeBroker(1, ErrorCode.CORRUPT_MESSAGE);
    try {
      const r = await runProduce({
        bootstrap: { host: '127.0.0.1', port: broker.port },
        topic: 't',
        partitions: 1,
        recordBytes: 100,
        acks: 1,
        records: 500,
      });
      expect(r.ok).toBe(false);
      expect(r.errors).toBeGreaterThan(0);
      expect(r.error).toContain('CORRUPT_MESSAGE');
    } finally {
      await broker.close();
    }
  });

  it('follows a leader move as a client does: refresh, reconnect, send the rejected records again', async () => {
    const broker = await fakeBroker(2, ErrorCode.NOT_LEADER_OR_FOLLOWER, 3);
    try {
      const r = await runProduce({
        bootstrap: { host: '127.0.0.1', port: broker.port },
        topic: 't',
        partitions: 2,
        recordBytes: 512,
        acks: -1,
        records: 2000,
        inFlight: 4,
        requestBytes: 32 * 1024,
      });
      expect(r.error).toBeUndefined();
      expect(r.ok).toBe(true);
      expect(r.leaderMoves).toBeGreaterThanOrEqual(1);
      expect(r.msgs).toBeGreaterThanOrEqual(2000);
      // Nothing rejected is counted, nothing accepted is lost.
      expect(total(broker.records)).toBe(r.msgs);
    } finally {
      await broker.close();
    }
  });

  it('gives up when leaders keep moving', async () => {
    const broker = await fakeBroker(1, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    try {
      const r = await runProduce({
        bootstrap: { host: '127.0.0.1', port: broker.port },
        topic: 't',
        partitions: 1,
        recordBytes: 100,
        acks: 1,
        records: 500,
      });
      expect(r.ok).toBe(false);
      expect(r.error).toMatch(/moved more than 20 times/);
      expect(total(broker.records)).toBe(0);
    } finally {
      await broker.close();
    }
  });
});
