#!/usr/bin/env node
// The leader-failover scenario alone (docs/benchmarks/failover.md): a 3-node cluster, the bench's
// acks=all prober (runFailover, as in the full plan's "Leader failover" table) and, beside it, a
// librdkafka producer (tools/bench/librdkafka/produce.c) at a fixed rate with acks=all. Each kill's
// librdkafka figure is kill → the acknowledgement of the first message due after the kill
// (messages are due every 1/rate s, latency counted from the due time, so no coordinated omission).
//
//   pnpm turbo run build --filter @chronik/bench...
//   node tools/bench/scripts/failover.mjs --kills 10 [--base-port 45100] [--rate 1000] [--json out.json] [--raft-log]
//     [--librdkafka key=value]... (more producer settings, e.g. debug=broker,metadata: its log goes to stderr)
//
// --raft-log prints, under each kill, the survivors' Raft lines about it (the leader forgotten when
// its connections closed, pre-vote, election) with their time from the kill.
// Prints one line per kill and min / median / max of: kill → new leader elected, kill → first
// acks=all produce (prober), kill → librdkafka's first acknowledgement.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  KafkaConnection,
  createTopic,
  failoverStats,
  prepareLibrdkafka,
  runFailover,
  startCluster,
  waitForLeaders,
} from '../dist/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const packageDir = path.resolve(here, '..');
const serverBin = path.resolve(packageDir, '../../apps/server/bin/chronik-server');

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : process.argv[i + 1];
}
const kills = Number(arg('kills', '5'));
const basePort = arg('base-port') === undefined ? undefined : Number(arg('base-port'));
const rate = Number(arg('rate', '1000'));
const jsonOut = arg('json');
const librdkafkaProps = process.argv.flatMap((a, i) =>
  a === '--librdkafka' && process.argv[i + 1] !== undefined ? ['-X', process.argv[i + 1]] : [],
);
const monoMs = () => Number(process.hrtime.bigint()) / 1e6;
const log = (line) => console.log(`[${new Date().toISOString()}] ${line}`);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'chronik-failover-'));
const started = await startCluster(serverBin, work, 90_000, {
  ...(basePort !== undefined ? { basePort } : {}),
  ...(process.argv.includes('--raft-log') ? { logLevel: 'info' } : {}),
});
if (!started.ok) {
  console.error(`cluster not available: ${started.reason}`);
  process.exit(1);
}
const d = started.deployment;
const killTimes = [];
/** Per kill, the survivors' Raft lines about it (forgetting the leader, elections), with --raft-log. */
const killLogs = [];
const kill = d.kill;
d.kill = async (id) => {
  const k = killTimes.length;
  killTimes.push(monoMs());
  const wallMs = Date.now();
  await kill(id);
  if (process.argv.includes('--raft-log'))
    setTimeout(() => {
      killLogs[k] = d.nodes
        .filter((n) => n.nodeId !== id)
        .flatMap((n) =>
          n.service.output
            .text()
            .split('\n')
            .filter((l) =>
              /forgot it as leader|became (leader|candidate|pre-candidate)|peer \d+ down/.test(l),
            )
            .map((l) => {
              const t = Date.parse(/"time":"([^"]+)"/.exec(l)?.[1] ?? '');
              const msg = /"msg":"([^"]+)"/.exec(l)?.[1] ?? l;
              return { t: t - wallMs, line: `node ${n.nodeId} ${t - wallMs} ms: ${msg}` };
            })
            .filter((x) => x.t >= -200),
        )
        .sort((a, b) => a.t - b.t)
        .map((x) => x.line);
    }, 3000);
};
let producer;
let result;
const timeline = path.join(work, 'timeline.txt');
try {
  const admin = await KafkaConnection.connect(d.bootstrap);
  await createTopic(admin, 'failover', 1, 3);
  await waitForLeaders(admin, 'failover', 1, 30_000);
  admin.close();

  const lib = prepareLibrdkafka(packageDir, path.join(packageDir, '.cache'));
  if (lib.ok) {
    const args = [
      ...lib.tools.prefixArgs,
      '--bootstrap',
      d.brokers.map((b) => `${b.host}:${b.port}`).join(','),
      '--topic',
      'failover',
      '--count',
      String(rate * 3600),
      '--size',
      '256',
      '--acks',
      'all',
      '--rate',
      String(rate),
      '--timeout',
      '3600',
      '--max-lag',
      '60',
      '--timeline',
      timeline,
      '-X',
      'linger.ms=1',
      ...librdkafkaProps,
    ];
    const out = [];
    const child = spawn(lib.tools.command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => process.stderr.write(c));
    producer = {
      child,
      done: new Promise((resolve) => child.on('exit', () => resolve(Buffer.concat(out).toString()))),
    };
    log(
      `librdkafka ${lib.tools.version}: ${rate} msg/s of 256 B, acks=all, linger.ms=1${librdkafkaProps
        .filter((_, i) => i % 2 === 1)
        .map((x) => `, ${x}`)
        .join('')}`,
    );
  } else {
    log(`librdkafka producer not available: ${lib.reason}`);
  }
  // The old leader restarts 3 s after the prober's first success, not at once: librdkafka, slower
  // to recover, would otherwise ask it for metadata while it starts.
  result = await runFailover({ deployment: d, topic: 'failover', kills, log, restartDelayMs: 3000 });
} finally {
  let lib;
  if (producer !== undefined) {
    producer.child.kill('SIGTERM');
    const stdout = await producer.done;
    try {
      lib = JSON.parse(stdout.trim().split('\n').pop() ?? '');
    } catch {
      log(`librdkafka output not understood: ${stdout.slice(0, 300)}`);
    }
  }
  await d.stop();
  // Each kill: when a message due just after it was acknowledged. The messages due in one 100 ms
  // window are acknowledged together once the new leader answers, so the first of them waited the
  // longest: kill → its acknowledgement = that window's worst latency + (window start − kill).
  const waits = [];
  if (lib !== undefined && fs.existsSync(timeline)) {
    const windows = fs
      .readFileSync(timeline, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' ').map(Number))
      .map(([atMs, worstMs]) => ({ atMs: lib.startMonotonicS * 1000 + atMs, worstMs }));
    for (const t of killTimes) {
      const w = windows.find((x) => x.atMs >= t);
      waits.push(w === undefined || w.worstMs < 0 ? undefined : w.worstMs + (w.atMs - t));
    }
    if (jsonOut !== undefined) fs.copyFileSync(timeline, `${jsonOut}.timeline.txt`);
  }
  fs.rmSync(work, { recursive: true, force: true });
  if (result !== undefined) {
    const fmt = (v) => (v === undefined ? '—' : `${Math.round(v)}`);
    console.log('kill  node  elected_ms  first_produce_ms  librdkafka_ack_ms  error');
    for (const [k, kl] of result.kills.entries()) {
      console.log(
        `${k + 1}  ${kl.killedNode}  ${fmt(kl.electedMs)}  ${fmt(kl.unavailableMs)}  ${fmt(waits[k])}  ${kl.error ?? ''}`,
      );
      for (const l of killLogs[k] ?? []) console.log(`    ${l}`);
    }
    const st = (v) =>
      v === undefined
        ? '—'
        : `${Math.round(v.min)} / ${Math.round(v.median)} / ${Math.round(v.max)} (n=${v.n})`;
    const w = waits.filter((x) => x !== undefined).sort((a, b) => a - b);
    const wStats =
      w.length === 0
        ? undefined
        : {
            min: w[0],
            median: w.length % 2 ? w[(w.length - 1) / 2] : (w[w.length / 2 - 1] + w[w.length / 2]) / 2,
            max: w[w.length - 1],
            n: w.length,
          };
    console.log(`kill → elected (min / median / max): ${st(failoverStats(result.kills, 'electedMs'))}`);
    console.log(`kill → first acks=all produce: ${st(failoverStats(result.kills, 'unavailableMs'))}`);
    console.log(`kill → librdkafka acks=all ack of a message due just after it: ${st(wStats)}`);
    console.log(
      `load average: ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );
    if (jsonOut !== undefined)
      fs.writeFileSync(
        jsonOut,
        JSON.stringify({ result, librdkafka: lib, librdkafkaWaitsMs: waits }, null, 2),
      );
  }
}
