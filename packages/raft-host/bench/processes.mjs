#!/usr/bin/env node
// Benchmark of the Raft runtime across three real processes on loopback (WAL fsync per batch):
// committed proposals per second and p50/p99 commit latency at 1, 64 and 1024 concurrent
// proposers, 100 B and 16 KiB payloads, 1 and 100 groups. etcd's published 3-member figures
// (583 writes/s with 1 client, 44,341 writes/s with 1,000 clients, 8 vCPU machines) are printed
// beside ours as ratios. Usage: pnpm --filter @chronik/raft-host bench [--quick]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.join(here, '..', 'bin', 'raft-kv-node');
const quick = process.argv.includes('--quick');
const seconds = quick ? 2 : 5;

async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

async function cluster(groups) {
  const root = mkdtempSync(path.join(tmpdir(), 'chronik-raft-bench-'));
  const nodes = [];
  for (const id of [1, 2, 3]) nodes.push({ id, raft: await freePort(), http: await freePort() });
  for (const n of nodes) {
    const peers = nodes
      .filter((m) => m !== n)
      .map((m) => `${m.id}@127.0.0.1:${m.raft}`)
      .join(',');
    n.child = spawn(
      process.execPath,
      [
        bin,
        '--node-id',
        String(n.id),
        '--raft-addr',
        `127.0.0.1:${n.raft}`,
        '--http-port',
        String(n.http),
        '--data-dir',
        path.join(root, `n${n.id}`),
        '--peers',
        peers,
        '--bootstrap',
        '--groups',
        String(groups),
        '--snapshot-every',
        '50000',
      ],
      { stdio: 'ignore' },
    );
  }
  // Wait until every group has a leader.
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const all = await Promise.all(
        nodes.map(async (n) => (await fetch(`http://127.0.0.1:${n.http}/groups`)).json()),
      );
      const led = new Set(
        all
          .flat()
          .filter((s) => s.role === 'Leader')
          .map((s) => s.groupId),
      );
      if (led.size === groups) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error('groups did not elect leaders');
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    nodes,
    async stop() {
      for (const n of nodes) n.child.kill('SIGKILL');
      rmSync(root, { recursive: true, force: true });
    },
  };
}

async function run(c, concurrency, bytes) {
  // Every node runs proposers for the groups it leads, sharing the total concurrency.
  const per = Math.max(1, Math.round(concurrency / c.nodes.length));
  const results = await Promise.all(
    c.nodes.map(async (n) =>
      (
        await fetch(
          `http://127.0.0.1:${n.http}/bench?concurrency=${concurrency === 1 ? 1 : per}&bytes=${bytes}&seconds=${seconds}`,
          { method: 'POST' },
        )
      ).json(),
    ),
  );
  const active = results.filter((r) => r.committed > 0 || r.groups > 0);
  const committed = active.reduce((s, r) => s + r.committed, 0);
  const elapsed = Math.max(...active.map((r) => r.elapsedS ?? seconds));
  return {
    rate: committed / elapsed,
    p50Ms: Math.max(...active.map((r) => r.p50Us)) / 1000,
    p99Ms: Math.max(...active.map((r) => r.p99Us)) / 1000,
    failed: active.reduce((s, r) => s + r.failed, 0),
  };
}

const etcd = { 1: 583, 1024: 44341 };
const rows = [];
for (const groups of quick ? [1] : [1, 100]) {
  const c = await cluster(groups);
  try {
    for (const bytes of quick ? [100] : [100, 16384]) {
      for (const concurrency of quick ? [1, 64] : [1, 64, 1024]) {
        // With one group only the leader proposes; concurrency 1 means one proposer in total.
        const r = await run(c, concurrency, bytes);
        const ref = bytes === 100 ? etcd[concurrency] : undefined;
        rows.push({ groups, bytes, concurrency, ...r, vsEtcd: ref ? (r.rate / ref).toFixed(2) + 'x' : '' });
        process.stderr.write(
          `groups=${groups} bytes=${bytes} concurrency=${concurrency} rate=${r.rate.toFixed(0)}/s\n`,
        );
      }
    }
  } finally {
    await c.stop();
  }
}
console.log(
  '| groups | payload | proposers | committed/s | p50 ms | p99 ms | failed | vs etcd (3 members, published) |',
);
console.log('|---:|---:|---:|---:|---:|---:|---:|---|');
for (const r of rows) {
  console.log(
    `| ${r.groups} | ${r.bytes} B | ${r.concurrency} | ${r.rate.toFixed(0)} | ${r.p50Ms.toFixed(1)} | ${r.p99Ms.toFixed(1)} | ${r.failed} | ${r.vsEtcd} |`,
  );
}
console.log(
  '\netcd reference: 583 writes/s with 1 client, 44,341 writes/s with 1,000 clients (8 vCPU machines); the 1024-proposer row is compared with the 1,000-client figure.',
);
