// The machine and its physical limits, measured in the same run: the disk's sequential write
// bandwidth (fio when installed, else dd) with and without fsync, and loopback TCP bandwidth
// (a Node socket pump between two processes).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import * as net from 'node:net';
import { commandLine } from './chronik.js';
import { errorMessage } from './errors.js';
import { run, versionOf, which } from './procs.js';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  disk: string;
  loadAverageAtStart: number[];
  node: string;
  /** The Chronik source measured: git commit, "+ uncommitted changes" when the tree (docs/benchmarks aside) is dirty. */
  chronikRevision: string;
  tools: Record<string, string>;
}

function gitRevision(repoDir: string): string {
  const rev = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoDir, encoding: 'utf8' });
  if (rev.status !== 0) return 'unknown';
  // docs/benchmarks is the report's own output: an earlier run's report there is not a source change.
  const dirty = spawnSync(
    'git',
    ['status', '--porcelain', '--untracked-files=no', '--', '.', ':(exclude)docs/benchmarks'],
    { cwd: repoDir, encoding: 'utf8' },
  );
  return `${rev.stdout.trim()}${dirty.stdout.trim() !== '' ? ' + uncommitted changes in the working tree' : ''}`;
}

export function machineInfo(dataDir: string, repoDir: string): MachineInfo {
  const cpus = os.cpus();
  const mount =
    spawnSync('findmnt', ['-no', 'SOURCE,FSTYPE,SIZE', '-T', dataDir], { encoding: 'utf8' }).stdout?.trim() ??
    '';
  const source = mount.split(/\s+/)[0] ?? '';
  const dev = source.replace(/^\/dev\//, '');
  const rota = fs.existsSync(`/sys/block/${dev}/queue/rotational`)
    ? fs.readFileSync(`/sys/block/${dev}/queue/rotational`, 'utf8').trim()
    : '';
  const tools: Record<string, string> = {};
  const add = (name: string, cmd: string, args: string[]): void => {
    const v = which(cmd) !== undefined ? versionOf(cmd, args) : undefined;
    tools[name] = v === undefined ? 'not installed' : v.length > 100 ? `${v.slice(0, 100)}…` : v;
  };
  add('kcat', 'kcat', ['-V']);
  add('nats-server', 'nats-server', ['--version']);
  add('go', 'go', ['version']);
  add('fio', 'fio', ['--version']);
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: os.totalmem() / 1024 ** 3,
    kernel: `${os.type()} ${os.release()}`,
    disk: `${mount || 'unknown'}${rota === '0' ? ' (non-rotational)' : rota === '1' ? ' (rotational)' : ''}, data under ${dataDir}`,
    loadAverageAtStart: os.loadavg(),
    node: process.version,
    chronikRevision: gitRevision(repoDir),
    tools,
  };
}

export interface DiskResult {
  name: string;
  mbPerSec: number;
  command: string;
  error?: string;
}

/**
 * Sequential writes of `bytes` in 1 MiB blocks to a file under `dir`:
 * - "buffered + fdatasync at end": the disk's sequential bandwidth (the reference for the targets);
 * - "O_DIRECT, no fsync": bypassing the page cache, never flushing the device cache;
 * - "fdatasync every 1 MiB": every block durable before the next.
 */
export async function measureDisk(dir: string, bytes: number): Promise<DiskResult[]> {
  const mib = Math.max(16, Math.round(bytes / (1024 * 1024)));
  const out: DiskResult[] = [];
  const file = path.join(dir, 'chronik-bench-disk.bin');
  const useFio = which('fio') !== undefined;
  const cases = [
    { name: 'sequential write, buffered + fdatasync at end', fio: ['--end_fsync=1'], dd: ['conv=fdatasync'] },
    { name: 'sequential write, O_DIRECT, no fsync', fio: ['--direct=1'], dd: ['oflag=direct'] },
    { name: 'sequential write, fdatasync every 1 MiB', fio: ['--fdatasync=1'], dd: ['oflag=dsync'] },
  ];
  for (const c of cases) {
    try {
      if (useFio) {
        const args = [
          '--name=seqwrite',
          `--filename=${file}`,
          '--rw=write',
          '--bs=1M',
          `--size=${mib}M`,
          '--ioengine=psync',
          ...c.fio,
          '--output-format=json',
        ];
        const r = await run('fio', args, { timeoutMs: 300_000 });
        const json = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as {
          jobs: { write: { bw_bytes: number } }[];
        };
        out.push({
          name: c.name,
          mbPerSec: json.jobs[0]!.write.bw_bytes / 1e6,
          command: commandLine('fio', args),
        });
      } else {
        const args = ['if=/dev/zero', `of=${file}`, 'bs=1M', `count=${mib}`, ...c.dd];
        const r = await run('dd', args, { timeoutMs: 300_000 });
        if (r.code !== 0) throw new Error(r.stderr.trim());
        out.push({
          name: c.name,
          mbPerSec: (mib * 1024 * 1024) / r.seconds / 1e6,
          command: commandLine('dd', args),
        });
      }
    } catch (e) {
      out.push({
        name: c.name,
        mbPerSec: Number.NaN,
        command: useFio ? 'fio' : 'dd',
        error: errorMessage(e),
      });
    } finally {
      fs.rmSync(file, { force: true });
    }
  }
  return out;
}

export interface FsyncLatency {
  /** fdatasync latency percentiles (fio's clat of the sync calls), ms. */
  p50Ms: number;
  p99Ms: number;
  syncs: number;
  command: string;
  error?: string;
}

/**
 * Latency of one small write + fdatasync (4 KiB writes, each followed by fdatasync, for `seconds`):
 * the floor under every replicated acknowledgement, which waits for at least one fsync on the
 * leader and one on a follower. fio only; undefined without it.
 */
export async function measureFsyncLatency(dir: string, seconds: number): Promise<FsyncLatency | undefined> {
  if (which('fio') === undefined) return undefined;
  const file = path.join(dir, 'chronik-bench-fsync.bin');
  const args = [
    '--name=fsynclat',
    `--filename=${file}`,
    '--rw=write',
    '--bs=4k',
    '--size=64M',
    '--ioengine=psync',
    '--fdatasync=1',
    `--runtime=${seconds}`,
    '--time_based',
    '--output-format=json',
  ];
  const command = commandLine('fio', args);
  try {
    const r = await run('fio', args, { timeoutMs: (seconds + 60) * 1000 });
    const json = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as {
      jobs: { write?: { total_ios?: number }; sync?: { lat_ns?: { percentile?: Record<string, number> } } }[];
    };
    const sync = json.jobs[0]?.sync;
    const pct = sync?.lat_ns?.percentile;
    const p50 = pct?.['50.000000'];
    const p99 = pct?.['99.000000'];
    if (p50 === undefined || p99 === undefined) throw new Error('fio reported no sync latency percentiles');
    // One fdatasync per write (fio's sync.total_ios reads 0 in some versions).
    return { p50Ms: p50 / 1e6, p99Ms: p99 / 1e6, syncs: json.jobs[0]?.write?.total_ios ?? 0, command };
  } catch (e) {
    return { p50Ms: Number.NaN, p99Ms: Number.NaN, syncs: 0, command, error: errorMessage(e) };
  } finally {
    fs.rmSync(file, { force: true });
  }
}

const SINK = `
const net = require('node:net');
let bytes = 0, first = 0n;
const srv = net.createServer((s) => {
  s.on('data', (c) => { if (first === 0n) first = process.hrtime.bigint(); bytes += c.length; });
  s.on('end', () => { const secs = Number(process.hrtime.bigint() - first) / 1e9; process.stdout.write(JSON.stringify({ bytes, secs }) + '\\n'); srv.close(); });
});
srv.listen(0, '127.0.0.1', () => process.stdout.write(String(srv.address().port) + '\\n'));
`;

/** Loopback TCP bandwidth: this process writes 1 MiB buffers for `seconds` to a sink process. */
export async function measureLoopback(
  seconds: number,
): Promise<{ mbPerSec: number; command: string; error?: string }> {
  const command = `node -e <sink>  +  a writer pushing 1 MiB buffers over 127.0.0.1 for ${seconds} s`;
  try {
    const child = spawn(process.execPath, ['-e', SINK], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: string[] = [];
    let partial = '';
    const waiters: (() => void)[] = [];
    child.stdout.on('data', (c: Buffer) => {
      const parts = (partial + c.toString()).split('\n');
      partial = parts.pop()!;
      lines.push(...parts);
      waiters.splice(0).forEach((w) => w());
    });
    const nextLine = async (i: number): Promise<string> => {
      while (lines.length <= i) await new Promise<void>((r) => waiters.push(r));
      return lines[i]!;
    };
    const port = Number(await nextLine(0));
    const sock = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((r, j) => {
      sock.once('connect', r);
      sock.once('error', j);
    });
    const buf = Buffer.alloc(1024 * 1024, 1);
    const until = Date.now() + seconds * 1000;
    while (Date.now() < until) {
      if (!sock.write(buf)) await new Promise((r) => sock.once('drain', r));
    }
    sock.end();
    const res = JSON.parse(await nextLine(1)) as { bytes: number; secs: number };
    return { mbPerSec: res.bytes / res.secs / 1e6, command };
  } catch (e) {
    return { mbPerSec: Number.NaN, command, error: errorMessage(e) };
  }
}
