// raft-cluster mode: one node of a cluster replicated with Raft (src/cluster/README.md). One RaftHost
// runs the metadata group (cluster/raft-metadata-store.ts) and a group per partition replica set
// (cluster/partition-groups.ts) over one transport: gRPC between processes by default, or whatever
// the options inject (a MemoryNetwork runs a whole cluster in one process). This file (with
// standalone.ts) is the only place that constructs infrastructure: the Raft host and the transport
// are built here, and the environment (file system, clock, scheduler, randomness) comes from the
// options' `env`, its missing parts the machine's.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Socket } from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import type { Logger as LibraryLogger } from '@chronik/env';
import { GrpcTransport } from '@chronik/raft-grpc';
import type {
  IdentityAnswer,
  JoinAnswer,
  JoinQuestion,
  TransportHandler,
  TransportTls,
} from '@chronik/raft-grpc';
import { RaftHost } from '@chronik/raft-host';
import type { HostTransport } from '@chronik/raft-host';
import type { WalStats } from '@chronik/wal';
import type { RaftSummary } from '../layer-metrics.js';
import type { BrokerMode } from '../broker.js';
import { diskSpace } from '../datadir.js';
import type { PeerAcks } from '../cluster/peer-liveness.js';
import type { RaftGroupView } from '../admin/views.js';
import { GroupManifest } from '../cluster/group-manifest.js';
import { METADATA_GROUP_ID } from '../cluster/group-ids.js';
import { PeerLiveness } from '../cluster/peer-liveness.js';
import { PartitionGroups } from '../cluster/partition-groups.js';
import { ClusterLeadershipTransfers } from '../cluster/leadership-transfers.js';
import { PartitionMover } from '../cluster/partition-mover.js';
import { RaftMetadataStore } from '../cluster/raft-metadata-store.js';
import { checkNewNodeMayJoin } from '../cluster/rejoin-check.js';
import { balancerRoutes, membershipRoutes } from '../admin/cluster-routes.js';
import { answerJoin, joinCluster } from '../cluster/join.js';
import { MembershipManager } from '../cluster/membership.js';
import { Balancer, DEFAULT_MAX_CONCURRENT_MOVES } from '../cluster/balancer.js';
import { StateType } from '@chronik/raft';
import { ReplicaRepairer } from '../cluster/replica-repair.js';
import { ReplicationThrottle } from '../cluster/replication-throttle.js';
import { ReplicationSupervisor } from '../cluster/supervisor.js';
import { ServerError, ServerErrorCode } from '../errors.js';
import type { GroupCoordinatorConfig } from '../groups/coordinator.js';
import type { TxnCoordinatorConfig } from '../txn/coordinator.js';
import type { AnyHandler } from '../handlers/types.js';
import type { EnvOptions } from '../infra.js';
import { modeEnv } from '../infra.js';
import { libraryLogger } from '../logger.js';
import type { Composed } from './compose.js';
import { composeBroker, poolDataFiles } from './compose.js';
import { remoteElectOver, remoteMarkersOver, remoteVerifyOver } from './inter-broker.js';
import type { BrokerCalls } from '../net/broker-client.js';
import { BrokerClient } from '../net/broker-client.js';
import type { BrokerAddress } from '../net/broker-client.js';
import type { ServerConfig } from '../config.js';
import { interBrokerListener } from '../security/config.js';
import { usesTls } from '../security/listeners.js';
import { ANONYMOUS } from '../security/session.js';
import { rfc2253 } from '../security/tls.js';
import {
  commonNameOfSubject,
  nodeCommonName,
  nodeIdOfCertificate,
  nodeIdOfCommonName,
} from '../security/node-identity.js';

/**
 * How the inter-broker client opens a connection: TLS when the inter-broker listener is SSL (the
 * node's own certificate as the client certificate, the configured CA to verify the other node;
 * read once at start), else plain TCP (undefined: the client's default).
 */
function interBrokerConnect(config: ServerConfig): ((a: BrokerAddress) => Socket) | undefined {
  const t = config.security?.tls;
  if (t === undefined || !usesTls(interBrokerListener(config).securityProtocol)) return undefined;
  const cert = readFileSync(t.certFile);
  const key = readFileSync(t.keyFile);
  const ca = t.caFile === undefined ? undefined : readFileSync(t.caFile);
  return (a) =>
    tls.connect({
      host: a.host,
      port: a.port,
      cert,
      key,
      ...(ca !== undefined ? { ca } : {}),
      ...(isIP(a.host) === 0 ? { servername: a.host } : {}),
    });
}

/**
 * The principal other nodes see this node's inter-broker requests come from: the subject of its
 * certificate on an SSL inter-broker listener that asks for client certificates, else
 * User:ANONYMOUS. With an authorizer it needs CLUSTER_ACTION on the cluster (a super user, or an
 * ACL), or transaction markers and verifications between nodes are refused.
 */
function interBrokerPrincipal(config: ServerConfig): string {
  const t = config.security?.tls;
  if (t === undefined || t.clientAuth === 'none' || !usesTls(interBrokerListener(config).securityProtocol))
    return ANONYMOUS;
  return `User:${rfc2253(new X509Certificate(readFileSync(t.certFile)).subject)}`;
}

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

/** Every Raft group of this node as the admin views list it (GET /v1/raft). */
function raftGroupViews(host: RaftHost, groups: PartitionGroups): RaftGroupView[] {
  const names = new Map<number, string>([[METADATA_GROUP_ID, 'metadata']]);
  for (const r of groups.replicas()) names.set(r.group.groupId, `${r.topic}-${r.partition}`);
  return host.groupIds().map((gid) => {
    const s = host.status(gid);
    return {
      groupId: gid,
      name: names.get(gid) ?? '',
      role: s.role,
      leaderId: s.leaderId,
      term: s.term,
      commitIndex: s.commitIndex,
      appliedIndex: s.appliedIndex,
      lastIndex: s.lastIndex,
      snapshotIndex: s.snapshotIndex,
      voters: s.voters,
      learners: s.learners,
      followers: s.progress
        .filter((p) => p.nodeId !== s.leaderId)
        .map((p) => ({
          nodeId: p.nodeId,
          match: p.match,
          lag: Math.max(0, s.lastIndex - p.match),
          state: p.state,
          recentActive: p.recentActive,
        })),
      quiescent: s.quiescent,
      ...(s.failure !== null ? { failure: s.failure.message } : {}),
    };
  });
}

/** One pass over the host's groups for the metrics (layer-metrics.ts): the largest lags, the metadata group. */
function raftSummary(host: RaftHost): RaftSummary {
  let commitLagMax = 0;
  let applyLagMax = 0;
  let metadata: RaftSummary['metadata'];
  for (const gid of host.groupIds()) {
    const s = host.status(gid);
    if (s.failure !== null) continue;
    commitLagMax = Math.max(commitLagMax, s.lastIndex - s.commitIndex);
    applyLagMax = Math.max(applyLagMax, s.commitIndex - s.appliedIndex);
    if (gid === METADATA_GROUP_ID)
      metadata = { term: s.term, commitIndex: s.commitIndex, leaderId: s.leaderId };
  }
  return { commitLagMax, applyLagMax, metadata };
}

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
  /** Asks the node at `address` to admit this node (cluster/join.ts); absent: --join is not possible. */
  join?(address: string, question: JoinQuestion, timeoutMs: number): Promise<JoinAnswer>;
  close(): Promise<void>;
  /** Per peer, the batches it acknowledged so far (monotonic: liveness checks). */
  stats(): readonly PeerAcks[];
}

export type TransportFactory = (options: {
  nodeId: number;
  listenAddress: string;
  /** Mutual TLS with the other nodes (--raft-tls-*), read from its files; absent: plaintext. */
  tls: TransportTls | undefined;
  /** A peer's Raft address, or undefined when unknown. */
  peerAddress(nodeId: number): string | undefined;
  handler: TransportHandler;
  logger: LibraryLogger;
}) => ClusterTransport;

/**
 * `env`: the clock (the Raft logs' and partitions' wall clock, the Raft host's monotonic deadlines),
 * the scheduler (every timer; `defer`: the Raft host's cycles and group commits), randomness (ids,
 * the seed of the Raft election jitter) and the file system. A deterministic simulation passes its
 * own (tools/sim).
 */
export interface RaftClusterModeOptions extends EnvOptions {
  /** @deprecated `env.scheduler.defer`. */
  defer?(fn: () => void): void;
  /** @deprecated `env.clock.monotonicMs`. */
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
  /**
   * Kafka requests to other nodes (transaction markers, KIP-890 verification); default: the
   * inter-broker client over their advertised listeners.
   */
  brokerCalls?: BrokerCalls;
  extraHandlers?: readonly AnyHandler[];
  /** Told the composed services once they are up (tests reach into them). */
  onComposed?(c: Composed): void;
}

const grpcTransport: TransportFactory = (options) =>
  new GrpcTransport({
    nodeId: options.nodeId,
    listenAddress: options.listenAddress,
    peerAddress: options.peerAddress,
    handler: options.handler,
    logger: options.logger,
    ...(options.tls !== undefined ? { tls: options.tls } : {}),
  });

/**
 * The Raft transport's TLS from its files. With node identities, this node's own certificate must
 * name it (CN=node-<id>): every peer would refuse it otherwise, so the node refuses to start.
 */
function raftTls(config: ServerConfig): TransportTls | undefined {
  const t = config.raft?.tls;
  if (t === undefined) return undefined;
  const read = (file: string, what: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (e) {
      throw new ServerError(
        ServerErrorCode.INVALID_CONFIG,
        `cannot read the Raft TLS ${what} ${file}: ${(e as Error).message}`,
      );
    }
  };
  const cert = read(t.certFile, 'certificate');
  const tls: TransportTls = { cert, key: read(t.keyFile, 'key'), ca: read(t.caFile, 'CA') };
  if (!t.checkNodeIds) return tls;
  let cn: string | undefined;
  try {
    cn = commonNameOfSubject(new X509Certificate(cert).subject);
  } catch (e) {
    throw new ServerError(
      ServerErrorCode.INVALID_CONFIG,
      `the Raft TLS certificate ${t.certFile} is not a PEM certificate: ${(e as Error).message}`,
    );
  }
  if (cn === undefined || nodeIdOfCommonName(cn) !== config.nodeId)
    throw new ServerError(
      ServerErrorCode.INVALID_CONFIG,
      `the Raft TLS certificate ${t.certFile} names ${cn === undefined ? 'no node' : `CN=${cn}`}, not this node: its subject must have CN=${nodeCommonName(config.nodeId)} (or run with --raft-tls-node-identity none)`,
    );
  return { ...tls, nodeIdOf: nodeIdOfCertificate };
}

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
    if (raft.peers.some((p) => p.nodeId === nodeId))
      throw new ServerError(ServerErrorCode.INVALID_CONFIG, `--peers lists this node's own id ${nodeId}`);
    // Every data file goes through one bounded pool of descriptors (docs/design/file-handles.md).
    const { env } = await poolDataFiles(ctx, modeEnv(options));
    const { fs: fsys, clock, scheduler, random } = env;
    const tickMs = options.tickMs ?? raft.tickMs ?? RAFT_TICK_MS;
    const electionTicks = options.electionTicks ?? raft.electionTicks ?? METADATA_ELECTION_TICKS;
    const partitionElectionTicks =
      options.partitionElectionTicks ?? raft.partitionElectionTicks ?? PARTITION_ELECTION_TICKS;
    const metadataTimeoutMs = options.metadataTimeoutMs ?? 10_000;
    const dataDir = ctx.dataDir.path;
    const raftDir = path.join(dataDir, 'raft');
    const peers = new Map(raft.peers.map((p) => [p.nodeId, `${p.host}:${p.port}`]));
    const voters = [nodeId, ...raft.peers.map((p) => p.nodeId)];
    const rl = libraryLogger(logger.child({ component: 'raft' }));

    // A Raft directory without groups: this node has never taken part, or has lost what it had.
    await fsys.mkdir(raftDir);
    const fresh = !(await fsys.readdir(raftDir)).some((name) => name.startsWith('group-'));
    // Which partition groups this node held: a lost group folder is refused, not re-created empty.
    const manifest = await GroupManifest.open(fsys, raftDir);
    // Its election jitter is seeded from `random` (4 bytes, drawn here).
    const host = new RaftHost({
      nodeId,
      dataDir: raftDir,
      env: { ...env, logger: rl },
      tickMs,
      electionTicks,
      maxPendingProposals: 100_000,
      maxProposalBytes: 64 * 1024 * 1024,
      // As the standalone partition logs: a write(2) into the page cache on the event loop is
      // cheaper than a thread-pool round trip per group per cycle; fsyncs stay in the pool.
      inlineWrites: true,
      observer: ctx.metrics.layers.observer,
      // Quiescent partition groups (docs/design/quiescence.md) learn that a peer died from node
      // liveness: after their own election timeout, so an idle partition fails over about as fast.
      livenessTimeoutTicks: partitionElectionTicks,
    });
    const layers = ctx.metrics.layers;
    const walStats = (): WalStats => host.walStats;
    layers.raft = { stats: host.stats, summary: () => raftSummary(host) };
    layers.walSources.add(walStats);
    let store: RaftMetadataStore | undefined;
    const transport = (options.transport ?? grpcTransport)({
      nodeId,
      listenAddress: raft.raftAddr,
      tls: raftTls(config),
      peerAddress: (id) => {
        const known = peers.get(id);
        if (known !== undefined) return known;
        const b = store?.state.broker(id);
        if (b !== undefined && b.raftAddress !== '') return b.raftAddress;
        // A node being added: the metadata leader reaches it at the address it joined with.
        const change = store?.state.membershipChange();
        return change !== null && change !== undefined && change.nodeId === id && change.raftAddress !== ''
          ? change.raftAddress
          : undefined;
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
        onJoin: (q) =>
          store === undefined
            ? Promise.resolve({
                errorCode: 'NOT_CONTROLLER',
                errorMessage: `node ${nodeId} is starting`,
                clusterId: '',
                members: [],
              })
            : answerJoin(
                {
                  store,
                  members: () => {
                    const st = host.status(METADATA_GROUP_ID);
                    return [...st.voters, ...st.learners];
                  },
                  addressOf: (id) =>
                    id === nodeId
                      ? raft.raftAddr
                      : (peers.get(id) ?? store?.state.broker(id)?.raftAddress ?? undefined),
                },
                q,
              ),
      },
      logger: rl,
    });
    // Reassignment catch-up goes through the throttle when one is set (partition-mover.ts).
    const throttle =
      raft.replicationThrottledRate === undefined
        ? undefined
        : new ReplicationThrottle(
            { bytesPerSec: raft.replicationThrottledRate, clock, scheduler },
            transport,
          );
    host.setTransport(
      throttle === undefined
        ? transport
        : {
            send: (g, m) => throttle.send(g, m),
            ...(transport.forwardProposal !== undefined
              ? { forwardProposal: transport.forwardProposal.bind(transport) }
              : {}),
          },
    );
    const release = async (): Promise<void> => {
      if (layers.raft?.stats === host.stats) layers.raft = undefined;
      layers.walSources.delete(walStats);
      throttle?.close();
      await host.close();
      await transport.close();
      await manifest.close();
    };
    try {
      await transport.start();
      if (raft.join !== undefined && !fresh)
        logger.info(
          { join: raft.join },
          '--join ignored: this node holds cluster state already (its stored membership wins)',
        );
      if (raft.join !== undefined && fresh) {
        // A new node joins a running cluster through any member (cluster/join.ts).
        if (transport.join === undefined)
          throw new ServerError(
            ServerErrorCode.INVALID_CONFIG,
            '--join: this transport cannot join a cluster',
          );
        const admitted = await joinCluster({
          address: raft.join,
          question: {
            nodeId,
            raftAddress: raft.raftAddr,
            clusterId: raft.clusterId ?? '',
            directoryId: ctx.dataDir.meta.directoryId,
          },
          join: transport.join.bind(transport),
          clock,
          scheduler,
          logger: logger.child({ component: 'cluster' }),
        });
        for (const m of admitted.members) if (m.nodeId !== nodeId) peers.set(m.nodeId, m.raftAddress);
      } else if (fresh && voters.length > 1)
        await checkNewNodeMayJoin({
          nodeId,
          directoryId: ctx.dataDir.meta.directoryId,
          voters,
          identify: (to, q, t) => transport.identify(to, q, t),
          clock,
          scheduler,
          logger: logger.child({ component: 'cluster' }),
        });
      store = await RaftMetadataStore.open({
        host,
        voters,
        // A joining node founds nothing: it learns the membership from the leader.
        bootstrap: raft.bootstrap && raft.join === undefined,
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
      clock,
      scheduler,
      logger: logger.child({ component: 'partition' }),
    });
    const supervisor = new ReplicationSupervisor({
      nodeId,
      host,
      store,
      replicas: () => groups.replicas(),
      peerAcks: () => transport.stats(),
      clock,
      scheduler,
      logger: logger.child({ component: 'replication' }),
      replicaLagMaxMs: options.replicaLagMaxMs ?? 10_000,
      activeWindowMs: Math.max(3000, 3 * tickMs * electionTicks),
      transferWindowMs: tickMs * partitionElectionTicks * 2 + 500,
    });
    let repairer: ReplicaRepairer | undefined;
    const membership = new MembershipManager({
      nodeId,
      host,
      store,
      scheduler,
      logger: logger.child({ component: 'membership' }),
      proposalTimeoutMs: metadataTimeoutMs,
      fatal: (e) => ctx.fatal(e),
    });
    const maxConcurrentMoves = raft.balancerMaxConcurrentMoves ?? DEFAULT_MAX_CONCURRENT_MOVES;
    const balancer = new Balancer({
      store,
      isMetadataLeader: () =>
        host.hasGroup(METADATA_GROUP_ID) && host.status(METADATA_GROUP_ID).role === StateType.Leader,
      scheduler,
      logger: logger.child({ component: 'balancer' }),
      maxConcurrentMoves,
      nowMs: () => clock.monotonicMs(),
    });
    const interConnect = interBrokerConnect(config);
    const authorizer = config.security?.authorizer;
    const principal = authorizer === undefined ? undefined : interBrokerPrincipal(config);
    if (principal !== undefined && !(authorizer?.superUsers ?? []).includes(principal))
      logger.warn(
        { principal },
        'the authorizer is on and this node calls the others as a principal that is not a super user: grant it CLUSTER_ACTION on the cluster (an ACL) or add it to --super-users, or transactions across nodes fail',
      );
    const mover = new PartitionMover({
      nodeId,
      store,
      replicas: () => groups.replicas(),
      scheduler,
      logger: logger.child({ component: 'reassignment' }),
      proposalTimeoutMs: metadataTimeoutMs,
      transferWindowMs: tickMs * partitionElectionTicks * 2 + 500,
      ...(throttle !== undefined ? { throttle } : {}),
    });
    const brokerCalls =
      options.brokerCalls ??
      new BrokerClient({
        nodeId,
        addressOf: (id) => {
          const b = store.state.broker(id);
          return b === undefined ? undefined : { host: b.host, port: b.port };
        },
        scheduler,
        logger: logger.child({ component: 'inter-broker' }),
        ...(interConnect !== undefined ? { connect: interConnect } : {}),
      });
    const liveness = new PeerLiveness(Math.max(3000, 3 * tickMs * electionTicks));
    const composed = await composeBroker({
      ctx,
      env,
      store,
      factory: groups,
      adminCalls: brokerCalls,
      raftViews: {
        groups: () => raftGroupViews(host, groups),
        peers: () => {
          const now = clock.nowMs();
          liveness.observe(transport.stats(), now);
          // The metadata group's members now (nodes join and leave at run time).
          const st = host.status(METADATA_GROUP_ID);
          return [...st.voters, ...st.learners]
            .filter((id) => id !== nodeId)
            .map((id) => ({ nodeId: id, connected: liveness.alive(id, now) }));
        },
      },
      remoteMarkers: remoteMarkersOver(brokerCalls),
      remoteVerify: remoteVerifyOver(brokerCalls),
      logDir: { path: dataDir, space: () => diskSpace(dataDir) },
      raftAddress: raft.raftAddr,
      registerInBackground: true,
      rack: raft.rack ?? null,
      ...(options.groupConfig !== undefined ? { groupConfig: options.groupConfig } : {}),
      ...(options.txnConfig !== undefined ? { txnConfig: options.txnConfig } : {}),
      ...(options.extraHandlers !== undefined ? { extraHandlers: options.extraHandlers } : {}),
      moveProgress: () => mover.statuses(),
      adminRoutes: () => [
        ...membershipRoutes({
          store,
          members: () => {
            const st = host.status(METADATA_GROUP_ID);
            return { voters: st.voters, learners: st.learners };
          },
          scheduler,
          clock,
        }),
        ...balancerRoutes({ store, maxConcurrentMoves }),
      ],
      leadershipTransfers: new ClusterLeadershipTransfers({
        nodeId,
        replicas: () => groups.replicas(),
        remote: remoteElectOver(brokerCalls),
        transferWindowMs: tickMs * partitionElectionTicks * 2 + 500,
      }),
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
        mover.start();
        membership.start();
        balancer.start();
      },
      close: async () => {
        supervisor.stop();
        repairer?.stop();
        mover.stop();
        membership.stop();
        balancer.stop();
        await brokerCalls.close();
        await release();
      },
    });
    options.onComposed?.(composed);
    return composed.broker;
  };
}
