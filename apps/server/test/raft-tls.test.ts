// The Raft transport over mutual TLS (@chronik/raft-grpc's TransportTls, with the node identities of
// src/security/node-identity.ts): nodes with certificates of the cluster CA naming them exchange
// messages, snapshots, forwarded proposals and Identify; a process whose certificate the CA did not
// sign, or that has none, gets nothing through; a certificate of the CA that names another node can
// neither pose as a node it dials nor speak for another; without identities any CA certificate is a
// node and servers are checked by host name.
import fs from 'node:fs';
import path from 'node:path';
import { MessageType, newMessage } from '@chronik/raft';
import type { Message } from '@chronik/raft';
import { GrpcTransport } from '@chronik/raft-grpc';
import type { TransportTls } from '@chronik/raft-grpc';
import { nodeIdOfCertificate, nodeIdOfCommonName } from '../src/security/node-identity.js';
import { makeTestCerts } from './helpers/certs.js';
import type { TestCerts } from './helpers/certs.js';
import { tempDir } from './helpers/server.js';

jest.setTimeout(30_000);

let certs: TestCerts;
const open: GrpcTransport[] = [];

beforeAll(() => {
  certs = makeTestCerts(tempDir('chronik-raft-tls-'));
});
afterAll(async () => {
  for (const t of open) await t.close();
  fs.rmSync(certs.dir, { recursive: true, force: true });
});

/** A node certificate: CA-signed with CN node-<id> (or `cn`), identities checked. */
function nodeTls(cn: string, identities = true): TransportTls {
  const c = certs.client(cn);
  return {
    cert: Buffer.from(c.certPem),
    key: Buffer.from(c.keyPem),
    ca: Buffer.from(certs.caPem),
    ...(identities ? { nodeIdOf: nodeIdOfCertificate } : {}),
  };
}

class Node {
  readonly received: Message[] = [];
  readonly transport: GrpcTransport;
  port = 0;
  constructor(
    readonly id: number,
    addresses: Map<number, string>,
    tls: TransportTls | undefined,
  ) {
    this.transport = new GrpcTransport({
      nodeId: id,
      listenAddress: '127.0.0.1:0',
      peerAddress: (n) => addresses.get(n),
      handler: {
        onMessage: (_g, m) => void this.received.push(m),
        onPropose: async () => ({ index: 7, term: 1 }),
        onIdentify: () => ({ clusterId: 'c', askerRegistered: true, metadataApplied: 1 }),
      },
      limits: { reconnectBackoffMinMs: 10, reconnectBackoffMaxMs: 50 },
      ...(tls !== undefined ? { tls } : {}),
    });
    open.push(this.transport);
  }
  async start(addresses: Map<number, string>): Promise<this> {
    this.port = await this.transport.start();
    addresses.set(this.id, `127.0.0.1:${this.port}`);
    return this;
  }
}

const heartbeat = (from: number, to: number): Message =>
  newMessage({ type: MessageType.MsgHeartbeat, from, to, term: 1 });

async function delivered(node: Node, from: number, ms = 1500): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (node.received.some((m) => m.from === from)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

/** Keeps sending `from` → `to` while waiting (a refused stream is retried with backoff). */
async function sendUntil(sender: Node, receiver: Node, ms = 1500): Promise<boolean> {
  const timer = setInterval(() => sender.transport.send(1, heartbeat(sender.id, receiver.id)), 50);
  try {
    return await delivered(receiver, sender.id, ms);
  } finally {
    clearInterval(timer);
  }
}

test('node certificates name their node: CN=node-<id>, node 0 included', () => {
  expect(nodeIdOfCommonName('node-12')).toBe(12);
  expect(nodeIdOfCommonName('node-0')).toBe(0);
  expect(nodeIdOfCommonName('node-2147483647')).toBe(2 ** 31 - 1);
  for (const cn of ['node-00', 'node-012', 'node-', 'Node-1', 'node-1.example', 'node-2147483648', 'node--1'])
    expect(nodeIdOfCommonName(cn)).toBeUndefined();
});

test('node 0 (CN=node-0) and node 1 exchange messages and forward proposals', async () => {
  const addresses = new Map<number, string>();
  const a = await new Node(0, addresses, nodeTls('node-0')).start(addresses);
  const b = await new Node(1, addresses, nodeTls('node-1')).start(addresses);
  expect(await sendUntil(a, b)).toBe(true);
  expect(await sendUntil(b, a)).toBe(true);
  await expect(b.transport.forwardProposal(0, 1, new Uint8Array([1]), 2000)).resolves.toEqual({
    index: 7,
    term: 1,
  });
});

test('nodes of the cluster CA exchange messages, forward proposals and ask Identify', async () => {
  const addresses = new Map<number, string>();
  const a = await new Node(1, addresses, nodeTls('node-1')).start(addresses);
  const b = await new Node(2, addresses, nodeTls('node-2')).start(addresses);
  expect(await sendUntil(a, b)).toBe(true);
  expect(await sendUntil(b, a)).toBe(true);
  await expect(a.transport.forwardProposal(2, 1, new Uint8Array([1]), 2000)).resolves.toEqual({
    index: 7,
    term: 1,
  });
  await expect(a.transport.identify(2, { nodeId: 1, directoryId: 'd' }, 2000)).resolves.toMatchObject({
    clusterId: 'c',
  });
});

test('a self-signed certificate, or none, gets nothing through', async () => {
  const addresses = new Map<number, string>();
  const b = await new Node(2, addresses, nodeTls('node-2')).start(addresses);
  const s = certs.stranger('node-1');
  const stranger = await new Node(1, addresses, {
    cert: fs.readFileSync(s.certFile),
    key: fs.readFileSync(s.keyFile),
    // It trusts the cluster's CA (it may even know it): its own certificate is what is refused.
    ca: Buffer.from(certs.caPem),
    nodeIdOf: nodeIdOfCertificate,
  }).start(addresses);
  expect(await sendUntil(stranger, b)).toBe(false);
  await expect(stranger.transport.forwardProposal(2, 1, new Uint8Array([1]), 1000)).rejects.toThrow();
  await expect(stranger.transport.identify(2, { nodeId: 1, directoryId: 'd' }, 1000)).rejects.toThrow();
  const plaintext = await new Node(3, addresses, undefined).start(addresses);
  expect(await sendUntil(plaintext, b)).toBe(false);
  await expect(plaintext.transport.forwardProposal(2, 1, new Uint8Array([1]), 1000)).rejects.toThrow();
});

test('a CA certificate of another node can neither pose as the node dialled nor speak for another', async () => {
  const addresses = new Map<number, string>();
  const a = await new Node(1, addresses, nodeTls('node-1')).start(addresses);
  // Node 2's address answers with a certificate of node 3: node 1 refuses it.
  const impostor = await new Node(2, addresses, nodeTls('node-3')).start(addresses);
  expect(await sendUntil(a, impostor)).toBe(false);
  await expect(a.transport.identify(2, { nodeId: 1, directoryId: 'd' }, 1000)).rejects.toThrow();
  // A client with node 3's certificate speaking as node 4: its streams and Identify are refused.
  const c = await new Node(5, addresses, nodeTls('node-5')).start(addresses);
  const liar = await new Node(4, addresses, nodeTls('node-3')).start(addresses);
  expect(await sendUntil(liar, c)).toBe(false);
  await expect(liar.transport.identify(5, { nodeId: 4, directoryId: 'd' }, 1000)).rejects.toThrow(
    /PERMISSION_DENIED|node 3 speaking for node 4/,
  );
  // A certificate that names no node may not forward a proposal.
  const nobody = await new Node(6, addresses, nodeTls('app')).start(addresses);
  await expect(nobody.transport.forwardProposal(5, 1, new Uint8Array([1]), 1000)).rejects.toThrow();
});

test('without node identities any certificate of the CA is a node; the server is checked by host name', async () => {
  const addresses = new Map<number, string>();
  const server = (): TransportTls => ({
    cert: fs.readFileSync(certs.serverCertFile),
    key: fs.readFileSync(certs.serverKeyFile),
    ca: Buffer.from(certs.caPem),
  });
  const a = await new Node(1, addresses, server()).start(addresses);
  const b = await new Node(2, addresses, server()).start(addresses);
  expect(await sendUntil(a, b)).toBe(true);
  // A certificate without 127.0.0.1 among its names fails the host-name check when dialled.
  const noName = await new Node(3, addresses, nodeTls('node-3', false)).start(addresses);
  expect(await sendUntil(a, noName)).toBe(false);
  expect(path.isAbsolute(certs.dir)).toBe(true);
});
