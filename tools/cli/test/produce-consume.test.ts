// chronik produce and chronik consume against a real chronik-server process.
import type { TestBroker } from './helpers/broker.js';
import { startBroker } from './helpers/broker.js';
import { PassThrough, jsonLines, jsonOf, runner } from './helpers/run.js';
import { partitionForKey } from '../src/client/producer.js';

let broker: TestBroker;
let chronik: ReturnType<typeof runner>;

beforeAll(async () => {
  broker = await startBroker();
  chronik = runner(broker.bootstrap);
});
afterAll(async () => {
  await broker.stop();
});

interface JsonRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: Array<{ key: string; value: string | null }>;
}

describe('produce', () => {
  test('keys, headers and compression; keyed records land where Kafka would put them', async () => {
    expect((await chronik(['topic', 'create', 'keyed', '-p', '4'])).code).toBe(0);
    for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
      const lines = ['k1:v1', 'k2:v2', 'k3:v3'].map((l) => `${l}-${codec}`).join('\n');
      const r = await chronik(
        ['produce', 'keyed', '-k', ':', '-H', `codec=${codec}`, '-H', 'src=test', '-z', codec],
        {
          stdin: `${lines}\n`,
        },
      );
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(
        /^Produced 3 records to topic "keyed" \(partition \d: offsets \d+-\d+(; partition \d: offsets \d+-\d+)*\)\.\n$/,
      );
    }
    const records = jsonLines<JsonRecord>((await chronik(['consume', 'keyed', '--format', 'json'])).stdout);
    expect(records).toHaveLength(15);
    for (const r of records) {
      expect(r.partition).toBe(partitionForKey(Buffer.from(r.key ?? ''), 4));
      const codec = r.value?.split('-')[1];
      expect(r.headers).toEqual([
        { key: 'codec', value: codec },
        { key: 'src', value: 'test' },
      ]);
    }
    expect(records.map((r) => `${r.key}:${r.value}`).sort()).toContain('k2:v2-zstd');
  });

  test('--partition, --acks 1 and 0, --format json summary', async () => {
    expect((await chronik(['topic', 'create', 'acks', '-p', '2'])).code).toBe(0);
    const all = jsonOf(
      await chronik(['produce', 'acks', '-p', '1', '--format', 'json'], { stdin: 'a\nb\n' }),
    );
    expect(all).toEqual({
      topic: 'acks',
      records: 2,
      partitions: [{ partition: 1, records: 2, firstOffset: 0, lastOffset: 1 }],
    });
    const one = jsonOf(
      await chronik(['produce', 'acks', '-p', '1', '--acks', '1', '--format', 'json'], { stdin: 'c\n' }),
    );
    expect(one).toEqual({
      topic: 'acks',
      records: 1,
      partitions: [{ partition: 1, records: 1, firstOffset: 2, lastOffset: 2 }],
    });
    const zero = jsonOf(
      await chronik(['produce', 'acks', '-p', '1', '--acks', '0', '--format', 'json'], { stdin: 'd\n' }),
    );
    expect(zero).toEqual({
      topic: 'acks',
      records: 1,
      partitions: [{ partition: 1, records: 1, firstOffset: null, lastOffset: null }],
    });
    const values = async () => (await chronik(['consume', 'acks', '-p', '1'])).stdout;
    for (let i = 0; i < 50 && (await values()) !== 'a\nb\nc\nd\n'; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(await values()).toBe('a\nb\nc\nd\n');
  });

  test('--rate paces the records', async () => {
    expect((await chronik(['topic', 'create', 'paced'])).code).toBe(0);
    const started = Date.now();
    const r = await chronik(['produce', 'paced', '--rate', '20/s'], {
      stdin: Array.from({ length: 11 }, (_, i) => `r${i}`).join('\n'),
    });
    expect(r.code).toBe(0);
    // 11 records at 20/s: the last is due 500 ms after the first.
    expect(Date.now() - started).toBeGreaterThanOrEqual(480);
  });

  test('errors: unknown topic, unknown partition, a line without the separator, bad options', async () => {
    const unknown = await chronik(['produce', 'nope'], { stdin: 'x\n' });
    expect(unknown).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'chronik: UNKNOWN_TOPIC_OR_PARTITION: topic "nope": This server does not host this topic-partition.\n',
    });
    expect((await chronik(['topic', 'create', 'errs'])).code).toBe(0);
    const partition = await chronik(['produce', 'errs', '-p', '3'], { stdin: 'x\n' });
    expect(partition.code).toBe(1);
    expect(partition.stderr).toBe(
      'chronik: UNKNOWN_TOPIC_OR_PARTITION: partition 3 of "errs" (it has 1): This server does not host this topic-partition.\n',
    );
    const sep = await chronik(['produce', 'errs', '-k', '='], { stdin: 'a=1\nno separator\n' });
    expect(sep.code).toBe(1);
    expect(sep.stderr).toBe(
      'chronik: INPUT: line 2 has no key separator "=" (nothing after it was produced)\n',
    );
    expect((await chronik(['produce', 'errs', '--acks', '2'])).stderr).toBe(
      'chronik: USAGE: --acks: "2" is not all, -1, 1 or 0\n',
    );
    expect((await chronik(['produce', 'errs', '-z', 'brotli'])).code).toBe(2);
    expect((await chronik(['produce', 'errs', '--acks', '1', '--idempotence'])).stderr).toBe(
      'chronik: USAGE: --idempotence needs --acks all\n',
    );
    expect((await chronik(['produce', 'errs', '--rate', 'fast'])).code).toBe(2);
  });

  test('a progress bar on a terminal when stdin is a file of known size, none otherwise', async () => {
    expect((await chronik(['topic', 'create', 'bar'])).code).toBe(0);
    const input = Array.from({ length: 200 }, (_, i) => `line ${i}`).join('\n') + '\n';
    const tty = await chronik(['produce', 'bar'], {
      stdin: input,
      stdinBytes: Buffer.byteLength(input),
      tty: true,
    });
    expect(tty.code).toBe(0);
    expect(tty.stderr).toContain('producing to bar [');
    expect(tty.stderr).toContain('Produced 200 records');
    const piped = await chronik(['produce', 'bar'], { stdin: input, stdinBytes: Buffer.byteLength(input) });
    expect(piped.stderr).not.toContain('producing to bar [');
  });
});

describe('consume', () => {
  beforeAll(async () => {
    expect((await chronik(['topic', 'create', 'events', '-p', '2'])).code).toBe(0);
    const lines = Array.from({ length: 10 }, (_, i) => `key${i % 2}|value${i}`).join('\n');
    expect((await chronik(['produce', 'events', '-k', '|', '-p', '0'], { stdin: lines })).code).toBe(0);
  });

  test('formats: value, kv with a separator, json with metadata', async () => {
    const value = await chronik(['consume', 'events', '-n', '3']);
    expect(value).toEqual({ code: 0, stdout: 'value0\nvalue1\nvalue2\n', stderr: '' });
    const kv = await chronik(['consume', 'events', '--format', 'kv', '--key-separator', '=', '-n', '2']);
    expect(kv.stdout).toBe('key0=value0\nkey1=value1\n');
    const [first] = jsonLines<JsonRecord>(
      (await chronik(['consume', 'events', '--format', 'json', '-n', '1'])).stdout,
    );
    expect(first).toEqual({
      topic: 'events',
      partition: 0,
      offset: 0,
      timestamp: expect.any(Number),
      key: 'key0',
      value: 'value0',
      headers: [],
    });
    expect((await chronik(['consume', 'events', '--format', 'text'])).code).toBe(2);
  });

  test('--from beginning, end, an offset (clamped), @timestamp; --partition', async () => {
    expect((await chronik(['consume', 'events'])).stdout.split('\n').filter(Boolean)).toHaveLength(10);
    expect((await chronik(['consume', 'events', '--from', 'end'])).stdout).toBe('');
    expect((await chronik(['consume', 'events', '--from', '8'])).stdout).toBe('value8\nvalue9\n');
    expect((await chronik(['consume', 'events', '--from', '99'])).stdout).toBe('');
    expect((await chronik(['consume', 'events', '-p', '1'])).stdout).toBe('');
    const all = jsonLines<JsonRecord>((await chronik(['consume', 'events', '--format', 'json'])).stdout);
    const cut = all[5]?.timestamp ?? 0;
    const after = jsonLines<JsonRecord>(
      (await chronik(['consume', 'events', '--format', 'json', '--from', `@${cut}`])).stdout,
    );
    expect(after[0]?.timestamp).toBeGreaterThanOrEqual(cut);
    expect(after.length).toBeGreaterThanOrEqual(5);
    const iso = await chronik([
      'consume',
      'events',
      '--from',
      `@${new Date(Date.now() + 60_000).toISOString()}`,
    ]);
    expect(iso).toMatchObject({ code: 0, stdout: '' });
  });

  test('--follow prints records produced later and stops on the signal', async () => {
    const stop = new AbortController();
    const following = chronik(['consume', 'events', '--from', 'end', '--follow', '--format', 'kv'], {
      signal: stop.signal,
    });
    await new Promise((r) => setTimeout(r, 700));
    expect(
      (await chronik(['produce', 'events', '-k', '|', '-p', '1'], { stdin: 'late|record\n' })).code,
    ).toBe(0);
    const n = chronik(['consume', 'events', '--from', 'end', '--follow', '-n', '1', '-p', '1']);
    await new Promise((r) => setTimeout(r, 700));
    expect((await chronik(['produce', 'events', '-p', '1'], { stdin: 'later\n' })).code).toBe(0);
    expect(await n).toEqual({ code: 0, stdout: 'later\n', stderr: '' });
    stop.abort();
    const r = await following;
    // kv of a record without a key: an empty key before the separator.
    expect(r).toEqual({ code: 0, stdout: 'late\trecord\n\tlater\n', stderr: '' });
  });

  test('errors: unknown topic, unknown partition, bad --from, --partition with --group', async () => {
    expect((await chronik(['consume', 'nope'])).stderr).toBe(
      'chronik: UNKNOWN_TOPIC_OR_PARTITION: topic "nope": This server does not host this topic-partition.\n',
    );
    const p = await chronik(['consume', 'events', '-p', '7']);
    expect(p).toMatchObject({
      code: 2,
      stderr: 'chronik: USAGE: --partition: topic "events" has no partition 7 (it has 2)\n',
    });
    expect((await chronik(['consume', 'events', '--from', 'yesterday'])).stderr).toBe(
      'chronik: USAGE: --from: "yesterday" is not beginning, end, an offset or @TIME\n',
    );
    expect((await chronik(['consume', 'events', '-p', '0', '-g', 'x'])).code).toBe(2);
  });

  test('stdin streamed while producing: records go out as lines arrive (linger), not only at EOF', async () => {
    expect((await chronik(['topic', 'create', 'stream'])).code).toBe(0);
    const input = new PassThrough();
    const producing = chronik(['produce', 'stream'], { stdin: input });
    input.write('first\n');
    let seen = '';
    for (let i = 0; i < 50 && seen === ''; i++) {
      await new Promise((r) => setTimeout(r, 100));
      seen = (await chronik(['consume', 'stream'])).stdout;
    }
    expect(seen).toBe('first\n');
    input.end('second\n');
    expect((await producing).code).toBe(0);
    expect((await chronik(['consume', 'stream'])).stdout).toBe('first\nsecond\n');
  });
});
