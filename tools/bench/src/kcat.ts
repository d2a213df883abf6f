// librdkafka through kcat: produce from a prepared file (one record per line) with batching
// settings, and consume from the start of a topic until its end. Throughput only (kcat reports no
// per-message latency); wall time of the kcat process, connection and metadata included.
import * as fs from 'node:fs';
import type { BrokerAddress } from './kafka.js';
import { commandLine } from './chronik.js';
import type { LoadResult } from './produce.js';
import { run } from './procs.js';
import { throughput } from './stats.js';

/** librdkafka settings for the produce runs: large batches, a little linger, no compression. */
export const KCAT_PRODUCE_SETTINGS: readonly string[] = [
  'linger.ms=5',
  'batch.size=1000000',
  'batch.num.messages=10000',
  'queue.buffering.max.messages=1000000',
  'queue.buffering.max.kbytes=1048576',
  'max.in.flight.requests.per.connection=5',
  'compression.codec=none',
];

/** Writes `count` records of `recordBytes` letters, one per line, to `file`. */
export function prepareRecordFile(file: string, recordBytes: number, count: number): void {
  const line = Buffer.alloc(recordBytes + 1);
  for (let i = 0; i < recordBytes; i++) line[i] = 97 + (i % 26);
  line[recordBytes] = 10;
  const perBlock = Math.max(1, Math.floor((4 * 1024 * 1024) / line.length));
  const block = Buffer.alloc(line.length * perBlock);
  for (let i = 0; i < perBlock; i++) line.copy(block, i * line.length);
  const fd = fs.openSync(file, 'w');
  try {
    for (let left = count; left > 0; left -= perBlock)
      fs.writeSync(fd, block, 0, Math.min(left, perBlock) * line.length);
  } finally {
    fs.closeSync(fd);
  }
}

export interface KcatRun {
  result: LoadResult;
  command: string;
}

const brokerList = (b: BrokerAddress | readonly BrokerAddress[]): string =>
  (Array.isArray(b) ? b : [b as BrokerAddress]).map((x) => `${x.host}:${x.port}`).join(',');

export async function kcatProduce(
  brokers: BrokerAddress | readonly BrokerAddress[],
  topic: string,
  file: string,
  recordBytes: number,
  count: number,
  acks: 1 | -1,
): Promise<KcatRun> {
  const args = [
    '-P',
    '-b',
    brokerList(brokers),
    '-t',
    topic,
    '-l',
    '-X',
    `acks=${acks === -1 ? 'all' : '1'}`,
  ];
  for (const s of KCAT_PRODUCE_SETTINGS) args.push('-X', s);
  args.push(file);
  // -l takes the file as the last argument.
  const r = await run('kcat', args, { timeoutMs: 300_000 });
  const t = throughput(count, recordBytes, r.seconds);
  const failed = r.code !== 0 || /fail|error/i.test(r.stderr);
  const result: LoadResult = {
    ok: !failed,
    msgs: count,
    bytes: count * recordBytes,
    seconds: r.seconds,
    msgPerSec: t.msgPerSec,
    mbPerSec: t.mbPerSec,
    errors: failed ? 1 : 0,
  };
  if (failed) result.error = `kcat exited ${r.code}: ${r.stderr.trim().split('\n').slice(-2).join(' ')}`;
  return { result, command: commandLine('kcat', args) };
}

export async function kcatConsume(
  broker: BrokerAddress,
  topic: string,
  recordBytes: number,
  count: number,
): Promise<KcatRun> {
  const args = [
    '-C',
    '-b',
    `${broker.host}:${broker.port}`,
    '-t',
    topic,
    '-o',
    'beginning',
    '-e',
    '-q',
    '-c',
    String(count),
    '-f',
    '%o\\n',
    '-X',
    'fetch.max.bytes=52428800',
  ];
  let got = 0;
  const r = await run('kcat', args, { timeoutMs: 300_000, onStdoutLine: (l) => void (l !== '' && got++) });
  const t = throughput(got, recordBytes, r.seconds);
  const failed = r.code !== 0 || got < count;
  const result: LoadResult = {
    ok: !failed,
    msgs: got,
    bytes: got * recordBytes,
    seconds: r.seconds,
    msgPerSec: t.msgPerSec,
    mbPerSec: t.mbPerSec,
    errors: failed ? 1 : 0,
  };
  if (failed) result.error = `kcat exited ${r.code}: ${r.stderr.trim().split('\n').slice(-2).join(' ')}`;
  return { result, command: commandLine('kcat', args) };
}
