import { MetadataError } from './errors.js';

/** A broker as the assignment sees it. */
export interface AssignmentBroker {
  readonly brokerId: number;
  readonly rack: string | null;
}

/**
 * The order in which round-robin walks the brokers. Without racks (or when any broker has none,
 * in which case racks are ignored): by broker id. With racks: Kafka's rack-alternated list —
 * racks sorted by name, brokers of each rack by id, then one broker of each rack in turn — so
 * that consecutive positions are on different racks.
 */
export function rackAlternatedOrder(brokers: readonly AssignmentBroker[]): AssignmentBroker[] {
  const sorted = [...brokers].sort((a, b) => a.brokerId - b.brokerId);
  if (sorted.length === 0 || sorted.some((b) => b.rack === null)) return sorted;
  const byRack = new Map<string, AssignmentBroker[]>();
  for (const b of sorted) {
    const list = byRack.get(b.rack as string);
    if (list === undefined) byRack.set(b.rack as string, [b]);
    else list.push(b);
  }
  const racks = [...byRack.keys()].sort();
  const out: AssignmentBroker[] = [];
  for (let round = 0; out.length < sorted.length; round++) {
    for (const rack of racks) {
      const b = (byRack.get(rack) as AssignmentBroker[])[round];
      if (b !== undefined) out.push(b);
    }
  }
  return out;
}

export interface AssignReplicasInput {
  /** Live brokers that may receive replicas; any order (the function orders them itself). */
  readonly brokers: readonly AssignmentBroker[];
  readonly partitionCount: number;
  readonly replicationFactor: number;
  /** Position (in `rackAlternatedOrder(brokers)`) of partition 0's leader. */
  readonly startIndex: number;
}

/**
 * Round-robin replica assignment (pure, deterministic). Partition p's leader is the broker at
 * position (startIndex + p) mod n of the rack-alternated order; its followers are the next
 * brokers in that order, skipping brokers whose rack already holds a replica of the partition
 * until every rack holds one. Never puts two replicas of a partition on one broker.
 * Throws INVALID_REPLICATION_FACTOR when there are fewer brokers than replicas.
 */
export function assignReplicas(input: AssignReplicasInput): number[][] {
  const order = rackAlternatedOrder(input.brokers);
  const n = order.length;
  const rf = input.replicationFactor;
  if (rf < 1)
    throw new MetadataError('INVALID_REPLICATION_FACTOR', 'Replication factor must be larger than 0');
  if (rf > n) {
    throw new MetadataError(
      'INVALID_REPLICATION_FACTOR',
      `Unable to replicate the partition ${rf} time(s): The target replication factor of ${rf} cannot be reached because only ${n} broker(s) are registered.`,
    );
  }
  const rackAware = n > 0 && order.every((b) => b.rack !== null);
  const rackCount = rackAware ? new Set(order.map((b) => b.rack)).size : 1;
  const start = ((input.startIndex % n) + n) % n;
  const result: number[][] = [];
  for (let p = 0; p < input.partitionCount; p++) {
    const leaderPos = (start + p) % n;
    const leader = order[leaderPos] as AssignmentBroker;
    const chosen = [leader.brokerId];
    const chosenSet = new Set(chosen);
    let usedRacks = new Set<string | null>([leader.rack]);
    while (chosen.length < rf) {
      if (rackAware && usedRacks.size >= rackCount) usedRacks = new Set();
      let picked: AssignmentBroker | undefined;
      for (let j = 1; j < n; j++) {
        const candidate = order[(leaderPos + j) % n] as AssignmentBroker;
        if (chosenSet.has(candidate.brokerId)) continue;
        if (rackAware && usedRacks.has(candidate.rack)) continue;
        picked = candidate;
        break;
      }
      if (picked === undefined) {
        // Every remaining broker's rack is used already: allow repeats from here on.
        usedRacks = new Set();
        continue;
      }
      chosen.push(picked.brokerId);
      chosenSet.add(picked.brokerId);
      usedRacks.add(picked.rack);
    }
    result.push(chosen);
  }
  return result;
}

/**
 * Chooses the round-robin start position that keeps preferred leaders balanced across brokers.
 * `leaderCounts[i]` is the number of partitions whose preferred leader is the broker at position i
 * of the rack-alternated order. Minimizes the spread (max - min) of the counts after adding
 * `partitionCount` leaders; among equal spreads prefers a position that begins a run of less
 * loaded brokers (its predecessor has more leaders), then the lowest position. On a cluster where
 * only topics are created, this keeps per-broker leader counts within one of each other.
 */
export function chooseStartIndex(leaderCounts: readonly number[], partitionCount: number): number {
  const n = leaderCounts.length;
  if (n === 0) return 0;
  const remainder = partitionCount % n;
  let best = 0;
  let bestSpread = Number.POSITIVE_INFINITY;
  let bestRunStart = false;
  for (let s = 0; s < n; s++) {
    let max = Number.NEGATIVE_INFINITY;
    let min = Number.POSITIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const offset = (i - s + n) % n;
      const c = (leaderCounts[i] as number) + (offset < remainder ? 1 : 0);
      if (c > max) max = c;
      if (c < min) min = c;
    }
    const spread = max - min;
    const runStart = (leaderCounts[(s - 1 + n) % n] as number) > (leaderCounts[s] as number);
    if (spread < bestSpread || (spread === bestSpread && runStart && !bestRunStart)) {
      best = s;
      bestSpread = spread;
      bestRunStart = runStart;
    }
  }
  return best;
}
