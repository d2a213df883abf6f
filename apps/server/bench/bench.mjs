// Benchmark of a standalone chronik-server with librdkafka load (kcat from a file) — not a test.
//
//   node apps/server/bench/bench.mjs [--records 200000] [--sizes 256,1024]
//
// Starts bin/chronik-server on a free port with a temp data directory, then for each record size:
// produce MB/s and msg/s with acks=1 and acks=all (kcat -P -l FILE), consume MB/s (kcat -C -e), and
// produce latency p50/p99 at a fixed rate (confluent-kafka-python, acks=all) if /usr/bin/python3 has
// confluent_kafka. Prints one JSON line per measurement.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
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
const records = Number(opt('records', '200000'));
const sizes = opt('sizes', '256,1024').split(',').map(Number);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chronik-bench-'));

function startServer() {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      [
        bin,
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
      for (const line of buf.split('\n')) {
        try {
          const j = JSON.parse(line);
          if (j.msg === 'chronik-server started') resolve({ proc: p, port: j.kafkaPort });
        } catch {
          // partial line
        }
      }
      buf = buf.slice(buf.lastIndexOf('\n') + 1);
    });
    p.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
}

function kcat(argv) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('kcat', argv, { encoding: 'utf8', maxBuffer: 1 << 30 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`kcat ${argv.join(' ')}: ${r.stderr}`);
  return s;
}

const server = await startServer();
const bootstrap = `127.0.0.1:${server.port}`;
try {
  for (const size of sizes) {
    const file = path.join(dir, `records-${size}.txt`);
    const line = 'x'.repeat(size - 1) + '\n';
    fs.writeFileSync(file, line.repeat(records));
    const mb = (records * size) / 1e6;
    for (const acks of ['1', 'all']) {
      const topic = `bench-${size}-${acks}`;
      kcat(['-b', bootstrap, '-P', '-t', topic, '-X', 'acks=1']); // create the topic first
      const s = kcat([
        '-b',
        bootstrap,
        '-P',
        '-t',
        topic,
        '-l',
        file,
        '-X',
        `acks=${acks}`,
        '-X',
        'linger.ms=5',
        '-X',
        'batch.num.messages=10000',
        '-X',
        'queue.buffering.max.kbytes=1048576',
      ]);
      console.log(
        JSON.stringify({
          what: 'produce',
          recordBytes: size,
          acks,
          records,
          seconds: +s.toFixed(3),
          mbPerSec: +(mb / s).toFixed(1),
          msgPerSec: Math.round(records / s),
        }),
      );
    }
    const s = kcat(['-b', bootstrap, '-C', '-t', `bench-${size}-1`, '-o', 'beginning', '-e', '-q', '-f', '']);
    console.log(
      JSON.stringify({
        what: 'consume',
        recordBytes: size,
        records,
        seconds: +s.toFixed(3),
        mbPerSec: +(mb / s).toFixed(1),
      }),
    );
  }
  const py = `
import sys, time
from confluent_kafka import Producer
rate, n, size = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
p = Producer({"bootstrap.servers": sys.argv[1], "acks": "all", "linger.ms": 1})
lat = []
def cb(err, msg, t0):
    if err is None: lat.append(time.perf_counter() - t0)
start = time.perf_counter()
payload = b"x" * size
for i in range(n):
    target = start + i / rate
    now = time.perf_counter()
    if target > now: time.sleep(target - now)
    t0 = time.perf_counter()
    p.produce("latency", payload, on_delivery=lambda e, m, t0=t0: cb(e, m, t0))
    p.poll(0)
p.flush(30)
lat.sort()
q = lambda f: round(lat[min(len(lat) - 1, int(f * len(lat)))] * 1000, 2)
print('{"what":"latency","acks":"all","recordBytes":%d,"ratePerSec":%d,"delivered":%d,"p50Ms":%s,"p99Ms":%s}' % (size, rate, len(lat), q(0.5), q(0.99)))
`;
  const r = spawnSync('/usr/bin/python3', ['-c', py, bootstrap, '5000', '20000', '1024'], {
    encoding: 'utf8',
  });
  process.stdout.write(
    r.status === 0 ? r.stdout : `latency skipped: ${r.stderr.split('\n').slice(-2).join(' ')}\n`,
  );
} finally {
  server.proc.kill('SIGTERM');
  await new Promise((r) => server.proc.once('exit', r));
  fs.rmSync(dir, { recursive: true, force: true });
}
