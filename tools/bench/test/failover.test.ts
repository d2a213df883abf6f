// The failover scenario: its admin API reader against a local HTTP server, and the whole
// measurement against a fake 3-node cluster (real sockets, Kafka frames and HTTP).
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
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
import { adminPartitions, failoverStats, runFailover } from '../src/index.js';
import type { ChronikDeployment, ChronikNode, FailoverKill } from '../src/index.js';

function serve(handler: http.RequestListener): Promise<{ port: number; close: () => Promise<void> }> {
  return new Promise((resolve) => {
    const srv = http.createServer(handler);
    srv.listen(0, '127.0.0.1', () => {
      resolve({
        port: (srv.address() as AddressInfo).port,
        close: () => new Promise((r) => srv.close(() => r())),
      });
    });
  });
}

describe('adminPartitions', () => {
  it('reads GET /v1/partitions', async () => {
    const body = [
      {
        topic: 't',
        partition: 0,
        role: 'leader',
        leader: 2,
        leaderEpoch: 3,
        highWatermark: 10,
        logEndOffset: 10,
        logStartOffset: 0,
        replicas: [1, 2, 3],
        isr: [2, 3],
      },
    ];
    let path = '';
    const s = await serve((req, res) => {
      path = req.url ?? '';
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
    try {
      const got = await adminPartitions(s.port);
      expect(path).toBe('/v1/partitions');
      expect(got).toEqual(body);
    } finally {
      await s.close();
    }
  });

  it('rejects an HTTP error, bad JSON and a closed port', async () => {
    const s = await serve((req, res) => {
      if (req.url === '/v1/partitions') {
        res.writeHead(503);
        res.end('{}');
      }
    });
    await expect(adminPartitions(s.port)).rejects.toMatchObject({ code: 'BrokerError' });
    await s.close();
    const bad = await serve((_req, res) => res.end('not json'));
    await expect(adminPartitions(bad.port)).rejects.toMatchObject({ code: 'BrokerError' });
    await bad.close();
    await expect(adminPartitions(bad.port)).rejects.toMatchObject({ code: 'ConnectionFailed' });
  });

  it('times out when the node does not answer', async () => {
    const s = await serve(() => undefined); // never answers
    try {
      await expect(adminPartitions(s.port, 200)).rejects.toMatchObject({ code: 'Timeout' });
    } finally {
      await s.close();
    }
  });
});

// ---- runFailover against a fake 3-node cluster (real sockets, real Kafka frames, real HTTP) ----

interface FakeCluster {
  deployment: ChronikDeployment;
  state: { leader: number; epoch: number; hw: number; isr: number[]; produced: number; electing: boolean };
  close(): Promise<void>;
}

/**
 * Three fake brokers sharing one partition's state. Killing the leader leaves Metadata naming it
 * until a new leader is "elected" `electionDelayMs` later (or never, when `electionDelayMs` is
 * Infinity); a restarted node catches up after 100 ms and is back in the ISR after 200 ms.
 */
async function fakeCluster(electionDelayMs: number): Promise<FakeCluster> {
  const state = { leader: 1, epoch: 1, hw: 0, isr: [1, 2, 3], produced: 0, electing: false };
  const caughtUp = new Map<number, boolean>([
    [1, true],
    [2, true],
    [3, true],
  ]);
  interface Node {
    id: number;
    kafkaPort: number;
    adminPort: number;
    running: boolean;
    kafka?: net.Server;
    admin?: http.Server;
    sockets: Set<net.Socket>;
  }
  const nodes: Node[] = [1, 2, 3].map((id) => ({
    id,
    kafkaPort: 0,
    adminPort: 0,
    running: false,
    sockets: new Set(),
  }));
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  const brokers = (): ReturnType<typeof defaultMetadataResponseBroker>[] =>
    nodes.map((n) => ({
      ...defaultMetadataResponseBroker(),
      nodeId: n.id,
      host: '127.0.0.1',
      port: n.kafkaPort,
    }));
  const onFrame = (node: Node, socket: net.Socket, frame: Buffer): void => {
    const { header, body } = decodeRequestFrame(frame);
    let chunks: Buffer[];
    if (header.requestApiKey === ApiKey.Metadata) {
      const req = body as MetadataRequest;
      chunks = encodeResponseFrame(ApiKey.Metadata, header.requestApiVersion, header.correlationId, {
        ...defaultMetadataResponse(),
        brokers: brokers(),
        topics: (req.topics ?? []).map((t) => ({
          ...defaultMetadataResponseTopic(),
          name: t.name,
          partitions: [
            {
              ...defaultMetadataResponsePartition(),
              partitionIndex: 0,
              leaderId: state.leader,
              replicaNodes: [1, 2, 3],
              isrNodes: state.isr,
            },
          ],
        })),
      });
    } else if (header.requestApiKey === ApiKey.Produce) {
      const req = body as ProduceRequest;
      const leads = state.leader === node.id && !state.electing;
      const responses = req.topicData.map((t) => ({
        name: t.name,
        partitionResponses: t.partitionData.map((p) => {
          if (leads) {
            let n = 0;
            for (const b of splitRecordBatches(p.records!))
              n += validateRecordBatch(b.bytes, { checkCrc: true }).recordCount;
            state.hw += n;
            state.produced += n;
          }
          return {
            ...defaultProduceResponsePartitionProduceResponse(),
            index: p.index,
            errorCode: leads ? ErrorCode.NONE : ErrorCode.NOT_LEADER_OR_FOLLOWER,
          };
        }),
      }));
      chunks = encodeResponseFrame(ApiKey.Produce, header.requestApiVersion, header.correlationId, {
        ...defaultProduceResponse(),
        responses,
      });
    } else {
      throw new Error(`unexpected API key ${header.requestApiKey}`);
    }
    socket.write(Buffer.concat(chunks));
  };
  const start = async (node: Node): Promise<void> => {
    node.kafka = net.createServer((socket) => {
      node.sockets.add(socket);
      socket.on('close', () => node.sockets.delete(socket));
      socket.on('error', () => undefined);
      const decoder = new FrameDecoder();
      socket.on('data', (chunk: Buffer) => {
        for (const f of decoder.push(chunk)) onFrame(node, socket, f);
      });
    });
    node.admin = http.createServer((_req, res) => {
      const role = state.leader === node.id && !state.electing ? 'leader' : 'follower';
      const lag = caughtUp.get(node.id) === true ? 0 : 5;
      res.end(
        JSON.stringify([
          {
            topic: 'fo',
            partition: 0,
            role,
            leader: state.electing ? -1 : state.leader,
            leaderEpoch: state.epoch,
            highWatermark: state.hw,
            logEndOffset: state.hw - lag,
            logStartOffset: 0,
            replicas: [1, 2, 3],
            isr: state.isr,
          },
        ]),
      );
    });
    await new Promise<void>((r) => node.kafka!.listen(node.kafkaPort, '127.0.0.1', r));
    await new Promise<void>((r) => node.admin!.listen(node.adminPort, '127.0.0.1', r));
    node.kafkaPort = (node.kafka.address() as AddressInfo).port;
    node.adminPort = (node.admin.address() as AddressInfo).port;
    node.running = true;
  };
  const halt = async (node: Node): Promise<void> => {
    node.running = false;
    for (const s of node.sockets) s.destroy();
    node.admin?.closeAllConnections();
    await Promise.all([new Promise((r) => node.kafka?.close(r)), new Promise((r) => node.admin?.close(r))]);
  };
  for (const n of nodes) await start(n);
  const chronikNodes: ChronikNode[] = nodes.map((n) => ({
    nodeId: n.id,
    kafka: { host: '127.0.0.1', port: n.kafkaPort },
    adminPort: n.adminPort,
    args: [],
    service: {
      get running() {
        return n.running;
      },
    } as unknown as ChronikNode['service'],
  }));
  const deployment = {
    kind: 'cluster',
    bootstrap: chronikNodes[0]!.kafka,
    brokers: chronikNodes.map((n) => n.kafka),
    commands: [],
    replicationFactor: 3,
    nodes: chronikNodes,
    kill: async (id: number) => {
      const node = nodes[id - 1]!;
      await halt(node);
      caughtUp.set(id, false);
      if (state.leader === id) {
        state.electing = true;
        // The admin API of the survivors drops it from the ISR a little later.
        later(50, () => (state.isr = state.isr.filter((x) => x !== id)));
        if (Number.isFinite(electionDelayMs)) {
          later(electionDelayMs, () => {
            state.leader = nodes.find((x) => x.running && x.id !== id)!.id;
            state.epoch++;
            state.electing = false;
          });
        }
      }
    },
    restart: (id: number) => {
      const node = nodes[id - 1]!;
      void start(node).then(() => {
        later(100, () => caughtUp.set(id, true));
        later(200, () => (state.isr = [...new Set([...state.isr, id])].sort()));
      });
    },
    stop: async () => undefined,
  } as unknown as ChronikDeployment;
  return {
    deployment,
    state,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      for (const n of nodes) if (n.running) await halt(n);
    },
  };
}

describe('runFailover against a fake 3-node cluster', () => {
  it('measures kill → first successful produce, election, rejoin, catch-up and ISR, for every kill', async () => {
    const c = await fakeCluster(300);
    try {
      const r = await runFailover({
        deployment: c.deployment,
        topic: 'fo',
        kills: 2,
        settleMs: 50,
        backoffMs: 10,
        recordsPerRequest: 4,
      });
      expect(r.error).toBeUndefined();
      expect(r.ok).toBe(true);
      expect(r.kills).toHaveLength(2);
      const [k1, k2] = r.kills as [FailoverKill, FailoverKill];
      expect(k1.killedNode).toBe(1);
      expect(k1.newLeader).toBe(2);
      expect(k2.killedNode).toBe(2);
      expect(k2.newLeader).toBe(1);
      for (const k of r.kills) {
        // Nothing can succeed before the fake's election; the prober retries every 10 ms.
        expect(k.unavailableMs!).toBeGreaterThanOrEqual(290);
        expect(k.unavailableMs!).toBeLessThan(2000);
        expect(k.electedMs!).toBeGreaterThanOrEqual(290);
        expect(k.electedMs!).toBeLessThanOrEqual(k.unavailableMs! + 50);
        expect(k.leftIsrMs).toBeDefined();
        expect(k.rejoinedMs!).toBeGreaterThanOrEqual(k.unavailableMs!);
        expect(k.caughtUpMs!).toBeGreaterThanOrEqual(k.rejoinedMs!);
        expect(k.inIsrMs!).toBeGreaterThanOrEqual(k.unavailableMs!);
        expect(k.lastOkBeforeKillMs!).toBeLessThan(1000);
      }
      expect(r.ackedRecords).toBe(c.state.produced);
      expect(r.ackedRecords % 4).toBe(0);
      expect(Object.keys(r.failedAttempts).length).toBeGreaterThan(0);
      expect(r.otherLeaderMoves).toBe(0);
      expect(r.steadyLatencyMs!.n).toBeGreaterThan(0);
      expect(failoverStats(r.kills, 'unavailableMs')!.n).toBe(2);
    } finally {
      await c.close();
    }
  });

  it('fails the scenario, with the reason, when no leader is ever elected', async () => {
    const c = await fakeCluster(Number.POSITIVE_INFINITY);
    try {
      const r = await runFailover({
        deployment: c.deployment,
        topic: 'fo',
        kills: 2,
        settleMs: 50,
        backoffMs: 10,
        recoveryTimeoutMs: 800,
      });
      expect(r.ok).toBe(false);
      expect(r.kills).toHaveLength(1);
      expect(r.kills[0]!.unavailableMs).toBeUndefined();
      expect(r.error).toContain('no successful acks=all produce within 800 ms');
    } finally {
      await c.close();
    }
  });
});
