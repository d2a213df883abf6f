// chronik group list|describe|delete|reset-offsets
import { ErrorCode } from '@chronik/protocol';
import type { Argv } from 'yargs';
import { specTimestamp, startSpec, topicPartitions } from '../args.js';
import type { StartSpec } from '../args.js';
import { commitOffsets } from '../client/group-member.js';
import { deleteGroup, describeGroup, fetchCommitted, isInactive, listGroups } from '../client/groups.js';
import type { GroupDescription } from '../client/groups.js';
import { LATEST_TIMESTAMP, listOffsets, offsetRange } from '../client/offsets.js';
import type { TopicPartition } from '../client/partitions.js';
import { tpKey } from '../client/partitions.js';
import type { Context } from '../context.js';
import { CliError, kafkaError, usage } from '../errors.js';
import { progress } from '../progress.js';
import type { Plan, Register } from './types.js';
import { READ_FORMATS } from './types.js';

/** Partitions committed per OffsetCommit when executing a reset. */
const RESET_CHUNK = 500;

export const registerGroup: Register = (y: Argv, plan: Plan) =>
  y.command('group', 'list, describe, delete consumer groups and reset their offsets', (g) =>
    g
      .command('list', 'list the groups of every broker', {}, () =>
        plan({ formats: READ_FORMATS, action: (ctx) => list(ctx) }),
      )
      .command(
        'describe <groups..>',
        'state, members, and per partition the committed offset, log end and lag',
        (c) => c.positional('groups', { type: 'string', array: true, demandOption: true }),
        (a) => plan({ formats: READ_FORMATS, action: (ctx) => describe(ctx, a.groups as string[]) }),
      )
      .command(
        'delete <groups..>',
        'delete groups that have no members (and their committed offsets)',
        (c) => c.positional('groups', { type: 'string', array: true, demandOption: true }),
        (a) => plan({ formats: READ_FORMATS, action: (ctx) => remove(ctx, a.groups as string[]) }),
      )
      .command(
        'reset-offsets <group>',
        'plan (default) or --execute a reset of committed offsets',
        (c) =>
          c
            .positional('group', { type: 'string', demandOption: true })
            .option('topic', {
              alias: 't',
              type: 'string',
              array: true,
              describe: 'TOPIC or TOPIC:0,1 (repeatable)',
            })
            .option('all-topics', {
              type: 'boolean',
              default: false,
              describe: 'every partition the group committed',
            })
            .option('to', {
              type: 'string',
              demandOption: true,
              describe: 'earliest, latest, an offset, or @TIME (ms or ISO 8601)',
            })
            .option('execute', { type: 'boolean', default: false, describe: 'commit the new offsets' })
            .option('dry-run', {
              type: 'boolean',
              default: false,
              describe: 'only print the plan (the default)',
            })
            .example(
              '$0 group reset-offsets billing --topic orders --to @2024-05-01T00:00:00Z --execute',
              '',
            ),
        (a) =>
          plan({
            formats: READ_FORMATS,
            action: (ctx) => {
              if (a.execute && a['dry-run']) throw usage('--execute and --dry-run exclude each other');
              if ((a.topic === undefined) === !a['all-topics'])
                throw usage('reset-offsets: give either --topic or --all-topics');
              return resetOffsets(ctx, {
                group: a.group as string,
                topics: (a.topic ?? []).map((t) => topicPartitions('topic', t)),
                to: startSpec('to', a.to),
                execute: a.execute,
              });
            },
          }),
      )
      .demandCommand(1, 'group: which subcommand? (list, describe, delete, reset-offsets)'),
  );

async function list(ctx: Context): Promise<number> {
  const groups = await listGroups(ctx.client);
  if (ctx.out.json) await ctx.out.printJson(groups);
  else
    await ctx.out.table(
      ['GROUP', 'STATE', 'PROTOCOL-TYPE', 'COORDINATOR'],
      groups.map((g) => [
        g.groupId,
        g.state === '' ? null : g.state,
        g.protocolType === '' ? null : g.protocolType,
        g.coordinator,
      ]),
    );
  return 0;
}

interface OffsetRow {
  topic: string;
  partition: number;
  currentOffset: bigint | null;
  logEndOffset: bigint | null;
  lag: bigint | null;
  memberId: string | null;
  host: string | null;
  clientId: string | null;
}

async function describe(ctx: Context, groups: string[]): Promise<number> {
  const docs = [];
  for (const g of groups) {
    const d = await describeGroup(ctx.client, g);
    const committed = await fetchCommitted(ctx.client, g, null);
    if (d.state === 'Dead' && committed.size === 0)
      throw kafkaError(ErrorCode.GROUP_ID_NOT_FOUND, `group "${g}"`, 'The group does not exist.');
    docs.push({ ...summary(d), offsets: await lagRows(ctx, d, committed) });
  }
  if (ctx.out.json) {
    await ctx.out.printJson(docs);
    return 0;
  }
  for (const [i, d] of docs.entries()) {
    if (i > 0) await ctx.out.print('');
    await ctx.out.print(
      `Group: ${d.group}  State: ${d.state}  Protocol: ${d.protocol === '' ? '-' : d.protocol}  Members: ${d.members.length}`,
    );
    if (d.offsets.length === 0) {
      await ctx.out.print('(no committed offsets and no assigned partitions)');
      continue;
    }
    await ctx.out.table(
      ['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'],
      d.offsets.map((r) => [
        r.topic,
        r.partition,
        r.currentOffset,
        r.logEndOffset,
        r.lag,
        r.memberId,
        r.host,
        r.clientId,
      ]),
    );
  }
  return 0;
}

function summary(d: GroupDescription) {
  return {
    group: d.groupId,
    state: d.state,
    protocolType: d.protocolType,
    protocol: d.protocol,
    members: d.members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      host: m.clientHost,
      assignment: m.assignment,
    })),
  };
}

/** One row per partition that is committed or assigned: kafka-consumer-groups' --describe. */
async function lagRows(
  ctx: Context,
  d: GroupDescription,
  committed: Map<string, bigint>,
): Promise<OffsetRow[]> {
  const owner = new Map<string, GroupDescription['members'][number]>();
  for (const m of d.members) for (const tp of m.assignment) owner.set(tpKey(tp.topic, tp.partition), m);
  const keys = new Set([...committed.keys(), ...owner.keys()]);
  const tps = [...keys]
    .map(splitKey)
    .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  const existing = await existingPartitions(ctx, tps);
  const ends = await listOffsets(
    ctx.client,
    existing.map((tp) => ({ ...tp, timestamp: LATEST_TIMESTAMP })),
  );
  return tps.map((tp) => {
    const k = tpKey(tp.topic, tp.partition);
    const current = committed.get(k) ?? null;
    const end = ends.get(k) ?? null;
    const m = owner.get(k);
    return {
      ...tp,
      currentOffset: current,
      logEndOffset: end,
      lag: current !== null && end !== null ? (end > current ? end - current : 0n) : null,
      memberId: m?.memberId ?? null,
      host: m?.clientHost ?? null,
      clientId: m?.clientId ?? null,
    };
  });
}

/** The partitions whose topic still exists (a group may keep offsets of deleted topics). */
async function existingPartitions(ctx: Context, tps: TopicPartition[]): Promise<TopicPartition[]> {
  if (tps.length === 0) return [];
  const md = await ctx.client.metadata([...new Set(tps.map((t) => t.topic))]);
  return tps.filter((tp) =>
    md.topics.some(
      (t) =>
        t.name === tp.topic &&
        t.errorCode === ErrorCode.NONE &&
        t.partitions.some((p) => p.partition === tp.partition),
    ),
  );
}

function splitKey(k: string): TopicPartition {
  const at = k.lastIndexOf(':');
  return { topic: k.slice(0, at), partition: Number(k.slice(at + 1)) };
}

async function remove(ctx: Context, groups: string[]): Promise<number> {
  for (const g of groups) await deleteGroup(ctx.client, g);
  if (ctx.out.json) await ctx.out.printJson(groups.map((group) => ({ group, deleted: true })));
  else for (const g of groups) await ctx.out.print(`Deleted group "${g}".`);
  return 0;
}

interface ResetOptions {
  group: string;
  /** Empty: --all-topics. */
  topics: Array<{ topic: string; partitions: number[] | undefined }>;
  to: StartSpec;
  execute: boolean;
}

async function resetOffsets(ctx: Context, o: ResetOptions): Promise<number> {
  const client = ctx.client;
  const d = await describeGroup(client, o.group);
  if (o.execute && !isInactive(d.state))
    throw kafkaError(
      ErrorCode.NON_EMPTY_GROUP,
      `group "${o.group}"`,
      `Offsets can only be reset while the group has no members; it is ${d.state} with ${d.members.length} member${d.members.length === 1 ? '' : 's'}: stop its consumers first.`,
    );
  const committed = await fetchCommitted(client, o.group, null);
  let tps: TopicPartition[];
  if (o.topics.length === 0) tps = [...committed.keys()].map(splitKey);
  else {
    const infos = await client.topics(o.topics.map((t) => t.topic));
    tps = o.topics.flatMap((t, i) => {
      const all = (infos[i]?.partitions ?? []).map((p) => p.partition);
      for (const p of t.partitions ?? [])
        if (!all.includes(p))
          throw kafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `partition ${t.topic}-${p}`);
      return (t.partitions ?? all).map((partition) => ({ topic: t.topic, partition }));
    });
  }
  tps = await existingPartitions(ctx, tps);
  if (tps.length === 0) throw new CliError('USAGE', `group "${o.group}": no partitions to reset`);
  const ranges = await offsetRange(client, tps);
  const ts = specTimestamp(o.to);
  const found =
    ts === undefined
      ? new Map<string, bigint>()
      : await listOffsets(
          client,
          tps.map((tp) => ({ ...tp, timestamp: ts })),
        );
  const plan = tps.map((tp) => {
    const k = tpKey(tp.topic, tp.partition);
    const r = ranges.get(k) ?? { start: 0n, end: 0n };
    let target = o.to.kind === 'offset' ? o.to.offset : (found.get(k) ?? -1n);
    if (target < 0n) target = r.end; // no record at or after the time
    // Clamped into the log, as kafka-consumer-groups does.
    if (target < r.start) target = r.start;
    if (target > r.end) target = r.end;
    return { group: o.group, ...tp, currentOffset: committed.get(k) ?? null, newOffset: target };
  });
  if (o.execute) {
    const bar = progress(ctx.io, `resetting ${o.group}`, plan.length, ' partitions');
    try {
      for (let i = 0; i < plan.length; i += RESET_CHUNK) {
        const chunk = plan.slice(i, i + RESET_CHUNK);
        await commitOffsets(
          client,
          o.group,
          chunk.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.newOffset })),
        );
        bar.increment(chunk.length);
      }
    } finally {
      bar.stop();
    }
  }
  if (ctx.out.json) await ctx.out.printJson({ group: o.group, executed: o.execute, offsets: plan });
  else
    await ctx.out.table(
      ['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'NEW-OFFSET'],
      plan.map((p) => [p.group, p.topic, p.partition, p.currentOffset, p.newOffset]),
    );
  if (!o.execute)
    ctx.out.note('Dry run: nothing was changed. Run again with --execute to commit these offsets.');
  return 0;
}
