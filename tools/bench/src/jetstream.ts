// The peer: NATS JetStream (Debian's nats-server) with file-backed streams, R1 on one server and R3
// on a local 3-server cluster, driven by the project's Go program (tools/bench/jetstream/main.go),
// built here in GOPATH mode against Debian's golang-github-nats-io-go-nats-dev. Missing tools make
// the JetStream columns "not available"; the benchmark installs nothing.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { commandLine } from './chronik.js';
import { errorMessage } from './errors.js';
import type { LoadResult } from './produce.js';
import { Service, freePort, run, sleep, which } from './procs.js';

export const JETSTREAM_DEBIAN_PACKAGES = 'nats-server golang-go golang-github-nats-io-go-nats-dev';
const GOCODE = '/usr/share/gocode';

export interface JetStreamTools {
  natsServer: string;
  /** The built Go driver. */
  driver: string;
  buildCommand: string;
}

/** Finds nats-server and go, and builds the driver into `cacheDir` when its source is newer. */
export async function prepareJetStream(
  packageDir: string,
  cacheDir: string,
): Promise<{ ok: true; tools: JetStreamTools } | { ok: false; reason: string }> {
  const natsServer = which('nats-server');
  const go = which('go');
  const missing = [natsServer === undefined ? 'nats-server' : '', go === undefined ? 'go' : ''].filter(
    (x) => x !== '',
  );
  if (missing.length > 0)
    return {
      ok: false,
      reason: `${missing.join(' and ')} not installed (Debian: apt-get install ${JETSTREAM_DEBIAN_PACKAGES})`,
    };
  if (!fs.existsSync(path.join(GOCODE, 'src/github.com/nats-io/nats.go'))) {
    return {
      ok: false,
      reason: `the Go NATS client is not installed in ${GOCODE} (Debian: apt-get install golang-github-nats-io-go-nats-dev)`,
    };
  }
  const source = path.join(packageDir, 'jetstream', 'main.go');
  const driver = path.join(cacheDir, 'jsbench');
  const gopath = path.join(cacheDir, 'gopath');
  const args = ['build', '-o', driver, source];
  const env = { ...process.env, GO111MODULE: 'off', GOPATH: `${gopath}:${GOCODE}`, GOFLAGS: '' };
  const buildCommand = `GO111MODULE=off GOPATH=${gopath}:${GOCODE} ${commandLine('go', args)}`;
  const fresh = fs.existsSync(driver) && fs.statSync(driver).mtimeMs >= fs.statSync(source).mtimeMs;
  if (!fresh) {
    fs.mkdirSync(gopath, { recursive: true });
    const r = await run(go!, args, { env, timeoutMs: 300_000 });
    if (r.code !== 0)
      return {
        ok: false,
        reason: `building the JetStream driver failed: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`,
      };
  }
  return { ok: true, tools: { natsServer: natsServer!, driver, buildCommand } };
}

export interface JetStreamDeployment {
  urls: string;
  replicas: 1 | 3;
  commands: string[];
  /** The nats-server process ids (for their CPU time and RSS). */
  pids(): number[];
  stop(): Promise<void>;
}

/** Waits until a TCP port accepts. */
async function waitPort(svc: Service, port: number, timeoutMs: number): Promise<string | null> {
  const net = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!svc.running) return `${svc.name} exited with code ${svc.exitCode}: ${svc.tail(3)}`;
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return null;
    await sleep(100);
  }
  return `${svc.name} did not listen on ${port} within ${timeoutMs} ms`;
}

/** Starts one JetStream server (R1) or a 3-server JetStream cluster (R3), file storage under `parentDir`. */
export async function startJetStream(
  tools: JetStreamTools,
  parentDir: string,
  replicas: 1 | 3,
): Promise<
  { ok: true; deployment: JetStreamDeployment } | { ok: false; reason: string; commands: string[] }
> {
  const root = fs.mkdtempSync(path.join(parentDir, `jetstream-r${replicas}-`));
  const n = replicas;
  const clientPorts: number[] = [];
  const clusterPorts: number[] = [];
  for (let i = 0; i < n; i++) {
    clientPorts.push(await freePort());
    clusterPorts.push(await freePort());
  }
  const services: Service[] = [];
  const commands: string[] = [];
  for (let i = 0; i < n; i++) {
    const conf = path.join(root, `n${i + 1}.conf`);
    const lines = [
      `server_name: n${i + 1}`,
      `listen: 127.0.0.1:${clientPorts[i]}`,
      `jetstream { store_dir: "${path.join(root, `n${i + 1}`)}" }`,
    ];
    if (n > 1) {
      const routes = clusterPorts.map((p) => `nats-route://127.0.0.1:${p}`).join(', ');
      lines.push(`cluster { name: bench, listen: 127.0.0.1:${clusterPorts[i]}, routes: [${routes}] }`);
    }
    fs.writeFileSync(conf, lines.join('\n') + '\n');
    const args = ['-c', conf];
    commands.push(`${commandLine(tools.natsServer, args)}   # ${lines.join('; ')}`);
    services.push(Service.start(`nats-server n${i + 1}`, tools.natsServer, args));
  }
  const stop = async (): Promise<void> => {
    await Promise.all(services.map((s) => s.stop()));
    fs.rmSync(root, { recursive: true, force: true });
  };
  for (let i = 0; i < n; i++) {
    const problem = await waitPort(services[i]!, clientPorts[i]!, 15_000);
    if (problem !== null) {
      await stop();
      return { ok: false, reason: problem, commands };
    }
  }
  const urls = clientPorts.map((p) => `nats://127.0.0.1:${p}`).join(',');
  const pids = (): number[] => services.flatMap((s) => (s.pid === undefined ? [] : [s.pid]));
  return { ok: true, deployment: { urls, replicas, commands, pids, stop } };
}

export interface DriverSpec {
  mode: 'setup' | 'pub' | 'sub' | 'delete';
  streams: number;
  recordBytes?: number;
  count?: number;
  ratePerSec?: number;
  maxPending?: number;
  timeoutS?: number;
  prefix: string;
}

/** Runs the Go driver once; its one JSON line becomes a LoadResult. */
export async function runDriver(
  tools: JetStreamTools,
  d: JetStreamDeployment,
  spec: DriverSpec,
): Promise<{ result: LoadResult; command: string }> {
  const args = [
    '-servers',
    d.urls,
    '-mode',
    spec.mode,
    '-prefix',
    spec.prefix,
    '-streams',
    String(spec.streams),
    '-replicas',
    String(d.replicas),
  ];
  if (spec.recordBytes !== undefined) args.push('-size', String(spec.recordBytes));
  if (spec.count !== undefined) args.push('-count', String(spec.count));
  if (spec.ratePerSec !== undefined) args.push('-rate', String(Math.round(spec.ratePerSec)));
  if (spec.maxPending !== undefined) args.push('-max-pending', String(spec.maxPending));
  args.push('-timeout', String(spec.timeoutS ?? 120));
  const command = commandLine('jsbench', args);
  try {
    const r = await run(tools.driver, args, { timeoutMs: ((spec.timeoutS ?? 120) + 30) * 1000 });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return {
        result: failed(`jsbench printed no result (exit ${r.code}): ${r.stderr.trim().slice(-300)}`),
        command,
      };
    }
    const num = (k: string): number => (typeof parsed[k] === 'number' ? (parsed[k] as number) : Number.NaN);
    const result: LoadResult = {
      ok: parsed['ok'] === true,
      msgs: num('msgs'),
      bytes: num('bytes'),
      seconds: num('seconds'),
      msgPerSec: num('msgPerSec'),
      mbPerSec: num('mbPerSec'),
      errors: num('errors'),
    };
    if (spec.mode === 'pub') {
      result.p50Ms = num('p50Ms');
      result.p99Ms = num('p99Ms');
      result.p999Ms = num('p999Ms');
      result.maxMs = num('maxMs');
    }
    if (parsed['saturated'] === true) result.saturated = true;
    if (typeof parsed['error'] === 'string' && parsed['error'] !== '') result.error = parsed['error'];
    return { result, command };
  } catch (e) {
    return { result: failed(errorMessage(e)), command };
  }
}

function failed(error: string): LoadResult {
  return {
    ok: false,
    msgs: 0,
    bytes: 0,
    seconds: 0,
    msgPerSec: Number.NaN,
    mbPerSec: Number.NaN,
    errors: 1,
    error,
  };
}
