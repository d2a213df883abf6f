// The librdkafka driver's wrapper against a fake driver (a Node script printing the driver's JSON
// line): the arguments of a transactional run, and how its output becomes a LoadResult.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BenchError, librdkafkaProduce, processCpuSeconds, transactionCount } from '../src/index.js';
import type { LibrdkafkaTools } from '../src/index.js';

/** Prints the driver's JSON line: every record acknowledged, and every transaction committed unless `-X fake.txns=N`. */
const FAKE_DRIVER = `
const args = process.argv.slice(2);
const opt = (name) => { const i = args.indexOf(name); return i < 0 ? undefined : Number(args[i + 1]); };
const count = opt('--count');
const per = opt('--transaction-records');
const fake = args.find((a) => a.startsWith('fake.txns='));
const txns = per === undefined ? 0 : fake !== undefined ? Number(fake.slice(10)) : Math.ceil(count / per);
console.log(JSON.stringify({
  msgs: count, sent: count, errors: 0, undelivered: 0, seconds: 2, msgPerSec: count / 2,
  p50Ms: 1, p99Ms: 2, p999Ms: 3, maxMs: 4,
  transactions: txns, txnP50Ms: txns > 0 ? 5 : null, txnP99Ms: txns > 0 ? 6 : null, txnMaxMs: txns > 0 ? 7 : null,
  cpuSeconds: 0.5, saturated: false, error: null, librdkafka: 'fake',
}));
`;

describe('librdkafkaProduce', () => {
  let dir: string;
  let tools: LibrdkafkaTools;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-rdkafka-'));
    const script = path.join(dir, 'driver.cjs');
    fs.writeFileSync(script, FAKE_DRIVER);
    tools = { command: process.execPath, prefixArgs: [script], version: 'fake' };
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const spec = {
    brokers: [{ host: '127.0.0.1', port: 9092 }],
    topic: 't1',
    recordBytes: 1024,
    records: 1050,
    acks: -1 as const,
  };

  it('runs a transactional producer with its own transactional.id and reports its transactions', async () => {
    const { result, command } = await librdkafkaProduce(tools, { ...spec, recordsPerTransaction: 100 });
    expect(command).toContain('--transaction-records 100');
    expect(command).toContain('-X transactional.id=txn-t1');
    expect(command).toContain('-X linger.ms=5'); // the kcat settings stay
    expect(result.ok).toBe(true);
    expect(result.transactions).toEqual({ count: 11, p50Ms: 5, p99Ms: 6, maxMs: 7 });
    expect(result.clientCpuSeconds).toBe(0.5);
    expect(transactionCount(1050, 100)).toBe(11);
  });

  it('keeps a transactional.id given in the settings', async () => {
    const { command } = await librdkafkaProduce(tools, {
      ...spec,
      recordsPerTransaction: 10,
      settings: ['transactional.id=mine'],
    });
    expect(command).toContain('-X transactional.id=mine');
    expect(command).not.toContain('txn-t1');
  });

  it('fails a run whose transactions did not all commit', async () => {
    const { result } = await librdkafkaProduce(tools, {
      ...spec,
      recordsPerTransaction: 100,
      settings: ['fake.txns=7'],
    });
    expect(result.ok).toBe(false);
    expect(result.error).toBe('7 of 11 transactions committed');
  });

  it('runs the idempotent reference with its settings and no transaction figures', async () => {
    const { result, command } = await librdkafkaProduce(tools, {
      ...spec,
      settings: ['enable.idempotence=true'],
    });
    expect(command).toContain('-X enable.idempotence=true');
    expect(command).not.toContain('--transaction-records');
    expect(result.ok).toBe(true);
    expect(result.transactions).toBeUndefined();
  });

  it('has no fixed-rate transactional mode', async () => {
    await expect(
      librdkafkaProduce(tools, { ...spec, recordsPerTransaction: 10, ratePerSec: 1000 }),
    ).rejects.toBeInstanceOf(BenchError);
  });
});

describe('processCpuSeconds', () => {
  const linux = fs.existsSync('/proc/self/stat') ? it : it.skip;
  linux('reads a live process’s CPU time from /proc, and nothing for a process that is gone', () => {
    const t0 = processCpuSeconds(process.pid)!;
    const cpu0 = process.cpuUsage();
    while (process.cpuUsage(cpu0).user < 50_000) Math.sqrt(Math.random()); // 50 ms of CPU: 5 ticks
    expect(processCpuSeconds(process.pid)!).toBeGreaterThan(t0);
    expect(processCpuSeconds(2 ** 22 + 1)).toBeUndefined(); // above Linux's pid_max
  });
});
