// Restart benchmark of one standalone chronik-server — not a test. Fills a topic of P partitions
// with about G GB (kcat -P, 1000-byte lines, random partitioner), stops the server (SIGTERM: a
// clean close, or SIGKILL: a crash), then starts it again on the same data directory and measures
// the time from spawn until it serves every partition: one kcat producer delivers a message to each
// partition (acks=all), then one kcat consumer reads the last message of each. Prints one JSON line
// per restart (seconds, the server's CPU seconds, RSS after settling).
//
//   node apps/server/bench/restart.mjs --dir /tmp/rs/data [--fill-gb 2] [--partitions 100]
//        [--restarts term,kill,term,kill] [--port 44092] [--server PATH] [--node-args "--cpu-prof"]
//
// Without --fill-gb the data directory is reused as it is (fill once, restart many times).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const serverBin = path.resolve(opt('server', path.join(here, '..', 'bin', 'chronik-server')));
const dir = opt('dir');
if (!dir) throw new Error('--dir is required');
const fillGb = Number(opt('fill-gb', '0'));
const partitions = Number(opt('partitions', '100'));
const restarts = opt('restarts', 'term,kill').split(',');
const port = Number(opt('port', '44092'));
const nodeArgs = opt('node-args', '').split(' ').filter(Boolean);
const topic = 'restart';
const broker = `localhost:${port}`;

function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}
function rssMiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : -1;
}

function start() {
  const p = spawn(
    process.execPath,
    [
      ...nodeArgs,
      serverBin,
      '--kafka-port',
      String(port),
      '--advertised-addr',
      'localhost',
      '--admin-port',
      '-1',
      '--log-level',
      'info',
      '--data-dir',
      dir,
      '--num-partitions',
      String(partitions),
    ],
    { stdio: ['ignore', fs.openSync(path.join(path.dirname(dir), 'server.log'), 'a'), 'inherit'] },
  );
  return p;
}

function kcat(argv, input) {
  return spawnSync('kcat', ['-b', broker, ...argv], { input, encoding: 'utf8', timeout: 120_000 });
}

/** Until one message reaches every partition and the last message of every partition is read. */
async function serves() {
  for (;;) {
    const md = kcat(['-L', '-t', topic, '-m', '2']);
    const count = (md.stdout.match(/partition \d+, leader 1,/g) ?? []).length;
    if (count === partitions) break;
    spawnSync('sleep', ['0.05']);
  }
  // One acks=all produce request carrying a message for every partition (kafkajs), then the last
  // message of every partition read by one kcat consumer.
  await producerSend();
  const c = kcat(['-C', '-t', topic, '-o', '-1', '-e', '-q', '-f', '%p\n']);
  const got = new Set(c.stdout.split('\n').filter(Boolean));
  if (got.size !== partitions) throw new Error(`fetched from ${got.size} partitions: ${c.stderr}`);
}

async function waitExit(p) {
  if (p.exitCode !== null || p.signalCode !== null) return;
  await new Promise((r) => p.once('exit', r));
}

function du() {
  return spawnSync('du', ['-sb', dir], { encoding: 'utf8' }).stdout.split('\t')[0];
}

if (fillGb > 0) {
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const s = start();
  serves0();
  const file = path.join(path.dirname(dir), 'lines.txt');
  if (!fs.existsSync(file)) {
    const line = `${'x'.repeat(999)}\n`;
    fs.writeFileSync(file, line.repeat(200_000));
  }
  const t0 = Date.now();
  for (let g = 0; g < Math.ceil(fillGb * 5); g++) {
    const r = spawnSync(
      'kcat',
      [
        '-b',
        broker,
        '-P',
        '-t',
        topic,
        '-l',
        file,
        '-X',
        'linger.ms=20',
        '-X',
        'batch.size=1000000',
        '-X',
        'queue.buffering.max.kbytes=1000000',
      ],
      { encoding: 'utf8', timeout: 600_000 },
    );
    if (r.status !== 0) throw new Error(`fill: ${r.stderr}`);
  }
  console.log(JSON.stringify({ fill: true, seconds: (Date.now() - t0) / 1000, bytes: du() }));
  s.kill('SIGTERM');
  await waitExit(s);
}

function serves0() {
  for (let i = 0; i < 600; i++) {
    const r = kcat(['-L', '-t', topic, '-m', '2']);
    if ((r.stdout.match(/partition \d+, leader 1,/g) ?? []).length === partitions) return;
    spawnSync('sleep', ['0.1']);
  }
  throw new Error('the topic never got its partitions');
}

const bytes = du();
for (const how of restarts) {
  // Start, wait until it serves, then stop it the given way; the next start is the one measured.
  const warm = start();
  await serves();
  await new Promise((r) => setTimeout(r, 1000));
  warm.kill(how === 'kill' ? 'SIGKILL' : 'SIGTERM');
  await waitExit(warm);
  const logFile = path.join(path.dirname(dir), 'server.log');
  const logFrom = fs.statSync(logFile).size;
  const t0 = Date.now();
  const s = start();
  await serves();
  const seconds = (Date.now() - t0) / 1000;
  // The server's own view: from its first log line to 'chronik-server started' (every partition open).
  const own = fs
    .readFileSync(logFile, 'utf8')
    .slice(logFrom)
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
  const first = own[0] ? Date.parse(own[0].time) : NaN;
  const started = own.find((l) => l.msg === 'chronik-server started');
  const serverSeconds = started ? (Date.parse(started.time) - first) / 1000 : undefined;
  const spawnToFirstLine = (first - t0) / 1000;
  const cpu = cpuSeconds(s.pid);
  await new Promise((r) => setTimeout(r, 5000));
  const rss = rssMiB(s.pid);
  console.log(
    JSON.stringify({
      stop: how,
      partitions,
      bytes,
      seconds,
      spawnToFirstLine,
      serverSeconds,
      cpuSeconds: cpu,
      idleRssMiB: rss,
    }),
  );
  s.kill('SIGTERM');
  await waitExit(s);
}

async function producerSend() {
  for (;;) {
    const kafka = new Kafka({ brokers: [broker], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const producer = kafka.producer();
    try {
      await producer.connect();
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: partitions }, (_, p) => ({ partition: p, value: 'x' })),
      });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      await producer.disconnect().catch(() => {});
    }
  }
}
