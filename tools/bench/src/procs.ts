// Child processes: spawn with bounded output capture, run to completion with a time limit, free
// ports, tool detection, a process's CPU time.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { BenchError } from './errors.js';

/** Keeps the last `maxBytes` of a stream's output. */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private bytes = 0;
  constructor(private readonly maxBytes = 64 * 1024) {}
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.bytes > this.maxBytes && this.chunks.length > 1) this.bytes -= this.chunks.shift()!.length;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Runs a command to completion (killed after `timeoutMs`); never throws for a non-zero exit. */
export function run(
  cmd: string,
  args: readonly string[],
  options: {
    timeoutMs?: number;
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    onStdoutLine?: (line: string) => void;
    maxOutputBytes?: number;
  } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const spawnOptions: SpawnOptions = { stdio: ['ignore', 'pipe', 'pipe'] };
    if (options.env !== undefined) spawnOptions.env = options.env;
    if (options.cwd !== undefined) spawnOptions.cwd = options.cwd;
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, [...args], spawnOptions);
    const out = new TailBuffer(options.maxOutputBytes ?? 1024 * 1024);
    const err = new TailBuffer(64 * 1024);
    let partial = '';
    child.stdout!.on('data', (c: Buffer) => {
      if (options.onStdoutLine !== undefined) {
        const text = partial + c.toString('utf8');
        const lines = text.split('\n');
        partial = lines.pop()!;
        for (const l of lines) options.onStdoutLine(l);
      } else {
        out.push(c);
      }
    });
    child.stderr!.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new BenchError('ProcessFailed', `${cmd}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (partial !== '' && options.onStdoutLine !== undefined) options.onStdoutLine(partial);
      resolve({
        code,
        signal,
        stdout: out.text(),
        stderr: err.text(),
        seconds: Number(process.hrtime.bigint() - t0) / 1e9,
      });
    });
  });
}

/** A long-running child (a broker) with its output's tail kept for error messages. */
export class Service {
  readonly output = new TailBuffer(64 * 1024);
  private exited: Promise<number | null>;
  exitCode: number | null | undefined = undefined;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (c: Buffer) => this.output.push(c));
    child.stderr?.on('data', (c: Buffer) => this.output.push(c));
    this.exited = new Promise((resolve) => {
      child.on('exit', (code) => {
        this.exitCode = code;
        resolve(code);
      });
      child.on('error', () => {
        this.exitCode = -1;
        resolve(-1);
      });
    });
  }

  static start(name: string, cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): Service {
    const child = spawn(cmd, [...args], { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
    return new Service(name, child);
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** The last lines of output, for error messages. */
  tail(lines = 5): string {
    return this.output.text().trim().split('\n').slice(-lines).join('\n');
  }

  /** SIGKILL (kill -9); resolves once the process has exited. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** The process id (undefined when the spawn failed). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 8000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** The path of a program on PATH (also sbin directories), or undefined. */
export function which(program: string): string | undefined {
  const path = [process.env['PATH'] ?? '', '/usr/sbin', '/sbin', '/usr/local/sbin'].join(':');
  const r = spawnSync('sh', ['-c', `command -v ${program}`], {
    env: { ...process.env, PATH: path },
    encoding: 'utf8',
  });
  const out = r.stdout.trim();
  return r.status === 0 && out !== '' ? out : undefined;
}

/** The first line of a program's version output that mentions a version, or undefined. */
export function versionOf(cmd: string, args: readonly string[]): string | undefined {
  const r = spawnSync(cmd, [...args], { encoding: 'utf8', timeout: 10_000 });
  if (r.error !== undefined) return undefined;
  const lines = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n');
  const line = lines.find((l) => /\d+\.\d+/.test(l)) ?? lines[0];
  return line === undefined || line === '' ? undefined : line.trim();
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Before a latency measurement: sync(1) writes back what earlier runs left dirty in the page cache
 * (gigabytes after the max runs), then a second of quiet. Otherwise the kernel's writeback of old
 * data competes with the measured system's fsyncs and the tail measures the previous scenario.
 */
export async function settle(): Promise<void> {
  await run('sync', [], { timeoutMs: 120_000 }).catch(() => undefined);
  await sleep(1000);
}

/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`; Linux's USER_HZ is 100). */
let clockTicksPerSec: number | undefined;

/**
 * CPU time (user + system, every thread) a process has used since it started, in seconds, from
 * /proc/PID/stat (Linux); undefined where there is no /proc or once the process is gone.
 */
export function processCpuSeconds(pid: number): number | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 (utime, stime) are the 12th and 13th after the name.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  if (clockTicksPerSec === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const n = Number(r.stdout?.trim());
    clockTicksPerSec = r.status === 0 && n > 0 ? n : 100;
  }
  return (utime + stime) / clockTicksPerSec;
}

/** Resident set size of a process in bytes, from /proc/PID/status (VmRSS); undefined once it is gone. */
export function processRssBytes(pid: number): number | undefined {
  let status: string;
  try {
    status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m === null ? undefined : Number(m[1]) * 1024;
}

/** What the server processes used during one measured run. */
export interface ServerUsage {
  /** CPU seconds of all the server processes together; undefined when any could not be read. */
  cpuSeconds: number | undefined;
  /** The largest RSS any one server process had at a sample (bytes); undefined when none was read. */
  peakRssBytes: number | undefined;
}

/**
 * Measures the server processes around a run: their CPU time (from /proc/PID/stat, before and
 * after) and their peak RSS (/proc/PID/status, sampled every `intervalMs` and at both ends).
 */
export class ServerMeter {
  private peak: number | undefined;
  private readonly timer: NodeJS.Timeout;
  private constructor(
    private readonly pids: readonly number[],
    private readonly cpuAtStart: number | undefined,
    intervalMs: number,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  static start(pids: readonly number[], intervalMs = 200): ServerMeter {
    return new ServerMeter(pids, ServerMeter.cpu(pids), intervalMs);
  }

  private static cpu(pids: readonly number[]): number | undefined {
    if (pids.length === 0) return undefined;
    let sum = 0;
    for (const pid of pids) {
      const s = processCpuSeconds(pid);
      if (s === undefined) return undefined;
      sum += s;
    }
    return sum;
  }

  private sample(): void {
    for (const pid of this.pids) {
      const rss = processRssBytes(pid);
      if (rss !== undefined && (this.peak === undefined || rss > this.peak)) this.peak = rss;
    }
  }

  /** Stops sampling and returns the usage since start. */
  stop(): ServerUsage {
    clearInterval(this.timer);
    this.sample();
    const end = ServerMeter.cpu(this.pids);
    return {
      cpuSeconds: this.cpuAtStart !== undefined && end !== undefined ? end - this.cpuAtStart : undefined,
      peakRssBytes: this.peak,
    };
  }
}
