// The server-side assignors of the consumer group protocol (KIP-848): given the members, the topics
// they subscribe to (that exist) and the previous target assignment, the new target assignment.
// Pure functions of their input, deterministic (members ordered by id, topics by name): the same
// input gives the same assignment on every node and after every failover.
//
// - uniform (the default, as Kafka's): every subscribed partition to exactly one member that
//   subscribes to its topic, as evenly as possible, moving as few partitions as it can from the
//   previous target.
//     * Homogeneous subscriptions (every member subscribes to the same topics): each member gets
//       floor(P/N) or floor(P/N)+1 partitions (P partitions, N members). Members keep the previous
//       partitions they still may have, up to their quota; those holding the most keep the extra
//       ones; the rest fills the members below their quota.
//     * Heterogeneous subscriptions: members keep what they may still have; each unassigned
//       partition (those with the fewest candidates first) goes to its least loaded candidate;
//       then a partition moves from a member to a candidate holding at least two fewer, until no
//       such move exists (bounded by 10·P + 100 moves; balanced as far as the subscriptions allow).
// - range: per topic, its partitions in consecutive ranges over the members that subscribe to it,
//   ordered by group.instance.id when they have one, else member id (the first P mod M members get
//   one more), so members with the same subscriptions get the same partition numbers of
//   co-partitioned topics. Not sticky.
// Neither looks at racks.
import type { Partitions } from './consumer-partitions.js';
import { partitionsOf } from './consumer-partitions.js';

export const SERVER_ASSIGNORS = ['uniform', 'range'] as const;
export type ServerAssignorName = (typeof SERVER_ASSIGNORS)[number];

export function isServerAssignor(name: string): name is ServerAssignorName {
  return (SERVER_ASSIGNORS as readonly string[]).includes(name);
}

export interface AssignorMember {
  memberId: string;
  instanceId: string | null;
  /** Ids of the topics it subscribes to (only those in `topics` count). */
  topicIds: ReadonlySet<string>;
}

export interface AssignorTopic {
  topicId: string;
  name: string;
  numPartitions: number;
}

export interface AssignmentSpec {
  members: readonly AssignorMember[];
  /** The subscribed topics that exist, by id. */
  topics: ReadonlyMap<string, AssignorTopic>;
  /** Member id → its previous target (stickiness; members not in it had none). */
  previous: ReadonlyMap<string, Partitions>;
}

/** Member id → its target (every member of the spec has an entry, possibly empty). */
export type TargetAssignment = Map<string, Partitions>;

export function assignPartitions(name: ServerAssignorName, spec: AssignmentSpec): TargetAssignment {
  return name === 'range' ? rangeAssign(spec) : uniformAssign(spec);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortedTopics(topics: ReadonlyMap<string, AssignorTopic>): AssignorTopic[] {
  return [...topics.values()].sort(
    (a, b) => compareStrings(a.name, b.name) || compareStrings(a.topicId, b.topicId),
  );
}

// ---- range ----------------------------------------------------------------------------------

function rangeAssign(spec: AssignmentSpec): TargetAssignment {
  const out = new Map<string, Array<[string, number[]]>>();
  for (const m of spec.members) out.set(m.memberId, []);
  const order = (m: AssignorMember): string => m.instanceId ?? m.memberId;
  for (const topic of sortedTopics(spec.topics)) {
    const subs = spec.members
      .filter((m) => m.topicIds.has(topic.topicId))
      .sort((a, b) => compareStrings(order(a), order(b)) || compareStrings(a.memberId, b.memberId));
    if (subs.length === 0) continue;
    const per = Math.floor(topic.numPartitions / subs.length);
    const extra = topic.numPartitions % subs.length;
    let next = 0;
    subs.forEach((m, i) => {
      const n = per + (i < extra ? 1 : 0);
      if (n === 0) return;
      const ps = Array.from({ length: n }, (_, k) => next + k);
      next += n;
      out.get(m.memberId)?.push([topic.topicId, ps]);
    });
  }
  const result: TargetAssignment = new Map();
  for (const [id, entries] of out) result.set(id, partitionsOf(entries));
  return result;
}

// ---- uniform --------------------------------------------------------------------------------

/** The partitions in assignment order (topics by name, partitions ascending), with lookups. */
class PartitionIndex {
  readonly topicOf: string[] = [];
  readonly numberOf: number[] = [];
  private readonly firstOf = new Map<string, number>();
  private readonly countOf = new Map<string, number>();

  constructor(topics: readonly AssignorTopic[]) {
    for (const t of topics) {
      this.firstOf.set(t.topicId, this.topicOf.length);
      this.countOf.set(t.topicId, t.numPartitions);
      for (let p = 0; p < t.numPartitions; p++) {
        this.topicOf.push(t.topicId);
        this.numberOf.push(p);
      }
    }
  }

  get size(): number {
    return this.topicOf.length;
  }

  /** The index of a partition, or -1 when it is not one of these topics' partitions. */
  indexOf(topicId: string, partition: number): number {
    const first = this.firstOf.get(topicId);
    const count = this.countOf.get(topicId) ?? 0;
    if (first === undefined || !Number.isInteger(partition) || partition < 0 || partition >= count) return -1;
    return first + partition;
  }
}

function uniformAssign(spec: AssignmentSpec): TargetAssignment {
  const members = [...spec.members].sort((a, b) => compareStrings(a.memberId, b.memberId));
  const topics = sortedTopics(spec.topics);
  const index = new PartitionIndex(topics);
  const owner = new Int32Array(index.size).fill(-1);
  if (members.length > 0) {
    const homogeneous = members.every((m) => sameTopics(m.topicIds, members[0]?.topicIds, spec.topics));
    if (homogeneous) assignHomogeneous(members, spec, index, owner);
    else assignHeterogeneous(members, spec, index, owner);
  }
  const lists = members.map(() => [] as number[]);
  for (let i = 0; i < owner.length; i++) {
    const o = owner[i] ?? -1;
    if (o >= 0) lists[o]?.push(i);
  }
  const result: TargetAssignment = new Map();
  members.forEach((m, mi) => {
    const byTopic = new Map<string, number[]>();
    for (const i of lists[mi] ?? []) {
      const t = index.topicOf[i] ?? '';
      let ps = byTopic.get(t);
      if (ps === undefined) {
        ps = [];
        byTopic.set(t, ps);
      }
      ps.push(index.numberOf[i] ?? 0);
    }
    result.set(m.memberId, partitionsOf(byTopic));
  });
  return result;
}

/** Same subscribed topics, counting only those that exist. */
function sameTopics(
  a: ReadonlySet<string>,
  b: ReadonlySet<string> | undefined,
  topics: ReadonlyMap<string, AssignorTopic>,
): boolean {
  if (b === undefined) return false;
  for (const t of a) if (topics.has(t) && !b.has(t)) return false;
  for (const t of b) if (topics.has(t) && !a.has(t)) return false;
  return true;
}

/** The previous partitions each member may still have, each partition to its first claimant. */
function keptPartitions(
  members: readonly AssignorMember[],
  spec: AssignmentSpec,
  index: PartitionIndex,
  taken: Uint8Array,
): number[][] {
  return members.map((m) => {
    const kept: number[] = [];
    for (const [topicId, ps] of spec.previous.get(m.memberId) ?? []) {
      if (!m.topicIds.has(topicId)) continue;
      for (const p of ps) {
        const i = index.indexOf(topicId, p);
        if (i < 0 || taken[i] === 1) continue;
        taken[i] = 1;
        kept.push(i);
      }
    }
    return kept.sort((x, y) => x - y);
  });
}

function assignHomogeneous(
  members: readonly AssignorMember[],
  spec: AssignmentSpec,
  index: PartitionIndex,
  owner: Int32Array,
): void {
  const first = members[0];
  if (first === undefined) return;
  // Every member subscribes to the same topics: the partitions of the subscribed ones.
  const eligible: number[] = [];
  for (let i = 0; i < index.size; i++) if (first.topicIds.has(index.topicOf[i] ?? '')) eligible.push(i);
  const n = members.length;
  const minQuota = Math.floor(eligible.length / n);
  const extra = eligible.length % n;
  const taken = new Uint8Array(index.size);
  const kept = keptPartitions(members, spec, index, taken);
  // The `extra` members allowed one more: those that keep the most, then by member id.
  const byKept = members
    .map((_, mi) => mi)
    .sort((a, b) => (kept[b]?.length ?? 0) - (kept[a]?.length ?? 0) || a - b);
  const quota = new Array<number>(n).fill(minQuota);
  for (let k = 0; k < extra; k++) {
    const mi = byKept[k];
    if (mi !== undefined) quota[mi] = minQuota + 1;
  }
  const counts = new Array<number>(n).fill(0);
  members.forEach((_, mi) => {
    for (const i of kept[mi] ?? []) {
      if ((counts[mi] ?? 0) >= (quota[mi] ?? 0)) break;
      owner[i] = mi;
      counts[mi] = (counts[mi] ?? 0) + 1;
    }
  });
  let mi = 0;
  for (const i of eligible) {
    if ((owner[i] ?? -1) >= 0) continue;
    while (mi < n && (counts[mi] ?? 0) >= (quota[mi] ?? 0)) mi++;
    if (mi >= n) break;
    owner[i] = mi;
    counts[mi] = (counts[mi] ?? 0) + 1;
  }
}

function assignHeterogeneous(
  members: readonly AssignorMember[],
  spec: AssignmentSpec,
  index: PartitionIndex,
  owner: Int32Array,
): void {
  // Candidates per topic: the members subscribing to it, in member order.
  const candidates = new Map<string, number[]>();
  members.forEach((m, mi) => {
    for (const t of m.topicIds) {
      if (!spec.topics.has(t)) continue;
      let list = candidates.get(t);
      if (list === undefined) {
        list = [];
        candidates.set(t, list);
      }
      list.push(mi);
    }
  });
  const counts = new Array<number>(members.length).fill(0);
  const taken = new Uint8Array(index.size);
  keptPartitions(members, spec, index, taken).forEach((kept, mi) => {
    for (const i of kept) {
      owner[i] = mi;
      counts[mi] = (counts[mi] ?? 0) + 1;
    }
  });
  const unassigned: number[] = [];
  for (let i = 0; i < index.size; i++)
    if (owner[i] === -1 && candidates.has(index.topicOf[i] ?? '')) unassigned.push(i);
  const candidatesOf = (i: number): number[] => candidates.get(index.topicOf[i] ?? '') ?? [];
  unassigned.sort((a, b) => candidatesOf(a).length - candidatesOf(b).length || a - b);
  for (const i of unassigned) {
    const best = leastLoaded(candidatesOf(i), counts);
    if (best < 0) continue;
    owner[i] = best;
    counts[best] = (counts[best] ?? 0) + 1;
  }
  // Moves from a member to a candidate holding at least two fewer: each lowers the sum of the
  // squared counts, so this ends; the bound only guards against pathological sizes.
  const owned = members.map(() => [] as number[]);
  for (let i = 0; i < owner.length; i++) {
    const o = owner[i] ?? -1;
    if (o >= 0) owned[o]?.push(i);
  }
  let budget = 10 * index.size + 100;
  for (let moved = true; moved && budget > 0; budget--) {
    moved = false;
    const order = members.map((_, mi) => mi).sort((a, b) => (counts[b] ?? 0) - (counts[a] ?? 0) || a - b);
    outer: for (const from of order) {
      const list = owned[from] ?? [];
      for (let k = list.length - 1; k >= 0; k--) {
        const i = list[k] ?? 0;
        const to = leastLoaded(candidatesOf(i), counts);
        if (to < 0 || (counts[to] ?? 0) > (counts[from] ?? 0) - 2) continue;
        list.splice(k, 1);
        owned[to]?.push(i);
        owner[i] = to;
        counts[from] = (counts[from] ?? 0) - 1;
        counts[to] = (counts[to] ?? 0) + 1;
        moved = true;
        break outer;
      }
    }
  }
}

/** The candidate with the fewest partitions (the first in member order on a tie), or -1. */
function leastLoaded(candidates: readonly number[], counts: readonly number[]): number {
  let best = -1;
  for (const c of candidates) if (best < 0 || (counts[c] ?? 0) < (counts[best] ?? 0)) best = c;
  return best;
}
