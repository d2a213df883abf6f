// Where replicas go when a node is decommissioned or the cluster is rebalanced: pure plans over a
// cluster's Metadata (brokers with racks, partitions with replicas), carried out as partition
// reassignments (reassignments.ts). Each plan keeps a partition's replica order (the preferred
// leader stays first unless it is the one replaced) and its replication factor.
import type { BrokerInfo, TopicInfo } from './client.js';

/** One partition's move: its replicas now and where they go. */
export interface PlannedMove {
  topic: string;
  partition: number;
  from: number[];
  to: number[];
}

/** Replicas per broker (every listed broker, 0 when it holds none). */
export function replicaCounts(
  brokers: readonly BrokerInfo[],
  topics: readonly TopicInfo[],
): Map<number, number> {
  const counts = new Map<number, number>(brokers.map((b) => [b.nodeId, 0]));
  for (const t of topics)
    for (const p of t.partitions) for (const r of p.replicas) counts.set(r, (counts.get(r) ?? 0) + 1);
  return counts;
}

/**
 * The broker to take a replica of a partition now on `replicas` (leaving `leaving`): not already a
 * replica, preferably not in a rack the other replicas use (rack-aware), then the fewest replicas,
 * then the lowest id. Undefined when no broker is left.
 */
export function chooseBroker(
  brokers: readonly BrokerInfo[],
  counts: ReadonlyMap<number, number>,
  replicas: readonly number[],
  leaving: number | undefined,
): number | undefined {
  const rackOf = new Map(brokers.map((b) => [b.nodeId, b.rack]));
  const usedRacks = new Set(replicas.filter((r) => r !== leaving).map((r) => rackOf.get(r) ?? null));
  const candidates = brokers
    .filter((b) => !replicas.includes(b.nodeId) && b.nodeId !== leaving)
    .map((b) => ({
      id: b.nodeId,
      // A rack none of the partition's other replicas is in (brokers without a rack never conflict).
      rackClash: b.rack !== null && usedRacks.has(b.rack) ? 1 : 0,
      count: counts.get(b.nodeId) ?? 0,
    }))
    .sort((a, b) => a.rackClash - b.rackClash || a.count - b.count || a.id - b.id);
  return candidates[0]?.id;
}

/**
 * Moves every replica off broker `nodeId` (decommission): each partition holding it gets, in its
 * place, the broker chooseBroker picks, counting the moves planned so far. Partitions with no broker
 * to take it are listed in `stuck`.
 */
export function planDecommission(
  brokers: readonly BrokerInfo[],
  topics: readonly TopicInfo[],
  nodeId: number,
): { moves: PlannedMove[]; stuck: Array<{ topic: string; partition: number }> } {
  const others = brokers.filter((b) => b.nodeId !== nodeId);
  const counts = replicaCounts(others, topics);
  counts.delete(nodeId);
  const moves: PlannedMove[] = [];
  const stuck: Array<{ topic: string; partition: number }> = [];
  for (const t of topics)
    for (const p of t.partitions) {
      if (!p.replicas.includes(nodeId)) continue;
      const to = chooseBroker(others, counts, p.replicas, nodeId);
      if (to === undefined) {
        stuck.push({ topic: t.name, partition: p.partition });
        continue;
      }
      counts.set(to, (counts.get(to) ?? 0) + 1);
      moves.push({
        topic: t.name,
        partition: p.partition,
        from: [...p.replicas],
        to: p.replicas.map((r) => (r === nodeId ? to : r)),
      });
    }
  return { moves, stuck };
}

/**
 * A bounded rebalance: at most `maxMoves` moves, each taking one replica from the busiest broker
 * that can give one to the broker chooseBroker picks for it (not a replica of the partition,
 * rack-aware where racks are set, then the lightest; it must end with fewer than the giver had),
 * while some broker holds two or more replicas more than the lightest. A partition moves at most
 * once per plan; its preferred leader stays first unless it is the replica moved. With racks, the
 * balance reached is the best that keeps partitions spread over racks (a rack with fewer brokers
 * holds more per broker).
 */
export function planRebalance(
  brokers: readonly BrokerInfo[],
  topics: readonly TopicInfo[],
  maxMoves: number,
): PlannedMove[] {
  const counts = replicaCounts(brokers, topics);
  const replicasOf = new Map<string, number[]>();
  for (const t of topics)
    for (const p of t.partitions) replicasOf.set(`${t.name}\u0000${p.partition}`, [...p.replicas]);
  const moved = new Set<string>();
  const moves: PlannedMove[] = [];
  while (moves.length < maxMoves) {
    const byLoad = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    const least = byLoad[byLoad.length - 1];
    if (least === undefined) break;
    // The busiest broker that has a replica some lighter broker may take (the busiest may have
    // none: every taker of its partitions in a rack they use, or too heavy).
    let move: PlannedMove | undefined;
    for (const [giver, load] of byLoad) {
      if (load - least[1] <= 1) break;
      for (const [key, replicas] of [...replicasOf].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
        if (moved.has(key) || !replicas.includes(giver)) continue;
        // Only a move that narrows the gap: the taker ends with fewer than the giver had.
        const target = chooseBroker(brokers, counts, replicas, giver);
        if (target === undefined || (counts.get(target) ?? 0) > load - 2) continue;
        const sep = key.indexOf('\u0000');
        move = {
          topic: key.slice(0, sep),
          partition: Number(key.slice(sep + 1)),
          from: replicas,
          to: replicas.map((r) => (r === giver ? target : r)),
        };
        replicasOf.set(key, move.to);
        moved.add(key);
        counts.set(giver, load - 1);
        counts.set(target, (counts.get(target) ?? 0) + 1);
        break;
      }
      if (move !== undefined) break;
    }
    if (move === undefined) break;
    moves.push(move);
  }
  return moves;
}

/**
 * The topics with each partition that is moving (a reassignment in progress: ListPartitionReassignments)
 * shown at its target (its replicas without those being removed), so a plan made while moves run
 * (a command run again after an interruption) starts from where they end, and asks for a moving
 * partition's own target again (accepted as a retry) rather than for another one (refused).
 */
export function atTargets(
  topics: readonly TopicInfo[],
  moving: ReadonlyArray<{ topic: string; partition: number; replicas: number[]; removingReplicas: number[] }>,
): TopicInfo[] {
  const target = new Map(
    moving.map((r) => [
      `${r.topic}\u0000${r.partition}`,
      r.replicas.filter((b) => !r.removingReplicas.includes(b)),
    ]),
  );
  return topics.map((t) => ({
    ...t,
    partitions: t.partitions.map((p) => {
      const to = target.get(`${t.name}\u0000${p.partition}`);
      return to === undefined ? p : { ...p, replicas: to };
    }),
  }));
}

/**
 * Spreads preferred leaders (a partition's first replica leads it whenever it can): at most
 * `maxMoves` reorders, each putting first, in a partition whose preferred leader is the broker
 * preferred most often, a replica of it preferred at least two times fewer — while the most and the
 * least preferred brokers differ by more than one. A reorder moves no data; `electLeaders` then moves
 * leadership. Brokers holding no replica of a partition cannot lead it, so this spreads leaders only
 * as far as the replicas allow.
 */
export function planLeaderBalance(
  brokers: readonly BrokerInfo[],
  topics: readonly TopicInfo[],
  maxMoves: number,
): PlannedMove[] {
  const preferred = new Map<number, number>(brokers.map((b) => [b.nodeId, 0]));
  const replicasOf: Array<[string, number, number[]]> = [];
  for (const t of topics)
    for (const p of t.partitions) {
      const first = p.replicas[0];
      if (first !== undefined) preferred.set(first, (preferred.get(first) ?? 0) + 1);
      replicasOf.push([t.name, p.partition, [...p.replicas]]);
    }
  const moves: PlannedMove[] = [];
  const moved = new Set<string>();
  while (moves.length < maxMoves) {
    const byCount = [...preferred].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    const most = byCount[0];
    const least = byCount[byCount.length - 1];
    if (most === undefined || least === undefined || most[1] - least[1] <= 1) break;
    let best: { entry: [string, number, number[]]; to: number } | undefined;
    for (const entry of replicasOf) {
      const [topic, partition, replicas] = entry;
      if (replicas[0] !== most[0] || moved.has(`${topic}\u0000${partition}`)) continue;
      // The least preferred of its other replicas, if taking one more narrows the gap.
      const to = replicas
        .slice(1)
        .filter((r) => (preferred.get(r) ?? 0) <= most[1] - 2)
        .sort((a, b) => (preferred.get(a) ?? 0) - (preferred.get(b) ?? 0) || a - b)[0];
      if (to === undefined) continue;
      if (best === undefined || (preferred.get(to) ?? 0) < (preferred.get(best.to) ?? 0))
        best = { entry, to };
    }
    if (best === undefined) break;
    const [topic, partition, replicas] = best.entry;
    const next = [best.to, ...replicas.filter((r) => r !== best.to)];
    moves.push({ topic, partition, from: [...replicas], to: next });
    best.entry[2] = next;
    moved.add(`${topic}\u0000${partition}`);
    preferred.set(most[0], most[1] - 1);
    preferred.set(best.to, (preferred.get(best.to) ?? 0) + 1);
  }
  return moves;
}
