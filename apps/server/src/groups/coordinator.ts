// The group coordinator: Kafka's classic group protocol (JoinGroup, SyncGroup, Heartbeat,
// LeaveGroup, DescribeGroups, ListGroups, DeleteGroups) and committed offsets (OffsetCommit,
// OffsetFetch, OffsetDelete), as a deterministic library: no sockets, time and timers come from an
// injected Clock and Scheduler (@chronik/env), storage from an injected OffsetLog.
//
// State machine (Kafka's GroupCoordinator, whose behaviour this follows case by case):
//
//   Empty ──join──▶ PreparingRebalance ──all joined / rebalance timeout──▶ CompletingRebalance
//     ▲                  ▲      │ (no member left)                              │ leader's SyncGroup
//     └──────────────────┼──────┘                                               ▼ written durably
//                        └───── join of a new member / leave / session expiry ── Stable
//   any ──DeleteGroups (Empty only), offsets expired, partition unloaded──▶ Dead
//
// - A group's coordinator is partition abs(javaHashCode(groupId)) % numPartitions of
//   __consumer_offsets; requests for a group whose partition is not loaded here get NOT_COORDINATOR,
//   COORDINATOR_LOAD_IN_PROGRESS while it loads.
// - Durability: the leader's assignment (group metadata), offset commits and deletions are records
//   appended through the OffsetLog; the request is answered only once the append is durable, and
//   the in-memory state changes only then. loadPartition() rebuilds everything from the log.
// - Protocol metadata and assignments are opaque bytes: the clients' assignors (range,
//   round-robin, cooperative-sticky, ...) work unchanged.
// - Transactional offset commits (TxnOffsetCommit) are a transaction's batch in the group's
//   partition, pending (txn-offsets.ts) until the transaction's marker lands there: the partition
//   manager tells the coordinator (onTxnMarker), and a load replays markers in log order too.
// - Groups of the consumer protocol (KIP-848: ConsumerGroupHeartbeat, ConsumerGroupDescribe) share
//   the group ids, offsets, partitions and writer; consumer-coordinator.ts runs them. A group is of
//   one protocol at a time: an empty classic group becomes a consumer group on a consumer's first
//   heartbeat, an empty consumer group a classic one on a classic JoinGroup; a running classic
//   group is upgraded by a consumer's heartbeat, and a consumer group whose last consumer-protocol
//   member leaves is downgraded (installed here as a classic group that rebalances), as
//   group.consumer.migration.policy allows (Kafka 4's mixed groups).
import type { Clock, Scheduler, TimerHandle } from '@chronik/env';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { CONSUMER_PROTOCOL_TYPE } from './consumer-protocol.js';
import type { ServerAssignorName } from './consumer-assignors.js';
import { SERVER_ASSIGNORS, isServerAssignor } from './consumer-assignors.js';
import type { DowngradedMember, MigrationPolicy, TopicMetadataSource } from './consumer-coordinator.js';
import { ConsumerGroupEngine, NO_TOPIC_METADATA } from './consumer-coordinator.js';
import { ConsumerGroupState } from './consumer-group.js';
import type {
  ConsumerGroupRecord,
  StoredConsumerGroup,
  StoredConsumerMember,
  StoredMemberAssignment,
} from './consumer-records.js';
import { GroupError, GroupErrorCode, appendErrorToKafka, type GroupKafkaError } from './errors.js';
import { EMPTY_BYTES, Group, Member } from './group.js';
import type { OffsetLog, OffsetLogEntry, TransactionalAppend } from './offset-log.js';
import { partitionForGroup } from './partitioning.js';
import { PendingTxnOffsets } from './txn-offsets.js';
import type { CommittedOffset, EncodedRecord, OffsetsTopicRecord, StoredGroup } from './records.js';
import { decodeRecord, encodeRecord } from './records.js';
import type {
  ConsumerGroupHeartbeatRequest,
  ConsumerGroupHeartbeatResult,
  DeleteGroupResult,
  DescribedConsumerGroup,
  DescribedGroup,
  FetchedOffset,
  GroupProtocol,
  GroupState,
  HeartbeatRequest,
  JoinGroupRequest,
  JoinGroupResult,
  LeaveGroupRequest,
  LeaveGroupResult,
  ListGroupsRequest,
  ListGroupsResult,
  OffsetCommitRequest,
  OffsetCommitResult,
  OffsetDeleteRequest,
  OffsetDeleteResult,
  OffsetFetchRequest,
  OffsetFetchResult,
  OffsetCommitPartition,
  PartitionResult,
  SyncGroupRequest,
  SyncGroupResult,
  TopicPartitionsResult,
  TxnOffsetCommitRequest,
} from './types.js';
import { joinGroupError, syncGroupError } from './types.js';

export interface GroupCoordinatorConfig {
  /** offsets.topic.num.partitions. */
  numPartitions: number;
  /** group.min.session.timeout.ms / group.max.session.timeout.ms. */
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  /** group.initial.rebalance.delay.ms: how long a new group waits for more members. */
  initialRebalanceDelayMs: number;
  /** group.max.size: members per group (also bounds members waiting for their id). */
  maxGroupSize: number;
  /** Groups held by this coordinator (a new one beyond it is refused with GROUP_MAX_SIZE_REACHED). */
  maxGroups: number;
  /** Committed offsets per group (beyond it commits get INVALID_COMMIT_OFFSET_SIZE). */
  maxOffsetsPerGroup: number;
  /** offset.metadata.max.bytes. */
  maxOffsetMetadataBytes: number;
  /** Bytes of one member's metadata for one protocol, and of one assignment. */
  maxProtocolMetadataBytes: number;
  /** Protocols one member may offer. */
  maxProtocolsPerMember: number;
  /** UTF-8 bytes of a group id, member id, instance id, client id, protocol type or name. */
  maxIdBytes: number;
  /** offsets.retention.ms. */
  offsetsRetentionMs: number;
  /** offsets.retention.check.interval.ms. */
  offsetsRetentionCheckIntervalMs: number;
  /** How long a member that joined a rebalance may wait for its answer before it is dropped. */
  newMemberJoinTimeoutMs: number;
  /**
   * Snapshot a partition (rewrite its live records, then drop the older prefix) once this many
   * records were appended since its last snapshot, and at least twice as many as it then held.
   */
  compactionMinRecords: number;
  /** Records per append (writes waiting behind one append are merged up to this many). */
  maxRecordsPerAppend: number;
  /** Writes waiting per partition; beyond it a write is refused at once (COORDINATOR_NOT_AVAILABLE, retriable). */
  maxQueuedWritesPerPartition: number;
  /**
   * A write not durable this long after it was queued is answered COORDINATOR_NOT_AVAILABLE
   * (retriable); if it lands later, its records still take effect in memory, as they did in the log.
   */
  appendTimeoutMs: number;
  /** Bytes of one snapshot append (it is split beyond; max.message.bytes bounds every batch). */
  snapshotBatchBytes: number;
  /** group.consumer.heartbeat.interval.ms: how often consumer-protocol members heartbeat. */
  consumerHeartbeatIntervalMs: number;
  /** group.consumer.session.timeout.ms: a consumer-protocol member silent this long is removed. */
  consumerSessionTimeoutMs: number;
  /** Topic names one consumer-protocol member may subscribe to. */
  consumerMaxSubscribedTopics: number;
  /** UTF-8 bytes of a subscription regex. */
  consumerMaxRegexBytes: number;
  /** Partitions one heartbeat may report owning. */
  consumerMaxOwnedPartitions: number;
  /** Heartbeats of one consumer group processed and written together. */
  consumerMaxRequestsPerBatch: number;
}

export const DEFAULT_GROUP_CONFIG: GroupCoordinatorConfig = {
  numPartitions: 50,
  minSessionTimeoutMs: 6000,
  maxSessionTimeoutMs: 1_800_000,
  initialRebalanceDelayMs: 3000,
  maxGroupSize: 10_000,
  maxGroups: 100_000,
  maxOffsetsPerGroup: 100_000,
  maxOffsetMetadataBytes: 4096,
  maxProtocolMetadataBytes: 1024 * 1024,
  maxProtocolsPerMember: 64,
  maxIdBytes: 4096,
  offsetsRetentionMs: 7 * 24 * 3600 * 1000,
  offsetsRetentionCheckIntervalMs: 600_000,
  newMemberJoinTimeoutMs: 300_000,
  compactionMinRecords: 10_000,
  maxRecordsPerAppend: 10_000,
  maxQueuedWritesPerPartition: 10_000,
  appendTimeoutMs: 30_000,
  snapshotBatchBytes: 512 * 1024,
  consumerHeartbeatIntervalMs: 5000,
  consumerSessionTimeoutMs: 45_000,
  consumerMaxSubscribedTopics: 10_000,
  consumerMaxRegexBytes: 1024,
  consumerMaxOwnedPartitions: 100_000,
  consumerMaxRequestsPerBatch: 500,
};

export interface GroupCoordinatorOptions {
  offsetLog: OffsetLog;
  /** Wall-clock time: state timestamps, session and offset expiry. */
  clock: Clock;
  scheduler: Scheduler;
  config?: Partial<GroupCoordinatorConfig>;
  logger?: Logger;
  /** Member ids are `${clientId}-${newUuid()}` (classic) or newUuid() (consumer protocol v0). */
  newUuid: () => string;
  /** The cluster's topics (consumer-protocol groups subscribe to them); default: none. */
  topics?: TopicMetadataSource;
  /** group.consumer.assignors: the server assignors members may name, the first the default (uniform, range). */
  consumerAssignors?: readonly string[];
  /** group.consumer.migration.policy: the conversions of running groups allowed (default bidirectional). */
  consumerMigrationPolicy?: MigrationPolicy;
}

/** A transaction marker written durably to a partition, at `offset`. */
interface LandedMarker {
  producerId: bigint;
  commit: boolean;
  offset: bigint;
}

type PartitionStatus =
  { state: 'loading'; epoch: number; markers: LandedMarker[] } | { state: 'active'; epoch: number };

/** Markers a partition may receive while it loads; beyond it the load starts over. */
const MAX_MARKERS_WHILE_LOADING = 100_000;

interface PendingWrite {
  records: EncodedRecord[];
  forOffsets: boolean;
  /** TxnOffsetCommit: the records are one transactional batch of this producer (never merged). */
  txn: TransactionalAppend | undefined;
  /**
   * Runs synchronously once the records are durable, before any later write or snapshot starts,
   * with the log offset of the first record.
   */
  onDurable: ((firstOffset: bigint) => void) | undefined;
  /** Runs once the write has landed (after onDurable) or failed, whatever the timeout answered. */
  onSettled: ((error: GroupKafkaError) => void) | undefined;
  resolve: (error: GroupKafkaError) => void;
}

/**
 * The write path of one partition: one append in flight at a time (so the log order is the
 * order of completion in memory), writes queued behind it merged into the next append.
 */
interface PartitionWriter {
  readonly partition: number;
  readonly epoch: number;
  queue: PendingWrite[];
  busy: boolean;
  snapshotQueued: boolean;
  appendedSinceSnapshot: number;
  liveAtSnapshot: number;
  /** Producer id → its transactional writes queued or in flight. */
  txnWrites: Map<bigint, number>;
  /** A producer's marker that landed while its writes were in flight (they may precede it in the log). */
  lateMarkers: Map<bigint, LandedMarker>;
  /** Producer id → the groups holding its pending transactional offsets. */
  txnGroups: Map<bigint, Set<Group>>;
}

function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** The offset records of a commit's accepted partitions. */
function offsetRecords(
  groupId: string,
  toWrite: ReadonlyArray<{ topic: string; partition: number; value: CommittedOffset }>,
): OffsetsTopicRecord[] {
  return toWrite.map((w) => ({
    type: 'offset',
    groupId,
    topic: w.topic,
    partition: w.partition,
    value: w.value,
  }));
}

export class GroupCoordinator {
  readonly config: GroupCoordinatorConfig;
  /** Counters for the operator (layer-metrics.ts): rebalances started (classic protocol). */
  readonly stats = { rebalances: 0 };
  private readonly log: OffsetLog;
  private readonly clock: Clock;
  private readonly scheduler: Scheduler;
  private readonly logger: Logger;
  private readonly newUuid: () => string;
  private readonly groups = new Map<string, Group>();
  private readonly partitions = new Map<number, PartitionStatus>();
  private readonly writers = new Map<number, PartitionWriter>();
  private loadEpoch = 0;
  private expiryTimer: TimerHandle | undefined;
  private closed = false;
  private expiring = false;
  /** The consumer protocol's groups (KIP-848). */
  private readonly consumer: ConsumerGroupEngine;

  constructor(options: GroupCoordinatorOptions) {
    this.config = { ...DEFAULT_GROUP_CONFIG, ...options.config };
    const c = this.config;
    for (const [k, v] of Object.entries(c)) {
      if (!Number.isInteger(v) || v < 0)
        throw new GroupError(
          GroupErrorCode.INVALID_CONFIG,
          `group coordinator: ${k} must be a non-negative integer, got ${String(v)}`,
        );
    }
    if (c.numPartitions < 1)
      throw new GroupError(
        GroupErrorCode.INVALID_CONFIG,
        'group coordinator: numPartitions must be at least 1',
      );
    if (c.minSessionTimeoutMs > c.maxSessionTimeoutMs)
      throw new GroupError(
        GroupErrorCode.INVALID_CONFIG,
        'group coordinator: minSessionTimeoutMs > maxSessionTimeoutMs',
      );
    this.log = options.offsetLog;
    this.clock = options.clock;
    this.scheduler = options.scheduler;
    this.logger = options.logger ?? silentLogger;
    this.newUuid = options.newUuid;
    const assignors = options.consumerAssignors ?? SERVER_ASSIGNORS;
    for (const a of assignors)
      if (!isServerAssignor(a))
        throw new GroupError(
          GroupErrorCode.INVALID_CONFIG,
          `group coordinator: unknown consumer group assignor ${a} (known: ${SERVER_ASSIGNORS.join(', ')})`,
        );
    this.consumer = new ConsumerGroupEngine({
      host: {
        coordinatorError: (groupId) => this.coordinatorError(groupId, false),
        group: (groupId) => {
          const g = this.groups.get(groupId);
          return g === undefined || g.is('Dead') ? undefined : g;
        },
        createGroup: (groupId) => {
          const g = this.getOrCreateGroup(groupId, true);
          return g === undefined ? 'UNKNOWN_SERVER_ERROR' : g;
        },
        discardIfUnused: (g) => {
          if (
            this.groups.get(g.groupId) === g &&
            g.offsetCount === 0 &&
            g.txnOffsets.size === 0 &&
            g.hasNoPendingCommits &&
            g.size === 0 &&
            g.lastStored === null
          )
            this.groups.delete(g.groupId);
        },
        append: (g, records, onDurable, onSettled) =>
          this.append(g.partition, records, false, onDurable, undefined, onSettled),
        newUuid: () => this.newUuid(),
        suspendClassicMembers: (g) => this.suspendClassicMembers(g),
        dropClassicMembers: (g) => this.dropClassicMembers(g),
        resumeClassicMembers: (g) => {
          // The upgrade was not written: the classic group rebalances (its members rejoin).
          for (const m of g.members.values()) this.scheduleHeartbeat(g, m);
          if (g.is('PreparingRebalance')) {
            g.joinTimer = this.scheduler.setTimer(g.rebalanceTimeoutMs, () => this.onCompleteJoin(g));
            this.maybeCompleteJoin(g);
          } else {
            this.maybePrepareRebalance(g, 'its upgrade to a consumer group was not written');
          }
        },
        downgradedRecord: (g, generationId, members) => this.downgradedRecord(g, generationId, members),
        installDowngrade: (g, stored) => {
          g.consumer = null;
          this.restoreClassic(g, stored);
          for (const m of g.members.values()) this.scheduleHeartbeat(g, m);
          this.prepareRebalance(
            g,
            'downgraded from a consumer group: its last consumer-protocol member left',
          );
        },
        rejoinClassic: (req, respond) => {
          void this.joinGroup(req).then(respond);
        },
        leaveClassic: async (groupId, members) => this.leaveGroup({ groupId, members }),
      },
      config: c,
      clock: this.clock,
      scheduler: this.scheduler,
      logger: this.logger,
      topics: options.topics ?? NO_TOPIC_METADATA,
      assignors: assignors.filter((a): a is ServerAssignorName => isServerAssignor(a)),
      migrationPolicy: options.consumerMigrationPolicy ?? 'bidirectional',
    });
    this.scheduleExpiry();
  }

  // ---- the consumer protocol (KIP-848) ------------------------------------------------------

  /** ConsumerGroupHeartbeat: join, heartbeat, leave; answered once the group's changes are durable. */
  consumerGroupHeartbeat(req: ConsumerGroupHeartbeatRequest): Promise<ConsumerGroupHeartbeatResult> {
    return this.consumer.heartbeat(req);
  }

  /** ConsumerGroupDescribe: GROUP_ID_NOT_FOUND for unknown groups and groups of the classic protocol. */
  consumerGroupDescribe(groupIds: readonly string[]): DescribedConsumerGroup[] {
    return groupIds.map((id) => this.consumer.describe(id));
  }

  /** The server assignors consumer-protocol members may name, the default first. */
  consumerAssignors(): readonly string[] {
    return this.consumer.enabledAssignors;
  }

  // ---- partitions (coordinator ownership) ---------------------------------------------------

  partitionFor(groupId: string): number {
    return partitionForGroup(groupId, this.config.numPartitions);
  }

  /** Whether this coordinator currently serves (has loaded) the partition of `groupId`. */
  isCoordinatorFor(groupId: string): boolean {
    return this.partitions.get(this.partitionFor(groupId))?.state === 'active';
  }

  /** Partitions loaded or loading. */
  ownedPartitions(): number[] {
    return [...this.partitions.keys()].sort((a, b) => a - b);
  }

  /**
   * Becomes coordinator of `partition`: reads it from its start and rebuilds its groups, offsets
   * and pending transactional offsets (replaying transaction markers in log order). Requests for
   * its groups get COORDINATOR_LOAD_IN_PROGRESS meanwhile; markers written meanwhile are applied
   * once it is loaded. Resolves when the partition is served; rejects (and leaves it unowned) if
   * the read fails or an unload or newer load intervened (LOAD_ABORTED).
   */
  async loadPartition(partition: number): Promise<void> {
    this.checkOpen();
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.config.numPartitions) {
      throw new GroupError(
        GroupErrorCode.INVALID_CONFIG,
        `__consumer_offsets partition ${partition} out of range`,
      );
    }
    if (this.partitions.has(partition)) this.unloadPartition(partition);
    const epoch = ++this.loadEpoch;
    const status: PartitionStatus = { state: 'loading', epoch, markers: [] };
    this.partitions.set(partition, status);
    const replay = new PartitionReplay();
    try {
      for await (const entry of this.log.readAll(partition)) {
        if (this.partitions.get(partition) !== status)
          throw new GroupError(GroupErrorCode.LOAD_ABORTED, `load of partition ${partition} superseded`);
        replay.apply(entry);
      }
    } catch (e) {
      if (this.partitions.get(partition) === status) this.partitions.delete(partition);
      throw e instanceof GroupError
        ? e
        : new GroupError(GroupErrorCode.OFFSET_LOG_FAILED, `reading __consumer_offsets-${partition} failed`, {
            cause: e,
          });
    }
    if (this.partitions.get(partition) !== status)
      throw new GroupError(GroupErrorCode.LOAD_ABORTED, `load of partition ${partition} superseded`);
    const now = this.clock.nowMs();
    let loaded = 0;
    const writer: PartitionWriter = {
      partition,
      epoch,
      queue: [],
      busy: false,
      snapshotQueued: false,
      appendedSinceSnapshot: replay.records,
      liveAtSnapshot: 0,
      txnWrites: new Map(),
      lateMarkers: new Map(),
      txnGroups: new Map(),
    };
    for (const groupId of replay.groupIds()) {
      const meta = replay.stored.get(groupId);
      const groupOffsets = replay.offsets.get(groupId);
      const pending = replay.txn.get(groupId);
      const consumerGroup = replay.consumerGroup(groupId);
      const hasData =
        (groupOffsets?.size ?? 0) > 0 || (pending?.size ?? 0) > 0 || consumerGroup !== undefined;
      if (meta === null && !hasData) continue; // deleted
      if (meta === undefined && !hasData) continue;
      const group = new Group(groupId, partition, meta?.currentStateTimestampMs ?? now);
      if (consumerGroup !== undefined) {
        group.consumer = this.rebuildConsumerGroup(groupId, consumerGroup);
      } else if (meta) {
        this.restoreClassic(group, meta);
      }
      for (const o of groupOffsets?.values() ?? []) group.setOffset(o.topic, o.partition, o.value);
      if (pending !== undefined) {
        group.txnOffsets = pending;
        for (const producerId of pending.producers()) this.indexTxnGroup(writer, producerId, group);
      }
      this.groups.set(groupId, group);
      for (const m of group.members.values()) this.scheduleHeartbeat(group, m);
      this.consumer.onLoaded(group);
      loaded++;
    }
    this.partitions.set(partition, { state: 'active', epoch });
    writer.liveAtSnapshot = this.liveRecords(partition);
    this.writers.set(partition, writer);
    // Markers that landed while the partition was read, after what the read saw.
    for (const m of status.markers) if (m.offset > replay.lastOffset) this.applyMarker(writer, m);
    this.maybeQueueSnapshot(writer);
    this.kick(writer);
    this.logger.info(
      { partition, records: replay.records, groups: loaded, pendingTransactions: writer.txnGroups.size },
      'loaded __consumer_offsets partition',
    );
  }

  /** A classic group as its stored metadata left it: Stable with its members, or Empty. */
  private restoreClassic(group: Group, meta: StoredGroup): void {
    group.lastStored = meta;
    group.protocolType = meta.protocolType === '' ? null : meta.protocolType;
    group.generationId = meta.generationId;
    group.protocolName = meta.protocolName;
    for (const m of meta.members) {
      const protocols: GroupProtocol[] =
        meta.protocolName === null ? [] : [{ name: meta.protocolName, metadata: m.subscription }];
      const member = new Member(
        m.memberId,
        m.groupInstanceId,
        m.clientId,
        m.clientHost,
        m.rebalanceTimeoutMs,
        m.sessionTimeoutMs,
        meta.protocolType,
        protocols,
      );
      member.assignment = m.assignment;
      group.add(member, undefined);
    }
    if (meta.leaderId !== null && group.has(meta.leaderId)) group.leaderId = meta.leaderId;
    if (group.size > 0 && group.protocolName !== null) {
      group.state = 'Stable';
      group.subscribedTopics = group.computeSubscribedTopics();
    } else {
      // A group persisted with members but no protocol cannot be resumed: members rejoin.
      for (const id of [...group.members.keys()]) group.remove(id);
    }
  }

  /**
   * The classic group a consumer group downgrades to (Kafka's ClassicGroup.fromConsumerGroup): the
   * group epoch as generation, protocol type consumer, the protocol all members support that most
   * prefer, the first member as leader; undefined when they have no protocol in common.
   */
  private downgradedRecord(
    group: Group,
    generationId: number,
    members: readonly DowngradedMember[],
  ): StoredGroup | undefined {
    const now = this.clock.nowMs();
    const g = new Group(group.groupId, group.partition, now);
    for (const d of members)
      g.add(
        new Member(
          d.memberId,
          d.groupInstanceId,
          d.clientId,
          d.clientHost,
          d.rebalanceTimeoutMs,
          d.sessionTimeoutMs,
          CONSUMER_PROTOCOL_TYPE,
          d.protocols,
        ),
        undefined,
      );
    let protocol: string;
    try {
      protocol = g.selectProtocol();
    } catch {
      return undefined;
    }
    return {
      protocolType: CONSUMER_PROTOCOL_TYPE,
      generationId,
      protocolName: protocol,
      leaderId: g.leaderId,
      currentStateTimestampMs: now,
      members: members.map((d) => ({
        memberId: d.memberId,
        groupInstanceId: d.groupInstanceId,
        clientId: d.clientId,
        clientHost: d.clientHost,
        rebalanceTimeoutMs: d.rebalanceTimeoutMs,
        sessionTimeoutMs: d.sessionTimeoutMs,
        subscription: d.protocols.find((p) => p.name === protocol)?.metadata ?? EMPTY_BYTES,
        assignment: d.assignment,
      })),
    };
  }

  /** A consumer group's state from its records (a member with only one of its two records is dropped). */
  private rebuildConsumerGroup(groupId: string, r: ReplayedConsumerGroup): ConsumerGroupState {
    const st = new ConsumerGroupState();
    st.groupEpoch = r.group.groupEpoch;
    st.assignmentEpoch = r.group.assignmentEpoch;
    st.assignor = r.group.assignor;
    st.metadataHash = r.group.metadataHash;
    st.stored = true;
    for (const [memberId, parts] of r.members) {
      const { meta, assignment } = parts;
      if (meta === undefined || assignment === undefined) {
        this.logger.warn({ groupId, memberId }, 'consumer group member without both of its records: dropped');
        continue;
      }
      const member = {
        memberId,
        ...meta,
        memberEpoch: assignment.memberEpoch,
        previousMemberEpoch: assignment.previousMemberEpoch,
        state: assignment.state,
        assigned: assignment.assigned,
        pendingRevocation: assignment.pendingRevocation,
      };
      try {
        st.setMember(member);
      } catch (e) {
        // Never written so (one batch changes both holders); kept safe: the member must rejoin.
        this.logger.error(
          { err: e, groupId, memberId },
          'consumer group member holds a partition of another',
        );
        st.setMember({
          ...member,
          memberEpoch: 0,
          previousMemberEpoch: -1,
          state: 'stable',
          assigned: new Map(),
          pendingRevocation: new Map(),
        });
      }
      if (assignment.target.size > 0) st.targets.set(memberId, assignment.target);
    }
    return st;
  }

  /**
   * Stops coordinating `partition` (its leadership moved): its groups are dropped from memory and
   * every request waiting on them is answered NOT_COORDINATOR, so clients look the coordinator up again.
   */
  unloadPartition(partition: number): void {
    if (!this.partitions.delete(partition)) return;
    const writer = this.writers.get(partition);
    this.writers.delete(partition);
    for (const w of writer?.queue.splice(0) ?? []) {
      w.resolve('NOT_COORDINATOR');
      w.onSettled?.('NOT_COORDINATOR');
    }
    for (const group of [...this.groups.values()]) {
      if (group.partition !== partition) continue;
      this.dropGroup(group, 'NOT_COORDINATOR');
    }
    this.logger.info({ partition }, 'unloaded __consumer_offsets partition');
  }

  /** Cancels every timer and answers every waiting request NOT_COORDINATOR. */
  close(): void {
    if (this.closed) return;
    for (const p of [...this.partitions.keys()]) this.unloadPartition(p);
    this.expiryTimer?.cancel();
    this.closed = true;
  }

  private checkOpen(): void {
    if (this.closed) throw new GroupError(GroupErrorCode.CLOSED, 'group coordinator is closed');
  }

  /** A classic group being upgraded: nothing of the classic side runs meanwhile. */
  private suspendClassicMembers(group: Group): void {
    group.joinTimer?.cancel();
    group.joinTimer = undefined;
    group.syncTimer?.cancel();
    group.syncTimer = undefined;
    group.initialDelayActive = false;
    for (const t of group.pendingMembers.values()) t.cancel();
    group.pendingMembers.clear();
    for (const m of group.members.values()) {
      m.heartbeatTimer?.cancel();
      m.heartbeatTimer = undefined;
      const jc = m.joinCallback;
      group.setJoinCallback(m, undefined);
      jc?.(joinGroupError(m.memberId, 'REBALANCE_IN_PROGRESS'));
      const sc = m.syncCallback;
      m.syncCallback = undefined;
      sc?.(syncGroupError('REBALANCE_IN_PROGRESS'));
    }
  }

  /** The upgrade is durable: the members live in the consumer group now; the classic side is Empty. */
  private dropClassicMembers(group: Group): void {
    for (const id of [...group.members.keys()]) group.remove(id);
    group.pendingSyncMembers.clear();
    const now = this.clock.nowMs();
    if (group.is('Stable') || group.is('CompletingRebalance')) group.transitionTo('PreparingRebalance', now);
    if (group.is('PreparingRebalance')) group.transitionTo('Empty', now);
  }

  private dropGroup(group: Group, error: GroupKafkaError): void {
    this.consumer.onDropped(group, error);
    group.joinTimer?.cancel();
    group.syncTimer?.cancel();
    for (const t of group.pendingMembers.values()) t.cancel();
    group.pendingMembers.clear();
    for (const m of group.members.values()) {
      m.heartbeatTimer?.cancel();
      const jc = m.joinCallback;
      group.setJoinCallback(m, undefined);
      jc?.(joinGroupError(m.memberId, error));
      const sc = m.syncCallback;
      m.syncCallback = undefined;
      sc?.(syncGroupError(error));
    }
    if (!group.is('Dead')) group.transitionTo('Dead', this.clock.nowMs());
    if (this.groups.get(group.groupId) === group) this.groups.delete(group.groupId);
    const writer = this.writers.get(group.partition);
    if (writer !== undefined)
      for (const producerId of group.txnOffsets.producers()) this.unindexTxnGroup(writer, producerId, group);
  }

  /** The error for a request on `groupId` before looking at the group, or undefined. */
  private coordinatorError(groupId: string, allowEmptyId: boolean): GroupKafkaError | undefined {
    if (this.closed) return 'NOT_COORDINATOR';
    if ((!allowEmptyId && groupId === '') || utf8Bytes(groupId) > this.config.maxIdBytes)
      return 'INVALID_GROUP_ID';
    const status = this.partitions.get(this.partitionFor(groupId));
    if (status === undefined) return 'NOT_COORDINATOR';
    if (status.state === 'loading') return 'COORDINATOR_LOAD_IN_PROGRESS';
    return undefined;
  }

  /** Groups currently in memory (any state but Dead). */
  groupCount(): number {
    return this.groups.size;
  }

  /** The group's state, for diagnostics and tests; undefined if not held here. */
  groupState(groupId: string): GroupState | undefined {
    return this.groups.get(groupId)?.state;
  }

  /** Read-only view of one group for diagnostics and tests. */
  inspect(groupId: string):
    | {
        state: GroupState;
        generationId: number;
        protocolType: string | null;
        protocolName: string | null;
        leaderId: string | null;
        members: string[];
        pendingMembers: string[];
        offsets: number;
        /** 'consumer' for a group of the consumer protocol (its state then is in `consumer`). */
        type: 'classic' | 'consumer';
        consumer?: { state: string; groupEpoch: number; assignmentEpoch: number; members: string[] };
      }
    | undefined {
    const g = this.groups.get(groupId);
    if (g === undefined) return undefined;
    const cs = g.consumer;
    return {
      type: cs === null ? 'classic' : 'consumer',
      ...(cs === null
        ? {}
        : {
            consumer: {
              state: cs.stateName,
              groupEpoch: cs.groupEpoch,
              assignmentEpoch: cs.assignmentEpoch,
              members: [...cs.members.keys()],
            },
          }),
      state: g.state,
      generationId: g.generationId,
      protocolType: g.protocolType,
      protocolName: g.protocolName,
      leaderId: g.leaderId,
      members: [...g.members.keys()],
      pendingMembers: [...g.pendingMembers.keys()],
      offsets: g.offsetCount,
    };
  }

  /** Violations of the groups' invariants (tests assert this stays empty). */
  invariantViolations(): string[] {
    const v: string[] = [];
    for (const [id, g] of this.groups) {
      if (g.groupId !== id) v.push(`group ${g.groupId} stored as ${id}`);
      if (g.is('Dead')) v.push(`group ${id} is Dead but still held`);
      if (!this.partitions.has(g.partition)) v.push(`group ${id} on unowned partition ${g.partition}`);
      v.push(...g.invariantViolations());
      if (g.consumer !== null) {
        v.push(...g.consumer.invariantViolations().map((x) => `group ${id}: ${x}`));
        if ((g.size > 0 || !g.is('Empty')) && !this.consumer.isUpgrading(g))
          v.push(`group ${id}: a consumer group with classic members`);
      }
      const w = this.writers.get(g.partition);
      for (const producerId of g.txnOffsets.producers())
        if (w !== undefined && w.txnGroups.get(producerId)?.has(g) !== true)
          v.push(`group ${id}: producer ${producerId} missing from the transaction index`);
    }
    for (const w of this.writers.values())
      for (const [producerId, set] of w.txnGroups)
        for (const g of set)
          if (this.groups.get(g.groupId) !== g || !g.txnOffsets.hasProducer(producerId))
            v.push(`transaction index of partition ${w.partition}: stale group ${g.groupId}`);
    v.push(...this.consumer.invariantViolations(this.groups));
    return v;
  }

  private getOrCreateGroup(groupId: string, create: boolean): Group | GroupKafkaError | undefined {
    const existing = this.groups.get(groupId);
    if (existing !== undefined || !create) return existing;
    if (this.groups.size >= this.config.maxGroups) return 'GROUP_MAX_SIZE_REACHED';
    const g = new Group(groupId, this.partitionFor(groupId), this.clock.nowMs());
    this.groups.set(groupId, g);
    return g;
  }

  private validateCurrentMember(
    group: Group,
    memberId: string,
    groupInstanceId: string | null,
  ): GroupKafkaError | undefined {
    if (groupInstanceId !== null && group.isStaticMemberFenced(groupInstanceId, memberId))
      return 'FENCED_INSTANCE_ID';
    if (!group.has(memberId)) return 'UNKNOWN_MEMBER_ID';
    return undefined;
  }

  // ---- JoinGroup ----------------------------------------------------------------------------

  joinGroup(req: JoinGroupRequest): Promise<JoinGroupResult> {
    return new Promise((resolve) => {
      try {
        this.handleJoin(req, resolve);
      } catch (e) {
        this.logger.error({ err: e, groupId: req.groupId }, 'JoinGroup failed');
        resolve(joinGroupError(req.memberId, 'UNKNOWN_SERVER_ERROR'));
      }
    });
  }

  private invalidJoin(req: JoinGroupRequest): GroupKafkaError | undefined {
    const c = this.config;
    if (req.sessionTimeoutMs < c.minSessionTimeoutMs || req.sessionTimeoutMs > c.maxSessionTimeoutMs)
      return 'INVALID_SESSION_TIMEOUT';
    if (req.rebalanceTimeoutMs < 0) return 'INVALID_REQUEST';
    for (const s of [
      req.memberId,
      req.clientId,
      req.clientHost,
      req.protocolType,
      req.groupInstanceId ?? '',
    ]) {
      if (utf8Bytes(s) > c.maxIdBytes) return 'INVALID_REQUEST';
    }
    if (req.protocols.length > c.maxProtocolsPerMember) return 'INVALID_REQUEST';
    for (const p of req.protocols) {
      if (utf8Bytes(p.name) > c.maxIdBytes || p.metadata.length > c.maxProtocolMetadataBytes)
        return 'INVALID_REQUEST';
    }
    if (req.groupInstanceId === '') return 'INVALID_REQUEST';
    return undefined;
  }

  private handleJoin(req: JoinGroupRequest, respond: (r: JoinGroupResult) => void): void {
    const err = this.coordinatorError(req.groupId, false) ?? this.invalidJoin(req);
    if (err !== undefined) return respond(joinGroupError(req.memberId, err));
    const isUnknownMember = req.memberId === '';
    const found = this.getOrCreateGroup(req.groupId, isUnknownMember);
    if (found === undefined) return respond(joinGroupError(req.memberId, 'UNKNOWN_MEMBER_ID'));
    if (typeof found === 'string') return respond(joinGroupError(req.memberId, found));
    const group = found;
    // An empty consumer group becomes classic again; a running one takes the member as a classic
    // member of the consumer group (Kafka 4's mixed groups).
    if (group.consumer !== null && !this.consumer.releaseToClassic(group))
      return this.consumer.classicJoin(group, req, respond);
    if (!this.acceptJoiningMember(group, req.memberId)) {
      const existing = group.members.get(req.memberId);
      if (existing !== undefined)
        this.removeMemberAndUpdateGroup(group, existing, 'group is over its maximum size');
      respond(joinGroupError('', 'GROUP_MAX_SIZE_REACHED'));
    } else if (isUnknownMember) {
      this.doNewMemberJoin(group, req, respond);
    } else {
      this.doCurrentMemberJoin(group, req, respond);
    }
    if (group.is('PreparingRebalance')) this.maybeCompleteJoin(group);
    if (
      group.is('Empty') &&
      group.size === 0 &&
      group.offsetCount === 0 &&
      group.txnOffsets.size === 0 &&
      group.pendingMembers.size === 0 &&
      group.generationId === 0 &&
      group.protocolType === null
    ) {
      // A group created by this request that admitted nobody is not kept.
      if (this.groups.get(group.groupId) === group) this.groups.delete(group.groupId);
    }
  }

  private acceptJoiningMember(group: Group, memberId: string): boolean {
    const max = this.config.maxGroupSize;
    switch (group.state) {
      case 'Empty':
      case 'Dead':
        return memberId !== '' || group.pendingMembers.size < max;
      case 'PreparingRebalance': {
        const m = group.members.get(memberId);
        if (m?.joinCallback !== undefined) return true;
        return group.numAwaitingJoin < max && (memberId !== '' || group.pendingMembers.size < max);
      }
      case 'CompletingRebalance':
      case 'Stable':
        return (
          group.has(memberId) || (group.size < max && (memberId !== '' || group.pendingMembers.size < max))
        );
    }
  }

  private doNewMemberJoin(group: Group, req: JoinGroupRequest, respond: (r: JoinGroupResult) => void): void {
    if (group.is('Dead')) return respond(joinGroupError('', 'COORDINATOR_NOT_AVAILABLE'));
    if (!group.supportsProtocols(req.protocolType, req.protocols))
      return respond(joinGroupError('', 'INCONSISTENT_GROUP_PROTOCOL'));
    let newMemberId = `${req.clientId}-${this.newUuid()}`;
    for (let i = 0; i < 10 && (group.has(newMemberId) || group.pendingMembers.has(newMemberId)); i++)
      newMemberId = `${req.clientId}-${this.newUuid()}`;
    if (group.has(newMemberId) || group.pendingMembers.has(newMemberId))
      return respond(joinGroupError('', 'UNKNOWN_SERVER_ERROR'));
    if (req.groupInstanceId !== null) {
      this.doStaticMemberJoin(group, req, newMemberId, respond);
    } else if (req.requireKnownMemberId) {
      const timer = this.scheduler.setTimer(req.sessionTimeoutMs, () =>
        this.onExpirePendingMember(group, newMemberId),
      );
      group.pendingMembers.set(newMemberId, timer);
      respond(joinGroupError(newMemberId, 'MEMBER_ID_REQUIRED'));
    } else {
      this.addMemberAndRebalance(group, req, newMemberId, respond);
    }
  }

  private doStaticMemberJoin(
    group: Group,
    req: JoinGroupRequest,
    newMemberId: string,
    respond: (r: JoinGroupResult) => void,
  ): void {
    const instanceId = req.groupInstanceId ?? '';
    const oldMemberId = group.staticMembers.get(instanceId);
    if (oldMemberId === undefined) {
      this.addMemberAndRebalance(group, req, newMemberId, respond);
      return;
    }
    // A known static member restarted: it takes over its old member id without a rebalance when
    // nothing changed. Whatever the old id was waiting for is answered FENCED_INSTANCE_ID.
    const oldLeader = group.leaderId;
    const oldMember = group.members.get(oldMemberId);
    if (oldMember === undefined)
      throw new Error(`static member ${instanceId} maps to missing ${oldMemberId}`);
    const oldProtocols = oldMember.protocols;
    const oldRebalanceTimeoutMs = oldMember.rebalanceTimeoutMs;
    const oldSessionTimeoutMs = oldMember.sessionTimeoutMs;
    const oldJoin = oldMember.joinCallback;
    group.setJoinCallback(oldMember, undefined);
    oldJoin?.(joinGroupError(oldMemberId, 'FENCED_INSTANCE_ID'));
    const oldSync = oldMember.syncCallback;
    oldMember.syncCallback = undefined;
    oldSync?.(syncGroupError('FENCED_INSTANCE_ID'));
    const member = group.replaceStaticMember(instanceId, oldMemberId, newMemberId);
    member.clientId = req.clientId;
    member.clientHost = req.clientHost;
    group.updateMember(member, req.protocols, req.rebalanceTimeoutMs, req.sessionTimeoutMs);
    this.scheduleHeartbeat(group, member);
    switch (group.state) {
      case 'Stable': {
        const selected = group.selectProtocol();
        if (group.protocolName !== selected) {
          group.setJoinCallback(member, respond);
          this.maybePrepareRebalance(group, `static member ${instanceId} rejoined with other protocols`);
          return;
        }
        // Persist the new member id, then answer with the current generation. An old client (<v9)
        // is told the old leader id so that it does not run a trivial assignment that a Stable group
        // would never hand out; a v9 leader is told it leads but must skip the assignment.
        const generationId = group.generationId;
        void this.storeGroup(group, undefined).then((error) => {
          if (error !== 'NONE') {
            if (this.groups.get(group.groupId) === group && group.members.get(newMemberId) === member) {
              group.replaceStaticMember(instanceId, newMemberId, oldMemberId);
              group.updateMember(member, oldProtocols, oldRebalanceTimeoutMs, oldSessionTimeoutMs);
              this.scheduleHeartbeat(group, member);
            }
            respond(joinGroupError('', error));
            return;
          }
          if (group.generationId !== generationId || group.members.get(newMemberId) !== member) {
            // The group moved on while writing: the member rejoins.
            respond(joinGroupError(newMemberId, 'REBALANCE_IN_PROGRESS'));
            return;
          }
          const isLeader = group.isLeader(newMemberId);
          const skip = isLeader && req.supportsSkipAssignment;
          respond({
            errorCode: 'NONE',
            generationId: group.generationId,
            protocolType: group.protocolType,
            protocolName: group.protocolName,
            leader: req.supportsSkipAssignment ? (group.leaderId ?? '') : (oldLeader ?? ''),
            skipAssignment: skip,
            memberId: newMemberId,
            members: skip ? this.currentMemberMetadata(group) : [],
          });
        });
        return;
      }
      case 'CompletingRebalance':
        // The leader may already be assigning with the old id: rebalance so the new id gets a share.
        group.setJoinCallback(member, respond);
        this.prepareRebalance(group, `static member ${instanceId} rejoined during CompletingRebalance`);
        return;
      case 'PreparingRebalance':
        group.setJoinCallback(member, respond);
        return;
      case 'Empty':
      case 'Dead':
        throw new Error(`group ${group.groupId} in ${group.state} has static member ${instanceId}`);
    }
  }

  private doCurrentMemberJoin(
    group: Group,
    req: JoinGroupRequest,
    respond: (r: JoinGroupResult) => void,
  ): void {
    const memberId = req.memberId;
    if (group.is('Dead')) return respond(joinGroupError(memberId, 'COORDINATOR_NOT_AVAILABLE'));
    if (!group.supportsProtocols(req.protocolType, req.protocols))
      return respond(joinGroupError(memberId, 'INCONSISTENT_GROUP_PROTOCOL'));
    if (group.pendingMembers.has(memberId)) {
      if (req.groupInstanceId !== null) return respond(joinGroupError(memberId, 'UNKNOWN_MEMBER_ID'));
      this.addMemberAndRebalance(group, req, memberId, respond);
      return;
    }
    const memberError = this.validateCurrentMember(group, memberId, req.groupInstanceId);
    if (memberError !== undefined) return respond(joinGroupError(memberId, memberError));
    const member = group.members.get(memberId);
    if (member === undefined) return respond(joinGroupError(memberId, 'UNKNOWN_MEMBER_ID'));
    member.clientId = req.clientId;
    member.clientHost = req.clientHost;
    switch (group.state) {
      case 'PreparingRebalance':
        this.updateMemberAndRebalance(group, member, req, respond);
        return;
      case 'CompletingRebalance':
        if (member.matches(req.protocols)) {
          // A retried JoinGroup of this generation: answer it again.
          respond(this.joinResult(group, member));
        } else {
          this.updateMemberAndRebalance(group, member, req, respond);
        }
        return;
      case 'Stable':
        if (group.isLeader(memberId) || !member.matches(req.protocols)) {
          // The leader rejoining (e.g. its subscription changed) or new metadata: rebalance.
          this.updateMemberAndRebalance(group, member, req, respond);
        } else {
          respond(this.joinResult(group, member));
        }
        return;
      case 'Empty':
      case 'Dead':
        respond(joinGroupError(memberId, 'UNKNOWN_MEMBER_ID'));
    }
  }

  private joinResult(group: Group, member: Member): JoinGroupResult {
    const isLeader = group.isLeader(member.memberId);
    return {
      errorCode: 'NONE',
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId ?? '',
      skipAssignment: false,
      memberId: member.memberId,
      members: isLeader ? this.currentMemberMetadata(group) : [],
    };
  }

  private currentMemberMetadata(group: Group): JoinGroupResult['members'] {
    const protocol = group.protocolName ?? '';
    return [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      metadata: m.metadataFor(protocol),
    }));
  }

  private addMemberAndRebalance(
    group: Group,
    req: JoinGroupRequest,
    memberId: string,
    respond: (r: JoinGroupResult) => void,
  ): void {
    const member = new Member(
      memberId,
      req.groupInstanceId,
      req.clientId,
      req.clientHost,
      req.rebalanceTimeoutMs,
      req.sessionTimeoutMs,
      req.protocolType,
      req.protocols,
    );
    member.isNew = true;
    if (group.is('PreparingRebalance') && group.generationId === 0) group.newMemberAdded = true;
    group.add(member, respond);
    // A new member that never gets its answer (its client went away) is dropped after this long.
    this.scheduleHeartbeat(group, member, this.config.newMemberJoinTimeoutMs);
    this.maybePrepareRebalance(group, `adding new member ${memberId}`);
  }

  private updateMemberAndRebalance(
    group: Group,
    member: Member,
    req: JoinGroupRequest,
    respond: (r: JoinGroupResult) => void,
  ): void {
    group.updateMember(member, req.protocols, req.rebalanceTimeoutMs, req.sessionTimeoutMs);
    const previous = member.joinCallback;
    group.setJoinCallback(member, respond);
    if (previous !== undefined) previous(joinGroupError(member.memberId, 'REBALANCE_IN_PROGRESS'));
    this.maybePrepareRebalance(group, `updating metadata of member ${member.memberId}`);
  }

  private maybePrepareRebalance(group: Group, reason: string): void {
    if (group.is('Stable') || group.is('CompletingRebalance') || group.is('Empty'))
      this.prepareRebalance(group, reason);
  }

  private prepareRebalance(group: Group, reason: string): void {
    this.stats.rebalances++;
    if (group.is('CompletingRebalance'))
      this.resetAndPropagateAssignmentError(group, 'REBALANCE_IN_PROGRESS');
    group.syncTimer?.cancel();
    group.syncTimer = undefined;
    group.pendingSyncMembers.clear();
    group.joinTimer?.cancel();
    const wasEmpty = group.is('Empty');
    group.transitionTo('PreparingRebalance', this.clock.nowMs());
    this.logger.info(
      { groupId: group.groupId, generationId: group.generationId, reason },
      'preparing to rebalance group',
    );
    const initialDelay = this.config.initialRebalanceDelayMs;
    if (wasEmpty && initialDelay > 0) {
      const delay = Math.min(initialDelay, group.rebalanceTimeoutMs);
      this.scheduleInitialJoin(group, delay, Math.max(group.rebalanceTimeoutMs - delay, 0));
    } else {
      group.initialDelayActive = false;
      group.joinTimer = this.scheduler.setTimer(group.rebalanceTimeoutMs, () => this.onCompleteJoin(group));
      this.maybeCompleteJoin(group);
    }
  }

  /** group.initial.rebalance.delay.ms: wait, and keep waiting while new members arrive, up to the rebalance timeout. */
  private scheduleInitialJoin(group: Group, delayMs: number, remainingMs: number): void {
    group.initialDelayActive = true;
    group.newMemberAdded = false;
    group.joinTimer = this.scheduler.setTimer(delayMs, () => {
      if (!group.is('PreparingRebalance')) return;
      if (group.newMemberAdded && remainingMs > 0) {
        const delay = Math.min(this.config.initialRebalanceDelayMs, remainingMs);
        this.scheduleInitialJoin(group, delay, Math.max(remainingMs - delay, 0));
      } else {
        group.initialDelayActive = false;
        this.onCompleteJoin(group);
      }
    });
  }

  private maybeCompleteJoin(group: Group): void {
    if (group.is('PreparingRebalance') && !group.initialDelayActive && group.hasAllMembersJoined())
      this.onCompleteJoin(group);
  }

  private onCompleteJoin(group: Group): void {
    if (!group.is('PreparingRebalance') || this.groups.get(group.groupId) !== group) return;
    group.joinTimer?.cancel();
    group.joinTimer = undefined;
    group.initialDelayActive = false;
    // Dynamic members that did not rejoin in time are out; static ones stay until their session expires.
    for (const m of [...group.members.values()]) {
      if (m.joinCallback === undefined && m.groupInstanceId === null)
        this.evictMember(group, m, 'UNKNOWN_MEMBER_ID');
    }
    if (!group.maybeElectNewJoinedLeader() && group.size > 0) {
      // Only static members that have not rejoined remain: wait for them another rebalance timeout.
      group.joinTimer = this.scheduler.setTimer(group.rebalanceTimeoutMs, () => this.onCompleteJoin(group));
      return;
    }
    const now = this.clock.nowMs();
    group.generationId++;
    if (group.size === 0) {
      group.protocolName = null;
      group.subscribedTopics = null;
      group.transitionTo('Empty', now);
      this.logger.info({ groupId: group.groupId, generationId: group.generationId }, 'group is now empty');
      void this.storeGroup(group, undefined).then((error) => {
        if (error !== 'NONE')
          this.logger.warn({ groupId: group.groupId, error }, 'failed to write metadata of the empty group');
      });
      return;
    }
    group.protocolName = group.selectProtocol();
    group.subscribedTopics = group.computeSubscribedTopics();
    group.transitionTo('CompletingRebalance', now);
    this.logger.info(
      {
        groupId: group.groupId,
        generationId: group.generationId,
        protocol: group.protocolName,
        members: group.size,
      },
      "rebalance: members joined, waiting for the leader's assignment",
    );
    for (const m of group.members.values()) {
      const cb = m.joinCallback;
      if (cb === undefined) continue;
      const result = this.joinResult(group, m);
      group.setJoinCallback(m, undefined);
      m.isNew = false;
      cb(result);
      this.scheduleHeartbeat(group, m);
    }
    // Members that do not send SyncGroup within the rebalance timeout are removed.
    for (const id of group.members.keys()) group.pendingSyncMembers.add(id);
    const generationId = group.generationId;
    group.syncTimer?.cancel();
    group.syncTimer = this.scheduler.setTimer(group.rebalanceTimeoutMs, () =>
      this.onExpirePendingSync(group, generationId),
    );
  }

  private onExpirePendingSync(group: Group, generationId: number): void {
    if (generationId !== group.generationId || this.groups.get(group.groupId) !== group) return;
    if (!(group.is('CompletingRebalance') || group.is('Stable')) || group.pendingSyncMembers.size === 0)
      return;
    const missing = [...group.pendingSyncMembers];
    for (const id of missing) {
      const m = group.members.get(id);
      if (m !== undefined) this.evictMember(group, m, 'UNKNOWN_MEMBER_ID');
    }
    this.prepareRebalance(group, `members ${missing.join(', ')} did not send SyncGroup in time`);
  }

  // ---- SyncGroup ----------------------------------------------------------------------------

  syncGroup(req: SyncGroupRequest): Promise<SyncGroupResult> {
    return new Promise((resolve) => {
      try {
        this.handleSync(req, resolve);
      } catch (e) {
        this.logger.error({ err: e, groupId: req.groupId }, 'SyncGroup failed');
        resolve(syncGroupError('UNKNOWN_SERVER_ERROR'));
      }
    });
  }

  private handleSync(req: SyncGroupRequest, respond: (r: SyncGroupResult) => void): void {
    const err = this.coordinatorError(req.groupId, false);
    if (err !== undefined) return respond(syncGroupError(err));
    const group = this.groups.get(req.groupId);
    if (group === undefined) return respond(syncGroupError('UNKNOWN_MEMBER_ID'));
    if (group.consumer !== null) return respond(this.consumer.classicSync(group, req));
    if (group.is('Dead')) return respond(syncGroupError('COORDINATOR_NOT_AVAILABLE'));
    const memberError = this.validateCurrentMember(group, req.memberId, req.groupInstanceId);
    if (memberError !== undefined) return respond(syncGroupError(memberError));
    if (req.generationId !== group.generationId) return respond(syncGroupError('ILLEGAL_GENERATION'));
    if (req.protocolType !== null && req.protocolType !== group.protocolType)
      return respond(syncGroupError('INCONSISTENT_GROUP_PROTOCOL'));
    if (req.protocolName !== null && req.protocolName !== group.protocolName)
      return respond(syncGroupError('INCONSISTENT_GROUP_PROTOCOL'));
    for (const a of req.assignments) {
      if (a.assignment.length > this.config.maxProtocolMetadataBytes)
        return respond(syncGroupError('INVALID_REQUEST'));
    }
    const member = group.members.get(req.memberId);
    if (member === undefined) return respond(syncGroupError('UNKNOWN_MEMBER_ID'));
    switch (group.state) {
      case 'Empty':
        return respond(syncGroupError('UNKNOWN_MEMBER_ID'));
      case 'PreparingRebalance':
        return respond(syncGroupError('REBALANCE_IN_PROGRESS'));
      case 'CompletingRebalance': {
        const previous = member.syncCallback;
        member.syncCallback = respond;
        previous?.(syncGroupError('REBALANCE_IN_PROGRESS'));
        group.pendingSyncMembers.delete(req.memberId);
        if (group.isLeader(req.memberId)) {
          const assignments = new Map<string, Uint8Array>();
          for (const a of req.assignments)
            if (group.has(a.memberId)) assignments.set(a.memberId, a.assignment);
          const generationId = group.generationId;
          void this.storeGroup(group, assignments).then((error) => {
            if (!(
              group.is('CompletingRebalance') &&
              group.generationId === generationId &&
              this.groups.get(group.groupId) === group
            ))
              return;
            if (error !== 'NONE') {
              this.resetAndPropagateAssignmentError(group, error);
              this.maybePrepareRebalance(group, `failed to write the assignment: ${error}`);
              return;
            }
            for (const m of group.members.values()) m.assignment = assignments.get(m.memberId) ?? EMPTY_BYTES;
            this.propagateAssignment(group, 'NONE');
            group.transitionTo('Stable', this.clock.nowMs());
            this.logger.info({ groupId: group.groupId, generationId }, 'group is stable');
          });
        }
        return;
      }
      case 'Stable':
        group.pendingSyncMembers.delete(req.memberId);
        respond({
          errorCode: 'NONE',
          protocolType: group.protocolType,
          protocolName: group.protocolName,
          assignment: member.assignment,
        });
        this.scheduleHeartbeat(group, member);
        return;
      case 'Dead':
        return respond(syncGroupError('COORDINATOR_NOT_AVAILABLE'));
    }
  }

  private resetAndPropagateAssignmentError(group: Group, error: GroupKafkaError): void {
    for (const m of group.members.values()) m.assignment = EMPTY_BYTES;
    this.propagateAssignment(group, error);
  }

  private propagateAssignment(group: Group, error: GroupKafkaError): void {
    for (const m of group.members.values()) {
      const cb = m.syncCallback;
      if (cb === undefined) continue;
      m.syncCallback = undefined;
      cb(
        error === 'NONE'
          ? {
              errorCode: 'NONE',
              protocolType: group.protocolType,
              protocolName: group.protocolName,
              assignment: m.assignment,
            }
          : syncGroupError(error),
      );
      this.scheduleHeartbeat(group, m);
    }
  }

  // ---- Heartbeat and session expiry ---------------------------------------------------------

  heartbeat(req: HeartbeatRequest): GroupKafkaError {
    const err = this.coordinatorError(req.groupId, false);
    if (err !== undefined) return err;
    const group = this.groups.get(req.groupId);
    if (group === undefined) return 'UNKNOWN_MEMBER_ID';
    if (group.consumer !== null) return this.consumer.classicHeartbeat(group, req);
    if (group.is('Dead')) return 'COORDINATOR_NOT_AVAILABLE';
    const memberError = this.validateCurrentMember(group, req.memberId, req.groupInstanceId);
    if (memberError !== undefined) return memberError;
    if (req.generationId !== group.generationId) return 'ILLEGAL_GENERATION';
    const member = group.members.get(req.memberId);
    if (member === undefined || group.is('Empty')) return 'UNKNOWN_MEMBER_ID';
    this.scheduleHeartbeat(group, member);
    return group.is('PreparingRebalance') ? 'REBALANCE_IN_PROGRESS' : 'NONE';
  }

  private scheduleHeartbeat(group: Group, member: Member, timeoutMs = member.sessionTimeoutMs): void {
    member.heartbeatTimer?.cancel();
    const timer = this.scheduler.setTimer(timeoutMs, () => {
      if (member.heartbeatTimer !== timer) return;
      member.heartbeatTimer = undefined;
      this.onExpireHeartbeat(group, member);
    });
    member.heartbeatTimer = timer;
  }

  private onExpireHeartbeat(group: Group, member: Member): void {
    if (group.is('Dead') || group.members.get(member.memberId) !== member) return;
    if (member.expiryExempt) return; // waiting for its join/sync answer: rescheduled when answered
    this.logger.info({ groupId: group.groupId, memberId: member.memberId }, 'member session expired');
    this.removeMemberAndUpdateGroup(group, member, `session of member ${member.memberId} expired`);
  }

  private onExpirePendingMember(group: Group, memberId: string): void {
    if (!group.pendingMembers.delete(memberId)) return;
    if (group.is('PreparingRebalance')) this.maybeCompleteJoin(group);
  }

  /** Removes a member and answers whatever it was waiting for with `error`. */
  private evictMember(group: Group, member: Member, error: GroupKafkaError): void {
    member.heartbeatTimer?.cancel();
    member.heartbeatTimer = undefined;
    const jc = member.joinCallback;
    const sc = member.syncCallback;
    member.syncCallback = undefined;
    group.remove(member.memberId);
    jc?.(joinGroupError(member.memberId, error));
    sc?.(syncGroupError(error));
  }

  private removeMemberAndUpdateGroup(group: Group, member: Member, reason: string): void {
    this.evictMember(group, member, 'UNKNOWN_MEMBER_ID');
    switch (group.state) {
      case 'Dead':
      case 'Empty':
        return;
      case 'Stable':
      case 'CompletingRebalance':
        this.maybePrepareRebalance(group, reason);
        return;
      case 'PreparingRebalance':
        this.maybeCompleteJoin(group);
        return;
    }
  }

  // ---- LeaveGroup ---------------------------------------------------------------------------

  /** Synchronous for a classic group; a consumer group's members leave with a durable write. */
  leaveGroup(req: LeaveGroupRequest): LeaveGroupResult | Promise<LeaveGroupResult> {
    const err = this.coordinatorError(req.groupId, false);
    const each = (e: GroupKafkaError): LeaveGroupResult['members'] =>
      req.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode: e }));
    if (err !== undefined) return { errorCode: err, members: each(err) };
    const group = this.groups.get(req.groupId);
    if (group === undefined) return { errorCode: 'NONE', members: each('UNKNOWN_MEMBER_ID') };
    if (group.consumer !== null) return this.consumer.classicLeave(group, req.members);
    if (group.is('Dead'))
      return { errorCode: 'COORDINATOR_NOT_AVAILABLE', members: each('COORDINATOR_NOT_AVAILABLE') };
    const results: LeaveGroupResult['members'] = [];
    for (const leaving of req.members) {
      let error: GroupKafkaError = 'NONE';
      if (leaving.memberId === '') {
        const current =
          leaving.groupInstanceId === null ? undefined : group.staticMembers.get(leaving.groupInstanceId);
        const member = current === undefined ? undefined : group.members.get(current);
        if (member === undefined) error = 'UNKNOWN_MEMBER_ID';
        else
          this.removeMemberAndUpdateGroup(
            group,
            member,
            `static member ${leaving.groupInstanceId ?? ''} removed (LeaveGroup)`,
          );
      } else if (group.pendingMembers.has(leaving.memberId)) {
        group.pendingMembers.get(leaving.memberId)?.cancel();
        group.pendingMembers.delete(leaving.memberId);
        if (group.is('PreparingRebalance')) this.maybeCompleteJoin(group);
      } else {
        const memberError = this.validateCurrentMember(group, leaving.memberId, leaving.groupInstanceId);
        const member = group.members.get(leaving.memberId);
        if (memberError !== undefined) error = memberError;
        else if (member !== undefined)
          this.removeMemberAndUpdateGroup(
            group,
            member,
            `member ${leaving.memberId} left (${leaving.reason ?? 'no reason given'})`,
          );
      }
      results.push({
        memberId: leaving.memberId,
        groupInstanceId: leaving.groupInstanceId,
        errorCode: error,
      });
    }
    return { errorCode: 'NONE', members: results };
  }

  // ---- DescribeGroups, ListGroups, DeleteGroups ---------------------------------------------

  describeGroups(groupIds: readonly string[]): DescribedGroup[] {
    return groupIds.map((groupId) => {
      const err = this.coordinatorError(groupId, true);
      if (err !== undefined)
        return { groupId, errorCode: err, state: '', protocolType: '', protocolData: '', members: [] };
      const g = this.groups.get(groupId);
      // A consumer-protocol group is Dead to DescribeGroups, as Kafka answers it up to v5.
      if (g === undefined || g.is('Dead') || g.consumer !== null)
        return { groupId, errorCode: 'NONE', state: 'Dead', protocolType: '', protocolData: '', members: [] };
      const stable = g.is('Stable');
      const protocol = g.protocolName ?? '';
      return {
        groupId,
        errorCode: 'NONE',
        state: g.state,
        protocolType: g.protocolType ?? '',
        protocolData: stable ? protocol : '',
        members: [...g.members.values()].map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          metadata: stable ? m.metadataFor(protocol) : EMPTY_BYTES,
          assignment: stable ? m.assignment : EMPTY_BYTES,
        })),
      };
    });
  }

  listGroups(req: ListGroupsRequest): ListGroupsResult {
    const states = new Set(req.statesFilter.map((s) => s.toLowerCase()));
    const types = new Set(req.typesFilter.map((s) => s.toLowerCase()));
    const groups = [...this.groups.values()]
      .filter((g) => !g.is('Dead') && this.partitions.get(g.partition)?.state === 'active')
      .map((g) =>
        g.consumer === null
          ? {
              groupId: g.groupId,
              protocolType: g.protocolType ?? '',
              state: g.state as string,
              groupType: 'classic' as const,
            }
          : {
              groupId: g.groupId,
              protocolType: CONSUMER_PROTOCOL_TYPE,
              state: g.consumer.stateName as string,
              groupType: 'consumer' as const,
            },
      )
      .filter((g) => types.size === 0 || types.has(g.groupType))
      .filter((g) => states.size === 0 || states.has(g.state.toLowerCase()));
    const loading = [...this.partitions.values()].some((p) => p.state === 'loading');
    return { errorCode: loading ? 'COORDINATOR_LOAD_IN_PROGRESS' : 'NONE', groups };
  }

  /** Deletes empty groups and their offsets (tombstones written durably before the answer). */
  async deleteGroups(groupIds: readonly string[]): Promise<DeleteGroupResult[]> {
    const results: DeleteGroupResult[] = [];
    const byPartition = new Map<number, { records: OffsetsTopicRecord[]; results: DeleteGroupResult[] }>();
    for (const groupId of groupIds) {
      const err = this.coordinatorError(groupId, true);
      const result: DeleteGroupResult = { groupId, errorCode: 'NONE' };
      results.push(result);
      if (err !== undefined) {
        result.errorCode = err;
        continue;
      }
      const g = this.groups.get(groupId);
      if (g === undefined || g.is('Dead')) {
        result.errorCode = 'GROUP_ID_NOT_FOUND';
        continue;
      }
      if (!g.is('Empty') || (g.consumer !== null && (g.consumer.size > 0 || this.consumer.isBusy(g)))) {
        result.errorCode = 'NON_EMPTY_GROUP';
        continue;
      }
      const records: OffsetsTopicRecord[] = g
        .allOffsets()
        .map((o) => ({ type: 'offset', groupId, topic: o.topic, partition: o.partition, value: null }));
      if (g.consumer !== null) records.push({ type: 'consumer-group', groupId, value: null });
      records.push({ type: 'group', groupId, value: null });
      this.dropGroup(g, 'NOT_COORDINATOR');
      let batch = byPartition.get(g.partition);
      if (batch === undefined) {
        batch = { records: [], results: [] };
        byPartition.set(g.partition, batch);
      }
      batch.records.push(...records);
      batch.results.push(result);
    }
    await Promise.all(
      [...byPartition].map(async ([partition, batch]) => {
        const error = await this.append(partition, batch.records, false);
        for (const r of batch.results) r.errorCode = error;
      }),
    );
    return results;
  }

  // ---- offsets ------------------------------------------------------------------------------

  /** Commits offsets; answers each partition once its record is durable. */
  async commitOffsets(req: OffsetCommitRequest): Promise<OffsetCommitResult> {
    const all = (e: GroupKafkaError): OffsetCommitResult => ({
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: e })),
      })),
    });
    const err = this.coordinatorError(req.groupId, true);
    if (err !== undefined) return all(err);
    let group = this.groups.get(req.groupId);
    if (group === undefined) {
      // Only a commit from outside group management may create a group.
      if (req.generationId >= 0) return all('ILLEGAL_GENERATION');
      const created = this.getOrCreateGroup(req.groupId, true);
      if (typeof created === 'string' || created === undefined) return all('INVALID_COMMIT_OFFSET_SIZE');
      group = created;
    }
    if (group.is('Dead')) return all('COORDINATOR_NOT_AVAILABLE');
    let member: Member | undefined;
    if (group.consumer !== null) {
      const consumerError = this.consumer.validateOffsetCommit(
        group,
        req.memberId,
        req.generationId,
        false,
        req.apiVersion,
      );
      if (consumerError !== undefined) return all(consumerError);
    } else if (req.generationId >= 0 || req.memberId !== '' || req.groupInstanceId !== null) {
      const memberError = this.validateCurrentMember(group, req.memberId, req.groupInstanceId);
      if (memberError !== undefined) return all(memberError);
      if (req.generationId !== group.generationId) return all('ILLEGAL_GENERATION');
      member = group.members.get(req.memberId);
    } else if (!group.is('Empty')) {
      // While the group has members, only they may commit.
      return all('UNKNOWN_MEMBER_ID');
    }
    if (group.is('CompletingRebalance')) return all('REBALANCE_IN_PROGRESS');
    if (member !== undefined) this.scheduleHeartbeat(group, member);

    const now = this.clock.nowMs();
    const { results, toWrite } = this.checkCommit(
      req.topics,
      (topic, partition) => group.getOffset(topic, partition) === undefined,
      group.offsetCount,
      (p, metadata) => {
        const commitTimestampMs = p.commitTimestampMs >= 0 ? p.commitTimestampMs : now;
        return {
          offset: p.committedOffset,
          leaderEpoch: p.committedLeaderEpoch,
          metadata,
          commitTimestampMs,
          expireTimestampMs: req.retentionTimeMs >= 0 ? commitTimestampMs + req.retentionTimeMs : null,
        };
      },
    );
    if (toWrite.length === 0) return { topics: results };
    for (const w of toWrite) group.addPendingCommit(w.topic, w.partition, 1);
    const target = group;
    const error = await this.append(group.partition, offsetRecords(req.groupId, toWrite), true, (first) => {
      if (this.groups.get(req.groupId) !== target || target.is('Dead')) return;
      toWrite.forEach((w, i) => {
        target.setOffset(w.topic, w.partition, w.value);
        target.txnOffsets.supersede(w.topic, w.partition, first + BigInt(i));
      });
    });
    for (const w of toWrite) {
      group.addPendingCommit(w.topic, w.partition, -1);
      w.result.errorCode = error;
    }
    return { topics: results };
  }

  /**
   * TxnOffsetCommit: the offsets are written as one transactional batch of the producer (answered
   * once durable) and stay pending — not fetched; `require_stable` answers UNSTABLE_OFFSET_COMMIT —
   * until the transaction's marker: commit makes them the group's committed offsets, abort drops
   * them. Checks as Kafka's handleTxnCommitOffsets: any commit may create the group; one with a
   * member id or generation must match them (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION,
   * FENCED_INSTANCE_ID); fencing of the producer is the partition's (INVALID_PRODUCER_EPOCH, …).
   */
  async commitTxnOffsets(req: TxnOffsetCommitRequest): Promise<OffsetCommitResult> {
    const all = (e: GroupKafkaError): OffsetCommitResult => ({
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: e })),
      })),
    });
    const err = this.coordinatorError(req.groupId, false);
    if (err !== undefined) return all(err);
    if (req.transactionalId === '' || utf8Bytes(req.transactionalId) > this.config.maxIdBytes)
      return all('INVALID_REQUEST');
    const found = this.getOrCreateGroup(req.groupId, true);
    if (typeof found === 'string' || found === undefined) return all('INVALID_COMMIT_OFFSET_SIZE');
    const group = found;
    if (group.is('Dead')) return all('COORDINATOR_NOT_AVAILABLE');
    if (group.consumer !== null) {
      const consumerError = this.consumer.validateOffsetCommit(
        group,
        req.memberId,
        req.generationId,
        true,
        undefined,
      );
      if (consumerError !== undefined) return all(consumerError);
    } else if (req.generationId >= 0 || req.memberId !== '' || req.groupInstanceId !== null) {
      if (req.groupInstanceId !== null && group.isStaticMemberFenced(req.groupInstanceId, req.memberId))
        return all('FENCED_INSTANCE_ID');
      if (req.memberId !== '' && !group.has(req.memberId)) return all('UNKNOWN_MEMBER_ID');
      if (req.generationId !== group.generationId) return all('ILLEGAL_GENERATION');
    }
    const now = this.clock.nowMs();
    const { results, toWrite } = this.checkCommit(
      req.topics,
      (topic, partition) => group.txnOffsets.isNew(req.producerId, topic, partition),
      group.txnOffsets.size,
      (p, metadata) => ({
        offset: p.committedOffset,
        leaderEpoch: p.committedLeaderEpoch,
        metadata,
        commitTimestampMs: now,
        expireTimestampMs: null,
      }),
    );
    if (toWrite.length === 0) return { topics: results };
    const writer = this.writers.get(group.partition);
    const producerId = req.producerId;
    for (const w of toWrite) group.addPendingCommit(w.topic, w.partition, 1);
    const error = await this.append(
      group.partition,
      offsetRecords(req.groupId, toWrite),
      true,
      (first) => {
        if (this.groups.get(req.groupId) !== group || group.is('Dead') || writer === undefined) return;
        toWrite.forEach((w, i) =>
          group.txnOffsets.add(producerId, w.topic, w.partition, w.value, first + BigInt(i)),
        );
        this.indexTxnGroup(writer, producerId, group);
        // The transaction's marker may have landed while this write was in flight, after it in the log.
        const late = writer.lateMarkers.get(producerId);
        if (late !== undefined && late.offset > first) this.completeTxnOffsets(writer, group, late);
      },
      { transactionalId: req.transactionalId, producerId, producerEpoch: req.producerEpoch },
    );
    for (const w of toWrite) {
      group.addPendingCommit(w.topic, w.partition, -1);
      w.result.errorCode = error;
    }
    return { topics: results };
  }

  /**
   * A transaction marker was written durably to `partition` (of `__consumer_offsets`) at `offset`:
   * the producer's pending transactional offsets written before it are committed or dropped.
   * While the partition loads, the marker waits until it is loaded.
   */
  onTxnMarker(partition: number, producerId: bigint, commit: boolean, offset: bigint): void {
    const status = this.partitions.get(partition);
    if (status === undefined) return;
    const marker: LandedMarker = { producerId, commit, offset };
    if (status.state === 'loading') {
      if (status.markers.length >= MAX_MARKERS_WHILE_LOADING) {
        // Too many to remember: this load is abandoned; the next one reads them from the log.
        this.logger.warn({ partition }, 'too many transaction markers while loading: the load starts over');
        this.partitions.delete(partition);
        return;
      }
      status.markers.push(marker);
      return;
    }
    const writer = this.writers.get(partition);
    if (writer !== undefined) this.applyMarker(writer, marker);
  }

  private applyMarker(w: PartitionWriter, m: LandedMarker): void {
    if (w.txnWrites.has(m.producerId)) w.lateMarkers.set(m.producerId, m);
    const groups = w.txnGroups.get(m.producerId);
    for (const g of [...(groups ?? [])]) {
      if (this.groups.get(g.groupId) !== g) this.unindexTxnGroup(w, m.producerId, g);
      else this.completeTxnOffsets(w, g, m);
    }
    this.maybeQueueSnapshot(w);
    this.kick(w);
  }

  private completeTxnOffsets(w: PartitionWriter, g: Group, m: LandedMarker): void {
    for (const e of g.txnOffsets.complete(m.producerId, m.commit, m.offset))
      g.setOffset(e.topic, e.partition, e.value);
    if (!g.txnOffsets.hasProducer(m.producerId)) this.unindexTxnGroup(w, m.producerId, g);
  }

  private indexTxnGroup(w: PartitionWriter, producerId: bigint, g: Group): void {
    let set = w.txnGroups.get(producerId);
    if (set === undefined) {
      set = new Set();
      w.txnGroups.set(producerId, set);
    }
    set.add(g);
  }

  private unindexTxnGroup(w: PartitionWriter, producerId: bigint, g: Group): void {
    const set = w.txnGroups.get(producerId);
    if (set === undefined) return;
    set.delete(g);
    if (set.size === 0) w.txnGroups.delete(producerId);
  }

  /**
   * The partitions of a commit checked one by one (metadata size, topic name and partition index,
   * at most maxOffsetsPerGroup keys with the `held` the group has): each partition's result, and
   * the offsets to write for those that passed.
   */
  private checkCommit<P extends Omit<OffsetCommitPartition, 'commitTimestampMs'>>(
    topics: ReadonlyArray<{ name: string; partitions: readonly P[] }>,
    isNewKey: (topic: string, partition: number) => boolean,
    held: number,
    valueOf: (p: P, metadata: string) => CommittedOffset,
  ): {
    results: TopicPartitionsResult[];
    toWrite: Array<{ topic: string; partition: number; value: CommittedOffset; result: PartitionResult }>;
  } {
    const results: TopicPartitionsResult[] = [];
    const toWrite: Array<{
      topic: string;
      partition: number;
      value: CommittedOffset;
      result: PartitionResult;
    }> = [];
    let newKeys = 0;
    for (const t of topics) {
      const tr: TopicPartitionsResult = { name: t.name, partitions: [] };
      results.push(tr);
      for (const p of t.partitions) {
        const pr: PartitionResult = { partitionIndex: p.partitionIndex, errorCode: 'NONE' };
        tr.partitions.push(pr);
        const metadata = p.committedMetadata ?? '';
        if (utf8Bytes(metadata) > this.config.maxOffsetMetadataBytes) {
          pr.errorCode = 'OFFSET_METADATA_TOO_LARGE';
          continue;
        }
        if (utf8Bytes(t.name) > 32767 || p.partitionIndex < 0) {
          pr.errorCode = 'UNKNOWN_TOPIC_OR_PARTITION';
          continue;
        }
        if (isNewKey(t.name, p.partitionIndex)) {
          if (held + newKeys >= this.config.maxOffsetsPerGroup) {
            pr.errorCode = 'INVALID_COMMIT_OFFSET_SIZE';
            continue;
          }
          newKeys++;
        }
        toWrite.push({ topic: t.name, partition: p.partitionIndex, result: pr, value: valueOf(p, metadata) });
      }
    }
    return { results, toWrite };
  }

  fetchOffsets(req: OffsetFetchRequest): OffsetFetchResult {
    const err = this.coordinatorError(req.groupId, true);
    const missing = (partitionIndex: number, errorCode: GroupKafkaError): FetchedOffset => ({
      partitionIndex,
      committedOffset: -1n,
      committedLeaderEpoch: -1,
      metadata: '',
      errorCode,
    });
    if (err !== undefined) {
      return {
        groupId: req.groupId,
        errorCode: err,
        topics: (req.topics ?? []).map((t) => ({
          name: t.name,
          partitions: t.partitionIndexes.map((p) => missing(p, err)),
        })),
      };
    }
    const group = this.groups.get(req.groupId);
    const live = group !== undefined && !group.is('Dead') ? group : undefined;
    if (live?.consumer != null) {
      const memberError = this.consumer.validateOffsetFetch(
        live,
        req.memberId ?? null,
        req.memberEpoch ?? -1,
      );
      if (memberError !== undefined) return { groupId: req.groupId, errorCode: memberError, topics: [] };
    }
    const one = (topic: string, partition: number): FetchedOffset => {
      if (live === undefined) return missing(partition, 'NONE');
      if (req.requireStable && live.hasPendingCommit(topic, partition))
        return missing(partition, 'UNSTABLE_OFFSET_COMMIT');
      const o = live.getOffset(topic, partition);
      if (o === undefined) return missing(partition, 'NONE');
      return {
        partitionIndex: partition,
        committedOffset: o.offset,
        committedLeaderEpoch: o.leaderEpoch,
        metadata: o.metadata,
        errorCode: 'NONE',
      };
    };
    if (req.topics === null) {
      const topics: OffsetFetchResult['topics'] = [];
      for (const [name, parts] of live?.offsets ?? []) {
        topics.push({ name, partitions: [...parts.keys()].sort((a, b) => a - b).map((p) => one(name, p)) });
      }
      return { groupId: req.groupId, errorCode: 'NONE', topics };
    }
    return {
      groupId: req.groupId,
      errorCode: 'NONE',
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((p) => one(t.name, p)),
      })),
    };
  }

  /** OffsetDelete (KIP-496): removes offsets of topics the group does not consume. */
  async deleteOffsets(req: OffsetDeleteRequest): Promise<OffsetDeleteResult> {
    const topicsWith = (f: (topic: string) => GroupKafkaError): TopicPartitionsResult[] =>
      req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((p) => ({ partitionIndex: p, errorCode: f(t.name) })),
      }));
    const err = this.coordinatorError(req.groupId, false);
    if (err !== undefined) return { errorCode: err, topics: [] };
    const group = this.groups.get(req.groupId);
    if (group === undefined || group.is('Dead')) return { errorCode: 'GROUP_ID_NOT_FOUND', topics: [] };
    let subscribed: (topic: string) => boolean;
    if (group.consumer !== null) {
      const topics = this.consumer.subscribedTopicNames(group);
      subscribed = (t) => topics.has(t);
    } else if (group.is('Empty')) subscribed = () => false;
    else if (group.protocolType === CONSUMER_PROTOCOL_TYPE) subscribed = (t) => group.isSubscribedToTopic(t);
    else return { errorCode: 'NON_EMPTY_GROUP', topics: [] };
    const records: OffsetsTopicRecord[] = [];
    for (const t of req.topics) {
      if (subscribed(t.name)) continue;
      for (const p of t.partitionIndexes) {
        if (group.getOffset(t.name, p) !== undefined)
          records.push({ type: 'offset', groupId: req.groupId, topic: t.name, partition: p, value: null });
      }
    }
    const error =
      records.length === 0
        ? 'NONE'
        : await this.append(group.partition, records, true, (first) => {
            records.forEach((r, i) => {
              if (r.type !== 'offset') return;
              group.deleteOffset(r.topic, r.partition);
              group.txnOffsets.supersede(r.topic, r.partition, first + BigInt(i));
            });
          });
    return {
      errorCode: 'NONE',
      topics: topicsWith((t) => (subscribed(t) ? 'GROUP_SUBSCRIBED_TO_TOPIC' : error)),
    };
  }

  // ---- expiry -------------------------------------------------------------------------------

  private scheduleExpiry(): void {
    this.expiryTimer = this.scheduler.setTimer(this.config.offsetsRetentionCheckIntervalMs, () => {
      if (this.closed) return;
      this.scheduleExpiry();
      if (this.expiring) return; // the previous run is still writing its tombstones
      this.expiring = true;
      void this.expireOffsets()
        .catch((e: unknown) => this.logger.warn({ err: e }, 'offset expiry failed'))
        .finally(() => {
          this.expiring = false;
        });
    });
  }

  /**
   * Drops expired offsets (Kafka's rules): an explicit expire timestamp wins; otherwise an offset
   * expires offsetsRetentionMs after the group became Empty (consumer groups), or after its commit
   * (groups without a protocol type, i.e. standalone consumers; and unsubscribed topics of a Stable
   * consumer group). Empty groups left without offsets become Dead and are deleted.
   * Runs on a timer every offsetsRetentionCheckIntervalMs; returns the number of offsets removed.
   */
  async expireOffsets(): Promise<number> {
    const now = this.clock.nowMs();
    const retention = this.config.offsetsRetentionMs;
    const byPartition = new Map<number, OffsetsTopicRecord[]>();
    const removals: Array<() => void> = [];
    let removed = 0;
    for (const g of this.groups.values()) {
      if (this.partitions.get(g.partition)?.state !== 'active' || g.is('Dead')) continue;
      let base: ((o: CommittedOffset) => number) | undefined;
      let spare: ReadonlySet<string> = new Set();
      if (g.consumer !== null) {
        // Consumer-protocol groups (as Kafka): from the commit, topics the group consumes spared.
        if (this.consumer.isBusy(g)) continue;
        base = (o) => o.commitTimestampMs;
        spare = this.consumer.subscribedTopicNames(g);
      } else if (g.protocolType !== null && g.is('Empty')) base = () => g.stateTimestampMs;
      else if (g.protocolType === CONSUMER_PROTOCOL_TYPE && g.is('Stable') && g.subscribedTopics !== null) {
        base = (o) => o.commitTimestampMs;
        spare = g.subscribedTopics;
      } else if (g.protocolType === null) base = (o) => o.commitTimestampMs;
      if (base === undefined) continue;
      const baseOf = base;
      const expired = g.allOffsets().filter(({ topic, partition, value }) => {
        if (spare.has(topic) || g.hasPendingCommit(topic, partition)) return false;
        return value.expireTimestampMs !== null
          ? now >= value.expireTimestampMs
          : now - baseOf(value) >= retention;
      });
      const records: OffsetsTopicRecord[] = expired.map((o) => ({
        type: 'offset',
        groupId: g.groupId,
        topic: o.topic,
        partition: o.partition,
        value: null,
      }));
      const becomesDead =
        g.is('Empty') &&
        (g.consumer === null || g.consumer.size === 0) &&
        expired.length === g.offsetCount &&
        g.hasNoPendingCommits &&
        g.pendingMembers.size === 0;
      if (becomesDead && g.consumer !== null)
        records.push({ type: 'consumer-group', groupId: g.groupId, value: null });
      if (becomesDead) records.push({ type: 'group', groupId: g.groupId, value: null });
      if (records.length === 0) continue;
      removed += expired.length;
      let list = byPartition.get(g.partition);
      if (list === undefined) {
        list = [];
        byPartition.set(g.partition, list);
      }
      list.push(...records);
      removals.push(() => {
        if (this.groups.get(g.groupId) !== g) return;
        for (const o of expired) g.deleteOffset(o.topic, o.partition);
        if (
          becomesDead &&
          g.is('Empty') &&
          g.offsetCount === 0 &&
          (g.consumer === null || (g.consumer.size === 0 && !this.consumer.isBusy(g)))
        )
          this.dropGroup(g, 'NOT_COORDINATOR');
      });
    }
    if (byPartition.size === 0) return 0;
    // Apply in memory first (Kafka does too): a failed write only means the tombstones are written again later.
    for (const r of removals) r();
    await Promise.all([...byPartition].map(([p, records]) => this.append(p, records, true)));
    if (removed > 0) this.logger.info({ removed }, 'expired committed offsets');
    return removed;
  }

  // ---- storage ------------------------------------------------------------------------------

  /**
   * Queues records for the partition's log (as one transactional batch of `txn`'s producer when
   * given); resolves with NONE once durable (after `onDurable` ran with the log offset of the first
   * record), or with the Kafka error the failure maps to.
   */
  private append(
    partition: number,
    records: readonly OffsetsTopicRecord[],
    forOffsets: boolean,
    onDurable?: (firstOffset: bigint) => void,
    txn?: TransactionalAppend,
    onSettled?: (error: GroupKafkaError) => void,
  ): Promise<GroupKafkaError> {
    const refuse = (error: GroupKafkaError): Promise<GroupKafkaError> => {
      onSettled?.(error);
      return Promise.resolve(error);
    };
    let encoded: EncodedRecord[];
    try {
      encoded = records.map(encodeRecord);
    } catch (e) {
      this.logger.warn({ err: e, partition }, 'cannot encode __consumer_offsets records');
      return refuse(forOffsets ? 'INVALID_COMMIT_OFFSET_SIZE' : 'UNKNOWN_SERVER_ERROR');
    }
    const writer = this.writers.get(partition);
    if (writer === undefined) return refuse('NOT_COORDINATOR');
    if (writer.queue.length >= this.config.maxQueuedWritesPerPartition) {
      this.logger.warn({ partition, queued: writer.queue.length }, '__consumer_offsets write queue is full');
      return refuse('COORDINATOR_NOT_AVAILABLE');
    }
    if (txn !== undefined)
      writer.txnWrites.set(txn.producerId, (writer.txnWrites.get(txn.producerId) ?? 0) + 1);
    return new Promise((resolve) => {
      // Answered once: when durable, when it fails, or (whichever is first) after appendTimeoutMs
      // in the queue or in flight; a write answered by the timeout still takes effect if it lands.
      let answered = false;
      const timer = this.scheduler.setTimer(this.config.appendTimeoutMs, () => {
        this.logger.warn(
          { partition, timeoutMs: this.config.appendTimeoutMs },
          'write to __consumer_offsets is taking too long',
        );
        once('COORDINATOR_NOT_AVAILABLE');
      });
      const once = (error: GroupKafkaError): void => {
        if (answered) return;
        answered = true;
        timer.cancel();
        resolve(error);
      };
      writer.queue.push({ records: encoded, forOffsets, txn, onDurable, onSettled, resolve: once });
      this.kick(writer);
    });
  }

  /** A transactional write landed or failed: the producer has one write less in flight. */
  private txnWriteSettled(w: PartitionWriter, producerId: bigint): void {
    const n = (w.txnWrites.get(producerId) ?? 1) - 1;
    if (n > 0) {
      w.txnWrites.set(producerId, n);
      return;
    }
    w.txnWrites.delete(producerId);
    w.lateMarkers.delete(producerId);
  }

  /** Whether the partition has transactional offsets in flight or pending (no snapshot then). */
  private hasTxnState(w: PartitionWriter): boolean {
    return w.txnWrites.size > 0 || w.txnGroups.size > 0;
  }

  /** Starts the next append (or snapshot) of the partition if none is in flight. */
  private kick(w: PartitionWriter): void {
    if (w.busy || this.writers.get(w.partition) !== w) return;
    // A snapshot re-states only committed offsets: it waits until no transaction has any pending
    // here (their records must stay in the log until their markers follow them).
    if (w.snapshotQueued && !this.hasTxnState(w)) {
      w.busy = true;
      w.snapshotQueued = false;
      void this.snapshot(w).finally(() => {
        w.busy = false;
        this.kick(w);
      });
      return;
    }
    if (w.queue.length === 0) return;
    const batch: PendingWrite[] = [];
    let count = 0;
    for (let next = w.queue[0]; next !== undefined; next = w.queue[0]) {
      // A transaction's batch is appended alone: its producer is the batch's.
      if (batch.length > 0 && (next.txn !== undefined || batch[0]?.txn !== undefined)) break;
      if (batch.length > 0 && count + next.records.length > this.config.maxRecordsPerAppend) break;
      batch.push(next);
      w.queue.shift();
      count += next.records.length;
    }
    const txn = batch[0]?.txn;
    const records = batch.flatMap((b) => b.records);
    w.busy = true;
    (txn === undefined
      ? this.log.append(w.partition, records)
      : this.log.appendTransactional(w.partition, records, txn)
    )
      .then(
        (base) => {
          w.appendedSinceSnapshot += count;
          let first = base;
          for (const b of batch) {
            try {
              b.onDurable?.(first);
            } catch (e) {
              this.logger.error({ err: e, partition: w.partition }, 'applying a durable write failed');
            }
            first += BigInt(b.records.length);
          }
          if (txn !== undefined) this.txnWriteSettled(w, txn.producerId);
          for (const b of batch) b.resolve('NONE');
          for (const b of batch) b.onSettled?.('NONE');
          this.maybeQueueSnapshot(w);
        },
        (e: unknown) => {
          this.logger.warn({ err: e, partition: w.partition }, 'append to __consumer_offsets failed');
          if (txn !== undefined) this.txnWriteSettled(w, txn.producerId);
          for (const b of batch) {
            const error = appendErrorToKafka(e, b.forOffsets);
            b.resolve(error);
            b.onSettled?.(error);
          }
        },
      )
      .finally(() => {
        w.busy = false;
        this.kick(w);
      });
  }

  private maybeQueueSnapshot(w: PartitionWriter): void {
    if (w.appendedSinceSnapshot >= Math.max(this.config.compactionMinRecords, 2 * w.liveAtSnapshot))
      w.snapshotQueued = true;
  }

  /** Records a snapshot of the partition would hold (one per stored group and per offset). */
  private liveRecords(partition: number): number {
    let n = 0;
    for (const g of this.groups.values()) {
      if (g.partition !== partition) continue;
      n += g.offsetCount;
      if (g.consumer?.stored === true) n += 1 + 2 * g.consumer.size;
      else if (g.lastStored !== null) n += 1;
    }
    return n;
  }

  /**
   * Compaction of `__consumer_offsets` by snapshot: with no other write in flight, the live state
   * of the partition (each group's last stored metadata and every committed offset, exactly what
   * a replay of the log yields) is appended again, and the log prefix before it is dropped. A crash
   * in between leaves the old prefix, which the re-stated records supersede on replay.
   */
  private async snapshot(w: PartitionWriter): Promise<void> {
    const records: OffsetsTopicRecord[] = [];
    for (const g of this.groups.values()) {
      if (g.partition !== w.partition || g.is('Dead')) continue;
      // A consumer group is re-stated once its records are durable; until then (a classic group
      // converting) the classic metadata is what the log says.
      if (g.consumer?.stored === true) records.push(...g.consumer.records(g.groupId));
      else if (g.lastStored !== null)
        records.push({ type: 'group', groupId: g.groupId, value: g.lastStored });
      for (const o of g.allOffsets())
        records.push({
          type: 'offset',
          groupId: g.groupId,
          topic: o.topic,
          partition: o.partition,
          value: o.value,
        });
    }
    // With nothing live, one harmless tombstone (of the empty group id) marks where the log may start.
    if (records.length === 0) records.push({ type: 'group', groupId: '', value: null });
    w.appendedSinceSnapshot = 0;
    try {
      const encoded = records.map(encodeRecord);
      let start: bigint | undefined;
      // Appends of at most maxRecordsPerAppend records and snapshotBatchBytes (each holds one record at least).
      for (let i = 0; i < encoded.length;) {
        let end = i;
        let bytes = 0;
        while (end < encoded.length && end - i < this.config.maxRecordsPerAppend) {
          const r = encoded[end];
          const size = (r?.key.length ?? 0) + (r?.value?.length ?? 0) + 32;
          if (end > i && bytes + size > this.config.snapshotBatchBytes) break;
          bytes += size;
          end++;
        }
        const base = await this.log.append(w.partition, encoded.slice(i, end));
        start ??= base;
        i = end;
        if (this.writers.get(w.partition) !== w) return;
      }
      if (start !== undefined) await this.log.truncateBefore(w.partition, start);
      w.liveAtSnapshot = records.length;
      this.logger.info(
        { partition: w.partition, records: records.length, logStart: String(start) },
        'compacted __consumer_offsets partition',
      );
    } catch (e) {
      this.logger.warn(
        { err: e, partition: w.partition },
        'snapshot of __consumer_offsets partition failed; the log keeps its prefix',
      );
    }
  }

  /** Writes the group's metadata (with these assignments, or the current ones). */
  private storeGroup(
    group: Group,
    assignments: ReadonlyMap<string, Uint8Array> | undefined,
  ): Promise<GroupKafkaError> {
    const protocol = group.protocolName;
    const stored: StoredGroup = {
      protocolType: group.protocolType ?? '',
      generationId: group.generationId,
      protocolName: protocol,
      leaderId: group.leaderId,
      currentStateTimestampMs: group.stateTimestampMs,
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        sessionTimeoutMs: m.sessionTimeoutMs,
        subscription: protocol === null ? EMPTY_BYTES : m.metadataFor(protocol),
        assignment: assignments === undefined ? m.assignment : (assignments.get(m.memberId) ?? EMPTY_BYTES),
      })),
    };
    return this.append(
      group.partition,
      [{ type: 'group', groupId: group.groupId, value: stored }],
      false,
      () => {
        if (this.groups.get(group.groupId) === group) group.lastStored = stored;
      },
    );
  }
}

/**
 * A partition's log replayed in order: the last group metadata of each group, its committed
 * offsets, and its transactional offsets still pending (markers applied as they come, by the same
 * PendingTxnOffsets the live coordinator uses).
 */
/** A consumer group as its records in a partition left it. */
interface ReplayedConsumerGroup {
  group: StoredConsumerGroup;
  members: Map<string, { meta?: StoredConsumerMember; assignment?: StoredMemberAssignment }>;
}

class PartitionReplay {
  /** Consumer-protocol groups (the group record may come after member records under key compaction). */
  private readonly consumer = new Map<
    string,
    {
      group: StoredConsumerGroup | null;
      members: Map<string, { meta?: StoredConsumerMember; assignment?: StoredMemberAssignment }>;
    }
  >();
  readonly offsets = new Map<
    string,
    Map<string, { topic: string; partition: number; value: CommittedOffset }>
  >();
  readonly stored = new Map<string, StoredGroup | null>();
  readonly txn = new Map<string, PendingTxnOffsets>();
  /** Producer id → groups with its pending offsets. */
  private readonly txnGroups = new Map<bigint, Set<string>>();
  records = 0;
  /** The offset of the last entry read (-1 before any). */
  lastOffset = -1n;

  apply(entry: OffsetLogEntry): void {
    this.records++;
    if (entry.offset > this.lastOffset) this.lastOffset = entry.offset;
    if (entry.kind === 'marker') {
      for (const groupId of this.txnGroups.get(entry.producerId) ?? []) {
        const pending = this.txn.get(groupId);
        for (const e of pending?.complete(entry.producerId, entry.commit, entry.offset) ?? [])
          this.setOffset(groupId, e.topic, e.partition, e.value);
      }
      this.txnGroups.delete(entry.producerId);
      return;
    }
    const rec = decodeRecord(entry.key, entry.value);
    if (entry.producerId !== null) {
      // A transaction's batch holds offset commits only (TxnOffsetCommit).
      if (rec.type !== 'offset' || rec.value === null) return;
      let pending = this.txn.get(rec.groupId);
      if (pending === undefined) {
        pending = new PendingTxnOffsets();
        this.txn.set(rec.groupId, pending);
      }
      pending.add(entry.producerId, rec.topic, rec.partition, rec.value, entry.offset);
      let groups = this.txnGroups.get(entry.producerId);
      if (groups === undefined) {
        groups = new Set();
        this.txnGroups.set(entry.producerId, groups);
      }
      groups.add(rec.groupId);
      return;
    }
    if (rec.type === 'offset') {
      if (rec.value === null) this.offsets.get(rec.groupId)?.delete(`${rec.topic}\0${rec.partition}`);
      else this.setOffset(rec.groupId, rec.topic, rec.partition, rec.value);
      this.txn.get(rec.groupId)?.supersede(rec.topic, rec.partition, entry.offset);
    } else if (rec.type === 'group') {
      this.stored.set(rec.groupId, rec.value);
      // A group stored by the classic protocol is no longer a consumer group.
      this.consumer.delete(rec.groupId);
      // A deleted group's pending transactional offsets go with it (as DeleteGroups drops them).
      if (rec.value === null) this.txn.delete(rec.groupId);
    } else {
      this.applyConsumer(rec);
    }
  }

  private applyConsumer(rec: ConsumerGroupRecord): void {
    if (rec.type === 'consumer-group' && rec.value === null) {
      this.consumer.delete(rec.groupId);
      return;
    }
    let g = this.consumer.get(rec.groupId);
    if (g === undefined) {
      g = { group: null, members: new Map() };
      this.consumer.set(rec.groupId, g);
    }
    if (rec.type === 'consumer-group') {
      g.group = rec.value;
      // The group is of the consumer protocol from here on: the classic metadata before is superseded.
      this.stored.delete(rec.groupId);
      return;
    }
    let m = g.members.get(rec.memberId);
    if (m === undefined) {
      m = {};
      g.members.set(rec.memberId, m);
    }
    if (rec.type === 'consumer-member') {
      if (rec.value === null) delete m.meta;
      else m.meta = rec.value;
    } else if (rec.value === null) delete m.assignment;
    else m.assignment = rec.value;
    if (m.meta === undefined && m.assignment === undefined) g.members.delete(rec.memberId);
  }

  /** The consumer group of this id, if its group record is live. */
  consumerGroup(groupId: string): ReplayedConsumerGroup | undefined {
    const g = this.consumer.get(groupId);
    return g?.group == null ? undefined : { group: g.group, members: g.members };
  }

  private setOffset(groupId: string, topic: string, partition: number, value: CommittedOffset): void {
    let g = this.offsets.get(groupId);
    if (g === undefined) {
      g = new Map();
      this.offsets.set(groupId, g);
    }
    g.set(`${topic}\0${partition}`, { topic, partition, value });
  }

  groupIds(): Set<string> {
    return new Set([
      ...this.offsets.keys(),
      ...this.stored.keys(),
      ...this.txn.keys(),
      ...this.consumer.keys(),
    ]);
  }
}
