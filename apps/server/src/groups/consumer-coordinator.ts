// The consumer group protocol of KIP-848 (ConsumerGroupHeartbeat, ConsumerGroupDescribe) beside
// the classic one: the group coordinator (coordinator.ts) owns the groups, their offsets and the
// `__consumer_offsets` writer; this engine runs the groups whose `consumer` state is set.
//
// - One heartbeat does everything: join (epoch 0), keep the session, report owned partitions, get
//   the assignment, leave (-1) or leave for a while as a static member (-2). The coordinator
//   assigns (consumer-assignors.ts: uniform, range) and reconciles each member towards its target
//   (consumer-reconcile.ts): a partition is given to a member only once its previous holder has
//   reported it revoked.
// - Requests of one group are processed in batches, in arrival order: a batch works on a copy of
//   the committed state (made only if something changes), its records are appended as one batch
//   of `__consumer_offsets` with acks=all, and only once they are durable does the copy become the
//   group's state and are the answers sent. A failed write leaves the state as it was (the answers
//   carry the error); the next batch starts when the write has settled, never before.
// - Within a batch: first every request updates its member (join, leave, subscription), then, if
//   the group epoch moved or the subscribed topics changed (the metadata's topic ids and partition
//   counts, hashed), a new target is computed once, then each heartbeating member reconciles.
// - Timers (not durable; re-armed by a coordinator that loads the group): a member's session
//   (`consumerSessionTimeoutMs`, reset by each heartbeat) and, while it must revoke partitions, its
//   rebalance timeout; either one expiring removes the member (a batch of its own).
// - Regex subscriptions are resolved against the metadata's topic names whenever the metadata
//   changes (consumer-regex.ts for what is accepted).
// - Mixed groups (Kafka 4's online upgrade, KIP-848): a classic member (JoinGroup, SyncGroup,
//   Heartbeat, LeaveGroup) may be a member of a consumer group. Its subscription is read from its
//   JoinGroup protocol metadata, the server assignor includes it, and its JoinGroup answer carries
//   its member epoch as the generation and no leader (nobody assigns on the client side); SyncGroup
//   hands it the partitions it may use now (ConsumerProtocolAssignment). A new target or a pending
//   revocation is signalled by REBALANCE_IN_PROGRESS on its Heartbeat; it rejoins reporting what it
//   still owns (the subscription's owned partitions; nothing for an eager client) and reconciles one
//   step, as a consumer-protocol member does on a heartbeat. A consumer-protocol member joining a
//   running classic group upgrades it: every classic member becomes a member of the consumer group
//   with its generation as epoch and its current assignment as target (one batch). Timers of a
//   classic member: its own session timeout; the rebalance timeout to rejoin once told to, and to
//   send SyncGroup once joined. The downgrade: a batch that removes consumer-protocol members and
//   leaves only classic ones writes the consumer group's tombstones and a classic group record
//   instead (downgradeOf); once durable the coordinator runs the group as a classic one, which
//   rebalances. Both conversions obey group.consumer.migration.policy.
import type { Clock, Scheduler, TimerHandle } from '@chronik/env';
import type { Logger } from '../logger.js';
import type { GroupKafkaError } from './errors.js';
import type { Group } from './group.js';
import type { AssignorTopic, ServerAssignorName } from './consumer-assignors.js';
import { assignPartitions, isServerAssignor } from './consumer-assignors.js';
import type { ConsumerMember } from './consumer-group.js';
import {
  ConsumerGroupState,
  STATIC_LEFT_EPOCH,
  memberAssignmentValue,
  memberMetadataValue,
  metadataChanged,
  newMember,
  subscriptionChanged,
} from './consumer-group.js';
import type { Partitions } from './consumer-partitions.js';
import {
  NO_PARTITIONS,
  isSubset,
  partitionCount,
  partitionsEqual,
  partitionsOf,
  partitionsToList,
} from './consumer-partitions.js';
import { reconcile } from './consumer-reconcile.js';
import { compileTopicRegex } from './consumer-regex.js';
import type { OffsetsTopicRecord, StoredGroup } from './records.js';
import type { ClassicMemberMetadata } from './consumer-records.js';
import {
  CONSUMER_PROTOCOL_TYPE,
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
} from './consumer-protocol.js';
import type {
  HeartbeatRequest,
  JoinGroupRequest,
  JoinGroupResult,
  LeaveGroupResult,
  LeavingMember,
  SyncGroupRequest,
  SyncGroupResult,
  ConsumerGroupHeartbeatRequest,
  ConsumerGroupHeartbeatResult,
  DescribedConsumerGroup,
  DescribedConsumerMember,
  DescribedConsumerPartitions,
} from './types.js';
import { joinGroupError, syncGroupError } from './types.js';

/** A topic as the consumer protocol sees it. */
export interface ConsumerTopicInfo {
  topicId: string;
  name: string;
  numPartitions: number;
  /** Internal topics never match a regex subscription. */
  internal: boolean;
}

/** The topics of the cluster (the broker's metadata), read by the engine. */
export interface TopicMetadataSource {
  topic(name: string): ConsumerTopicInfo | undefined;
  topicById(topicId: string): ConsumerTopicInfo | undefined;
  topics(): Iterable<ConsumerTopicInfo>;
  /** Changes (at least) whenever a topic is created or deleted or gains partitions. */
  version(): number;
}

/** No topics at all (a coordinator without metadata: tests of the classic protocol). */
export const NO_TOPIC_METADATA: TopicMetadataSource = {
  topic: () => undefined,
  topicById: () => undefined,
  topics: () => [],
  version: () => 0,
};

/** The settings of the consumer protocol (part of GroupCoordinatorConfig). */
export interface ConsumerProtocolConfig {
  /** group.max.size: members per group. */
  maxGroupSize: number;
  /** UTF-8 bytes of a member id, instance id, rack id, client id, assignor or topic name. */
  maxIdBytes: number;
  /** group.consumer.heartbeat.interval.ms. */
  consumerHeartbeatIntervalMs: number;
  /** group.consumer.session.timeout.ms. */
  consumerSessionTimeoutMs: number;
  /** Topic names one member may subscribe to. */
  consumerMaxSubscribedTopics: number;
  /** UTF-8 bytes of a subscription regex. */
  consumerMaxRegexBytes: number;
  /** Partitions a heartbeat may report owning. */
  consumerMaxOwnedPartitions: number;
  /** Requests of one group processed (and written) together. */
  consumerMaxRequestsPerBatch: number;
}

/**
 * group.consumer.migration.policy (Kafka 4, KIP-848): which conversions of a running group are
 * allowed. `upgrade`: a consumer-protocol member joining a classic group converts it; `downgrade`:
 * the last consumer-protocol member leaving a group whose other members are classic converts it
 * back; `bidirectional` (the default) both; `disabled` neither. Empty groups always convert, and
 * classic members may always join a running consumer group.
 */
export const MIGRATION_POLICIES = ['disabled', 'upgrade', 'downgrade', 'bidirectional'] as const;
export type MigrationPolicy = (typeof MIGRATION_POLICIES)[number];

export function isMigrationPolicy(s: string): s is MigrationPolicy {
  return (MIGRATION_POLICIES as readonly string[]).includes(s);
}

const upgradeEnabled = (p: MigrationPolicy): boolean => p === 'upgrade' || p === 'bidirectional';
const downgradeEnabled = (p: MigrationPolicy): boolean => p === 'downgrade' || p === 'bidirectional';

/** A consumer group converted back to a classic group, as the classic side stores it. */
export interface DowngradedMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  protocols: ReadonlyArray<{ name: string; metadata: Uint8Array }>;
  /** What it holds, as a ConsumerProtocolAssignment. */
  assignment: Uint8Array;
}

/** What the engine needs of the group coordinator. */
export interface ConsumerGroupHost {
  /** NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS or INVALID_GROUP_ID before the group is looked at. */
  coordinatorError(groupId: string): GroupKafkaError | undefined;
  /** The live group of this id, if any. */
  group(groupId: string): Group | undefined;
  /** A new empty group registered under the id, or the error refusing it (too many groups). */
  createGroup(groupId: string): Group | GroupKafkaError;
  /** Forgets a group created by a request whose write failed, if nothing else holds it. */
  discardIfUnused(group: Group): void;
  /**
   * Appends the records to the group's partition as one batch. `onDurable` runs once they are
   * durable (before any later write of the partition is applied); `onSettled` once the write has
   * succeeded or failed for good (never on the timeout alone). Resolves with the answer to give:
   * NONE, or the error (possibly the timeout's COORDINATOR_NOT_AVAILABLE before it settles).
   */
  append(
    group: Group,
    records: readonly OffsetsTopicRecord[],
    onDurable: () => void,
    onSettled: (error: GroupKafkaError) => void,
  ): Promise<GroupKafkaError>;
  newUuid(): string;
  /**
   * A running classic group is being upgraded to a consumer group: its members' session timers
   * stop and their waiting JoinGroup / SyncGroup requests get REBALANCE_IN_PROGRESS.
   */
  suspendClassicMembers(group: Group): void;
  /** The upgrade is durable: the classic side forgets its members (they live in the consumer group). */
  dropClassicMembers(group: Group): void;
  /** The upgrade's write failed: the classic group runs on (its members' sessions restart). */
  resumeClassicMembers(group: Group): void;
  /**
   * The classic group record of a downgrade (its generation, selected protocol and leader), or
   * undefined when the members have no protocol in common (the group then stays a consumer group).
   */
  downgradedRecord(
    group: Group,
    generationId: number,
    members: readonly DowngradedMember[],
  ): StoredGroup | undefined;
  /**
   * The downgrade is durable: the group is the classic group of `stored` and rebalances (its
   * members rejoin with JoinGroup, as in Kafka).
   */
  installDowngrade(group: Group, stored: StoredGroup): void;
  /** A request that reached the engine while the group became classic again, handed back. */
  rejoinClassic(req: JoinGroupRequest, respond: (r: JoinGroupResult) => void): void;
  leaveClassic(groupId: string, members: readonly LeavingMember[]): Promise<LeaveGroupResult>;
}

export interface ConsumerGroupEngineOptions {
  host: ConsumerGroupHost;
  config: ConsumerProtocolConfig;
  clock: Clock;
  scheduler: Scheduler;
  logger: Logger;
  topics: TopicMetadataSource;
  /** group.consumer.assignors: the enabled server assignors, the first the default. */
  assignors: readonly ServerAssignorName[];
  /** group.consumer.migration.policy (default bidirectional). */
  migrationPolicy?: MigrationPolicy;
}

interface HeartbeatOp {
  kind: 'heartbeat';
  req: ConsumerGroupHeartbeatRequest;
  respond: (r: ConsumerGroupHeartbeatResult) => void;
}

/** JoinGroup of a classic member into a consumer group. */
interface ClassicJoinOp {
  kind: 'classic-join';
  /** With the member id the coordinator gave a new member. */
  req: JoinGroupRequest;
  /** Joined without a member id (a restarted static member may take its old place). */
  unknownMember: boolean;
  respond: (r: JoinGroupResult) => void;
}

/** LeaveGroup of classic members of a consumer group. */
interface ClassicLeaveOp {
  kind: 'classic-leave';
  groupId: string;
  members: readonly LeavingMember[];
  respond: (r: LeaveGroupResult) => void;
}

interface ExpireOp {
  kind: 'expire';
  memberId: string;
  /** join / sync: a classic member that did not rejoin, or did not send SyncGroup, in time. */
  reason: 'session' | 'revocation' | 'join' | 'sync';
  seq: number;
}

type Op = HeartbeatOp | ClassicJoinOp | ClassicLeaveOp | ExpireOp;

interface MemberTimers {
  session?: { handle: TimerHandle; seq: number };
  revocation?: { handle: TimerHandle; seq: number; epoch: number };
  join?: { handle: TimerHandle; seq: number };
  sync?: { handle: TimerHandle; seq: number };
}

/**
 * Where a group's consumer state came from: a failed first write undoes a creation or conversion
 * (`classic`: an empty classic group; `upgrade`: a running one, whose members joined the state).
 */
type Origin = 'stored' | 'new' | 'classic' | 'upgrade';

interface Runtime {
  readonly group: Group;
  origin: Origin;
  queue: Op[];
  busy: boolean;
  dropped: boolean;
  timers: Map<string, MemberTimers>;
  seq: number;
  /** Regex → the topic names it matched at a metadata version. */
  regexCache: Map<string, { version: number; names: ReadonlySet<string> }>;
}

/** The subscribed topics of a group as one batch sees them. */
interface Subscription {
  topics: Map<string, AssignorTopic>;
  hash: bigint;
  topicIdsOf(m: ConsumerMember): Set<string>;
}

/** One batch: its working copy of the state and what it changed. */
class Batch {
  private draft: ConsumerGroupState | undefined;
  groupDirty = false;
  needsTarget = false;
  readonly metaDirty = new Set<string>();
  readonly assignDirty = new Set<string>();
  readonly removed = new Set<string>();
  readonly sessionReset = new Set<string>();
  readonly results = new Map<HeartbeatOp, ConsumerGroupHeartbeatResult>();
  /** Answers other than ConsumerGroupHeartbeat's, given the write's outcome. */
  readonly finishers: Array<(error: GroupKafkaError) => void> = [];
  /** Classic members whose JoinGroup this batch answers (their join timer stops, sync timer starts). */
  readonly classicJoined = new Set<string>();
  readonly reconciles: Array<{
    op: HeartbeatOp | ClassicJoinOp;
    memberId: string;
    owned: Partitions | null;
    full: boolean;
    before: Partitions;
  }> = [];
  /** Expiry requests that found nothing to do or were applied (re-armed if the write fails). */
  readonly expired: ExpireOp[] = [];
  /** The batch converts the group back to a classic group: the record that states it. */
  downgrade: StoredGroup | undefined;

  constructor(readonly committed: ConsumerGroupState) {}

  /** The state as this batch sees it. */
  get s(): ConsumerGroupState {
    return this.draft ?? this.committed;
  }

  /** The working copy, made on the first change. */
  w(): ConsumerGroupState {
    this.draft ??= this.committed.clone();
    return this.draft;
  }

  get changed(): ConsumerGroupState | undefined {
    return this.draft;
  }

  /**
   * Records a member's new or changed metadata (`base`: what it was, or the fresh member when
   * `isNew`): written when it differs, a new target assignment when its subscription changed, and
   * its session restarts.
   */
  putMember(base: ConsumerMember, updated: ConsumerMember, isNew: boolean): void {
    const memberId = updated.memberId;
    if (isNew) {
      this.w().setMember(updated);
      this.metaDirty.add(memberId);
      this.assignDirty.add(memberId);
      this.needsTarget = true;
    } else if (metadataChanged(base, updated)) {
      this.w().setMember(updated);
      this.metaDirty.add(memberId);
      if (subscriptionChanged(base, updated)) this.needsTarget = true;
    }
    this.sessionReset.add(memberId);
  }
}

const ok = (
  memberId: string,
  memberEpoch: number,
  heartbeatIntervalMs: number,
  assignment: ConsumerGroupHeartbeatResult['assignment'],
): ConsumerGroupHeartbeatResult => ({
  errorCode: 'NONE',
  errorMessage: null,
  memberId,
  memberEpoch,
  heartbeatIntervalMs,
  assignment,
});

/** Answers an operation that will not be processed. */
function failOp(op: Op, error: GroupKafkaError): void {
  switch (op.kind) {
    case 'heartbeat':
      op.respond(failure(error, null));
      return;
    case 'classic-join':
      op.respond(joinGroupError(op.req.memberId, error));
      return;
    case 'classic-leave':
      op.respond({ errorCode: error, members: [] });
      return;
    case 'expire':
      return;
  }
}

function failure(errorCode: GroupKafkaError, errorMessage: string | null): ConsumerGroupHeartbeatResult {
  return {
    errorCode,
    errorMessage,
    memberId: null,
    memberEpoch: 0,
    heartbeatIntervalMs: 0,
    assignment: null,
  };
}

function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** 64-bit FNV-1a over the strings (the subscribed topics' ids and partition counts). */
function fnv64(parts: readonly string[]): bigint {
  let h = 0xcbf29ce484222325n;
  const prime = 0x100000001b3n;
  const mask = 0xffffffffffffffffn;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) {
      h ^= BigInt(part.charCodeAt(i));
      h = (h * prime) & mask;
    }
    h ^= 0x1fn;
    h = (h * prime) & mask;
  }
  // Stored as a signed int64.
  return BigInt.asIntN(64, h);
}

export class ConsumerGroupEngine {
  private readonly host: ConsumerGroupHost;
  private readonly config: ConsumerProtocolConfig;
  private readonly scheduler: Scheduler;
  private readonly logger: Logger;
  private readonly topics: TopicMetadataSource;
  private readonly assignors: readonly ServerAssignorName[];
  readonly migrationPolicy: MigrationPolicy;
  private readonly runtimes = new Map<string, Runtime>();
  private readonly compiled = new Map<string, RegExp>();

  constructor(options: ConsumerGroupEngineOptions) {
    this.host = options.host;
    this.config = options.config;
    this.scheduler = options.scheduler;
    this.logger = options.logger;
    this.topics = options.topics;
    this.assignors = options.assignors.length > 0 ? options.assignors : ['uniform'];
    this.migrationPolicy = options.migrationPolicy ?? 'bidirectional';
  }

  /** The enabled assignors, the default first. */
  get enabledAssignors(): readonly ServerAssignorName[] {
    return this.assignors;
  }

  // ---- ConsumerGroupHeartbeat ---------------------------------------------------------------

  heartbeat(req: ConsumerGroupHeartbeatRequest): Promise<ConsumerGroupHeartbeatResult> {
    return new Promise((resolve) => {
      try {
        this.accept(req, resolve);
      } catch (e) {
        this.logger.error({ err: e, groupId: req.groupId }, 'ConsumerGroupHeartbeat failed');
        resolve(failure('UNKNOWN_SERVER_ERROR', null));
      }
    });
  }

  private accept(
    req: ConsumerGroupHeartbeatRequest,
    respond: (r: ConsumerGroupHeartbeatResult) => void,
  ): void {
    if (req.groupId.trim() === '') return respond(failure('INVALID_REQUEST', "GroupId can't be empty."));
    const err = this.host.coordinatorError(req.groupId);
    if (err !== undefined) return respond(failure(err, null));
    const invalid = this.invalidRequest(req);
    if (invalid !== undefined) return respond(failure(invalid[0], invalid[1]));
    let group = this.host.group(req.groupId);
    let origin: Origin = 'stored';
    if (group === undefined) {
      if (req.memberEpoch !== 0)
        return respond(failure('GROUP_ID_NOT_FOUND', `Consumer group ${req.groupId} not found.`));
      const created = this.host.createGroup(req.groupId);
      if (typeof created === 'string') return respond(failure(created, null));
      group = created;
      group.consumer = new ConsumerGroupState();
      origin = 'new';
    } else if (group.consumer === null) {
      if (req.memberEpoch !== 0)
        return respond(failure('GROUP_ID_NOT_FOUND', `Group ${req.groupId} is not a consumer group.`));
      if (isEmptyClassicGroup(group)) {
        // An empty classic group becomes a consumer group (its offsets stay).
        const state = new ConsumerGroupState();
        state.groupEpoch = group.generationId;
        state.assignmentEpoch = group.generationId;
        group.consumer = state;
        origin = 'classic';
      } else {
        // A running one is upgraded (if the policy allows): its members join the consumer group as they are.
        if (!upgradeEnabled(this.migrationPolicy))
          return respond(
            failure(
              'GROUP_ID_NOT_FOUND',
              `Cannot upgrade classic group ${req.groupId} to consumer group because online upgrade is disabled.`,
            ),
          );
        const upgraded = this.upgradedState(group);
        if (typeof upgraded === 'string')
          return respond(
            failure(
              'GROUP_ID_NOT_FOUND',
              `Group ${req.groupId} cannot become a consumer group: ${upgraded}.`,
            ),
          );
        this.host.suspendClassicMembers(group);
        group.consumer = upgraded;
        origin = 'upgrade';
        this.logger.info(
          { groupId: req.groupId, members: upgraded.size, generationId: group.generationId },
          'classic group upgraded to a consumer group',
        );
      }
    }
    const rt = this.runtime(group, origin);
    rt.queue.push({ kind: 'heartbeat', req, respond });
    this.process(rt);
  }

  /** Kafka's checks of the request itself, with its messages: [error, message] or undefined. */
  private invalidRequest(req: ConsumerGroupHeartbeatRequest): [GroupKafkaError, string] | undefined {
    const c = this.config;
    const bad = (m: string): [GroupKafkaError, string] => ['INVALID_REQUEST', m];
    if (req.instanceId !== null && req.instanceId.trim() === '') return bad("InstanceId can't be empty.");
    if (req.rackId !== null && req.rackId.trim() === '') return bad("RackId can't be empty.");
    for (const s of [
      req.memberId,
      req.instanceId,
      req.rackId,
      req.serverAssignor,
      req.clientId,
      req.clientHost,
    ])
      if (s !== null && utf8Bytes(s) > c.maxIdBytes)
        return bad(`A field is longer than ${c.maxIdBytes} bytes.`);
    if (req.apiVersion >= 1 && req.memberId.trim() === '') return bad("MemberId can't be empty.");
    if (req.memberEpoch > 0 || req.memberEpoch === -1) {
      if (req.memberId.trim() === '') return bad("MemberId can't be empty.");
    } else if (req.memberEpoch === 0) {
      if (req.rebalanceTimeoutMs === -1) return bad('RebalanceTimeoutMs must be provided in first request.');
      if (req.topicPartitions === null || req.topicPartitions.length > 0)
        return bad('TopicPartitions must be empty when (re-)joining.');
      if (req.subscribedTopicNames === null && req.subscribedTopicRegex === null)
        return bad('Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining.');
    } else if (req.memberEpoch === STATIC_LEFT_EPOCH) {
      if (req.memberId.trim() === '') return bad("MemberId can't be empty.");
      if (req.instanceId === null) return bad("InstanceId can't be null.");
    } else {
      return bad('MemberEpoch is invalid.');
    }
    if (req.rebalanceTimeoutMs < -1) return bad('RebalanceTimeoutMs is invalid.');
    const names = req.subscribedTopicNames;
    if (names !== null) {
      if (names.length > c.consumerMaxSubscribedTopics)
        return bad(`At most ${c.consumerMaxSubscribedTopics} topics may be subscribed to by name.`);
      for (const n of names) if (n === '' || utf8Bytes(n) > c.maxIdBytes) return bad(`Invalid topic name.`);
    }
    if (req.topicPartitions !== null) {
      let n = 0;
      for (const tp of req.topicPartitions) {
        if (!UUID_RE.test(tp.topicId)) return bad('Invalid topic id.');
        n += tp.partitions.length;
      }
      if (n > c.consumerMaxOwnedPartitions)
        return bad(`At most ${c.consumerMaxOwnedPartitions} partitions may be reported owned.`);
    }
    if (req.serverAssignor !== null && !this.assignors.some((a) => a === req.serverAssignor))
      return [
        'UNSUPPORTED_ASSIGNOR',
        `ServerAssignor ${req.serverAssignor} is not supported. Supported assignors: ${this.assignors.join(', ')}.`,
      ];
    if (req.subscribedTopicRegex !== null && req.subscribedTopicRegex !== '') {
      const r = this.compile(req.subscribedTopicRegex);
      if (!r.ok) return ['INVALID_REGULAR_EXPRESSION', `SubscribedTopicRegex is invalid: ${r.reason}`];
    }
    return undefined;
  }

  private compile(source: string): { ok: true; regex: RegExp } | { ok: false; reason: string } {
    const cached = this.compiled.get(source);
    if (cached !== undefined) return { ok: true, regex: cached };
    const r = compileTopicRegex(source, this.config.consumerMaxRegexBytes);
    if (r.ok) {
      // Bounded: patterns of live members only are looked up; old ones are dropped in bulk.
      if (this.compiled.size >= 10_000) this.compiled.clear();
      this.compiled.set(source, r.regex);
    }
    return r;
  }

  // ---- batches ------------------------------------------------------------------------------

  private runtime(group: Group, origin: Origin): Runtime {
    const existing = this.runtimes.get(group.groupId);
    if (existing !== undefined && existing.group === group) return existing;
    const rt: Runtime = {
      group,
      origin,
      queue: [],
      busy: false,
      dropped: false,
      timers: new Map(),
      seq: 0,
      regexCache: new Map(),
    };
    this.runtimes.set(group.groupId, rt);
    return rt;
  }

  private enqueue(rt: Runtime, op: Op): void {
    if (rt.dropped) return;
    rt.queue.push(op);
    this.process(rt);
  }

  /** Starts the next batch of the group if none is being written. */
  private process(rt: Runtime): void {
    while (!rt.busy && !rt.dropped && rt.queue.length > 0) {
      const group = rt.group;
      const state = group.consumer;
      const ops = rt.queue.splice(0, Math.max(1, this.config.consumerMaxRequestsPerBatch));
      if (state === null || this.host.group(group.groupId) !== group) {
        for (const op of ops) failOp(op, 'NOT_COORDINATOR');
        continue;
      }
      let b: Batch;
      try {
        b = this.runBatch(rt, state, ops);
      } catch (e) {
        this.logger.error({ err: e, groupId: group.groupId }, 'consumer group batch failed');
        for (const op of ops) failOp(op, 'UNKNOWN_SERVER_ERROR');
        this.undoCreation(rt);
        continue;
      }
      const records = this.records(group.groupId, b);
      if (records.length === 0) {
        this.commit(rt, b);
        this.answer(b, 'NONE');
        continue;
      }
      rt.busy = true;
      void this.host
        .append(
          group,
          records,
          () => this.commit(rt, b),
          (error) => {
            rt.busy = false;
            if (error !== 'NONE') this.afterFailure(rt, b, error);
            this.process(rt);
          },
        )
        .then((error) => this.answer(b, error));
    }
  }

  private answer(b: Batch, error: GroupKafkaError): void {
    for (const [op, result] of b.results) op.respond(error === 'NONE' ? result : failure(error, null));
    for (const finish of b.finishers) finish(error);
  }

  private runBatch(rt: Runtime, state: ConsumerGroupState, ops: readonly Op[]): Batch {
    const b = new Batch(state);
    for (const op of ops) {
      switch (op.kind) {
        case 'heartbeat':
          this.applyHeartbeat(b, op);
          break;
        case 'classic-join':
          this.applyClassicJoin(b, op);
          break;
        case 'classic-leave':
          this.applyClassicLeave(b, op);
          break;
        case 'expire':
          this.applyExpiry(rt, b, op);
          break;
      }
    }
    const downgrade = this.downgradeOf(rt, b);
    if (downgrade !== undefined) {
      b.downgrade = downgrade;
      this.answerDowngraded(b);
      return b;
    }
    const heartbeats = b.reconciles.length > 0;
    if (heartbeats || b.needsTarget) {
      const sub = this.subscription(rt, b.s);
      if (sub.hash !== b.s.metadataHash) b.needsTarget = true;
      if (b.needsTarget) this.computeTarget(b, sub);
    }
    if (!b.s.stored) {
      // The group's first write states it whole (an upgraded classic group's members too).
      b.groupDirty = true;
      for (const id of b.s.members.keys()) {
        b.metaDirty.add(id);
        b.assignDirty.add(id);
      }
    }
    this.reconcileAll(b);
    return b;
  }

  /**
   * Kafka 4's online downgrade: when consumer-protocol members were removed (left, fenced, expired,
   * or replaced by a classic static member) and every member left is classic, the group becomes a
   * classic group again — if the policy allows it and it is not empty. Its generation is the group
   * epoch; each member keeps what it holds (so one holder per partition still holds after a
   * failover); the classic group then rebalances. The record, or undefined to stay a consumer group.
   */
  private downgradeOf(rt: Runtime, b: Batch): StoredGroup | undefined {
    const s = b.s;
    if (rt.origin !== 'stored' || !s.stored || s.size === 0) return undefined;
    if (![...b.removed].some((id) => b.committed.members.get(id)?.classic === null)) return undefined;
    if ([...s.members.values()].some((m) => m.classic === null)) return undefined;
    const refuse = (reason: string): undefined => {
      this.logger.info(
        { groupId: rt.group.groupId },
        `consumer group not downgraded to a classic group: ${reason}`,
      );
      return undefined;
    };
    if (!downgradeEnabled(this.migrationPolicy))
      return refuse(`group.consumer.migration.policy is ${this.migrationPolicy}`);
    if (s.size > this.config.maxGroupSize) return refuse('it has more members than group.max.size');
    const members: DowngradedMember[] = [];
    for (const m of s.members.values()) {
      if (m.classic === null) return undefined;
      members.push({
        memberId: m.memberId,
        groupInstanceId: m.instanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        sessionTimeoutMs: m.classic.sessionTimeoutMs,
        protocols: m.classic.protocols,
        assignment: encodeAssignment(this.namedPartitions(m.assigned)),
      });
    }
    return (
      this.host.downgradedRecord(rt.group, s.groupEpoch, members) ??
      refuse('its classic members have no protocol in common')
    );
  }

  /**
   * The answers of a downgrading batch: heartbeats of removed members fail as usual; a classic
   * member's JoinGroup goes to the classic group once it exists (it joins its rebalance).
   */
  private answerDowngraded(b: Batch): void {
    for (const r of b.reconciles) {
      const op = r.op;
      if (op.kind === 'heartbeat') {
        if (!b.s.members.has(r.memberId)) b.results.set(op, failure('UNKNOWN_MEMBER_ID', null));
        continue;
      }
      b.finishers.push((error) => {
        if (error === 'NONE') this.host.rejoinClassic(op.req, op.respond);
        else op.respond(joinGroupError(op.req.memberId, error));
      });
    }
  }

  /** A request queued behind a downgrade: served by whichever protocol the group has now. */
  private redispatch(op: Op): void {
    switch (op.kind) {
      case 'heartbeat':
        try {
          this.accept(op.req, op.respond);
        } catch (e) {
          this.logger.error({ err: e, groupId: op.req.groupId }, 'ConsumerGroupHeartbeat failed');
          op.respond(failure('UNKNOWN_SERVER_ERROR', null));
        }
        return;
      case 'classic-join':
        this.host.rejoinClassic(op.unknownMember ? { ...op.req, memberId: '' } : op.req, op.respond);
        return;
      case 'classic-leave':
        void this.host.leaveClassic(op.groupId, op.members).then(op.respond);
        return;
      case 'expire':
        return;
    }
  }

  private applyHeartbeat(b: Batch, op: HeartbeatOp): void {
    const req = op.req;
    const s = b.s;
    const fail = (code: GroupKafkaError, message: string | null): void => {
      b.results.set(op, failure(code, message));
    };
    const notMember = (id: string): string => `Member ${id} is not a member of group ${req.groupId}.`;
    if (req.memberEpoch === -1 || req.memberEpoch === STATIC_LEFT_EPOCH) {
      let memberId = req.memberId;
      if (req.instanceId !== null) {
        const holder = s.staticMembers.get(req.instanceId);
        if (holder === undefined)
          return fail('UNKNOWN_MEMBER_ID', `Instance id ${req.instanceId} is unknown.`);
        if (holder !== req.memberId)
          return fail('FENCED_INSTANCE_ID', `Instance id ${req.instanceId} belongs to another member.`);
        memberId = holder;
      }
      const m = s.members.get(memberId);
      if (m === undefined) return fail('UNKNOWN_MEMBER_ID', notMember(memberId));
      if (req.memberEpoch === -1) {
        this.removeMember(b, memberId);
      } else {
        // A static member away for a while keeps its place (and partitions) until its session ends.
        b.w().setMember({
          ...m,
          memberEpoch: STATIC_LEFT_EPOCH,
          previousMemberEpoch: m.memberEpoch === STATIC_LEFT_EPOCH ? m.previousMemberEpoch : m.memberEpoch,
        });
        b.assignDirty.add(memberId);
        b.sessionReset.add(memberId);
      }
      b.results.set(op, ok(memberId, req.memberEpoch, this.config.consumerHeartbeatIntervalMs, null));
      return;
    }

    const owned =
      req.topicPartitions === null
        ? null
        : partitionsOf(req.topicPartitions.map((tp) => [tp.topicId, tp.partitions] as const));
    let memberId = req.memberId;
    let base: ConsumerMember | undefined;
    let isNew = false;
    if (req.memberEpoch === 0) {
      if (memberId === '') memberId = this.host.newUuid();
      base = s.members.get(memberId);
      if (req.instanceId !== null) {
        const holder = s.staticMembers.get(req.instanceId);
        if (holder !== undefined && holder !== memberId) {
          const old = s.members.get(holder);
          if (old === undefined) throw new Error(`static member ${req.instanceId} maps to missing ${holder}`);
          if (old.memberEpoch !== STATIC_LEFT_EPOCH)
            return fail(
              'UNRELEASED_INSTANCE_ID',
              `Static member ${holder} with instance id ${req.instanceId} is present in the group.`,
            );
          // The static member comes back under a new member id: it takes the old one's place,
          // assignment and target.
          const target = s.targets.get(holder);
          this.removeMember(b, holder, false);
          base = {
            ...old,
            memberId,
            memberEpoch: old.previousMemberEpoch,
            previousMemberEpoch: old.previousMemberEpoch,
          };
          b.w().setMember(base);
          if (target !== undefined) b.w().targets.set(memberId, target);
          b.metaDirty.add(memberId);
          b.assignDirty.add(memberId);
        } else if (base !== undefined && base.instanceId !== req.instanceId) {
          return fail('FENCED_INSTANCE_ID', `Member ${memberId} has another instance id.`);
        }
      }
      if (base === undefined) {
        if (s.size >= this.config.maxGroupSize)
          return fail(
            'GROUP_MAX_SIZE_REACHED',
            `The consumer group has reached its maximum capacity of ${this.config.maxGroupSize} members.`,
          );
        base = newMember({
          memberId,
          instanceId: req.instanceId,
          rackId: req.rackId,
          clientId: req.clientId,
          clientHost: req.clientHost,
          rebalanceTimeoutMs: req.rebalanceTimeoutMs,
          serverAssignor: req.serverAssignor,
          subscribedTopicRegex: normalizeRegex(req.subscribedTopicRegex),
          subscribedTopicNames: normalizeNames(req.subscribedTopicNames ?? []),
          classic: null,
        });
        isNew = true;
      }
    } else {
      base = s.members.get(memberId);
      if (req.instanceId !== null) {
        const holder = s.staticMembers.get(req.instanceId);
        if (holder === undefined)
          return fail('UNKNOWN_MEMBER_ID', `Instance id ${req.instanceId} is unknown.`);
        if (holder !== memberId)
          return fail('FENCED_INSTANCE_ID', `Instance id ${req.instanceId} belongs to another member.`);
      }
      if (base === undefined) return fail('UNKNOWN_MEMBER_ID', notMember(memberId));
      if (base.classic !== null)
        return fail('UNKNOWN_MEMBER_ID', `Member ${memberId} uses the classic protocol.`);
      if (req.memberEpoch > base.memberEpoch)
        return fail(
          'FENCED_MEMBER_EPOCH',
          `The consumer group member has a greater member epoch (${req.memberEpoch}) than the one known by the group coordinator (${base.memberEpoch}). The member must abandon all its partitions and rejoin.`,
        );
      if (req.memberEpoch < base.memberEpoch) {
        // A member that missed the answer bumping its epoch is accepted with the previous one, as
        // long as it owns nothing it was not given.
        const missedBump =
          req.memberEpoch === base.previousMemberEpoch && owned !== null && isSubset(owned, base.assigned);
        if (!missedBump)
          return fail(
            'FENCED_MEMBER_EPOCH',
            `The consumer group member has a smaller member epoch (${req.memberEpoch}) than the one known by the group coordinator (${base.memberEpoch}). The member must abandon all its partitions and rejoin.`,
          );
      }
    }
    const updated: ConsumerMember = {
      ...base,
      // A static member that was classic comes back with the consumer protocol (a rolling upgrade).
      classic: null,
      rackId: req.rackId ?? base.rackId,
      clientId: req.clientId,
      clientHost: req.clientHost,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs === -1 ? base.rebalanceTimeoutMs : req.rebalanceTimeoutMs,
      serverAssignor: req.serverAssignor ?? base.serverAssignor,
      subscribedTopicRegex:
        req.subscribedTopicRegex === null
          ? base.subscribedTopicRegex
          : normalizeRegex(req.subscribedTopicRegex),
      subscribedTopicNames:
        req.subscribedTopicNames === null
          ? base.subscribedTopicNames
          : normalizeNames(req.subscribedTopicNames),
    };
    b.putMember(base, updated, isNew);
    b.reconciles.push({
      op,
      memberId,
      owned,
      full:
        req.memberEpoch === 0 ||
        (req.rebalanceTimeoutMs !== -1 && req.subscribedTopicNames !== null && req.topicPartitions !== null),
      before: isNew ? NO_PARTITIONS : base.assigned,
    });
  }

  /** Removes the member (and, unless it is being replaced by its successor, asks for a new target). */
  private removeMember(b: Batch, memberId: string, newTarget = true): void {
    b.w().removeMember(memberId);
    b.removed.add(memberId);
    b.metaDirty.delete(memberId);
    b.assignDirty.delete(memberId);
    b.sessionReset.delete(memberId);
    if (newTarget) b.needsTarget = true;
  }

  private applyExpiry(rt: Runtime, b: Batch, op: ExpireOp): void {
    b.expired.push(op);
    const m = b.s.members.get(op.memberId);
    const timers = rt.timers.get(op.memberId);
    if (m === undefined) return;
    if (op.reason === 'session') {
      if (timers?.session?.seq !== op.seq) return;
      this.logger.info(
        { groupId: rt.group.groupId, memberId: op.memberId },
        'consumer group member session expired',
      );
    } else if (op.reason === 'join' || op.reason === 'sync') {
      if (timers?.[op.reason]?.seq !== op.seq) return;
      this.logger.info(
        { groupId: rt.group.groupId, memberId: op.memberId },
        op.reason === 'join'
          ? 'classic member of a consumer group did not rejoin within its rebalance timeout'
          : 'classic member of a consumer group did not send SyncGroup within its rebalance timeout',
      );
    } else {
      if (
        timers?.revocation?.seq !== op.seq ||
        m.state !== 'unrevoked' ||
        m.memberEpoch !== timers.revocation.epoch
      )
        return;
      this.logger.info(
        { groupId: rt.group.groupId, memberId: op.memberId, epoch: m.memberEpoch },
        'consumer group member did not revoke its partitions within its rebalance timeout',
      );
    }
    this.removeMember(b, op.memberId);
  }

  /** The topics the group subscribes to (by name and by regex) as the metadata has them now. */
  private subscription(rt: Runtime, s: ConsumerGroupState): Subscription {
    const version = this.topics.version();
    const topics = new Map<string, AssignorTopic>();
    const idOfName = new Map<string, string>();
    const add = (name: string): void => {
      if (idOfName.has(name)) return;
      const t = this.topics.topic(name);
      if (t === undefined || t.numPartitions <= 0) return;
      idOfName.set(name, t.topicId);
      topics.set(t.topicId, { topicId: t.topicId, name: t.name, numPartitions: t.numPartitions });
    };
    for (const name of s.subscribedNames.keys()) add(name);
    const resolved = new Map<string, ReadonlySet<string>>();
    for (const rx of s.subscribedRegexes.keys()) {
      const names = this.resolveRegex(rt, rx, version);
      resolved.set(rx, names);
      for (const n of names) add(n);
    }
    // Drop cached patterns no member uses any more.
    for (const rx of rt.regexCache.keys()) if (!s.subscribedRegexes.has(rx)) rt.regexCache.delete(rx);
    const parts: string[] = [];
    for (const id of [...topics.keys()].sort()) parts.push(id, String(topics.get(id)?.numPartitions ?? 0));
    return {
      topics,
      hash: topics.size === 0 ? 0n : fnv64(parts),
      topicIdsOf: (m) => {
        const ids = new Set<string>();
        for (const n of m.subscribedTopicNames) {
          const id = idOfName.get(n);
          if (id !== undefined) ids.add(id);
        }
        if (m.subscribedTopicRegex !== null)
          for (const n of resolved.get(m.subscribedTopicRegex) ?? []) {
            const id = idOfName.get(n);
            if (id !== undefined) ids.add(id);
          }
        return ids;
      },
    };
  }

  private resolveRegex(rt: Runtime, source: string, version: number): ReadonlySet<string> {
    const cached = rt.regexCache.get(source);
    if (cached !== undefined && cached.version === version) return cached.names;
    const compiled = this.compile(source);
    const names = new Set<string>();
    if (compiled.ok)
      for (const t of this.topics.topics()) if (!t.internal && compiled.regex.test(t.name)) names.add(t.name);
    rt.regexCache.set(source, { version, names });
    return names;
  }

  private computeTarget(b: Batch, sub: Subscription): void {
    const w = b.w();
    w.groupEpoch++;
    if (w.size > 0) {
      const name = w.preferredAssignor(this.assignors) as ServerAssignorName;
      const assignor: ServerAssignorName = isServerAssignor(name) ? name : 'uniform';
      const target = assignPartitions(assignor, {
        members: [...w.members.values()].map((m) => ({
          memberId: m.memberId,
          instanceId: m.instanceId,
          topicIds: sub.topicIdsOf(m),
        })),
        topics: sub.topics,
        previous: w.targets,
      });
      for (const [id, t] of target) {
        if (partitionsEqual(w.targets.get(id) ?? NO_PARTITIONS, t)) continue;
        if (partitionCount(t) === 0) w.targets.delete(id);
        else w.targets.set(id, t);
        b.assignDirty.add(id);
      }
      w.assignor = assignor;
    }
    w.assignmentEpoch = w.groupEpoch;
    w.metadataHash = sub.hash;
    b.groupDirty = true;
  }

  private reconcileAll(b: Batch): void {
    for (const r of b.reconciles) {
      const m = b.s.members.get(r.memberId);
      if (m === undefined) {
        const op = r.op;
        if (op.kind === 'heartbeat') b.results.set(op, failure('UNKNOWN_MEMBER_ID', null));
        else b.finishers.push(() => op.respond(joinGroupError(op.req.memberId, 'UNKNOWN_MEMBER_ID')));
        continue;
      }
      let current = m;
      if (m.memberEpoch !== STATIC_LEFT_EPOCH) {
        const next = reconcile({
          memberId: m.memberId,
          current: m,
          targetEpoch: b.s.assignmentEpoch,
          target: b.s.targets.get(m.memberId) ?? NO_PARTITIONS,
          holderOf: (t, p) => b.s.holderOf(t, p),
          owned: r.owned,
        });
        if (next !== m) {
          current = { ...m, ...next };
          b.w().setMember(current);
          b.assignDirty.add(m.memberId);
        }
      }
      const op = r.op;
      if (op.kind === 'classic-join') {
        // The generation is the member epoch; no leader: the coordinator has assigned.
        const answer: JoinGroupResult = {
          errorCode: 'NONE',
          generationId: current.memberEpoch,
          protocolType: CONSUMER_PROTOCOL_TYPE,
          protocolName: current.classic?.protocols[0]?.name ?? null,
          leader: '',
          skipAssignment: false,
          memberId: m.memberId,
          members: [],
        };
        b.finishers.push((error) =>
          op.respond(error === 'NONE' ? answer : joinGroupError(op.req.memberId, error)),
        );
        continue;
      }
      b.results.set(
        op,
        ok(
          m.memberId,
          current.memberEpoch,
          this.config.consumerHeartbeatIntervalMs,
          r.full || !partitionsEqual(r.before, current.assigned) ? partitionsToList(current.assigned) : null,
        ),
      );
    }
  }

  private records(groupId: string, b: Batch): OffsetsTopicRecord[] {
    const s = b.s;
    const out: OffsetsTopicRecord[] = [];
    if (b.downgrade !== undefined) {
      // Every record of the consumer group is deleted, then the classic group is stated whole.
      out.push({ type: 'consumer-group', groupId, value: null });
      for (const id of new Set([...b.committed.members.keys(), ...s.members.keys(), ...b.removed])) {
        out.push({ type: 'consumer-member', groupId, memberId: id, value: null });
        out.push({ type: 'consumer-assignment', groupId, memberId: id, value: null });
      }
      out.push({ type: 'group', groupId, value: b.downgrade });
      return out;
    }
    if (b.groupDirty)
      out.push({
        type: 'consumer-group',
        groupId,
        value: {
          groupEpoch: s.groupEpoch,
          assignmentEpoch: s.assignmentEpoch,
          assignor: s.assignor,
          metadataHash: s.metadataHash,
        },
      });
    for (const id of b.removed) {
      if (s.members.has(id)) continue;
      out.push({ type: 'consumer-member', groupId, memberId: id, value: null });
      out.push({ type: 'consumer-assignment', groupId, memberId: id, value: null });
    }
    for (const id of b.metaDirty) {
      const m = s.members.get(id);
      if (m !== undefined)
        out.push({ type: 'consumer-member', groupId, memberId: id, value: memberMetadataValue(m) });
    }
    for (const id of b.assignDirty) {
      const m = s.members.get(id);
      if (m !== undefined)
        out.push({
          type: 'consumer-assignment',
          groupId,
          memberId: id,
          value: memberAssignmentValue(m, s.targets.get(id)),
        });
    }
    return out;
  }

  /** The batch's records are durable (or there were none): its state becomes the group's. */
  private commit(rt: Runtime, b: Batch): void {
    const group = rt.group;
    if (rt.dropped || this.host.group(group.groupId) !== group || group.consumer !== b.committed) return;
    if (b.downgrade !== undefined) {
      // The group is classic from here on: this runtime ends, what is queued behind goes there.
      rt.dropped = true;
      for (const id of [...rt.timers.keys()]) this.cancelTimers(rt, id);
      if (this.runtimes.get(group.groupId) === rt) this.runtimes.delete(group.groupId);
      this.host.installDowngrade(group, b.downgrade);
      this.logger.info(
        {
          groupId: group.groupId,
          members: b.downgrade.members.length,
          generationId: b.downgrade.generationId,
        },
        'consumer group downgraded to a classic group',
      );
      for (const op of rt.queue.splice(0)) this.redispatch(op);
      return;
    }
    const next = b.changed;
    if (next !== undefined) {
      if (b.groupDirty) next.stored = true;
      group.consumer = next;
    }
    if (rt.origin === 'classic' && group.consumer?.stored === true) group.lastStored = null;
    if (rt.origin === 'upgrade' && group.consumer?.stored === true) {
      group.lastStored = null;
      this.host.dropClassicMembers(group);
      for (const m of group.consumer.members.values())
        if (rt.timers.get(m.memberId)?.session === undefined)
          this.armSession(rt, m.memberId, this.sessionTimeoutOf(m));
    }
    if (group.consumer?.stored === true) rt.origin = 'stored';
    const state = group.consumer;
    if (state === null) return;
    for (const id of b.removed) if (!state.members.has(id)) this.cancelTimers(rt, id);
    for (const id of b.sessionReset) {
      const m = state.members.get(id);
      if (m !== undefined) this.armSession(rt, id, this.sessionTimeoutOf(m));
    }
    for (const id of b.classicJoined) {
      const m = state.members.get(id);
      if (m === undefined) continue;
      const t = this.timersOf(rt, id);
      t.join?.handle.cancel();
      delete t.join;
      this.armClassic(rt, m, 'sync');
    }
    for (const id of new Set([...b.assignDirty, ...b.reconciles.map((r) => r.memberId)])) {
      const m = state.members.get(id);
      if (m !== undefined) this.syncRevocationTimer(rt, m);
    }
  }

  private afterFailure(rt: Runtime, b: Batch, error: GroupKafkaError): void {
    this.logger.warn({ groupId: rt.group.groupId, error }, 'consumer group write failed');
    this.undoCreation(rt);
    // Expiries that did not land are tried again shortly.
    for (const op of b.expired) {
      const t = rt.timers.get(op.memberId);
      if (op.reason === 'session' && t?.session?.seq === op.seq) this.armSession(rt, op.memberId, 1000);
      if (op.reason === 'revocation' && t?.revocation?.seq === op.seq) {
        const m = rt.group.consumer?.members.get(op.memberId);
        if (m !== undefined) this.armRevocation(rt, m, 1000);
      }
    }
  }

  /** A group created (or converted from classic) by a batch that never became durable is undone. */
  private undoCreation(rt: Runtime): void {
    const group = rt.group;
    const state = group.consumer;
    if (state === null || state.stored || rt.queue.length > 0) return;
    if (rt.origin === 'upgrade') {
      group.consumer = null;
      this.dropRuntime(rt, 'NOT_COORDINATOR');
      this.host.resumeClassicMembers(group);
      return;
    }
    if (state.size > 0) return;
    if (rt.origin === 'classic') {
      group.consumer = null;
      this.dropRuntime(rt, 'NOT_COORDINATOR');
    } else if (rt.origin === 'new') {
      this.dropRuntime(rt, 'NOT_COORDINATOR');
      this.host.discardIfUnused(group);
    }
  }

  // ---- classic members of a consumer group (Kafka 4's mixed groups) -------------------------

  /**
   * JoinGroup of a classic member into a running consumer group (the coordinator sends an empty
   * one back to the classic protocol instead). Answered once the member's records are durable.
   */
  classicJoin(group: Group, req: JoinGroupRequest, respond: (r: JoinGroupResult) => void): void {
    const first = req.protocols[0];
    if (req.protocolType !== CONSUMER_PROTOCOL_TYPE || first === undefined)
      return respond(joinGroupError(req.memberId, 'INCONSISTENT_GROUP_PROTOCOL'));
    if (decodeSubscription(first.metadata, this.config.consumerMaxOwnedPartitions) === null)
      return respond(joinGroupError(req.memberId, 'INCONSISTENT_GROUP_PROTOCOL'));
    let memberId = req.memberId;
    const unknownMember = memberId === '';
    if (unknownMember) {
      memberId = this.host.newUuid();
      // As for a classic group: a new dynamic member (v4+) first learns its id.
      if (req.requireKnownMemberId && req.groupInstanceId === null)
        return respond(joinGroupError(memberId, 'MEMBER_ID_REQUIRED'));
    }
    const rt = this.runtime(group, 'stored');
    this.enqueue(rt, { kind: 'classic-join', req: { ...req, memberId }, unknownMember, respond });
  }

  /** SyncGroup of a classic member: the partitions it may use now. */
  classicSync(group: Group, req: SyncGroupRequest): SyncGroupResult {
    const s = group.consumer;
    if (s === null) return syncGroupError('UNKNOWN_MEMBER_ID');
    const m = classicMemberOf(s, req.memberId, req.groupInstanceId);
    if (typeof m === 'string') return syncGroupError(m);
    if (req.generationId !== m.memberEpoch) return syncGroupError('ILLEGAL_GENERATION');
    const protocolName = m.classic?.protocols[0]?.name ?? null;
    if (req.protocolType !== null && req.protocolType !== CONSUMER_PROTOCOL_TYPE)
      return syncGroupError('INCONSISTENT_GROUP_PROTOCOL');
    if (req.protocolName !== null && req.protocolName !== protocolName)
      return syncGroupError('INCONSISTENT_GROUP_PROTOCOL');
    const rt = this.runtime(group, 'stored');
    // A newer epoch exists and the member has nothing to revoke first: it must rejoin to catch up.
    if (s.groupEpoch > m.memberEpoch && m.state !== 'unrevoked') {
      this.armClassic(rt, m, 'join', false);
      return syncGroupError('REBALANCE_IN_PROGRESS');
    }
    const t = rt.timers.get(m.memberId);
    t?.sync?.handle.cancel();
    if (t !== undefined) delete t.sync;
    this.armSession(rt, m.memberId, this.sessionTimeoutOf(m));
    return {
      errorCode: 'NONE',
      protocolType: CONSUMER_PROTOCOL_TYPE,
      protocolName,
      assignment: encodeAssignment(this.namedPartitions(m.assigned)),
    };
  }

  /**
   * Heartbeat of a classic member: REBALANCE_IN_PROGRESS when it must rejoin — the group epoch is
   * past its epoch, it has partitions to revoke, or the partitions it waits for are free now.
   */
  classicHeartbeat(group: Group, req: HeartbeatRequest): GroupKafkaError {
    const s = group.consumer;
    if (s === null) return 'UNKNOWN_MEMBER_ID';
    const m = classicMemberOf(s, req.memberId, req.groupInstanceId);
    if (typeof m === 'string') return m;
    if (req.generationId !== m.memberEpoch) return 'ILLEGAL_GENERATION';
    const rt = this.runtime(group, 'stored');
    this.armSession(rt, m.memberId, this.sessionTimeoutOf(m));
    if (
      m.memberEpoch < s.groupEpoch ||
      m.state === 'unrevoked' ||
      (m.state === 'unreleased' && !waitingOnUnreleased(s, m))
    ) {
      this.armClassic(rt, m, 'join', false);
      return 'REBALANCE_IN_PROGRESS';
    }
    return 'NONE';
  }

  /** LeaveGroup of members of a consumer group (by member id, or by instance id: admin removal). */
  classicLeave(group: Group, members: readonly LeavingMember[]): Promise<LeaveGroupResult> {
    return new Promise((respond) => {
      const rt = this.runtime(group, 'stored');
      if (rt.dropped) return respond({ errorCode: 'NOT_COORDINATOR', members: [] });
      this.enqueue(rt, { kind: 'classic-leave', groupId: group.groupId, members, respond });
    });
  }

  /** Whether a running classic group's upgrade is still being written. */
  isUpgrading(group: Group): boolean {
    const rt = this.runtimes.get(group.groupId);
    return rt !== undefined && rt.group === group && rt.origin === 'upgrade';
  }

  private applyClassicJoin(b: Batch, op: ClassicJoinOp): void {
    const req = op.req;
    const memberId = req.memberId;
    const fail = (code: GroupKafkaError): void => {
      b.finishers.push(() => op.respond(joinGroupError(memberId, code)));
    };
    const first = req.protocols[0];
    const sub =
      first === undefined ? null : decodeSubscription(first.metadata, this.config.consumerMaxOwnedPartitions);
    if (sub === null) return fail('INCONSISTENT_GROUP_PROTOCOL');
    const s = b.s;
    // As Kafka: the group's classic members must keep a protocol in common (its downgrade needs one).
    const replacing = req.groupInstanceId === null ? undefined : s.staticMembers.get(req.groupInstanceId);
    if (!sharesClassicProtocol(s, req.protocols, [memberId, replacing]))
      return fail('INCONSISTENT_GROUP_PROTOCOL');
    let base = s.members.get(memberId);
    let replaced = false;
    if (req.groupInstanceId !== null) {
      const holder = s.staticMembers.get(req.groupInstanceId);
      if (holder !== undefined && holder !== memberId) {
        if (!op.unknownMember) return fail('FENCED_INSTANCE_ID');
        // A restarted static member takes its old place: assignment, epoch and target.
        const old = s.members.get(holder);
        if (old === undefined)
          throw new Error(`static member ${req.groupInstanceId} maps to missing ${holder}`);
        const target = s.targets.get(holder);
        this.removeMember(b, holder, false);
        base = { ...old, memberId };
        b.w().setMember(base);
        if (target !== undefined) b.w().targets.set(memberId, target);
        b.metaDirty.add(memberId);
        b.assignDirty.add(memberId);
        replaced = true;
      } else if (base !== undefined && base.instanceId !== req.groupInstanceId) {
        return fail('FENCED_INSTANCE_ID');
      }
    }
    if (base !== undefined && base.classic === null && !replaced) return fail('UNKNOWN_MEMBER_ID');
    const classic: ClassicMemberMetadata = {
      sessionTimeoutMs: req.sessionTimeoutMs,
      protocols: req.protocols.map((p) => ({ name: p.name, metadata: p.metadata })),
    };
    const fields = {
      instanceId: req.groupInstanceId,
      clientId: req.clientId,
      clientHost: req.clientHost,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      serverAssignor: null,
      subscribedTopicRegex: null,
      subscribedTopicNames: normalizeNames(sub.topics),
      classic,
    };
    let isNew = false;
    if (base === undefined) {
      if (s.size >= this.config.maxGroupSize) return fail('GROUP_MAX_SIZE_REACHED');
      base = newMember({ memberId, rackId: sub.rackId, ...fields });
      isNew = true;
    }
    const updated: ConsumerMember = { ...base, ...fields, rackId: sub.rackId ?? base.rackId };
    b.putMember(base, updated, isNew);
    b.classicJoined.add(memberId);
    b.reconciles.push({
      op,
      memberId,
      // What it still owns as it rejoins (an eager client has given everything up).
      owned: this.partitionsByName(sub.ownedPartitions, () => true),
      full: true,
      before: isNew ? NO_PARTITIONS : base.assigned,
    });
  }

  private applyClassicLeave(b: Batch, op: ClassicLeaveOp): void {
    const results: LeaveGroupResult['members'] = [];
    for (const leaving of op.members) {
      let error: GroupKafkaError = 'NONE';
      let memberId = leaving.memberId;
      if (leaving.groupInstanceId !== null) {
        const holder = b.s.staticMembers.get(leaving.groupInstanceId);
        if (holder === undefined) error = 'UNKNOWN_MEMBER_ID';
        else if (memberId !== '' && holder !== memberId) error = 'FENCED_INSTANCE_ID';
        else memberId = holder;
      }
      if (error === 'NONE') {
        if (b.s.members.has(memberId)) this.removeMember(b, memberId);
        else error = 'UNKNOWN_MEMBER_ID';
      }
      results.push({
        memberId: leaving.memberId,
        groupInstanceId: leaving.groupInstanceId,
        errorCode: error,
      });
    }
    b.finishers.push((error) =>
      op.respond(
        error === 'NONE' ? { errorCode: 'NONE', members: results } : { errorCode: error, members: [] },
      ),
    );
  }

  /**
   * A running classic group as a consumer group: each member with its subscription, its generation
   * as member epoch and its current assignment as what it holds and its target. A reason when it
   * cannot be (not the consumer protocol type, an unreadable subscription or assignment).
   */
  private upgradedState(group: Group): ConsumerGroupState | string {
    if (group.protocolType !== CONSUMER_PROTOCOL_TYPE)
      return `its protocol type is ${group.protocolType ?? 'none'}, not ${CONSUMER_PROTOCOL_TYPE}`;
    if (group.is('Dead')) return 'it is being unloaded';
    if (group.size >= this.config.maxGroupSize) return 'it is full';
    const max = this.config.consumerMaxOwnedPartitions;
    const state = new ConsumerGroupState();
    state.groupEpoch = group.generationId;
    state.assignmentEpoch = group.generationId;
    for (const m of group.members.values()) {
      const protocol = group.protocolName ?? m.protocols[0]?.name;
      const metadata = m.protocols.find((p) => p.name === protocol)?.metadata;
      const sub = metadata === undefined ? null : decodeSubscription(metadata, max);
      if (sub === null) return `the subscription of member ${m.memberId} cannot be read`;
      const assignment = decodeAssignment(m.assignment, max);
      if (assignment === null) return `the assignment of member ${m.memberId} cannot be read`;
      const assigned = this.partitionsByName(assignment, (t, p) => state.holderOf(t, p) === undefined);
      state.setMember({
        memberId: m.memberId,
        instanceId: m.groupInstanceId,
        rackId: sub.rackId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        serverAssignor: null,
        subscribedTopicRegex: null,
        subscribedTopicNames: normalizeNames(sub.topics),
        classic: {
          sessionTimeoutMs: m.sessionTimeoutMs,
          protocols: m.protocols.map((p) => ({ name: p.name, metadata: p.metadata })),
        },
        memberEpoch: group.generationId,
        previousMemberEpoch: -1,
        state: 'stable',
        assigned,
        pendingRevocation: NO_PARTITIONS,
      });
      if (partitionCount(assigned) > 0) state.targets.set(m.memberId, assigned);
    }
    return state;
  }

  /** Partitions named by topic, as topic ids (unknown topics and partitions left out). */
  private partitionsByName(
    list: ReadonlyArray<{ topic: string; partitions: readonly number[] }>,
    accept: (topicId: string, partition: number) => boolean,
  ): Partitions {
    const byId = new Map<string, number[]>();
    for (const { topic, partitions } of list) {
      const t = this.topics.topic(topic);
      if (t === undefined) continue;
      const ps = byId.get(t.topicId) ?? [];
      for (const p of partitions)
        if (p >= 0 && p < t.numPartitions && !ps.includes(p) && accept(t.topicId, p)) ps.push(p);
      if (ps.length > 0) byId.set(t.topicId, ps);
    }
    return partitionsOf([...byId]);
  }

  /** Partitions by topic name (for a classic member's assignment); unknown topics left out. */
  private namedPartitions(p: Partitions): Array<{ topic: string; partitions: number[] }> {
    const out: Array<{ topic: string; partitions: number[] }> = [];
    for (const { topicId, partitions } of partitionsToList(p)) {
      const t = this.topics.topicById(topicId);
      if (t !== undefined) out.push({ topic: t.name, partitions: [...partitions] });
    }
    return out;
  }

  private sessionTimeoutOf(m: ConsumerMember): number {
    return m.classic?.sessionTimeoutMs ?? this.config.consumerSessionTimeoutMs;
  }

  /** A classic member's join or sync timer (its rebalance timeout); `replace` false keeps a running one. */
  private armClassic(rt: Runtime, m: ConsumerMember, which: 'join' | 'sync', replace = true): void {
    const t = this.timersOf(rt, m.memberId);
    const running = t[which];
    if (running !== undefined) {
      if (!replace) return;
      running.handle.cancel();
    }
    const seq = ++rt.seq;
    const memberId = m.memberId;
    t[which] = {
      seq,
      handle: this.scheduler.setTimer(Math.max(m.rebalanceTimeoutMs, 0), () =>
        this.enqueue(rt, { kind: 'expire', memberId, reason: which, seq }),
      ),
    };
  }

  // ---- timers -------------------------------------------------------------------------------

  private timersOf(rt: Runtime, memberId: string): MemberTimers {
    let t = rt.timers.get(memberId);
    if (t === undefined) {
      t = {};
      rt.timers.set(memberId, t);
    }
    return t;
  }

  private armSession(rt: Runtime, memberId: string, delayMs: number): void {
    const t = this.timersOf(rt, memberId);
    t.session?.handle.cancel();
    const seq = ++rt.seq;
    t.session = {
      seq,
      handle: this.scheduler.setTimer(delayMs, () =>
        this.enqueue(rt, { kind: 'expire', memberId, reason: 'session', seq }),
      ),
    };
  }

  private armRevocation(rt: Runtime, m: ConsumerMember, delayMs: number): void {
    const t = this.timersOf(rt, m.memberId);
    t.revocation?.handle.cancel();
    const seq = ++rt.seq;
    const memberId = m.memberId;
    t.revocation = {
      seq,
      epoch: m.memberEpoch,
      handle: this.scheduler.setTimer(delayMs, () =>
        this.enqueue(rt, { kind: 'expire', memberId, reason: 'revocation', seq }),
      ),
    };
  }

  /** A member that must revoke has its rebalance timeout running (once per epoch); others none. */
  private syncRevocationTimer(rt: Runtime, m: ConsumerMember): void {
    const t = rt.timers.get(m.memberId);
    if (m.state === 'unrevoked' && m.memberEpoch !== STATIC_LEFT_EPOCH) {
      if (t?.revocation?.epoch !== m.memberEpoch)
        this.armRevocation(rt, m, Math.max(m.rebalanceTimeoutMs, 0));
    } else if (t?.revocation !== undefined) {
      t.revocation.handle.cancel();
      delete t.revocation;
    }
  }

  private cancelTimers(rt: Runtime, memberId: string): void {
    const t = rt.timers.get(memberId);
    t?.session?.handle.cancel();
    t?.revocation?.handle.cancel();
    t?.join?.handle.cancel();
    t?.sync?.handle.cancel();
    rt.timers.delete(memberId);
  }

  private dropRuntime(rt: Runtime, error: GroupKafkaError): void {
    rt.dropped = true;
    for (const id of [...rt.timers.keys()]) this.cancelTimers(rt, id);
    for (const op of rt.queue.splice(0)) failOp(op, error);
    if (this.runtimes.get(rt.group.groupId) === rt) this.runtimes.delete(rt.group.groupId);
  }

  // ---- the coordinator's hooks --------------------------------------------------------------

  /** A consumer group rebuilt from the log: every member's session starts now. */
  onLoaded(group: Group): void {
    const state = group.consumer;
    if (state === null) return;
    const rt = this.runtime(group, 'stored');
    for (const m of state.members.values()) {
      this.armSession(rt, m.memberId, this.sessionTimeoutOf(m));
      this.syncRevocationTimer(rt, m);
    }
  }

  /** The group is gone from this coordinator (unloaded, deleted): its requests get `error`. */
  onDropped(group: Group, error: GroupKafkaError): void {
    const rt = this.runtimes.get(group.groupId);
    if (rt !== undefined && rt.group === group) this.dropRuntime(rt, error);
  }

  /** Whether requests of the group are queued or being written. */
  isBusy(group: Group): boolean {
    const rt = this.runtimes.get(group.groupId);
    return rt !== undefined && rt.group === group && (rt.busy || rt.queue.length > 0);
  }

  /**
   * An empty, idle consumer group given back to the classic protocol (a classic member joins it):
   * its offsets stay. The classic group's first stored generation supersedes its records.
   */
  releaseToClassic(group: Group): boolean {
    const state = group.consumer;
    if (state === null || state.size > 0 || this.isBusy(group)) return false;
    this.onDropped(group, 'NOT_COORDINATOR');
    group.consumer = null;
    group.generationId = Math.max(group.generationId, state.groupEpoch);
    return true;
  }

  /** Topic names the group consumes (by name, and those its regexes match now). */
  subscribedTopicNames(group: Group): Set<string> {
    const state = group.consumer;
    const names = new Set<string>();
    if (state === null) return names;
    for (const n of state.subscribedNames.keys()) names.add(n);
    const rt = this.runtime(group, 'stored');
    const version = this.topics.version();
    for (const rx of state.subscribedRegexes.keys())
      for (const n of this.resolveRegex(rt, rx, version)) names.add(n);
    return names;
  }

  /**
   * OffsetCommit / TxnOffsetCommit of a consumer group (Kafka's rules): without a member (epoch
   * < 0) only while the group has no members; a member must exist and give its current epoch
   * (STALE_MEMBER_EPOCH, or ILLEGAL_GENERATION for a transactional commit, whose API has no
   * STALE_MEMBER_EPOCH); a plain commit from a consumer-protocol member needs OffsetCommit v9+.
   */
  validateOffsetCommit(
    group: Group,
    memberId: string,
    memberEpoch: number,
    transactional: boolean,
    apiVersion: number | undefined,
  ): GroupKafkaError | undefined {
    const state = group.consumer;
    if (state === null) return undefined;
    if (memberEpoch < 0 && state.size === 0) return undefined;
    const m = state.members.get(memberId);
    if (m === undefined) return 'UNKNOWN_MEMBER_ID';
    // A classic member commits with its generation (the member epoch), at any version.
    if (m.classic !== null) return memberEpoch === m.memberEpoch ? undefined : 'ILLEGAL_GENERATION';
    if (!transactional && apiVersion !== undefined && apiVersion < 9) return 'UNSUPPORTED_VERSION';
    if (memberEpoch !== m.memberEpoch) return transactional ? 'ILLEGAL_GENERATION' : 'STALE_MEMBER_EPOCH';
    return undefined;
  }

  /** OffsetFetch v9+ of a consumer group: a member that names itself must exist at its epoch. */
  validateOffsetFetch(
    group: Group,
    memberId: string | null,
    memberEpoch: number,
  ): GroupKafkaError | undefined {
    const state = group.consumer;
    if (state === null) return undefined;
    if (memberId === null && memberEpoch < 0) return undefined;
    const m = memberId === null ? undefined : state.members.get(memberId);
    if (m === undefined) return 'UNKNOWN_MEMBER_ID';
    if (memberEpoch !== m.memberEpoch) return 'STALE_MEMBER_EPOCH';
    return undefined;
  }

  // ---- ConsumerGroupDescribe ----------------------------------------------------------------

  describe(groupId: string): DescribedConsumerGroup {
    const base = {
      groupId,
      state: '',
      groupEpoch: -1,
      assignmentEpoch: -1,
      assignorName: '',
      members: [],
    };
    if (groupId.trim() === '') return { ...base, errorCode: 'INVALID_GROUP_ID', errorMessage: null };
    const err = this.host.coordinatorError(groupId);
    if (err !== undefined) return { ...base, errorCode: err, errorMessage: null };
    const group = this.host.group(groupId);
    if (group === undefined)
      return {
        ...base,
        state: 'Dead',
        errorCode: 'GROUP_ID_NOT_FOUND',
        errorMessage: `Group ${groupId} not found.`,
      };
    const s = group.consumer;
    if (s === null)
      return {
        ...base,
        state: 'Dead',
        errorCode: 'GROUP_ID_NOT_FOUND',
        errorMessage: `Group ${groupId} is not a consumer group.`,
      };
    return {
      groupId,
      errorCode: 'NONE',
      errorMessage: null,
      state: s.stateName,
      groupEpoch: s.groupEpoch,
      assignmentEpoch: s.assignmentEpoch,
      assignorName: s.assignor ?? s.preferredAssignor(this.assignors),
      members: [...s.members.values()].map((m): DescribedConsumerMember => ({
        memberId: m.memberId,
        instanceId: m.instanceId,
        rackId: m.rackId,
        memberEpoch: m.memberEpoch,
        clientId: m.clientId,
        clientHost: m.clientHost,
        subscribedTopicNames: [...m.subscribedTopicNames],
        subscribedTopicRegex: m.subscribedTopicRegex,
        assignment: this.describePartitions(m.assigned),
        targetAssignment: this.describePartitions(s.targets.get(m.memberId) ?? NO_PARTITIONS),
      })),
    };
  }

  /** Partitions with their topic names; those of topics that no longer exist are left out. */
  private describePartitions(p: Partitions): DescribedConsumerPartitions[] {
    const out: DescribedConsumerPartitions[] = [];
    for (const { topicId, partitions } of partitionsToList(p)) {
      const t = this.topics.topicById(topicId);
      if (t !== undefined) out.push({ topicId, topicName: t.name, partitions });
    }
    return out;
  }

  /** Violations of the engine's own bookkeeping (tests). */
  invariantViolations(groups: ReadonlyMap<string, Group>): string[] {
    const v: string[] = [];
    for (const [id, rt] of this.runtimes) {
      if (groups.get(id) !== rt.group) v.push(`consumer runtime of ${id} for a group not held`);
      const state = rt.group.consumer;
      if (state === null) continue;
      for (const memberId of rt.timers.keys())
        if (!state.members.has(memberId) && !rt.busy) v.push(`timers of unknown member ${memberId} in ${id}`);
    }
    return v;
  }
}

function normalizeNames(names: readonly string[]): string[] {
  return [...new Set(names)].sort();
}

function normalizeRegex(regex: string | null): string | null {
  return regex === null || regex === '' ? null : regex;
}

/** A classic group without members, none waiting: it may become a consumer group. */
/**
 * Whether one of the joining member's protocols is supported by every other classic member of the
 * group (Kafka's ConsumerGroup.supportsClassicProtocols); `except`: the member itself and the one it
 * replaces.
 */
function sharesClassicProtocol(
  s: ConsumerGroupState,
  protocols: ReadonlyArray<{ name: string }>,
  except: ReadonlyArray<string | undefined>,
): boolean {
  const candidates = new Set(protocols.map((p) => p.name));
  for (const m of s.members.values()) {
    if (m.classic === null || except.includes(m.memberId)) continue;
    const theirs = new Set(m.classic.protocols.map((p) => p.name));
    for (const name of candidates) if (!theirs.has(name)) candidates.delete(name);
    if (candidates.size === 0) return false;
  }
  return candidates.size > 0;
}

function isEmptyClassicGroup(group: Group): boolean {
  return group.is('Empty') && group.size === 0 && group.pendingMembers.size === 0;
}

/** The classic member a SyncGroup / Heartbeat names, or the error (UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID). */
function classicMemberOf(
  s: ConsumerGroupState,
  memberId: string,
  instanceId: string | null,
): ConsumerMember | GroupKafkaError {
  if (instanceId !== null) {
    const holder = s.staticMembers.get(instanceId);
    if (holder === undefined) return 'UNKNOWN_MEMBER_ID';
    if (holder !== memberId) return 'FENCED_INSTANCE_ID';
  }
  const m = s.members.get(memberId);
  // A consumer-protocol member does not use these APIs.
  if (m === undefined || m.classic === null) return 'UNKNOWN_MEMBER_ID';
  return m;
}

/** Whether a partition of the member's target is still held by another member. */
function waitingOnUnreleased(s: ConsumerGroupState, m: ConsumerMember): boolean {
  const target = s.targets.get(m.memberId);
  if (target === undefined) return false;
  for (const { topicId, partitions } of partitionsToList(target))
    for (const p of partitions) {
      const holder = s.holderOf(topicId, p);
      if (holder !== undefined && holder !== m.memberId) return true;
    }
  return false;
}
