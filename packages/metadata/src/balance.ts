// The balancer's plans (the cluster README, "Decommission and rebalance"): pure, deterministic
// functions over the brokers (their racks, whether they may take replicas) and every partition of
// every topic (its replicas at their target: a partition moving is planned from where it ends).
// Each plan is bounded (`maxMoves`), keeps a partition's replication factor, never puts two
// replicas of a partition on one broker, and prefers a broker in a rack the partition's other
// replicas do not use (brokers without a rack never clash), then the broker holding the fewest
// replicas across all topics, then the lowest id. The metadata leader carries the moves out as
// partition reassignments (alterReassignment), a bounded number at a time.

/** A broker as the balancer sees it. */
export interface BalanceBroker {
  readonly brokerId: number;
  readonly rack: string | null;
  /** It may receive replicas (registered, not fenced, not being decommissioned). */
  readonly canTake: boolean;
}

/** A partition as the balancer sees it: its replicas at their target, the preferred leader first. */
export interface BalancePartition {
  readonly topic: string;
  readonly partition: number;
  readonly replicas: readonly number[];
}

/** One partition's move: its replicas now and where they go. */
export interface BalanceMove {
  readonly topic: string;
  readonly partition: number;
  readonly from: readonly number[];
  readonly to: readonly number[];
}

function byPartition(a: BalancePartition, b: BalancePartition): number {
  return a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1;
}

/** Replicas per broker over every partition (every listed broker, 0 when it holds none). */
export function replicaCounts(
  brokers: readonly BalanceBroker[],
  partitions: readonly BalancePartition[],
): Map<number, number> {
  const counts = new Map<number, number>(brokers.map((b) => [b.brokerId, 0]));
  for (const p of partitions) for (const r of p.replicas) counts.set(r, (counts.get(r) ?? 0) + 1);
  return counts;
}

/**
 * The broker to take the replica `leaving` of a partition on `replicas`: one that may take replicas
 * and is not a replica, in a rack the other replicas do not use if there is one, then the fewest
 * replicas, then the lowest id. Undefined when none may.
 */
export function chooseTaker(
  brokers: readonly BalanceBroker[],
  counts: ReadonlyMap<number, number>,
  replicas: readonly number[],
  leaving: number,
): number | undefined {
  const rackOf = new Map(brokers.map((b) => [b.brokerId, b.rack]));
  const usedRacks = new Set(replicas.filter((r) => r !== leaving).map((r) => rackOf.get(r) ?? null));
  let best: { id: number; clash: number; count: number } | undefined;
  for (const b of brokers) {
    if (!b.canTake || replicas.includes(b.brokerId)) continue;
    const c = {
      id: b.brokerId,
      clash: b.rack !== null && usedRacks.has(b.rack) ? 1 : 0,
      count: counts.get(b.brokerId) ?? 0,
    };
    if (best === undefined || (c.clash - best.clash || c.count - best.count || c.id - best.id) < 0) best = c;
  }
  return best?.id;
}

/**
 * Moves replicas off the draining brokers (decommission): at most `maxMoves` partitions, in topic
 * and partition order; each replica of a draining broker is replaced by the broker chooseTaker
 * picks, counting the moves planned so far; the staying replicas keep their order and the new one
 * goes last (so a staying replica becomes the preferred leader: leadership leaves the draining
 * broker without waiting for the new replica). Partitions no broker can take are `stuck`.
 */
export function planDrain(
  brokers: readonly BalanceBroker[],
  partitions: readonly BalancePartition[],
  draining: ReadonlySet<number>,
  maxMoves: number,
): { moves: BalanceMove[]; stuck: BalancePartition[] } {
  const counts = replicaCounts(brokers, partitions);
  const moves: BalanceMove[] = [];
  const stuck: BalancePartition[] = [];
  for (const p of [...partitions].sort(byPartition)) {
    if (moves.length >= maxMoves) break;
    const leaving = p.replicas.filter((r) => draining.has(r));
    if (leaving.length === 0) continue;
    let to = [...p.replicas];
    let ok = true;
    for (const n of leaving) {
      const taker = chooseTaker(brokers, counts, to, n);
      if (taker === undefined) {
        ok = false;
        break;
      }
      to = [...to.filter((r) => r !== n), taker];
      counts.set(taker, (counts.get(taker) ?? 0) + 1);
      counts.set(n, (counts.get(n) ?? 0) - 1);
    }
    if (!ok) {
      stuck.push(p);
      continue;
    }
    moves.push({ topic: p.topic, partition: p.partition, from: [...p.replicas], to });
  }
  return { moves, stuck };
}

/**
 * A bounded rebalance of replicas over every topic: at most `maxMoves` moves, each taking one
 * replica from the busiest broker that can give one to the broker chooseTaker picks (it must end
 * with fewer than the giver had), while some broker holds two or more replicas more than the
 * lightest broker that may take them. A partition moves at most once per plan; its preferred leader
 * stays first unless it is the replica moved. With racks, the balance reached is the best that
 * keeps partitions spread over racks.
 */
export function planReplicaBalance(
  brokers: readonly BalanceBroker[],
  partitions: readonly BalancePartition[],
  maxMoves: number,
): BalanceMove[] {
  const counts = replicaCounts(brokers, partitions);
  const takers = new Set(brokers.filter((b) => b.canTake).map((b) => b.brokerId));
  const current = [...partitions].sort(byPartition).map((p) => ({ ...p, replicas: [...p.replicas] }));
  const moved = new Set<number>();
  const moves: BalanceMove[] = [];
  while (moves.length < maxMoves) {
    const lightest = Math.min(...[...counts].filter(([id]) => takers.has(id)).map(([, c]) => c));
    if (!Number.isFinite(lightest)) break;
    const byLoad = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    let move: BalanceMove | undefined;
    for (const [giver, load] of byLoad) {
      if (load - lightest <= 1) break;
      for (const [i, p] of current.entries()) {
        if (moved.has(i) || !p.replicas.includes(giver)) continue;
        const taker = chooseTaker(brokers, counts, p.replicas, giver);
        if (taker === undefined || (counts.get(taker) ?? 0) > load - 2) continue;
        const to = p.replicas.map((r) => (r === giver ? taker : r));
        move = { topic: p.topic, partition: p.partition, from: [...p.replicas], to };
        current[i] = { ...p, replicas: to };
        moved.add(i);
        counts.set(giver, load - 1);
        counts.set(taker, (counts.get(taker) ?? 0) + 1);
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
 * Spreads preferred leaders over every topic: at most `maxMoves` reorders (no data moves), each
 * putting first, in a partition whose preferred leader is the broker preferred most often, the
 * replica of it preferred least (at least two fewer) — while the most and the least preferred
 * brokers that may lead differ by more than one. Brokers holding no replica of a partition cannot
 * lead it, so this spreads leaders as far as the replicas allow.
 */
export function planLeaderBalance(
  brokers: readonly BalanceBroker[],
  partitions: readonly BalancePartition[],
  maxMoves: number,
): BalanceMove[] {
  const preferred = new Map<number, number>(brokers.filter((b) => b.canTake).map((b) => [b.brokerId, 0]));
  const current = [...partitions].sort(byPartition).map((p) => ({ ...p, replicas: [...p.replicas] }));
  for (const p of current) {
    const first = p.replicas[0];
    if (first !== undefined) preferred.set(first, (preferred.get(first) ?? 0) + 1);
  }
  const moves: BalanceMove[] = [];
  const moved = new Set<number>();
  while (moves.length < maxMoves) {
    const byCount = [...preferred].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    const most = byCount[0];
    if (most === undefined) break;
    let best: { i: number; to: number } | undefined;
    for (const [i, p] of current.entries()) {
      if (p.replicas[0] !== most[0] || moved.has(i)) continue;
      const to = p.replicas
        .slice(1)
        .filter((r) => preferred.has(r) && (preferred.get(r) as number) <= most[1] - 2)
        .sort((a, b) => (preferred.get(a) as number) - (preferred.get(b) as number) || a - b)[0];
      if (to === undefined) continue;
      if (best === undefined || (preferred.get(to) as number) < (preferred.get(best.to) as number))
        best = { i, to };
    }
    if (best === undefined) break;
    const p = current[best.i] as BalancePartition & { replicas: number[] };
    const to = [best.to, ...p.replicas.filter((r) => r !== best.to)];
    moves.push({ topic: p.topic, partition: p.partition, from: [...p.replicas], to });
    current[best.i] = { ...p, replicas: to };
    moved.add(best.i);
    preferred.set(most[0], most[1] - 1);
    preferred.set(best.to, (preferred.get(best.to) as number) + 1);
  }
  return moves;
}
