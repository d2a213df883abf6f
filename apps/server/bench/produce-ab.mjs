// Produce-path A/B benchmark of one chronik-server build — not a test. Starts the given
// bin/chronik-server (default: this package's) on a free port with a temp data directory, runs
// 1 KiB acks=1 produce loads against fresh one-partition topics, and prints one JSON line per
// measurement, each with the server's CPU seconds (utime + stime from /proc) spent during it:
//
//   kcat   librdkafka (kcat -P -l FILE, tools/bench's settings): msg/s, MB/s
//   max    tools/bench's pipelined generator, as fast as it goes: msg/s, MB/s, p50/p99
//   rate   the same generator open-loop at a fixed rate (1 ms ticks): p50/p99 from intended send time
//
//   node apps/server/bench/produce-ab.mjs [--server PATH] [--label L] [--kcat 300000] [--max 300000]
//        [--partitions 1 (max runs)] [--rates 36000,73000] [--secs 5] [--node-args "--import=apps/server/bench/gc-preload.mjs"]
//
// For an A/B comparison, keep a copy of the baseline's built runtime (apps/server and packages/*
// with their dist/ and node_modules/, plus a link to the root node_modules) and alternate runs of
// both builds (`--server COPY/apps/server/bin/chronik-server`), so the machine's load hits both
// alike; compare medians. The generator (tools/bench, built) must be the same for both.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const serverBin = path.resolve(opt('server', path.join(here, '..', 'bin', 'chronik-server')));
const label = opt('label', 'run');
const benchDist = path.join(here, '..', '..', '..', 'tools', 'bench', 'dist');
const gen = await import(path.join(benchDist, 'index.js'));
const kcat = await import(path.join(benchDist, 'kcat.js'));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chronik-ab-'));

function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime in clock ticks (100 per second)
}

function startServer() {
  const nodeArgs = (opt('node-args', '') ?? '').split(' ').filter(Boolean);
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      [
        ...nodeArgs,
        serverBin,
        '--kafka-port',
        '0',
        '--admin-port',
        '-1',
        '--log-level',
        'info',
        '--data-dir',
        path.join(dir, 'data'),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let buf = '';
    p.stdout.on('data', (c) => {
      buf += c;
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const line of lines) {
        try {
          const j = JSON.parse(line);
          if (j.msg === 'chronik-server started') resolve({ proc: p, port: j.kafkaPort });
        } catch {
          // not a log line
        }
      }
    });
    p.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
}

const server = await startServer();
const bootstrap = { host: '127.0.0.1', port: server.port };
const admin = await gen.KafkaConnection.connect(bootstrap);
let topics = 0;
async function freshTopic(partitions = 1) {
  const t = `ab${topics++}`;
  await gen.createTopic(admin, t, partitions, 1);
  return t;
}
async function measure(what, run, extra = {}) {
  const c0 = cpuSeconds(server.proc.pid);
  const r = await run();
  const cpu = cpuSeconds(server.proc.pid) - c0;
  console.log(
    JSON.stringify({
      label,
      what,
      ...extra,
      ok: r.ok,
      msgPerSec: Math.round(r.msgPerSec),
      mbPerSec: +r.mbPerSec.toFixed(1),
      p50Ms: r.p50Ms,
      p99Ms: r.p99Ms,
      generatorLagP99Ms: r.generatorLagP99Ms,
      serverCpuSec: +cpu.toFixed(2),
      serverCpuUsPerMsg: +((cpu * 1e6) / r.msgs).toFixed(2),
      load1: +os.loadavg()[0].toFixed(1),
      error: r.error,
    }),
  );
}
try {
  const kcatRecords = Number(opt('kcat', '300000'));
  if (kcatRecords > 0) {
    const file = path.join(dir, 'records.txt');
    kcat.prepareRecordFile(file, 1024, kcatRecords);
    const t = await freshTopic();
    await measure(
      'kcat',
      async () => (await kcat.kcatProduce(bootstrap, t, file, 1024, kcatRecords, 1)).result,
    );
  }
  const maxRecords = Number(opt('max', '300000'));
  if (maxRecords > 0) {
    const t = await freshTopic();
    await measure('max', () =>
      gen.runProduce({ bootstrap, topic: t, partitions: 1, recordBytes: 1024, acks: 1, records: maxRecords }),
    );
  }
  const secs = Number(opt('secs', '5'));
  for (const rate of opt('rates', '36000,73000').split(',').filter(Boolean).map(Number)) {
    const t = await freshTopic();
    await measure(
      'rate',
      () =>
        gen.runProduce({
          bootstrap,
          topic: t,
          partitions: 1,
          recordBytes: 1024,
          acks: 1,
          records: Math.round(rate * secs),
          ratePerSec: rate,
        }),
      { rate },
    );
  }
} finally {
  admin.close();
  server.proc.kill('SIGTERM');
  await new Promise((r) => server.proc.once('exit', r));
  fs.rmSync(dir, { recursive: true, force: true });
}
