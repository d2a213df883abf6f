// raft-cluster mode: one node of a cluster replicated with Raft (src/cluster/README.md). One RaftHost
// runs the metadata group (cluster/raft-metadata-store.ts) and a group per partition replica set
// (cluster/partition-groups.ts) over one transport: gRPC between processes by default, or whatever
// the options inject (a MemoryNetwork runs a whole cluster in one process). This file (with
// standalone.ts) is the only place that constructs infrastructure: the Raft host, the transport,
// the file system, clock and timers, and randomness come from the options or default to the
// system's.
import path from 'node:path';
import { seededRng } from '@chronik/raft';
import type { Logger as RaftLogger } from '@chronik/raft';
import { GrpcTransport } from '@chronik/raft-grpc';
import type { TransportHandler } from '@chronik/raft-grpc';
import { RaftHost } from '@chronik/raft-host';
import type { HostTransport, Scheduler as HostScheduler } from '@chronik/raft-host';
import { nodeFileSystem } from '@chronik/wal';
import type { FileSystem } from '@chronik/wal';
import type { BrokerMode } from '../broker.js';
import { diskSpace } from '../datadir.js';
import type { PeerAcks } from '../cluster/peer-liveness.js';
import { GroupManifest } from '../cluster/group-manifest.js';
import { PartitionGroups } from '../cluster/partition-groups.js';
import { RaftMetadataStore } from '../cluster/raft-metadata-store.js';
import { checkNewNodeMayJoin } from '../cluster/rejoin-check.js';
import type { IdentityAnswer } from '../cluster/rejoin-check.js';
import { ReplicaRepairer } from '../cluster/replica-repair.js';
import { ReplicationSupervisor } from '../cluster/supervisor.js';
import { ServerError, ServerErrorCode } from '../errors.js';
import type { GroupCoordinatorConfig } from '../groups/coordinator.js';
import type { TxnCoordinatorConfig } from '../txn/coordinator.js';
import type { AnyHandler } from '../handlers/types.js';
import type { Random, Scheduler, TimerHandle } from '../infra.js';
import { every, systemRandom, systemScheduler } from '../infra.js';
import type { Logger } from '../logger.js';
import type { Composed } from './compose.js';
import { composeBroker } from './compose.js';

/** Default period of the shared Raft tick (ms). */
export const RAFT_TICK_MS = 100;
/** Default election timeout of the metadata group, in ticks (randomized up to twice). */
export const METADATA_ELECTION_TICKS = 10;
/**
 * Default election timeout of partition groups, in ticks: with 100 ms ticks a follower campaigns
 * 0.7–1.4 s after the last word of its leader (heartbeats every tick), so a killed leader's
 * partitions take produce again well within 2 s; pre-vote and check-quorum keep a follower that
 * merely missed heartbeats from deposing a live leader.
 */
export const PARTITION_ELECTION_TICKS = 7;
/** Retention is checked at least this often (the check is O(1) per partition when nothing expires). */
const RETENTION_CHECK_MAX_MS = 1000;

/** What the node needs of its Raft transport (GrpcTransport, or a MemoryNetwork's). */
export interface ClusterTransport extends HostTransport {
  /** Starts listening (resolves with the bound port, if any). */
  start(): Promise<unknown>;
  /** What a peer knows of this node (cluster/rejoin-check.ts). */
  identify(
    toNode: number,
    question: { nodeId: number; directoryId: string },
    timeoutMs: number,
  ): Promise<IdentityAnswer>;
  close(): Promise<void>;
  /** Per peer, the batches it acknowledged so far (monotonic: liveness checks). */
  stats(): readonly PeerAcks[];
}

export type TransportFactory = (options: {
  nodeId: number;
  listenAddress: string;
  /** A peer's Raft address, or undefined when unknown. */
  peerAddress(nodeId: number): string | undefined;
  handler: TransportHandler;
  logger: RaftLogger;
}) => ClusterTransport;

export interface RaftClusterModeOptions {
  fs?: FileSystem;
  /** Clock and timers (default: the system's). Also the Raft logs' wall clock when given. */
  scheduler?: Scheduler;
  random?: Random;
  /**
   * Runs a callback once the current turn's work and promise callbacks are done: the Raft host's
   * cycles and group commits (default: setImmediate). A deterministic simulation passes its queue.
   */
  defer?(fn: () => void): void;
  /** Monotonic milliseconds for the Raft host's proposal deadlines (default: performance.now). */
  now?(): number;
  /** The Raft transport (default: gRPC on --raft-addr). */
  transport?: TransportFactory;
  /** Period of the shared Raft tick. Default: the config's, else RAFT_TICK_MS. */
  tickMs?: number;
  /** Election timeout of the metadata group in ticks. Default: the config's, else METADATA_ELECTION_TICKS. */
  electionTicks?: number;
  /** The same for partition groups. Default: the config's, else PARTITION_ELECTION_TICKS. */
  partitionElectionTicks?: number;
  /** Time a metadata proposal may take (forwarding included). Default 10 s. */
  metadataTimeoutMs?: number;
  /** A follower not caught up within this long leaves the ISR (replica.lag.time.max.ms). Default 10 s. */
  replicaLagMaxMs?: number;
  groupConfig?: Partial<GroupCoordinatorConfig>;
  /** Overrides of the transaction coordinator's settings. */
  txnConfig?: Partial<TxnCoordinatorConfig>;
  extraHandlers?: readonly AnyHandler[];
  /** Told the composed services once they are up (tests reach into them). */
  onComposed?(c: Composed): void;
}

/** Adapts the server's pino-style logger to @chronik/raft's (message first). */
function raftLogger(l: Logger): RaftLogger {
  return {
    debug: (m, f) => l.debug(f ?? {}, m),
    info: (m, f) => l.info(f ?? {}, m),
    warn: (m, f) => l.warn(f ?? {}, m),
    error: (m, f) => l.error(f ?? {}, m),
  };
}

/** RaftHost's timer interface on the injected Scheduler. */
function hostScheduler(scheduler: Scheduler, logger: Logger): HostScheduler {
  const cancel = (h: unknown): void => (h as TimerHandle).cancel();
  return {
    setInterval: (fn, ms) =>
      every(scheduler, ms, fn, (e) => logger.error({ err: String(e) }, 'raft tick failed')),
    clearInterval: cancel,
    setTimeout: (fn, ms) => scheduler.setTimer(ms, fn),
    clearTimeout: cancel,
  };
}

const grpcTransport: TransportFactory = (options) =>
  new GrpcTransport({
    nodeId: options.nodeId,
    listenAddress: options.listenAddress,
    peerAddress: options.peerAddress,
    handler: options.handler,
    logger: options.logger,
  });

export function raftClusterMode(options: RaftClusterModeOptions = {}): BrokerMode {
  return async (ctx) => {
    const { config, logger } = ctx;
    const raft = config.raft;
    if (raft === undefined)
      throw new ServerError(
        ServerErrorCode.INVALID_CONFIG,
        'raft-cluster mode needs --raft-addr and --peers',
      );
    const nodeId = config.nodeId;
    if (nodeId <= 0)
      throw new ServerError(
        ServerErrorCode.INVALID_CONFIG,
        `raft-cluster needs a positive --node-id, got ${nodeId}`,
      );
    if (raft.peers.some((p) => p.nodeId === nodeId))
      throw new ServerError(ServerErrorCode.INVALID_CONFIG, `--peers lists this node's own id ${nodeId}`);
    const fsys = options.fs ?? nodeFileSystem;
    const scheduler = options.scheduler ?? systemScheduler;
    const random = options.random ?? systemRandom;
    const tickMs = options.tickMs ?? raft.tickMs ?? RAFT_TICK_MS;
    const electionTicks = options.electionTicks ?? raft.electionTicks ?? METADATA_ELECTION_TICKS;
    const partitionElectionTicks =
      options.partitionElectionTicks ?? raft.partitionElectionTicks ?? PARTITION_ELECTION_TICKS;
    const metadataTimeoutMs = options.metadataTimeoutMs ?? 10_000;
    const dataDir = ctx.dataDir.path;
    const raftDir = path.join(dataDir, 'raft');
    const peers = new Map(raft.peers.map((p) => [p.nodeId, `${p.host}:${p.port}`]));
    const voters = [nodeId, ...raft.peers.map((p) => p.nodeId)];
    const rl = raftLogger(logger.child({ component: 'raft' }));

    // A Raft directory without groups: this node has never taken part, or has lost what it had.
    await fsys.mkdir(raftDir);
    const fresh = !(await fsys.readdir(raftDir)).some((name) => name.startsWith('group-'));
    // Which partition groups this node held: a lost group folder is refused, not re-created empty.
    const manifest = await GroupManifest.open(fsys, raftDir);
    const host = new RaftHost({
      nodeId,
      dataDir: raftDir,
      logger: rl,
      fs: fsys,
      scheduler: hostScheduler(scheduler, logger),
      rng: seededRng(random.bytes(4).readUInt32BE(0)),
      ...(options.defer !== undefined ? { defer: options.defer } : {}),
      ...(options.now !== undefined ? { now: options.now } : {}),
      ...(options.scheduler !== undefined ? { clock: { nowMs: () => scheduler.now() } } : {}),
      tickMs,
      electionTicks,
      maxPendingProposals: 100_000,
      maxProposalBytes: 64 * 1024 * 1024,
      // As the standalone partition logs: a write(2) into the page cache on the event loop is
      // cheaper than a thread-pool round trip per group per cycle; fsyncs stay in the pool.
      inlineWrites: true,
    });
    let store: RaftMetadataStore | undefined;
    const transport = (options.transport ?? grpcTransport)({
      nodeId,
      listenAddress: raft.raftAddr,
      peerAddress: (id) => {
        const known = peers.get(id);
        if (known !== undefined) return known;
        const b = store?.state.broker(id);
        return b === undefined || b.raftAddress === '' ? undefined : b.raftAddress;
      },
      handler: {
        onMessage: (g, m) => host.receive(g, m),
        onPeerUnreachable: (id) => host.peerUnreachable(id),
        onSnapshotStatus: (g, to, ok) => host.snapshotStatus(g, to, ok),
        onPropose: (g, data, timeoutMs) => host.propose(g, data, timeoutMs),
        // A restarting member answers only once its metadata is replayed (until then it cannot
        // tell whether it knows the asker); a new member knows no one.
        onIdentify: (q) =>
          store !== undefined
            ? {
                clusterId: store.state.clusterId() ?? '',
                askerRegistered: store.state.broker(q.nodeId) !== undefined,
                metadataApplied: store.state.appliedIndex,
              }
            : fresh
              ? { clusterId: '', askerRegistered: false, metadataApplied: 0 }
              : undefined,
      },
      logger: rl,
    });
    host.setTransport(transport);
    const release = async (): Promise<void> => {
      await host.close();
      await transport.close();
      await manifest.close();
    };
    try {
      await transport.start();
      if (fresh && voters.length > 1)
        await checkNewNodeMayJoin({
          nodeId,
          directoryId: ctx.dataDir.meta.directoryId,
          voters,
          identify: (to, q, t) => transport.identify(to, q, t),
          scheduler,
          logger: logger.child({ component: 'cluster' }),
        });
      store = await RaftMetadataStore.open({
        host,
        voters,
        bootstrap: raft.bootstrap,
        timeoutMs: metadataTimeoutMs,
        random,
        logger: logger.child({ component: 'metadata' }),
        fatal: (e) => ctx.fatal(e),
      });
      host.start();
    } catch (e) {
      await release().catch(() => undefined);
      throw e;
    }
    const groups = new PartitionGroups({
      host,
      fs: fsys,
      raftDir,
      manifest,
      nodeId,
      electionTicks: partitionElectionTicks,
      retentionCheckIntervalMs: Math.min(config.broker.retentionCheckIntervalMs, RETENTION_CHECK_MAX_MS),
      proposalTimeoutMs: metadataTimeoutMs,
      ...(raft.partitionUncommittedBytes !== undefined
        ? { maxUncommittedBytes: raft.partitionUncommittedBytes }
        : {}),
      scheduler,
      logger: logger.child({ component: 'partition' }),
    });
    const supervisor = new ReplicationSupervisor({
      nodeId,
      host,
      store,
      replicas: () => groups.replicas(),
      peerAcks: () => transport.stats(),
      scheduler,
      logger: logger.child({ component: 'replication' }),
      replicaLagMaxMs: options.replicaLagMaxMs ?? 10_000,
      activeWindowMs: Math.max(3000, 3 * tickMs * electionTicks),
      transferWindowMs: tickMs * partitionElectionTicks * 2 + 500,
    });
    let repairer: ReplicaRepairer | undefined;
    const composed = await composeBroker({
      ctx,
      scheduler,
      random,
      store,
      factory: groups,
      logDir: { path: dataDir, space: () => diskSpace(dataDir) },
      raftAddress: raft.raftAddr,
      registerInBackground: true,
      ...(options.groupConfig !== undefined ? { groupConfig: options.groupConfig } : {}),
      ...(options.txnConfig !== undefined ? { txnConfig: options.txnConfig } : {}),
      ...(options.extraHandlers !== undefined ? { extraHandlers: options.extraHandlers } : {}),
      started: (c) => {
        supervisor.start();
        repairer = new ReplicaRepairer({
          nodeId,
          store,
          partitions: c.partitions,
          replicas: () => groups.replicas(),
          scheduler,
          logger: logger.child({ component: 'repair' }),
          proposalTimeoutMs: metadataTimeoutMs,
        });
        repairer.start();
      },
      close: async () => {
        supervisor.stop();
        repairer?.stop();
        await release();
      },
    });
    options.onComposed?.(composed);
    return composed.broker;
  };
}
