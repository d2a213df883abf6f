// chronik partitions move|status|cancel|elect: partition reassignments (KIP-455) and leader
// elections (KIP-460) through the Kafka protocol (AlterPartitionReassignments,
// ListPartitionReassignments, ElectLeaders), so they work against any Kafka-compatible cluster. On Chronik, `status --admin` adds the progress of each move as the
// partition's leader reports it (GET /v1/reassignments of the admin API). `rebalance` asks the
// cluster's balancer through the admin API (POST /v1/cluster/rebalance) and follows it.
import type { Argv } from 'yargs';
import { int, partitionList } from '../args.js';
import type { Reassignment } from '../client/reassignments.js';
import {
  alterReassignments,
  electLeaders,
  executeMoves,
  listReassignments,
} from '../client/reassignments.js';
import type { BalancerStatus, PlannedMove } from '../client/balancer.js';
import { adminJson, balancerStatus, sleep } from '../client/balancer.js';
import type { Context } from '../context.js';
import type { Admins } from '../client/admin-api.js';
import { adminAuth, adminAuthOptions, adminOptions, adminsOf, requestJson } from '../client/admin-api.js';
import { CliError, usage } from '../errors.js';
import { progress } from '../progress.js';
import type { Plan, Register } from './types.js';
import { READ_FORMATS } from './types.js';

const POLL_MS = 500;

function brokerList(raw: unknown): number[] {
  const ids = String(raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => int('replicas', s, 0, 2 ** 31 - 1));
  if (ids.length === 0) throw usage('--replicas: give the target brokers, e.g. --replicas 4,2,3');
  if (new Set(ids).size !== ids.length) throw usage('--replicas: a broker appears twice');
  return ids;
}

function partitionsOf(raw: unknown): number[] {
  const list = partitionList('partitions', [String(raw)]);
  if (list === undefined) throw usage('give the partitions, e.g. 0 or 0,1,2');
  return list;
}

export const registerPartitions: Register = (y: Argv, plan: Plan) =>
  y.command('partitions', 'move partitions between brokers (reassignment), follow and cancel moves', (c) =>
    c
      .command(
        'move <topic> <partitions>',
        'reassign partitions to the given brokers (the first leads); the data moves in the background',
        (m) =>
          m
            .positional('topic', { type: 'string', demandOption: true })
            .positional('partitions', { type: 'string', demandOption: true, describe: 'e.g. 0 or 0,1,2' })
            .option('replicas', {
              type: 'string',
              demandOption: true,
              describe:
                'target brokers, comma-separated, preferred leader first (a different count changes the replication factor)',
            })
            .option('wait', { type: 'boolean', default: false, describe: 'wait until the moves are done' })
            .option('wait-timeout-ms', { type: 'string', default: '3600000' })
            .example('$0 partitions move orders 0,1 --replicas 4,2,3 --wait', ''),
        (a) =>
          plan({
            formats: READ_FORMATS,
            action: (ctx) =>
              move(ctx, String(a.topic), partitionsOf(a.partitions), brokerList(a.replicas), {
                wait: a.wait,
                waitTimeoutMs: int('wait-timeout-ms', a['wait-timeout-ms'], 0, 24 * 3_600_000),
              }),
          }),
      )
      .command(
        'status [topic]',
        'the reassignments in progress (with --admin: how far each move is, from its leader)',
        (s) =>
          adminAuthOptions(
            s
              .positional('topic', { type: 'string' })
              .option('admin', {
                type: 'string',
                describe:
                  "Chronik admin API URLs, comma-separated, for each move's progress (default $CHRONIK_ADMIN)",
              })
              .example('$0 partitions status orders --admin http://n1:6092,http://n2:6092', ''),
          ),
        (a) =>
          plan({
            formats: READ_FORMATS,
            action: (ctx) => {
              const admin = a.admin ?? ctx.io.env.CHRONIK_ADMIN;
              return status(ctx, a.topic ?? null, {
                urls: admin === undefined ? [] : admin.split(','),
                auth: adminAuth(a, ctx.io.env.CHRONIK_ADMIN_TOKEN_FILE),
              });
            },
          }),
      )
      .command(
        'cancel <topic> <partitions>',
        'cancel the reassignments of partitions: the data moves back to the replicas before them',
        (m) =>
          m
            .positional('topic', { type: 'string', demandOption: true })
            .positional('partitions', { type: 'string', demandOption: true }),
        (a) =>
          plan({
            formats: READ_FORMATS,
            action: (ctx) => cancel(ctx, String(a.topic), partitionsOf(a.partitions)),
          }),
      )
      .command(
        'elect [topic] [partitions]',
        'move leadership to the preferred replica (the first) now; every partition when no topic is given',
        (m) =>
          m
            .positional('topic', { type: 'string' })
            .positional('partitions', { type: 'string', describe: 'e.g. 0 or 0,1,2 (default: all)' })
            .option('unclean', {
              type: 'boolean',
              default: false,
              describe: 'an unclean election (any live replica where none is in sync) instead',
            })
            .example('$0 partitions elect orders 0,1', ''),
        (a) =>
          plan({
            formats: READ_FORMATS,
            action: (ctx) =>
              elect(
                ctx,
                a.topic ?? null,
                a.partitions === undefined ? undefined : partitionsOf(a.partitions),
                a.unclean,
              ),
          }),
      )
      .command(
        'rebalance',
        "spread replicas and preferred leaders evenly over the brokers across every topic: done by the cluster's balancer (a bounded number of moves at a time); this asks and follows it",
        (m) =>
          adminOptions(m)
            .option('max-moves', {
              type: 'string',
              default: '100',
              describe: 'moves listed at most by --dry-run',
            })
            .option('dry-run', { type: 'boolean', default: false, describe: "print the cluster's plan only" })
            .option('cancel', { type: 'boolean', default: false, describe: 'stop the running rebalance' })
            .option('wait', {
              type: 'boolean',
              default: true,
              describe: 'follow it until it is done (--no-wait: ask and return)',
            })
            .option('wait-timeout-ms', { type: 'string', default: '3600000' })
            .option('max-in-flight', {
              type: 'string',
              hidden: true,
              describe: "ignored: the cluster's --balancer-max-concurrent-moves bounds the moves",
            })
            .example('$0 partitions rebalance --admin http://n1:6092', '')
            .example('$0 partitions rebalance --dry-run --admin http://n1:6092', ''),
        (a) =>
          plan({
            formats: READ_FORMATS,
            action: (ctx) =>
              rebalance(ctx, adminsOf(ctx, a), {
                maxMoves: int('max-moves', a['max-moves'], 1, 1000),
                dryRun: a['dry-run'],
                wait: a.wait,
                cancel: a.cancel,
                waitTimeoutMs: int('wait-timeout-ms', a['wait-timeout-ms'], 0, 24 * 3_600_000),
              }),
          }),
      )
      .demandCommand(1, 'partitions: which subcommand? (move, status, cancel, elect, rebalance)'),
  );

async function report(
  ctx: Context,
  results: Array<{ topic: string; partition: number; error: CliError | null }>,
  done: string,
): Promise<number> {
  const failed = results.filter((r) => r.error !== null);
  if (ctx.out.json)
    await ctx.out.printJson({
      results: results.map((r) => ({
        topic: r.topic,
        partition: r.partition,
        error: r.error === null ? null : { code: r.error.kafkaName, message: r.error.message },
      })),
    });
  else
    for (const r of results)
      await ctx.out.print(
        r.error === null
          ? `${r.topic}-${r.partition}: ${done}`
          : `${r.topic}-${r.partition}: ${r.error.kafkaName}: ${r.error.message}`,
      );
  return failed.length === 0 ? 0 : 1;
}

async function move(
  ctx: Context,
  topic: string,
  partitions: number[],
  replicas: number[],
  options: { wait: boolean; waitTimeoutMs: number },
): Promise<number> {
  const results = await alterReassignments(ctx.client, topic, partitions, replicas);
  const code = await report(ctx, results, `moving to [${replicas.join(', ')}]`);
  if (code !== 0 || !options.wait) return code;
  const bar = progress(ctx.io, 'moving', partitions.length, ' partitions');
  try {
    // Started already: asking again for the same target changes nothing; this waits for them.
    await executeMoves(
      ctx.client,
      partitions.map((partition) => ({ topic, partition, to: replicas })),
      partitions.length,
      (done) => bar.update(done),
      { pollMs: POLL_MS, deadlineMs: options.waitTimeoutMs },
    );
  } finally {
    bar.stop();
  }
  if (!ctx.out.json)
    await ctx.out.print(`done: ${topic} ${partitions.join(',')} on [${replicas.join(', ')}]`);
  return 0;
}

async function cancel(ctx: Context, topic: string, partitions: number[]): Promise<number> {
  const results = await alterReassignments(ctx.client, topic, partitions, null);
  return report(ctx, results, 'cancelled (the data moves back)');
}

async function elect(
  ctx: Context,
  topic: string | null,
  partitions: number[] | undefined,
  unclean: boolean,
): Promise<number> {
  const results = await electLeaders(ctx.client, topic, partitions, unclean);
  // Nothing to do is not a failure.
  const failed = results.filter((r) => r.error !== null && r.error.kafkaName !== 'ELECTION_NOT_NEEDED');
  if (ctx.out.json)
    await ctx.out.printJson({
      results: results.map((r) => ({
        topic: r.topic,
        partition: r.partition,
        error: r.error === null ? null : { code: r.error.kafkaName, message: r.error.message },
      })),
    });
  else if (results.length === 0) await ctx.out.print('every partition is led by its preferred replica');
  else
    for (const r of results)
      await ctx.out.print(
        r.error === null
          ? `${r.topic}-${r.partition}: elected`
          : r.error.kafkaName === 'ELECTION_NOT_NEEDED'
            ? `${r.topic}-${r.partition}: already led by its preferred replica`
            : `${r.topic}-${r.partition}: ${r.error.kafkaName}: ${r.error.message}`,
      );
  return failed.length === 0 ? 0 : 1;
}

/** Replica sets by partition (`topic\u0000partition`). */
async function assignment(ctx: Context): Promise<Map<string, number[]>> {
  const md = await ctx.client.metadataWithRetry(null);
  const out = new Map<string, number[]>();
  for (const t of md.topics)
    for (const p of t.partitions) out.set(`${t.name}\u0000${p.partition}`, p.replicas);
  return out;
}

/**
 * Rebalance, done by the cluster (its balancer, the server README's "Decommission and rebalance"):
 * replicas spread over the brokers across every topic, then preferred leaders, a bounded number of
 * moves at a time (the cluster's --balancer-max-concurrent-moves), resumed after a failover. The
 * command asks, then (unless --no-wait) follows it, then asks the preferred replicas to lead.
 * --dry-run prints the cluster's plan (at most --max-moves); --cancel stops a running rebalance.
 */
async function rebalance(
  ctx: Context,
  admins: Admins,
  options: { maxMoves: number; dryRun: boolean; wait: boolean; cancel: boolean; waitTimeoutMs: number },
): Promise<number> {
  if (options.dryRun) {
    const plan = await adminJson<{ moves: PlannedMove[]; reorders: PlannedMove[] }>(
      admins,
      `/v1/cluster/balancer/plan?maxMoves=${options.maxMoves}`,
    );
    if (ctx.out.json) await ctx.out.printJson(plan);
    else
      await ctx.out.print(
        [...plan.moves, ...plan.reorders].length === 0
          ? 'balanced: replicas and preferred leaders are spread within one of each other'
          : [...plan.moves, ...plan.reorders].map(describeMove).join('\n'),
      );
    return 0;
  }
  if (options.cancel) {
    await adminJson(admins, '/v1/cluster/rebalance/cancel', {});
    if (ctx.out.json) await ctx.out.printJson({ cancelled: true });
    else await ctx.out.print('rebalance cancelled (the moves running finish)');
    return 0;
  }
  const before = await assignment(ctx);
  const started = await adminJson<BalancerStatus>(admins, '/v1/cluster/rebalance', {});
  const requestIndex = started.rebalance?.requestIndex;
  if (!options.wait || requestIndex === undefined) {
    if (ctx.out.json) await ctx.out.printJson({ rebalancing: true, requestIndex });
    else await ctx.out.print('rebalancing (cluster balancer); follow it with: chronik cluster balancer');
    return 0;
  }
  const deadline = Date.now() + options.waitTimeoutMs;
  let reason: string | null = null;
  for (;;) {
    const st = await balancerStatus(admins);
    const r = st.rebalance;
    if (r === null || r.requestIndex !== requestIndex)
      throw new CliError('ADMIN_API', 'the rebalance asked for is no longer the last one');
    if (r.endIndex !== null) {
      reason = r.reason;
      break;
    }
    if (Date.now() > deadline)
      throw new CliError(
        'TIMEOUT',
        `the rebalance runs still after ${options.waitTimeoutMs} ms (the cluster goes on; follow it with cluster balancer)`,
      );
    await sleep(POLL_MS);
  }
  const after = await assignment(ctx);
  let moved = 0;
  let reordered = 0;
  for (const [key, to] of after) {
    const from = before.get(key);
    if (from === undefined) continue;
    if ([...from].sort().join() !== [...to].sort().join()) moved++;
    else if (from[0] !== to[0]) reordered++;
  }
  const elected = await electLeaders(ctx.client, null, undefined, false).catch(() => []);
  const leaders = elected.filter((e) => e.error === null).length;
  if (ctx.out.json) await ctx.out.printJson({ reason, moved, reordered, leadersMoved: leaders });
  else
    await ctx.out.print(
      `${reason === 'balanced' ? 'done' : `ended (${reason ?? '?'})`}: ${moved} moved, ${reordered} preferred leaders changed, ${leaders} leaders moved to their preferred replica`,
    );
  return reason === 'balanced' ? 0 : 1;
}

function describeMove(m: PlannedMove): string {
  return `${m.topic}-${m.partition}: [${m.from.join(',')}] -> [${m.to.join(',')}]`;
}

interface Progress {
  step?: string;
  lastIndex?: number;
  commitIndex?: number;
  learners?: Array<{ nodeId: number; matchIndex: number; caughtUp: boolean }>;
}

/** Each move's progress as its leader reports it, from the admin APIs that answer. */
async function progressFrom(admins: Admins): Promise<Map<string, Progress>> {
  const out = new Map<string, Progress>();
  await Promise.all(
    admins.urls
      .map((a) => a.trim().replace(/\/+$/, ''))
      .filter((a) => a !== '')
      .map(async (base) => {
        try {
          const res = await requestJson(`${base}/v1/reassignments`, admins.auth);
          const body = res.body as {
            reassignments?: Array<{ topic: string; partition: number; progress?: Progress }>;
          };
          for (const r of body.reassignments ?? [])
            if (r.progress !== undefined) out.set(`${r.topic}\u0000${r.partition}`, r.progress);
        } catch {
          // A node that does not answer (or is not Chronik) has nothing to add.
        }
      }),
  );
  return out;
}

function learnersText(p: Progress | undefined): string {
  if (p?.learners === undefined || p.learners.length === 0) return '';
  const last = p.lastIndex ?? 0;
  return p.learners
    .map(
      (l) =>
        `${l.nodeId}: ${l.caughtUp ? 'caught up' : last > 0 ? `${Math.floor((100 * l.matchIndex) / last)}%` : '-'}`,
    )
    .join(' ');
}

async function status(ctx: Context, topic: string | null, admins: Admins): Promise<number> {
  const moves: Reassignment[] = await listReassignments(ctx.client, topic);
  const progressOf = admins.urls.length > 0 ? await progressFrom(admins) : new Map<string, Progress>();
  const rows = moves.map((m) => {
    const p = progressOf.get(`${m.topic}\u0000${m.partition}`);
    return {
      ...m,
      target: m.replicas.filter((b) => !m.removingReplicas.includes(b)),
      ...(p !== undefined ? { progress: p } : {}),
    };
  });
  if (ctx.out.json) {
    await ctx.out.printJson({ reassignments: rows });
    return 0;
  }
  if (rows.length === 0) {
    await ctx.out.print('no reassignment in progress');
    return 0;
  }
  await ctx.out.table(
    ['TOPIC', 'PARTITION', 'REPLICAS', 'TARGET', 'ADDING', 'REMOVING', 'STEP', 'LEARNERS'],
    rows.map((r) => [
      r.topic,
      r.partition,
      r.replicas.join(','),
      r.target.join(','),
      r.addingReplicas.join(','),
      r.removingReplicas.join(','),
      r.progress?.step ?? '',
      learnersText(r.progress),
    ]),
  );
  return 0;
}
