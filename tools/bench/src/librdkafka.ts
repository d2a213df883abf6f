// librdkafka with per-message latency. kcat gives librdkafka's throughput but no latency; these
// drivers read each message's delivery report (max mode: librdkafka's own produce() → ack latency;
// fixed-rate mode: from the intended send time). The C driver (librdkafka/produce.c, built here
// against Debian's librdkafka-dev) is preferred: the Python one (librdkafka/produce.py on
// python3-confluent-kafka) spends about half a core in its produce() loop at 165,000 msg/s, which
// on 2 cores is taken from the brokers. Same options, same JSON. Neither available makes these
// runs "not available"; the benchmark installs nothing. Both also run transactional producers
// (`recordsPerTransaction`): transactions of N records, one at a time, each committed before the next.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { commandLine } from './chronik.js';
import type { BrokerAddress } from './kafka.js';
import { KCAT_PRODUCE_SETTINGS } from './kcat.js';
import { BenchError } from './errors.js';
import type { LoadResult, TransactionStats } from './produce.js';
import { run, which } from './procs.js';
import { throughput } from './stats.js';

export const LIBRDKAFKA_DEBIAN_PACKAGES = 'gcc librdkafka-dev (C driver) or python3 python3-confluent-kafka';
const RDKAFKA_HEADER = '/usr/include/librdkafka/rdkafka.h';

export interface LibrdkafkaTools {
  /** The program and the arguments before the driver's own. */
  command: string;
  prefixArgs: string[];
  /** Driver and librdkafka version. */
  version: string;
  /** How the C driver was built (undefined for the Python one). */
  buildCommand?: string;
}

/** Builds the C driver into `cacheDir` (when its source is newer) or finds a python3 with confluent_kafka. */
export function prepareLibrdkafka(
  packageDir: string,
  cacheDir: string,
): { ok: true; tools: LibrdkafkaTools } | { ok: false; reason: string } {
  const reasons: string[] = [];
  const cc = which('cc') ?? which('gcc');
  if (cc !== undefined && fs.existsSync(RDKAFKA_HEADER)) {
    const source = path.join(packageDir, 'librdkafka', 'produce.c');
    const driver = path.join(cacheDir, 'rdkafka-produce');
    const args = ['-O2', '-o', driver, source, '-lrdkafka'];
    const fresh = fs.existsSync(driver) && fs.statSync(driver).mtimeMs >= fs.statSync(source).mtimeMs;
    let built = fresh;
    if (!fresh) {
      fs.mkdirSync(cacheDir, { recursive: true });
      const r = spawnSync(cc, args, { encoding: 'utf8', timeout: 120_000 });
      built = r.status === 0;
      if (!built)
        reasons.push(
          `building the C driver failed: ${(r.stderr ?? '').trim().split('\n').slice(-2).join(' ')}`,
        );
    }
    if (built) {
      const v = spawnSync(driver, ['--version'], { encoding: 'utf8', timeout: 20_000 });
      if (v.status === 0)
        return {
          ok: true,
          tools: {
            command: driver,
            prefixArgs: [],
            version: `C driver (tools/bench/librdkafka/produce.c), ${v.stdout.trim()}`,
            buildCommand: commandLine(cc, args),
          },
        };
      reasons.push(`the C driver does not run: ${(v.stderr ?? '').trim()}`);
    }
  } else {
    reasons.push(`no C compiler or ${RDKAFKA_HEADER}`);
  }
  const script = path.join(packageDir, 'librdkafka', 'produce.py');
  const candidates = ['/usr/bin/python3', which('python3')].filter(
    (x): x is string => x !== undefined && fs.existsSync(x),
  );
  for (const python of [...new Set(candidates)]) {
    const r = spawnSync(
      python,
      ['-c', 'import confluent_kafka as c; print(c.version()[0], c.libversion()[0])'],
      { encoding: 'utf8', timeout: 20_000 },
    );
    if (r.status === 0) {
      const [py, lib] = r.stdout.trim().split(' ');
      return {
        ok: true,
        tools: {
          command: python,
          prefixArgs: [script],
          version: `confluent-kafka-python ${py}, librdkafka ${lib}`,
        },
      };
    }
  }
  reasons.push('no python3 with the confluent_kafka module');
  return {
    ok: false,
    reason: `${reasons.join('; ')} (Debian: apt-get install ${LIBRDKAFKA_DEBIAN_PACKAGES})`,
  };
}

interface DriverOutput {
  msgs: number;
  sent: number;
  errors: number;
  seconds: number;
  p50Ms: number | null;
  p99Ms: number | null;
  p999Ms: number | null;
  maxMs: number | null;
  cpuSeconds: number;
  /** Committed transactions (0 when not transactional) and the duration of one. */
  transactions?: number;
  txnP50Ms?: number | null;
  txnP99Ms?: number | null;
  txnMaxMs?: number | null;
  saturated: boolean;
  error: string | null;
}

export interface LibrdkafkaProduceSpec {
  brokers: readonly BrokerAddress[];
  topic: string;
  recordBytes: number;
  records: number;
  acks: 1 | -1;
  /** Messages per second (fixed-rate mode); undefined = max. */
  ratePerSec?: number;
  timeoutS?: number;
  /** librdkafka settings that replace the same keys of KCAT_PRODUCE_SETTINGS (e.g. linger.ms=1). */
  settings?: readonly string[];
  /**
   * A transactional producer (max mode only): records per transaction. Its transactional.id is
   * `txn-<topic>` unless `settings` gives one.
   */
  recordsPerTransaction?: number;
}

/** Transactions of `recordsPerTransaction` needed for `records`. */
export function transactionCount(records: number, recordsPerTransaction: number): number {
  return Math.ceil(records / recordsPerTransaction);
}

/** KCAT_PRODUCE_SETTINGS with the keys of `overrides` replaced. */
export function produceSettings(overrides: readonly string[] = []): string[] {
  const key = (kv: string): string => kv.slice(0, kv.indexOf('='));
  const replaced = new Set(overrides.map(key));
  return [...KCAT_PRODUCE_SETTINGS.filter((kv) => !replaced.has(key(kv))), ...overrides];
}

/** Runs the driver once; never throws for a failed run (the result says failed). */
export async function librdkafkaProduce(
  tools: LibrdkafkaTools,
  spec: LibrdkafkaProduceSpec,
): Promise<{ result: LoadResult; command: string }> {
  const timeoutS = spec.timeoutS ?? 120;
  const args = [
    ...tools.prefixArgs,
    '--bootstrap',
    spec.brokers.map((b) => `${b.host}:${b.port}`).join(','),
    '--topic',
    spec.topic,
    '--count',
    String(spec.records),
    '--size',
    String(spec.recordBytes),
    '--acks',
    spec.acks === -1 ? 'all' : '1',
    '--timeout',
    String(timeoutS),
  ];
  if (spec.ratePerSec !== undefined) args.push('--rate', String(Math.round(spec.ratePerSec)));
  const txn = spec.recordsPerTransaction;
  let settings = produceSettings(spec.settings);
  if (txn !== undefined) {
    if (spec.ratePerSec !== undefined)
      throw new BenchError('BadArgument', 'a transactional run has no fixed rate (max mode only)');
    args.push('--transaction-records', String(txn));
    if (!settings.some((kv) => kv.startsWith('transactional.id=')))
      settings = [...settings, `transactional.id=txn-${spec.topic}`];
  }
  for (const s of settings) args.push('-X', s);
  const command = commandLine(tools.command, args);
  const r = await run(tools.command, args, { timeoutMs: (timeoutS + 30) * 1000 });
  let out: DriverOutput | undefined;
  try {
    out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as DriverOutput;
  } catch {
    out = undefined;
  }
  if (out === undefined) {
    const error = `driver exited ${r.code}: ${r.stderr.trim().split('\n').slice(-2).join(' ')}`;
    return {
      result: {
        ok: false,
        msgs: 0,
        bytes: 0,
        seconds: r.seconds,
        msgPerSec: Number.NaN,
        mbPerSec: Number.NaN,
        errors: 1,
        error,
      },
      command,
    };
  }
  const t = throughput(out.msgs, spec.recordBytes, out.seconds);
  const num = (x: number | null): number => (x === null ? Number.NaN : x);
  const transactions = txn === undefined ? undefined : transactionStats(out);
  const result: LoadResult = {
    ok:
      out.errors === 0 &&
      !out.saturated &&
      out.msgs === spec.records &&
      (txn === undefined || transactions?.count === transactionCount(spec.records, txn)),
    msgs: out.msgs,
    bytes: out.msgs * spec.recordBytes,
    seconds: out.seconds,
    msgPerSec: t.msgPerSec,
    mbPerSec: t.mbPerSec,
    p50Ms: num(out.p50Ms),
    p99Ms: num(out.p99Ms),
    p999Ms: num(out.p999Ms),
    maxMs: num(out.maxMs),
    errors: out.errors,
    clientCpuSeconds: out.cpuSeconds,
  };
  if (transactions !== undefined) result.transactions = transactions;
  if (out.saturated) {
    result.saturated = true;
    result.error = `offered load of ${Math.round(spec.ratePerSec ?? 0)} msg/s is above capacity (fell more than 2 s behind)`;
  } else if (out.error !== null) {
    result.error = out.error;
  } else if (out.msgs !== spec.records) {
    result.error = `${out.msgs} of ${spec.records} records acknowledged`;
  } else if (txn !== undefined && transactions?.count !== transactionCount(spec.records, txn)) {
    result.error = `${transactions?.count ?? 0} of ${transactionCount(spec.records, txn)} transactions committed`;
  }
  return { result, command };
}

/** The driver's transaction figures (a driver without transactional mode reports none). */
function transactionStats(out: DriverOutput): TransactionStats | undefined {
  if (out.transactions === undefined) return undefined;
  const num = (x: number | null | undefined): number => (x === null || x === undefined ? Number.NaN : x);
  return {
    count: out.transactions,
    p50Ms: num(out.txnP50Ms),
    p99Ms: num(out.txnP99Ms),
    maxMs: num(out.txnMaxMs),
  };
}
