// chronik produce TOPIC: one record per line of stdin.
import readline from 'node:readline';
import type { Argv } from 'yargs';
import { acks, compression, COMPRESSIONS, int, keyValues, rate } from '../args.js';
import { sleep } from '../client/client.js';
import type { ProduceRecord } from '../client/producer.js';
import { DEFAULT_PRODUCER_OPTIONS, Producer } from '../client/producer.js';
import type { Context } from '../context.js';
import { CliError } from '../errors.js';
import { progress } from '../progress.js';
import type { Plan, Register } from './types.js';

interface ProduceOptions {
  topic: string;
  keySeparator: string | undefined;
  headers: Map<string, string>;
  partition: number | undefined;
  acks: -1 | 0 | 1;
  compression: ReturnType<typeof compression>;
  idempotent: boolean;
  ratePerSec: number | undefined;
}

export const registerProduce: Register = (y: Argv, plan: Plan) =>
  y.command(
    'produce <topic>',
    'produce the lines of stdin as records',
    (c) =>
      c
        .positional('topic', { type: 'string', demandOption: true })
        .option('key-separator', {
          alias: 'k',
          type: 'string',
          describe: 'split each line into key and value at the first SEP',
        })
        .option('header', {
          alias: 'H',
          type: 'string',
          array: true,
          describe: 'a header key=value on every record (repeatable)',
        })
        .option('partition', { alias: 'p', type: 'string', describe: 'write every record to this partition' })
        .option('acks', { type: 'string', default: 'all', describe: 'all (-1), 1 or 0' })
        .option('compression', { alias: 'z', type: 'string', default: 'none', choices: COMPRESSIONS })
        .option('rate', { type: 'string', describe: 'at most N records per second (N or N/s)' })
        .option('idempotence', {
          type: 'boolean',
          describe: 'idempotent producer (the default with --acks all; --no-idempotence turns it off)',
        })
        .example('printf "k1:v1\\nk2:v2\\n" | $0 produce orders -k : -H source=cli -z zstd', ''),
    (a) =>
      plan({
        formats: ['text', 'json'],
        action: (ctx) => {
          const ack = acks(a.acks);
          if (a.idempotence === true && ack !== -1)
            throw new CliError('USAGE', '--idempotence needs --acks all');
          if (a['key-separator'] === '') throw new CliError('USAGE', '--key-separator must not be empty');
          return produce(ctx, {
            topic: a.topic as string,
            keySeparator: a['key-separator'],
            headers: keyValues('header', a.header),
            partition: a.partition === undefined ? undefined : int('partition', a.partition, 0, 2 ** 31 - 1),
            acks: ack,
            compression: compression(a.compression),
            idempotent: a.idempotence ?? ack === -1,
            ratePerSec: a.rate === undefined ? undefined : rate(a.rate),
          });
        },
      }),
  );

async function produce(ctx: Context, o: ProduceOptions): Promise<number> {
  const producer = await Producer.create(ctx.client, {
    ...DEFAULT_PRODUCER_OPTIONS,
    topic: o.topic,
    acks: o.acks,
    compression: o.compression,
    idempotent: o.idempotent,
    partition: o.partition,
  });
  const headers = [...o.headers].map(([key, value]) => ({ key, value: Buffer.from(value) }));
  const bar = progress(ctx.io, `producing to ${o.topic}`, ctx.io.stdinBytes ?? 0, ' B');
  const lines = readline.createInterface({ input: ctx.io.stdin, crlfDelay: Infinity, terminal: false });
  // Ctrl-C while waiting for the next line typed: stop reading, send what was read, print the summary.
  ctx.io.signal?.addEventListener('abort', () => lines.close(), { once: true });
  const started = Date.now();
  let count = 0;
  try {
    for await (const line of lines) {
      if (ctx.aborted) break;
      if (o.ratePerSec !== undefined) {
        const due = started + (count * 1000) / o.ratePerSec;
        if (due > Date.now()) await sleep(due - Date.now(), ctx.io.signal);
      }
      await producer.send(toRecord(line, count + 1, o.keySeparator, headers));
      count++;
      bar.increment(Buffer.byteLength(line) + 1);
    }
    await producer.flush();
  } finally {
    lines.close();
    bar.stop();
  }
  const partitions = producer.summary();
  if (ctx.out.json) {
    await ctx.out.printJson({ topic: o.topic, records: count, partitions });
    return 0;
  }
  const where = partitions
    .map((p) =>
      p.firstOffset === null
        ? `partition ${p.partition}: ${p.records}`
        : `partition ${p.partition}: offsets ${p.firstOffset}-${p.lastOffset}`,
    )
    .join('; ');
  ctx.out.note(
    `Produced ${count} record${count === 1 ? '' : 's'} to topic "${o.topic}"${where === '' ? '' : ` (${where})`}.`,
  );
  return 0;
}

function toRecord(
  line: string,
  lineNumber: number,
  separator: string | undefined,
  headers: ProduceRecord['headers'],
): ProduceRecord {
  if (separator === undefined) return { key: null, value: Buffer.from(line), headers };
  const at = line.indexOf(separator);
  if (at < 0)
    throw new CliError(
      'INPUT',
      `line ${lineNumber} has no key separator "${separator}" (nothing after it was produced)`,
    );
  return {
    key: Buffer.from(line.slice(0, at)),
    value: Buffer.from(line.slice(at + separator.length)),
    headers,
  };
}
