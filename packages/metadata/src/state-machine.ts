import { silentLogger } from '@chronik/env';
import type { Logger } from '@chronik/env';
import {
  decodeEntry,
  encodeCommand,
  packCanonical,
  readAclBinding,
  readListeners,
  readQuotaEntity,
  readQuotaKey,
  readQuotaValue,
  readScramCredential,
  unpack,
} from './codec.js';
import { aclBindingProblem, aclFilterMatches, aclKey, freezeAcl } from './acls.js';
import type { AclBinding, AclFilter } from './acls.js';
import type { DecodedEntry, EncodeOptions } from './codec.js';
import {
  alterConfigMap,
  brokerConfigDefinition,
  topicConfigDefinition,
  validateTopicConfig,
} from './configs.js';
import type { ConfigDescription } from './configs.js';
import { isMetadataError, MetadataError, MetadataErrorCode } from './errors.js';
import {
  describeBrokerConfigs,
  describeTopicConfigs,
  effectiveTopicConfigs,
  findCoordinator,
} from './queries.js';
import type { CoordinatorKeyType, CoordinatorLookup, DescribeConfigsOptions } from './queries.js';
import { ChangeFeed } from './internal/feed.js';
import type { FeedEvent, FeedListener } from './internal/feed.js';
import { Reader } from './internal/reader.js';
import { METADATA_LIMITS as L } from './limits.js';
import {
  cancelReassignment,
  checkTarget,
  completeReassignment,
  readReassignment,
  startReassignment,
  targetReplicas,
} from './reassignment.js';
import type { ReassignmentUpdate } from './reassignment.js';
import { checkAddNode, checkRemoveNode, isMember } from './membership.js';
import { isValidTopicId } from './topic-id.js';
import { collisionKey, isInternalTopic, topicNameProblem } from './topic-names.js';
import type {
  AddNodeCommand,
  AllocateProducerIdsCommand,
  AlterBrokerConfigsCommand,
  AlterScramCredentialsCommand,
  AlterClientQuotasCommand,
  BrokerListener,
  ClientQuotaEntityPart,
  ClientQuotaEntry,
  ClientQuotaKey,
  CreateAclsCommand,
  DeleteAclsCommand,
  AlterReassignmentCommand,
  AlterTopicConfigsCommand,
  AssignReplicasCommand,
  BrokerInfo,
  ChangeIsrCommand,
  ChangeLeaderCommand,
  CompleteReassignmentCommand,
  CreatePartitionsCommand,
  CreateTopicCommand,
  DeleteTopicCommand,
  FenceBrokerCommand,
  GroupMembership,
  InitClusterCommand,
  MembershipChange,
  MembershipDoneCommand,
  MembershipOutcome,
  MetadataChange,
  MetadataCommand,
  PartitionInfo,
  ProducerIdBlock,
  RegisterBrokerCommand,
  RemoveNodeCommand,
  DecommissionNodeCommand,
  RecommissionNodeCommand,
  EndRebalanceCommand,
  NodeDrain,
  RebalanceState,
  ReplicaRepair,
  ReplicaRepairCommand,
  ScramCredential,
  ScramMechanismName,
  TopicInfo,
  UnregisterBrokerCommand,
} from './types.js';
import { CLIENT_QUOTA_KEYS, SCRAM_MECHANISMS } from './types.js';
import type { MetadataView } from './view.js';

/**
 * Injected logger (@chronik/env's `Logger`, under the name this package always had); the state
 * machine never writes anywhere else. Defaults to silent.
 */
export type MetadataLogger = Logger;

export interface MetadataStateMachineOptions {
  /** Change events kept for `changesSince`/`subscribe`; a reader further behind must resync. Default 10,000. */
  readonly maxRetainedChanges?: number;
  /** Concurrent subscribers. Default 64. */
  readonly maxSubscribers?: number;
  readonly logger?: MetadataLogger;
}

/**
 * The outcome of applying one log entry. A rejected command changed nothing but the applied index
 * (and the request memory, when it carried a request id).
 *
 * `retryOf` is set when the entry repeated a request id that an earlier entry (at that index)
 * applied: nothing was applied again, and the outcome is that first entry's — the same acceptance
 * or the same error; `changes` are empty except for `allocateProducerIds`, whose block (what its
 * proposer reads) is the first entry's.
 */
export type ApplyResult =
  | {
      readonly ok: true;
      readonly index: number;
      readonly command: MetadataCommand | null;
      readonly changes: readonly MetadataChange[];
      readonly retryOf?: number;
    }
  | {
      readonly ok: false;
      readonly index: number;
      readonly command: MetadataCommand | null;
      readonly error: MetadataError;
      readonly retryOf?: number;
    };

/**
 * Newest version of the snapshot encoding (see README: format versioning). Format 2 adds the
 * request memory; format 3 a sixth element in the rows of partitions under repair; format 4 the
 * brokers' listeners and SCRAM credentials; format 5 the client quotas; format 6 the ACLs; format 7
 * a seventh element in the rows of partitions being reassigned (the sixth is then present, empty
 * when nothing is repaired); format 8 the membership change of the metadata group in progress and
 * the outcome of the last one; format 9 the nodes being decommissioned and the last rebalance asked
 * for. A state is written in the oldest format that holds it (format 1
 * while it remembers no request, repairs and moves nothing), byte for byte as before.
 */
export const SNAPSHOT_FORMAT_VERSION = 9;

/**
 * The snapshot format that added the balancer's work (`drains`, `rebalance`: written while a node
 * is decommissioned or once a rebalance was asked for).
 */
const BALANCER_SNAPSHOT_FORMAT = 9;

/**
 * The snapshot format that added cluster membership (`membershipChange`, `membershipOutcome`,
 * written once a membership change was asked for).
 */
const MEMBERSHIP_SNAPSHOT_FORMAT = 8;

/** The snapshot format that added partition reassignments (a seventh element in partition rows). */
const MOVES_SNAPSHOT_FORMAT = 7;

/**
 * The snapshot format that added ACLs (an `acls` list, written while there is any). Its only use
 * is here and in `decodeSnapshot`: should another change take this number first, renumbering is
 * this constant and SNAPSHOT_FORMAT_VERSION.
 */
const ACLS_SNAPSHOT_FORMAT = 6;

/** The listeners of a broker registered without any (registerBroker v1): PLAINTEXT at host:port. */
function defaultListeners(host: string, port: number): readonly BrokerListener[] {
  return Object.freeze([
    Object.freeze({ name: 'PLAINTEXT', host, port, securityProtocol: 'PLAINTEXT' as const }),
  ]);
}

/** Whether a broker's listeners are what registering without listeners gives (a format-1 row). */
function hasDefaultListeners(b: BrokerInfo): boolean {
  const [l, more] = b.listeners;
  return (
    more === undefined &&
    l !== undefined &&
    l.name === 'PLAINTEXT' &&
    l.securityProtocol === 'PLAINTEXT' &&
    l.host === b.host &&
    l.port === b.port
  );
}

function sameListeners(a: readonly BrokerListener[], b: readonly BrokerListener[]): boolean {
  return (
    a.length === b.length &&
    a.every((x, i) => {
      const y = b[i] as BrokerListener;
      return (
        x.name === y.name &&
        x.host === y.host &&
        x.port === y.port &&
        x.securityProtocol === y.securityProtocol
      );
    })
  );
}

/** Decoded bytes of a base64 field, or null when it is not canonical base64. */
function base64Bytes(text: string): Buffer | null {
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : null;
}

/** Bytes of a SCRAM key (the hash's output) per mechanism. */
const SCRAM_KEY_BYTES: Readonly<Record<ScramMechanismName, number>> = {
  'SCRAM-SHA-256': 32,
  'SCRAM-SHA-512': 64,
};

/** What the state machine remembers of a request it applied (the most recent maxRememberedRequests). */
interface RequestRecord {
  /** The entry that applied it. */
  readonly index: number;
  /** Its rejection (the message clipped to maxStringLength), or null when it was accepted. */
  readonly error: { readonly code: MetadataErrorCode; readonly message: string } | null;
  /** The block an accepted allocateProducerIds handed out, else null. */
  readonly producerIds: ProducerIdBlock | null;
}

/** `text` cut to at most `max` UTF-16 units, never inside a surrogate pair (so it encodes losslessly). */
function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

const EMPTY_CONFIGS: Readonly<Record<string, string>> = Object.freeze({});

function sortedRecord(map: ReadonlyMap<string, string>): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const key of [...map.keys()].sort()) out[key] = map.get(key) as string;
  return Object.freeze(out);
}

function freezePartition(
  p: Omit<PartitionInfo, 'repairs' | 'addingReplicas' | 'removingReplicas'> & {
    repairs?: readonly ReplicaRepair[];
    addingReplicas?: readonly number[];
    removingReplicas?: readonly number[];
  },
): PartitionInfo {
  const ids = (v: readonly number[] | undefined): readonly number[] =>
    v === undefined || v.length === 0 ? NO_IDS : Object.freeze([...v]);
  return Object.freeze({
    ...p,
    replicas: Object.freeze([...p.replicas]),
    isr: Object.freeze([...p.isr]),
    repairs: p.repairs === undefined || p.repairs.length === 0 ? NO_REPAIRS : Object.freeze([...p.repairs]),
    addingReplicas: ids(p.addingReplicas),
    removingReplicas: ids(p.removingReplicas),
  });
}

const NO_REPAIRS: readonly ReplicaRepair[] = Object.freeze([]);
const NO_IDS: readonly number[] = Object.freeze([]);

function freezeTopic(t: TopicInfo): TopicInfo {
  return Object.freeze({ ...t, partitions: Object.freeze([...t.partitions]) });
}

function sameArray(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function fail(code: ConstructorParameters<typeof MetadataError>[0], message: string): never {
  throw new MetadataError(code, message);
}

/** Mutable state. Maps are iterated only after sorting. */
class State {
  clusterId: string | null = null;
  brokers = new Map<number, BrokerInfo>();
  topics = new Map<string, TopicInfo>();
  namesById = new Map<string, string>();
  collisions = new Map<string, string>();
  /** Key: '' for the cluster-wide default, otherwise the broker id in decimal. */
  brokerConfigs = new Map<string, Readonly<Record<string, string>>>();
  nextProducerId = 0;
  totalPartitions = 0;
  /** Request id → outcome, in the order applied (the oldest is forgotten first). */
  requests = new Map<string, RequestRecord>();
  /** The membership change of the metadata group in progress (membership.ts). */
  membershipChange: MembershipChange | null = null;
  membershipOutcome: MembershipOutcome | null = null;
  /** Nodes being decommissioned, by node id (decommissionNode). */
  drains = new Map<number, NodeDrain>();
  /** The last rebalance asked for. */
  rebalance: RebalanceState | null = null;
  /** SCRAM credentials: user → mechanism → credential. */
  scram = new Map<string, Map<ScramMechanismName, ScramCredential>>();
  scramCount = 0;
  /** Client quotas: entity key (quotaEntityKey) → entry. */
  clientQuotas = new Map<string, ClientQuotaEntry>();
  /** ACLs by `aclKey`. */
  acls = new Map<string, AclBinding>();
  /** `acls` sorted by key and frozen; replaced (a new array) whenever the ACLs change. */
  aclList: readonly AclBinding[] = Object.freeze([]);
}

/** The sorted, frozen list of the ACLs (a new array: readers notice a change by its identity). */
function listAcls(acls: ReadonlyMap<string, AclBinding>): readonly AclBinding[] {
  return Object.freeze([...acls.keys()].sort().map((k) => acls.get(k) as AclBinding));
}

/** An entity's parts sorted by type ('client-id' before 'user'). */
function sortedEntity(entity: readonly ClientQuotaEntityPart[]): ClientQuotaEntityPart[] {
  return [...entity].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
}

/** The key of a quota entity: its sorted parts, a default (null) name told from any string. */
export function quotaEntityKey(entity: readonly ClientQuotaEntityPart[]): string {
  return JSON.stringify(sortedEntity(entity).map((p) => [p.type, p.name]));
}

/** Why a quota entity is not one Kafka accepts, or null. */
export function quotaEntityProblem(entity: readonly ClientQuotaEntityPart[]): string | null {
  if (entity.length === 0) return 'The quota entity must name a user, a client id or both, or an ip';
  if (entity.length > 2 || new Set(entity.map((p) => p.type)).size !== entity.length)
    return 'A quota entity names each entity type at most once';
  if (entity.length > 1 && entity.some((p) => p.type === 'ip'))
    return 'An ip quota entity cannot be combined with a user or a client id';
  for (const p of entity) {
    if (p.type !== 'user' && p.type !== 'client-id' && p.type !== 'ip')
      return `Unknown quota entity type ${p.type}`;
    if (p.name !== null && p.name.length > L.maxStringLength) return 'A quota entity name is too long';
  }
  return null;
}

/**
 * Why a quota value is not accepted for `key`, or null (Kafka: byte rates and the connection rate
 * are whole numbers; request_percentage and controller_mutation_rate need not be).
 */
export function quotaValueProblem(key: ClientQuotaKey, value: number): string | null {
  if (!Number.isFinite(value) || value <= 0) return `The value of ${key} must be above 0`;
  if (key !== 'request_percentage' && key !== 'controller_mutation_rate' && !Number.isSafeInteger(value))
    return `The value of ${key} must be a whole number`;
  return null;
}

/** Why `key` does not apply to the entity, or null: an ip takes connection_creation_rate only, and only an ip takes it. */
export function quotaKeyProblem(
  entity: readonly ClientQuotaEntityPart[],
  key: ClientQuotaKey,
): string | null {
  const ip = entity.some((p) => p.type === 'ip');
  if (ip && key !== 'connection_creation_rate') return `${key} cannot be set for an ip entity`;
  if (!ip && key === 'connection_creation_rate')
    return 'connection_creation_rate can only be set for an ip entity';
  return null;
}

function brokerConfigScope(brokerId: number | null): string {
  return brokerId === null ? '' : String(brokerId);
}

/**
 * The replicated metadata state machine. `apply` is deterministic: it reads no clock, no
 * randomness, and iterates maps only in sorted order, so every node applying the same log reaches
 * the same state, and `snapshot()` of equal states is byte-identical.
 */
export class MetadataStateMachine implements MetadataView {
  private state = new State();
  private applied = 0;
  /** The metadata group's configuration (setMembership); null where no Raft group gives one. */
  private groupMembership: GroupMembership | null = null;
  /** Grows with every change of the client quotas here (a restore included); not replicated. */
  private quotaVersion = 0;
  private readonly feed: ChangeFeed;
  private readonly logger: MetadataLogger;

  constructor(options: MetadataStateMachineOptions = {}) {
    this.logger = options.logger ?? silentLogger;
    this.feed = new ChangeFeed(
      options.maxRetainedChanges ?? 10_000,
      options.maxSubscribers ?? 64,
      this.logger,
    );
  }

  /** A state machine restored from a snapshot. */
  static fromSnapshot(bytes: Uint8Array, options: MetadataStateMachineOptions = {}): MetadataStateMachine {
    const sm = new MetadataStateMachine(options);
    sm.restore(bytes);
    return sm;
  }

  get appliedIndex(): number {
    return this.applied;
  }

  // ------------------------------------------------------------------------------------------
  // Apply
  // ------------------------------------------------------------------------------------------

  /**
   * Applies the log entry at `index` (which must be above `appliedIndex`; gaps are allowed for
   * entries that are not metadata commands). Empty data is a no-op entry. Returns the effect or
   * the rejection; a rejected command changes nothing except the applied index (and the request
   * memory). A command with a request id that the memory holds is not applied again: the result is
   * the first outcome (`retryOf`).
   * Throws MetadataError UNSUPPORTED_VERSION — without applying — when the command was written by
   * newer code than this (the node must stop applying rather than diverge), and
   * UNKNOWN_SERVER_ERROR when `index` is not above `appliedIndex`.
   */
  apply(index: number, data: Uint8Array): ApplyResult {
    if (!Number.isSafeInteger(index) || index <= this.applied) {
      throw new MetadataError(
        'UNKNOWN_SERVER_ERROR',
        `Entry ${index} is not above the applied index ${this.applied}`,
      );
    }
    if (data.length === 0) {
      this.applied = index;
      return { ok: true, index, command: null, changes: [] };
    }
    let entry: DecodedEntry;
    try {
      entry = decodeEntry(data);
    } catch (e) {
      if (isMetadataError(e, 'UNSUPPORTED_VERSION')) throw e;
      if (!isMetadataError(e)) throw e;
      this.applied = index;
      return { ok: false, index, command: null, error: e };
    }
    const { command, requestId } = entry;
    if (requestId !== null) {
      const first = this.state.requests.get(requestId);
      if (first !== undefined) {
        this.applied = index;
        this.logger.debug('metadata request retried: answered with its first outcome', {
          index,
          requestId,
          firstIndex: first.index,
          type: command.type,
        });
        return retryResult(index, command, first);
      }
    }
    const changes: MetadataChange[] = [];
    try {
      this.execute(index, command, changes);
    } catch (e) {
      if (!isMetadataError(e)) throw e;
      // Handlers validate before mutating, so nothing changed.
      this.applied = index;
      this.remember(requestId, index, e, changes);
      return { ok: false, index, command, error: e };
    }
    this.applied = index;
    this.remember(requestId, index, null, changes);
    this.feed.publish(index, changes);
    return { ok: true, index, command, changes };
  }

  /** Records the outcome of a request, forgetting the oldest beyond maxRememberedRequests. */
  private remember(
    requestId: string | null,
    index: number,
    error: MetadataError | null,
    changes: readonly MetadataChange[],
  ): void {
    if (requestId === null) return;
    let producerIds: ProducerIdBlock | null = null;
    for (const c of changes) if (c.type === 'producerIdsAllocated') producerIds = c.block;
    const requests = this.state.requests;
    requests.set(requestId, {
      index,
      error: error === null ? null : { code: error.code, message: clip(error.message, L.maxStringLength) },
      producerIds: error === null ? producerIds : null,
    });
    if (requests.size > L.maxRememberedRequests) requests.delete(requests.keys().next().value as string);
  }

  /**
   * Encodes and applies a command (the same path as a replicated entry), with a request id when
   * `options.requestId` is given.
   */
  applyCommand(index: number, command: MetadataCommand, options: EncodeOptions = {}): ApplyResult {
    let bytes: Uint8Array;
    try {
      bytes = encodeCommand(command, options);
    } catch (e) {
      if (!isMetadataError(e)) throw e;
      // Not encodable (e.g. a string over a limit): rejected like a malformed entry.
      this.apply(index, new Uint8Array(0));
      return { ok: false, index, command, error: e };
    }
    return this.apply(index, bytes);
  }

  private execute(index: number, c: MetadataCommand, out: MetadataChange[]): void {
    switch (c.type) {
      case 'initCluster':
        return this.initCluster(index, c, out);
      case 'registerBroker':
        return this.registerBroker(index, c, out);
      case 'unregisterBroker':
        return this.unregisterBroker(index, c, out);
      case 'fenceBroker':
        return this.fenceBroker(index, c, out);
      case 'createTopic':
        return this.createTopic(index, c, out);
      case 'deleteTopic':
        return this.deleteTopic(index, c, out);
      case 'createPartitions':
        return this.createPartitions(index, c, out);
      case 'assignReplicas':
        return this.assignReplicas(index, c, out);
      case 'changeLeader':
        return this.changeLeader(index, c, out);
      case 'changeIsr':
        return this.changeIsr(index, c, out);
      case 'alterTopicConfigs':
        return this.alterTopicConfigs(index, c, out);
      case 'alterBrokerConfigs':
        return this.alterBrokerConfigs(index, c, out);
      case 'allocateProducerIds':
        return this.allocateProducerIds(index, c, out);
      case 'replicaRepair':
        return this.replicaRepair(index, c, out);
      case 'alterScramCredentials':
        return this.alterScramCredentials(c);
      case 'alterClientQuotas':
        return this.alterClientQuotas(c);
      case 'createAcls':
        return this.createAcls(index, c, out);
      case 'deleteAcls':
        return this.deleteAcls(index, c, out);
      case 'alterReassignment':
        return this.alterReassignment(index, c, out);
      case 'completeReassignment':
        return this.completeReassignment(index, c, out);
      case 'addNode':
        return this.addNode(index, c, out);
      case 'removeNode':
        return this.removeNode(index, c, out);
      case 'membershipDone':
        return this.membershipDone(index, c, out);
      case 'decommissionNode':
        return this.decommissionNode(index, c);
      case 'recommissionNode':
        return this.recommissionNode(c);
      case 'startRebalance':
        return this.startRebalance(index);
      case 'endRebalance':
        return this.endRebalance(index, c);
    }
  }

  /** Validates every binding first (a rejected command adds none); existing bindings stay as they are. */
  private createAcls(index: number, c: CreateAclsCommand, out: MetadataChange[]): void {
    const s = this.state;
    const added = new Map<string, AclBinding>();
    for (const b of c.acls) {
      const problem = aclBindingProblem(b);
      if (problem !== null) fail('INVALID_REQUEST', problem);
      const key = aclKey(b);
      if (!s.acls.has(key)) added.set(key, freezeAcl(b));
    }
    if (s.acls.size + added.size > L.maxAcls)
      fail('POLICY_VIOLATION', `The cluster already has the maximum of ${L.maxAcls} ACLs`);
    if (added.size === 0) return;
    for (const [key, b] of added) s.acls.set(key, b);
    s.aclList = listAcls(s.acls);
    out.push({ type: 'aclsChanged', index, created: Object.freeze([...added.values()]), deleted: [] });
  }

  /** Removes what any filter matches; each filter's matches are reported, a binding under several in each. */
  private deleteAcls(index: number, c: DeleteAclsCommand, out: MetadataChange[]): void {
    const s = this.state;
    const deleted = c.filters.map((f: AclFilter) =>
      Object.freeze(s.aclList.filter((b) => aclFilterMatches(f, b))),
    );
    let removed = 0;
    for (const list of deleted) for (const b of list) if (s.acls.delete(aclKey(b))) removed++;
    if (removed === 0) return;
    s.aclList = listAcls(s.acls);
    out.push({ type: 'aclsChanged', index, created: [], deleted: Object.freeze(deleted) });
  }

  /**
   * Validates every change first (so a rejected command changes nothing), then applies them. The
   * change feed carries nothing: credentials are read where a client authenticates.
   */
  private alterScramCredentials(c: AlterScramCredentialsCommand): void {
    const s = this.state;
    // A credential (user and mechanism) is changed at most once per command. (Kafka's API also
    // refuses a user named twice in one request; the server checks that before proposing, and its
    // bootstrap user gets both mechanisms in one command.)
    const changed = new Set<string>();
    const checkUser = (user: string, mechanism: string): void => {
      if (user.length === 0) fail('UNACCEPTABLE_CREDENTIAL', 'Username must not be empty');
      if (!(SCRAM_MECHANISMS as readonly string[]).includes(mechanism))
        fail('UNSUPPORTED_SASL_MECHANISM', 'Unknown SCRAM mechanism');
      const key = `${mechanism}\0${user}`;
      if (changed.has(key))
        fail('DUPLICATE_RESOURCE', 'A user credential cannot be altered twice in the same request');
      changed.add(key);
    };
    let count = s.scramCount;
    for (const d of c.deletions) {
      checkUser(d.user, d.mechanism);
      if (s.scram.get(d.user)?.get(d.mechanism) === undefined)
        fail('RESOURCE_NOT_FOUND', 'Attempt to delete a user credential that does not exist');
      count--;
    }
    for (const u of c.upsertions) {
      checkUser(u.user, u.mechanism);
      if (u.iterations < L.minScramIterations) fail('UNACCEPTABLE_CREDENTIAL', 'Too few iterations');
      if (u.iterations > L.maxScramIterations) fail('UNACCEPTABLE_CREDENTIAL', 'Too many iterations');
      const salt = base64Bytes(u.salt);
      if (salt === null || salt.length === 0 || salt.length > L.maxScramSaltBytes)
        fail('UNACCEPTABLE_CREDENTIAL', `The salt must be 1 to ${L.maxScramSaltBytes} bytes`);
      const keyBytes = SCRAM_KEY_BYTES[u.mechanism];
      for (const key of [u.storedKey, u.serverKey]) {
        if (base64Bytes(key)?.length !== keyBytes)
          fail('UNACCEPTABLE_CREDENTIAL', `A ${u.mechanism} key has ${keyBytes} bytes`);
      }
      if (s.scram.get(u.user)?.get(u.mechanism) === undefined) count++;
    }
    if (count > L.maxScramCredentials)
      fail(
        'POLICY_VIOLATION',
        `The cluster already has the maximum of ${L.maxScramCredentials} SCRAM credentials`,
      );
    for (const d of c.deletions) {
      const byMechanism = s.scram.get(d.user) as Map<ScramMechanismName, ScramCredential>;
      byMechanism.delete(d.mechanism);
      if (byMechanism.size === 0) s.scram.delete(d.user);
    }
    for (const u of c.upsertions) {
      let byMechanism = s.scram.get(u.user);
      if (byMechanism === undefined) {
        byMechanism = new Map();
        s.scram.set(u.user, byMechanism);
      }
      byMechanism.set(u.mechanism, Object.freeze({ ...u }));
    }
    s.scramCount = count;
  }

  /**
   * Validates every entry first (so a rejected command changes nothing), then applies them; an
   * entity left without values is removed. The change feed carries nothing: brokers read quotas
   * through `clientQuotas` and notice changes by `clientQuotaVersion`.
   */
  private alterClientQuotas(c: AlterClientQuotasCommand): void {
    const s = this.state;
    const seen = new Set<string>();
    let count = s.clientQuotas.size;
    for (const e of c.entries) {
      const problem = quotaEntityProblem(e.entity);
      if (problem !== null) fail('INVALID_REQUEST', problem);
      const key = quotaEntityKey(e.entity);
      if (seen.has(key)) fail('INVALID_REQUEST', 'A quota entity appears twice in the same request');
      seen.add(key);
      const keys = new Set<string>();
      for (const o of e.ops) {
        if (!(CLIENT_QUOTA_KEYS as readonly string[]).includes(o.key))
          fail('INVALID_REQUEST', `Unknown client quota key ${o.key}`);
        if (keys.has(o.key)) fail('INVALID_REQUEST', `The key ${o.key} appears twice for one entity`);
        keys.add(o.key);
        const misplaced = quotaKeyProblem(e.entity, o.key);
        if (misplaced !== null) fail('INVALID_REQUEST', misplaced);
        if (o.value !== null) {
          const bad = quotaValueProblem(o.key, o.value);
          if (bad !== null) fail('INVALID_REQUEST', bad);
        }
      }
      if (!s.clientQuotas.has(key) && e.ops.some((o) => o.value !== null)) count++;
    }
    if (count > L.maxClientQuotaEntities)
      fail(
        'POLICY_VIOLATION',
        `The cluster already has the maximum of ${L.maxClientQuotaEntities} quota entities`,
      );
    for (const e of c.entries) {
      const key = quotaEntityKey(e.entity);
      const values: Partial<Record<ClientQuotaKey, number>> = { ...s.clientQuotas.get(key)?.values };
      for (const o of e.ops) {
        if (o.value === null) delete values[o.key];
        else values[o.key] = o.value;
      }
      if (Object.keys(values).length === 0) s.clientQuotas.delete(key);
      else
        s.clientQuotas.set(
          key,
          Object.freeze({
            entity: Object.freeze(sortedEntity(e.entity).map((p) => Object.freeze({ ...p }))),
            values: Object.freeze(values),
          }),
        );
    }
    if (c.entries.length > 0) this.quotaVersion++;
  }

  private initCluster(index: number, c: InitClusterCommand, out: MetadataChange[]): void {
    if (c.clusterId.length === 0) fail('INVALID_REQUEST', 'The cluster id must not be empty');
    const s = this.state;
    if (s.clusterId === c.clusterId) return;
    if (s.clusterId !== null)
      fail('INCONSISTENT_CLUSTER_ID', `The cluster id is ${s.clusterId}, not ${c.clusterId}`);
    s.clusterId = c.clusterId;
    out.push({ type: 'clusterInitialized', index, clusterId: c.clusterId });
  }

  private registerBroker(index: number, c: RegisterBrokerCommand, out: MetadataChange[]): void {
    const s = this.state;
    if (c.host.length === 0) fail('INVALID_REQUEST', 'The broker host must not be empty');
    if (c.port < 1 || c.port > 65535) fail('INVALID_REQUEST', `Invalid broker port ${c.port}`);
    if (c.raftAddress.length === 0) fail('INVALID_REQUEST', 'The broker Raft address must not be empty');
    if (c.incarnation.length === 0) fail('INVALID_REQUEST', 'The broker incarnation must not be empty');
    if (c.rack !== null && c.rack.length === 0) fail('INVALID_REQUEST', 'The rack must be null or non-empty');
    const listeners = c.listeners === undefined ? defaultListeners(c.host, c.port) : c.listeners;
    if (listeners.length === 0) fail('INVALID_REQUEST', 'A broker needs at least one listener');
    const names = new Set<string>();
    for (const l of listeners) {
      if (l.name.length === 0 || names.has(l.name))
        fail('INVALID_REQUEST', `Listener names must be non-empty and distinct: ${JSON.stringify(l.name)}`);
      names.add(l.name);
      if (l.host.length === 0 || l.port < 1 || l.port > 65535)
        fail('INVALID_REQUEST', `Invalid endpoint ${l.host}:${l.port} of listener ${l.name}`);
    }
    const existing = s.brokers.get(c.brokerId);
    for (const other of [...s.brokers.values()].sort((a, b) => a.brokerId - b.brokerId)) {
      if (other.brokerId !== c.brokerId && other.host === c.host && other.port === c.port) {
        fail(
          'DUPLICATE_BROKER_REGISTRATION',
          `Broker ${other.brokerId} is already registered at ${c.host}:${c.port}`,
        );
      }
    }
    // Only a member of the metadata group is a node of this cluster (membership.ts).
    const m = this.groupMembership;
    if (existing === undefined && m !== null && !isMember(m, c.brokerId))
      fail(
        'INVALID_REGISTRATION',
        `Node ${c.brokerId} is not a member of this cluster: a new node joins first (--join, or cluster add-node)`,
      );
    if (existing === undefined && s.brokers.size >= L.maxBrokers) {
      fail('POLICY_VIOLATION', `The cluster already has the maximum of ${L.maxBrokers} brokers`);
    }
    if (existing !== undefined && existing.incarnation === c.incarnation) {
      const same =
        existing.host === c.host &&
        existing.port === c.port &&
        existing.rack === c.rack &&
        existing.raftAddress === c.raftAddress &&
        sameListeners(existing.listeners, listeners);
      if (same) return;
      fail(
        'DUPLICATE_BROKER_REGISTRATION',
        `Broker ${c.brokerId} incarnation ${c.incarnation} is already registered with other endpoints`,
      );
    }
    const broker: BrokerInfo = Object.freeze({
      brokerId: c.brokerId,
      host: c.host,
      port: c.port,
      rack: c.rack,
      raftAddress: c.raftAddress,
      incarnation: c.incarnation,
      brokerEpoch: index,
      fenced: false,
      listeners:
        c.listeners === undefined ? listeners : Object.freeze(listeners.map((l) => Object.freeze({ ...l }))),
    });
    s.brokers.set(c.brokerId, broker);
    out.push({ type: 'brokerRegistered', index, broker });
  }

  private unregisterBroker(index: number, c: UnregisterBrokerCommand, out: MetadataChange[]): void {
    if (!this.state.brokers.has(c.brokerId))
      fail('BROKER_ID_NOT_REGISTERED', `Broker ${c.brokerId} is not registered`);
    this.state.brokers.delete(c.brokerId);
    this.state.drains.delete(c.brokerId);
    out.push({ type: 'brokerUnregistered', index, brokerId: c.brokerId });
    // Clients cannot reach a leader that is gone: clear it (epoch kept) until its group reports again.
    for (const topic of this.topics()) {
      let updated = topic;
      for (const current of topic.partitions) {
        if (current.leader !== c.brokerId) continue;
        const next = freezePartition({ ...current, leader: -1, partitionEpoch: current.partitionEpoch + 1 });
        updated = this.replacePartition(updated, next);
        out.push({
          type: 'partitionChanged',
          index,
          name: topic.name,
          topicId: topic.topicId,
          reason: 'leader',
          previous: current,
          partition: next,
        });
      }
    }
  }

  private fenceBroker(index: number, c: FenceBrokerCommand, out: MetadataChange[]): void {
    const existing = this.state.brokers.get(c.brokerId);
    if (existing === undefined) fail('BROKER_ID_NOT_REGISTERED', `Broker ${c.brokerId} is not registered`);
    if (c.brokerEpoch !== -1 && c.brokerEpoch !== existing.brokerEpoch) {
      fail(
        'STALE_BROKER_EPOCH',
        `Broker ${c.brokerId} has epoch ${existing.brokerEpoch}, not ${c.brokerEpoch}`,
      );
    }
    if (existing.fenced === c.fenced) return;
    const broker = Object.freeze({ ...existing, fenced: c.fenced });
    this.state.brokers.set(c.brokerId, broker);
    out.push({ type: 'brokerFenced', index, broker });
  }

  /** Checks replica lists against the registered brokers; throws INVALID_REPLICA_ASSIGNMENT. */
  private checkReplicaLists(
    lists: readonly (readonly number[])[],
    replicationFactor: number | null,
    firstPartition: number,
  ): void {
    const rf = replicationFactor ?? lists[0]?.length ?? 0;
    lists.forEach((replicas, i) => {
      const p = firstPartition + i;
      if (replicas.length === 0)
        fail('INVALID_REPLICA_ASSIGNMENT', `Partition ${p} has an empty replica list`);
      if (replicas.length !== rf) {
        fail(
          'INVALID_REPLICA_ASSIGNMENT',
          `Partition ${p} has ${replicas.length} replicas; all partitions must have the same number of replicas (${rf})`,
        );
      }
      if (new Set(replicas).size !== replicas.length) {
        fail(
          'INVALID_REPLICA_ASSIGNMENT',
          `Duplicate brokers not allowed in the replica assignment of partition ${p}: ${replicas.join(', ')}`,
        );
      }
      for (const b of replicas) {
        if (!this.state.brokers.has(b))
          fail(
            'INVALID_REPLICA_ASSIGNMENT',
            `The replica assignment of partition ${p} contains broker ${b}, which is not registered`,
          );
      }
    });
  }

  private createTopic(index: number, c: CreateTopicCommand, out: MetadataChange[]): void {
    const s = this.state;
    const problem = topicNameProblem(c.name);
    if (problem !== null) fail('INVALID_TOPIC_EXCEPTION', problem);
    if (isInternalTopic(c.name) !== c.internal) {
      fail(
        'INVALID_REQUEST',
        c.internal
          ? `${c.name} is not an internal topic`
          : `Topic name ${c.name} is reserved for internal use`,
      );
    }
    if (!isValidTopicId(c.topicId)) fail('INVALID_REQUEST', `Invalid topic id ${c.topicId}`);
    if (s.topics.has(c.name)) fail('TOPIC_ALREADY_EXISTS', `Topic '${c.name}' already exists.`);
    const collides = s.collisions.get(collisionKey(c.name));
    if (collides !== undefined)
      fail('INVALID_TOPIC_EXCEPTION', `Topic '${c.name}' collides with existing topic: ${collides}`);
    if (s.namesById.has(c.topicId)) fail('INVALID_REQUEST', `Topic id ${c.topicId} is already in use`);
    if (c.assignments.length === 0)
      fail('INVALID_PARTITIONS', 'Number of partitions was set to an invalid non-positive value.');
    if (c.assignments.length > L.maxPartitionsPerTopic) {
      fail(
        'INVALID_PARTITIONS',
        `Number of partitions ${c.assignments.length} exceeds the limit of ${L.maxPartitionsPerTopic}`,
      );
    }
    if (s.totalPartitions + c.assignments.length > L.maxTotalPartitions) {
      fail(
        'POLICY_VIOLATION',
        `Creating ${c.assignments.length} partitions would exceed the cluster's limit of ${L.maxTotalPartitions} partitions`,
      );
    }
    this.checkReplicaLists(c.assignments, null, 0);
    const configs = new Map<string, string>();
    for (const entry of c.configs) {
      if (configs.has(entry.name)) fail('INVALID_REQUEST', `Duplicate config key ${entry.name}`);
      configs.set(entry.name, validateTopicConfig(entry.name, entry.value));
    }
    const partitions = c.assignments.map((replicas, partition) =>
      freezePartition({
        partition,
        replicas,
        leader: -1,
        leaderEpoch: -1,
        isr: [...replicas].sort((a, b) => a - b),
        partitionEpoch: 0,
      }),
    );
    const topic = freezeTopic({
      name: c.name,
      topicId: c.topicId,
      internal: c.internal,
      partitions,
      configs: sortedRecord(configs),
    });
    s.topics.set(c.name, topic);
    s.namesById.set(c.topicId, c.name);
    s.collisions.set(collisionKey(c.name), c.name);
    s.totalPartitions += partitions.length;
    out.push({ type: 'topicCreated', index, topic });
  }

  /** The topic named `name` whose id is `topicId`; throws UNKNOWN_TOPIC_OR_PARTITION / UNKNOWN_TOPIC_ID. */
  private namedTopic(name: string, topicId: string): TopicInfo {
    const topic = this.state.topics.get(name);
    if (topic === undefined)
      fail('UNKNOWN_TOPIC_OR_PARTITION', `This server does not host this topic: ${name}`);
    if (topic.topicId !== topicId)
      fail('UNKNOWN_TOPIC_ID', `Topic ${name} has id ${topic.topicId}, not ${topicId}`);
    return topic;
  }

  private partitionOf(topicId: string, partition: number): { topic: TopicInfo; current: PartitionInfo } {
    const name = this.state.namesById.get(topicId);
    if (name === undefined) fail('UNKNOWN_TOPIC_ID', `Unknown topic id ${topicId}`);
    const topic = this.state.topics.get(name) as TopicInfo;
    const current = topic.partitions[partition];
    if (current === undefined)
      fail('UNKNOWN_TOPIC_OR_PARTITION', `Topic ${name} has no partition ${partition}`);
    return { topic, current };
  }

  private replacePartition(topic: TopicInfo, next: PartitionInfo): TopicInfo {
    const partitions = [...topic.partitions];
    partitions[next.partition] = next;
    const updated = freezeTopic({ ...topic, partitions });
    this.state.topics.set(topic.name, updated);
    return updated;
  }

  private deleteTopic(index: number, c: DeleteTopicCommand, out: MetadataChange[]): void {
    const topic = this.namedTopic(c.name, c.topicId);
    const s = this.state;
    s.topics.delete(c.name);
    s.namesById.delete(c.topicId);
    s.collisions.delete(collisionKey(c.name));
    s.totalPartitions -= topic.partitions.length;
    out.push({ type: 'topicDeleted', index, name: c.name, topicId: c.topicId, partitions: topic.partitions });
  }

  private createPartitions(index: number, c: CreatePartitionsCommand, out: MetadataChange[]): void {
    const topic = this.namedTopic(c.name, c.topicId);
    const current = topic.partitions.length;
    if (c.expectedCurrentCount !== current) {
      fail(
        'INVALID_PARTITIONS',
        `Topic ${c.name} has ${current} partitions, not the ${c.expectedCurrentCount} the request was prepared for`,
      );
    }
    if (c.assignments.length === 0) fail('INVALID_PARTITIONS', `Topic already has ${current} partitions.`);
    if (current + c.assignments.length > L.maxPartitionsPerTopic) {
      fail(
        'INVALID_PARTITIONS',
        `Number of partitions ${current + c.assignments.length} exceeds the limit of ${L.maxPartitionsPerTopic}`,
      );
    }
    if (this.state.totalPartitions + c.assignments.length > L.maxTotalPartitions) {
      fail(
        'POLICY_VIOLATION',
        `Creating ${c.assignments.length} partitions would exceed the cluster's limit of ${L.maxTotalPartitions} partitions`,
      );
    }
    const first = topic.partitions[0];
    this.checkReplicaLists(c.assignments, first === undefined ? null : targetReplicas(first).length, current);
    const added = c.assignments.map((replicas, i) =>
      freezePartition({
        partition: current + i,
        replicas,
        leader: -1,
        leaderEpoch: -1,
        isr: [...replicas].sort((a, b) => a - b),
        partitionEpoch: 0,
      }),
    );
    this.state.topics.set(c.name, freezeTopic({ ...topic, partitions: [...topic.partitions, ...added] }));
    this.state.totalPartitions += added.length;
    out.push({ type: 'partitionsCreated', index, name: c.name, topicId: c.topicId, partitions: added });
  }

  private assignReplicas(index: number, c: AssignReplicasCommand, out: MetadataChange[]): void {
    const { topic, current } = this.partitionOf(c.topicId, c.partition);
    this.checkReplicaLists([c.replicas], c.replicas.length, c.partition);
    if (sameArray(current.replicas, c.replicas)) return;
    const members = new Set(c.replicas);
    const next = freezePartition({
      partition: c.partition,
      replicas: c.replicas,
      leader: members.has(current.leader) ? current.leader : -1,
      leaderEpoch: current.leaderEpoch,
      isr: current.isr.filter((b) => members.has(b)),
      partitionEpoch: current.partitionEpoch + 1,
      repairs: current.repairs.filter((r) => members.has(r.brokerId)),
      addingReplicas: [],
      removingReplicas: [],
    });
    this.replacePartition(topic, next);
    out.push({
      type: 'partitionChanged',
      index,
      name: topic.name,
      topicId: topic.topicId,
      reason: 'replicas',
      previous: current,
      partition: next,
    });
  }

  /** Validates a reported ISR (subset of the replicas, no duplicates, holds the leader); returns it sorted. */
  private checkIsr(current: PartitionInfo, leader: number, isr: readonly number[]): number[] {
    if (new Set(isr).size !== isr.length)
      fail('INVALID_REQUEST', `Duplicate brokers in the ISR ${isr.join(', ')}`);
    for (const b of isr) {
      if (!current.replicas.includes(b))
        fail('INELIGIBLE_REPLICA', `Broker ${b} is not a replica of partition ${current.partition}`);
    }
    if (leader !== -1 && !isr.includes(leader))
      fail('INVALID_REQUEST', `The leader ${leader} must be in the ISR`);
    return [...isr].sort((a, b) => a - b);
  }

  private changeLeader(index: number, c: ChangeLeaderCommand, out: MetadataChange[]): void {
    const { topic, current } = this.partitionOf(c.topicId, c.partition);
    if (c.leaderEpoch < current.leaderEpoch) {
      fail(
        'FENCED_LEADER_EPOCH',
        `Leader epoch ${c.leaderEpoch} is older than the current ${current.leaderEpoch}`,
      );
    }
    if (c.leader !== -1 && !current.replicas.includes(c.leader)) {
      fail('INELIGIBLE_REPLICA', `Broker ${c.leader} is not a replica of ${topic.name}-${c.partition}`);
    }
    // One leader per term: within the current epoch only the same leader may report (or any, once
    // the leader was cleared because its broker left).
    if (c.leaderEpoch === current.leaderEpoch && c.leader !== current.leader && current.leader !== -1) {
      fail('FENCED_LEADER_EPOCH', `Epoch ${c.leaderEpoch} already has leader ${current.leader}`);
    }
    const isr = this.checkIsr(current, c.leader, c.isr);
    if (c.leaderEpoch === current.leaderEpoch && sameArray(isr, current.isr)) return;
    const next = freezePartition({
      ...current,
      leader: c.leader,
      leaderEpoch: c.leaderEpoch,
      isr,
      partitionEpoch: current.partitionEpoch + 1,
    });
    this.replacePartition(topic, next);
    const reason = c.leaderEpoch === current.leaderEpoch && c.leader === current.leader ? 'isr' : 'leader';
    out.push({
      type: 'partitionChanged',
      index,
      name: topic.name,
      topicId: topic.topicId,
      reason,
      previous: current,
      partition: next,
    });
  }

  private changeIsr(index: number, c: ChangeIsrCommand, out: MetadataChange[]): void {
    const { topic, current } = this.partitionOf(c.topicId, c.partition);
    if (c.leaderEpoch < current.leaderEpoch) {
      fail(
        'FENCED_LEADER_EPOCH',
        `Leader epoch ${c.leaderEpoch} is older than the current ${current.leaderEpoch}`,
      );
    }
    if (c.leaderEpoch > current.leaderEpoch) {
      fail(
        'UNKNOWN_LEADER_EPOCH',
        `Leader epoch ${c.leaderEpoch} is newer than the current ${current.leaderEpoch}`,
      );
    }
    const isr = this.checkIsr(current, current.leader, c.isr);
    if (sameArray(isr, current.isr)) return;
    const next = freezePartition({ ...current, isr, partitionEpoch: current.partitionEpoch + 1 });
    this.replacePartition(topic, next);
    out.push({
      type: 'partitionChanged',
      index,
      name: topic.name,
      topicId: topic.topicId,
      reason: 'isr',
      previous: current,
      partition: next,
    });
  }

  /** A replica's repair moves on (see ReplicaRepairCommand); a repeat of the current phase changes nothing. */
  private replicaRepair(index: number, c: ReplicaRepairCommand, out: MetadataChange[]): void {
    const { topic, current } = this.partitionOf(c.topicId, c.partition);
    if (!current.replicas.includes(c.brokerId))
      fail('INELIGIBLE_REPLICA', `Broker ${c.brokerId} is not a replica of ${topic.name}-${c.partition}`);
    const now = current.repairs.find((r) => r.brokerId === c.brokerId);
    const others = current.repairs.filter((r) => r.brokerId !== c.brokerId);
    let mine: ReplicaRepair | null;
    if (c.phase === 'requested') {
      if (c.requestIndex !== -1) fail('INVALID_REQUEST', 'A repair request carries request index -1');
      if (now?.phase === 'requested') return;
      mine = { brokerId: c.brokerId, phase: 'requested', requestIndex: index };
    } else {
      if (now === undefined || now.requestIndex !== c.requestIndex)
        fail(
          'INVALID_REQUEST',
          `Repair request ${c.requestIndex} of broker ${c.brokerId} for ${topic.name}-${c.partition} is not the current one (${now?.requestIndex ?? 'none'})`,
        );
      if (c.phase === 'rebuilding') {
        if (now.phase === 'rebuilding') return;
        mine = { ...now, phase: 'rebuilding' };
      } else {
        if (now.phase !== 'rebuilding')
          fail('INVALID_REQUEST', `Repair ${c.requestIndex} of broker ${c.brokerId} is not rebuilding yet`);
        mine = null;
      }
    }
    const repairs = mine === null ? others : [...others, mine].sort((a, b) => a.brokerId - b.brokerId);
    const next = freezePartition({ ...current, repairs, partitionEpoch: current.partitionEpoch + 1 });
    this.replacePartition(topic, next);
    out.push({
      type: 'partitionChanged',
      index,
      name: topic.name,
      topicId: topic.topicId,
      reason: 'repair',
      previous: current,
      partition: next,
    });
  }

  /** Starts (a target) or cancels (null) a partition's reassignment (reassignment.ts). */
  private alterReassignment(index: number, c: AlterReassignmentCommand, out: MetadataChange[]): void {
    const { topic, current } = this.partitionOf(c.topicId, c.partition);
    let update: ReassignmentUpdate | null;
    if (c.replicas === null) update = cancelReassignment(current, topic.name);
    else {
      checkTarget(c.replicas, (b) => this.state.brokers.has(b));
      // A node being decommissioned takes no new replica (it may keep the ones it holds).
      const draining = c.replicas.find((b) => this.state.drains.has(b) && !current.replicas.includes(b));
      if (draining !== undefined)
        fail(
          'INVALID_REPLICA_ASSIGNMENT',
          `Broker ${draining} is being decommissioned: it takes no new replicas.`,
        );
      update = startReassignment(current, c.replicas, topic.name);
    }
    if (update !== null) this.updateReplicas(index, topic, current, update, out);
  }

  /** The partition's group has exactly the target voters: the reassignment ends (reassignment.ts). */
  private completeReassignment(index: number, c: CompleteReassignmentCommand, out: MetadataChange[]): void {
    const { topic, current } = this.partitionOf(c.topicId, c.partition);
    this.updateReplicas(index, topic, current, completeReassignment(current, c.replicas, topic.name), out);
  }

  private updateReplicas(
    index: number,
    topic: TopicInfo,
    current: PartitionInfo,
    u: ReassignmentUpdate,
    out: MetadataChange[],
  ): void {
    const next = freezePartition({
      ...current,
      ...u,
      repairs: current.repairs.filter((r) => u.replicas.includes(r.brokerId)),
      partitionEpoch: current.partitionEpoch + 1,
    });
    this.replacePartition(topic, next);
    out.push({
      type: 'partitionChanged',
      index,
      name: topic.name,
      topicId: topic.topicId,
      reason: 'replicas',
      previous: current,
      partition: next,
    });
  }

  private membershipView() {
    return {
      clusterId: this.state.clusterId,
      membership: this.groupMembership,
      change: this.state.membershipChange,
      brokers: this.brokers(),
      topics: this.topics(),
    };
  }

  private addNode(index: number, c: AddNodeCommand, out: MetadataChange[]): void {
    const change = checkAddNode(this.membershipView(), c, index);
    if (change === null) return;
    this.state.membershipChange = Object.freeze(change);
    out.push({ type: 'membershipChanged', index, change: this.state.membershipChange, outcome: null });
  }

  private removeNode(index: number, c: RemoveNodeCommand, out: MetadataChange[]): void {
    const change = checkRemoveNode(this.membershipView(), c, index);
    if (change === null) return;
    this.state.membershipChange = Object.freeze(change);
    out.push({ type: 'membershipChanged', index, change: this.state.membershipChange, outcome: null });
  }

  /** Ends the change in progress; a removal that was done also unregisters the node's broker. */
  private membershipDone(index: number, c: MembershipDoneCommand, out: MetadataChange[]): void {
    const now = this.state.membershipChange;
    if (now === null || now.nodeId !== c.nodeId || now.requestIndex !== c.requestIndex)
      fail(
        'INVALID_REQUEST',
        `The membership change ${c.requestIndex} of node ${c.nodeId} is not the one in progress (${now === null ? 'none' : `${now.requestIndex} of node ${now.nodeId}`})`,
      );
    this.state.membershipChange = null;
    this.state.membershipOutcome = Object.freeze({
      nodeId: now.nodeId,
      kind: now.kind,
      requestIndex: now.requestIndex,
      refused: c.refused,
      index,
    });
    out.push({ type: 'membershipChanged', index, change: null, outcome: this.state.membershipOutcome });
    if (now.kind === 'remove' && c.refused === null) {
      this.state.drains.delete(now.nodeId);
      if (this.state.brokers.has(now.nodeId))
        this.unregisterBroker(index, { type: 'unregisterBroker', brokerId: now.nodeId }, out);
    }
  }

  /** Marks a node draining (or updates `remove` of one draining already). */
  private decommissionNode(index: number, c: DecommissionNodeCommand): void {
    const s = this.state;
    const member = this.groupMembership !== null && isMember(this.groupMembership, c.nodeId);
    if (!s.brokers.has(c.nodeId) && !member)
      fail(
        'BROKER_ID_NOT_REGISTERED',
        `Node ${c.nodeId} is neither a registered broker nor a member of the cluster`,
      );
    const staying = [...s.brokers.keys()].filter((id) => id !== c.nodeId && !s.drains.has(id));
    if (staying.length === 0)
      fail(
        'INVALID_REQUEST',
        `Node ${c.nodeId} cannot be decommissioned: no other broker would be left to hold its replicas`,
      );
    const requestIndex = s.drains.get(c.nodeId)?.requestIndex ?? index;
    s.drains.set(c.nodeId, Object.freeze({ nodeId: c.nodeId, remove: c.remove, requestIndex }));
  }

  private recommissionNode(c: RecommissionNodeCommand): void {
    if (!this.state.drains.delete(c.nodeId))
      fail('INVALID_REQUEST', `Node ${c.nodeId} is not being decommissioned`);
  }

  private startRebalance(index: number): void {
    const s = this.state;
    if (s.rebalance !== null && s.rebalance.endIndex === null) return;
    s.rebalance = Object.freeze({ requestIndex: index, endIndex: null, reason: null });
  }

  private endRebalance(index: number, c: EndRebalanceCommand): void {
    const now = this.state.rebalance;
    if (now === null || now.endIndex !== null || now.requestIndex !== c.requestIndex)
      fail(
        'INVALID_REQUEST',
        `The rebalance ${c.requestIndex} is not the one running (${now === null || now.endIndex !== null ? 'none' : now.requestIndex})`,
      );
    this.state.rebalance = Object.freeze({
      requestIndex: now.requestIndex,
      endIndex: index,
      reason: clip(c.reason, L.maxStringLength),
    });
  }

  private alterTopicConfigs(index: number, c: AlterTopicConfigsCommand, out: MetadataChange[]): void {
    const topic = this.namedTopic(c.name, c.topicId);
    const currentMap = new Map(Object.entries(topic.configs));
    const next = sortedRecord(
      alterConfigMap(currentMap, c.alterations, c.replace, topicConfigDefinition, 'topic'),
    );
    if (JSON.stringify(next) === JSON.stringify(topic.configs)) return;
    this.state.topics.set(c.name, freezeTopic({ ...topic, configs: next }));
    out.push({ type: 'topicConfigChanged', index, name: c.name, topicId: c.topicId, configs: next });
  }

  private alterBrokerConfigs(index: number, c: AlterBrokerConfigsCommand, out: MetadataChange[]): void {
    const scope = brokerConfigScope(c.brokerId);
    const current = this.state.brokerConfigs.get(scope) ?? EMPTY_CONFIGS;
    const next = sortedRecord(
      alterConfigMap(
        new Map(Object.entries(current)),
        c.alterations,
        c.replace,
        brokerConfigDefinition,
        'broker',
      ),
    );
    if (JSON.stringify(next) === JSON.stringify(current)) return;
    if (Object.keys(next).length === 0) this.state.brokerConfigs.delete(scope);
    else this.state.brokerConfigs.set(scope, next);
    out.push({ type: 'brokerConfigChanged', index, brokerId: c.brokerId, configs: next });
  }

  private allocateProducerIds(index: number, c: AllocateProducerIdsCommand, out: MetadataChange[]): void {
    const broker = this.state.brokers.get(c.brokerId);
    if (broker === undefined) fail('BROKER_ID_NOT_REGISTERED', `Broker ${c.brokerId} is not registered`);
    if (c.brokerEpoch !== -1 && c.brokerEpoch !== broker.brokerEpoch) {
      fail(
        'STALE_BROKER_EPOCH',
        `Broker ${c.brokerId} has epoch ${broker.brokerEpoch}, not ${c.brokerEpoch}`,
      );
    }
    const first = this.state.nextProducerId;
    if (first + c.count > Number.MAX_SAFE_INTEGER)
      fail('UNKNOWN_SERVER_ERROR', 'The producer id space is exhausted');
    this.state.nextProducerId = first + c.count;
    out.push({
      type: 'producerIdsAllocated',
      index,
      block: Object.freeze({ brokerId: c.brokerId, firstProducerId: first, count: c.count }),
    });
  }

  // ------------------------------------------------------------------------------------------
  // Queries (MetadataView)
  // ------------------------------------------------------------------------------------------

  clusterId(): string | null {
    return this.state.clusterId;
  }

  brokers(): readonly BrokerInfo[] {
    return [...this.state.brokers.values()].sort((a, b) => a.brokerId - b.brokerId);
  }

  liveBrokers(): readonly BrokerInfo[] {
    return this.brokers().filter((b) => !b.fenced);
  }

  broker(brokerId: number): BrokerInfo | undefined {
    return this.state.brokers.get(brokerId);
  }

  topics(): readonly TopicInfo[] {
    return [...this.state.topics.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  topic(name: string): TopicInfo | undefined {
    return this.state.topics.get(name);
  }

  topicById(topicId: string): TopicInfo | undefined {
    const name = this.state.namesById.get(topicId);
    return name === undefined ? undefined : this.state.topics.get(name);
  }

  partition(name: string, partition: number): PartitionInfo | undefined {
    return this.state.topics.get(name)?.partitions[partition];
  }

  collidingTopic(name: string): string | undefined {
    const other = this.state.collisions.get(collisionKey(name));
    return other === name ? undefined : other;
  }

  totalPartitionCount(): number {
    return this.state.totalPartitions;
  }

  brokerConfigOverrides(brokerId: number | null): Readonly<Record<string, string>> {
    return this.state.brokerConfigs.get(brokerConfigScope(brokerId)) ?? EMPTY_CONFIGS;
  }

  nextProducerId(): number {
    return this.state.nextProducerId;
  }

  /**
   * The metadata group's configuration at the applied index, or null where none was given (a single
   * node). Not part of the snapshot: the Raft group holds it and gives it again (setMembership).
   */
  membership(): GroupMembership | null {
    return this.groupMembership;
  }

  /**
   * Called by the metadata Raft group whenever its configuration changes (a membership change
   * applied, in log order) and after a snapshot is restored (the configuration as of its index), so
   * that commands applied later see the members as of their own index on every node.
   */
  setMembership(m: GroupMembership | null): void {
    this.groupMembership =
      m === null
        ? null
        : Object.freeze({
            voters: Object.freeze([...new Set(m.voters)].sort((a, b) => a - b)),
            learners: Object.freeze([...new Set(m.learners)].sort((a, b) => a - b)),
          });
  }

  /** The membership change in progress (membership.ts), or null. */
  membershipChange(): MembershipChange | null {
    return this.state.membershipChange;
  }

  /** How the last membership change ended, or null before any. */
  membershipOutcome(): MembershipOutcome | null {
    return this.state.membershipOutcome;
  }

  /** The nodes being decommissioned, by id. */
  drains(): readonly NodeDrain[] {
    return [...this.state.drains.values()].sort((a, b) => a.nodeId - b.nodeId);
  }

  /** The last rebalance asked for (running while its `endIndex` is null), or null before any. */
  rebalance(): RebalanceState | null {
    return this.state.rebalance;
  }

  /**
   * Every ACL, sorted and frozen. The same array is returned until the ACLs change (and after a
   * restore a new one), so a reader may cache what it derives from it by the array's identity.
   */
  acls(): readonly AclBinding[] {
    return this.state.aclList;
  }

  /** The ACLs a filter matches (DescribeAcls), in the order of `acls()`. */
  aclsMatching(filter: AclFilter): AclBinding[] {
    return this.state.aclList.filter((b) => aclFilterMatches(filter, b));
  }

  /** A user's SCRAM credential for a mechanism, if any. */
  scramCredential(user: string, mechanism: ScramMechanismName): ScramCredential | undefined {
    return this.state.scram.get(user)?.get(mechanism);
  }

  /** Every user with SCRAM credentials (sorted), with the mechanisms and iteration counts it has. */
  scramUsers(): Array<{
    user: string;
    credentials: Array<{ mechanism: ScramMechanismName; iterations: number }>;
  }> {
    return [...this.state.scram.keys()].sort().map((user) => ({
      user,
      credentials: [...(this.state.scram.get(user) as Map<ScramMechanismName, ScramCredential>).values()]
        .sort((a, b) => (a.mechanism < b.mechanism ? -1 : 1))
        .map((c) => ({ mechanism: c.mechanism, iterations: c.iterations })),
    }));
  }

  /** Every client quota entity with its values, sorted by entity. */
  clientQuotas(): ClientQuotaEntry[] {
    return [...this.state.clientQuotas.keys()]
      .sort()
      .map((k) => this.state.clientQuotas.get(k) as ClientQuotaEntry);
  }

  /** The values of one quota entity (parts in any order), if it has any. */
  clientQuota(entity: readonly ClientQuotaEntityPart[]): ClientQuotaEntry['values'] | undefined {
    return this.state.clientQuotas.get(quotaEntityKey(entity))?.values;
  }

  /** Grows whenever the client quotas change on this node (an apply or a restore). */
  get clientQuotaVersion(): number {
    return this.quotaVersion;
  }

  /** DescribeConfigs for a topic (see `describeTopicConfigs`). Throws UNKNOWN_TOPIC_OR_PARTITION. */
  describeTopicConfigs(name: string, options: DescribeConfigsOptions = {}): ConfigDescription[] {
    return describeTopicConfigs(this, name, options);
  }

  /** DescribeConfigs for a broker, or (null) the cluster-wide dynamic defaults. */
  describeBrokerConfigs(
    brokerId: number | null,
    options: Omit<DescribeConfigsOptions, 'brokerId'> = {},
  ): ConfigDescription[] {
    return describeBrokerConfigs(this, brokerId, options);
  }

  /** The effective value of every config of a topic. Throws UNKNOWN_TOPIC_OR_PARTITION. */
  effectiveTopicConfigs(
    name: string,
    options: Pick<DescribeConfigsOptions, 'brokerId' | 'staticBrokerConfigs' | 'brokerDefaultConfigs'> = {},
  ): Record<string, string> {
    return effectiveTopicConfigs(this, name, options);
  }

  /** FindCoordinator for a group or transactional id (see `findCoordinator`). */
  findCoordinator(key: string, keyType: CoordinatorKeyType, partitionCount: number): CoordinatorLookup {
    return findCoordinator(this, key, keyType, partitionCount);
  }

  // ------------------------------------------------------------------------------------------
  // Change feed
  // ------------------------------------------------------------------------------------------

  /**
   * The changes of entries after `afterIndex`, oldest first, or `{ type: 'resync' }` when some of
   * them are no longer retained (the reader rebuilds from the queries or a snapshot, then continues
   * from `appliedIndex`). `maxChanges` pages at entry boundaries: `upToIndex` says through which
   * index the answer is complete.
   */
  changesSince(afterIndex: number, maxChanges?: number): FeedEvent {
    return this.feed.since(afterIndex, this.applied, maxChanges);
  }

  /**
   * Calls `listener` (synchronously) with the changes after `afterIndex` that are already retained
   * — or a resync signal — and then after every applied entry that changed something, and with a
   * resync signal after `restore`. Returns the function that unsubscribes. A listener that throws
   * is logged and kept. Throws POLICY_VIOLATION beyond `maxSubscribers`.
   */
  subscribe(afterIndex: number, listener: FeedListener): () => void {
    return this.feed.subscribe(afterIndex, this.applied, listener);
  }

  // ------------------------------------------------------------------------------------------
  // Snapshot
  // ------------------------------------------------------------------------------------------

  /**
   * The whole state at `appliedIndex` (msgpack); equal states give identical bytes. Format 1 while
   * no request is remembered and no replica is repaired, format 2 (with `requests`, in the order
   * applied) while requests are remembered, format 3 (requests, and repairs in partition rows) while
   * a replica is repaired.
   */
  snapshot(): Uint8Array {
    const s = this.state;
    const pairs = (r: Readonly<Record<string, string>>): string[][] =>
      Object.keys(r)
        .sort()
        .map((k) => [k, r[k] as string]);
    const repairing = this.topics().some((t) => t.partitions.some((p) => p.repairs.length > 0));
    const listening = this.brokers().some((b) => !hasDefaultListeners(b));
    const moving = this.topics().some((t) =>
      t.partitions.some((p) => p.addingReplicas.length > 0 || p.removingReplicas.length > 0),
    );
    const balancing = s.drains.size > 0 || s.rebalance !== null;
    const members = balancing || s.membershipChange !== null || s.membershipOutcome !== null;
    const format = balancing
      ? BALANCER_SNAPSHOT_FORMAT
      : members
        ? MEMBERSHIP_SNAPSHOT_FORMAT
        : moving
          ? MOVES_SNAPSHOT_FORMAT
          : s.acls.size > 0
            ? ACLS_SNAPSHOT_FORMAT
            : s.clientQuotas.size > 0
              ? 5
              : listening || s.scramCount > 0
                ? 4
                : repairing
                  ? 3
                  : s.requests.size === 0
                    ? 1
                    : 2;
    const requests =
      format === 1
        ? {}
        : {
            requests: [...s.requests].map(([id, r]) => ({
              id,
              index: r.index,
              code: r.error?.code ?? null,
              message: r.error?.message ?? null,
              producerIds:
                r.producerIds === null
                  ? null
                  : [r.producerIds.brokerId, r.producerIds.firstProducerId, r.producerIds.count],
            })),
          };
    const change = s.membershipChange;
    const outcome = s.membershipOutcome;
    const membership = !members
      ? {}
      : {
          // Format 8: [nodeId, 0 add | 1 remove, raftAddress, directoryId, requestIndex] and
          // [nodeId, kind, requestIndex, refused (null: done), index].
          membershipChange:
            change === null
              ? null
              : [
                  change.nodeId,
                  change.kind === 'add' ? 0 : 1,
                  change.raftAddress,
                  change.directoryId,
                  change.requestIndex,
                ],
          membershipOutcome:
            outcome === null
              ? null
              : [
                  outcome.nodeId,
                  outcome.kind === 'add' ? 0 : 1,
                  outcome.requestIndex,
                  outcome.refused,
                  outcome.index,
                ],
        };
    return packCanonical({
      format,
      ...requests,
      // Format 4: the SCRAM credentials (sorted by user, then mechanism).
      ...(format < 4
        ? {}
        : {
            scram: [...s.scram.keys()]
              .sort()
              .flatMap((user) =>
                [...(s.scram.get(user) as Map<ScramMechanismName, ScramCredential>).values()]
                  .sort((a, b) => (a.mechanism < b.mechanism ? -1 : 1))
                  .map((c) => ({ ...c })),
              ),
          }),
      // Format 5: the client quotas (sorted by entity key).
      ...(s.clientQuotas.size === 0
        ? {}
        : {
            clientQuotas: [...s.clientQuotas.keys()].sort().map((k) => {
              const q = s.clientQuotas.get(k) as ClientQuotaEntry;
              return {
                entity: q.entity.map((p) => ({ type: p.type, name: p.name })),
                values: Object.keys(q.values)
                  .sort()
                  .map((key) => ({ key, value: q.values[key as ClientQuotaKey] })),
              };
            }),
          }),
      // Format 6: the ACLs (sorted by aclKey).
      ...(s.acls.size === 0 ? {} : { acls: s.aclList.map((b) => ({ ...b })) }),
      ...membership,
      // Format 9: [nodeId, remove 0 | 1, requestIndex] by node id; [requestIndex, endIndex, reason].
      ...(!balancing
        ? {}
        : {
            drains: this.drains().map((d) => [d.nodeId, d.remove ? 1 : 0, d.requestIndex]),
            rebalance:
              s.rebalance === null
                ? null
                : [s.rebalance.requestIndex, s.rebalance.endIndex, s.rebalance.reason],
          }),
      appliedIndex: this.applied,
      clusterId: s.clusterId,
      nextProducerId: s.nextProducerId,
      brokers: this.brokers().map((b) => ({
        brokerId: b.brokerId,
        host: b.host,
        port: b.port,
        rack: b.rack,
        raftAddress: b.raftAddress,
        incarnation: b.incarnation,
        brokerEpoch: b.brokerEpoch,
        fenced: b.fenced,
        // Format 4: the listeners of a broker that registered others than the default.
        ...(hasDefaultListeners(b) ? {} : { listeners: b.listeners.map((l) => ({ ...l })) }),
      })),
      topics: this.topics().map((t) => ({
        name: t.name,
        topicId: t.topicId,
        internal: t.internal,
        configs: pairs(t.configs),
        partitions: t.partitions.map((p) => {
          const moves = p.addingReplicas.length > 0 || p.removingReplicas.length > 0;
          return [
            [...p.replicas],
            p.leader,
            p.leaderEpoch,
            [...p.isr],
            p.partitionEpoch,
            // Format 3: a sixth element while the partition has repairs, [brokerId, phase, requestIndex] each.
            ...(p.repairs.length === 0 && !moves
              ? []
              : [p.repairs.map((r) => [r.brokerId, r.phase === 'requested' ? 0 : 1, r.requestIndex])]),
            // Format 7: a seventh while it is reassigned, [addingReplicas, removingReplicas].
            ...(moves ? [[[...p.addingReplicas], [...p.removingReplicas]]] : []),
          ];
        }),
      })),
      brokerConfigs: [...s.brokerConfigs.keys()].sort().map((scope) => ({
        brokerId: scope === '' ? null : Number(scope),
        configs: pairs(s.brokerConfigs.get(scope) as Readonly<Record<string, string>>),
      })),
    });
  }

  /**
   * Replaces the whole state with a snapshot's. Throws MetadataError (UNKNOWN_SERVER_ERROR for a
   * corrupt snapshot, UNSUPPORTED_VERSION for a newer format) and then leaves the state unchanged.
   * Subscribers receive a resync signal.
   */
  restore(bytes: Uint8Array): void {
    const { state, appliedIndex } = decodeSnapshot(bytes);
    this.state = state;
    this.applied = appliedIndex;
    this.quotaVersion++;
    this.feed.reset(appliedIndex);
  }
}

/** The answer to a retry: the first outcome of its request, nothing applied again. */
function retryResult(index: number, command: MetadataCommand, first: RequestRecord): ApplyResult {
  if (first.error !== null) {
    const error = new MetadataError(first.error.code, first.error.message);
    return { ok: false, index, command, error, retryOf: first.index };
  }
  const changes: MetadataChange[] =
    first.producerIds === null
      ? []
      : [{ type: 'producerIdsAllocated', index: first.index, block: first.producerIds }];
  return { ok: true, index, command, changes, retryOf: first.index };
}

function decodeSnapshot(bytes: Uint8Array): { state: State; appliedIndex: number } {
  const code = 'UNKNOWN_SERVER_ERROR';
  const r = Reader.of(unpack(bytes, 'snapshot', code), 'snapshot', code);
  const format = r.int('format', 0, L.maxInt32);
  if (format < 1 || format > SNAPSHOT_FORMAT_VERSION) {
    throw new MetadataError(
      'UNSUPPORTED_VERSION',
      `Snapshot format ${format}; this node reads 1..${SNAPSHOT_FORMAT_VERSION}`,
    );
  }
  const S = L.maxStringLength;
  const state = new State();
  const appliedIndex = r.int('appliedIndex', 0, Number.MAX_SAFE_INTEGER);
  state.clusterId = r.nullableStr('clusterId', S);
  state.nextProducerId = r.int('nextProducerId', 0, Number.MAX_SAFE_INTEGER);
  const readPairs = (p: Reader): Readonly<Record<string, string>> => {
    const map = new Map<string, string>();
    p.array('configs', L.maxConfigAlterations * 4).forEach((pair, i) => {
      if (
        !Array.isArray(pair) ||
        pair.length !== 2 ||
        typeof pair[0] !== 'string' ||
        typeof pair[1] !== 'string'
      )
        p.fail(`configs[${i}]`, 'expected [key, value]');
      map.set(pair[0], pair[1]);
    });
    return sortedRecord(map);
  };
  for (const b of r.objects('brokers', L.maxBrokers)) {
    const host = b.str('host', S);
    const port = b.int('port', 0, 65535);
    const listeners =
      format >= 4 && b.has('listeners')
        ? Object.freeze(readListeners(b).map((l) => Object.freeze(l)))
        : defaultListeners(host, port);
    const broker: BrokerInfo = Object.freeze({
      brokerId: b.int('brokerId', 0, L.maxInt32),
      host,
      port,
      rack: b.nullableStr('rack', S),
      raftAddress: b.str('raftAddress', S),
      incarnation: b.str('incarnation', S),
      brokerEpoch: b.int('brokerEpoch', 0, Number.MAX_SAFE_INTEGER),
      fenced: b.bool('fenced'),
      listeners,
    });
    state.brokers.set(broker.brokerId, broker);
  }
  for (const t of r.objects('topics', L.maxTotalPartitions)) {
    const name = t.str('name', S);
    const topicId = t.str('topicId', 64);
    if (topicNameProblem(name) !== null || !isValidTopicId(topicId) || state.topics.has(name))
      t.fail('name', `invalid or duplicate topic ${name}`);
    const partitions = t.array('partitions', L.maxPartitionsPerTopic).map((row, partition) => {
      const ok =
        Array.isArray(row) &&
        (row.length === 5 ||
          (format >= 3 && row.length === 6) ||
          (format >= MOVES_SNAPSHOT_FORMAT && row.length === 7));
      const [replicas, leader, leaderEpoch, isr, partitionEpoch, repairRows, moveRow] = ok
        ? (row as unknown[])
        : [];
      const ints = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => Number.isSafeInteger(x));
      if (
        !ok ||
        !ints(replicas) ||
        !ints(isr) ||
        !Number.isSafeInteger(leader) ||
        !Number.isSafeInteger(leaderEpoch) ||
        !Number.isSafeInteger(partitionEpoch)
      ) {
        t.fail(`partitions[${partition}]`, 'malformed partition');
      }
      const repairs =
        repairRows === undefined ||
        (moveRow !== undefined && Array.isArray(repairRows) && repairRows.length === 0)
          ? []
          : (readRepairs(repairRows, replicas as number[]) ??
            t.fail(`partitions[${partition}]`, 'malformed repairs'));
      const move =
        moveRow === undefined
          ? { addingReplicas: [], removingReplicas: [] }
          : (readReassignment(moveRow, replicas as number[]) ??
            t.fail(`partitions[${partition}]`, 'malformed reassignment'));
      return freezePartition({
        ...move,
        partition,
        replicas: replicas as number[],
        leader: leader as number,
        leaderEpoch: leaderEpoch as number,
        isr: isr as number[],
        partitionEpoch: partitionEpoch as number,
        repairs,
      });
    });
    const topic = freezeTopic({
      name,
      topicId,
      internal: t.bool('internal'),
      partitions,
      configs: readPairs(t),
    });
    state.topics.set(name, topic);
    state.namesById.set(topicId, name);
    state.collisions.set(collisionKey(name), name);
    state.totalPartitions += partitions.length;
  }
  for (const c of r.objects('brokerConfigs', L.maxBrokers + 1)) {
    state.brokerConfigs.set(brokerConfigScope(c.nullableInt('brokerId', 0, L.maxInt32)), readPairs(c));
  }
  if (format >= 4) {
    for (const q of r.objects('scram', L.maxScramCredentials)) {
      const c = Object.freeze(readScramCredential(q));
      let byMechanism = state.scram.get(c.user);
      if (byMechanism === undefined) {
        byMechanism = new Map();
        state.scram.set(c.user, byMechanism);
      }
      if (byMechanism.has(c.mechanism)) q.fail('user', `duplicate SCRAM credential of ${c.user}`);
      byMechanism.set(c.mechanism, c);
      state.scramCount++;
    }
  }
  if (format >= 5 && r.has('clientQuotas')) {
    for (const q of r.objects('clientQuotas', L.maxClientQuotaEntities)) {
      const entity = readQuotaEntity(q);
      const problem = quotaEntityProblem(entity);
      const key = quotaEntityKey(entity);
      if (problem !== null || state.clientQuotas.has(key))
        q.fail('entity', problem ?? 'duplicate quota entity');
      const values: Partial<Record<ClientQuotaKey, number>> = {};
      for (const v of q.objects('values', CLIENT_QUOTA_KEYS.length)) {
        const k = readQuotaKey(v);
        const value = readQuotaValue(v);
        if (values[k] !== undefined || quotaValueProblem(k, value) !== null)
          v.fail('value', `bad value of ${k}`);
        values[k] = value;
      }
      if (Object.keys(values).length === 0) q.fail('values', 'a quota entity without values');
      state.clientQuotas.set(
        key,
        Object.freeze({
          entity: Object.freeze(sortedEntity(entity).map((p) => Object.freeze(p))),
          values: Object.freeze(values),
        }),
      );
    }
  }
  if (format >= ACLS_SNAPSHOT_FORMAT && r.has('acls')) {
    for (const q of r.objects('acls', L.maxAcls)) {
      const b = freezeAcl(readAclBinding(q));
      const problem = aclBindingProblem(b);
      if (problem !== null) q.fail('acl', problem);
      const key = aclKey(b);
      if (state.acls.has(key)) q.fail('acl', 'duplicate ACL');
      state.acls.set(key, b);
    }
    state.aclList = listAcls(state.acls);
  }
  if (format >= MEMBERSHIP_SNAPSHOT_FORMAT) {
    state.membershipChange =
      readMembershipChange(r.raw('membershipChange'), appliedIndex) ??
      (r.raw('membershipChange') === null ? null : r.fail('membershipChange', 'malformed membership change'));
    state.membershipOutcome =
      readMembershipOutcome(r.raw('membershipOutcome'), appliedIndex) ??
      (r.raw('membershipOutcome') === null
        ? null
        : r.fail('membershipOutcome', 'malformed membership outcome'));
  }
  if (format >= BALANCER_SNAPSHOT_FORMAT) {
    for (const [i, row] of r.array('drains', L.maxBrokers + 1).entries()) {
      const d = readDrain(row, appliedIndex) ?? r.fail(`drains[${i}]`, 'malformed drain');
      if (state.drains.has(d.nodeId)) r.fail(`drains[${i}]`, 'duplicate drain');
      state.drains.set(d.nodeId, d);
    }
    const rb = r.raw('rebalance');
    state.rebalance =
      rb === null ? null : (readRebalance(rb, appliedIndex) ?? r.fail('rebalance', 'malformed rebalance'));
  }
  if (format >= 2) {
    for (const q of r.objects('requests', L.maxRememberedRequests)) {
      const id = q.str('id', L.maxRequestIdLength);
      if (id.length === 0 || state.requests.has(id)) q.fail('id', `empty or duplicate request id ${id}`);
      const code = q.nullableStr('code', 64);
      if (code !== null && !ERROR_CODES.has(code)) q.fail('code', `unknown error code ${code}`);
      const producerIds = readProducerIds(q);
      state.requests.set(id, {
        index: q.int('index', 1, appliedIndex),
        error:
          code === null
            ? null
            : { code: code as MetadataErrorCode, message: q.str('message', L.maxStringLength) },
        producerIds,
      });
    }
  }
  return { state, appliedIndex };
}

const ERROR_CODES = new Set<string>(Object.values(MetadataErrorCode));

/** A drain row of a snapshot ([nodeId, remove 0 | 1, requestIndex]), or null when malformed. */
function readDrain(v: unknown, appliedIndex: number): NodeDrain | null {
  if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => Number.isSafeInteger(x))) return null;
  const [nodeId, remove, requestIndex] = v as [number, number, number];
  if (nodeId < 0 || (remove !== 0 && remove !== 1) || requestIndex < 1 || requestIndex > appliedIndex)
    return null;
  return Object.freeze({ nodeId, remove: remove === 1, requestIndex });
}

/** The rebalance of a snapshot ([requestIndex, endIndex | null, reason | null]), or null when malformed. */
function readRebalance(v: unknown, appliedIndex: number): RebalanceState | null {
  if (!Array.isArray(v) || v.length !== 3) return null;
  const [requestIndex, endIndex, reason] = v as unknown[];
  if (
    !Number.isSafeInteger(requestIndex) ||
    (requestIndex as number) < 1 ||
    (requestIndex as number) > appliedIndex ||
    (endIndex !== null && (!Number.isSafeInteger(endIndex) || (endIndex as number) > appliedIndex)) ||
    (endIndex === null) !== (reason === null) ||
    (reason !== null && typeof reason !== 'string')
  )
    return null;
  return Object.freeze({
    requestIndex: requestIndex as number,
    endIndex: endIndex as number | null,
    reason: reason as string | null,
  });
}

/** A membership change in a snapshot, or null when absent or malformed (the caller tells which). */
function readMembershipChange(v: unknown, appliedIndex: number): MembershipChange | null {
  if (!Array.isArray(v) || v.length !== 5) return null;
  const [nodeId, kind, raftAddress, directoryId, requestIndex] = v as unknown[];
  if (
    !Number.isSafeInteger(nodeId) ||
    (kind !== 0 && kind !== 1) ||
    typeof raftAddress !== 'string' ||
    typeof directoryId !== 'string' ||
    !Number.isSafeInteger(requestIndex) ||
    (requestIndex as number) < 1 ||
    (requestIndex as number) > appliedIndex
  )
    return null;
  return Object.freeze({
    nodeId: nodeId as number,
    kind: kind === 0 ? 'add' : 'remove',
    raftAddress,
    directoryId,
    requestIndex: requestIndex as number,
  });
}

function readMembershipOutcome(v: unknown, appliedIndex: number): MembershipOutcome | null {
  if (!Array.isArray(v) || v.length !== 5) return null;
  const [nodeId, kind, requestIndex, refused, index] = v as unknown[];
  if (
    !Number.isSafeInteger(nodeId) ||
    (kind !== 0 && kind !== 1) ||
    !Number.isSafeInteger(requestIndex) ||
    (refused !== null && typeof refused !== 'string') ||
    !Number.isSafeInteger(index) ||
    (index as number) > appliedIndex
  )
    return null;
  return Object.freeze({
    nodeId: nodeId as number,
    kind: kind === 0 ? 'add' : 'remove',
    requestIndex: requestIndex as number,
    refused,
    index: index as number,
  });
}

/** A partition's repairs in a snapshot ([brokerId, 0 requested | 1 rebuilding, requestIndex] each), or null when malformed. */
function readRepairs(rows: unknown, replicas: readonly number[]): ReplicaRepair[] | null {
  if (!Array.isArray(rows) || rows.length === 0 || rows.length > replicas.length) return null;
  const out: ReplicaRepair[] = [];
  for (const row of rows) {
    if (!Array.isArray(row) || row.length !== 3 || !row.every((x) => Number.isSafeInteger(x))) return null;
    const [brokerId, phase, requestIndex] = row as [number, number, number];
    if (!replicas.includes(brokerId) || (phase !== 0 && phase !== 1) || requestIndex < 1) return null;
    if (out.length > 0 && (out[out.length - 1] as ReplicaRepair).brokerId >= brokerId) return null;
    out.push(Object.freeze({ brokerId, phase: phase === 0 ? 'requested' : 'rebuilding', requestIndex }));
  }
  return out;
}

/** A remembered producer-id block: null, or [brokerId, firstProducerId, count]. */
function readProducerIds(q: Reader): ProducerIdBlock | null {
  const v = q.raw('producerIds');
  if (v === null) return null;
  if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => Number.isSafeInteger(x) && (x as number) >= 0))
    return q.fail('producerIds', 'expected [brokerId, first, count]');
  const [brokerId, firstProducerId, count] = v as [number, number, number];
  return Object.freeze({ brokerId, firstProducerId, count });
}
