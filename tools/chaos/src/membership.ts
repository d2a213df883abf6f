// The membership fault's cycle (nemesis.ts, kind `membership`): a live node leaves the cluster and
// comes back with an empty disk, the way the server documents it (apps/server/src/cluster/README.md,
// "Cluster membership"):
//   1. drain: every replica the node holds is moved to a node outside that partition's replicas
//      (partition reassignments through the admin API, planned here; the server's own balancer,
//      `/v1/cluster/decommission`, now does this and should replace it — not yet, so this fault
//      does not exercise the balancer; rounds again while replicas remain, e.g. a topic created on
//      it meanwhile);
//   2. remove: `/v1/cluster/remove-node`. A refusal (409: replicas left, another change running, or
//      the voters left would lose their majority) is recorded as a refused op and asked again; a
//      node no other node can take a replica of (every node a replica, e.g. 3 nodes and replication
//      factor 3) is asked for once — the server must refuse, and a removal it accepts then is a
//      violation. The removed node stops by itself (`NODE_REMOVED`);
//   3. join: once its id is neither a member nor a registered broker, its data directory is moved
//      aside (kept for the Raft log comparison) and it starts empty with `--join` under the same id
//      (documented as safe then), through its proxied link to one member. Once a voter and
//      registered it is killed (-9) and restarted on its `--peers`: a joined node takes the members'
//      addresses from the join's answer (the answering member's own address is direct), so only the
//      restart puts every one of its links behind the proxies again;
//   4. move back: each partition drained is moved back to the replicas it had (if nothing else moved
//      it meanwhile), and must get there within 60 s.
// The caller hooks a concurrent fault (a kill or a partition of another node) into one phase.
import type { ChaosCluster } from './cluster.js';
import { sleep } from './cluster.js';
import type { FaultOp, History, MembershipOp, Outcome } from './history.js';

export type Expectation = NonNullable<FaultOp['expectation']>;

export const MEMBERSHIP_PHASES = ['drain', 'remove', 'join'] as const;
export type MembershipPhase = (typeof MEMBERSHIP_PHASES)[number];

export interface CycleOptions {
  cluster: ChaosCluster;
  history: History;
  /** The fault's index in the schedule. */
  fault: number;
  /** The node that leaves and comes back. */
  node: number;
  /** The node of the concurrent fault (not joined through), if any. */
  avoid: number | undefined;
  /** Spreads the choices (replacement replicas, the member joined through). */
  pick: number;
  /** Called as the cycle enters each phase (the concurrent fault starts at one of them). */
  onPhase: (phase: MembershipPhase) => Promise<void>;
  log: (line: string) => void;
}

/** Limits: moving every replica off and the removal; the node's stop; its join; each move back. */
const DRAIN_LIMIT_MS = 120_000;
const EMPTY_WAIT_MS = 30_000;
const STOP_WAIT_MS = 20_000;
const FORGOTTEN_WAIT_MS = 30_000;
const JOIN_LIMIT_MS = 90_000;
const MOVE_BACK_MS = 60_000;
/** A refused join exits the node; it is started again at most this many times. */
const MAX_JOIN_STARTS = 5;

const WHAT =
  'a node leaves (replicas moved off, removed: it stops), joins anew with an empty disk and gets its replicas back (60 s each); the server never removes a node holding replicas';

interface Move {
  topic: string;
  partition: number;
  from: number[];
  to: number[];
}

/** Polls `cond` every 500 ms for at most `ms`; whether it held. */
async function until(cond: () => Promise<boolean>, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; ; await sleep(500)) {
    if (await cond().catch(() => false)) return true;
    if (Date.now() >= end) return false;
  }
}

/** The partitions node `id` holds a replica of, as it reports them (undefined: no answer). */
async function heldBy(
  cluster: ChaosCluster,
  id: number,
): Promise<Array<{ topic: string; partition: number }> | undefined> {
  try {
    return (await cluster.replicas(id)).map((r) => ({ topic: r.topic, partition: r.partition }));
  } catch {
    return undefined;
  }
}

type Removal =
  | { removed: true; holding: string[] }
  | { removed: false; holding: string[]; refusals: string[]; drained: boolean };

/** The cycle; its outcome as the fault's expectation. Never throws. */
export async function membershipCycle(o: CycleOptions): Promise<Expectation> {
  try {
    return await cycle(o);
  } catch (e) {
    return {
      what: WHAT,
      met: false,
      detail: `the cycle broke: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
}

async function cycle(o: CycleOptions): Promise<Expectation> {
  const { history, node: x } = o;
  const record = (
    action: MembershipOp['action'],
    invokeMs: number,
    outcome: Outcome,
    detail: string,
    error?: string,
  ): void => {
    history.add<MembershipOp>({
      f: 'membership',
      process: 'nemesis',
      fault: o.fault,
      action,
      node: x,
      detail,
      invokeMs,
      completeMs: history.now(),
      outcome,
      ...(error !== undefined ? { error } : {}),
    });
    o.log(
      `[${(history.now() / 1000).toFixed(1)}s] membership ${action} node ${x}: ${detail} (${outcome}${error !== undefined ? `: ${error}` : ''})`,
    );
  };
  const moves = new Map<string, Move>();
  await o.onPhase('drain');
  const removal = await drainAndRemove(o, record, moves);
  const parts: string[] = [];
  let met = true;
  if (removal.removed && removal.holding.length > 0) {
    met = false;
    parts.push(`removed while it held replicas no other node could take (${removal.holding.join(', ')})`);
  }
  if (!removal.removed) {
    parts.push(
      `not removed: ${removal.refusals.length} refusal(s)${removal.refusals.length > 0 ? ` (last: ${removal.refusals.at(-1) ?? ''})` : ''}`,
    );
    // A refusal is what the server is meant to answer; not getting the replicas off in time is not.
    if (!removal.drained && removal.holding.length === 0) {
      met = false;
      parts.push(`its replicas were not moved off in ${DRAIN_LIMIT_MS / 1000} s`);
    }
  } else {
    const back = await leaveAndJoin(o, record);
    met &&= back.met;
    parts.push(back.detail);
  }
  const home = await moveBack(o, record, moves);
  met &&= home.met;
  parts.push(home.detail);
  return { what: WHAT, met, detail: parts.join('; ') };
}

async function drainAndRemove(
  o: CycleOptions,
  record: (a: MembershipOp['action'], t: number, out: Outcome, d: string, e?: string) => void,
  moves: Map<string, Move>,
): Promise<Removal> {
  const { cluster, history, node: x } = o;
  const refusals: string[] = [];
  let holding: string[] = [];
  let drained = false;
  let asked = false;
  for (const end = Date.now() + DRAIN_LIMIT_MS; Date.now() < end;) {
    const held = await heldBy(cluster, x);
    if (held === undefined) {
      await sleep(1000);
      continue;
    }
    holding = [];
    for (const r of held) {
      const key = `${r.topic}-${r.partition}`;
      const p = await cluster.placement(r.topic, r.partition);
      if (p === undefined || p.moving || !p.replicas.includes(x)) continue;
      const room = cluster.ids.filter((id) => id !== x && !p.replicas.includes(id));
      if (room.length === 0) {
        holding.push(key);
        continue;
      }
      const to = p.replicas.map((id) => (id === x ? (room[o.pick % room.length] as number) : id));
      const t0 = history.now();
      const err = await cluster.reassign(r.topic, r.partition, to);
      record(
        'drain',
        t0,
        err === null ? 'ok' : 'fail',
        `${key} [${p.replicas.join(',')}] -> [${to.join(',')}]`,
        err ?? undefined,
      );
      if (err === null && !moves.has(key))
        moves.set(key, { topic: r.topic, partition: r.partition, from: p.replicas, to });
    }
    if (holding.length === 0) {
      // Every replica on its way off: wait until the node holds none (a topic created on it
      // meanwhile, or a move that did not end: another round).
      drained = await until(async () => (await heldBy(cluster, x))?.length === 0, EMPTY_WAIT_MS);
      if (!drained) continue;
    }
    if (!asked) {
      asked = true;
      await o.onPhase('remove');
    }
    const t0 = history.now();
    const r = await cluster.removeNode(x);
    const what =
      holding.length > 0
        ? `remove node ${x}, which holds replicas no other node can take (${holding.join(', ')})`
        : `remove node ${x}`;
    if (r.kind === 'removed') {
      record('remove-node', t0, 'ok', what);
      return { removed: true, holding };
    }
    if (r.kind === 'refused') {
      record('remove-node', t0, 'fail', what, r.reason);
      refusals.push(r.reason);
      // The refusal it had to give: nothing more to do.
      if (holding.length > 0) return { removed: false, holding, refusals, drained };
      await sleep(2000);
      continue;
    }
    record('remove-node', t0, 'info', what, r.reason);
    const others = cluster.ids.filter((id) => id !== x);
    const gone = await until(async () => {
      const m = await cluster.members(others);
      return m !== undefined && !m.voters.includes(x) && !m.learners.includes(x);
    }, 30_000);
    if (gone) return { removed: true, holding };
  }
  return { removed: false, holding, refusals, drained };
}

async function leaveAndJoin(
  o: CycleOptions,
  record: (a: MembershipOp['action'], t: number, out: Outcome, d: string, e?: string) => void,
): Promise<{ met: boolean; detail: string }> {
  const { cluster, history, node: x } = o;
  const n = cluster.node(x);
  const others = cluster.ids.filter((id) => id !== x);
  // The removed node applies its removal and stops (3 s later).
  const since = cluster.logSize(x);
  const code = await cluster.exitWithin(x, STOP_WAIT_MS);
  const stoppedItself = code !== undefined;
  const named = cluster.logSince(x, since).includes('was removed from the cluster');
  if (!stoppedItself) await cluster.kill(x);
  // Its id may be used again once it is neither a member nor a registered broker.
  const forgotten = await until(async () => {
    const m = await cluster.members(others);
    return (
      m !== undefined &&
      !m.voters.includes(x) &&
      !m.learners.includes(x) &&
      !m.brokers.some((b) => b.nodeId === x)
    );
  }, FORGOTTEN_WAIT_MS);
  cluster.departed.push({ id: x, dataDir: cluster.wipeAside(x) });
  await o.onPhase('join');
  const candidates = cluster.running().filter((id) => id !== x && id !== o.avoid);
  const pool = candidates.length > 0 ? candidates : cluster.running().filter((id) => id !== x);
  const via = pool[Math.floor(o.pick / 3) % Math.max(1, pool.length)] ?? others[0] ?? x;
  n.joinVia = via;
  const t0 = history.now();
  cluster.start(x);
  let starts = 1;
  const joined = await until(async () => {
    if (n.proc === undefined && starts < MAX_JOIN_STARTS) {
      // A refused join (JOIN_REFUSED, e.g. another change running) ends the process: again.
      starts++;
      cluster.start(x);
    }
    const m = await cluster.members(others);
    return m !== undefined && m.voters.includes(x) && m.brokers.some((b) => b.nodeId === x);
  }, JOIN_LIMIT_MS);
  record(
    'join',
    t0,
    joined ? 'ok' : 'info',
    `node ${x} with an empty data directory joins through node ${via}${starts > 1 ? ` (${starts} starts)` : ''}: ${joined ? 'a voter and registered' : `not a voter and registered after ${JOIN_LIMIT_MS / 1000} s`}`,
  );
  if (joined) {
    // Restart on its --peers (its links behind the proxies); its stored membership wins.
    n.joinVia = undefined;
    await cluster.kill(x);
    cluster.start(x);
  }
  const met = stoppedItself && named && forgotten && joined;
  return {
    met,
    detail: [
      stoppedItself
        ? `stopped by itself after its removal (code ${code}${named ? ', logged its removal' : ', its removal not in its log'})`
        : `still running ${STOP_WAIT_MS / 1000} s after its removal (killed)`,
      forgotten
        ? ''
        : `still a member or a registered broker ${FORGOTTEN_WAIT_MS / 1000} s after its removal`,
      joined
        ? `joined anew through node ${via} (a voter, registered)`
        : `did not join in ${JOIN_LIMIT_MS / 1000} s`,
    ]
      .filter((s) => s !== '')
      .join(', '),
  };
}

async function moveBack(
  o: CycleOptions,
  record: (a: MembershipOp['action'], t: number, out: Outcome, d: string, e?: string) => void,
  moves: Map<string, Move>,
): Promise<{ met: boolean; detail: string }> {
  const { cluster, history } = o;
  const asked: Move[] = [];
  for (const m of moves.values()) {
    const p = await cluster.placement(m.topic, m.partition);
    // Gone (a topic deleted meanwhile), or moved by something else: left where it is.
    if (p === undefined || p.moving || p.replicas.join() !== m.to.join()) continue;
    const t0 = history.now();
    const err = await cluster.reassign(m.topic, m.partition, m.from);
    record(
      'move-back',
      t0,
      err === null ? 'ok' : 'fail',
      `${m.topic}-${m.partition} [${m.to.join(',')}] -> [${m.from.join(',')}]`,
      err ?? undefined,
    );
    if (err === null) asked.push(m);
  }
  let done = 0;
  const late: string[] = [];
  const end = Date.now() + MOVE_BACK_MS;
  for (const m of asked) {
    let missing = 0;
    const there = await until(
      async () => {
        const now = await cluster.placement(m.topic, m.partition);
        // A topic deleted while it moves back has nothing left to wait for.
        if (now === undefined) return ++missing >= 4;
        missing = 0;
        return !now.moving && now.replicas.join() === m.from.join();
      },
      Math.max(0, end - Date.now()),
    );
    if (there) done++;
    else late.push(`${m.topic}-${m.partition}`);
  }
  return {
    met: late.length === 0,
    detail: `${moves.size} replica(s) moved off, ${asked.length} moved back, ${done} there in time${late.length > 0 ? ` (not: ${late.join(', ')})` : ''}`,
  };
}
