// chronik partitions move|status|cancel|elect: partition reassignments (KIP-455) and leader
// elections (KIP-460) through the Kafka protocol (AlterPartitionReassignments,
// ListPartitionReassignments, ElectLeaders), so they work against any Kafka-compatible cluster. On Chronik, `status --admin` adds the progress of each move as the
// partition's leader reports it (GET /v1/reassignments of the admin API).
import type { Argv } from 'yargs';
import { int, partitionList } from '../args.js';
import type { BrokerInfo, TopicInfo } from '../client/client.js';
import type { Reassignment, ReassignResult } from '../client/reassignments.js';
import {
  alterReassignments,
  electLeaders,
  executeMoves,
  listReassignments,
} from '../client/reassignments.js';
import type { PlannedMove } from '../client/placement.js';
import { atTargets, planLeaderBalance, planRebalance } from '../client/placement.js';
import type { Context } from '../context.js';
import type { Admins } from '../client/admin-api.js';
import { adminAuth, adminAuthOptions, requestJson } from '../client/admin-api.js';
import type { CliError } from '../errors.js';
import { usage } from '../errors.js';
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
        'spread replicas evenly over the brokers (after nodes were added), a bounded number of moves at a time',
        (m) =>
          m
            .option('max-moves', {
              type: 'string',
              default: '10',
              describe: 'moves planned at most (run again for more)',
            })
            .option('max-in-flight', { type: 'string', default: '2', describe: 'moves running at once' })
            .option('dry-run', { type: 'boolean', default: false, describe: 'print the plan only' })
            .example('$0 partitions rebalance --max-moves 20', ''),
        (a) =>
          plan({
            formats: READ_FORMATS,
            action: (ctx) =>
              rebalance(ctx, {
                maxMoves: int('max-moves', a['max-moves'], 1, 100_000),
                maxInFlight: int('max-in-flight', a['max-in-flight'], 1, 1000),
                dryRun: a['dry-run'],
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

async function rebalance(
  ctx: Context,
  options: { maxMoves: number; maxInFlight: number; dryRun: boolean },
): Promise<number> {
  // Partitions moving already (an earlier run interrupted) are planned from their targets.
  const current = async (): Promise<{ brokers: BrokerInfo[]; topics: TopicInfo[] }> => {
    const md = await ctx.client.metadataWithRetry(null);
    return { brokers: md.brokers, topics: atTargets(md.topics, await listReassignments(ctx.client, null)) };
  };
  const before = await current();
  const moves = planRebalance(before.brokers, before.topics, options.maxMoves);
  if (options.dryRun) {
    // The leaders as they would be spread once the replicas moved.
    const after = before.topics.map((t) => ({
      ...t,
      partitions: t.partitions.map((p) => ({
        ...p,
        replicas: moves.find((m) => m.topic === t.name && m.partition === p.partition)?.to ?? p.replicas,
      })),
    }));
    const reorders = planLeaderBalance(before.brokers, after, options.maxMoves);
    if (ctx.out.json) await ctx.out.printJson({ moves, reorders });
    else
      await ctx.out.print(
        [...moves, ...reorders].length === 0
          ? 'balanced: replicas and preferred leaders are spread within one of each other'
          : [...moves, ...reorders].map(describeMove).join('\n'),
      );
    return 0;
  }
  if (!ctx.out.json)
    await ctx.out.print(moves.length === 0 ? 'replicas: balanced' : moves.map(describeMove).join('\n'));
  const refused = await runMoves(ctx, moves, options.maxInFlight, 'moving');
  // Then the preferred leaders, from where the replicas are now (reorders move no data), and the
  // preferred replicas lead again.
  const moved = await current();
  const reorders = planLeaderBalance(moved.brokers, moved.topics, options.maxMoves);
  if (!ctx.out.json && reorders.length > 0) await ctx.out.print(reorders.map(describeMove).join('\n'));
  refused.push(...(await runMoves(ctx, reorders, options.maxInFlight, 'reordering')));
  const elected = await electLeaders(ctx.client, null, undefined, false).catch(() => []);
  const leaders = elected.filter((e) => e.error === null).length;
  if (ctx.out.json)
    await ctx.out.printJson({
      moves,
      reorders,
      refused: refused.map((r) => ({ topic: r.topic, partition: r.partition, error: r.error?.message })),
      leadersMoved: leaders,
    });
  else {
    for (const r of refused)
      await ctx.out.print(`${r.topic}-${r.partition}: not moved: ${r.error?.message ?? ''}`);
    await ctx.out.print(
      `done: ${moves.length - refused.length} moved, ${reorders.length} preferred leaders changed, ${leaders} leaders moved to their preferred replica`,
    );
  }
  return refused.length === 0 ? 0 : 1;
}

function describeMove(m: PlannedMove): string {
  return `${m.topic}-${m.partition}: [${m.from.join(',')}] -> [${m.to.join(',')}]`;
}

async function runMoves(
  ctx: Context,
  moves: readonly PlannedMove[],
  maxInFlight: number,
  label: string,
): Promise<ReassignResult[]> {
  if (moves.length === 0) return [];
  const bar = progress(ctx.io, label, moves.length, ' partitions');
  try {
    return await executeMoves(ctx.client, moves, maxInFlight, (done) => bar.update(done));
  } finally {
    bar.stop();
  }
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
