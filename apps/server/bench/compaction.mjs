// Produce throughput on a compacted topic while the log cleaner runs, against the same with the
// cleaner off — not a test (docs/design/compaction.md, "Measured").
//
//   node apps/server/bench/compaction.mjs [--records 1000000] [--keys 20000] [--size 256] [--rounds 3]
//                                         [--io-rate 33554432] [--mode standalone|cluster]
//
// Each round starts chronik-server(s) on free ports with temp data directories — standalone, or a
// 3-node raft-cluster of real processes (RF 3) — once with the cleaner (`--log-cleaner-backoff-ms
// 100`, the given `--log-cleaner-io-max-bytes-per-second`) and once with `--log-cleaner-enable
// false`, alternating which goes first; creates a compacted topic whose every batch but the newest
// is cleanable at once (segment.ms 100, min.cleanable.dirty.ratio 0.01), and produces `records`
// keyed records (`keys` distinct keys, `size`-byte values) with kcat (librdkafka, acks=all). Prints
// one JSON line per run (produce seconds, MB/s, msg/s; the cleaner's passes and bytes from
// /metrics; the bytes the partition's log holds once the cleaner is idle), then the median ratio
// with / without the cleaner.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.join(here, '..', 'bin', 'chronik-server');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const records = Number(opt('records', '1000000'));
const keys = Number(opt('keys', '20000'));
const size = Number(opt('size', '256'));
const rounds = Number(opt('rounds', '3'));
const ioRate = opt('io-rate', String(32 * 1024 * 1024));
const mode = opt('mode', 'standalone');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chronik-compaction-bench-'));

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function start(argv) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [bin, ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    p.stdout.on('data', (c) => {
      buf += c;
      const lines = buf.split('\n');
      buf = lines.pop();
      for (const line of lines) {
        try {
          if (JSON.parse(line).msg === 'chronik-server started') resolve(p);
        } catch {
          // not JSON
        }
      }
    });
    p.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
}

/** Starts the server(s); returns the bootstrap list, the admin ports and a stop function. */
async function startAll(cleaner, runDir) {
  const common = [
    '--log-level',
    'info',
    '--listen-addr',
    '127.0.0.1',
    '--advertised-addr',
    '127.0.0.1',
    '--log-cleaner-backoff-ms',
    '100',
    '--log-cleaner-io-max-bytes-per-second',
    ioRate,
    ...(cleaner ? [] : ['--log-cleaner-enable', 'false']),
  ];
  const n = mode === 'cluster' ? 3 : 1;
  const kafka = await Promise.all(Array.from({ length: n }, freePort));
  const admin = await Promise.all(Array.from({ length: n }, freePort));
  const raft = await Promise.all(Array.from({ length: n }, freePort));
  const procs = await Promise.all(
    Array.from({ length: n }, (_, i) => {
      const node = [
        ...common,
        '--node-id',
        String(i + 1),
        '--kafka-port',
        String(kafka[i]),
        '--admin-port',
        String(admin[i]),
        '--data-dir',
        path.join(runDir, `node${i + 1}`),
      ];
      if (n === 1) return start(node);
      const peers = raft
        .map((p, j) => (j === i ? null : `${j + 1}@127.0.0.1:${p}`))
        .filter((x) => x !== null)
        .join(',');
      return start([
        ...node,
        'raft-cluster',
        '--raft-addr',
        `127.0.0.1:${raft[i]}`,
        '--peers',
        peers,
        '--bootstrap',
      ]);
    }),
  );
  return {
    bootstrap: kafka.map((p) => `127.0.0.1:${p}`).join(','),
    admin,
    async stop() {
      for (const p of procs) p.kill('SIGTERM');
      await Promise.all(
        procs.map((p) => new Promise((r) => (p.exitCode !== null ? r() : p.once('exit', r)))),
      );
    },
  };
}

function get(port, route) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: route }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

async function metric(ports, name) {
  let total = 0;
  for (const port of ports) {
    for (const line of (await get(port, '/metrics')).split('\n'))
      if (line.startsWith(name) && !line.startsWith('#')) total += Number(line.split(' ').pop());
  }
  return total;
}

function kcat(argv) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('kcat', argv, { encoding: 'utf8', maxBuffer: 1 << 30 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`kcat ${argv.join(' ')}: ${r.stderr}`);
  return s;
}

/** Creates the topic with the chronik CLI (kcat cannot set topic configs), retried while the cluster forms. */
async function createTopic(bootstrap) {
  for (let attempt = 0; ; attempt++) {
    try {
      return createTopicOnce(bootstrap);
    } catch (e) {
      if (attempt >= 60) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

function createTopicOnce(bootstrap) {
  const cli = path.join(here, '..', '..', '..', 'tools', 'cli', 'bin', 'chronik');
  const r = spawnSync(
    process.execPath,
    [
      cli,
      'topic',
      'create',
      'table',
      '-b',
      bootstrap,
      '-r',
      mode === 'cluster' ? '3' : '1',
      '-c',
      'cleanup.policy=compact',
      '-c',
      'segment.ms=100',
      '-c',
      'min.cleanable.dirty.ratio=0.01',
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`topic create: ${r.stderr}`);
}

function dirBytes(d) {
  let total = 0;
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    total += e.isDirectory() ? dirBytes(p) : fs.statSync(p).size;
  }
  return total;
}

const file = path.join(dir, 'records.txt');
{
  const value = 'v'.repeat(size);
  const out = fs.openSync(file, 'w');
  let chunk = '';
  for (let i = 0; i < records; i++) {
    chunk += `k${i % keys}:${value}\n`;
    if (chunk.length > 1 << 20) {
      fs.writeSync(out, chunk);
      chunk = '';
    }
  }
  fs.writeSync(out, chunk);
  fs.closeSync(out);
}
const mb = (records * (size + 7)) / 1e6;

const results = { on: [], off: [] };
try {
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? [true, false] : [false, true];
    for (const cleaner of order) {
      const runDir = fs.mkdtempSync(path.join(dir, 'run-'));
      const s = await startAll(cleaner, runDir);
      try {
        await createTopic(s.bootstrap);
        const seconds = kcat([
          '-b',
          s.bootstrap,
          '-P',
          '-t',
          'table',
          '-K',
          ':',
          '-l',
          file,
          '-X',
          'acks=all',
          '-X',
          'linger.ms=5',
          '-X',
          'batch.num.messages=10000',
          '-X',
          'queue.buffering.max.kbytes=1048576',
        ]);
        // The cleaner catches up: the data directory holds at most a few times the live keys' bytes
        // (or stops shrinking for 20 s; at most 300 s). Then what it holds.
        const passesAtEnd = await metric(s.admin, 'chronik_log_cleaner_passes_total');
        const caughtUpBytes = 4 * keys * (size + 80) + 16 * 1024 * 1024;
        const t1 = Date.now();
        for (let i = 0, last = Infinity, still = 0; cleaner && i < 600 && still < 40; i++) {
          const now = dirBytes(runDir);
          if (now <= caughtUpBytes) break;
          still = now < last ? 0 : still + 1;
          last = Math.min(last, now);
          await new Promise((r) => setTimeout(r, 500));
        }
        const catchUpSeconds = cleaner ? +((Date.now() - t1) / 1000).toFixed(1) : 0;
        const passes = await metric(s.admin, 'chronik_log_cleaner_passes_total');
        const row = {
          what: 'produce-compacted',
          mode,
          cleaner,
          records,
          keys,
          valueBytes: size,
          seconds: +seconds.toFixed(3),
          mbPerSec: +(mb / seconds).toFixed(1),
          msgPerSec: Math.round(records / seconds),
          cleanerPassesDuringProduce: passesAtEnd,
          cleanerPasses: passes,
          cleanerCatchUpSeconds: catchUpSeconds,
          cleanerReadMB: +((await metric(s.admin, 'chronik_log_cleaner_read_bytes_total')) / 1e6).toFixed(1),
          cleanerWrittenMB: +(
            (await metric(s.admin, 'chronik_log_cleaner_written_bytes_total')) / 1e6
          ).toFixed(1),
          dataDirMB: +(dirBytes(runDir) / 1e6).toFixed(1),
        };
        console.log(JSON.stringify(row));
        results[cleaner ? 'on' : 'off'].push(row.msgPerSec);
      } finally {
        await s.stop();
        fs.rmSync(runDir, { recursive: true, force: true });
      }
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(
    JSON.stringify({
      what: 'ratio',
      mode,
      withCleanerMsgPerSec: median(results.on),
      withoutCleanerMsgPerSec: median(results.off),
      ratio: +(median(results.on) / median(results.off)).toFixed(3),
    }),
  );
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
