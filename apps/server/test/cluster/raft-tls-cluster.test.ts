// A 3-node chronik-server cluster of real processes whose Raft transport runs over mutual TLS
// (--raft-tls-cert-file/--raft-tls-key-file/--raft-tls-ca-file, certificates CN=node-<id> of one
// CA): the cluster elects, replicates and serves kafkajs; a fourth process whose certificate the CA
// did not sign gets no Raft message through and never becomes a broker of the cluster; a process
// whose certificate names another node refuses to start.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { makeTestCerts } from '../helpers/certs.js';
import type { TestCerts } from '../helpers/certs.js';
import { tempDir } from '../helpers/server.js';
import { BIN, TestCluster, freePort, sleep } from './cluster-helper.js';
import type { ClusterJson } from './cluster-helper.js';

jest.setTimeout(180_000);

let certs: TestCerts;
let cluster: TestCluster;
const tlsArgs = (cert: { certFile: string; keyFile: string }): string[] => [
  '--raft-tls-cert-file',
  cert.certFile,
  '--raft-tls-key-file',
  cert.keyFile,
  '--raft-tls-ca-file',
  certs.caFile,
];

beforeAll(async () => {
  certs = makeTestCerts(tempDir('chronik-raft-tls-certs-'));
  const nodeCerts = new Map([1, 2, 3].map((id) => [id, certs.client(`node-${id}`)]));
  cluster = await TestCluster.create(3);
  cluster.nodeArgs = (id) => tlsArgs(nodeCerts.get(id) as { certFile: string; keyFile: string });
  for (const n of cluster.nodes) cluster.start(n.id);
  await cluster.waitForMetadata(3, 60_000);
});

afterAll(async () => {
  await cluster?.destroy();
  fs.rmSync(certs.dir, { recursive: true, force: true });
});

test('three nodes over mutual TLS: one metadata leader, a replicated topic produced and consumed', async () => {
  const status = await cluster.admin<ClusterJson>(1, '/v1/cluster');
  expect(status.metadataGroup.voters).toEqual([1, 2, 3]);
  const kafka = new Kafka({
    clientId: 'raft-tls',
    brokers: cluster.brokers(),
    logLevel: logLevel.NOTHING,
    retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: 'tls-raft', numPartitions: 2, replicationFactor: 3 }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic: 'tls-raft',
    acks: -1,
    messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }],
  });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: 'tls-raft-readers' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'tls-raft', fromBeginning: true });
  const seen: string[] = [];
  await consumer.run({ eachMessage: async ({ message }) => void seen.push(String(message.value)) });
  const deadline = Date.now() + 30_000;
  while (seen.length < 3 && Date.now() < deadline) await sleep(100);
  await consumer.disconnect();
  expect(seen.sort()).toEqual(['a', 'b', 'c']);
});

test('a fourth process with a self-signed certificate gets nothing through and never becomes a broker', async () => {
  const stranger = certs.stranger('node-4');
  const dataDir = tempDir('chronik-stranger-');
  const peers = cluster.nodes.map((n) => `${n.id}@127.0.0.1:${n.raftPort}`).join(',');
  const [kafkaPort, raftPort] = [await freePort(), await freePort()];
  const { spawn } = await import('node:child_process');
  const proc = spawn(
    process.execPath,
    [
      BIN,
      '--kafka-port',
      String(kafkaPort),
      '--listen-addr',
      '127.0.0.1',
      '--advertised-addr',
      '127.0.0.1',
      '--node-id',
      '4',
      '--data-dir',
      dataDir,
      '--admin-port',
      '-1',
      'raft-cluster',
      '--raft-addr',
      `127.0.0.1:${raftPort}`,
      '--peers',
      peers,
      ...tlsArgs(stranger),
    ],
    { stdio: 'ignore' },
  );
  try {
    await sleep(8000);
    for (const n of cluster.nodes) {
      const status = await cluster.admin<ClusterJson>(n.id, '/v1/cluster');
      expect(status.brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3]);
      expect(status.metadataGroup.voters).toEqual([1, 2, 3]);
    }
  } finally {
    proc.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a node whose certificate names another node refuses to start, saying so', () => {
  const dataDir = tempDir('chronik-misnamed-');
  try {
    const r = spawnSync(
      process.execPath,
      [
        BIN,
        '--kafka-port',
        '0',
        '--node-id',
        '5',
        '--data-dir',
        dataDir,
        '--admin-port',
        '-1',
        'raft-cluster',
        '--raft-addr',
        '127.0.0.1:1',
        '--peers',
        '1@127.0.0.1:2',
        ...tlsArgs(certs.client('node-6')),
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(r.status).toBe(1);
    expect(`${r.stdout}${r.stderr}`).toContain('CN=node-6, not this node: its subject must have CN=node-5');
  } finally {
    fs.rmSync(path.resolve(dataDir), { recursive: true, force: true });
  }
});
