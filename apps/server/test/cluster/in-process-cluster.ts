// A raft-cluster of Brokers inside one process (as in-process.test.ts builds it): Raft traffic over
// @chronik/raft-host's MemoryNetwork, Raft logs and partitions on @chronik/wal's MemFileSystem, the
// Kafka listeners on loopback. For the cluster-operation tests.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MemoryNetwork } from '@chronik/raft-host';
import { MemFileSystem } from '@chronik/wal';
import { Kafka, logLevel } from 'kafkajs';
import { Broker } from '../../src/broker.js';
import { createLogger } from '../../src/logger.js';
import type { RaftClusterOptions, ServerConfig } from '../../src/config.js';
import { DEFAULT_BROKER, DEFAULT_CONFIG, DEFAULT_LIMITS } from '../../src/config.js';
import type { GroupCoordinatorConfig } from '../../src/groups/coordinator.js';
import type { Composed } from '../../src/modes/compose.js';
import { raftClusterMode } from '../../src/modes/raft-cluster.js';

export interface InProcessNode {
  id: number;
  broker: Broker;
  disk: MemFileSystem;
  composed: Composed | undefined;
  dataDir: string;
}

export interface InProcessClusterOptions {
  /** The voters formed at bootstrap. */
  ids: readonly number[];
  /** Raft options on top of the defaults (raftAddr, peers and bootstrap are set here). */
  raft?: Partial<RaftClusterOptions>;
  /** Broker settings on top of the defaults (the internal topics' partition counts are set here). */
  broker?: Partial<ServerConfig['broker']>;
  /** Client quota sample windows (default Kafka's 11 × 1 s). */
  clientQuotas?: Partial<ServerConfig['clientQuotas']>;
  /** replica.lag.time.max.ms (the mode's default: 10 s). */
  replicaLagMaxMs?: number;
  /** Each node's --rack (broker.rack), by node id; none when absent. */
  racks?: Readonly<Record<number, string>>;
  /** Group coordinator settings that have no flag (e.g. offsets.retention.check.interval.ms). */
  groupConfig?: Partial<GroupCoordinatorConfig>;
}

export async function until<T>(what: string, f: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export class InProcessCluster {
  readonly net = new MemoryNetwork();
  readonly nodes: InProcessNode[] = [];
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), 'chronik-ops-'));

  constructor(private readonly options: InProcessClusterOptions) {}

  config(id: number, peers: readonly number[], bootstrap: boolean): ServerConfig {
    return {
      ...DEFAULT_CONFIG,
      mode: 'raft-cluster',
      nodeId: id,
      kafkaPort: 0,
      advertisedPort: 0,
      advertisedHost: '127.0.0.1',
      listenHost: '127.0.0.1',
      adminPort: -1,
      dataDir: path.join(this.root, `node${id}`),
      broker: {
        ...DEFAULT_BROKER,
        offsetsTopicNumPartitions: 3,
        transactionStateNumPartitions: 3,
        ...this.options.broker,
      },
      limits: DEFAULT_LIMITS,
      clientQuotas: { ...DEFAULT_CONFIG.clientQuotas, ...this.options.clientQuotas },
      shutdownTimeoutMs: 2000,
      raft: {
        raftAddr: `memory:${id}`,
        peers: peers.filter((p) => p !== id).map((p) => ({ nodeId: p, host: 'memory', port: p })),
        bootstrap,
        tickMs: 20,
        electionTicks: 10,
        partitionElectionTicks: 7,
        ...(this.options.racks?.[id] !== undefined ? { rack: this.options.racks[id] } : {}),
        ...this.options.raft,
      },
    };
  }

  /** Starts node `id` on `disk` (a restarted node gets the disk it had) with `config`. */
  async start(
    id: number,
    disk = new MemFileSystem(),
    config = this.config(id, this.options.ids, true),
  ): Promise<InProcessNode> {
    const node: InProcessNode = {
      id,
      broker: undefined as unknown as Broker,
      disk,
      composed: undefined,
      dataDir: config.dataDir,
    };
    node.broker = new Broker(
      config,
      {
        randomId: () => `dir-${id}`,
        // CHRONIK_TEST_LOG=info (or debug) shows the nodes' logs (JSON, one line each) on stderr.
        ...(process.env['CHRONIK_TEST_LOG'] !== undefined
          ? {
              logger: createLogger(process.env['CHRONIK_TEST_LOG'] as 'info', process.stderr).child({
                node: id,
              }),
            }
          : {}),
      },
      raftClusterMode({
        env: { fs: node.disk },
        transport: (o) => this.net.transport(o.nodeId, o.handler, o.listenAddress),
        // No initial rebalance delay, unless the test sets the flag.
        groupConfig: {
          ...(this.options.broker?.groupInitialRebalanceDelayMs === undefined
            ? { initialRebalanceDelayMs: 0 }
            : {}),
          ...this.options.groupConfig,
        },
        ...(this.options.replicaLagMaxMs !== undefined
          ? { replicaLagMaxMs: this.options.replicaLagMaxMs }
          : {}),
        onComposed: (c) => (node.composed = c),
      }),
    );
    try {
      await node.broker.start();
    } catch (e) {
      // A start that failed (a refused join) leaves its listener bound: the process would exit.
      await node.broker.stop().catch(() => undefined);
      throw e;
    }
    const at = this.nodes.findIndex((n) => n.id === id);
    if (at >= 0) this.nodes[at] = node;
    else this.nodes.push(node);
    return node;
  }

  async startAll(): Promise<void> {
    await Promise.all(this.options.ids.map((id) => this.start(id)));
    await until('brokers registered on every node', () =>
      this.nodes.every((n) => n.composed?.services.metadata.brokers().length === this.options.ids.length)
        ? true
        : undefined,
    );
  }

  node(id: number): InProcessNode {
    const n = this.nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  kafka(ids: readonly number[] = this.nodes.map((n) => n.id)): Kafka {
    return new Kafka({
      clientId: 'in-process',
      brokers: ids.map((id) => `127.0.0.1:${this.node(id).broker.kafkaPort}`),
      logLevel: logLevel.NOTHING,
      retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 30 },
    });
  }

  /** Starts a new node that joins the running cluster through `via` (a member's Raft address). */
  join(
    id: number,
    via: string,
    extra: Partial<RaftClusterOptions> = {},
    dataDir?: string,
  ): Promise<InProcessNode> {
    const base = this.config(id, [], false);
    return this.start(id, new MemFileSystem(), {
      ...base,
      ...(dataDir !== undefined ? { dataDir } : {}),
      raft: { ...(base.raft as RaftClusterOptions), join: via, ...extra },
    });
  }

  /** Calls one of node `id`'s admin routes (the admin listener itself is off in process). */
  async admin(
    id: number,
    method: string,
    path: string,
    body?: unknown,
    query = '',
  ): Promise<{ status: number; body: unknown }> {
    const route = this.node(id).composed?.broker.admin.routes?.find(
      (r) => r.method === method && r.path === path,
    );
    if (route === undefined) throw new Error(`node ${id} has no route ${method} ${path}`);
    return route.handle(body, new URLSearchParams(query));
  }

  /** The node whose replica leads `topic`-`partition` (ready), if any. */
  leaderOf(topic: string, partition: number): InProcessNode | undefined {
    return this.nodes.find((n) =>
      n.composed?.partitions
        .statuses()
        .some((s) => s.topic === topic && s.partition === partition && s.role === 'leader'),
    );
  }

  async stop(): Promise<void> {
    for (const n of this.nodes) await n.broker.stop().catch(() => undefined);
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
