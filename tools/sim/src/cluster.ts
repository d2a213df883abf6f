// N real chronik-server nodes in one process: each is apps/server's raftClusterMode — the production
// composition (RaftHost, RaftMetadataStore, PartitionGroups, replicated partitions, the group
// coordinator, composeBroker's services) — called with a ModeContext built here instead of by a
// Broker (no Kafka socket, no admin listener, no data-directory lock). Everything it would take
// from the machine is the simulator's: its environment, composed in env.ts through the environment
// seam (the event queue's clock and scheduler on the node's owner — timers, and `defer` for
// RaftHost's cycles and group commits —, randomness forked from the seed, a MemFileSystem per node),
// and the Raft transport (SimNetwork).
//
// A node dies in one of two ways: `crash` is a power loss (its disk keeps only what was synced and
// a random part of the rest, torn at a random byte), `exit` a process exit after ctx.fatal (the
// page cache survives: the disk keeps everything written). Either way its owner dies, so its
// pending timers and deferred callbacks never run, and the calls waiting on it fail.
import path from 'node:path';
import {
  Broker,
  DEFAULT_BROKER,
  DEFAULT_CONFIG,
  DEFAULT_LIMITS,
  raftClusterMode,
  silentLogger,
} from '@chronik/server';
import type {
  BrokerServices,
  Logger,
  ModeContext,
  RaftClusterModeOptions,
  ServerConfig,
} from '@chronik/server';
import { MemFileSystem } from '@chronik/wal';
import type { FsyncLatency } from './disk.js';
import { simEnv } from './env.js';
import { Owner } from './event-queue.js';
import type { EventQueue } from './event-queue.js';
import type { SimNetwork, SimTransport } from './network.js';
import type { Prng } from './prng.js';

/** What raftClusterMode hands its `onComposed` hook: the node's services. */
export type Composed = Parameters<NonNullable<RaftClusterModeOptions['onComposed']>>[0];

export type NodeState = 'starting' | 'up' | 'down';

export interface SimNode {
  readonly id: number;
  /** Incremented at every start. */
  incarnation: number;
  state: NodeState;
  owner: Owner;
  disk: MemFileSystem;
  composed: Composed | undefined;
  services: BrokerServices | undefined;
  transport: SimTransport | undefined;
  /** Why the node last stopped by itself (ctx.fatal, a failed start), if it did. */
  lastError: string | undefined;
  /** Calls waiting on this node (client requests): they fail when it dies. */
  readonly inflight: Set<(e: Error) => void>;
}

export interface ClusterOptions {
  nodeIds: readonly number[];
  tickMs: number;
  electionTicks: number;
  partitionElectionTicks: number;
  /** How long an fsync takes (virtual ms, inclusive range; [0, 0]: at once). */
  fsyncMs: FsyncLatency;
  /** Error lines the nodes log are passed here (with the node id), and everything with `verbose`. */
  log?: (nodeId: number, level: string, msg: string, fields: object) => void;
  verbose?: boolean;
}

export const DATA_ROOT = '/data';
export { DEFER_MS } from './env.js';

export function nodeConfig(id: number, o: ClusterOptions): ServerConfig {
  return {
    ...DEFAULT_CONFIG,
    mode: 'raft-cluster',
    nodeId: id,
    kafkaPort: 0,
    advertisedPort: 9092,
    advertisedHost: `node${id}.sim`,
    listenHost: '127.0.0.1',
    adminPort: -1,
    dataDir: path.posix.join(DATA_ROOT, `node${id}`),
    broker: {
      ...DEFAULT_BROKER,
      offsetsTopicNumPartitions: 1,
      retentionCheckIntervalMs: 1000,
      // __consumer_offsets is compacted during the run (simulation.ts sets its cleaning configs).
      logCleanerBackoffMs: 1000,
    },
    limits: DEFAULT_LIMITS,
    shutdownTimeoutMs: 2000,
    raft: {
      raftAddr: `sim:${id}`,
      peers: o.nodeIds.filter((p) => p !== id).map((p) => ({ nodeId: p, host: 'sim', port: p })),
      bootstrap: true,
      tickMs: o.tickMs,
      electionTicks: o.electionTicks,
      partitionElectionTicks: o.partitionElectionTicks,
    },
  };
}

/** The apps/server Logger interface over the simulator's log hook. */
function simLogger(nodeId: number, o: ClusterOptions, bindings: Record<string, unknown> = {}): Logger {
  if (o.log === undefined) return silentLogger;
  const log = o.log;
  const at =
    (level: string, always: boolean) =>
    (obj: object, msg?: string): void => {
      if (always || o.verbose === true) log(nodeId, level, msg ?? '', { ...bindings, ...obj });
    };
  return {
    debug: () => undefined,
    info: at('info', false),
    warn: at('warn', false),
    error: at('error', true),
    child: (b) => simLogger(nodeId, o, { ...bindings, ...b }),
  };
}

export class SimCluster {
  readonly nodes = new Map<number, SimNode>();

  constructor(
    private readonly queue: EventQueue,
    private readonly net: SimNetwork,
    private readonly rng: Prng,
    readonly options: ClusterOptions,
  ) {
    for (const id of options.nodeIds)
      this.nodes.set(id, {
        id,
        incarnation: 0,
        state: 'down',
        owner: new Owner(`n${id}`),
        disk: new MemFileSystem(),
        composed: undefined,
        services: undefined,
        transport: undefined,
        lastError: undefined,
        inflight: new Set(),
      });
  }

  node(id: number): SimNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new RangeError(`no node ${id}`);
    return n;
  }

  up(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.state === 'up');
  }

  /** Starts node `id` on the disk it has (a restart after crash/exit). Resolves once it serves or failed. */
  start(id: number): Promise<void> {
    const n = this.node(id);
    if (n.state !== 'down') return Promise.resolve();
    n.incarnation++;
    const owner = new Owner(`n${id}.${n.incarnation}`);
    n.owner = owner;
    n.state = 'starting';
    n.composed = undefined;
    n.services = undefined;
    const rng = this.rng.fork(`node${id}.${n.incarnation}`);
    const config = nodeConfig(id, this.options);
    const disk = n.disk;
    const mode = raftClusterMode({
      env: simEnv(this.queue, owner, rng, disk, this.options.fsyncMs),
      transport: (o) => {
        const t = this.net.transport(o.nodeId, o.handler, owner);
        n.transport = t;
        return t;
      },
      onComposed: (c) => {
        if (n.owner === owner) n.composed = c;
      },
    });
    const ctx: ModeContext = {
      config,
      dataDir: {
        path: config.dataDir,
        meta: { nodeId: id, version: 1, directoryId: `sim-dir-${id}` },
        release: () => undefined,
      },
      logger: simLogger(id, this.options),
      // A Broker that is never started: only for its metrics registry, which the mode fills in.
      metrics: new Broker(config, { randomId: () => `sim-dir-${id}` }, mode).metrics,
      advertised: () => ({ host: config.advertisedHost, port: config.advertisedPort }),
      fatal: (e) => {
        if (n.owner !== owner) return;
        n.lastError = `fatal: ${e.message}`;
        this.queue.note(owner.name, `fatal ${e.message}`);
        this.kill(n, 'exit');
      },
    };
    this.net.memory.down.delete(id);
    return disk
      .mkdir(config.dataDir)
      .then(() => mode(ctx))
      .then(
        (services) => {
          if (n.owner !== owner) {
            // It died while starting; what it built belongs to a dead process.
            return;
          }
          n.services = services;
          n.state = 'up';
          this.queue.note(owner.name, 'up');
        },
        (e: unknown) => {
          if (n.owner !== owner) return;
          n.lastError = `start failed: ${e instanceof Error ? e.message : String(e)}`;
          this.queue.note(owner.name, n.lastError);
          this.kill(n, 'exit');
        },
      );
  }

  /** Power loss on node `id`: unsynced writes are lost or torn. */
  crash(id: number): void {
    const n = this.node(id);
    if (n.state === 'down') return;
    this.queue.note(n.owner.name, 'crash');
    this.kill(n, 'crash');
  }

  /** Stops node `id` as a process exit (an operator's restart): every write it made survives. */
  exit(id: number): void {
    const n = this.node(id);
    if (n.state === 'down') return;
    this.queue.note(n.owner.name, 'exit');
    this.kill(n, 'exit');
  }

  private kill(n: SimNode, how: 'crash' | 'exit'): void {
    n.owner.alive = false;
    n.state = 'down';
    n.composed = undefined;
    n.services = undefined;
    this.net.memory.down.add(n.id);
    const rng = this.rng.fork(`disk${n.id}.${n.incarnation}`);
    // A process exit keeps the page cache (every write survives); a power loss does not.
    n.disk = n.disk.crash(() => rng.next(), how === 'exit' ? 1 : 0.25);
    void n.transport?.close();
    n.transport = undefined;
    for (const other of this.nodes.values()) other.transport?.peerDied(n.id);
    const err = new Error(`node ${n.id} ${how === 'crash' ? 'crashed' : 'exited'}`);
    for (const f of [...n.inflight]) f(err);
    n.inflight.clear();
  }

  /** Runs `call` against node `n` as a client request: it fails if the node dies first. */
  request<T>(n: SimNode, call: (c: Composed) => Promise<T>): Promise<T> {
    const c = n.composed;
    if (n.state !== 'up' || c === undefined) return Promise.reject(new Error(`node ${n.id} is down`));
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const fail = (e: Error): void => {
        if (done) return;
        done = true;
        reject(e);
      };
      n.inflight.add(fail);
      let p: Promise<T>;
      try {
        p = call(c);
      } catch (e) {
        p = Promise.reject(e);
      }
      p.then(
        (v) => {
          n.inflight.delete(fail);
          if (!done) {
            done = true;
            resolve(v);
          }
        },
        (e: unknown) => {
          n.inflight.delete(fail);
          fail(e instanceof Error ? e : new Error(String(e)));
        },
      );
    });
  }

  /** Stops every running node cleanly (syncs and closes its storage). */
  async stopAll(): Promise<void> {
    for (const n of this.nodes.values()) {
      if (n.state === 'up' && n.services !== undefined) {
        n.services.beginShutdown();
        await n.services.close();
      }
      n.owner.alive = false;
      n.state = 'down';
      n.composed = undefined;
      n.services = undefined;
    }
  }
}
