import type { ConfigAlteration } from './configs.js';
import type { AclBinding, AclFilter } from './acls.js';

/** A registered broker (node) as the metadata state knows it. */
export interface BrokerInfo {
  readonly brokerId: number;
  /** Advertised Kafka host. */
  readonly host: string;
  /** Advertised Kafka port. */
  readonly port: number;
  readonly rack: string | null;
  /** Address the node's Raft transport listens on, as peers reach it (host:port). */
  readonly raftAddress: string;
  /** Identifies one run of the broker process; a new incarnation re-registers. */
  readonly incarnation: string;
  /** The metadata log index of the registration that created this incarnation (Kafka's broker epoch). */
  readonly brokerEpoch: number;
  /** A fenced broker is registered but not live: it gets no new replicas. */
  readonly fenced: boolean;
  /**
   * The broker's Kafka listeners as clients reach them (Kafka's advertised.listeners), in the order
   * the broker registered them. A broker registered without listeners (`registerBroker` v1) has
   * one, named PLAINTEXT, at `host:port`.
   */
  readonly listeners: readonly BrokerListener[];
}

/** The security protocols of a Kafka listener (Kafka's SecurityProtocol names). */
export const SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export type SecurityProtocolName = (typeof SECURITY_PROTOCOLS)[number];

/** One advertised Kafka listener of a broker: its name (as in listener.security.protocol.map) and endpoint. */
export interface BrokerListener {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly securityProtocol: SecurityProtocolName;
}

/** The SCRAM mechanisms whose credentials the metadata stores (RFC 5802 / 7677). */
export const SCRAM_MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type ScramMechanismName = (typeof SCRAM_MECHANISMS)[number];

/**
 * A user's SCRAM credential for one mechanism, as RFC 5802 has a server store it: never the
 * password, only the salt, the iteration count, StoredKey = H(HMAC(SaltedPassword, "Client Key"))
 * and ServerKey = HMAC(SaltedPassword, "Server Key"). Byte strings are base64 (standard alphabet).
 */
export interface ScramCredential {
  readonly user: string;
  readonly mechanism: ScramMechanismName;
  readonly salt: string;
  readonly iterations: number;
  readonly storedKey: string;
  readonly serverKey: string;
}

/** One partition's replica set and leadership. Immutable: a change replaces the object. */
export interface PartitionInfo {
  readonly partition: number;
  /** Assigned replicas; the first is the preferred leader. */
  readonly replicas: readonly number[];
  /** The current leader as reported by the partition's Raft group, or -1 while none is known. */
  readonly leader: number;
  /** The leader epoch (the partition group's term), -1 until a leader was reported. */
  readonly leaderEpoch: number;
  /** In-sync replicas, sorted by broker id. */
  readonly isr: readonly number[];
  /** Bumped on every change of this partition's record. */
  readonly partitionEpoch: number;
  /**
   * Replicas being rebuilt from the others because their data was damaged or lost (sorted by
   * broker id; usually empty). See ReplicaRepairCommand.
   */
  readonly repairs: readonly ReplicaRepair[];
  /**
   * A reassignment in progress (KIP-455; both empty otherwise): `replicas` is then the union of the
   * replicas before and after it, the target first; these are the replicas being added (in the
   * target, not in the replica set before it) and removed (before it, not in the target). See
   * AlterReassignmentCommand.
   */
  readonly addingReplicas: readonly number[];
  readonly removingReplicas: readonly number[];
}

/**
 * One replica's repair (apps/server's cluster README, "Replica repair"): `requested` by the node
 * whose copy is damaged or lost; `rebuilding` once the partition's leader has made it a learner with
 * a fresh start in the partition's Raft group (so its empty log can neither vote nor count toward a
 * commit), and it rebuilds from the leader; removed when the leader promoted it back to a voter.
 */
export interface ReplicaRepair {
  readonly brokerId: number;
  readonly phase: 'requested' | 'rebuilding';
  /** The metadata log index of the request this phase belongs to. */
  readonly requestIndex: number;
}

/**
 * The members of the metadata Raft group, as its configuration stands at the applied index (the
 * Raft group gives it to the state machine: MetadataStateMachine.setMembership). A node that is
 * not a member cannot register as a broker.
 */
export interface GroupMembership {
  /** Voters (both halves of a joint configuration), sorted. */
  readonly voters: readonly number[];
  readonly learners: readonly number[];
}

/**
 * A membership change of the metadata group in progress (one at a time): a node being added (a
 * learner until it caught up, then a voter) or removed. The metadata group's leader carries it out
 * and ends it with MembershipDoneCommand.
 */
export interface MembershipChange {
  readonly nodeId: number;
  readonly kind: 'add' | 'remove';
  /** Where the node's Raft transport listens (add; for a removal, its broker's, or ''). */
  readonly raftAddress: string;
  /** The joining node's data directory id (add): a retry from the same directory is the same join. */
  readonly directoryId: string;
  /** The metadata log index of the command that started it. */
  readonly requestIndex: number;
}

/** How the last membership change ended. */
export interface MembershipOutcome {
  readonly nodeId: number;
  readonly kind: 'add' | 'remove';
  readonly requestIndex: number;
  /** Null when it was done; otherwise why the leader refused it (it would have lost quorum). */
  readonly refused: string | null;
  /** The index of the command that ended it. */
  readonly index: number;
}

/** A topic with its partitions and its config overrides. Immutable: a change replaces the object. */
export interface TopicInfo {
  readonly name: string;
  /** UUID string (lowercase, 8-4-4-4-12 hex), chosen by the proposer. */
  readonly topicId: string;
  /** Internal topics (`__consumer_offsets`, `__transaction_state`) are created by the broker. */
  readonly internal: boolean;
  readonly partitions: readonly PartitionInfo[];
  /** Topic-level config overrides (DYNAMIC_TOPIC_CONFIG), keys sorted. */
  readonly configs: Readonly<Record<string, string>>;
}

/** A block of producer ids handed to one broker: `firstProducerId .. firstProducerId + count - 1`. */
export interface ProducerIdBlock {
  readonly brokerId: number;
  readonly firstProducerId: number;
  readonly count: number;
}

/** A config key/value pair as carried in a command. */
export interface ConfigEntry {
  readonly name: string;
  readonly value: string;
}

// ---------------------------------------------------------------------------------------------
// Commands. Each is one entry of the metadata Raft log. The proposer computes everything that is
// not a function of the state (topic ids, assignments), so applying is deterministic.
// ---------------------------------------------------------------------------------------------

/** Sets the cluster id once; later commands with the same id are no-ops, another id is rejected. */
export interface InitClusterCommand {
  readonly type: 'initCluster';
  readonly clusterId: string;
}

export interface RegisterBrokerCommand {
  readonly type: 'registerBroker';
  readonly brokerId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
  readonly raftAddress: string;
  readonly incarnation: string;
  /**
   * The broker's advertised listeners (format version 2). Absent (version 1, as every broker
   * registered before listeners existed): one listener named PLAINTEXT at `host:port`.
   */
  readonly listeners?: readonly BrokerListener[];
}

/**
 * Adds, replaces and removes SCRAM credentials (AlterUserScramCredentials). Applied whole or not at
 * all: each deletion must name an existing credential, and a user appears at most once.
 */
export interface AlterScramCredentialsCommand {
  readonly type: 'alterScramCredentials';
  readonly deletions: ReadonlyArray<{ readonly user: string; readonly mechanism: ScramMechanismName }>;
  readonly upsertions: readonly ScramCredential[];
}

/** Who a client quota applies to (KIP-546): a user principal, a client id, or both. */
/** 'ip': a client address (connection_creation_rate, KIP-612); never combined with the others. */
export type ClientQuotaEntityType = 'user' | 'client-id' | 'ip';

/** One part of a quota entity; `name` null is the default for that type (Kafka's <default>). */
export interface ClientQuotaEntityPart {
  readonly type: ClientQuotaEntityType;
  readonly name: string | null;
}

/** The quota keys this cluster stores (and brokers enforce). */
export const CLIENT_QUOTA_KEYS = [
  'connection_creation_rate',
  'consumer_byte_rate',
  'controller_mutation_rate',
  'producer_byte_rate',
  'request_percentage',
] as const;
export type ClientQuotaKey = (typeof CLIENT_QUOTA_KEYS)[number];

/** A quota entity's values, as DescribeClientQuotas lists them. */
export interface ClientQuotaEntry {
  /** Its parts, sorted by type ('client-id' before 'user'). */
  readonly entity: readonly ClientQuotaEntityPart[];
  readonly values: Readonly<Partial<Record<ClientQuotaKey, number>>>;
}

/**
 * Sets and removes client quota values (AlterClientQuotas). Applied whole or not at all: an entity
 * has one or two parts of different types, a key is a known one, a value is above 0 (a whole
 * number for the byte rates); `value` null removes the key.
 */
export interface AlterClientQuotasCommand {
  readonly type: 'alterClientQuotas';
  readonly entries: ReadonlyArray<{
    readonly entity: readonly ClientQuotaEntityPart[];
    readonly ops: ReadonlyArray<{ readonly key: ClientQuotaKey; readonly value: number | null }>;
  }>;
}

/**
 * Adds ACLs (CreateAcls), validated whole (`aclBindingProblem`): a rejected command adds none. A
 * binding that exists already is left as it is.
 */
export interface CreateAclsCommand {
  readonly type: 'createAcls';
  readonly acls: readonly AclBinding[];
}

/** Removes every ACL that matches any of the filters (DeleteAcls), all at once. */
export interface DeleteAclsCommand {
  readonly type: 'deleteAcls';
  readonly filters: readonly AclFilter[];
}

export interface UnregisterBrokerCommand {
  readonly type: 'unregisterBroker';
  readonly brokerId: number;
}

/** Marks a broker fenced (not live) or unfenced. `brokerEpoch` -1 matches any epoch. */
export interface FenceBrokerCommand {
  readonly type: 'fenceBroker';
  readonly brokerId: number;
  readonly brokerEpoch: number;
  readonly fenced: boolean;
}

export interface CreateTopicCommand {
  readonly type: 'createTopic';
  readonly name: string;
  readonly topicId: string;
  /** Replicas of partition i at index i (leader first); computed by the proposer. */
  readonly assignments: readonly (readonly number[])[];
  readonly configs: readonly ConfigEntry[];
  readonly internal: boolean;
}

export interface DeleteTopicCommand {
  readonly type: 'deleteTopic';
  readonly name: string;
  readonly topicId: string;
}

/** Adds partitions `current .. current + assignments.length - 1` to a topic. */
export interface CreatePartitionsCommand {
  readonly type: 'createPartitions';
  readonly name: string;
  readonly topicId: string;
  /** The partition count the proposer saw; the command is rejected if the topic changed meanwhile. */
  readonly expectedCurrentCount: number;
  readonly assignments: readonly (readonly number[])[];
}

/** Replaces one partition's replica set (reassignment). */
export interface AssignReplicasCommand {
  readonly type: 'assignReplicas';
  readonly topicId: string;
  readonly partition: number;
  readonly replicas: readonly number[];
}

/** Reported by a partition group that elected `leader` in term `leaderEpoch`. */
export interface ChangeLeaderCommand {
  readonly type: 'changeLeader';
  readonly topicId: string;
  readonly partition: number;
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly isr: readonly number[];
}

/** Reported by a partition leader whose in-sync set changed within its epoch. */
export interface ChangeIsrCommand {
  readonly type: 'changeIsr';
  readonly topicId: string;
  readonly partition: number;
  readonly leaderEpoch: number;
  readonly isr: readonly number[];
}

/**
 * Moves one replica's repair on (see ReplicaRepair): `requested` (the replica's node; a repair in
 * progress starts again under this command's index), `rebuilding` and `done` (the partition leader,
 * naming the request they answer; a stale one is rejected).
 */
export interface ReplicaRepairCommand {
  readonly type: 'replicaRepair';
  readonly topicId: string;
  readonly partition: number;
  readonly brokerId: number;
  readonly phase: 'requested' | 'rebuilding' | 'done';
  /** The request answered (`rebuilding`, `done`); -1 with `requested`. */
  readonly requestIndex: number;
}

/**
 * KIP-455's AlterPartitionReassignments for one partition. `replicas`: the target replica set (the
 * first is the preferred leader); `replicas` of the partition becomes the target followed by the
 * replicas leaving, `addingReplicas` / `removingReplicas` say which are which, and the partition's
 * leader moves the data (apps/server's cluster README, "Partition reassignment"). A target equal to
 * the current replicas changes nothing; the same set in another order only reorders them. `null`
 * cancels the reassignment in progress: the replicas before it become the target again (the data
 * moves back, since the group may have switched already). Another target while one is in progress
 * is refused (REASSIGNMENT_IN_PROGRESS).
 */
export interface AlterReassignmentCommand {
  readonly type: 'alterReassignment';
  readonly topicId: string;
  readonly partition: number;
  readonly replicas: readonly number[] | null;
}

/**
 * The partition leader's report that the partition's Raft group now has exactly the target
 * replicas as voters: the reassignment to `replicas` is done (rejected unless it is the one in
 * progress). The replicas that left then remove their data.
 */
export interface CompleteReassignmentCommand {
  readonly type: 'completeReassignment';
  readonly topicId: string;
  readonly partition: number;
  readonly replicas: readonly number[];
}

/**
 * Admits a node into the cluster: it becomes a member of the metadata group (a learner, then a
 * voter once caught up) and may then register as a broker. `clusterId`: the cluster id the node
 * knows ('' for a new node); another one than this cluster's is INCONSISTENT_CLUSTER_ID.
 */
export interface AddNodeCommand {
  readonly type: 'addNode';
  readonly nodeId: number;
  readonly raftAddress: string;
  readonly clusterId: string;
  readonly directoryId: string;
}

/** Removes a member node (it must hold no partition replica): out of the metadata group, then unregistered. */
export interface RemoveNodeCommand {
  readonly type: 'removeNode';
  readonly nodeId: number;
}

/**
 * The metadata leader ends the membership change `requestIndex` of `nodeId`: done (`refused` null;
 * a removed node's broker registration goes too), or refused with the reason.
 */
export interface MembershipDoneCommand {
  readonly type: 'membershipDone';
  readonly nodeId: number;
  readonly requestIndex: number;
  readonly refused: string | null;
}

/**
 * Decommissions a node (the cluster README, "Decommission and rebalance"): the node is marked
 * draining; the metadata leader's balancer moves its replicas to other nodes, a bounded number at
 * a time, and then (with `remove`) removes it from the cluster. Asked again for a node draining
 * already, it updates `remove`. Refused for a node that is neither registered nor a member, and for
 * the last node not draining.
 */
export interface DecommissionNodeCommand {
  readonly type: 'decommissionNode';
  readonly nodeId: number;
  readonly remove: boolean;
}

/** Ends a node's decommission (Redpanda's recommission): it stays, and keeps what it holds now. */
export interface RecommissionNodeCommand {
  readonly type: 'recommissionNode';
  readonly nodeId: number;
}

/**
 * Starts a rebalance of the whole cluster (every topic), carried out by the metadata leader's
 * balancer; a retry while one runs changes nothing.
 */
export interface StartRebalanceCommand {
  readonly type: 'startRebalance';
}

/**
 * Ends the rebalance `requestIndex`: `reason` 'balanced' (the balancer found nothing left to move),
 * 'cancelled' (an operator), or why it stopped.
 */
export interface EndRebalanceCommand {
  readonly type: 'endRebalance';
  readonly requestIndex: number;
  readonly reason: string;
}

/** A node being decommissioned (decommissionNode). */
export interface NodeDrain {
  readonly nodeId: number;
  /** Remove it from the cluster once it holds no replica. */
  readonly remove: boolean;
  /** The entry that started it. */
  readonly requestIndex: number;
}

/** The last rebalance asked for (startRebalance): running while `endIndex` is null. */
export interface RebalanceState {
  readonly requestIndex: number;
  readonly endIndex: number | null;
  /** Why it ended (EndRebalanceCommand.reason), null while it runs. */
  readonly reason: string | null;
}

export interface AlterTopicConfigsCommand {
  readonly type: 'alterTopicConfigs';
  readonly name: string;
  readonly topicId: string;
  readonly alterations: readonly ConfigAlteration[];
  /** true: legacy AlterConfigs (the result holds exactly the SET entries); false: incremental. */
  readonly replace: boolean;
}

export interface AlterBrokerConfigsCommand {
  readonly type: 'alterBrokerConfigs';
  /** null: the cluster-wide default for all brokers (DYNAMIC_DEFAULT_BROKER_CONFIG). */
  readonly brokerId: number | null;
  readonly alterations: readonly ConfigAlteration[];
  readonly replace: boolean;
}

export interface AllocateProducerIdsCommand {
  readonly type: 'allocateProducerIds';
  readonly brokerId: number;
  /** The requesting broker's epoch; -1 matches any. */
  readonly brokerEpoch: number;
  readonly count: number;
}

export type MetadataCommand =
  | InitClusterCommand
  | RegisterBrokerCommand
  | UnregisterBrokerCommand
  | FenceBrokerCommand
  | CreateTopicCommand
  | DeleteTopicCommand
  | CreatePartitionsCommand
  | AssignReplicasCommand
  | ChangeLeaderCommand
  | ChangeIsrCommand
  | AlterTopicConfigsCommand
  | AlterBrokerConfigsCommand
  | AllocateProducerIdsCommand
  | ReplicaRepairCommand
  | AlterScramCredentialsCommand
  | AlterClientQuotasCommand
  | CreateAclsCommand
  | DeleteAclsCommand
  | AlterReassignmentCommand
  | CompleteReassignmentCommand
  | AddNodeCommand
  | RemoveNodeCommand
  | MembershipDoneCommand
  | DecommissionNodeCommand
  | RecommissionNodeCommand
  | StartRebalanceCommand
  | EndRebalanceCommand;

export type MetadataCommandType = MetadataCommand['type'];

// ---------------------------------------------------------------------------------------------
// Change events (the change feed). Each carries the log index of the command that caused it.
// ---------------------------------------------------------------------------------------------

export type MetadataChange =
  | { readonly type: 'clusterInitialized'; readonly index: number; readonly clusterId: string }
  | { readonly type: 'brokerRegistered'; readonly index: number; readonly broker: BrokerInfo }
  | { readonly type: 'brokerUnregistered'; readonly index: number; readonly brokerId: number }
  | { readonly type: 'brokerFenced'; readonly index: number; readonly broker: BrokerInfo }
  | { readonly type: 'topicCreated'; readonly index: number; readonly topic: TopicInfo }
  | {
      readonly type: 'topicDeleted';
      readonly index: number;
      readonly name: string;
      readonly topicId: string;
      readonly partitions: readonly PartitionInfo[];
    }
  | {
      readonly type: 'partitionsCreated';
      readonly index: number;
      readonly name: string;
      readonly topicId: string;
      readonly partitions: readonly PartitionInfo[];
    }
  | {
      readonly type: 'partitionChanged';
      readonly index: number;
      readonly name: string;
      readonly topicId: string;
      /**
       * What changed: the replica set (a reassignment started, cancelled or completed), the
       * leader (and epoch), only the ISR, or a replica's repair.
       */
      readonly reason: 'replicas' | 'leader' | 'isr' | 'repair';
      readonly previous: PartitionInfo;
      readonly partition: PartitionInfo;
    }
  | {
      readonly type: 'topicConfigChanged';
      readonly index: number;
      readonly name: string;
      readonly topicId: string;
      readonly configs: Readonly<Record<string, string>>;
    }
  | {
      readonly type: 'brokerConfigChanged';
      readonly index: number;
      readonly brokerId: number | null;
      readonly configs: Readonly<Record<string, string>>;
    }
  | { readonly type: 'producerIdsAllocated'; readonly index: number; readonly block: ProducerIdBlock }
  | {
      readonly type: 'membershipChanged';
      readonly index: number;
      /** The change now in progress, or null once it ended (`outcome`). */
      readonly change: MembershipChange | null;
      readonly outcome: MembershipOutcome | null;
    }
  | {
      readonly type: 'aclsChanged';
      readonly index: number;
      /** The bindings a createAcls added (those that existed already are not repeated). */
      readonly created: readonly AclBinding[];
      /** Per filter of a deleteAcls, the bindings it matched (and removed). */
      readonly deleted: ReadonlyArray<readonly AclBinding[]>;
    };

export type MetadataChangeType = MetadataChange['type'];
