// Batches we build, consumed by kcat (librdkafka, with check.crcs=true) from a loopback fake broker:
// every codec (both snappy framings, lz4-napi's 4 MiB-block frames) must come out with the right keys,
// values, headers, timestamps and offsets. kcat is a required tool of the build machine (.ci/run).
import { spawn } from 'node:child_process';
import { CompressionType } from '../../src/records/batch.js';
import { buildRecordBatch } from '../../src/records/builder.js';
import { compressionName } from '../../src/records/compression.js';
import { startFakeBroker } from './fake-broker.js';

interface KcatMessage {
  key: string | null;
  payload: string | null;
  offset: number;
  partition: number;
  ts: number;
  headers?: string[];
}

async function consume(port: number, topic: string, count: number): Promise<KcatMessage[]> {
  const args = [
    '-C',
    '-b',
    `127.0.0.1:${port}`,
    '-t',
    topic,
    '-p',
    '0',
    '-o',
    '0',
    '-c',
    String(count),
    '-e',
    '-J',
    '-q',
    '-X',
    'check.crcs=true',
  ];
  const child = spawn('kcat', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`kcat exited with ${code}: ${err.slice(-2000)}`);
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as KcatMessage);
}

const records = [
  { key: Buffer.from('k0'), value: Buffer.from('hello'), headers: [{ key: 'h', value: Buffer.from('v') }] },
  { key: null, value: Buffer.from('no key') },
  { key: Buffer.from('k2'), value: Buffer.from('chronik '.repeat(2000)) },
];

const variants = [
  ['none', CompressionType.None, undefined],
  ['gzip', CompressionType.Gzip, undefined],
  ['snappy (xerial)', CompressionType.Snappy, 'xerial'],
  ['snappy (raw)', CompressionType.Snappy, 'raw'],
  ['lz4', CompressionType.Lz4, undefined],
  ['zstd', CompressionType.Zstd, undefined],
] as const;

describe('kcat consumes batches built here', () => {
  test.each(variants)(
    '%s',
    async (_name, compression, snappyFraming) => {
      const first = buildRecordBatch({
        records: records.map((r, i) => ({ ...r, timestampMs: 1_700_000_000_000n + BigInt(i) })),
        compression,
        ...(snappyFraming !== undefined ? { compressOptions: { snappyFraming } } : {}),
        partitionLeaderEpoch: 0,
      });
      const second = buildRecordBatch({
        records: [{ key: Buffer.from('k3'), value: Buffer.from('second batch') }],
        baseOffset: 3n,
        compression,
        timestampMs: 1_700_000_000_010n,
        partitionLeaderEpoch: 0,
      });
      const broker = await startFakeBroker('interop', Buffer.concat([first, second]), 4n);
      try {
        const messages = await consume(broker.port, 'interop', 4);
        expect(messages.map((m) => [m.offset, m.key, m.payload, m.ts])).toEqual([
          [0, 'k0', 'hello', 1_700_000_000_000],
          [1, null, 'no key', 1_700_000_000_001],
          [2, 'k2', 'chronik '.repeat(2000), 1_700_000_000_002],
          [3, 'k3', 'second batch', 1_700_000_000_010],
        ]);
        expect(messages[0]!.headers).toEqual(['h', 'v']);
        expect(broker.requests.some(([k, v]) => k === 1 && v >= 10)).toBe(true);
      } finally {
        await broker.close();
      }
    },
    30_000,
  );
});

test('codec names used above', () => {
  expect(variants.map(([, c]) => compressionName(c))).toEqual([
    'none',
    'gzip',
    'snappy',
    'snappy',
    'lz4',
    'zstd',
  ]);
});
