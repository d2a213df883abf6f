// chronik partitions move|status|cancel|elect: partition reassignments (KIP-455) and leader
// elections (KIP-460) through the Kafka protocol (AlterPartitionReassignments,
// ListPartitionReassignments, ElectLeaders), so they work against any Kafka-compatible cluster. On Chronik, `status --admin` adds the progress of each move as the
// partition's leader reports it (GET /v1/reassignments of the admin API).
import type { Argv } from 'yargs';
import { int, partitionList } from '../args.js';
import { sleep } from '../client/client.js';
import type { Reassignment } from '../client/reassignments.js';
import { alterReassignments, electLeaders, listReassignments } from '../client/reassignments.js';
import type { Context } from '../context.js';
import { CliError, usage } from '../errors.js';
import { progress } from '../progress.js';
import type { Plan, Register } from './types.js';
import { READ_FORMATS } from './types.js';

const ADMIN_TIMEOUT_MS = 5000;
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
          s
            .positional('topic', { type: 'string' })
            .option('admin', {
              type: 'string',
              describe:
                "Chronik admin API URLs, comma-separated, for each move's progress (default $CHRONIK_ADMIN)",
            })
            .example('$0 partitions status orders --admin http://n1:6092,http://n2:6092', ''),
        (a) =>
          plan({
            formats: READ_FORMATS,
            action: (ctx) => {
              const admin = a.admin ?? ctx.io.env.CHRONIK_ADMIN;
              return status(ctx, a.topic ?? null, admin === undefined ? [] : admin.split(','));
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
      .demandCommand(1, 'partitions: which subcommand? (move, status, cancel, elect)'),
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
  const deadline = Date.now() + options.waitTimeoutMs;
  const bar = progress(ctx.io, 'moving', partitions.length, ' partitions');
  try {
    for (;;) {
      const open = await listReassignments(ctx.client, topic, partitions);
      bar.update(partitions.length - open.length);
      if (open.length === 0) break;
      if (Date.now() > deadline)
        throw new CliError(
          'TIMEOUT',
          `${open.length} of the moves are not done after ${options.waitTimeoutMs} ms`,
        );
      await sleep(POLL_MS);
    }
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

interface Progress {
  step?: string;
  lastIndex?: number;
  commitIndex?: number;
  learners?: Array<{ nodeId: number; matchIndex: number; caughtUp: boolean }>;
}

/** Each move's progress as its leader reports it, from the admin APIs that answer. */
async function progressFrom(admins: readonly string[]): Promise<Map<string, Progress>> {
  const out = new Map<string, Progress>();
  await Promise.all(
    admins
      .map((a) => a.trim().replace(/\/+$/, ''))
      .filter((a) => a !== '')
      .map(async (base) => {
        try {
          const res = await fetch(`${base}/v1/reassignments`, {
            signal: AbortSignal.timeout(ADMIN_TIMEOUT_MS),
          });
          const body = (await res.json()) as {
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

async function status(ctx: Context, topic: string | null, admins: string[]): Promise<number> {
  const moves: Reassignment[] = await listReassignments(ctx.client, topic);
  const progressOf = admins.length > 0 ? await progressFrom(admins) : new Map<string, Progress>();
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
