// The fault schedule (a pure function of the seed and the options) and its execution against a
// ChaosCluster. The schedule fixes the kinds, times, durations, parameters and target roles of the
// faults; which node plays a role (e.g. "the leader of partition 1") is resolved when the fault
// starts, from the cluster's own answers.
import fs from 'node:fs';
import path from 'node:path';
import { coordinatorPartition } from '@chronik/metadata';
import type { ChaosCluster } from './cluster.js';
import { sleep } from './cluster.js';
import type { FaultOp, History } from './history.js';
import type { MembershipPhase } from './membership.js';
import { MEMBERSHIP_PHASES, membershipCycle } from './membership.js';
import type { Rng } from './rng.js';

export const FAULT_KINDS = [
  'kill',
  'pause',
  'partition',
  'delay',
  'flaky',
  'combined',
  'wipe',
  'lose-replica',
  'disk-full',
  'reassign',
  'membership',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export type TargetRole =
  | 'partition-leader'
  | 'partition-follower'
  | 'metadata-leader'
  | 'any'
  /** The leader of the `__transaction_state` partition coordinating one of the workload's transactional ids. */
  | 'txn-coordinator'
  /** The leader of the `__consumer_offsets` partition coordinating one of the workload's groups. */
  | 'group-coordinator';

/** The roles faults target (partition leaders twice as often). */
export const DEFAULT_ROLES: readonly TargetRole[] = [
  'partition-leader',
  'partition-leader',
  'partition-follower',
  'metadata-leader',
  'any',
];

/** With the transactional workload: the coordinators too (the transaction coordinator's node most). */
export const TXN_ROLES: readonly TargetRole[] = [
  ...DEFAULT_ROLES,
  'txn-coordinator',
  'txn-coordinator',
  'group-coordinator',
];

export interface PlannedFault {
  index: number;
  kind: FaultKind;
  /** Offset from the workload's start. */
  startMs: number;
  /** How long the fault holds before it heals. */
  holdMs: number;
  role: TargetRole;
  /** Which partition's leader/follower (mod the partition count), and which candidate (mod their number). */
  pick: number;
  /** partition/combined: how many nodes end up on the minority side (≥ 1, < half). */
  isolate: number;
  /** partition/combined: reset connections or silently drop bytes. */
  linkMode: 'cut' | 'blackhole';
  /** delay/flaky: added latency. */
  delayMs: number;
  jitterMs: number;
  /** flaky: chance a chunk resets its connection. */
  resetProbability: number;
  /** combined: the process fault applied to a second node besides the partition. */
  second: 'kill' | 'pause';
}

export interface ScheduleOptions {
  durationMs: number;
  faults: readonly FaultKind[];
  nodes: number;
  /** Quiet time at the start before the first fault. */
  warmupMs: number;
  holdMinMs: number;
  holdMaxMs: number;
  quietMinMs: number;
  quietMaxMs: number;
  /** The roles drawn from (default DEFAULT_ROLES; a seed replays only with the same list). */
  roles?: readonly TargetRole[];
}

export const DEFAULT_SCHEDULE_TIMING = {
  warmupMs: 5_000,
  holdMinMs: 3_000,
  holdMaxMs: 8_000,
  quietMinMs: 4_000,
  quietMaxMs: 9_000,
} as const;

/**
 * Faults follow each other (the next starts after the previous healed and a quiet period); the kinds
 * come in rounds, each round a shuffle of all enabled kinds, so every kind appears once the run is
 * long enough. The last fault heals at least 1 s before the end.
 */
export function planSchedule(rng: Rng, o: ScheduleOptions): PlannedFault[] {
  const out: PlannedFault[] = [];
  if (o.faults.length === 0) return out;
  const roles = o.roles ?? DEFAULT_ROLES;
  if (roles.length === 0) throw new RangeError('planSchedule: no target roles');
  const maxIsolate = Math.max(1, Math.floor((o.nodes - 1) / 2));
  let t = o.warmupMs;
  for (;;) {
    for (const kind of rng.shuffle(o.faults)) {
      const holdMs = rng.int(o.holdMinMs, o.holdMaxMs);
      if (t + holdMs > o.durationMs - 1_000) return out;
      out.push({
        index: out.length,
        kind,
        startMs: t,
        holdMs,
        role: rng.pick(roles),
        pick: rng.int(0, 1_000_000),
        isolate: rng.int(1, maxIsolate),
        linkMode: rng.chance(0.5) ? 'cut' : 'blackhole',
        delayMs: rng.int(50, 400),
        jitterMs: rng.int(0, 100),
        resetProbability: rng.int(2, 20) / 100,
        second: rng.chance(0.5) ? 'kill' : 'pause',
      });
      t += holdMs + rng.int(o.quietMinMs, o.quietMaxMs);
    }
  }
}

export interface NemesisContext {
  cluster: ChaosCluster;
  history: History;
  topic: string;
  partitions: number;
  log: (line: string) => void;
  /** What the coordinator roles target (absent: they fall back to any node). */
  coordinators?: {
    transactionalIds: readonly string[];
    /** `--transaction-state-partitions` of the cluster. */
    transactionStatePartitions: number;
    groups: readonly string[];
    /** `--offsets-topic-partitions` of the cluster. */
    offsetsPartitions: number;
  };
}

/** The node playing the fault's role now (falls back to any running node), and how it was chosen. */
async function resolveTarget(ctx: NemesisContext, f: PlannedFault): Promise<{ node: number; role: string }> {
  const { cluster } = ctx;
  const running = cluster.running();
  const fallback = running.length > 0 ? (running[f.pick % running.length] as number) : 1;
  const partition = f.pick % ctx.partitions;
  switch (f.role) {
    case 'partition-leader':
      return { node: (await cluster.leaderOf(ctx.topic, partition)) ?? fallback, role: f.role };
    case 'partition-follower': {
      const leader = await cluster.leaderOf(ctx.topic, partition);
      const others = running.filter((id) => id !== leader);
      return {
        node: others.length > 0 ? (others[Math.floor(f.pick / 7) % others.length] as number) : fallback,
        role: f.role,
      };
    }
    case 'metadata-leader': {
      const l = await cluster.metadataLeader();
      return { node: l !== undefined && running.includes(l) ? l : fallback, role: f.role };
    }
    case 'any':
      return { node: fallback, role: f.role };
    case 'txn-coordinator':
    case 'group-coordinator': {
      const c = ctx.coordinators;
      const keys = f.role === 'txn-coordinator' ? c?.transactionalIds : c?.groups;
      if (c === undefined || keys === undefined || keys.length === 0) return { node: fallback, role: 'any' };
      const key = keys[f.pick % keys.length] as string;
      const [topic, count] =
        f.role === 'txn-coordinator'
          ? ['__transaction_state', c.transactionStatePartitions]
          : ['__consumer_offsets', c.offsetsPartitions];
      const p = coordinatorPartition(key, count);
      const l = await cluster.leaderOf(topic, p);
      return l !== undefined && running.includes(l)
        ? { node: l, role: `${f.role} of ${key}: leader of ${topic}-${p}` }
        : { node: fallback, role: `${f.role} of ${key}: no leader of ${topic}-${p} found, any node` };
    }
  }
}

/** Directed links between the two sides. */
function between(a: readonly number[], b: readonly number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const x of a)
    for (const y of b) {
      out.push([x, y]);
      out.push([y, x]);
    }
  return out;
}

function linksOf(cluster: ChaosCluster, id: number): Array<[number, number]> {
  return between(
    [id],
    cluster.ids.filter((x) => x !== id),
  );
}

type Expectation = NonNullable<FaultOp['expectation']>;

interface Applied {
  nodes: number[];
  description: string;
  heal: () => Promise<void>;
  /** Checked at the end of the hold, before healing. */
  expect?: () => Promise<Expectation>;
  /** Checked after healing (what must complete once the fault is gone). */
  settle?: () => Promise<Expectation>;
}

/** How long a partition move may take once its fault healed (each way). */
const MOVE_SETTLE_MS = 60_000;

/** Applies one fault; returns the healing action and what was done. */
async function apply(ctx: NemesisContext, f: PlannedFault): Promise<Applied> {
  const { cluster } = ctx;
  const { node: target, role } = await resolveTarget(ctx, f);
  const ids = cluster.ids;
  const isolateSide = (): number[] => {
    const rest = ids.filter((x) => x !== target);
    const extra = rest.slice(f.pick % rest.length).concat(rest.slice(0, f.pick % rest.length));
    return [target, ...extra.slice(0, f.isolate - 1)].sort((a, b) => a - b);
  };
  switch (f.kind) {
    case 'kill':
      await cluster.kill(target);
      return {
        nodes: [target],
        description: `kill -9 node ${target} (${role}), restart after ${f.holdMs} ms`,
        heal: async () => cluster.start(target),
      };
    case 'pause':
      cluster.pause(target);
      return {
        nodes: [target],
        description: `SIGSTOP node ${target} (${role}) for ${f.holdMs} ms`,
        heal: async () => cluster.resume(target),
      };
    case 'partition': {
      const side = isolateSide();
      const other = ids.filter((x) => !side.includes(x));
      cluster.setLinks(between(side, other), { kind: f.linkMode });
      return {
        nodes: side,
        description: `partition [${side.join(',')}] | [${other.join(',')}] (${f.linkMode}, around ${role}) for ${f.holdMs} ms`,
        heal: async () => cluster.healNetwork(),
      };
    }
    case 'delay':
      cluster.setLinks(linksOf(cluster, target), { kind: 'delay', delayMs: f.delayMs, jitterMs: f.jitterMs });
      return {
        nodes: [target],
        description: `delay every Raft link of node ${target} (${role}) by ${f.delayMs}+${f.jitterMs} ms for ${f.holdMs} ms`,
        heal: async () => cluster.healNetwork(),
      };
    case 'flaky':
      cluster.setLinks(linksOf(cluster, target), {
        kind: 'flaky',
        resetProbability: f.resetProbability,
        delayMs: Math.floor(f.delayMs / 4),
      });
      return {
        nodes: [target],
        description: `flaky Raft links of node ${target} (${role}): reset chance ${f.resetProbability} per chunk for ${f.holdMs} ms`,
        heal: async () => cluster.healNetwork(),
      };
    case 'wipe': {
      // A replaced disk: the node comes back under its id with an empty data directory. It must
      // refuse to rejoin (it may have voted); the heal puts its real directory back.
      await cluster.kill(target);
      const aside = cluster.wipeAside(target);
      const since = cluster.logSize(target);
      cluster.start(target);
      return {
        nodes: [target],
        description: `node ${target} (${role}) restarted with an empty data directory for ${f.holdMs} ms`,
        expect: async () => {
          const code = await cluster.exitWithin(target, 20_000);
          const log = cluster.logSince(target, since);
          const met = code !== undefined && code !== 0 && log.includes('NODE_STATE_LOST');
          return {
            what: 'a wiped voter refuses to rejoin (exits non-zero naming NODE_STATE_LOST)',
            met,
            detail: code === undefined ? 'still running after 20 s' : `exited with code ${code}`,
          };
        },
        heal: async () => {
          await cluster.kill(target);
          cluster.restoreAside(target, aside);
          cluster.start(target);
        },
      };
    }
    case 'lose-replica': {
      // One partition replica's folder lost while its node was down (a deleted directory, a bad
      // sector under it): the node reports it and rebuilds it from the other replicas — a learner
      // until caught up, then a voter — with no operator.
      await cluster.kill(target);
      const raftDir = path.join(cluster.node(target).dataDir, 'raft');
      const groups = fs
        .readdirSync(raftDir)
        .filter((n) => /^group-\d+$/.test(n) && n !== 'group-1')
        .sort();
      const lost = groups[f.pick % Math.max(1, groups.length)];
      if (lost !== undefined) fs.rmSync(path.join(raftDir, lost), { recursive: true, force: true });
      cluster.start(target);
      return {
        nodes: [target],
        description: `node ${target} (${role}) restarted without its replica folder ${lost ?? '(none)'}`,
        expect: async () => {
          const what = 'a lost replica is rebuilt from the others (/health "ok" again, not "degraded")';
          let last = 'no answer';
          for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(500)) {
            try {
              const h = (await cluster.health(target)) as { status?: string };
              last = `"${h.status ?? '?'}"`;
              if (h.status === 'ok') return { what, met: true, detail: 'rebuilt' };
            } catch (e) {
              last = e instanceof Error ? e.message : String(e);
            }
          }
          return { what, met: false, detail: `/health still ${last} after the hold and 60 s more` };
        },
        heal: async () => {
          if (cluster.node(target).proc === undefined) cluster.start(target);
        },
      };
    }
    case 'disk-full': {
      // The node's data directory (its own small file system) fills up: the node must exit naming
      // the failed write, not stay half-alive; once space is back it restarts and catches up.
      const since = cluster.logSize(target);
      const filled = cluster.fillDisk(target);
      return {
        nodes: [target],
        description: `data directory of node ${target} (${role}) full (${filled} MiB filler) for ${f.holdMs} ms`,
        expect: async () => {
          const code = await cluster.exitWithin(target, 15_000);
          const log = cluster.logSince(target, since);
          // Still running: it wrote nothing in the hold (an idle follower) — acceptable only if
          // it still answers; exited: with 70, naming ENOSPC.
          if (code === undefined) {
            const alive = await cluster.health(target).then(
              () => true,
              () => false,
            );
            return {
              what: 'a node whose disk is full exits naming ENOSPC, or goes on answering',
              met: alive,
              detail: alive ? 'still running and answering /health' : 'running but not answering /health',
            };
          }
          return {
            what: 'a node whose disk is full exits with code 70 naming ENOSPC',
            met: code === 70 && log.includes('ENOSPC'),
            detail: `exited with code ${code}${log.includes('ENOSPC') ? '' : ', ENOSPC not in its log'}`,
          };
        },
        heal: async () => {
          cluster.freeDisk(target);
          if (cluster.node(target).proc === undefined) cluster.start(target);
        },
      };
    }
    case 'reassign': {
      // A partition of the workload topic moves (AlterPartitionReassignments through the admin API):
      // one replica to a node outside its set, or — every node a replica — one replica dropped (a
      // replication-factor change); meanwhile the fault's target (a replica of that partition, for
      // the partition roles) is killed or paused. The heal brings the node back, lets the move end
      // (or cancels it), and moves the partition back; both must end within 60 s each.
      const topic = ctx.topic;
      const partition = f.pick % ctx.partitions;
      const before = await cluster.placement(topic, partition);
      const from = before?.replicas ?? [];
      const outside = ids.filter((x) => !from.includes(x));
      const slot = Math.floor(f.pick / 11) % Math.max(1, from.length);
      const to =
        outside.length > 0
          ? from.map((r, i) =>
              i === slot ? (outside[Math.floor(f.pick / 3) % outside.length] as number) : r,
            )
          : from.filter((_, i) => i !== slot);
      const refused =
        before === undefined || before.moving || to.length === 0
          ? `not asked (${before === undefined ? 'no answer' : before.moving ? 'a move in progress' : 'a single replica'})`
          : await cluster.reassign(topic, partition, to);
      if (f.second === 'kill') await cluster.kill(target);
      else cluster.pause(target);
      const move = `${topic}-${partition} [${from.join(',')}] -> [${to.join(',')}]${refused === null ? '' : ` (refused: ${refused})`}`;
      return {
        nodes: [target],
        description: `move ${move} + ${f.second} node ${target} (${role}) for ${f.holdMs} ms`,
        heal: async () => {
          if (f.second === 'kill') cluster.start(target);
          else cluster.resume(target);
        },
        ...(refused !== null
          ? {}
          : {
              settle: async (): Promise<Expectation> => {
                const what = 'a partition move under a kill or pause ends, and the move back too (60 s each)';
                const there = await cluster.settled(topic, partition, to, MOVE_SETTLE_MS);
                if (!there.done) {
                  // Not there: cancel (the move back of a cancel is itself a move).
                  await cluster.reassign(topic, partition, null);
                } else {
                  const back = await cluster.reassign(topic, partition, from);
                  if (back !== null)
                    return { what, met: false, detail: `the move back was refused: ${back}` };
                }
                const home = await cluster.settled(topic, partition, from, MOVE_SETTLE_MS);
                return {
                  what,
                  met: there.done && home.done,
                  detail: `to [${to.join(',')}]: ${there.done ? 'done' : `not done (${there.last}), cancelled`}; back to [${from.join(',')}]: ${home.done ? 'done' : `not done (${home.last})`}`,
                };
              },
            }),
      };
    }
    case 'membership': {
      // The target leaves the cluster and joins anew with an empty disk (membership.ts); from one
      // phase of that (drawn from the seed) another node is killed or cut off for the hold.
      const others = cluster.running().filter((id) => id !== target);
      const second = others[Math.floor(f.pick / 17) % Math.max(1, others.length)];
      const phase = MEMBERSHIP_PHASES[Math.floor(f.pick / 5) % MEMBERSHIP_PHASES.length] as MembershipPhase;
      const how = f.second === 'kill' ? 'kill' : 'partition';
      let secondHealed: Promise<void> = Promise.resolve();
      const onPhase = async (p: MembershipPhase): Promise<void> => {
        if (p !== phase || second === undefined) return;
        if (how === 'kill') await cluster.kill(second);
        else
          cluster.setLinks(
            between(
              [second],
              ids.filter((x) => x !== second),
            ),
            { kind: f.linkMode },
          );
        ctx.log(
          `[${(ctx.history.now() / 1000).toFixed(1)}s] fault ${f.index}: ${how === 'kill' ? 'kill -9' : `partition (${f.linkMode}) around`} node ${second} from the ${phase} phase for ${f.holdMs} ms`,
        );
        secondHealed = sleep(f.holdMs).then(() => {
          if (how === 'kill') {
            if (cluster.node(second).proc === undefined) cluster.start(second);
          } else cluster.healNetwork();
        });
      };
      const cycle = membershipCycle({
        cluster,
        history: ctx.history,
        fault: f.index,
        node: target,
        avoid: second,
        pick: f.pick,
        onPhase,
        log: ctx.log,
      });
      return {
        nodes: second === undefined ? [target] : [target, second],
        description: `node ${target} (${role}) leaves the cluster and joins anew with an empty data directory${second === undefined ? '' : `; ${how === 'kill' ? 'kill -9' : `partition (${f.linkMode}) around`} node ${second} from the ${phase} phase for ${f.holdMs} ms`}`,
        // The cycle heals its own fault (the second node's) before it ends.
        heal: async () => undefined,
        settle: async () => {
          const e = await cycle;
          await secondHealed;
          return e;
        },
      };
    }
    case 'combined': {
      const side = isolateSide();
      const other = ids.filter((x) => !side.includes(x));
      cluster.setLinks(between(side, other), { kind: f.linkMode });
      const victim = other[f.pick % other.length] as number;
      if (f.second === 'kill') await cluster.kill(victim);
      else cluster.pause(victim);
      return {
        nodes: [...side, victim],
        description: `partition [${side.join(',')}] | [${other.join(',')}] (${f.linkMode}) + ${f.second} node ${victim} for ${f.holdMs} ms`,
        heal: async () => {
          cluster.healNetwork();
          if (f.second === 'kill') cluster.start(victim);
          else cluster.resume(victim);
        },
      };
    }
  }
}

export class Nemesis {
  private stopped = false;
  private pendingHeal: (() => Promise<void>) | undefined;
  readonly faultOps: FaultOp[] = [];

  constructor(
    private readonly ctx: NemesisContext,
    private readonly schedule: readonly PlannedFault[],
  ) {}

  /** Runs the schedule (times relative to now); resolves when it is done or stopped. */
  async run(): Promise<void> {
    const { history, log } = this.ctx;
    const t0 = Date.now();
    for (const f of this.schedule) {
      const wait = f.startMs - (Date.now() - t0);
      if (wait > 0) await this.sleepUnlessStopped(wait);
      if (this.stopped) return;
      const invokeMs = history.now();
      const applied = await apply(this.ctx, f);
      this.pendingHeal = applied.heal;
      const op = history.add<FaultOp>({
        f: 'fault',
        process: 'nemesis',
        index: f.index,
        kind: f.kind,
        nodes: applied.nodes,
        description: applied.description,
        invokeMs,
        completeMs: history.now(),
        outcome: 'ok',
      });
      this.faultOps.push(op);
      log(`[${(op.completeMs / 1000).toFixed(1)}s] fault ${f.index}: ${applied.description}`);
      await this.sleepUnlessStopped(f.holdMs);
      if (applied.expect !== undefined) {
        op.expectation = await applied.expect();
        if (!op.expectation.met)
          log(`fault ${f.index}: expectation NOT met: ${op.expectation.what} — ${op.expectation.detail}`);
      }
      await this.healNow();
      if (applied.settle !== undefined) {
        const settled = await applied.settle();
        op.expectation = settled;
        if (!settled.met) log(`fault ${f.index}: expectation NOT met: ${settled.what} — ${settled.detail}`);
      }
      op.healedMs = history.now();
      history.update(op);
      log(`[${(op.healedMs / 1000).toFixed(1)}s] healed fault ${f.index}`);
    }
  }

  /** Stops the schedule early; the running fault (if any) is healed by `run` or `healAll`. */
  stop(): void {
    this.stopped = true;
  }

  private async healNow(): Promise<void> {
    const h = this.pendingHeal;
    this.pendingHeal = undefined;
    if (h) await h();
  }

  /** Heals everything: the pending fault, every link, every paused or dead node. */
  async healAll(): Promise<void> {
    await this.healNow();
    const { cluster } = this.ctx;
    cluster.healNetwork();
    for (const n of cluster.nodes) {
      if (n.state === 'paused') cluster.resume(n.id);
      else if (n.state === 'down') cluster.start(n.id);
    }
  }

  private async sleepUnlessStopped(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (!this.stopped && Date.now() < until) await sleep(Math.min(200, until - Date.now()));
  }
}
