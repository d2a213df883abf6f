// The reconciliation of one member of a consumer group (KIP-848): from what the member holds now
// towards its target assignment, one step per heartbeat, never giving it a partition that another
// member still holds. A pure function; the engine (consumer-coordinator.ts) applies its result.
//
// A member is in one of three states:
//   stable      it holds what its epoch's target gives it (`assigned`), nothing more to do unless a
//               newer target exists (its epoch < the assignment epoch);
//   unrevoked   it must give up `pendingRevocation` first: it keeps its epoch, and is told only
//               `assigned` (its target ∩ what it held); it moves on once a heartbeat reports owning
//               none of the revoked partitions;
//   unreleased  it is at the target epoch but some of its target partitions are still held by
//               other members (assigned to them or pending their revocation): it gets each one once
//               it is free.
//
// Next step (computeNext), per topic:  assigned' = assigned ∩ target,  revoke = assigned − target,
// toAssign = target − assigned' − (held by another member).
//   revoke ≠ ∅ and the member still reports owning some of it → unrevoked, epoch unchanged
//   otherwise → epoch = target epoch, assigned' ∪ toAssign, unreleased if a target partition is
//   held by another member, else stable.
// The invariant the engine keeps with it: a partition is in at most one member's
// assigned ∪ pendingRevocation, so two members are never told to own the same partition.
import type { Partitions } from './consumer-partitions.js';
import {
  NO_PARTITIONS,
  hasPartition,
  intersects,
  partitionsEqual,
  partitionsOf,
} from './consumer-partitions.js';

export const MEMBER_STATES = ['stable', 'unrevoked', 'unreleased'] as const;
export type MemberState = (typeof MEMBER_STATES)[number];

export interface MemberAssignmentState {
  memberEpoch: number;
  /** The epoch before the last change (a heartbeat that missed the bump is still accepted with it). */
  previousMemberEpoch: number;
  state: MemberState;
  /** What the member may use now (told in heartbeat answers). */
  assigned: Partitions;
  /** What it must give up before it moves on (state unrevoked only). */
  pendingRevocation: Partitions;
}

export interface ReconcileInput {
  memberId: string;
  current: MemberAssignmentState;
  targetEpoch: number;
  target: Partitions;
  /** The member holding a partition (assigned or pending revocation), if any. */
  holderOf(topicId: string, partition: number): string | undefined;
  /** The partitions the member reports owning in this heartbeat; null = not reported (unknown). */
  owned: Partitions | null;
}

/** The member's next state; `current` itself when nothing changes. */
export function reconcile(input: ReconcileInput): MemberAssignmentState {
  const { current } = input;
  switch (current.state) {
    case 'stable':
      return current.memberEpoch === input.targetEpoch ? current : computeNext(input);
    case 'unrevoked':
      return ownsAny(input.owned, current.pendingRevocation) ? current : computeNext(input);
    case 'unreleased':
      return computeNext(input);
  }
}

/** Whether the reported partitions include any of `revoked` (unknown ownership counts as yes). */
function ownsAny(owned: Partitions | null, revoked: Partitions): boolean {
  if (owned === null) return true;
  return intersects(owned, revoked);
}

function computeNext(input: ReconcileInput): MemberAssignmentState {
  const { current, target, memberId } = input;
  const assigned = new Map<string, number[]>();
  const revoke = new Map<string, number[]>();
  const toAssign = new Map<string, number[]>();
  let unreleased = false;
  const topics = new Set([...current.assigned.keys(), ...target.keys()]);
  for (const t of topics) {
    for (const p of current.assigned.get(t) ?? []) {
      const list = hasPartition(target, t, p) ? assigned : revoke;
      push(list, t, p);
    }
    for (const p of target.get(t) ?? []) {
      if (hasPartition(current.assigned, t, p)) continue;
      const holder = input.holderOf(t, p);
      if (holder !== undefined && holder !== memberId) unreleased = true;
      else push(toAssign, t, p);
    }
  }
  const revokeSet = partitionsOf(revoke);
  if (revokeSet.size > 0 && ownsAny(input.owned, revokeSet)) {
    return next(current, {
      memberEpoch: current.memberEpoch,
      state: 'unrevoked',
      assigned: partitionsOf(assigned),
      pendingRevocation: revokeSet,
    });
  }
  for (const [t, ps] of toAssign) for (const p of ps) push(assigned, t, p);
  return next(current, {
    memberEpoch: input.targetEpoch,
    state: unreleased ? 'unreleased' : 'stable',
    assigned: partitionsOf(assigned),
    pendingRevocation: NO_PARTITIONS,
  });
}

function push(m: Map<string, number[]>, t: string, p: number): void {
  let list = m.get(t);
  if (list === undefined) {
    list = [];
    m.set(t, list);
  }
  list.push(p);
}

/** `current` when `changes` change nothing, else the new state (previous epoch kept on a bump). */
function next(
  current: MemberAssignmentState,
  changes: Omit<MemberAssignmentState, 'previousMemberEpoch'>,
): MemberAssignmentState {
  if (
    changes.memberEpoch === current.memberEpoch &&
    changes.state === current.state &&
    partitionsEqual(changes.assigned, current.assigned) &&
    partitionsEqual(changes.pendingRevocation, current.pendingRevocation)
  )
    return current;
  return {
    ...changes,
    previousMemberEpoch:
      changes.memberEpoch === current.memberEpoch ? current.previousMemberEpoch : current.memberEpoch,
  };
}
