// chronik consume TOPIC: print records, from a start position, alone or as a member of a group.
//
// Without --group the partitions (all, or --partition) are read from --from. With --group the
// consumer joins the group (classic protocol, range assignor: see client/group-member.ts), reads
// its partitions from the committed offsets (--from where none is committed), commits what it
// printed every second and on exit, and leaves the group. Without --follow it stops at the end
// offsets seen when it got its partitions; -n stops after N records.
import type { Argv } from 'yargs';
import { int, partitionList, specTimestamp, startSpec } from '../args.js';
import type { StartSpec } from '../args.js';
import { sleep } from '../client/client.js';
import type { ConsumedRecord, Position } from '../client/fetcher.js';
import { DEFAULT_FETCH_OPTIONS, fetchOnce } from '../client/fetcher.js';
import { DEFAULT_MEMBER_TIMINGS, GroupMember } from '../client/group-member.js';
import { fetchCommitted } from '../client/groups.js';
import { LATEST_TIMESTAMP, listOffsets, offsetRange } from '../client/offsets.js';
import type { TopicPartition } from '../client/partitions.js';
import { tpKey } from '../client/partitions.js';
import type { Context } from '../context.js';
import { usage } from '../errors.js';
import { writeOut } from '../io.js';
import type { Plan, Register } from './types.js';

export const CONSUME_FORMATS = ['value', 'kv', 'json'] as const;
type ConsumeFormat = (typeof CONSUME_FORMATS)[number];

interface ConsumeOptions {
  topic: string;
  from: StartSpec;
  partitions: number[] | undefined;
  group: string | undefined;
  limit: number | undefined;
  follow: boolean;
  keySeparator: string;
}

const COMMIT_INTERVAL_MS = 1000;

export const registerConsume: Register = (y: Argv, plan: Plan) =>
  y.command(
    'consume <topic>',
    'print records of a topic (--format value|kv|json)',
    (c) =>
      c
        .positional('topic', { type: 'string', demandOption: true })
        .option('from', {
          type: 'string',
          default: 'beginning',
          describe: 'beginning, end, an offset, or @TIME (ms or ISO 8601)',
        })
        .option('partition', {
          alias: 'p',
          type: 'string',
          array: true,
          describe: 'only these partitions (0,1,… ; not with --group)',
        })
        .option('group', {
          alias: 'g',
          type: 'string',
          describe: 'consume as a member of this group, committing offsets',
        })
        .option('num', { alias: 'n', type: 'string', describe: 'stop after N records' })
        .option('follow', {
          alias: 'F',
          type: 'boolean',
          default: false,
          describe: 'keep waiting for new records (Ctrl-C stops)',
        })
        .option('key-separator', {
          type: 'string',
          default: '\t',
          describe: 'between key and value with --format kv',
        })
        .example('$0 consume orders --from @2024-05-01T00:00:00Z --format json -n 10', '')
        .example('$0 consume orders -g billing --follow', ''),
    (a) =>
      plan({
        formats: CONSUME_FORMATS,
        action: (ctx) => {
          if (a.group !== undefined && a.partition !== undefined)
            throw usage('--partition and --group exclude each other: a group assigns the partitions');
          return consume(ctx, {
            topic: a.topic as string,
            from: startSpec('from', a.from),
            partitions: partitionList('partition', a.partition),
            group: a.group,
            limit: a.num === undefined ? undefined : int('num', a.num, 1, Number.MAX_SAFE_INTEGER),
            follow: a.follow,
            keySeparator: a['key-separator'],
          });
        },
      }),
  );

async function consume(ctx: Context, o: ConsumeOptions): Promise<number> {
  const client = ctx.client;
  const format = ctx.out.format as unknown as ConsumeFormat;
  const [topic] = await client.topics([o.topic]);
  const all = (topic?.partitions ?? []).map((p) => p.partition);
  for (const p of o.partitions ?? [])
    if (!all.includes(p))
      throw usage(`--partition: topic "${o.topic}" has no partition ${p} (it has ${all.length})`);
  const member =
    o.group === undefined
      ? undefined
      : new GroupMember(client, { groupId: o.group, topics: [o.topic], ...DEFAULT_MEMBER_TIMINGS });
  let positions = new Map<string, Position>();
  let ends = new Map<string, bigint>();
  let printed = 0;
  let lastCommitMs = Date.now();

  const take = async (tps: TopicPartition[]): Promise<void> => {
    const committed =
      member === undefined || tps.length === 0
        ? new Map<string, bigint>()
        : await fetchCommitted(client, member.options.groupId, tps);
    const starts = await startOffsets(
      ctx,
      tps.filter((tp) => !committed.has(tpKey(tp.topic, tp.partition))),
      o.from,
    );
    positions = new Map(
      tps.map((tp) => {
        const k = tpKey(tp.topic, tp.partition);
        return [k, { ...tp, offset: committed.get(k) ?? starts.get(k) ?? 0n }];
      }),
    );
    ends =
      o.follow || tps.length === 0
        ? new Map()
        : await listOffsets(
            client,
            tps.map((tp) => ({ ...tp, timestamp: LATEST_TIMESTAMP })),
          );
  };
  const commit = async (): Promise<void> => {
    lastCommitMs = Date.now();
    await member?.commit([...positions.values()]);
  };

  try {
    await take(
      member === undefined
        ? (o.partitions ?? all).map((partition) => ({ topic: o.topic, partition }))
        : await member.join(),
    );
    while (!ctx.aborted && (o.limit === undefined || printed < o.limit)) {
      if (member?.needsRejoin === true) {
        await commit();
        await take(await member.join());
      }
      const active = [...positions.values()].filter(
        (p) => o.follow || p.offset < (ends.get(tpKey(p.topic, p.partition)) ?? 0n),
      );
      if (active.length === 0) {
        if (!o.follow) break;
        await sleep(DEFAULT_FETCH_OPTIONS.maxWaitMs, ctx.io.signal);
        continue;
      }
      const fetched = await fetchOnce(client, active, DEFAULT_FETCH_OPTIONS);
      let text = '';
      for (const [k, f] of fetched) {
        const pos = positions.get(k);
        if (pos === undefined) continue;
        if (f.outOfRange) {
          // As auto.offset.reset: to the end when asked to start there, else to the log start.
          pos.offset = o.from.kind === 'latest' ? f.highWatermark : f.logStartOffset;
          continue;
        }
        for (const r of f.records) {
          if (o.limit !== undefined && printed >= o.limit) break;
          text += render(r, format, o.keySeparator);
          printed++;
          pos.offset = r.offset + 1n;
        }
        if (o.limit === undefined || printed < o.limit)
          pos.offset = f.nextOffset > pos.offset ? f.nextOffset : pos.offset;
      }
      if (text !== '') await writeOut(ctx.io.stdout, text);
      if (member !== undefined && Date.now() - lastCommitMs >= COMMIT_INTERVAL_MS) await commit();
    }
  } finally {
    if (member !== undefined && member.memberId !== '') {
      await commit().catch(() => undefined);
      await member.leave().catch(() => undefined);
    }
  }
  return 0;
}

/** The start offset of each partition for a spec, by `tpKey`. */
async function startOffsets(
  ctx: Context,
  tps: TopicPartition[],
  from: StartSpec,
): Promise<Map<string, bigint>> {
  if (tps.length === 0) return new Map();
  if (from.kind === 'offset') {
    // An offset outside a partition's log is clamped into it, as kafka-console-consumer's --offset.
    const ranges = await offsetRange(ctx.client, tps);
    return new Map(
      [...ranges].map(([k, r]) => [
        k,
        from.offset < r.start ? r.start : from.offset > r.end ? r.end : from.offset,
      ]),
    );
  }
  const ts = specTimestamp(from) ?? LATEST_TIMESTAMP;
  const found = await listOffsets(
    ctx.client,
    tps.map((tp) => ({ ...tp, timestamp: ts })),
  );
  if (from.kind !== 'timestamp') return found;
  // No record at or after the time: start at the end.
  const missing = tps.filter((tp) => (found.get(tpKey(tp.topic, tp.partition)) ?? -1n) < 0n);
  if (missing.length > 0) {
    const ends = await listOffsets(
      ctx.client,
      missing.map((tp) => ({ ...tp, timestamp: LATEST_TIMESTAMP })),
    );
    for (const [k, v] of ends) found.set(k, v);
  }
  return found;
}

function text(b: Buffer | null): string | null {
  return b === null ? null : b.toString('utf8');
}

/** One record as one line in the chosen format. */
export function render(r: ConsumedRecord, format: ConsumeFormat, keySeparator: string): string {
  switch (format) {
    case 'value':
      return `${text(r.value) ?? ''}\n`;
    case 'kv':
      return `${text(r.key) ?? ''}${keySeparator}${text(r.value) ?? ''}\n`;
    case 'json':
      return (
        JSON.stringify({
          topic: r.topic,
          partition: r.partition,
          offset: Number(r.offset),
          timestamp: Number(r.timestampMs),
          key: text(r.key),
          value: text(r.value),
          headers: r.headers.map((h) => ({ key: h.key, value: text(h.value) })),
        }) + '\n'
      );
  }
}
