#!/usr/bin/env node
// Issue 9 A/B harness — not a test. Starts a 3-node raft-cluster of the given chronik-server build
// with tools/bench's startCluster (build tools/bench first), then:
//   tput      the librdkafka driver (tools/bench/librdkafka/produce.py) in max mode: N × 256 B,
//             acks=all, 3 partitions RF 3; prints msg/s, p50/p99, the three servers' CPU seconds
//             (utime + stime from /proc) per message, and the leader epochs of the topic's
//             partitions before/after plus check-quorum step-downs in the logs (spurious elections)
//   rate      the same at a fixed rate (RATE=msg/s in the environment)
//   failover  tools/bench's runFailover: K kills of the leader of a 1-partition RF 3 topic
//   both      tput, then failover
// One JSON line on stdout. Alternate runs of two builds (keep a copy of the baseline's built tree:
// apps/server and packages/* with dist/ and node_modules/, plus a link to the root node_modules)
// and compare ratios; CHRONIK_* environment variables reach the servers (e.g.
// CHRONIK_RAFT_PARTITION_ELECTION_TICKS=7).
//
//   node apps/server/test/cluster/ab-issue9.mjs apps/server/bin/chronik-server tput 600000
//   node apps/server/test/cluster/ab-issue9.mjs /tmp/base/apps/server/bin/chronik-server failover 0 4
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const b = await import(path.join(root, 'tools', 'bench', 'dist', 'index.js'));
const [binArg, mode = 'both', recordsArg = '600000', killsArg = '3'] = process.argv.slice(2);
if (binArg === undefined) {
  process.stderr.write(
    'usage: ab-issue9.mjs <chronik-server bin> [tput|rate|failover|both] [records] [kills]\n',
  );
  process.exit(2);
}
const bin = path.resolve(binArg);
const records = Number(recordsArg);
const kills = Number(killsArg);
const out = {
  bin,
  mode,
  env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('CHRONIK_'))),
};
const started = await b.startCluster(bin, os.tmpdir(), 90_000);
if (!started.ok) {
  process.stdout.write(`${JSON.stringify({ ...out, error: started.reason })}\n`);
  process.exit(1);
}
const d = started.deployment;
const dataDirs = d.nodes.map((n) => n.args[n.args.indexOf('--data-dir') + 1]);

/** CPU seconds (utime + stime) of the cluster's server processes. */
function serverCpuSeconds() {
  let ticks = 0;
  for (const pid of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!dataDirs.some((dir) => cmd.includes(dir))) continue;
      const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(st[11]) + Number(st[12]);
    } catch {
      // gone meanwhile
    }
  }
  return ticks / 100;
}

/** Sum of the leader epochs of the topic's partitions, as their leaders report them. */
async function epochs(topic) {
  let sum = 0;
  for (const n of d.nodes) {
    try {
      for (const p of await b.adminPartitions(n.adminPort))
        if (p.topic === topic && p.role === 'leader') sum += p.leaderEpoch;
    } catch {
      // a node that does not answer leads nothing
    }
  }
  return sum;
}

try {
  if (mode === 'tput' || mode === 'both' || mode === 'rate') {
    const prep = b.prepareLibrdkafka(path.join(root, 'tools', 'bench'));
    if (!prep.ok) throw new Error(prep.reason);
    const topic = `ab9-${Date.now() % 100000}`;
    const c = await b.KafkaConnection.connect(d.bootstrap, 5000);
    await b.createTopic(c, topic, 3, 3);
    await b.waitForLeaders(c, topic, 3, 30_000);
    c.close();
    await new Promise((r) => setTimeout(r, 1500));
    const e0 = await epochs(topic);
    const load = os.loadavg()[0];
    const cpu0 = serverCpuSeconds();
    const rate = mode === 'rate' ? { ratePerSec: Number(process.env.RATE ?? 100000) } : {};
    const r = await b.librdkafkaProduce(prep.tools, {
      brokers: d.brokers,
      topic,
      recordBytes: 256,
      records,
      acks: -1,
      timeoutS: 120,
      ...rate,
    });
    const cpu = serverCpuSeconds() - cpu0;
    const logs = d.nodes.map((n) => n.service.output.text());
    out.load = load;
    out.produce = {
      ok: r.result.ok,
      error: r.result.error,
      msgPerSec: Math.round(r.result.msgPerSec),
      p50Ms: r.result.p50Ms,
      p99Ms: r.result.p99Ms,
      clientCpuSeconds: r.result.clientCpuSeconds,
      serverCpuSeconds: +cpu.toFixed(2),
      serverCpuUsPerMsg: +((cpu * 1e6) / records).toFixed(2),
      leaderEpochsBefore: e0,
      leaderEpochsAfter: await epochs(topic),
      stepDowns: logs.map((t) => (t.match(/stepping down/g) ?? []).length),
    };
  }
  if (mode === 'failover' || mode === 'both') {
    const topic = `ab9f-${Date.now() % 100000}`;
    const c = await b.KafkaConnection.connect(d.bootstrap, 5000);
    await b.createTopic(c, topic, 1, 3);
    await b.waitForLeaders(c, topic, 1, 30_000);
    c.close();
    await new Promise((r) => setTimeout(r, 2000));
    const f = await b.runFailover({ deployment: d, topic, kills });
    out.failover = {
      ok: f.ok,
      error: f.error,
      kills: f.kills.map((k) => ({
        electedMs: k.electedMs && Math.round(k.electedMs),
        unavailableMs: k.unavailableMs && Math.round(k.unavailableMs),
        error: k.error,
      })),
      otherLeaderMoves: f.otherLeaderMoves,
    };
  }
} finally {
  await d.stop();
}
process.stdout.write(`${JSON.stringify(out)}\n`);
