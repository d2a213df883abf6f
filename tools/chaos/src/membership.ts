// The membership fault's cycle (nemesis.ts, kind `membership`): a live node leaves the cluster and
// comes back with an empty disk, the way the server documents it (apps/server/src/cluster/README.md,
// "Cluster membership" and "Decommission and rebalance"), through the server's own balancer:
//   1. drain and remove: `POST /v1/cluster/decommission {"nodeId": x, "remove": true}` to a live
//      member (another one when the one asked does not answer or reaches no metadata leader; a
//      refusal, 409, is recorded and asked again), then the node must stop being a member within
//      120 s (the balancer moves its replicas off and removes it). When the balancer reports the
//      node's last replicas as `stuck` (no other broker can take them: every node a replica, e.g.
//      3 nodes and replication factor 3) for 10 s, the server must not remove it (a removal then
//      is a violation): the drain is cancelled (`/v1/cluster/recommission`) and the cycle moves on.
//      The removed node stops by itself (`NODE_REMOVED`);
//   2. join: once its id is neither a member nor a registered broker, its data directory is moved
//      aside (kept for the Raft log comparison) and it starts empty with `--join` under the same id
//      (documented as safe then), through its proxied link to one member. Once a voter and
//      registered it is killed (-9) and restarted on its `--peers`: a joined node takes the members'
//      addresses from the join's answer (the answering member's own address is direct), so only the
//      restart puts every one of its links behind the proxies again;
//   3. rebalance: `POST /v1/cluster/rebalance`; the rebalance must end with the node holding
//      replicas again within 90 s (one that ends with none on it, e.g. the node still fenced after
//      its restart, is asked for again).
// The caller hooks a concurrent fault (a kill or a partition of another node) into one phase:
// `drain` (before the decommission), `remove` (the node's replicas are off it, or stuck), `join`.
import type { BalancerView, ChaosCluster } from './cluster.js';
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
  /** Spreads the choices (the member joined through). */
  pick: number;
  /** Called as the cycle enters each phase (the concurrent fault starts at one of them). */
  onPhase: (phase: MembershipPhase) => Promise<void>;
  log: (line: string) => void;
}

/** Limits: the drain and removal; stuck replicas held; the node's stop; its join; the rebalance. */
const LEAVE_LIMIT_MS = 120_000;
const STUCK_HOLD_MS = 10_000;
const STOP_WAIT_MS = 20_000;
const FORGOTTEN_WAIT_MS = 30_000;
const JOIN_LIMIT_MS = 90_000;
const REBALANCE_LIMIT_MS = 90_000;
/** A refused join exits the node; it is started again at most this many times. */
const MAX_JOIN_STARTS = 5;

const WHAT =
  'a node is decommissioned (the balancer moves its replicas off and removes it: it stops) in 120 s, joins anew with an empty disk in 90 s and holds replicas again after a rebalance in 90 s; the server never removes a node holding replicas no other node can take';

type Recorder = (a: MembershipOp['action'], t: number, out: Outcome, d: string, e?: string) => void;

/** Polls `cond` every 500 ms for at most `ms`; whether it held. */
async function until(cond: () => Promise<boolean>, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; ; await sleep(500)) {
    if (await cond().catch(() => false)) return true;
    if (Date.now() >= end) return false;
  }
}

/** How many partitions node `id` holds a replica of, as it reports them (undefined: no answer). */
async function heldBy(cluster: ChaosCluster, id: number): Promise<number | undefined> {
  try {
    return (await cluster.replicas(id)).length;
  } catch {
    return undefined;
  }
}

/** The members asked first: not the node leaving, the node of the concurrent fault last. */
function askFirst(o: CycleOptions): number[] {
  const others = o.cluster.ids.filter((id) => id !== o.node);
  return [...others.filter((id) => id !== o.avoid), ...others.filter((id) => id === o.avoid)];
}

type Leave =
  | { removed: true; stuck: string[]; detail: string }
  | { removed: false; stuck: string[]; met: boolean; detail: string };

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
  const record: Recorder = (action, invokeMs, outcome, detail, error) => {
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
  await o.onPhase('drain');
  const leave = await drainAndRemove(o, record);
  const parts = [leave.detail];
  let met = leave.removed ? leave.stuck.length === 0 : leave.met;
  if (leave.removed) {
    const back = await leaveAndJoin(o, record);
    met &&= back.met;
    parts.push(back.detail);
  }
  const home = await rebalance(o, record);
  met &&= home.met;
  parts.push(home.detail);
  return { what: WHAT, met, detail: parts.join('; ') };
}

/**
 * Decommissions the node and waits until it is no longer a member; with replicas the balancer
 * reports stuck (and no other left) for STUCK_HOLD_MS, or at the limit, cancels the drain instead.
 */
async function drainAndRemove(o: CycleOptions, record: Recorder): Promise<Leave> {
  const { cluster, history, node: x } = o;
  const first = askFirst(o);
  const start = history.now();
  const refusals: string[] = [];
  let accepted = false;
  let removePhase = false;
  let stuck: string[] = [];
  let stuckSince: number | undefined;
  let left: number | undefined;
  for (const end = Date.now() + LEAVE_LIMIT_MS; Date.now() < end; await sleep(500)) {
    if (!accepted) {
      const t0 = history.now();
      const r = await cluster.ask('/v1/cluster/decommission', { nodeId: x, remove: true }, first);
      const what = `decommission node ${x} (remove: true)${r.kind === 'unknown' ? '' : ` through node ${r.via}`}`;
      if (r.kind === 'ok') {
        record('decommission', t0, 'ok', what);
        accepted = true;
      } else {
        record('decommission', t0, r.kind === 'refused' ? 'fail' : 'info', what, r.reason);
        if (r.kind === 'refused') refusals.push(r.reason);
        await sleep(2000);
        // Not answered may still have been recorded: the balancer's view tells.
        accepted = (await cluster.balancer(first))?.drains.some((d) => d.nodeId === x) ?? false;
        continue;
      }
    }
    const m = await cluster.members(first);
    if (m !== undefined && !m.voters.includes(x) && !m.learners.includes(x)) {
      record(
        'removed',
        start,
        'ok',
        `node ${x} no longer a member${stuck.length > 0 ? `, while the balancer reported replicas no other node can take (${stuck.join(', ')})` : ''}`,
      );
      return {
        removed: true,
        stuck,
        detail:
          stuck.length > 0
            ? `removed while it held replicas no other node could take (${stuck.join(', ')})`
            : `decommissioned and removed in ${((history.now() - start) / 1000).toFixed(1)} s`,
      };
    }
    const view = await cluster.balancer(first);
    const drain = view?.drains.find((d) => d.nodeId === x);
    if (drain === undefined) continue;
    left = drain.replicasLeft;
    stuck = drain.stuck.map((p) => `${p.topic}-${p.partition}`);
    const onlyStuck = stuck.length > 0 && drain.replicasLeft === stuck.length;
    if (!removePhase && (drain.replicasLeft === 0 || onlyStuck)) {
      removePhase = true;
      await o.onPhase('remove');
    }
    if (!onlyStuck) {
      stuckSince = undefined;
      continue;
    }
    stuckSince ??= Date.now();
    if (Date.now() - stuckSince < STUCK_HOLD_MS) continue;
    // Held for STUCK_HOLD_MS with only replicas no other node can take: not removed, as it must be.
    const undo = await recommission(o, record, first);
    return {
      removed: false,
      stuck,
      met: undo,
      detail: `not removed: its last ${stuck.length} replica(s) no other node can take (${stuck.join(', ')}), recommissioned${undo ? '' : ' (refused or not answered)'}`,
    };
  }
  if (!accepted)
    return {
      removed: false,
      stuck,
      met: refusals.length > 0,
      detail: `the decommission was not accepted in ${LEAVE_LIMIT_MS / 1000} s (${refusals.length} refusal(s)${refusals.length > 0 ? `, last: ${refusals.at(-1) ?? ''}` : ''})`,
    };
  record('removed', start, 'info', `node ${x} still a member after ${LEAVE_LIMIT_MS / 1000} s`);
  await recommission(o, record, first);
  return {
    removed: false,
    stuck,
    met: false,
    detail: `not removed in ${LEAVE_LIMIT_MS / 1000} s (${left ?? 'unknown'} replica(s) left on it), recommissioned`,
  };
}

/** Cancels the node's drain; whether the server did. */
async function recommission(o: CycleOptions, record: Recorder, first: number[]): Promise<boolean> {
  const t0 = o.history.now();
  const r = await o.cluster.ask('/v1/cluster/recommission', { nodeId: o.node }, first);
  const what = `recommission node ${o.node}${r.kind === 'unknown' ? '' : ` through node ${r.via}`}`;
  if (r.kind === 'ok') record('recommission', t0, 'ok', what);
  else record('recommission', t0, r.kind === 'refused' ? 'fail' : 'info', what, r.reason);
  return r.kind === 'ok';
}

async function leaveAndJoin(o: CycleOptions, record: Recorder): Promise<{ met: boolean; detail: string }> {
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

/**
 * Asks for a rebalance and waits until one ends with the node holding replicas (asked again when it
 * ends with none on it), within REBALANCE_LIMIT_MS.
 */
async function rebalance(o: CycleOptions, record: Recorder): Promise<{ met: boolean; detail: string }> {
  const { cluster, history, node: x } = o;
  const first = askFirst(o);
  const start = Date.now();
  const end = start + REBALANCE_LIMIT_MS;
  let asks = 0;
  let last = 'not asked';
  while (Date.now() < end) {
    const t0 = history.now();
    const r = await cluster.ask<BalancerView>('/v1/cluster/rebalance', {}, first);
    asks++;
    if (r.kind !== 'ok') {
      record('rebalance', t0, r.kind === 'refused' ? 'fail' : 'info', 'rebalance', r.reason);
      last = `not started (${r.reason})`;
      await sleep(2000);
      continue;
    }
    const index = r.body.rebalance?.requestIndex ?? 0;
    record('rebalance', t0, 'ok', `rebalance ${index} through node ${r.via}`);
    let reason: string | null = null;
    const ended = await until(
      async () => {
        const rb = (await cluster.balancer(first))?.rebalance;
        reason = rb?.reason ?? null;
        return rb !== null && rb !== undefined && rb.requestIndex >= index && rb.endIndex !== null;
      },
      Math.max(0, end - Date.now()),
    );
    const held = await heldBy(cluster, x);
    last = `rebalance ${index} ${ended ? `ended (${reason ?? '?'})` : 'still running'}, node ${x} holds ${held ?? 'unknown'} replica(s)`;
    if (ended && held !== undefined && held > 0)
      return {
        met: true,
        detail: `${last} after ${((Date.now() - start) / 1000).toFixed(1)} s${asks > 1 ? ` (${asks} asks)` : ''}`,
      };
    if (!ended) break;
    await sleep(2000);
  }
  return {
    met: false,
    detail: `no rebalance ended with replicas on node ${x} in ${REBALANCE_LIMIT_MS / 1000} s: ${last}`,
  };
}
