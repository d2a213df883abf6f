// A chronik-server raft cluster of real processes on loopback, with a LinkProxy on every directed
// Raft link: node i's `--peers` entry for node j points at proxy (i→j), which forwards to j's Raft
// port. Nodes keep their ports across restarts.
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { ChaosError } from './errors.js';
import { LinkProxy } from './proxy.js';
import type { LinkMode } from './proxy.js';
import type { Rng } from './rng.js';

export type NodeState = 'running' | 'paused' | 'down';

export interface ChaosNode {
  id: number;
  kafkaPort: number;
  raftPort: number;
  adminPort: number;
  dataDir: string;
  logFile: string;
  proc: ChildProcess | undefined;
  exited: Promise<void> | undefined;
  state: NodeState;
  starts: number;
  /** The exit code of the node's last process (null: killed by a signal), once one exited. */
  lastExitCode?: number | null;
  /** A tmpfs of its own mounted here, holding dataDir (the disk-full fault). */
  mount?: string | undefined;
  /**
   * Set while the node joins the running cluster anew (the membership fault: removed, its data
   * directory wiped): it starts with `--join` through its link to this member instead of
   * `--peers ... --bootstrap`.
   */
  joinVia?: number | undefined;
}

/** `GET /v1/cluster/members`: the metadata group's voters and learners, and the registered brokers. */
export interface MembersView {
  voters: number[];
  learners: number[];
  change: { nodeId: number } | null;
  brokers: Array<{ nodeId: number; role: string }>;
}

/**
 * The answer to an admin request to the cluster: accepted (with the body), refused (409, with the
 * server's reason), or not known (no member answered: down, cut off, no metadata leader).
 */
export type AdminAnswer<T> =
  | { kind: 'ok'; body: T; via: number }
  | { kind: 'refused'; reason: string; via: number }
  | { kind: 'unknown'; reason: string };

/** `GET /v1/cluster/balancer`: the nodes being decommissioned and the last rebalance. */
export interface BalancerView {
  drains: Array<{
    nodeId: number;
    remove: boolean;
    replicasLeft: number;
    stuck: Array<{ topic: string; partition: number }>;
  }>;
  rebalance: { requestIndex: number; endIndex: number | null; reason: string | null } | null;
  moving: number;
}

export interface ClusterView {
  nodeId: number;
  brokers: Array<{ nodeId: number }>;
  metadataGroup: {
    leaderId: number;
    term: number;
    commitIndex: number;
    appliedIndex: number;
    voters: number[];
  };
}

export interface ReplicaView {
  topic: string;
  partition: number;
  role: string;
  leader: number;
  leaderEpoch: number;
  highWatermark: string | number;
  logEndOffset: string | number;
  logStartOffset: string | number;
  replicas: number[];
  isr: number[];
}

export interface ClusterOptions {
  size: number;
  /** The chronik-server program (apps/server/bin/chronik-server). */
  bin: string;
  /** Data directories go below here. */
  dataRoot: string;
  /** Node logs (node-N.log) go here. */
  logDir: string;
  /** Extra chronik-server options before `raft-cluster`. */
  extraArgs: readonly string[];
  /** Randomness for the proxies' jitter and flaky resets. */
  rng: Rng;
  /** Give each node's data directory a tmpfs of this many MiB (the disk-full fault; needs root). */
  smallDiskMiB?: number;
}

/** Mounts a tmpfs of `mib` MiB on `dir`; false (with the reason) where this process may not. */
export function mountTmpfs(dir: string, mib: number): { ok: true } | { ok: false; reason: string } {
  try {
    fs.mkdirSync(dir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m`, 'tmpfs', dir], { stdio: 'pipe' });
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: String(e instanceof Error ? e.message : e).split('\n')[0] ?? '' };
  }
}

const FILLER = 'chaos-disk-filler';

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

const taken = new Set<number>();

/** The ports `freePort` draws from: `CHRONIK_CHAOS_PORTS=LO-HI`, or 20000-31999. */
export function portRange(env: NodeJS.ProcessEnv = process.env): { lo: number; hi: number } {
  const m = /^(\d+)-(\d+)$/.exec(env['CHRONIK_CHAOS_PORTS'] ?? '');
  const lo = Number(m?.[1]);
  const hi = Number(m?.[2]);
  return m !== null && lo >= 1024 && hi <= 65_535 && hi - lo >= 63 ? { lo, hi } : { lo: 20_000, hi: 31_999 };
}

/**
 * A free port below the kernel's ephemeral range (32768+) by default: a node keeps its ports across
 * restarts, and an ephemeral port could meanwhile become some client connection's local port. On a
 * shared machine, `CHRONIK_CHAOS_PORTS` gives the run a range of its own.
 */
export async function freePort(): Promise<number> {
  const { lo, hi } = portRange();
  for (let attempt = 0; attempt < 500; attempt++) {
    const port = lo + Math.floor(Math.random() * (hi - lo + 1));
    if (taken.has(port)) continue;
    if (await canListen(port)) {
      taken.add(port);
      return port;
    }
  }
  throw new ChaosError('ProcessFailed', `no free port found in ${lo}-${hi}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Waits for `p` at most `ms`; what is left running is abandoned (its result ignored). */
export async function bounded<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((r) => (t = setTimeout(() => r(undefined), ms)))]);
  } finally {
    clearTimeout(t);
  }
}

/** `p`, or a `Timeout` ChaosError after `ms` naming `what` (what is left running is abandoned). */
export async function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>(
        (_, reject) =>
          (t = setTimeout(() => reject(new ChaosError('Timeout', `${what}: no answer in ${ms} ms`)), ms)),
      ),
    ]);
  } finally {
    clearTimeout(t);
  }
}

export function getJson<T>(port: number, p: string, timeoutMs = 3000): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as T);
        } catch (e) {
          reject(new ChaosError('BadResponse', `GET ${p} on port ${port}: not JSON`, { cause: e }));
        }
      });
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new ChaosError('Timeout', `GET ${p} on port ${port} timed out`)));
  });
}

/** POST of a JSON body to an admin route; the answer's status and JSON body. */
export function postJson<T>(
  port: number,
  p: string,
  body: unknown,
  timeoutMs = 10_000,
): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: p,
        method: 'POST',
        timeout: timeoutMs,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as T });
          } catch (e) {
            reject(new ChaosError('BadResponse', `POST ${p} on port ${port}: not JSON`, { cause: e }));
          }
        });
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new ChaosError('Timeout', `POST ${p} on port ${port} timed out`)));
    req.end(payload);
  });
}

/** Clusters not yet destroyed, so a signal handler can kill their processes (`killAllClusters`). */
const live = new Set<ChaosCluster>();

/** SIGKILLs every node of every live cluster at once (for signal handlers: synchronous). */
export function killAllClusters(): void {
  for (const c of live) for (const n of c.nodes) n.proc?.kill('SIGKILL');
}

export class ChaosCluster {
  readonly nodes: ChaosNode[] = [];
  readonly proxies = new Map<string, LinkProxy>();
  /** Data directories of nodes removed from the cluster, kept aside for the Raft log comparison. */
  readonly departed: Array<{ id: number; dataDir: string }> = [];

  private constructor(private readonly opts: ClusterOptions) {}

  static async create(opts: ClusterOptions): Promise<ChaosCluster> {
    const c = new ChaosCluster(opts);
    live.add(c);
    fs.mkdirSync(opts.logDir, { recursive: true });
    for (let id = 1; id <= opts.size; id++) {
      // With a disk of its own, the data directory is inside the mount (so that wipeAside can
      // rename within one file system).
      const mount = opts.smallDiskMiB !== undefined ? path.join(opts.dataRoot, `disk${id}`) : undefined;
      c.nodes.push({
        id,
        kafkaPort: await freePort(),
        raftPort: await freePort(),
        adminPort: await freePort(),
        dataDir: mount !== undefined ? path.join(mount, 'data') : path.join(opts.dataRoot, `node${id}`),
        logFile: path.join(opts.logDir, `node-${id}.log`),
        proc: undefined,
        exited: undefined,
        state: 'down',
        starts: 0,
      });
    }
    if (opts.smallDiskMiB !== undefined)
      for (const n of c.nodes) {
        const mount = path.dirname(n.dataDir);
        const m = mountTmpfs(mount, opts.smallDiskMiB);
        if (!m.ok) throw new ChaosError('ProcessFailed', `cannot mount a tmpfs on ${mount}: ${m.reason}`);
        n.mount = mount;
      }
    for (const a of c.nodes)
      for (const b of c.nodes) {
        if (a.id === b.id) continue;
        const proxy = new LinkProxy(a.id, b.id, b.raftPort, opts.rng);
        await proxy.listen(await freePort());
        c.proxies.set(`${a.id}->${b.id}`, proxy);
      }
    return c;
  }

  get ids(): number[] {
    return this.nodes.map((n) => n.id);
  }

  node(id: number): ChaosNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new ChaosError('BadArgument', `no node ${id}`);
    return n;
  }

  link(from: number, to: number): LinkProxy {
    const p = this.proxies.get(`${from}->${to}`);
    if (!p) throw new ChaosError('BadArgument', `no link ${from}->${to}`);
    return p;
  }

  /** Kafka bootstrap addresses of the given nodes (default: all). */
  brokers(ids: readonly number[] = this.ids): string[] {
    return ids.map((id) => `127.0.0.1:${this.node(id).kafkaPort}`);
  }

  start(id: number): void {
    const n = this.node(id);
    if (n.proc) throw new ChaosError('BadArgument', `node ${id} is running`);
    const peers = this.nodes
      .filter((m) => m.id !== id)
      .map((m) => `${m.id}@127.0.0.1:${this.link(id, m.id).port}`)
      .join(',');
    // A joining node names one member; a member, its peers (it founds the cluster the first time).
    const membership =
      n.joinVia !== undefined
        ? ['--join', `127.0.0.1:${this.link(id, n.joinVia).port}`]
        : ['--peers', peers, '--bootstrap'];
    const args = [
      this.opts.bin,
      '--kafka-port',
      String(n.kafkaPort),
      '--listen-addr',
      '127.0.0.1',
      '--advertised-addr',
      '127.0.0.1',
      '--node-id',
      String(id),
      '--data-dir',
      n.dataDir,
      '--admin-port',
      String(n.adminPort),
      ...this.opts.extraArgs,
      'raft-cluster',
      '--raft-addr',
      `127.0.0.1:${n.raftPort}`,
      ...membership,
    ];
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CHRONIK_')) env[k] = v;
    const fd = fs.openSync(n.logFile, 'a');
    fs.writeSync(
      fd,
      `--- [chaos] start #${n.starts + 1} of node ${id}${n.joinVia !== undefined ? ` (joining through node ${n.joinVia})` : ''} at ${new Date().toISOString()}\n`,
    );
    const proc = spawn(process.execPath, args, { stdio: ['ignore', fd, fd], env });
    fs.closeSync(fd);
    n.proc = proc;
    n.state = 'running';
    n.starts++;
    n.exited = new Promise((resolve) =>
      proc.once('exit', (code, signal) => {
        try {
          fs.appendFileSync(n.logFile, `--- [chaos] node ${id} exited: code ${code} signal ${signal}\n`);
        } catch {
          // the log directory may be gone at teardown
        }
        if (n.proc === proc) {
          n.proc = undefined;
          n.state = 'down';
          n.lastExitCode = code;
        }
        resolve();
      }),
    );
  }

  /** kill -9 and wait for the exit. */
  async kill(id: number): Promise<void> {
    const n = this.node(id);
    const proc = n.proc;
    if (!proc) return;
    proc.kill('SIGKILL');
    await n.exited;
    n.proc = undefined;
    n.state = 'down';
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(id: number, graceMs = 15_000): Promise<void> {
    const n = this.node(id);
    const proc = n.proc;
    if (!proc) return;
    if (n.state === 'paused') proc.kill('SIGCONT');
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    await n.exited;
    clearTimeout(t);
    n.proc = undefined;
    n.state = 'down';
  }

  pause(id: number): void {
    const n = this.node(id);
    if (!n.proc || n.state !== 'running') return;
    n.proc.kill('SIGSTOP');
    n.state = 'paused';
  }

  resume(id: number): void {
    const n = this.node(id);
    if (!n.proc || n.state !== 'paused') return;
    n.proc.kill('SIGCONT');
    n.state = 'running';
  }

  setLinks(links: ReadonlyArray<readonly [number, number]>, mode: LinkMode): void {
    for (const [a, b] of links) this.link(a, b).setMode(mode);
  }

  /** Every link back to `up` (held connections reset). */
  healNetwork(): void {
    for (const p of this.proxies.values()) p.setMode({ kind: 'up' });
  }

  running(): number[] {
    return this.nodes.filter((n) => n.state === 'running').map((n) => n.id);
  }

  admin<T>(id: number, p: string, timeoutMs = 3000): Promise<T> {
    return getJson<T>(this.node(id).adminPort, p, timeoutMs);
  }

  clusterView(id: number): Promise<ClusterView> {
    return this.admin<ClusterView>(id, '/v1/cluster');
  }

  replicas(id: number): Promise<ReplicaView[]> {
    return this.admin<ReplicaView[]>(id, '/v1/partitions');
  }

  /**
   * The replicas of topic-partition (its target while it moves) and whether it is moving, as the
   * first running node that answers has them (undefined when none answers).
   */
  async placement(
    topic: string,
    partition: number,
  ): Promise<{ replicas: number[]; moving: boolean } | undefined> {
    for (const id of this.running()) {
      try {
        const { reassignments: moves } = await this.admin<{
          reassignments: Array<{ topic: string; partition: number; target: number[] }>;
        }>(id, `/v1/reassignments?topic=${encodeURIComponent(topic)}`);
        const move = moves.find((m) => m.topic === topic && m.partition === partition);
        if (move !== undefined) return { replicas: move.target, moving: true };
        const r = (await this.replicas(id)).find((x) => x.topic === topic && x.partition === partition);
        if (r !== undefined) return { replicas: r.replicas, moving: false };
      } catch {
        // a node that does not answer is skipped
      }
    }
    return undefined;
  }

  /** Asks for a reassignment of topic-partition (null cancels) through a running node's admin API. */
  async reassign(
    topic: string,
    partition: number,
    replicas: readonly number[] | null,
  ): Promise<string | null> {
    let last = 'no running node';
    for (const id of this.running()) {
      try {
        const r = await postJson<{ results?: Array<{ error: { code: string; message: string } | null }> }>(
          this.node(id).adminPort,
          '/v1/reassignments',
          { partitions: [{ topic, partition, replicas: replicas === null ? null : [...replicas] }] },
        );
        const error = r.body.results?.[0]?.error;
        if (r.status === 200 && error === null) return null;
        last = error !== undefined && error !== null ? `${error.code}: ${error.message}` : `HTTP ${r.status}`;
        if (error !== undefined && error !== null && error.code !== 'NOT_CONTROLLER') return last;
      } catch (e) {
        last = e instanceof Error ? e.message : String(e);
      }
    }
    return last;
  }

  /** The leader of topic-partition as its running replicas report it (undefined when unknown). */
  async leaderOf(topic: string, partition: number): Promise<number | undefined> {
    for (const id of this.running()) {
      try {
        const r = (await this.replicas(id)).find((x) => x.topic === topic && x.partition === partition);
        if (r?.role === 'leader') return id;
      } catch {
        // a node that does not answer is skipped
      }
    }
    return undefined;
  }

  /** The metadata group leader as some running node reports it. */
  async metadataLeader(): Promise<number | undefined> {
    for (const id of this.running()) {
      try {
        const v = await this.clusterView(id);
        if (v.metadataGroup.leaderId >= 0) return v.metadataGroup.leaderId;
      } catch {
        // skipped
      }
    }
    return undefined;
  }

  /** Waits until topic-partition is at `replicas` and no longer moving; whether it got there. */
  async settled(
    topic: string,
    partition: number,
    replicas: readonly number[],
    ms: number,
  ): Promise<{ done: boolean; last: string }> {
    let last = 'unknown';
    for (const end = Date.now() + ms; Date.now() < end; await sleep(500)) {
      const p = await this.placement(topic, partition);
      if (p === undefined) continue;
      last = `[${p.replicas.join(',')}]${p.moving ? ' moving' : ''}`;
      if (!p.moving && p.replicas.join() === replicas.join()) return { done: true, last };
    }
    return { done: false, last };
  }

  /** Waits until node `id` exits, at most `ms`; its exit code, or undefined while it runs. */
  async exitWithin(id: number, ms: number): Promise<number | null | undefined> {
    const n = this.node(id);
    if (n.exited === undefined || n.proc === undefined) return n.lastExitCode;
    await bounded(n.exited, ms);
    return n.proc === undefined ? n.lastExitCode : undefined;
  }

  /** The metadata group's members as the first running node of `ids` that answers has them. */
  async members(ids: readonly number[] = this.running()): Promise<MembersView | undefined> {
    for (const id of ids) {
      if (this.node(id).state !== 'running') continue;
      try {
        return await this.admin<MembersView>(id, '/v1/cluster/members');
      } catch {
        // a node that does not answer is skipped
      }
    }
    return undefined;
  }

  /**
   * POSTs an admin request to a running member, the nodes of `first` before the others; a member
   * that does not answer or reaches no metadata leader (down, cut off: not a 200, 202 or 409) is
   * passed over for the next one (a request asked twice is recorded once by the server).
   */
  async ask<T>(path: string, body: unknown, first: readonly number[]): Promise<AdminAnswer<T>> {
    let last = 'no running node to ask';
    const order = [...first, ...this.ids.filter((x) => !first.includes(x))];
    for (const via of order.filter((x) => this.node(x).state === 'running')) {
      try {
        const r = await postJson<T & { error?: { code?: string; message?: string } | string }>(
          this.node(via).adminPort,
          path,
          body,
          15_000,
        );
        if (r.status === 200 || r.status === 202) return { kind: 'ok', body: r.body, via };
        const e = r.body.error;
        const reason = typeof e === 'string' ? e : `${e?.code ?? '?'}: ${e?.message ?? ''}`;
        if (r.status === 409) return { kind: 'refused', reason, via };
        last = `HTTP ${r.status} from node ${via}: ${reason}`;
      } catch (e) {
        last = `node ${via}: ${e instanceof Error ? e.message : String(e)}`;
      }
    }
    return { kind: 'unknown', reason: last };
  }

  /** The balancer's state as the first running node of `ids` that answers has it. */
  async balancer(ids: readonly number[] = this.running()): Promise<BalancerView | undefined> {
    for (const id of ids) {
      if (this.node(id).state !== 'running') continue;
      try {
        return await this.admin<BalancerView>(id, '/v1/cluster/balancer');
      } catch {
        // a node that does not answer is skipped
      }
    }
    return undefined;
  }

  async destroy(): Promise<void> {
    live.delete(this);
    for (const n of this.nodes) if (n.proc && n.state === 'paused') n.proc.kill('SIGCONT');
    await Promise.all(this.nodes.map((n) => this.kill(n.id)));
    await Promise.all([...this.proxies.values()].map((p) => p.close()));
    for (const n of this.nodes)
      if (n.mount !== undefined) {
        // Keep what the run wrote (the data directories may be kept for a failed run).
        fs.rmSync(path.join(n.mount, FILLER), { force: true });
        const copy = `${n.mount}.copy`;
        fs.cpSync(n.mount, copy, { recursive: true });
        execFileSync('umount', ['-l', n.mount]);
        fs.rmSync(n.mount, { recursive: true, force: true });
        fs.renameSync(copy, n.mount);
        n.mount = undefined;
      }
  }

  // ------------------------------------------------------------ disk faults

  /** Moves the (stopped) node's data directory aside and leaves an empty one; returns where it went. */
  wipeAside(id: number): string {
    const n = this.node(id);
    if (n.proc) throw new ChaosError('BadArgument', `node ${id} is running`);
    const aside = `${n.dataDir}.wiped-${Date.now()}`;
    fs.renameSync(n.dataDir, aside);
    fs.mkdirSync(n.dataDir);
    return aside;
  }

  /** Puts back the data directory `wipeAside` moved (the node stopped). */
  restoreAside(id: number, aside: string): void {
    const n = this.node(id);
    if (n.proc) throw new ChaosError('BadArgument', `node ${id} is running`);
    fs.rmSync(n.dataDir, { recursive: true, force: true });
    fs.renameSync(aside, n.dataDir);
  }

  /** Fills the node's own file system (smallDiskMiB) with a filler file; the MiB written. */
  fillDisk(id: number): number {
    const n = this.node(id);
    if (n.mount === undefined)
      throw new ChaosError('BadArgument', `node ${id} has no disk of its own to fill`);
    const fd = fs.openSync(path.join(n.mount, FILLER), 'a');
    const chunk = Buffer.alloc(1 << 20, 0xcc);
    let mib = 0;
    try {
      for (;;) {
        fs.writeSync(fd, chunk);
        mib++;
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
      // The last partial chunk: fill to the last byte.
      for (let size = 1 << 19; size >= 1; size >>= 1) {
        try {
          for (;;) fs.writeSync(fd, chunk, 0, size);
        } catch {
          // next smaller size
        }
      }
    } finally {
      fs.closeSync(fd);
    }
    return mib;
  }

  /** Removes the filler `fillDisk` wrote. */
  freeDisk(id: number): void {
    const mount = this.node(id).mount;
    if (mount !== undefined) fs.rmSync(path.join(mount, FILLER), { force: true });
  }

  /** GET /health on the node (rejects when it does not answer). */
  health(id: number): Promise<unknown> {
    return getJson(this.node(id).adminPort, '/health', 2000);
  }

  /** The size of the node's log file, to read what it logged after this point (`logSince`). */
  logSize(id: number): number {
    const f = this.node(id).logFile;
    return fs.existsSync(f) ? fs.statSync(f).size : 0;
  }

  logSince(id: number, offset: number): string {
    const f = this.node(id).logFile;
    if (!fs.existsSync(f)) return '';
    const b = fs.readFileSync(f);
    return b.subarray(Math.min(offset, b.length)).toString('utf8');
  }
}
