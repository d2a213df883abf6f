#!/usr/bin/env node
// A local 3-node chronik-server raft cluster for people and tests.
//
//   node scripts/cluster.mjs start            start nodes 1-3 (those not running)
//   node scripts/cluster.mjs start 2          start node 2
//   node scripts/cluster.mjs stop [N]         SIGTERM (all, or node N) and wait for exit
//   node scripts/cluster.mjs kill [N]         SIGKILL (all, or node N)
//   node scripts/cluster.mjs restart [N]      stop then start
//   node scripts/cluster.mjs status           pid, ports and /v1/cluster of each node
//   node scripts/cluster.mjs clean            stop all and delete the data directories
//
// (Not CHRONIK_*: chronik-server reads those as its own options.)
// Node N listens on Kafka 9091+N, Raft 9191+N, admin 6091+N, with its data in ./data/nodeN and its
// log in ./data/nodeN.log (pid in ./data/nodeN.pid). Options (environment):
//   CLUSTER_DIR   base directory (default ./data)
//   CLUSTER_KAFKA_BASE, CLUSTER_RAFT_BASE, CLUSTER_ADMIN_BASE   port of node 1 (default 9092, 9192, 6092)
//   CLUSTER_ARGS  extra chronik-server options (e.g. "--offsets-topic-partitions 3")
//   CLUSTER_NODE_ARGS  extra node options (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof")
// Build first: pnpm --filter @chronik/server... build
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'apps/server/bin/chronik-server');
const base = path.resolve(process.env.CLUSTER_DIR ?? 'data');
const kafkaBase = Number(process.env.CLUSTER_KAFKA_BASE ?? 9092);
const raftBase = Number(process.env.CLUSTER_RAFT_BASE ?? 9192);
const adminBase = Number(process.env.CLUSTER_ADMIN_BASE ?? 6092);
const extra = (process.env.CLUSTER_ARGS ?? '').split(/\s+/).filter(Boolean);
const nodeArgs = (process.env.CLUSTER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
const NODES = [1, 2, 3];

const pidFile = (n) => path.join(base, `node${n}.pid`);

function pidOf(n) {
  try {
    const pid = Number(fs.readFileSync(pidFile(n), 'utf8').trim());
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

function argsOf(n) {
  const peers = NODES.filter((m) => m !== n)
    .map((m) => `${m}@localhost:${raftBase + m - 1}`)
    .join(',');
  return [
    '--kafka-port',
    String(kafkaBase + n - 1),
    '--advertised-addr',
    'localhost',
    '--node-id',
    String(n),
    '--data-dir',
    path.join(base, `node${n}`),
    '--admin-port',
    String(adminBase + n - 1),
    // Auto-created topics replicated on all three nodes (do not repeat this option in CLUSTER_ARGS).
    '--default-replication-factor',
    '3',
    ...extra,
    'raft-cluster',
    '--raft-addr',
    `0.0.0.0:${raftBase + n - 1}`,
    '--peers',
    peers,
    '--bootstrap',
  ];
}

function start(n) {
  if (pidOf(n) !== undefined) {
    console.log(`node ${n} already running (pid ${pidOf(n)})`);
    return;
  }
  fs.mkdirSync(base, { recursive: true });
  const log = fs.openSync(path.join(base, `node${n}.log`), 'a');
  const child = spawn(process.execPath, [...nodeArgs, bin, ...argsOf(n)], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  child.unref();
  fs.writeFileSync(pidFile(n), `${child.pid}\n`);
  console.log(
    `node ${n} started (pid ${child.pid}): kafka localhost:${kafkaBase + n - 1}, admin http://localhost:${adminBase + n - 1}`,
  );
}

async function waitExit(pid, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

async function stop(n, signal) {
  const pid = pidOf(n);
  if (pid === undefined) return;
  process.kill(pid, signal);
  const gone = await waitExit(pid, signal === 'SIGKILL' ? 5000 : 15000);
  if (!gone) {
    process.kill(pid, 'SIGKILL');
    await waitExit(pid, 5000);
  }
  fs.rmSync(pidFile(n), { force: true });
  console.log(`node ${n} ${signal === 'SIGKILL' ? 'killed' : 'stopped'}`);
}

function getJson(port, p) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, timeout: 2000 }, (res) => {
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

const [cmd = 'status', which] = process.argv.slice(2);
const targets = which === undefined ? NODES : [Number(which)];
switch (cmd) {
  case 'start':
    for (const n of targets) start(n);
    break;
  case 'stop':
    await Promise.all(targets.map((n) => stop(n, 'SIGTERM')));
    break;
  case 'kill':
    await Promise.all(targets.map((n) => stop(n, 'SIGKILL')));
    break;
  case 'restart':
    await Promise.all(targets.map((n) => stop(n, 'SIGTERM')));
    for (const n of targets) start(n);
    break;
  case 'clean':
    await Promise.all(NODES.map((n) => stop(n, 'SIGTERM')));
    for (const n of NODES) fs.rmSync(path.join(base, `node${n}`), { recursive: true, force: true });
    console.log(`removed ${NODES.map((n) => path.join(base, `node${n}`)).join(', ')}`);
    break;
  case 'status':
    for (const n of targets) {
      const pid = pidOf(n);
      const c = pid === undefined ? undefined : await getJson(adminBase + n - 1, '/v1/cluster');
      const meta = c?.metadataGroup;
      console.log(
        `node ${n}: ${pid === undefined ? 'down' : `pid ${pid}`}` +
          (meta
            ? `, metadata leader ${meta.leaderId} term ${meta.term} commit ${meta.commitIndex} applied ${meta.appliedIndex}, brokers ${(c.brokers ?? []).map((b) => b.nodeId).join(',')}`
            : ''),
      );
    }
    break;
  default:
    console.error('usage: cluster.mjs start|stop|kill|restart|status|clean [node]');
    process.exit(2);
}
