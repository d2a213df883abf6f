// Sets of topic partitions as the consumer group protocol (KIP-848) names them: by topic id, each
// topic's partitions sorted ascending without duplicates. Values are never mutated once built
// (members and assignments are replaced, not edited), so they are shared freely between the
// committed state and a batch's draft.

/** topic id (UUID, lower-case) → its partitions, ascending, no duplicates; no empty entries. */
export type Partitions = ReadonlyMap<string, readonly number[]>;

export const NO_PARTITIONS: Partitions = new Map();

/** Builds a normalized set (sorted, deduplicated, empty topics dropped) from any entries. */
export function partitionsOf(entries: Iterable<readonly [string, Iterable<number>]>): Partitions {
  const out = new Map<string, number[]>();
  for (const [topicId, ps] of entries) {
    const merged = new Set(out.get(topicId) ?? []);
    for (const p of ps) merged.add(p);
    if (merged.size > 0)
      out.set(
        topicId,
        [...merged].sort((a, b) => a - b),
      );
  }
  return out;
}

export function partitionCount(s: Partitions): number {
  let n = 0;
  for (const ps of s.values()) n += ps.length;
  return n;
}

export function hasPartition(s: Partitions, topicId: string, partition: number): boolean {
  const ps = s.get(topicId);
  if (ps === undefined) return false;
  // Sorted: binary search.
  let lo = 0;
  let hi = ps.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = ps[mid] ?? 0;
    if (v === partition) return true;
    if (v < partition) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

export function partitionsEqual(a: Partitions, b: Partitions): boolean {
  if (a === b) return true;
  if (a.size !== b.size) return false;
  for (const [t, ps] of a) {
    const qs = b.get(t);
    if (qs === undefined || qs.length !== ps.length) return false;
    for (let i = 0; i < ps.length; i++) if (ps[i] !== qs[i]) return false;
  }
  return true;
}

/** Every partition of `a` is in `b`. */
export function isSubset(a: Partitions, b: Partitions): boolean {
  for (const [t, ps] of a) for (const p of ps) if (!hasPartition(b, t, p)) return false;
  return true;
}

/** Whether `a` and `b` share a partition. */
export function intersects(a: Partitions, b: Partitions): boolean {
  for (const [t, ps] of a) {
    if (!b.has(t)) continue;
    for (const p of ps) if (hasPartition(b, t, p)) return true;
  }
  return false;
}

/** Calls `fn` for every partition, topics in map order, partitions ascending. */
export function forEachPartition(s: Partitions, fn: (topicId: string, partition: number) => void): void {
  for (const [t, ps] of s) for (const p of ps) fn(t, p);
}

/** The set as wire entries, topics sorted by id (a stable order for records and answers). */
export function partitionsToList(s: Partitions): Array<{ topicId: string; partitions: number[] }> {
  return [...s.keys()].sort().map((topicId) => ({ topicId, partitions: [...(s.get(topicId) ?? [])] }));
}

/** A key for one partition in flat maps. */
export function partitionKey(topicId: string, partition: number): string {
  return `${topicId}:${partition}`;
}
