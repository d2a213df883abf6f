// A 3-node chronik-server raft cluster of real processes (apps/server/bin/chronik-server, the built
// program) on free loopback ports with temp data directories. Each node keeps its ports across
// restarts, so clients and peers find it again. Destroying the cluster first checks that every
// partition's offsets are contiguous from the log start to the high watermark.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  ApiKey,
  ErrorCode,
  defaultFetchRequest,
  defaultFetchRequestFetchPartition,
  defaultListOffsetsRequest,
  defaultMetadataRequest,
  readRecordBatchHeader,
  splitRecordBatches,
} from '@chronik/protocol';
import { RawClient } from '../helpers/raw-client.js';

export const BIN = path.resolve(__dirname, '..', '..', 'bin', 'chronik-server');

export interface ClusterNode {
  id: number;
  kafkaPort: number;
  raftPort: number;
  adminPort: number;
  dataDir: string;
  proc: ChildProcess | undefined;
  exited: Promise<void> | undefined;
  logs: string[];
  /** Started with --join and this member's Raft address instead of --peers/--bootstrap. */
  joinVia?: string;
  /** More raft-cluster options of this node only. */
  extraRaftArgs?: string[];
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * A port that is free now, chosen below the kernel's ephemeral range (32768+): a node keeps its ports
 * across restarts, and a port from the ephemeral range could meanwhile be taken as the local port of
 * some client connection, so the restarted node could not bind it.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await canListen(port)) return port;
  }
  throw new Error('no free port found in 20000-32000');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `f` until it returns a value other than undefined (or throws the last error at the deadline). */
export async function waitFor<T>(
  what: string,
  f: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(everyMs);
  }
}

export function getJson<T>(port: number, p: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as T);
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      });
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

export interface ClusterJson {
  nodeId: number;
  brokers: Array<{ nodeId: number }>;
  metadataGroup: {
    leaderId: number;
    term: number;
    commitIndex: number;
    appliedIndex: number;
    voters: number[];
  };
}

export interface PartitionJson {
  topic: string;
  partition: number;
  role: 'leader' | 'follower';
  leader: number;
  leaderEpoch: number;
  highWatermark: string | number;
  logEndOffset: string | number;
  logStartOffset: string | number;
  replicas: number[];
  isr: number[];
}

export class TestCluster {
  readonly nodes: ClusterNode[] = [];
  private readonly root: string;
  /** Arguments of one node's raft-cluster command beyond the addresses (e.g. its own certificate). */
  nodeArgs: (id: number) => string[] = () => [];

  /** Options after `raft-cluster` (the mode's own flags). */
  raftArgs: string[] = [];

  private constructor(readonly extraArgs: string[]) {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), 'chronik-cluster-'));
  }

  /** `size` nodes with ids `firstId`, `firstId + 1`, … (Kafka's usual brokers are 0, 1, 2). */
  static async create(
    size = 3,
    extraArgs: string[] = ['--offsets-topic-partitions', '3'],
    firstId = 1,
  ): Promise<TestCluster> {
    const c = new TestCluster(extraArgs);
    for (let id = firstId; id < firstId + size; id++) {
      c.nodes.push({
        id,
        kafkaPort: await freePort(),
        raftPort: await freePort(),
        adminPort: await freePort(),
        dataDir: path.join(c.root, `node${id}`),
        proc: undefined,
        exited: undefined,
        logs: [],
      });
    }
    return c;
  }

  /** A cluster of `size` nodes, all started at once, once every node's Metadata lists them all. */
  static async started(size = 3, extraArgs?: string[], firstId = 1): Promise<TestCluster> {
    const c = await TestCluster.create(size, extraArgs, firstId);
    for (const n of c.nodes) c.start(n.id);
    await c.waitForMetadata(size);
    return c;
  }

  /** A node that is not part of the cluster yet; `start` makes it join through node `via`. */
  async addNode(id: number, via: number, extraRaftArgs: string[] = []): Promise<ClusterNode> {
    const n: ClusterNode = {
      id,
      kafkaPort: await freePort(),
      raftPort: await freePort(),
      adminPort: await freePort(),
      dataDir: path.join(this.root, `node${id}`),
      proc: undefined,
      exited: undefined,
      logs: [],
      joinVia: `127.0.0.1:${this.node(via).raftPort}`,
      extraRaftArgs,
    };
    this.nodes.push(n);
    return n;
  }

  node(id: number): ClusterNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  brokers(ids: readonly number[] = this.nodes.map((n) => n.id)): string[] {
    return ids.map((id) => `127.0.0.1:${this.node(id).kafkaPort}`);
  }

  start(id: number): void {
    const n = this.node(id);
    if (n.proc) throw new Error(`node ${id} is running`);
    const peers = this.nodes
      .filter((m) => m.id !== id && m.joinVia === undefined)
      .map((m) => `${m.id}@127.0.0.1:${m.raftPort}`)
      .join(',');
    const args = [
      BIN,
      '--kafka-port',
      String(n.kafkaPort),
      '--listen-addr',
      '127.0.0.1',
      '--advertised-addr',
      '127.0.0.1',
      '--node-id',
      String(id),
      '--data-dir',
      n.dataDir,
      '--admin-port',
      String(n.adminPort),
      '--log-level',
      'info',
      ...this.extraArgs,
      'raft-cluster',
      '--raft-addr',
      `127.0.0.1:${n.raftPort}`,
      ...(n.joinVia !== undefined ? ['--join', n.joinVia] : ['--peers', peers, '--bootstrap']),
      ...this.nodeArgs(id),
      ...this.raftArgs,
      ...(n.extraRaftArgs ?? []),
    ];
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CHRONIK_')) env[k] = v;
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    n.proc = proc;
    n.exited = new Promise((resolve) =>
      proc.once('exit', (code, signal) => {
        n.logs.push(`[test] node ${id} exited: code ${code} signal ${signal}`);
        resolve();
      }),
    );
    const keep = (c: Buffer): void => {
      for (const line of c.toString().split('\n')) if (line !== '') n.logs.push(line);
      if (n.logs.length > 5000) n.logs.splice(0, n.logs.length - 5000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
  }

  /** Freezes node `id` (SIGSTOP): it holds its sockets but answers nothing until resume(). */
  pause(id: number): void {
    this.node(id).proc?.kill('SIGSTOP');
  }

  resume(id: number): void {
    this.node(id).proc?.kill('SIGCONT');
  }

  async kill(id: number): Promise<void> {
    const n = this.node(id);
    if (!n.proc) return;
    n.proc.kill('SIGKILL');
    await n.exited;
    n.proc = undefined;
  }

  async stop(id: number): Promise<void> {
    const n = this.node(id);
    if (!n.proc) return;
    n.proc.kill('SIGTERM');
    const t = setTimeout(() => n.proc?.kill('SIGKILL'), 15_000);
    await n.exited;
    clearTimeout(t);
    n.proc = undefined;
  }

  async admin<T>(id: number, p: string): Promise<T> {
    return getJson<T>(this.node(id).adminPort, p);
  }

  /** Waits until every running node sees one metadata leader and `brokers` registered brokers. */
  async waitForMetadata(brokers = this.nodes.length, timeoutMs = 30_000): Promise<number> {
    return this.withLogs(() => this.waitForMetadataQuiet(brokers, timeoutMs));
  }

  /** Runs `f`; on failure, the error carries the nodes' recent log lines. */
  async withLogs<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      throw new Error(`${e instanceof Error ? e.message : String(e)}\n${this.dumpLogs(25)}`, { cause: e });
    }
  }

  private async waitForMetadataQuiet(brokers: number, timeoutMs: number): Promise<number> {
    return waitFor(
      'metadata leader and broker registrations',
      async () => {
        const views = await Promise.all(
          this.nodes.filter((n) => n.proc).map((n) => this.admin<ClusterJson>(n.id, '/v1/cluster')),
        );
        const leaders = new Set(views.map((v) => v.metadataGroup.leaderId));
        const [leader] = [...leaders];
        if (leaders.size !== 1 || leader === undefined || leader < 0) return undefined;
        if (views.some((v) => v.brokers.length < brokers)) return undefined;
        return leader;
      },
      timeoutMs,
    );
  }

  /** Partition statuses of `topic` on node `id`. */
  async partitions(id: number, topic: string): Promise<PartitionJson[]> {
    return (await this.admin<PartitionJson[]>(id, '/v1/partitions')).filter((p) => p.topic === topic);
  }

  /** Waits until partition `p` of `topic` has a Raft leader that every running replica agrees on. */
  async waitForLeader(topic: string, p: number, timeoutMs = 30_000): Promise<number> {
    return waitFor(
      `a leader of ${topic}-${p}`,
      async () => {
        const views = (
          await Promise.all(this.nodes.filter((n) => n.proc).map((n) => this.partitions(n.id, topic)))
        )
          .flat()
          .filter((x) => x.partition === p);
        const lead = views.find((v) => v.role === 'leader');
        if (lead === undefined) return undefined;
        if (views.some((v) => v.leader !== lead.leader)) return undefined;
        return lead.leader;
      },
      timeoutMs,
    );
  }

  dumpLogs(lines = 40): string {
    return this.nodes.map((n) => `--- node ${n.id}\n${n.logs.slice(-lines).join('\n')}`).join('\n');
  }

  /**
   * Offset contiguity: every partition of every topic, read from its leader from the log start to
   * the high watermark, holds record batches whose offsets follow one another without a hole.
   * Returns what is wrong (empty when nothing is). A partition whose leader cannot be reached (its
   * node is down, leadership is moving) is retried a few times, then left out.
   */
  async offsetHoles(): Promise<string[]> {
    const running = this.nodes.filter((n) => n.proc !== undefined);
    if (running.length === 0) return [];
    const problems: string[] = [];
    const meta = await withClient(running[0] as ClusterNode, (c) =>
      c.request(ApiKey.Metadata, 12, { ...defaultMetadataRequest(), topics: null }),
    );
    for (const t of meta.topics)
      for (const p of t.partitions)
        for (let attempt = 0; attempt < 10; attempt++) {
          const leader = this.nodes.find((n) => n.id === p.leaderId && n.proc !== undefined);
          const found = leader ? await scanPartition(leader, t.name ?? '', p.partitionIndex) : undefined;
          if (found === undefined) {
            await sleep(200);
            continue;
          }
          problems.push(...found);
          break;
        }
    return problems;
  }

  /** Checks offset contiguity on every partition (offsetHoles), then kills every node. */
  async destroy(): Promise<void> {
    const holes = await this.offsetHoles().catch((e: unknown) => [`offset scan failed: ${String(e)}`]);
    await Promise.all(this.nodes.map((n) => this.kill(n.id)));
    fs.rmSync(this.root, { recursive: true, force: true });
    if (holes.length > 0) throw new Error(`offsets not contiguous:\n${holes.slice(0, 20).join('\n')}`);
  }
}

async function withClient<T>(n: ClusterNode, f: (c: RawClient) => Promise<T>): Promise<T> {
  const c = await RawClient.connect(n.kafkaPort);
  try {
    return await f(c);
  } finally {
    c.close();
  }
}

/**
 * Reads `topic`-`partition` from node `n` (its leader) from the log start to the high watermark and
 * returns the holes and overlaps between consecutive batches; undefined when `n` cannot answer now.
 */
async function scanPartition(
  n: ClusterNode,
  topic: string,
  partition: number,
): Promise<string[] | undefined> {
  try {
    return await withClient(n, async (c) => {
      const list = await c.request(ApiKey.ListOffsets, 7, {
        ...defaultListOffsetsRequest(),
        replicaId: -1,
        topics: [
          {
            name: topic,
            partitions: [
              { partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -2n, maxNumOffsets: 1 },
            ],
          },
        ],
      });
      const start = list.topics[0]?.partitions[0];
      if (start?.errorCode !== ErrorCode.NONE) return undefined;
      const problems: string[] = [];
      let next = start.offset;
      let first = true;
      for (;;) {
        const r = await c.request(ApiKey.Fetch, 12, {
          ...defaultFetchRequest(),
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: 8 << 20,
          topics: [
            {
              topic,
              topicId: '00000000-0000-0000-0000-000000000000',
              partitions: [
                {
                  ...defaultFetchRequestFetchPartition(),
                  partition,
                  fetchOffset: next,
                  partitionMaxBytes: 8 << 20,
                },
              ],
            },
          ],
        });
        const d = r.responses[0]?.partitions[0];
        if (d?.errorCode !== ErrorCode.NONE) return undefined;
        const batches = splitRecordBatches(d.records ?? Buffer.alloc(0));
        for (const b of batches) {
          const h = readRecordBatchHeader(b.bytes, 0);
          const last = h.baseOffset + BigInt(h.lastOffsetDelta);
          // The log start may fall inside the first batch (DeleteRecords, retention).
          const ok = first ? h.baseOffset <= next && next <= last : h.baseOffset === next;
          if (!ok) problems.push(`${topic}-${partition}: batch at ${h.baseOffset}, expected ${next}`);
          first = false;
          next = last + 1n;
        }
        if (next >= d.highWatermark || batches.length === 0) {
          if (next < d.highWatermark)
            problems.push(
              `${topic}-${partition}: no batch at ${next}, below the high watermark ${d.highWatermark}`,
            );
          return problems;
        }
      }
    });
  } catch {
    return undefined;
  }
}
