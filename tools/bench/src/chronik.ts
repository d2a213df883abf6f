// Starting and stopping Chronik for a benchmark: one standalone broker, or a 3-node raft-cluster
// whose absence (the mode not built yet, or nodes that never elect leaders) is reported as "not
// available" with the reason instead of failing the run.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BenchError, errorMessage } from './errors.js';
import { KafkaConnection, createTopic, waitForLeaders } from './kafka.js';
import type { BrokerAddress } from './kafka.js';
import { Service, freePort, sleep } from './procs.js';

/** One node of a deployment: its command line (to restart it) and its current process. */
export interface ChronikNode {
  nodeId: number;
  kafka: BrokerAddress;
  /** HTTP admin API port (GET /v1/partitions), or undefined when disabled. */
  adminPort: number | undefined;
  args: string[];
  service: Service;
}

export interface ChronikDeployment {
  kind: 'standalone' | 'cluster';
  bootstrap: BrokerAddress;
  /** Every broker's address (one for standalone, three for the cluster). */
  brokers: BrokerAddress[];
  /** The SSL listener's addresses, when the deployment was started with one (`startStandalone` with `tls`). */
  sslBrokers?: BrokerAddress[];
  /** The exact command lines used to start it. */
  commands: string[];
  replicationFactor: number;
  nodes: ChronikNode[];
  /** SIGKILL of one node (kill -9); resolves once it has exited. */
  kill(nodeId: number): Promise<void>;
  /** Starts a killed or stopped node again with its original command line and data. */
  restart(nodeId: number): void;
  stop(): Promise<void>;
}

export type StartOutcome =
  { ok: true; deployment: ChronikDeployment } | { ok: false; reason: string; commands: string[] };

const quote = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
export const commandLine = (cmd: string, args: readonly string[]): string =>
  [cmd, ...args].map(quote).join(' ');

/** Polls until the broker answers Metadata, the process exits, or the time runs out. */
async function waitReady(
  service: Service,
  address: BrokerAddress,
  timeoutMs: number,
): Promise<string | null> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (!service.running)
      return `${service.name} exited with code ${service.exitCode}: ${service.tail(3) || '(no output)'}`;
    try {
      const c = await KafkaConnection.connect(address, 2000);
      c.close();
      return null;
    } catch (e) {
      last = errorMessage(e);
    }
    await sleep(100);
  }
  return `${service.name} did not accept connections within ${timeoutMs} ms (${last})`;
}

function commonArgs(
  nodeId: number,
  kafkaPort: number | undefined,
  dataDir: string,
  adminPort = -1,
  logLevel = 'warn',
): string[] {
  return [
    '--node-id',
    String(nodeId),
    ...(kafkaPort === undefined ? [] : ['--kafka-port', String(kafkaPort)]),
    '--listen-addr',
    '127.0.0.1',
    '--advertised-addr',
    '127.0.0.1',
    '--admin-port',
    String(adminPort),
    '--data-dir',
    dataDir,
    '--log-level',
    logLevel,
  ];
}

/** The server certificate and key of an SSL listener (PEM files). */
export interface ListenerTls {
  certFile: string;
  keyFile: string;
}

/**
 * Starts one standalone broker with its data under `parentDir`. With `tls`, the broker has two
 * listeners: PLAINTEXT (`bootstrap`, `brokers`) and SSL (`sslBrokers`) with that certificate.
 */
export async function startStandalone(
  serverBin: string,
  parentDir: string,
  tls?: ListenerTls,
): Promise<StartOutcome> {
  const port = await freePort();
  const sslPort = tls === undefined ? undefined : await freePort();
  const dataDir = fs.mkdtempSync(path.join(parentDir, 'chronik-standalone-'));
  const security =
    tls === undefined
      ? []
      : [
          '--listeners',
          `PLAINTEXT://127.0.0.1:${port},SSL://127.0.0.1:${sslPort}`,
          '--listener-security-protocol-map',
          'PLAINTEXT:PLAINTEXT,SSL:SSL',
          '--ssl-cert-file',
          tls.certFile,
          '--ssl-key-file',
          tls.keyFile,
        ];
  const args = [
    serverBin,
    ...commonArgs(1, tls === undefined ? port : undefined, dataDir),
    ...security,
    'standalone',
  ];
  const commands = [commandLine('node', args)];
  const svc = Service.start('chronik-server', process.execPath, args);
  const address = { host: '127.0.0.1', port };
  const problem = await waitReady(svc, address, 30_000);
  const node: ChronikNode = { nodeId: 1, kafka: address, adminPort: undefined, args, service: svc };
  const stop = async (): Promise<void> => {
    await node.service.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  if (problem !== null) {
    await stop();
    return { ok: false, reason: problem, commands };
  }
  return {
    ok: true,
    deployment: {
      kind: 'standalone',
      bootstrap: address,
      brokers: [address],
      ...(sslPort !== undefined ? { sslBrokers: [{ host: '127.0.0.1', port: sslPort }] } : {}),
      commands,
      replicationFactor: 1,
      ...nodeControl([node]),
      stop,
    },
  };
}

/** kill/restart of the nodes of a deployment. */
function nodeControl(nodes: ChronikNode[]): Pick<ChronikDeployment, 'nodes' | 'kill' | 'restart'> {
  const find = (nodeId: number): ChronikNode => {
    const n = nodes.find((x) => x.nodeId === nodeId);
    if (n === undefined) throw new BenchError('BadArgument', `no node ${nodeId}`);
    return n;
  };
  return {
    nodes,
    kill: async (nodeId) => {
      const n = find(nodeId);
      await n.service.kill();
    },
    restart: (nodeId) => {
      const n = find(nodeId);
      if (n.service.running) throw new BenchError('ProcessFailed', `node ${nodeId} is still running`);
      n.service = Service.start(`chronik-server node ${nodeId}`, process.execPath, n.args);
    },
  };
}

/**
 * Starts a 3-node raft-cluster (`raft-cluster --raft-addr ... --peers ... --bootstrap` on every node)
 * and checks that it can elect partition leaders for a probe topic with replication factor 3.
 * Anything short of that is "not available", with the reason.
 */
export async function startCluster(
  serverBin: string,
  parentDir: string,
  readyTimeoutMs = 60_000,
  options: {
    /** Fixed ports (Kafka basePort + i, Raft + 10, admin + 20) instead of free ones. */
    basePort?: number;
    /** The nodes' --log-level (default warn). */
    logLevel?: string;
  } = {},
): Promise<StartOutcome> {
  const { basePort } = options;
  const ids = [1, 2, 3];
  const kafkaPorts: number[] = [];
  const raftPorts: number[] = [];
  const adminPorts: number[] = [];
  for (const [i] of ids.entries()) {
    kafkaPorts.push(basePort === undefined ? await freePort() : basePort + i);
    raftPorts.push(basePort === undefined ? await freePort() : basePort + 10 + i);
    adminPorts.push(basePort === undefined ? await freePort() : basePort + 20 + i);
  }
  const root = fs.mkdtempSync(path.join(parentDir, 'chronik-cluster-'));
  const nodes: ChronikNode[] = [];
  const commands: string[] = [];
  for (const [i, id] of ids.entries()) {
    const peers = ids
      .filter((p) => p !== id)
      .map((p) => `${p}@127.0.0.1:${raftPorts[p - 1]}`)
      .join(',');
    const args = [
      serverBin,
      ...commonArgs(id, kafkaPorts[i]!, path.join(root, `node${id}`), adminPorts[i]!, options.logLevel),
      'raft-cluster',
      '--raft-addr',
      `127.0.0.1:${raftPorts[i]}`,
      '--peers',
      peers,
      '--bootstrap',
    ];
    commands.push(commandLine('node', args));
    const service = Service.start(`chronik-server node ${id}`, process.execPath, args);
    nodes.push({
      nodeId: id,
      kafka: { host: '127.0.0.1', port: kafkaPorts[i]! },
      adminPort: adminPorts[i]!,
      args,
      service,
    });
  }
  const brokers = nodes.map((n) => n.kafka);
  const services = nodes.map((n) => n.service);
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.service.stop()));
    fs.rmSync(root, { recursive: true, force: true });
  };
  const deadline = Date.now() + readyTimeoutMs;
  for (const [i, svc] of services.entries()) {
    const problem = await waitReady(svc, brokers[i]!, Math.max(1000, deadline - Date.now()));
    if (problem !== null) {
      await stop();
      return { ok: false, reason: problem, commands };
    }
  }
  // Ready means: a replicated topic gets leaders on every partition.
  let lastProblem = '';
  while (Date.now() < deadline) {
    const dead = services.find((s) => !s.running);
    if (dead !== undefined) {
      lastProblem = `${dead.name} exited with code ${dead.exitCode}: ${dead.tail(3)}`;
      break;
    }
    let conn: KafkaConnection | undefined;
    try {
      conn = await KafkaConnection.connect(brokers[0]!, 2000);
      await createTopic(conn, '__chronik_bench_probe', 3, 3);
      await waitForLeaders(conn, '__chronik_bench_probe', 3, Math.max(1000, deadline - Date.now()));
      conn.close();
      return {
        ok: true,
        deployment: {
          kind: 'cluster',
          bootstrap: brokers[0]!,
          brokers,
          commands,
          replicationFactor: 3,
          ...nodeControl(nodes),
          stop,
        },
      };
    } catch (e) {
      lastProblem = errorMessage(e);
      if (/TOPIC_ALREADY_EXISTS/.test(lastProblem)) {
        try {
          await waitForLeaders(conn!, '__chronik_bench_probe', 3, Math.max(1000, deadline - Date.now()));
          conn?.close();
          return {
            ok: true,
            deployment: {
              kind: 'cluster',
              bootstrap: brokers[0]!,
              brokers,
              commands,
              replicationFactor: 3,
              ...nodeControl(nodes),
              stop,
            },
          };
        } catch (e2) {
          lastProblem = errorMessage(e2);
        }
      }
    } finally {
      conn?.close();
    }
    await sleep(500);
  }
  await stop();
  return { ok: false, reason: `the 3-node cluster did not become ready: ${lastProblem}`, commands };
}
