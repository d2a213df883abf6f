// Restart benchmark of one node of a scripts/cluster.mjs cluster — not a test. The cluster is
// started and filled beforehand (a topic of P partitions, RF 3, e.g. with kcat); this stops node 3
// (SIGTERM: a clean close, or SIGKILL: a crash), starts it again and measures from its spawn:
// `online`: its /v1/partitions lists every partition of the topic online with a known leader;
// `serve`: it leads one of them again and a kcat produce (acks=all) + fetch of that partition
// through it succeeds. Also the node's own log (first line to the last `raft storage recovered`),
// its CPU seconds at `online` and `serve`, and its RSS 5 s later. One JSON line per run.
//
//   CLUSTER_DIR=/tmp/c CLUSTER_KAFKA_BASE=44092 CLUSTER_RAFT_BASE=44192 CLUSTER_ADMIN_BASE=44292 \
//     node apps/server/bench/restart-cluster.mjs term|kill [label] [--topic rs] [--partitions 30]
import { execFileSync, execSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const clusterScript = path.join(here, '..', '..', '..', 'scripts', 'cluster.mjs');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const [mode = 'term', label = ''] = args.filter(
  (a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'),
);
const topic = opt('topic', 'rs');
const partitions = Number(opt('partitions', '30'));
const node = 3;
const base = path.resolve(process.env.CLUSTER_DIR ?? 'data');
const kafkaPort = Number(process.env.CLUSTER_KAFKA_BASE ?? 9092) + node - 1;
const adminPort = Number(process.env.CLUSTER_ADMIN_BASE ?? 6092) + node - 1;
const logFile = path.join(base, `node${node}.log`);
const cluster = (...a) => execFileSync(process.execPath, [clusterScript, ...a], { encoding: 'utf8' });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function getJson(p) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port: adminPort, path: p, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => req.destroy());
  });
}
function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

cluster(mode === 'kill' ? 'kill' : 'stop', String(node));
await sleep(1000);
const logOffset = fs.statSync(logFile).size;
const t0 = Date.now();
cluster('start', String(node));
const pid = Number(fs.readFileSync(path.join(base, `node${node}.pid`), 'utf8'));
let online, cpuOnline, serve, cpuServe;
while (Date.now() - t0 < 120_000) {
  const ps = await getJson('/v1/partitions');
  const mine = Array.isArray(ps) ? ps.filter((p) => p.topic === topic) : [];
  if (
    online === undefined &&
    mine.length === partitions &&
    mine.every((p) => p.state === 'online' && p.leader > 0)
  ) {
    online = (Date.now() - t0) / 1000;
    cpuOnline = cpuSeconds(pid);
  }
  const led = online !== undefined ? mine.find((p) => p.role === 'leader') : undefined;
  if (led) {
    try {
      const v = `probe-${Date.now()}`;
      execSync(
        `echo ${v} | kcat -P -b localhost:${kafkaPort} -t ${topic} -p ${led.partition} -X acks=all -X message.timeout.ms=3000`,
        { stdio: 'pipe' },
      );
      const out = execSync(
        `kcat -C -b localhost:${kafkaPort} -t ${topic} -p ${led.partition} -o -1 -c 1 -e -q`,
        {
          encoding: 'utf8',
          timeout: 5000,
        },
      );
      if (out.includes(v)) {
        serve = (Date.now() - t0) / 1000;
        cpuServe = cpuSeconds(pid);
        break;
      }
    } catch {
      // not yet
    }
  }
  await sleep(100);
}
await sleep(5000);
const lines = fs
  .readFileSync(logFile, 'utf8')
  .slice(logOffset)
  .split('\n')
  .flatMap((l) => {
    try {
      return [JSON.parse(l)];
    } catch {
      return [];
    }
  });
const first = Date.parse(lines[0].time);
const recovered = lines.filter((l) => l.msg === 'raft storage recovered').map((l) => Date.parse(l.time));
const rss = Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]) >> 10;
console.log(
  JSON.stringify({
    label,
    mode,
    spawnToFirstLog: (first - t0) / 1000,
    storagesOpen: (Math.max(...recovered) - first) / 1000,
    groups: recovered.length,
    online,
    cpuOnline,
    serve,
    cpuServe,
    rssMiB: rss,
  }),
);
