// RaftCluster: the Cluster of raft-cluster mode (issue 9, DESIGN.md "Groups").
//
// One RaftHost and one GrpcTransport per process. Group 1 is the metadata group on the initial
// voters, holding @chronik/metadata's state machine; every node answers Metadata from its applied
// state. Metadata changes (topics, partitions, configs, producer-id blocks, broker registration,
// partition leaders) are prepared here against the local view and proposed with proposeOrForward,
// so they work on any node; the state machine validates them again when they apply.
//
// Every partition replica set is its own Raft group (group id: group-ids.ts), opened by each of
// its replicas when the metadata change feed shows the partition; its log is the partition's log
// (partition-replica.ts). A new partition leader reports (leader, epoch = term, ISR = the group's
// voters) to the metadata group once it applied an entry of its term.
//
// Layout under the data directory: raft/group-<id>/ (one WAL + snapshot per group).
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type {
  ConfigAlteration,
  MetadataChange,
  MetadataCommand,
  PartitionInfo,
  TopicInfo,
} from '@chronik/metadata';
import {
  CONSUMER_OFFSETS_TOPIC,
  MetadataStateMachine,
  clusterIdFromBytes,
  encodeCommand,
  isMetadataError,
  prepareAlterBrokerConfigs,
  prepareAlterTopicConfigs,
  prepareConsumerOffsetsTopic,
  prepareCreatePartitions,
  prepareCreateTopics,
  prepareDeleteTopic,
  topicIdFromBytes,
} from '@chronik/metadata';
import type { ApplyResult } from '@chronik/metadata';
import type { Entry } from '@chronik/raft';
import { GrpcTransport } from '@chronik/raft-grpc';
import { RaftHost } from '@chronik/raft-host';
import type { BrokerDefaults, ServerConfig } from '../../config.js';
import type { Logger } from '../../logger.js';
import type {
  Acks,
  AppendResult,
  BrokerEndpoint,
  Cluster,
  ClusterStatus,
  ConfigAlterationSpec,
  ConfigEntryView,
  CreatePartitionsSpec,
  CreateTopicOutcome,
  CreateTopicSpec,
  DeleteTopicOutcome,
  IsolationLevel,
  ListOffsetResult,
  LogDirView,
  PartitionStatus,
  PartitionView,
  ProducerStateView,
  ReadRequest,
  ReadResult,
  TopicPartition,
  TopicView,
} from '../cluster.js';
import { ConfigResourceType } from '../cluster.js';
import { checkLeaderEpoch, compactProblem, diskSpace, viewOfConfig } from '../metadata-views.js';
import { METADATA_GROUP_ID, partitionGroupId } from './group-ids.js';
import { IsrTracker } from './isr.js';
import { PeerLiveness } from './peer-liveness.js';
import type { ReplicaConfig } from './partition-replica.js';
import { PartitionReplica, proposalError } from './partition-replica.js';
import { KafkaError } from '../../errors.js';

export interface RaftClusterOptions {
  config: ServerConfig;
  dataDir: string;
  logger: Logger;
  nowMs: () => number;
  advertised: () => { host: string; port: number };
  /** Period of the shared Raft tick. Default: the config's `raft.tickMs`, else 100 ms. */
  tickMs?: number;
  /**
   * Ticks before a follower of the metadata group without a leader campaigns (randomized up to
   * twice). Default: the config's `raft.electionTicks`, else 10.
   */
  electionTicks?: number;
  /** The same for partition groups. Default: the config's `raft.partitionElectionTicks`, else PARTITION_ELECTION_TICKS. */
  partitionElectionTicks?: number;
  /** Time a metadata proposal may take (forwarding included). Default 10 s. */
  metadataTimeoutMs?: number;
  /**
   * A follower not caught up to its leader's log end within this long leaves the ISR (Kafka's
   * replica.lag.time.max.ms). Default 10 s.
   */
  replicaLagMaxMs?: number;
  producerIdBlockSize?: number;
}

/** Leadership events of local partition replicas (the group coordinator listens for its topic). */
export type LeadershipListener = (topic: string, partition: number, leader: boolean) => void;

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
const LONG_MAX = 9223372036854775807n;
/** Retry period of background metadata proposals (broker registration, leader reports). */
const RETRY_MS = 500;
/** Period of the preferred-leader check. */
const REBALANCE_EVERY_MS = 2000;
/** A preferred replica must have answered steadily this long before leadership moves back to it. */
const PREFERRED_STABLE_MS = 10_000;
/** Partition WAL segments: bounds around the topic's segment.bytes (see partitionSegmentBytes). */
const MIN_PARTITION_SEGMENT_BYTES = 256 * 1024;
const MAX_PARTITION_SEGMENT_BYTES = 64 * 1024 * 1024;
/** RaftHost's largest entry (a batch is one entry). */
const MAX_ENTRY_BYTES = 16 * 1024 * 1024;
/** Retention is checked at least this often (the check is O(1) per partition when nothing expires). */
const RETENTION_CHECK_MAX_MS = 1000;
/** Period of the ISR check on partition leaders. */
const ISR_CHECK_MS = 500;

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

/** Most replicas a topic gets by default in a cluster (Kafka clusters usually set default.replication.factor=3). */
export const CLUSTER_DEFAULT_REPLICATION_FACTOR = 3;

/**
 * `default.replication.factor` in raft-cluster mode: the configured value when it was given
 * explicitly, otherwise min(3, live brokers) (at least 1).
 */
export function clusterDefaultReplicationFactor(broker: BrokerDefaults, liveBrokers: number): number {
  if (broker.defaultReplicationFactorExplicit) return broker.defaultReplicationFactor;
  return Math.max(1, Math.min(CLUSTER_DEFAULT_REPLICATION_FACTOR, liveBrokers));
}

function toClusterError(e: unknown): KafkaError {
  if (e instanceof KafkaError) return e;
  if (isMetadataError(e)) return new KafkaError(e.code, e.message, { cause: e });
  const c = proposalError(e, 'metadata proposal');
  // No reachable metadata leader: Kafka's retriable answer for admin requests is NOT_CONTROLLER.
  return c.code === 'NOT_LEADER_OR_FOLLOWER' ? new KafkaError('NOT_CONTROLLER', c.message, { cause: e }) : c;
}

/** Adapts the server's pino-style logger to @chronik/raft's (message first). */
function raftLogger(l: Logger): {
  debug(m: string, f?: Record<string, unknown>): void;
  info(m: string, f?: Record<string, unknown>): void;
  warn(m: string, f?: Record<string, unknown>): void;
  error(m: string, f?: Record<string, unknown>): void;
} {
  return {
    debug: (m, f) => l.debug(f ?? {}, m),
    info: (m, f) => l.info(f ?? {}, m),
    warn: (m, f) => l.warn(f ?? {}, m),
    error: (m, f) => l.error(f ?? {}, m),
  };
}

export class RaftCluster implements Cluster {
  readonly nodeId: number;
  readonly host: RaftHost;
  readonly transport: GrpcTransport;
  private readonly sm = new MetadataStateMachine();
  private readonly replicas = new Map<number, PartitionReplica>();
  /** Group id → "topicId/partition", to detect hash collisions. */
  private readonly groupOwners = new Map<number, string>();
  private readonly peers = new Map<number, string>();
  private readonly voters: number[];
  private readonly incarnation = randomUUID();
  private readonly logger: Logger;
  private readonly metadataTimeoutMs: number;
  private reconciling: Promise<void> = Promise.resolve();
  private reconcileQueued = false;
  private readonly deletedTopics = new Set<string>();
  private registered = false;
  private producerIds: { next: number; end: number } = { next: 0, end: 0 };
  private producerIdLock: Promise<unknown> = Promise.resolve();
  private readonly leadershipListeners = new Set<LeadershipListener>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private unsubscribe: (() => void) | undefined;
  private closed = false;
  /** Peer liveness from the transport's acknowledged batches (heartbeats flow every tick). */
  private readonly peerLiveness = new PeerLiveness(REBALANCE_EVERY_MS * 2);
  private readonly tickMs: number;
  private readonly electionTicks: number;
  private readonly partitionElectionTicks: number;
  /** Partition groups with a changeIsr proposal in flight. */
  private readonly isrReporting = new Set<number>();
  private readonly isr: IsrTracker;

  private constructor(private readonly o: RaftClusterOptions) {
    const raft = o.config.raft;
    if (raft === undefined)
      throw new KafkaError('INVALID_CONFIG', 'raft-cluster mode needs --raft-addr and --peers');
    this.nodeId = o.config.nodeId;
    if (this.nodeId <= 0)
      throw new KafkaError('INVALID_CONFIG', `raft-cluster needs a positive --node-id, got ${this.nodeId}`);
    if (raft.peers.some((p) => p.nodeId === this.nodeId))
      throw new KafkaError('INVALID_CONFIG', `--peers lists this node's own id ${this.nodeId}`);
    this.logger = o.logger;
    this.metadataTimeoutMs = o.metadataTimeoutMs ?? 10_000;
    for (const p of raft.peers) this.peers.set(p.nodeId, `${p.host}:${p.port}`);
    this.voters = [this.nodeId, ...raft.peers.map((p) => p.nodeId)].sort((a, b) => a - b);
    this.tickMs = o.tickMs ?? raft.tickMs ?? RAFT_TICK_MS;
    this.electionTicks = o.electionTicks ?? raft.electionTicks ?? METADATA_ELECTION_TICKS;
    this.partitionElectionTicks =
      o.partitionElectionTicks ?? raft.partitionElectionTicks ?? PARTITION_ELECTION_TICKS;
    this.isr = new IsrTracker({
      maxLagMs: o.replicaLagMaxMs ?? 10_000,
      activeWindowMs: Math.max(3000, 3 * this.tickMs * this.electionTicks),
    });
    const rl = raftLogger(o.logger.child({ component: 'raft' }));
    this.host = new RaftHost({
      nodeId: this.nodeId,
      dataDir: path.join(o.dataDir, 'raft'),
      logger: rl,
      tickMs: this.tickMs,
      electionTicks: this.electionTicks,
      maxPendingProposals: 100_000,
      maxProposalBytes: 64 * 1024 * 1024,
      // As the standalone partition logs: a write(2) into the page cache on the event loop is
      // cheaper than a thread-pool round trip per group per cycle; fsyncs stay in the pool.
      inlineWrites: true,
    });
    this.transport = new GrpcTransport({
      nodeId: this.nodeId,
      listenAddress: raft.raftAddr,
      peerAddress: (id) => this.peers.get(id) ?? this.brokerRaftAddress(id),
      handler: {
        onMessage: (g, m) => this.host.receive(g, m),
        onPeerUnreachable: (id) => this.host.peerUnreachable(id),
        onSnapshotStatus: (g, to, ok) => this.host.snapshotStatus(g, to, ok),
        onPropose: (g, data, timeoutMs) => this.host.propose(g, data, timeoutMs),
      },
      logger: rl,
    });
    this.host.setTransport(this.transport);
  }

  /** Opens listeners and the metadata group; never waits for a leader. */
  static async open(o: RaftClusterOptions): Promise<RaftCluster> {
    const c = new RaftCluster(o);
    try {
      await c.start();
    } catch (e) {
      await c.close().catch(() => undefined);
      throw e;
    }
    return c;
  }

  private brokerRaftAddress(id: number): string | undefined {
    const b = this.sm.broker(id);
    return b === undefined || b.raftAddress === '' ? undefined : b.raftAddress;
  }

  private async start(): Promise<void> {
    fs.mkdirSync(path.join(this.o.dataDir, 'raft'), { recursive: true });
    await this.transport.start();
    const bootstrap = this.o.config.raft?.bootstrap === true;
    await this.host.openGroup({
      groupId: METADATA_GROUP_ID,
      stateMachine: {
        apply: (e: Entry) => this.applyMetadata(e),
        snapshot: () => this.sm.snapshot(),
        // The bootstrap snapshot (index 1, the initial voters) carries no state machine data.
        restore: (data) => this.sm.restore(data.length > 0 ? data : new MetadataStateMachine().snapshot()),
      },
      bootstrapVoters: bootstrap ? this.voters : [],
      snapshotEveryEntries: 10_000,
      keepEntriesAfterSnapshot: 1_000,
      // Metadata is small and rare: every commit is stored, so a restarted node knows every topic
      // and broker at once, before a leader is elected (partition groups store theirs lazily).
      commitPersistTicks: 0,
    });
    this.unsubscribe = this.sm.subscribe(0, (ev) => {
      if (ev.type === 'changes') this.onMetadataChanges(ev.changes);
      this.scheduleReconcile();
    });
    this.host.start();
    this.background('register', () => this.register());
    this.scheduleRebalance();
    this.scheduleIsrCheck();
    this.scheduleRetention();
  }

  // ---------------------------------------------------------------- ISR and retention

  private scheduleIsrCheck(): void {
    this.later(() => {
      try {
        const now = this.o.nowMs();
        this.updatePeerLiveness(now);
        this.reportIsr(now);
      } catch (e) {
        this.logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'ISR check failed');
      }
      this.scheduleIsrCheck();
    }, ISR_CHECK_MS);
  }

  /**
   * Retention on the partitions this node leads: each leader proposes the log start offset that
   * retention.ms / retention.bytes ask for (PartitionReplica.enforceRetention); every replica then
   * compacts its log at a checkpoint below it.
   */
  private scheduleRetention(): void {
    const every = Math.min(this.o.config.broker.retentionCheckIntervalMs, RETENTION_CHECK_MAX_MS);
    this.later(() => {
      const now = this.o.nowMs();
      for (const r of this.replicas.values()) {
        try {
          r.enforceRetention(now, this.metadataTimeoutMs);
        } catch (e) {
          this.logger.warn(
            { topic: r.topic, partition: r.partition, err: e instanceof Error ? e.message : String(e) },
            'retention check failed',
          );
        }
      }
      this.scheduleRetention();
    }, every);
  }

  // ---------------------------------------------------------------- preferred leaders

  private scheduleRebalance(): void {
    this.later(() => {
      try {
        this.rebalance();
      } catch (e) {
        this.logger.warn(
          { err: e instanceof Error ? e.message : String(e) },
          'preferred leader check failed',
        );
      }
      this.scheduleRebalance();
    }, REBALANCE_EVERY_MS);
  }

  private updatePeerLiveness(now: number): void {
    this.peerLiveness.observe(this.transport.stats(), now);
  }

  /**
   * Preferred leaders (the first replica) are restored by leadership transfer when they are back:
   * a leader hands a partition to its preferred replica once that node has answered steadily for
   * PREFERRED_STABLE_MS, at most one partition per round, so leaders stay spread over the nodes.
   */
  private rebalance(): void {
    const now = this.o.nowMs();
    this.updatePeerLiveness(now);
    for (const r of this.replicas.values()) {
      if (!r.isLeader() || !r.leaderReady || r.transferring) continue;
      const preferred = r.replicas[0];
      if (preferred === undefined || preferred === this.nodeId || !r.replicas.includes(preferred)) continue;
      const since = this.peerLiveness.aliveSince(preferred);
      if (
        !this.peerLiveness.alive(preferred, now) ||
        since === undefined ||
        now - since < PREFERRED_STABLE_MS
      )
        continue;
      if (now - r.leaderSinceMs < PREFERRED_STABLE_MS) continue;
      this.logger.info(
        { topic: r.topic, partition: r.partition, to: preferred },
        'moving partition leadership back to its preferred replica',
      );
      r.transferLeadership(preferred, this.tickMs * this.partitionElectionTicks * 2 + 500);
      return;
    }
  }

  private applyMetadata(e: Entry): ApplyResult {
    const r = this.sm.apply(e.index, e.data);
    if (!r.ok)
      this.logger.debug(
        { index: e.index, code: r.error.code, err: r.error.message },
        'metadata command rejected',
      );
    return r;
  }

  /** Runs `f` until it returns true, every RETRY_MS, while the cluster is open. */
  private background(what: string, f: () => Promise<boolean>): void {
    const run = (): void => {
      if (this.closed) return;
      f().then(
        (done) => {
          if (!done) this.later(run, RETRY_MS);
        },
        (e: unknown) => {
          this.logger.debug(
            { task: what, err: e instanceof Error ? e.message : String(e) },
            'background metadata task will retry',
          );
          this.later(run, RETRY_MS);
        },
      );
    };
    run();
  }

  private later(f: () => void, ms: number): void {
    if (this.closed) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      f();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  /** Proposes a metadata command on the metadata leader; resolves with this node's apply result. */
  private async proposeMetadata(
    command: MetadataCommand,
    timeoutMs = this.metadataTimeoutMs,
  ): Promise<ApplyResult> {
    let out;
    try {
      out = await this.host.proposeOrForward(METADATA_GROUP_ID, encodeCommand(command), timeoutMs);
    } catch (e) {
      throw toClusterError(e);
    }
    const r = out.result as ApplyResult | undefined;
    if (r === undefined)
      throw new KafkaError('UNKNOWN_SERVER_ERROR', 'metadata entry applied without a result');
    return r;
  }

  private async proposeOk(command: MetadataCommand): Promise<readonly MetadataChange[]> {
    const r = await this.proposeMetadata(command);
    if (!r.ok) throw toClusterError(r.error);
    return r.changes;
  }

  private async register(): Promise<boolean> {
    if (this.sm.clusterId() === null) {
      const r = await this.proposeMetadata({
        type: 'initCluster',
        clusterId: clusterIdFromBytes(randomBytes(16)),
      });
      if (!r.ok && r.error.code !== 'INCONSISTENT_CLUSTER_ID') throw r.error;
    }
    const adv = this.o.advertised();
    const r = await this.proposeMetadata({
      type: 'registerBroker',
      brokerId: this.nodeId,
      host: adv.host,
      port: adv.port,
      rack: null,
      raftAddress: this.o.config.raft?.raftAddr ?? '',
      incarnation: this.incarnation,
    });
    if (!r.ok) throw r.error;
    this.registered = true;
    this.logger.info({ host: adv.host, port: adv.port }, 'broker registered in the cluster metadata');
    return true;
  }

  /** Whether `nodeId` answered this node's Raft traffic recently. */
  private peerAlive(nodeId: number, now: number): boolean {
    if (nodeId === this.nodeId) return true;
    return this.peerLiveness.alive(nodeId, now);
  }

  /**
   * ISR as the leader sees it (isr.ts): itself and the followers that were caught up to its log end
   * within replicaLagMaxMs and answer its Raft traffic; a follower outside the ISR joins once its log
   * holds everything committed. Changes go to the metadata group as changeIsr, at most one proposal
   * per partition in flight.
   */
  private reportIsr(now: number): void {
    for (const r of this.replicas.values()) {
      if (!r.isLeader() || !r.leaderReady) {
        this.isr.forget(r.groupId);
        continue;
      }
      if (this.isrReporting.has(r.groupId)) continue;
      const p = this.sm.topicById(r.topicId)?.partitions[r.partition];
      if (p === undefined || p.leader !== this.nodeId || p.leaderEpoch !== r.term) continue;
      const st = this.host.status(r.groupId);
      if (st.term !== r.term) continue;
      const isr = this.isr.update({
        groupId: r.groupId,
        term: r.term,
        nowMs: now,
        leaderId: this.nodeId,
        lastIndex: st.lastIndex,
        commitIndex: st.commitIndex,
        progress: st.progress,
        replicas: p.replicas,
        currentIsr: p.isr,
        reachable: (id) => this.peerAlive(id, now),
      });
      const current = [...p.isr].sort((a, b) => a - b).join(',');
      if ([...isr].sort((a, b) => a - b).join(',') === current) continue;
      this.isrReporting.add(r.groupId);
      this.proposeMetadata({
        type: 'changeIsr',
        topicId: r.topicId,
        partition: r.partition,
        leaderEpoch: r.term,
        isr,
      })
        .then(
          (res) => {
            if (res.ok)
              this.logger.info({ topic: r.topic, partition: r.partition, isr }, 'partition ISR changed');
          },
          (e: unknown) =>
            this.logger.debug(
              { err: e instanceof Error ? e.message : String(e) },
              'ISR report failed; retried later',
            ),
        )
        .finally(() => this.isrReporting.delete(r.groupId));
    }
  }

  // ---------------------------------------------------------------- partition replicas

  private key(topicId: string, partition: number): string {
    return `${topicId}/${partition}`;
  }

  private onMetadataChanges(changes: readonly MetadataChange[]): void {
    for (const ch of changes) {
      if (ch.type === 'topicDeleted') this.deletedTopics.add(ch.topicId);
      if (ch.type === 'topicConfigChanged' || ch.type === 'brokerConfigChanged') this.refreshConfigs();
    }
  }

  private scheduleReconcile(): void {
    if (this.reconcileQueued || this.closed) return;
    this.reconcileQueued = true;
    this.reconciling = this.reconciling.then(async () => {
      this.reconcileQueued = false;
      try {
        await this.reconcile();
      } catch (e) {
        this.logger.error(
          { err: e instanceof Error ? e.message : String(e) },
          'opening partition replicas failed',
        );
      }
    });
  }

  /** Opens a Raft group for every partition this node replicates; closes deleted ones. */
  private async reconcile(): Promise<void> {
    for (const topicId of [...this.deletedTopics]) {
      this.deletedTopics.delete(topicId);
      for (const [gid, r] of [...this.replicas]) {
        if (r.topicId !== topicId) continue;
        await this.closeReplica(gid, r, true);
      }
    }
    for (const t of this.sm.topics()) {
      for (const p of t.partitions) {
        if (this.closed) return;
        const gid = partitionGroupId(t.topicId, p.partition);
        const existing = this.replicas.get(gid);
        if (existing !== undefined) {
          existing.replicas = p.replicas;
          continue;
        }
        if (!p.replicas.includes(this.nodeId)) continue;
        const owner = this.groupOwners.get(gid);
        const k = this.key(t.topicId, p.partition);
        if (owner !== undefined && owner !== k) {
          this.logger.error(
            { topic: t.name, partition: p.partition, groupId: gid, other: owner },
            'partition group id collision: this replica is not opened',
          );
          continue;
        }
        await this.openReplica(t, p, gid);
      }
    }
  }

  private async openReplica(t: TopicInfo, p: PartitionInfo, gid: number): Promise<void> {
    const config = this.replicaConfig(t.name);
    const segmentBytes = this.partitionSegmentBytes(t.name, config.maxMessageBytes);
    const replica = new PartitionReplica({
      topic: t.name,
      topicId: t.topicId,
      partition: p.partition,
      groupId: gid,
      nodeId: this.nodeId,
      host: this.host,
      config,
      logger: this.logger,
      nowMs: this.o.nowMs,
      // A few checkpoints per WAL segment, so compaction can free each segment soon after retention
      // passes it.
      checkpointEveryBytes: Math.max(64 * 1024, Math.floor(segmentBytes / 4)),
      onLeaderReady: (r) => this.onLeaderReady(r),
      onLeaderLost: (r) => this.emitLeadership(r, false),
    });
    replica.replicas = p.replicas;
    this.groupOwners.set(gid, this.key(t.topicId, p.partition));
    this.replicas.set(gid, replica);
    const fresh = !fs.existsSync(path.join(this.o.dataDir, 'raft', `group-${gid}`));
    await this.host.openGroup({
      groupId: gid,
      stateMachine: replica,
      bootstrapVoters: [...p.replicas].sort((a, b) => a - b),
      // The log is the partition's data: the replica chooses the snapshot points (checkpoints below
      // its log start offset) and the log is compacted exactly to them.
      snapshotPolicy: 'stateMachine',
      maxSegmentBytes: segmentBytes,
      electionTicks: this.partitionElectionTicks,
    });
    // The preferred replica (first in the list) campaigns at once for a new group, so leaders
    // start spread as the assignment intended; the election timeout covers the rest.
    if (fresh && p.replicas[0] === this.nodeId) {
      this.later(() => {
        if (this.host.hasGroup(gid) && this.host.status(gid).leaderId === 0) this.host.campaign(gid);
      }, 300);
    }
  }

  private async closeReplica(gid: number, r: PartitionReplica, removeData: boolean): Promise<void> {
    this.replicas.delete(gid);
    this.isr.forget(gid);
    this.groupOwners.delete(gid);
    if (r.isLeader()) this.emitLeadership(r, false);
    r.close();
    await this.host.closeGroup(gid);
    if (removeData)
      fs.rmSync(path.join(this.o.dataDir, 'raft', `group-${gid}`), { recursive: true, force: true });
  }

  private onLeaderReady(r: PartitionReplica): void {
    this.emitLeadership(r, true);
    const term = r.term;
    this.background(`report leader ${r.topic}-${r.partition}`, async () => {
      if (!r.isLeader() || r.term !== term || this.closed) return true;
      const t = this.sm.topicById(r.topicId);
      const p = t?.partitions[r.partition];
      if (p === undefined) return true;
      if (p.leader === this.nodeId && p.leaderEpoch === term) return true;
      if (p.leaderEpoch > term) return true;
      const status = this.host.status(r.groupId);
      const isr = status.voters.filter((v) => p.replicas.includes(v));
      const res = await this.proposeMetadata({
        type: 'changeLeader',
        topicId: r.topicId,
        partition: r.partition,
        leader: this.nodeId,
        leaderEpoch: term,
        isr: isr.length > 0 ? isr : [this.nodeId],
      });
      if (!res.ok) {
        if (res.error.code === 'FENCED_LEADER_EPOCH') return true;
        throw res.error;
      }
      return true;
    });
  }

  onLeadership(listener: LeadershipListener): () => void {
    this.leadershipListeners.add(listener);
    for (const r of this.replicas.values()) if (r.leaderReady) listener(r.topic, r.partition, true);
    return () => this.leadershipListeners.delete(listener);
  }

  private emitLeadership(r: PartitionReplica, leader: boolean): void {
    for (const l of this.leadershipListeners) {
      try {
        l(r.topic, r.partition, leader);
      } catch (e) {
        this.logger.error({ err: e instanceof Error ? e.message : String(e) }, 'leadership listener failed');
      }
    }
  }

  private staticBrokerConfigs(): Record<string, string> {
    const b = this.o.config.broker;
    const s: Record<string, string> = {
      'log.retention.ms': String(b.logRetentionMs),
      'log.retention.bytes': String(b.logRetentionBytes),
      'log.segment.bytes': String(b.logSegmentBytes),
      'message.max.bytes': String(b.messageMaxBytes),
      'log.flush.interval.ms': String(b.logFlushIntervalMs),
    };
    if (b.logFlushIntervalMessages !== undefined)
      s['log.flush.interval.messages'] = String(b.logFlushIntervalMessages);
    return s;
  }

  private topicConfigs(topic: string): Record<string, string> {
    return this.sm.effectiveTopicConfigs(topic, {
      brokerId: this.nodeId,
      staticBrokerConfigs: this.staticBrokerConfigs(),
    });
  }

  private replicaConfig(topic: string): ReplicaConfig {
    const e = this.topicConfigs(topic);
    // Compacted internal topics (__consumer_offsets) keep their data, as in standalone.
    const keep = this.sm.topic(topic)?.internal === true || (e['cleanup.policy'] ?? '').includes('compact');
    return {
      logAppendTime: e['message.timestamp.type'] === 'LogAppendTime',
      maxMessageBytes: configNumber(e, 'max.message.bytes', this.o.config.broker.messageMaxBytes),
      retentionMs: keep ? -1 : configNumber(e, 'retention.ms', -1),
      retentionBytes: keep ? -1 : configNumber(e, 'retention.bytes', -1),
    };
  }

  /**
   * WAL segment size of a partition group: the topic's segment.bytes (compaction frees whole
   * segments, so retention frees disk at that granularity), at least what one batch of
   * max.message.bytes needs plus room, at least MIN_PARTITION_SEGMENT_BYTES, at most
   * MAX_PARTITION_SEGMENT_BYTES. Fixed when the group opens (a later segment.bytes change applies
   * when the node restarts).
   */
  private partitionSegmentBytes(topic: string, maxMessageBytes: number): number {
    const segmentBytes = configNumber(
      this.topicConfigs(topic),
      'segment.bytes',
      this.o.config.broker.logSegmentBytes,
    );
    return Math.min(
      MAX_PARTITION_SEGMENT_BYTES,
      Math.max(
        segmentBytes,
        MIN_PARTITION_SEGMENT_BYTES,
        Math.min(maxMessageBytes, MAX_ENTRY_BYTES) + 64 * 1024,
      ),
    );
  }

  private refreshConfigs(): void {
    for (const r of this.replicas.values()) {
      if (this.sm.topicById(r.topicId) !== undefined) r.config = this.replicaConfig(r.topic);
    }
  }

  // ---------------------------------------------------------------- views

  clusterId(): string {
    return this.sm.clusterId() ?? '';
  }
  controllerId(): number {
    const s = this.host.hasGroup(METADATA_GROUP_ID) ? this.host.status(METADATA_GROUP_ID) : undefined;
    return s !== undefined && s.leaderId > 0 ? s.leaderId : -1;
  }
  brokers(): readonly BrokerEndpoint[] {
    return this.sm
      .liveBrokers()
      .map((b) => ({ nodeId: b.brokerId, host: b.host, port: b.port, rack: b.rack }));
  }

  /** The metadata view, with what local Raft groups know that the metadata has not caught up with yet. */
  private view(t: TopicInfo): TopicView {
    return {
      name: t.name,
      topicId: t.topicId,
      internal: t.internal,
      configs: t.configs,
      partitions: t.partitions.map((p): PartitionView => {
        let leaderId = p.leader;
        let leaderEpoch = p.leaderEpoch;
        const r = this.replicas.get(partitionGroupId(t.topicId, p.partition));
        if (r !== undefined && r.term > leaderEpoch && r.leaderId > 0) {
          leaderId = r.leaderId;
          leaderEpoch = r.term;
        } else if (r !== undefined && leaderId === this.nodeId && !r.isLeader()) {
          // The metadata still names this node, but its replica has stepped down (check-quorum
          // while cut off, or a pause): never send clients back here. Name the leader the group
          // knows, or none (LEADER_NOT_AVAILABLE) so that clients ask another broker.
          leaderId = r.leaderId > 0 && r.leaderId !== this.nodeId ? r.leaderId : -1;
          leaderEpoch = Math.max(leaderEpoch, r.term);
        }
        return {
          partition: p.partition,
          leaderId,
          leaderEpoch,
          replicas: p.replicas,
          isr: p.isr,
          offlineReplicas: [],
        };
      }),
    };
  }
  topics(): readonly TopicView[] {
    return this.sm.topics().map((t) => this.view(t));
  }
  topic(name: string): TopicView | undefined {
    const t = this.sm.topic(name);
    return t ? this.view(t) : undefined;
  }
  topicById(topicId: string): TopicView | undefined {
    const t = this.sm.topicById(topicId);
    return t ? this.view(t) : undefined;
  }
  autoCreateEnabled(): boolean {
    return this.o.config.broker.autoCreateTopicsEnable;
  }

  async autoCreateTopics(names: readonly string[]): Promise<Map<string, KafkaError | null>> {
    const out = new Map<string, KafkaError | null>();
    const missing = [...new Set(names)].filter((n) => this.sm.topic(n) === undefined);
    if (missing.length === 0) return out;
    const outcomes = await this.createTopics(
      missing.map((name) => ({
        name,
        numPartitions: -1,
        replicationFactor: -1,
        assignments: [],
        configs: [],
      })),
      false,
    );
    for (const o of outcomes)
      out.set(o.name, o.error !== null && o.error.code !== 'TOPIC_ALREADY_EXISTS' ? o.error : null);
    return out;
  }

  // ---------------------------------------------------------------- data path

  private replica(tp: TopicPartition): { replica: PartitionReplica; info: PartitionInfo } {
    const t = this.sm.topic(tp.topic);
    const info = t?.partitions[tp.partition];
    if (!t || !info)
      throw new KafkaError('UNKNOWN_TOPIC_OR_PARTITION', `unknown partition ${tp.topic}-${tp.partition}`);
    const replica = this.replicas.get(partitionGroupId(t.topicId, tp.partition));
    if (replica === undefined || !replica.isLeader()) {
      const leader = replica !== undefined && replica.leaderId > 0 ? replica.leaderId : info.leader;
      throw new KafkaError('NOT_LEADER_OR_FOLLOWER', `${tp.topic}-${tp.partition} is led by ${leader}`);
    }
    return { replica, info };
  }

  append(tp: TopicPartition, records: Buffer, acks: Acks, timeoutMs: number): Promise<AppendResult> {
    try {
      const { replica } = this.replica(tp);
      return replica.append(records, acks, Math.max(1000, timeoutMs));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  async read(req: ReadRequest): Promise<ReadResult> {
    const { replica } = this.replica(req);
    checkLeaderEpoch(req.currentLeaderEpoch, replica.term);
    return replica.read(req.fetchOffset, req.maxBytes);
  }

  watch(tps: readonly TopicPartition[], onData: () => void): () => void {
    let fired = false;
    const cancels: Array<() => void> = [];
    const once = (): void => {
      if (fired) return;
      fired = true;
      for (const c of cancels) c();
      onData();
    };
    for (const tp of tps) {
      const t = this.sm.topic(tp.topic);
      const r = t ? this.replicas.get(partitionGroupId(t.topicId, tp.partition)) : undefined;
      if (r) cancels.push(r.watch(once));
    }
    return () => {
      fired = true;
      for (const c of cancels) c();
    };
  }

  async listOffset(
    tp: TopicPartition,
    timestamp: bigint,
    _isolationLevel: IsolationLevel,
    currentLeaderEpoch: number,
  ): Promise<ListOffsetResult> {
    const { replica } = this.replica(tp);
    checkLeaderEpoch(currentLeaderEpoch, replica.term);
    return replica.listOffset(timestamp);
  }

  async deleteRecords(tp: TopicPartition, offset: bigint, timeoutMs: number): Promise<bigint> {
    const { replica } = this.replica(tp);
    return replica.deleteRecords(offset, Math.max(1000, timeoutMs));
  }

  async offsetForLeaderEpoch(
    tp: TopicPartition,
    leaderEpoch: number,
    currentLeaderEpoch: number,
  ): Promise<{ leaderEpoch: number; endOffset: bigint }> {
    const { replica } = this.replica(tp);
    checkLeaderEpoch(currentLeaderEpoch, replica.term);
    return replica.offsetForLeaderEpoch(leaderEpoch);
  }

  describeProducers(tp: TopicPartition): readonly ProducerStateView[] {
    return this.replica(tp).replica.describeProducers();
  }

  logDirs(): readonly LogDirView[] {
    const { totalBytes, usableBytes } = diskSpace(this.o.dataDir);
    const partitions = [...this.replicas.values()].map((r) => ({
      topic: r.topic,
      partition: r.partition,
      sizeBytes: dirBytes(path.join(this.o.dataDir, 'raft', `group-${r.groupId}`)),
      offsetLag: 0n,
    }));
    return [{ path: this.o.dataDir, partitions, totalBytes, usableBytes }];
  }

  // ---------------------------------------------------------------- metadata proposals

  async createTopics(
    specs: readonly CreateTopicSpec[],
    validateOnly: boolean,
  ): Promise<CreateTopicOutcome[]> {
    const b = this.o.config.broker;
    const prepared = prepareCreateTopics(
      this.sm,
      specs.map((s) => ({
        name: s.name,
        numPartitions: s.numPartitions,
        replicationFactor: s.replicationFactor,
        assignments: s.assignments.map((brokerIds, partition) => ({ partition, brokerIds })),
        configs: s.configs,
      })),
      {
        defaultPartitions: b.numPartitions,
        defaultReplicationFactor: clusterDefaultReplicationFactor(b, this.sm.liveBrokers().length),
        newTopicId: () => topicIdFromBytes(randomBytes(16)),
      },
    );
    return Promise.all(
      prepared.map(async (p, i): Promise<CreateTopicOutcome> => {
        const spec = specs[i] as CreateTopicSpec;
        const fail = (error: KafkaError): CreateTopicOutcome => ({
          name: p.name,
          error,
          topicId: ZERO_UUID,
          numPartitions: -1,
          replicationFactor: -1,
          configs: [],
        });
        if (!p.result.ok) return fail(toClusterError(p.result.error));
        const problem = compactProblem(spec.configs);
        if (problem !== null) return fail(new KafkaError('INVALID_CONFIG', problem));
        const cmd = p.result.command;
        const numPartitions = cmd.assignments.length;
        const replicationFactor = cmd.assignments[0]?.length ?? 0;
        if (validateOnly)
          return {
            name: p.name,
            error: null,
            topicId: ZERO_UUID,
            numPartitions,
            replicationFactor,
            configs: [],
          };
        try {
          await this.proposeOk(cmd);
          const configs = this.sm
            .describeTopicConfigs(p.name, {
              brokerId: this.nodeId,
              staticBrokerConfigs: this.staticBrokerConfigs(),
            })
            .map(viewOfConfig);
          return {
            name: p.name,
            error: null,
            topicId: cmd.topicId,
            numPartitions,
            replicationFactor,
            configs,
          };
        } catch (e) {
          return fail(toClusterError(e));
        }
      }),
    );
  }

  async deleteTopics(
    refs: ReadonlyArray<{ name: string | null; topicId: string | null }>,
  ): Promise<DeleteTopicOutcome[]> {
    return Promise.all(
      refs.map(async (ref): Promise<DeleteTopicOutcome> => {
        const target =
          ref.name !== null && ref.name !== '' ? { name: ref.name } : { topicId: ref.topicId ?? '' };
        const prepared = prepareDeleteTopic(this.sm, target);
        if (!prepared.ok)
          return { name: ref.name, topicId: ref.topicId ?? ZERO_UUID, error: toClusterError(prepared.error) };
        try {
          await this.proposeOk(prepared.command);
          return { name: prepared.command.name, topicId: prepared.command.topicId, error: null };
        } catch (e) {
          return { name: ref.name, topicId: ref.topicId ?? ZERO_UUID, error: toClusterError(e) };
        }
      }),
    );
  }

  async createPartitions(
    specs: readonly CreatePartitionsSpec[],
    validateOnly: boolean,
  ): Promise<Array<{ name: string; error: KafkaError | null }>> {
    const out: Array<{ name: string; error: KafkaError | null }> = [];
    for (const s of specs) {
      const prepared = prepareCreatePartitions(this.sm, {
        name: s.name,
        count: s.count,
        assignments: s.assignments,
      });
      if (!prepared.ok) {
        out.push({ name: s.name, error: toClusterError(prepared.error) });
        continue;
      }
      try {
        if (!validateOnly) await this.proposeOk(prepared.command);
        out.push({ name: s.name, error: null });
      } catch (e) {
        out.push({ name: s.name, error: toClusterError(e) });
      }
    }
    return out;
  }

  private brokerTarget(resourceName: string): number | null {
    if (resourceName === '') return null;
    if (!/^\d+$/.test(resourceName))
      throw new KafkaError('INVALID_REQUEST', `invalid broker id "${resourceName}"`);
    const id = Number(resourceName);
    if (this.sm.broker(id) === undefined && id !== this.nodeId)
      throw new KafkaError('INVALID_REQUEST', `broker ${id} is not registered`);
    return id;
  }

  describeConfigs(
    resourceType: number,
    resourceName: string,
    keys: readonly string[] | null,
    includeSynonyms: boolean,
    _includeDocumentation: boolean,
  ): ConfigEntryView[] {
    try {
      const options = { staticBrokerConfigs: this.staticBrokerConfigs(), keys, includeSynonyms };
      if (resourceType === ConfigResourceType.TOPIC)
        return this.sm
          .describeTopicConfigs(resourceName, { ...options, brokerId: this.nodeId })
          .map(viewOfConfig);
      if (resourceType === ConfigResourceType.BROKER)
        return this.sm.describeBrokerConfigs(this.brokerTarget(resourceName), options).map(viewOfConfig);
      if (resourceType === ConfigResourceType.BROKER_LOGGER) return [];
      throw new KafkaError('INVALID_REQUEST', `unsupported config resource type ${resourceType}`);
    } catch (e) {
      throw toClusterError(e);
    }
  }

  async alterConfigs(
    resourceType: number,
    resourceName: string,
    alterations: readonly ConfigAlterationSpec[],
    replace: boolean,
    validateOnly: boolean,
  ): Promise<void> {
    const problem = compactProblem(alterations);
    if (problem !== null) throw new KafkaError('INVALID_CONFIG', problem);
    const alts = alterations.map((a): ConfigAlteration => ({
      name: a.name,
      op: a.op as ConfigAlteration['op'],
      value: a.value,
    }));
    let prepared;
    if (resourceType === ConfigResourceType.TOPIC)
      prepared = prepareAlterTopicConfigs(this.sm, { name: resourceName, alterations: alts, replace });
    else if (resourceType === ConfigResourceType.BROKER)
      prepared = prepareAlterBrokerConfigs(this.sm, {
        brokerId: this.brokerTarget(resourceName),
        alterations: alts,
        replace,
      });
    else throw new KafkaError('INVALID_REQUEST', `config resource type ${resourceType} cannot be altered`);
    if (!prepared.ok) throw toClusterError(prepared.error);
    if (!validateOnly) await this.proposeOk(prepared.command);
  }

  // ---------------------------------------------------------------- producers, coordinators

  initProducerId(req: {
    transactionalId: string | null;
    transactionTimeoutMs: number;
    producerId: bigint;
    producerEpoch: number;
  }): Promise<{ producerId: bigint; producerEpoch: number }> {
    if (req.transactionalId !== null) {
      return Promise.reject(
        new KafkaError(
          'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
          'transactions are not supported by this broker yet',
        ),
      );
    }
    if (req.producerId >= 0n && req.producerEpoch >= 0 && req.producerEpoch < 32766) {
      return Promise.resolve({ producerId: req.producerId, producerEpoch: req.producerEpoch + 1 });
    }
    const run = this.producerIdLock.then(async () => {
      if (this.producerIds.next >= this.producerIds.end) {
        const changes = await this.proposeOk({
          type: 'allocateProducerIds',
          brokerId: this.nodeId,
          brokerEpoch: -1,
          count: this.o.producerIdBlockSize ?? 1000,
        });
        const ch = changes.find((c) => c.type === 'producerIdsAllocated');
        if (ch === undefined || ch.type !== 'producerIdsAllocated')
          throw new KafkaError('UNKNOWN_SERVER_ERROR', 'no producer id block was allocated');
        this.producerIds = { next: ch.block.firstProducerId, end: ch.block.firstProducerId + ch.block.count };
      }
      return { producerId: BigInt(this.producerIds.next++), producerEpoch: 0 };
    });
    this.producerIdLock = run.catch(() => undefined);
    return run;
  }

  async findCoordinator(keyType: number, key: string): Promise<BrokerEndpoint> {
    const self = this.brokers().find((b) => b.nodeId === this.nodeId);
    if (self === undefined)
      throw new KafkaError('COORDINATOR_NOT_AVAILABLE', 'this broker is not registered yet');
    if (keyType !== 0) return self;
    try {
      await this.ensureOffsetsTopic();
    } catch (e) {
      throw new KafkaError(
        'COORDINATOR_NOT_AVAILABLE',
        `creating ${CONSUMER_OFFSETS_TOPIC} failed: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
    const n = this.o.config.broker.offsetsTopicNumPartitions;
    const lookup = this.sm.findCoordinator(key, 'group', n);
    if (!lookup.ok) throw toClusterError(lookup.error);
    // What the local replica of the coordinator partition knows may be newer than the metadata
    // (a new leader not reported yet, or this node's replica stepped down): answer as Metadata does.
    const leaderId = this.topic(lookup.topic)?.partitions[lookup.partition]?.leaderId ?? lookup.leaderId;
    if (leaderId !== lookup.leaderId) {
      const b = leaderId > 0 ? this.brokers().find((x) => x.nodeId === leaderId) : undefined;
      if (b === undefined)
        throw new KafkaError(
          'COORDINATOR_NOT_AVAILABLE',
          `${lookup.topic}-${lookup.partition} has no available leader`,
        );
      return b;
    }
    return {
      nodeId: lookup.broker.brokerId,
      host: lookup.broker.host,
      port: lookup.broker.port,
      rack: lookup.broker.rack,
    };
  }

  private async ensureOffsetsTopic(): Promise<void> {
    if (this.sm.topic(CONSUMER_OFFSETS_TOPIC) !== undefined) return;
    const live = this.sm.liveBrokers().length;
    const prepared = prepareConsumerOffsetsTopic(this.sm, {
      partitionCount: this.o.config.broker.offsetsTopicNumPartitions,
      replicationFactor: Math.max(1, Math.min(3, live)),
      newTopicId: () => topicIdFromBytes(randomBytes(16)),
    });
    if (!prepared.ok) {
      if (prepared.error.code === 'TOPIC_ALREADY_EXISTS') return;
      throw toClusterError(prepared.error);
    }
    const r = await this.proposeMetadata(prepared.command);
    if (!r.ok && r.error.code !== 'TOPIC_ALREADY_EXISTS') throw toClusterError(r.error);
  }

  // ---------------------------------------------------------------- operations

  status(): ClusterStatus {
    const s = this.host.hasGroup(METADATA_GROUP_ID) ? this.host.status(METADATA_GROUP_ID) : undefined;
    return {
      nodeId: this.nodeId,
      mode: 'raft-cluster',
      clusterId: this.clusterId(),
      controllerId: this.controllerId(),
      brokers: this.brokers(),
      metadataGroup: {
        leaderId: s !== undefined && s.leaderId > 0 ? s.leaderId : -1,
        term: s?.term ?? 0,
        commitIndex: s?.commitIndex ?? 0,
        appliedIndex: s?.appliedIndex ?? 0,
        voters: s?.voters ?? [],
      },
    };
  }

  partitionStatuses(): PartitionStatus[] {
    const out: PartitionStatus[] = [];
    for (const r of this.replicas.values()) {
      const t = this.sm.topicById(r.topicId);
      const p = t?.partitions[r.partition];
      const leader = r.isLeader() ? this.nodeId : r.leaderId > 0 ? r.leaderId : -1;
      out.push({
        topic: r.topic,
        partition: r.partition,
        role: r.isLeader() ? 'leader' : 'follower',
        leader,
        leaderEpoch: r.term,
        highWatermark: r.highWatermark,
        logEndOffset: r.logEndOffset,
        logStartOffset: r.logStartOffset,
        replicas: p?.replicas ?? r.replicas,
        isr: p?.isr ?? [],
      });
    }
    return out.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  }

  /** Whether the metadata group has applied this node's broker registration. */
  get isRegistered(): boolean {
    return this.registered;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.unsubscribe?.();
    await this.reconciling.catch(() => undefined);
    for (const r of this.replicas.values()) r.close();
    await this.host.close();
    await this.transport.close();
  }
}

/** A numeric topic config (LONG values above 2^53 read as Number.MAX_SAFE_INTEGER). */
function configNumber(e: Record<string, string>, key: string, dflt: number): number {
  const v = e[key];
  if (v === undefined) return dflt;
  const n = BigInt(v);
  if (n >= LONG_MAX || n > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
  return Number(n);
}

/** Bytes of the files under `dir` (a group folder: state, snapshot, log/ segments), two levels deep. */
function dirBytes(dir: string, depth = 2): number {
  let total = 0;
  try {
    for (const f of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, f.name);
      if (f.isFile()) total += fs.statSync(p).size;
      else if (f.isDirectory() && depth > 1) total += dirBytes(p, depth - 1);
    }
  } catch {
    // missing, or removed meanwhile (a compacted segment)
  }
  return total;
}
