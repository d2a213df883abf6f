// The state of one consumer-protocol group (KIP-848): its epochs, members, target assignment and
// which member holds each partition. No timers and no I/O; the engine (consumer-coordinator.ts)
// changes it one batch of requests at a time, on a copy (`clone`) that replaces the committed state
// once the batch's records are durable.
//
// Epochs: the group epoch goes up whenever the assignment must be recomputed (a member joins or
// leaves, a subscription or the subscribed topics' partitions change); the assignment epoch is the
// group epoch the target was computed at; a member's epoch is the assignment epoch it has reconciled
// to (consumer-reconcile.ts). Group state, as Kafka names it: Empty (no members), Assigning (group
// epoch > assignment epoch; never seen here, the target is computed in the same batch),
// Reconciling (some member is not stable at the assignment epoch), Stable.
//
// Invariants (invariantViolations):
//   holders maps partition → member exactly for the partitions in the members' assigned ∪
//     pendingRevocation, and those sets are disjoint across members;
//   staticMembers maps each member's instance id to its member id, and nothing else;
//   a member's epoch ≤ the assignment epoch ≤ the group epoch (a member that left statically: -2);
//   every target belongs to a member.
import type { Partitions } from './consumer-partitions.js';
import { NO_PARTITIONS, forEachPartition, partitionKey, partitionsEqual } from './consumer-partitions.js';
import type { ClassicMemberMetadata, ConsumerGroupRecord } from './consumer-records.js';
import type { MemberAssignmentState } from './consumer-reconcile.js';

export const CONSUMER_GROUP_STATES = ['Empty', 'Assigning', 'Reconciling', 'Stable'] as const;
export type ConsumerGroupStateName = (typeof CONSUMER_GROUP_STATES)[number];

/** A member's epoch after a static member left with epoch -2, until it rejoins or its session expires. */
export const STATIC_LEFT_EPOCH = -2;

export interface ConsumerMember extends MemberAssignmentState {
  readonly memberId: string;
  readonly instanceId: string | null;
  readonly rackId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly rebalanceTimeoutMs: number;
  readonly serverAssignor: string | null;
  readonly subscribedTopicRegex: string | null;
  /** Sorted, unique. */
  readonly subscribedTopicNames: readonly string[];
  /**
   * A member that joined with the classic protocol (JoinGroup/SyncGroup/Heartbeat) — Kafka 4's
   * mixed groups; null for a member of the consumer protocol (ConsumerGroupHeartbeat).
   */
  readonly classic: ClassicMemberMetadata | null;
}

/** A member that just joined: epoch 0, nothing assigned. */
export function newMember(fields: Omit<ConsumerMember, keyof MemberAssignmentState>): ConsumerMember {
  return {
    ...fields,
    memberEpoch: 0,
    previousMemberEpoch: -1,
    state: 'stable',
    assigned: NO_PARTITIONS,
    pendingRevocation: NO_PARTITIONS,
  };
}

/** Whether two members' subscription-related fields (what the target depends on) differ. */
export function subscriptionChanged(a: ConsumerMember, b: ConsumerMember): boolean {
  return (
    a.subscribedTopicRegex !== b.subscribedTopicRegex ||
    a.serverAssignor !== b.serverAssignor ||
    a.subscribedTopicNames.length !== b.subscribedTopicNames.length ||
    a.subscribedTopicNames.some((t, i) => b.subscribedTopicNames[i] !== t)
  );
}

/** Whether the fields of the member metadata record (1001) differ. */
export function metadataChanged(a: ConsumerMember, b: ConsumerMember): boolean {
  return (
    subscriptionChanged(a, b) ||
    a.instanceId !== b.instanceId ||
    a.rackId !== b.rackId ||
    a.clientId !== b.clientId ||
    a.clientHost !== b.clientHost ||
    a.rebalanceTimeoutMs !== b.rebalanceTimeoutMs ||
    classicChanged(a.classic, b.classic)
  );
}

function classicChanged(a: ClassicMemberMetadata | null, b: ClassicMemberMetadata | null): boolean {
  if (a === null || b === null) return a !== b;
  return (
    a.sessionTimeoutMs !== b.sessionTimeoutMs ||
    a.protocols.length !== b.protocols.length ||
    a.protocols.some((p, i) => {
      const q = b.protocols[i];
      return q === undefined || q.name !== p.name || Buffer.compare(q.metadata, p.metadata) !== 0;
    })
  );
}

/** Whether the fields of the member assignment record (1002, without the target) differ. */
export function assignmentChanged(a: MemberAssignmentState, b: MemberAssignmentState): boolean {
  return (
    a.memberEpoch !== b.memberEpoch ||
    a.previousMemberEpoch !== b.previousMemberEpoch ||
    a.state !== b.state ||
    !partitionsEqual(a.assigned, b.assigned) ||
    !partitionsEqual(a.pendingRevocation, b.pendingRevocation)
  );
}

export class ConsumerGroupState {
  groupEpoch = 0;
  assignmentEpoch = 0;
  /** The assignor that computed the target. */
  assignor: string | null = null;
  /** Hash of the subscribed topics (ids and partition counts) the target was computed from. */
  metadataHash = 0n;
  /** Whether the group record is durable (false for a group created by a batch still being written). */
  stored = false;
  /** Member id → member, in join order. */
  readonly members = new Map<string, ConsumerMember>();
  /** Member id → its target (absent: empty). */
  readonly targets = new Map<string, Partitions>();
  /** partitionKey → the member holding it (assigned or pending revocation). */
  readonly holders = new Map<string, string>();
  /** Instance id → member id. */
  readonly staticMembers = new Map<string, string>();
  /** Subscribed topic name → members subscribing to it by name. */
  readonly subscribedNames = new Map<string, number>();
  /** Regex → members subscribing with it. */
  readonly subscribedRegexes = new Map<string, number>();
  /** Assignor name → members naming it. */
  readonly namedAssignors = new Map<string, number>();

  clone(): ConsumerGroupState {
    const c = new ConsumerGroupState();
    c.groupEpoch = this.groupEpoch;
    c.assignmentEpoch = this.assignmentEpoch;
    c.assignor = this.assignor;
    c.metadataHash = this.metadataHash;
    c.stored = this.stored;
    for (const [k, v] of this.members) c.members.set(k, v);
    for (const [k, v] of this.targets) c.targets.set(k, v);
    for (const [k, v] of this.holders) c.holders.set(k, v);
    for (const [k, v] of this.staticMembers) c.staticMembers.set(k, v);
    for (const [k, v] of this.subscribedNames) c.subscribedNames.set(k, v);
    for (const [k, v] of this.subscribedRegexes) c.subscribedRegexes.set(k, v);
    for (const [k, v] of this.namedAssignors) c.namedAssignors.set(k, v);
    return c;
  }

  get size(): number {
    return this.members.size;
  }

  /** Members of the consumer protocol (not classic members of a mixed group). */
  get consumerProtocolMembers(): number {
    let n = 0;
    for (const m of this.members.values()) if (m.classic === null) n++;
    return n;
  }

  get stateName(): ConsumerGroupStateName {
    if (this.members.size === 0) return 'Empty';
    if (this.groupEpoch > this.assignmentEpoch) return 'Assigning';
    for (const m of this.members.values())
      if (m.memberEpoch !== this.assignmentEpoch || m.state !== 'stable') return 'Reconciling';
    return 'Stable';
  }

  holderOf(topicId: string, partition: number): string | undefined {
    return this.holders.get(partitionKey(topicId, partition));
  }

  /** Adds or replaces a member, keeping the holders, the static map and the counts. */
  setMember(m: ConsumerMember): void {
    const old = this.members.get(m.memberId);
    if (old !== undefined) this.forget(old);
    this.members.set(m.memberId, m);
    const claim = (t: string, p: number): void => {
      const k = partitionKey(t, p);
      const holder = this.holders.get(k);
      if (holder !== undefined && holder !== m.memberId)
        throw new Error(`partition ${k} is held by ${holder}, cannot give it to ${m.memberId}`);
      this.holders.set(k, m.memberId);
    };
    forEachPartition(m.assigned, claim);
    forEachPartition(m.pendingRevocation, claim);
    if (m.instanceId !== null) this.staticMembers.set(m.instanceId, m.memberId);
    for (const t of m.subscribedTopicNames) inc(this.subscribedNames, t);
    if (m.subscribedTopicRegex !== null) inc(this.subscribedRegexes, m.subscribedTopicRegex);
    if (m.serverAssignor !== null) inc(this.namedAssignors, m.serverAssignor);
  }

  removeMember(memberId: string): ConsumerMember | undefined {
    const m = this.members.get(memberId);
    if (m === undefined) return undefined;
    this.forget(m);
    this.members.delete(memberId);
    this.targets.delete(memberId);
    return m;
  }

  private forget(m: ConsumerMember): void {
    const release = (t: string, p: number): void => {
      const k = partitionKey(t, p);
      if (this.holders.get(k) === m.memberId) this.holders.delete(k);
    };
    forEachPartition(m.assigned, release);
    forEachPartition(m.pendingRevocation, release);
    if (m.instanceId !== null && this.staticMembers.get(m.instanceId) === m.memberId)
      this.staticMembers.delete(m.instanceId);
    for (const t of m.subscribedTopicNames) dec(this.subscribedNames, t);
    if (m.subscribedTopicRegex !== null) dec(this.subscribedRegexes, m.subscribedTopicRegex);
    if (m.serverAssignor !== null) dec(this.namedAssignors, m.serverAssignor);
  }

  /** The assignor most members name (ties: the first in `enabled`), else `enabled[0]`. */
  preferredAssignor(enabled: readonly string[]): string {
    let best = enabled[0] ?? 'uniform';
    let bestCount = 0;
    for (const name of enabled) {
      const n = this.namedAssignors.get(name) ?? 0;
      if (n > bestCount) {
        best = name;
        bestCount = n;
      }
    }
    return best;
  }

  /** Every record that states this group (a snapshot of the partition re-writes these). */
  records(groupId: string): ConsumerGroupRecord[] {
    const out: ConsumerGroupRecord[] = [
      {
        type: 'consumer-group',
        groupId,
        value: {
          groupEpoch: this.groupEpoch,
          assignmentEpoch: this.assignmentEpoch,
          assignor: this.assignor,
          metadataHash: this.metadataHash,
        },
      },
    ];
    for (const m of this.members.values())
      out.push(...memberRecords(groupId, m, this.targets.get(m.memberId)));
    return out;
  }

  invariantViolations(): string[] {
    const v: string[] = [];
    const seen = new Map<string, string>();
    for (const m of this.members.values()) {
      const see = (t: string, p: number): void => {
        const k = partitionKey(t, p);
        const other = seen.get(k);
        if (other !== undefined) v.push(`partition ${k} held by ${other} and ${m.memberId}`);
        seen.set(k, m.memberId);
        if (this.holders.get(k) !== m.memberId) v.push(`holders[${k}] is not ${m.memberId}`);
      };
      forEachPartition(m.assigned, see);
      forEachPartition(m.pendingRevocation, see);
      if (m.state !== 'unrevoked' && m.pendingRevocation.size > 0)
        v.push(`member ${m.memberId} is ${m.state} with partitions pending revocation`);
      if (m.memberEpoch !== STATIC_LEFT_EPOCH && m.memberEpoch > this.assignmentEpoch)
        v.push(`member ${m.memberId} at epoch ${m.memberEpoch} > assignment epoch ${this.assignmentEpoch}`);
      if (m.instanceId !== null && this.staticMembers.get(m.instanceId) !== m.memberId)
        v.push(`member ${m.memberId} missing from the static map`);
    }
    if (seen.size !== this.holders.size)
      v.push(`holders has ${this.holders.size} entries, members hold ${seen.size}`);
    for (const [instance, id] of this.staticMembers)
      if (this.members.get(id)?.instanceId !== instance)
        v.push(`static ${instance} maps to ${id}, not that member`);
    for (const id of this.targets.keys()) if (!this.members.has(id)) v.push(`target of unknown member ${id}`);
    if (this.assignmentEpoch > this.groupEpoch)
      v.push(`assignment epoch ${this.assignmentEpoch} > group epoch ${this.groupEpoch}`);
    return v;
  }
}

export function memberRecords(
  groupId: string,
  m: ConsumerMember,
  target: Partitions | undefined,
): ConsumerGroupRecord[] {
  return [
    { type: 'consumer-member', groupId, memberId: m.memberId, value: memberMetadataValue(m) },
    {
      type: 'consumer-assignment',
      groupId,
      memberId: m.memberId,
      value: memberAssignmentValue(m, target),
    },
  ];
}

export function memberMetadataValue(m: ConsumerMember) {
  return {
    instanceId: m.instanceId,
    rackId: m.rackId,
    clientId: m.clientId,
    clientHost: m.clientHost,
    rebalanceTimeoutMs: m.rebalanceTimeoutMs,
    serverAssignor: m.serverAssignor,
    subscribedTopicRegex: m.subscribedTopicRegex,
    subscribedTopicNames: m.subscribedTopicNames,
    classic: m.classic,
  };
}

export function memberAssignmentValue(m: ConsumerMember, target: Partitions | undefined) {
  return {
    memberEpoch: m.memberEpoch,
    previousMemberEpoch: m.previousMemberEpoch,
    state: m.state,
    assigned: m.assigned,
    pendingRevocation: m.pendingRevocation,
    target: target ?? NO_PARTITIONS,
  };
}

function inc(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

function dec(m: Map<string, number>, k: string): void {
  const n = (m.get(k) ?? 0) - 1;
  if (n <= 0) m.delete(k);
  else m.set(k, n);
}
