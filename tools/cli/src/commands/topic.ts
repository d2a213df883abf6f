// chronik topic create|list|describe|delete|alter-config|add-partitions
import { ErrorCode } from '@chronik/protocol';
import type { Argv } from 'yargs';
import { int, keyValues } from '../args.js';
import type { KafkaClient, TopicInfo } from '../client/client.js';
import { sleep } from '../client/client.js';
import {
  alterTopicConfigs,
  createPartitions,
  createTopic,
  deleteTopic,
  describeTopicConfigs,
  logDirSizes,
} from '../client/admin.js';
import { offsetRange } from '../client/offsets.js';
import { tpKey } from '../client/partitions.js';
import type { Context } from '../context.js';
import { CliError, isCliError, kafkaError, usage } from '../errors.js';
import { formatBytes } from '../output.js';
import { progress } from '../progress.js';
import type { Plan, Register } from './types.js';
import { READ_FORMATS } from './types.js';

const WRITE_FORMATS = ['text', 'json'] as const;

export const registerTopic: Register = (y: Argv, plan: Plan) =>
  y.command('topic', 'create, list, describe, delete and alter topics', (t) =>
    t
      .command(
        'create <topics..>',
        'create topics and wait until every partition has a leader',
        (c) =>
          c
            .positional('topics', { type: 'string', array: true, demandOption: true })
            .option('partitions', {
              alias: 'p',
              type: 'string',
              default: '-1',
              describe: 'partitions (-1: the broker default)',
            })
            .option('replication-factor', {
              alias: 'r',
              type: 'string',
              default: '-1',
              describe: 'replicas per partition (-1: the broker default)',
            })
            .option('config', {
              alias: 'c',
              type: 'string',
              array: true,
              describe: 'topic config key=value (repeatable)',
            })
            .option('if-not-exists', {
              type: 'boolean',
              default: false,
              describe: 'succeed when the topic exists',
            })
            .option('wait-timeout-ms', {
              type: 'string',
              default: '30000',
              describe: 'how long to wait for leaders (0: do not wait)',
            })
            .example('$0 topic create orders -p 6 -r 3 -c retention.ms=86400000', ''),
        (a) =>
          plan({
            formats: WRITE_FORMATS,
            action: (ctx) =>
              create(ctx, a.topics as string[], {
                partitions: int('partitions', a.partitions, -1, 1_000_000),
                replicationFactor: int('replication-factor', a['replication-factor'], -1, 32_767),
                configs: keyValues('config', a.config),
                ifNotExists: a['if-not-exists'],
                waitTimeoutMs: int('wait-timeout-ms', a['wait-timeout-ms'], 0, 3_600_000),
              }),
          }),
      )
      .command(
        'list',
        'list topics',
        (c) =>
          c.option('internal', {
            type: 'boolean',
            default: false,
            describe: 'include internal topics (__consumer_offsets)',
          }),
        (a) => plan({ formats: READ_FORMATS, action: (ctx) => list(ctx, a.internal) }),
      )
      .command(
        'describe <topics..>',
        'partitions with leader, replicas, ISR, log start/end and size; the configs set on the topic',
        (c) =>
          c.positional('topics', { type: 'string', array: true, demandOption: true }).option('all-configs', {
            type: 'boolean',
            default: false,
            describe: 'show every config, inherited ones too',
          }),
        (a) =>
          plan({
            formats: READ_FORMATS,
            action: (ctx) => describe(ctx, a.topics as string[], a['all-configs']),
          }),
      )
      .command(
        'delete <topics..>',
        'delete topics',
        (c) =>
          c.positional('topics', { type: 'string', array: true, demandOption: true }).option('if-exists', {
            type: 'boolean',
            default: false,
            describe: 'succeed when the topic does not exist',
          }),
        (a) =>
          plan({
            formats: WRITE_FORMATS,
            action: (ctx) => remove(ctx, a.topics as string[], a['if-exists']),
          }),
      )
      .command(
        'alter-config <topic>',
        'set or delete topic configs (IncrementalAlterConfigs)',
        (c) =>
          c
            .positional('topic', { type: 'string', demandOption: true })
            .option('set', {
              alias: 's',
              type: 'string',
              array: true,
              describe: 'key=value to set (repeatable)',
            })
            .option('delete', {
              alias: 'd',
              type: 'string',
              array: true,
              describe: 'key to reset to its default (repeatable)',
            })
            .example('$0 topic alter-config orders --set retention.ms=3600000 --delete cleanup.policy', ''),
        (a) =>
          plan({
            formats: WRITE_FORMATS,
            action: (ctx) => alterConfig(ctx, a.topic as string, keyValues('set', a.set), a.delete ?? []),
          }),
      )
      .command(
        'add-partitions <topic>',
        'raise the partition count of a topic',
        (c) =>
          c.positional('topic', { type: 'string', demandOption: true }).option('partitions', {
            alias: 'p',
            type: 'string',
            demandOption: true,
            describe: 'the new total number of partitions',
          }),
        (a) =>
          plan({
            formats: WRITE_FORMATS,
            action: (ctx) =>
              addPartitions(ctx, a.topic as string, int('partitions', a.partitions, 1, 1_000_000)),
          }),
      )
      .demandCommand(
        1,
        'topic: which subcommand? (create, list, describe, delete, alter-config, add-partitions)',
      ),
  );

async function create(
  ctx: Context,
  topics: string[],
  o: {
    partitions: number;
    replicationFactor: number;
    configs: Map<string, string>;
    ifNotExists: boolean;
    waitTimeoutMs: number;
  },
): Promise<number> {
  if (o.partitions === 0)
    throw usage('--partitions: a topic needs at least one partition (or -1 for the default)');
  if (o.replicationFactor === 0) throw usage('--replication-factor: at least 1 (or -1 for the default)');
  const results: Array<{ topic: string; topicId: string | null; created: boolean }> = [];
  for (const name of topics) {
    try {
      const { topicId } = await createTopic(ctx.client, {
        name,
        partitions: o.partitions,
        replicationFactor: o.replicationFactor,
        configs: o.configs,
      });
      results.push({ topic: name, topicId, created: true });
    } catch (e) {
      if (!(o.ifNotExists && isCliError(e) && e.kafkaCode === ErrorCode.TOPIC_ALREADY_EXISTS)) throw e;
      results.push({ topic: name, topicId: null, created: false });
    }
  }
  if (o.waitTimeoutMs > 0) await waitForLeaders(ctx, topics, o.waitTimeoutMs);
  if (ctx.out.json) await ctx.out.printJson(results);
  else
    for (const r of results)
      await ctx.out.print(r.created ? `Created topic "${r.topic}".` : `Topic "${r.topic}" already exists.`);
  return 0;
}

/** Polls Metadata until every partition of `topics` has a leader (a bar counts them on a terminal). */
async function waitForLeaders(ctx: Context, topics: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let bar: ReturnType<typeof progress> | undefined;
  try {
    for (;;) {
      const md = await ctx.client.metadata(topics);
      const parts = md.topics.flatMap((t) => t.partitions);
      const ready = parts.filter((p) => p.leader >= 0).length;
      const allThere = topics.every((n) =>
        md.topics.some((t) => t.name === n && t.errorCode === ErrorCode.NONE),
      );
      if (allThere && ready === parts.length) return;
      bar ??= progress(ctx.io, 'waiting for leaders', parts.length, ' partitions');
      bar.update(ready);
      if (Date.now() >= deadline)
        throw kafkaError(
          ErrorCode.LEADER_NOT_AVAILABLE,
          `topics ${topics.join(', ')}: ${ready} of ${parts.length} partitions have a leader after ${timeoutMs} ms`,
        );
      await sleep(100, ctx.io.signal);
    }
  } finally {
    bar?.stop();
  }
}

async function list(ctx: Context, internal: boolean): Promise<number> {
  const md = await ctx.client.metadataWithRetry(null);
  const topics = md.topics.filter((t) => internal || !t.isInternal);
  const rows = topics.map((t) => ({
    name: t.name,
    topicId: t.topicId,
    partitions: t.partitions.length,
    replicationFactor: replicationFactor(t),
    internal: t.isInternal,
  }));
  if (ctx.out.json) await ctx.out.printJson(rows);
  else
    await ctx.out.table(
      ['NAME', 'PARTITIONS', 'REPLICAS'],
      rows.map((r) => [r.name, r.partitions, r.replicationFactor]),
    );
  return 0;
}

function replicationFactor(t: TopicInfo): number {
  return Math.max(0, ...t.partitions.map((p) => p.replicas.length));
}

interface PartitionRow {
  partition: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
  logStartOffset: bigint | null;
  logEndOffset: bigint | null;
  sizeBytes: bigint | null;
  error: string | null;
}

async function describe(ctx: Context, names: string[], allConfigs: boolean): Promise<number> {
  const topics = await ctx.client.topics(names);
  const docs = [];
  for (const t of topics) docs.push(await describeOne(ctx.client, t, allConfigs));
  if (ctx.out.json) {
    await ctx.out.printJson(docs);
    return 0;
  }
  for (const [i, d] of docs.entries()) {
    if (i > 0) await ctx.out.print('');
    await ctx.out.print(
      `Topic: ${d.name}  ID: ${d.topicId}  Partitions: ${d.partitions.length}  Replication factor: ${d.replicationFactor}${d.internal ? '  (internal)' : ''}`,
    );
    const shown = d.configs;
    await ctx.out.print(
      `Configs: ${shown.length === 0 ? '(none set on the topic)' : shown.map((c) => `${c.name}=${c.isSensitive ? '<sensitive>' : (c.value ?? 'null')}`).join(', ')}`,
    );
    await ctx.out.table(
      ['PARTITION', 'LEADER', 'EPOCH', 'REPLICAS', 'ISR', 'LOG-START', 'LOG-END', 'SIZE'],
      d.partitions.map((p) => [
        p.partition,
        p.leader < 0 ? 'none' : p.leader,
        p.leaderEpoch,
        p.replicas.join(','),
        p.isr.join(','),
        p.logStartOffset,
        p.logEndOffset,
        p.sizeBytes === null ? null : formatBytes(p.sizeBytes),
      ]),
    );
  }
  return 0;
}

async function describeOne(client: KafkaClient, t: TopicInfo, allConfigs: boolean) {
  const tps = t.partitions
    .filter((p) => p.leader >= 0)
    .map((p) => ({ topic: t.name, partition: p.partition }));
  const [ranges, sizes, configs] = await Promise.all([
    offsetRange(client, tps).catch(() => new Map<string, { start: bigint; end: bigint }>()),
    logDirSizes(
      client,
      t.name,
      t.partitions.map((p) => p.partition),
      [...new Set(t.partitions.flatMap((p) => p.replicas))],
    ),
    describeTopicConfigs(client, t.name).catch((e: unknown) => {
      if (isCliError(e) && e.kafkaCode === ErrorCode.UNSUPPORTED_VERSION) return [];
      throw e;
    }),
  ]);
  const partitions: PartitionRow[] = t.partitions.map((p) => {
    const k = tpKey(t.name, p.partition);
    const range = ranges.get(k);
    return {
      partition: p.partition,
      leader: p.leader,
      leaderEpoch: p.leaderEpoch,
      replicas: p.replicas,
      isr: p.isr,
      offlineReplicas: p.offline,
      logStartOffset: range?.start ?? null,
      logEndOffset: range?.end ?? null,
      sizeBytes: sizes.get(p.leader)?.get(k) ?? null,
      error: p.errorCode === ErrorCode.NONE ? null : kafkaError(p.errorCode, '').kafkaName,
    };
  });
  return {
    name: t.name,
    topicId: t.topicId,
    internal: t.isInternal,
    replicationFactor: replicationFactor(t),
    partitions,
    configs: configs.filter((c) => allConfigs || c.override),
  };
}

async function remove(ctx: Context, names: string[], ifExists: boolean): Promise<number> {
  const results: Array<{ topic: string; deleted: boolean }> = [];
  for (const name of names) {
    try {
      await deleteTopic(ctx.client, name);
      results.push({ topic: name, deleted: true });
    } catch (e) {
      if (!(ifExists && isCliError(e) && e.kafkaCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)) throw e;
      results.push({ topic: name, deleted: false });
    }
  }
  if (ctx.out.json) await ctx.out.printJson(results);
  else
    for (const r of results)
      await ctx.out.print(r.deleted ? `Deleted topic "${r.topic}".` : `Topic "${r.topic}" does not exist.`);
  return 0;
}

async function alterConfig(
  ctx: Context,
  topic: string,
  set: Map<string, string>,
  remove: string[],
): Promise<number> {
  if (set.size === 0 && remove.length === 0)
    throw usage('alter-config: nothing to do (give --set key=value or --delete key)');
  await alterTopicConfigs(ctx.client, topic, set, remove);
  const configs = (await describeTopicConfigs(ctx.client, topic)).filter((c) => c.override);
  if (ctx.out.json)
    await ctx.out.printJson({ topic, set: Object.fromEntries(set), deleted: remove, configs });
  else {
    await ctx.out.print(`Altered the configs of topic "${topic}".`);
    await ctx.out.print(
      `Configs: ${configs.length === 0 ? '(none set on the topic)' : configs.map((c) => `${c.name}=${c.value ?? 'null'}`).join(', ')}`,
    );
  }
  return 0;
}

async function addPartitions(ctx: Context, topic: string, total: number): Promise<number> {
  const [t] = await ctx.client.topics([topic]);
  const before = t?.partitions.length ?? 0;
  if (total <= before)
    throw new CliError(
      'KAFKA',
      `topic "${topic}" has ${before} partitions: the new count must be higher, not ${total}`,
      {
        kafkaCode: ErrorCode.INVALID_PARTITIONS,
      },
    );
  await createPartitions(ctx.client, topic, total);
  if (ctx.out.json) await ctx.out.printJson({ topic, partitionsBefore: before, partitions: total });
  else await ctx.out.print(`Topic "${topic}" now has ${total} partitions (was ${before}).`);
  return 0;
}
