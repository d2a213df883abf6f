// One group's in-memory state: members, the protocol bookkeeping of Kafka's GroupMetadata, and its
// committed offsets. No timers and no I/O here: the coordinator drives transitions.
//
// Invariants (asserted by the coordinator's tests):
//   numAwaitingJoin = |{ m in members : m.joinCallback defined }|
//   leaderId is null  <=>  members is empty
//   staticMembers maps each member's groupInstanceId to its memberId, and nothing else
//   state Empty  =>  members is empty;  state Stable/CompletingRebalance  =>  protocolName != null
import type { TimerHandle } from '@chronik/env';
import type { CommittedOffset, StoredGroup } from './records.js';
import type { GroupProtocol, GroupState, JoinGroupResult, SyncGroupResult } from './types.js';
import type { ConsumerGroupState } from './consumer-group.js';
import { CONSUMER_PROTOCOL_TYPE, subscribedTopics } from './consumer-protocol.js';
import { PendingTxnOffsets } from './txn-offsets.js';

export const EMPTY_BYTES = new Uint8Array(0);

/** Legal transitions, from Kafka's GroupState.validPreviousStates. */
const VALID_PREVIOUS: Record<GroupState, readonly GroupState[]> = {
  Empty: ['PreparingRebalance'],
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  Dead: ['Stable', 'PreparingRebalance', 'CompletingRebalance', 'Empty', 'Dead'],
};

export class Member {
  assignment: Uint8Array = EMPTY_BYTES;
  joinCallback: ((r: JoinGroupResult) => void) | undefined;
  syncCallback: ((r: SyncGroupResult) => void) | undefined;
  /** Joined in the current rebalance and not yet answered: may expire while waiting. */
  isNew = false;
  heartbeatTimer: TimerHandle | undefined;

  constructor(
    public memberId: string,
    readonly groupInstanceId: string | null,
    public clientId: string,
    public clientHost: string,
    public rebalanceTimeoutMs: number,
    public sessionTimeoutMs: number,
    public protocolType: string,
    public protocols: readonly GroupProtocol[],
  ) {}

  metadataFor(protocol: string): Uint8Array {
    return this.protocols.find((p) => p.name === protocol)?.metadata ?? EMPTY_BYTES;
  }

  /** Same protocols, in the same order, with the same metadata bytes. */
  matches(protocols: readonly GroupProtocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    return protocols.every((p, i) => {
      const q = this.protocols[i];
      return q !== undefined && q.name === p.name && Buffer.compare(q.metadata, p.metadata) === 0;
    });
  }

  /** The member's most preferred protocol among the candidates. */
  vote(candidates: ReadonlySet<string>): string | undefined {
    return this.protocols.find((p) => candidates.has(p.name))?.name;
  }

  /** Whether a session-timeout expiry must leave this member alone (Kafka's hasSatisfiedHeartbeat). */
  get expiryExempt(): boolean {
    return !this.isNew && (this.joinCallback !== undefined || this.syncCallback !== undefined);
  }
}

export interface PartitionKey {
  topic: string;
  partition: number;
}

export class Group {
  state: GroupState = 'Empty';
  stateTimestampMs: number;
  protocolType: string | null = null;
  protocolName: string | null = null;
  generationId = 0;
  leaderId: string | null = null;
  readonly members = new Map<string, Member>();
  /** group.instance.id → member id. */
  readonly staticMembers = new Map<string, string>();
  /** Members told MEMBER_ID_REQUIRED, with their expiry timer. */
  readonly pendingMembers = new Map<string, TimerHandle>();
  /** Members of the current generation that have not sent SyncGroup yet. */
  readonly pendingSyncMembers = new Set<string>();
  numAwaitingJoin = 0;
  /** A new member joined during the initial rebalance delay (extends it). */
  newMemberAdded = false;
  initialDelayActive = false;
  private readonly supportedProtocols = new Map<string, number>();
  joinTimer: TimerHandle | undefined;
  syncTimer: TimerHandle | undefined;
  /** Topics the members consume (protocol type "consumer" with readable subscriptions), else null. */
  subscribedTopics: Set<string> | null = null;
  /** topic → partition → committed offset. */
  readonly offsets = new Map<string, Map<number, CommittedOffset>>();
  offsetCount = 0;
  /** The group metadata last written durably (what the log says), or null if none was. */
  lastStored: StoredGroup | null = null;
  /** "topic\0partition" → commits of it being written (plain and transactional). */
  readonly pendingOffsetCommits = new Map<string, number>();
  /** Transactional offset commits written and waiting for their transaction's marker. */
  txnOffsets = new PendingTxnOffsets();
  /**
   * Set for a group of the consumer protocol (KIP-848; consumer-coordinator.ts runs it): the
   * classic fields above then stay empty (state Empty, no members), the offsets are shared.
   */
  consumer: ConsumerGroupState | null = null;

  constructor(
    readonly groupId: string,
    readonly partition: number,
    nowMs: number,
  ) {
    this.stateTimestampMs = nowMs;
  }

  is(state: GroupState): boolean {
    return this.state === state;
  }

  transitionTo(state: GroupState, nowMs: number): void {
    if (!VALID_PREVIOUS[state].includes(this.state)) {
      throw new Error(`group ${this.groupId}: illegal transition ${this.state} -> ${state}`);
    }
    this.state = state;
    this.stateTimestampMs = nowMs;
  }

  get size(): number {
    return this.members.size;
  }

  has(memberId: string): boolean {
    return this.members.has(memberId);
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  add(member: Member, joinCallback: ((r: JoinGroupResult) => void) | undefined): void {
    if (this.members.size === 0) this.protocolType = member.protocolType;
    if (this.leaderId === null) this.leaderId = member.memberId;
    this.members.set(member.memberId, member);
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId);
    this.incSupported(member);
    this.setJoinCallback(member, joinCallback);
    this.pendingMembers.get(member.memberId)?.cancel();
    this.pendingMembers.delete(member.memberId);
  }

  remove(memberId: string): Member | undefined {
    const member = this.members.get(memberId);
    if (member === undefined) return undefined;
    this.decSupported(member);
    this.setJoinCallback(member, undefined);
    this.members.delete(memberId);
    this.pendingSyncMembers.delete(memberId);
    if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === memberId) {
      this.staticMembers.delete(member.groupInstanceId);
    }
    if (this.leaderId === memberId) this.leaderId = this.members.keys().next().value ?? null;
    return member;
  }

  setJoinCallback(member: Member, cb: ((r: JoinGroupResult) => void) | undefined): void {
    if (member.joinCallback === undefined && cb !== undefined) this.numAwaitingJoin++;
    else if (member.joinCallback !== undefined && cb === undefined) this.numAwaitingJoin--;
    member.joinCallback = cb;
  }

  updateMember(
    member: Member,
    protocols: readonly GroupProtocol[],
    rebalanceTimeoutMs: number,
    sessionTimeoutMs: number,
  ): void {
    this.decSupported(member);
    member.protocols = protocols;
    this.incSupported(member);
    member.rebalanceTimeoutMs = rebalanceTimeoutMs;
    member.sessionTimeoutMs = sessionTimeoutMs;
  }

  /** The static member `instanceId` gets the new member id; its old requests are answered by the caller. */
  replaceStaticMember(instanceId: string, oldMemberId: string, newMemberId: string): Member {
    const member = this.members.get(oldMemberId);
    if (member === undefined)
      throw new Error(`static member ${instanceId} (${oldMemberId}) is not in group ${this.groupId}`);
    this.members.delete(oldMemberId);
    member.memberId = newMemberId;
    this.members.set(newMemberId, member);
    if (this.leaderId === oldMemberId) this.leaderId = newMemberId;
    this.staticMembers.set(instanceId, newMemberId);
    if (this.pendingSyncMembers.delete(oldMemberId)) this.pendingSyncMembers.add(newMemberId);
    return member;
  }

  /** FENCED_INSTANCE_ID condition: the instance id belongs to another member id. */
  isStaticMemberFenced(instanceId: string, memberId: string): boolean {
    const current = this.staticMembers.get(instanceId);
    return current !== undefined && current !== memberId;
  }

  private incSupported(member: Member): void {
    for (const p of new Set(member.protocols.map((x) => x.name)))
      this.supportedProtocols.set(p, (this.supportedProtocols.get(p) ?? 0) + 1);
  }

  private decSupported(member: Member): void {
    for (const p of new Set(member.protocols.map((x) => x.name))) {
      const n = (this.supportedProtocols.get(p) ?? 0) - 1;
      if (n <= 0) this.supportedProtocols.delete(p);
      else this.supportedProtocols.set(p, n);
    }
  }

  /** Whether a member with this protocol type and these protocols may join. */
  supportsProtocols(protocolType: string, protocols: readonly GroupProtocol[]): boolean {
    if (this.is('Empty')) return protocolType !== '' && protocols.length > 0;
    return (
      this.protocolType === protocolType &&
      protocols.some((p) => this.supportedProtocols.get(p.name) === this.members.size)
    );
  }

  private candidateProtocols(): Set<string> {
    const n = this.members.size;
    const out = new Set<string>();
    for (const [name, count] of this.supportedProtocols) if (count === n) out.add(name);
    return out;
  }

  /**
   * The protocol every member supports that most members prefer; ties go to the one the earliest
   * member lists first (deterministic, where Kafka leaves it to hash order).
   */
  selectProtocol(): string {
    const candidates = this.candidateProtocols();
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const v = m.vote(candidates);
      if (v !== undefined) votes.set(v, (votes.get(v) ?? 0) + 1);
    }
    let best: string | undefined;
    let bestVotes = -1;
    for (const [name, n] of votes) {
      if (n > bestVotes) {
        best = name;
        bestVotes = n;
      }
    }
    if (best === undefined) throw new Error(`group ${this.groupId}: no protocol common to all members`);
    return best;
  }

  get rebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  /** Every member has rejoined and no member told MEMBER_ID_REQUIRED is still expected. */
  hasAllMembersJoined(): boolean {
    return this.numAwaitingJoin === this.members.size && this.pendingMembers.size === 0;
  }

  /** Keeps the leader if it rejoined, else picks the first member that did. */
  maybeElectNewJoinedLeader(): boolean {
    if (this.leaderId === null) return false;
    const leader = this.members.get(this.leaderId);
    if (leader?.joinCallback !== undefined) return true;
    for (const m of this.members.values()) {
      if (m.joinCallback !== undefined) {
        this.leaderId = m.memberId;
        return true;
      }
    }
    return false;
  }

  computeSubscribedTopics(): Set<string> | null {
    if (this.protocolType !== CONSUMER_PROTOCOL_TYPE || this.protocolName === null || this.members.size === 0)
      return null;
    const topics = new Set<string>();
    for (const m of this.members.values()) {
      const t = subscribedTopics(m.metadataFor(this.protocolName));
      if (t === null) return null;
      for (const x of t) topics.add(x);
    }
    return topics;
  }

  /** Violations of the invariants stated at the top of this file (empty when all hold). */
  invariantViolations(): string[] {
    const v: string[] = [];
    let awaiting = 0;
    for (const m of this.members.values()) if (m.joinCallback !== undefined) awaiting++;
    if (awaiting !== this.numAwaitingJoin) v.push(`numAwaitingJoin ${this.numAwaitingJoin} != ${awaiting}`);
    if ((this.leaderId === null) !== (this.members.size === 0))
      v.push(`leader ${String(this.leaderId)} with ${this.members.size} members`);
    if (this.leaderId !== null && !this.members.has(this.leaderId))
      v.push(`leader ${this.leaderId} is not a member`);
    for (const [instance, id] of this.staticMembers) {
      if (this.members.get(id)?.groupInstanceId !== instance)
        v.push(`static ${instance} maps to ${id}, which is not that member`);
    }
    for (const m of this.members.values()) {
      if (m.groupInstanceId !== null && this.staticMembers.get(m.groupInstanceId) !== m.memberId)
        v.push(`member ${m.memberId} missing from the static map`);
    }
    if (this.is('Empty') && this.members.size > 0) v.push(`Empty with ${this.members.size} members`);
    if (
      (this.is('Stable') || this.is('CompletingRebalance')) &&
      (this.protocolName === null || this.members.size === 0)
    )
      v.push(`${this.state} without protocol or members`);
    for (const id of this.pendingSyncMembers)
      if (!this.members.has(id)) v.push(`pending sync ${id} is not a member`);
    let offsets = 0;
    for (const t of this.offsets.values()) offsets += t.size;
    if (offsets !== this.offsetCount) v.push(`offsetCount ${this.offsetCount} != ${offsets}`);
    v.push(...this.txnOffsets.invariantViolations());
    return v.map((x) => `group ${this.groupId}: ${x}`);
  }

  isSubscribedToTopic(topic: string): boolean {
    return this.subscribedTopics?.has(topic) ?? false;
  }

  // ---- offsets ----

  getOffset(topic: string, partition: number): CommittedOffset | undefined {
    return this.offsets.get(topic)?.get(partition);
  }

  setOffset(topic: string, partition: number, value: CommittedOffset): void {
    let t = this.offsets.get(topic);
    if (t === undefined) {
      t = new Map();
      this.offsets.set(topic, t);
    }
    if (!t.has(partition)) this.offsetCount++;
    t.set(partition, value);
  }

  deleteOffset(topic: string, partition: number): boolean {
    const t = this.offsets.get(topic);
    if (t === undefined || !t.delete(partition)) return false;
    this.offsetCount--;
    if (t.size === 0) this.offsets.delete(topic);
    return true;
  }

  allOffsets(): Array<PartitionKey & { value: CommittedOffset }> {
    const out: Array<PartitionKey & { value: CommittedOffset }> = [];
    for (const [topic, parts] of this.offsets)
      for (const [partition, value] of parts) out.push({ topic, partition, value });
    return out;
  }

  /** A commit of the partition is being written, or a transaction's commit of it awaits its marker. */
  hasPendingCommit(topic: string, partition: number): boolean {
    return (
      (this.pendingOffsetCommits.get(`${topic}\0${partition}`) ?? 0) > 0 ||
      this.txnOffsets.has(topic, partition)
    );
  }

  /** Nothing is being written for the group and no transaction's commit awaits its marker. */
  get hasNoPendingCommits(): boolean {
    return this.pendingOffsetCommits.size === 0 && this.txnOffsets.size === 0;
  }

  addPendingCommit(topic: string, partition: number, delta: 1 | -1): void {
    const k = `${topic}\0${partition}`;
    const n = (this.pendingOffsetCommits.get(k) ?? 0) + delta;
    if (n <= 0) this.pendingOffsetCommits.delete(k);
    else this.pendingOffsetCommits.set(k, n);
  }
}
