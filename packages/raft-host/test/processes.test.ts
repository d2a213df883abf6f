// Raft across real processes: three raft-kv-node processes on loopback with gRPC and real WALs,
// killed with SIGKILL and restarted.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const bin = path.resolve(__dirname, '..', 'bin', 'raft-kv-node');

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface Proc {
  id: number;
  raftPort: number;
  httpPort: number;
  child: ChildProcess | null;
  stderr: string;
}

interface Status {
  role: string;
  leaderId: number;
  term: number;
  vote: number;
  commitIndex: number;
  appliedIndex: number;
}

async function http(
  p: Proc,
  method: string,
  url: string,
  body?: string,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`http://127.0.0.1:${p.httpPort}${url}`, {
    method,
    ...(body !== undefined ? { body } : {}),
    signal: AbortSignal.timeout(8000),
  });
  return { status: res.status, json: await res.json() };
}

describe('raft-kv-node processes', () => {
  let root: string;
  let procs: Proc[];

  function start(p: Proc): void {
    const peers = procs
      .filter((q) => q.id !== p.id)
      .map((q) => `${q.id}@127.0.0.1:${q.raftPort}`)
      .join(',');
    p.stderr = '';
    const child = spawn(
      process.execPath,
      [
        bin,
        '--node-id',
        String(p.id),
        '--raft-addr',
        `127.0.0.1:${p.raftPort}`,
        '--http-port',
        String(p.httpPort),
        '--data-dir',
        path.join(root, `n${p.id}`),
        '--peers',
        peers,
        '--bootstrap',
        '--snapshot-every',
        '200',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr!.on('data', (d: Buffer) => (p.stderr += d.toString()));
    p.child = child;
  }

  async function kill(p: Proc): Promise<void> {
    const c = p.child;
    if (!c) return;
    p.child = null;
    if (c.exitCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGKILL');
    await exited;
  }

  async function status(p: Proc): Promise<Status | null> {
    if (!p.child) return null;
    try {
      const r = await http(p, 'GET', '/status');
      return r.status === 200 ? (r.json as Status) : null;
    } catch {
      return null;
    }
  }

  async function leader(timeoutMs = 20_000): Promise<Proc> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const p of procs) {
        const s = await status(p);
        if (s?.role === 'Leader') return p;
      }
      if (Date.now() > deadline) throw new Error('no leader');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Proposes through whichever node leads, following NotLeader hints; resolves true once acknowledged. */
  async function propose(cmd: string, timeoutMs = 20_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let target = procs.find((p) => p.child) ?? procs[0]!;
    while (Date.now() < deadline) {
      try {
        if (!target.child) throw new Error('down');
        const r = await http(target, 'POST', '/propose', cmd);
        if (r.status === 200) return true;
        if (r.status === 421) {
          const hint = procs.find((p) => p.id === (r.json as { leaderId: number }).leaderId && p.child);
          if (hint) {
            target = hint;
            continue;
          }
        }
        // 503: timed out: the outcome is unknown, so the command is not counted as acknowledged.
        if (r.status === 503) return false;
      } catch {
        // connection refused / timeout: try another node
      }
      const alive = procs.filter((p) => p.child);
      target = alive[Math.floor(Math.random() * alive.length)] ?? target;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }

  async function logs(): Promise<string[][]> {
    return Promise.all(procs.map(async (p) => (await http(p, 'GET', '/log')).json as string[]));
  }

  async function converged(expectedLength: number, timeoutMs = 20_000): Promise<string[][]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const all = await logs().catch(() => null);
      if (all && all.every((l) => l.length >= expectedLength && JSON.stringify(l) === JSON.stringify(all[0])))
        return all;
      if (Date.now() > deadline)
        throw new Error(`logs did not converge: ${JSON.stringify(all?.map((l) => l.length))}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  beforeEach(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'chronik-kv-'));
    procs = [];
    for (const id of [1, 2, 3])
      procs.push({ id, raftPort: await freePort(), httpPort: await freePort(), child: null, stderr: '' });
    for (const p of procs) start(p);
  });

  afterEach(async () => {
    await Promise.all(procs.map(kill));
    rmSync(root, { recursive: true, force: true });
  });

  it('keeps every acknowledged proposal, exactly once and in one order, through kill -9 of a follower and then the leader', async () => {
    await leader();
    const acked: string[] = [];
    let i = 0;
    const write = async (n: number): Promise<void> => {
      for (let k = 0; k < n; k++, i++) if (await propose(`k${i}=v${i}`)) acked.push(`k${i}=v${i}`);
    };
    await write(30);
    const l1 = await leader();
    const follower = procs.find((p) => p !== l1)!;
    await kill(follower);
    await write(30);
    start(follower);
    const l2 = await leader();
    await kill(l2);
    await write(60);
    start(l2);
    await write(10);
    const all = await converged(acked.length, 30_000);
    for (const log of all) {
      expect(new Set(log).size).toBe(log.length); // exactly once
      for (const a of acked) expect(log).toContain(a);
      // acknowledged commands appear in the order they were acknowledged
      const positions = acked.map((a) => log.indexOf(a));
      expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    }
    expect(acked.length).toBeGreaterThanOrEqual(100);
  }, 120_000);

  it('forwards a proposal made on a follower to the leader and answers once it is applied locally', async () => {
    const l = await leader();
    const f = procs.find((p) => p !== l)!;
    for (let i = 0; i < 20; i++) {
      const r = await http(f, 'POST', '/propose?forward=1', `f${i}=${i}`);
      expect(r.status).toBe(200);
      // Read-your-writes on the follower: the entry is applied there when the answer comes.
      const log = (await http(f, 'GET', '/log')).json as string[];
      expect(log[log.length - 1]).toBe(`f${i}=${i}`);
    }
    const all = await converged(20);
    expect(all[0]).toEqual(Array.from({ length: 20 }, (_, i) => `f${i}=${i}`));
  }, 60_000);

  it('recovers every node after all are killed, keeping terms and votes, even with a torn WAL tail', async () => {
    await leader();
    for (let i = 0; i < 50; i++) expect(await propose(`a${i}=${i}`)).toBe(true);
    await converged(50);
    const before = await Promise.all(procs.map(status));
    await Promise.all(procs.map(kill));
    // A torn write at the tail of one node's newest segment: garbage after the last record.
    const walDir = path.join(root, 'n2', 'group-1', 'log');
    const segments = readdirSync(walDir)
      .filter((f) => f.endsWith('.log'))
      .sort();
    expect(existsSync(path.join(walDir, segments[segments.length - 1]!))).toBe(true);
    appendFileSync(
      path.join(walDir, segments[segments.length - 1]!),
      Buffer.from([0x00, 0x00, 0x10, 0x00, 0xde, 0xad, 0xbe]),
    );
    for (const p of procs) start(p);
    await leader();
    for (const [k, p] of procs.entries()) {
      const s = (await status(p))!;
      expect(s.term).toBeGreaterThanOrEqual(before[k]!.term);
      expect(p.stderr).toMatch(
        /recovered raft group=1 entries=\d+ term=\d+ vote=\d+ commit=\d+ snapshot=\d+/,
      );
    }
    expect(await propose('after=restart')).toBe(true);
    const all = await converged(51);
    expect(all[0]!.slice(0, 50)).toEqual(Array.from({ length: 50 }, (_, i) => `a${i}=${i}`));
  }, 90_000);

  it('brings a follower that was down while the log was compacted past it back by a snapshot over gRPC', async () => {
    await leader();
    for (let i = 0; i < 10; i++) expect(await propose(`s${i}=${i}`)).toBe(true);
    await converged(10);
    const l = await leader();
    const lagging = procs.find((p) => p !== l)!;
    await kill(lagging);
    // snapshot-every is 200 with 10 entries kept: 450 more entries compact the log well past it.
    for (let i = 10; i < 460; i++) expect(await propose(`s${i}=${i}`)).toBe(true);
    const ls = (await http(l, 'GET', '/status')).json as { firstIndex: number; snapshotIndex: number };
    expect(ls.snapshotIndex).toBeGreaterThan(200);
    start(lagging);
    const all = await converged(460, 30_000);
    expect(all[0]).toEqual(Array.from({ length: 460 }, (_, i) => `s${i}=${i}`));
    const st = (await status(lagging))!;
    expect(st.appliedIndex).toBeGreaterThan(ls.firstIndex);
  }, 120_000);
});
