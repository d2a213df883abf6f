// Partition reassignment (KIP-455) as the metadata records it. While a partition moves, its
// `replicas` are the union of the replica set before the move and the target, the target first (so
// the preferred leader is the target's), with `addingReplicas` (in the target only) and
// `removingReplicas` (in the old set only) saying which are which — the shape of Kafka's
// PartitionRecord. The partition's Raft group does the moving (apps/server's cluster README,
// "Partition reassignment"); the metadata only records what is wanted and, once the group's voters
// are exactly the target, that it is done. A replica leaves `replicas` (and deletes its data) only
// then, so every node that may still hold a copy the group counts stays a replica until the
// group no longer has it.
//
// These are pure functions of a partition's record: the state machine validates brokers against
// its registrations and applies what they return.
import { MetadataError } from './errors.js';
import type { PartitionInfo } from './types.js';

/** The fields of a partition record a reassignment changes. */
export interface ReassignmentUpdate {
  readonly replicas: readonly number[];
  readonly addingReplicas: readonly number[];
  readonly removingReplicas: readonly number[];
  readonly leader: number;
  readonly isr: readonly number[];
}

function fail(code: ConstructorParameters<typeof MetadataError>[0], message: string): never {
  throw new MetadataError(code, message);
}

function same(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Whether a reassignment of the partition is in progress. */
export function isReassigning(p: PartitionInfo): boolean {
  return p.addingReplicas.length > 0 || p.removingReplicas.length > 0;
}

/**
 * The partition's target replica set: its replicas without those being removed (its replicas when
 * no reassignment is in progress), in order — the first is the preferred leader. Its length is the
 * partition's replication factor.
 */
export function targetReplicas(p: PartitionInfo): number[] {
  return p.replicas.filter((b) => !p.removingReplicas.includes(b));
}

/** The replica set before the reassignment in progress (its replicas without those being added). */
export function originalReplicas(p: PartitionInfo): number[] {
  return p.replicas.filter((b) => !p.addingReplicas.includes(b));
}

/**
 * Checks a requested target: not empty, no duplicates, non-negative ids, every broker registered
 * (INVALID_REPLICA_ASSIGNMENT, with Kafka's messages).
 */
export function checkTarget(target: readonly number[], registered: (brokerId: number) => boolean): void {
  if (target.length === 0)
    fail('INVALID_REPLICA_ASSIGNMENT', 'Empty replica list specified in partition reassignment.');
  if (new Set(target).size !== target.length)
    fail(
      'INVALID_REPLICA_ASSIGNMENT',
      `Duplicate replica ids in partition reassignment replica list: ${target.join(', ')}`,
    );
  for (const b of target) {
    if (!Number.isSafeInteger(b) || b < 0)
      fail('INVALID_REPLICA_ASSIGNMENT', `Invalid broker id ${b} in partition reassignment replica list`);
    if (!registered(b))
      fail(
        'INVALID_REPLICA_ASSIGNMENT',
        `The manual partition assignment includes broker ${b}, but no such broker is registered.`,
      );
  }
}

/**
 * A reassignment of `current` to `target` (already checked with checkTarget), or null when nothing
 * changes: the target is the current replica set, or the target of the reassignment in progress
 * (a retry). A target with the same brokers in another order only reorders the replicas (no data
 * moves). Another target while a reassignment is in progress: REASSIGNMENT_IN_PROGRESS — cancel it
 * first (Kafka replaces the reassignment in progress instead; here the data of the first may be
 * half moved, and one move at a time keeps every step a single membership change of the group).
 */
export function startReassignment(
  current: PartitionInfo,
  target: readonly number[],
  name: string,
): ReassignmentUpdate | null {
  if (isReassigning(current)) {
    if (same(targetReplicas(current), target)) return null;
    fail(
      'REASSIGNMENT_IN_PROGRESS',
      `A reassignment of ${name}-${current.partition} to [${targetReplicas(current).join(', ')}] is in progress; cancel it (or let it finish) before asking for [${target.join(', ')}]`,
    );
  }
  if (same(current.replicas, target)) return null;
  const adding = target.filter((b) => !current.replicas.includes(b));
  const removing = current.replicas.filter((b) => !target.includes(b));
  return {
    replicas: [...target, ...removing],
    addingReplicas: adding,
    removingReplicas: removing,
    leader: current.leader,
    isr: current.isr,
  };
}

/**
 * Cancels the reassignment in progress (NO_REASSIGNMENT_IN_PROGRESS without one): the replica set
 * before it is the target again. The group may have switched to the target already, so the data
 * moves back the same way: the replicas it was adding are now being removed, and those it was
 * removing are being added back (as voters still, or as learners again). Every node stays a
 * replica until the group is back to the old set.
 */
export function cancelReassignment(current: PartitionInfo, name: string): ReassignmentUpdate {
  if (!isReassigning(current))
    fail('NO_REASSIGNMENT_IN_PROGRESS', `No reassignment of ${name}-${current.partition} is in progress`);
  const original = originalReplicas(current);
  return {
    replicas: [...original, ...current.addingReplicas],
    addingReplicas: current.removingReplicas.filter((b) => original.includes(b)),
    removingReplicas: current.addingReplicas,
    leader: current.leader,
    isr: current.isr,
  };
}

/**
 * Ends the reassignment to `target` (the partition group's voters are exactly the target now):
 * the replicas become the target; the ISR and the leader keep only target replicas. Rejected
 * (INVALID_REQUEST) unless that reassignment is the one in progress.
 */
export function completeReassignment(
  current: PartitionInfo,
  target: readonly number[],
  name: string,
): ReassignmentUpdate {
  if (!isReassigning(current) || !same(targetReplicas(current), target))
    fail(
      'INVALID_REQUEST',
      `The reassignment of ${name}-${current.partition} to [${target.join(', ')}] is not the one in progress (${
        isReassigning(current) ? `[${targetReplicas(current).join(', ')}]` : 'none'
      })`,
    );
  return {
    replicas: [...target],
    addingReplicas: [],
    removingReplicas: [],
    leader: target.includes(current.leader) ? current.leader : -1,
    isr: current.isr.filter((b) => target.includes(b)),
  };
}

/**
 * Checks the reassignment fields of a partition read from a snapshot; returns them, or null when
 * they do not hold together (replicas of the partition, disjoint, without duplicates, not both
 * empty, the target not empty).
 */
export function readReassignment(
  row: unknown,
  replicas: readonly number[],
): { addingReplicas: number[]; removingReplicas: number[] } | null {
  if (!Array.isArray(row) || row.length !== 2) return null;
  const [adding, removing] = row as unknown[];
  const ids = (v: unknown): v is number[] =>
    Array.isArray(v) && v.every((x) => Number.isSafeInteger(x) && replicas.includes(x as number));
  if (!ids(adding) || !ids(removing)) return null;
  const all = [...adding, ...removing];
  if (all.length === 0 || new Set(all).size !== all.length || removing.length >= replicas.length) return null;
  return { addingReplicas: adding, removingReplicas: removing };
}
