// GrpcTransport between real grpc-js servers on loopback.
import net from 'node:net';
import { MessageType, newMessage } from '@chronik/raft';
import type { Message, MessageType as MessageTypeT } from '@chronik/raft';
import { GrpcTransport, messageFromWire, messageToWire } from '../src/index.js';
import type { TransportHandler, TransportLimits } from '../src/index.js';

interface Received {
  groupId: number;
  message: Message;
}

class Node {
  readonly received: Received[] = [];
  readonly unreachable: number[] = [];
  readonly snapshotStatus: { groupId: number; to: number; ok: boolean }[] = [];
  transport: GrpcTransport;
  private waiters: (() => void)[] = [];

  constructor(
    readonly id: number,
    addresses: Map<number, string>,
    limits: Partial<TransportLimits> = {},
    listen = '127.0.0.1:0',
  ) {
    const handler: TransportHandler = {
      onMessage: (groupId, message) => {
        this.received.push({ groupId, message });
        this.wake();
      },
      onPeerUnreachable: (nodeId) => {
        this.unreachable.push(nodeId);
        this.wake();
      },
      onSnapshotStatus: (groupId, to, ok) => {
        this.snapshotStatus.push({ groupId, to, ok });
        this.wake();
      },
      onIdentify: (q) => ({
        clusterId: 'cluster-x',
        askerRegistered: q.nodeId === 2 && q.directoryId === 'dir-of-2',
        metadataApplied: 42,
      }),
      onJoin: (q) =>
        Promise.resolve(
          q.clusterId === 'cluster-x' || q.clusterId === ''
            ? {
                errorCode: '',
                errorMessage: '',
                clusterId: 'cluster-x',
                members: [{ nodeId: id, raftAddress: `self-of-${id}` }],
              }
            : {
                errorCode: 'INCONSISTENT_CLUSTER_ID',
                errorMessage: `not ${q.clusterId}`,
                clusterId: 'cluster-x',
                members: [],
              },
        ),
    };
    this.transport = new GrpcTransport({
      nodeId: id,
      listenAddress: listen,
      peerAddress: (n) => addresses.get(n),
      handler,
      limits: { reconnectBackoffMinMs: 10, reconnectBackoffMaxMs: 50, ...limits },
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  async until(pred: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error('timed out waiting');
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 20);
      });
    }
  }
}

async function cluster(
  n: number,
  limits: Partial<TransportLimits> = {},
): Promise<{ nodes: Node[]; addresses: Map<number, string> }> {
  const addresses = new Map<number, string>();
  const nodes: Node[] = [];
  for (let id = 1; id <= n; id++) {
    const node = new Node(id, addresses, limits);
    const port = await node.transport.start();
    addresses.set(id, `127.0.0.1:${port}`);
    nodes.push(node);
  }
  return { nodes, addresses };
}

function app(from: number, to: number, index: number, data = 'x'): Message {
  return newMessage({
    type: MessageType.MsgApp,
    from,
    to,
    term: 3,
    logTerm: 2,
    index,
    commit: index - 1,
    entries: [{ term: 3, index: index + 1, type: 0, data: Buffer.from(data) }],
  });
}

describe('wire codec', () => {
  const types = Object.values(MessageType) as MessageTypeT[];
  it.each(types)('round-trips %s', (type) => {
    const m = newMessage({
      type,
      from: 1,
      to: 2,
      term: 7,
      logTerm: 6,
      index: 42,
      commit: 40,
      reject: true,
      rejectHint: 39,
      context: Buffer.from('ctx'),
      entries: [{ term: 7, index: 43, type: 1, data: Buffer.from('cc') }],
      snapshot:
        type === MessageType.MsgSnap
          ? {
              metadata: {
                index: 10,
                term: 2,
                confState: {
                  voters: [1, 2, 3],
                  learners: [4],
                  votersOutgoing: [],
                  learnersNext: [],
                  autoLeave: false,
                },
              },
              data: Buffer.from('image'),
            }
          : null,
    });
    const back = messageFromWire(messageToWire(m), m.snapshot?.data);
    expect({
      ...back,
      context: Buffer.from(back.context),
      entries: back.entries.map((e) => ({ ...e, data: Buffer.from(e.data) })),
    }).toEqual({
      ...m,
      context: Buffer.from(m.context),
      entries: m.entries.map((e) => ({ ...e, data: Buffer.from(e.data) })),
      snapshot: m.snapshot ? { ...m.snapshot, data: Buffer.from(m.snapshot.data) } : null,
    });
  });
});

describe('GrpcTransport', () => {
  let nodes: Node[] = [];
  afterEach(async () => {
    await Promise.all(nodes.map((n) => n.transport.close()));
    nodes = [];
  });

  it('delivers messages of many groups in order, with heartbeats in the compact form', async () => {
    ({ nodes } = await cluster(3));
    const [a, b, c] = nodes as [Node, Node, Node];
    for (let i = 1; i <= 200; i++) {
      expect(a.transport.send(i % 7, app(1, 2, i))).toBe(true);
      expect(a.transport.send(i % 5, app(1, 3, i))).toBe(true);
    }
    for (let g = 0; g < 100; g++) {
      a.transport.send(
        g,
        newMessage({ type: MessageType.MsgHeartbeat, from: 1, to: 2, term: 4, commit: g, index: 1000 + g }),
      );
    }
    await b.until(() => b.received.length === 300);
    await c.until(() => c.received.length === 200);
    const apps = b.received.filter((r) => r.message.type === MessageType.MsgApp);
    expect(apps.map((r) => r.message.index)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(apps.every((r) => r.groupId === r.message.index % 7)).toBe(true);
    expect(Buffer.from(apps[5]!.message.entries[0]!.data).toString()).toBe('x');
    const hbs = b.received.filter((r) => r.message.type === MessageType.MsgHeartbeat);
    expect(
      hbs.map((r) => [r.groupId, r.message.commit, r.message.from, r.message.to, r.message.index]),
    ).toEqual(Array.from({ length: 100 }, (_, g) => [g, g, 1, 2, 1000 + g]));
    // Everything queued in one turn of the event loop went out in very few batches.
    const stats = a.transport.stats().find((s) => s.nodeId === 2)!;
    expect(stats.sentBatches).toBeLessThanOrEqual(3);
  });

  it('acknowledges the batches that arrive together with one ack', async () => {
    // 1-byte batches: every message is a batch of its own.
    ({ nodes } = await cluster(2, { maxBatchBytes: 1 }));
    const [a, b] = nodes as [Node, Node];
    for (let i = 1; i <= 300; i++) a.transport.send(1, app(1, 2, i));
    await b.until(() => b.received.length === 300);
    await a.until(() => a.transport.stats().find((s) => s.nodeId === 2)!.ackedBatches === 300);
    const inbound = b.transport.inboundStats();
    expect(inbound.batches).toBe(300);
    expect(inbound.acks).toBeGreaterThan(0);
    expect(inbound.acks).toBeLessThan(300);
    expect(b.received.map((r) => r.message.index)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
  });

  it('keeps the queue to a dead peer bounded and keeps serving the live one', async () => {
    const addresses = new Map<number, string>();
    const a = new Node(1, addresses, { maxQueuedMessages: 50 });
    const b = new Node(2, addresses);
    nodes = [a, b];
    addresses.set(1, `127.0.0.1:${await a.transport.start()}`);
    addresses.set(2, `127.0.0.1:${await b.transport.start()}`);
    // Node 3 has an address where nothing listens.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const deadPort = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    addresses.set(3, `127.0.0.1:${deadPort}`);

    let dropped = 0;
    for (let i = 1; i <= 1000; i++) {
      if (!a.transport.send(1, app(1, 3, i))) dropped++;
    }
    expect(dropped).toBeGreaterThanOrEqual(950);
    // The live peer is served meanwhile, in rounds that each fit its queue.
    for (let round = 0; round < 20; round++) {
      for (let i = 1; i <= 40; i++) expect(a.transport.send(1, app(1, 2, round * 40 + i))).toBe(true);
      await b.until(() => b.received.length === (round + 1) * 40);
    }
    await a.until(() => a.unreachable.includes(3));
    const dead = a.transport.stats().find((s) => s.nodeId === 3)!;
    expect(dead.queuedMessages).toBeLessThanOrEqual(50);
    expect(dead.connected).toBe(false);
  });

  it('reconnects when a peer comes back', async () => {
    const addresses = new Map<number, string>();
    const a = new Node(1, addresses);
    nodes = [a];
    addresses.set(1, `127.0.0.1:${await a.transport.start()}`);
    let b = new Node(2, addresses);
    nodes.push(b);
    const port = await b.transport.start();
    addresses.set(2, `127.0.0.1:${port}`);
    for (let i = 1; i <= 5; i++) a.transport.send(1, app(1, 2, i));
    await b.until(() => b.received.length === 5);
    await a.until(() => a.transport.stats().find((s) => s.nodeId === 2)!.ackedBatches > 0);
    const before = a.transport.stats().find((s) => s.nodeId === 2)!.totalAckedBatches;
    expect(before).toBeGreaterThan(0);
    await b.transport.close();
    nodes = [a];
    await a.until(() => a.unreachable.includes(2));
    b = new Node(2, addresses, {}, `127.0.0.1:${port}`);
    nodes.push(b);
    await b.transport.start();
    // Raft keeps resending; so does this loop until the new incarnation hears one.
    await b.until(() => {
      a.transport.send(1, app(1, 2, 2));
      return b.received.length > 0;
    });
    expect(b.received[0]!.message.from).toBe(1);
    // The new stream counts from zero; the total only grows (liveness checks compare it).
    await a.until(() => a.transport.stats().find((s) => s.nodeId === 2)!.totalAckedBatches > before);
    const after = a.transport.stats().find((s) => s.nodeId === 2)!;
    expect(after.ackedBatches).toBeLessThan(after.totalAckedBatches);
  });

  it('reopens a stream that stops making progress without failing (acks never come back)', async () => {
    const addresses = new Map<number, string>();
    const a = new Node(1, addresses, { maxInflightBatches: 2, stallTimeoutMs: 300 });
    const b = new Node(2, addresses);
    nodes = [a, b];
    addresses.set(1, `127.0.0.1:${await a.transport.start()}`);
    const bPort = await b.transport.start();
    // A proxy in front of B whose first connection forwards A→B but swallows everything B→A: the
    // TCP connection stays up, B hears A, and A never sees an acknowledgement.
    let connections = 0;
    const sockets: net.Socket[] = [];
    const proxy = net.createServer((client) => {
      const first = connections++ === 0;
      const upstream = net.connect(bPort, '127.0.0.1');
      sockets.push(client, upstream);
      client.pipe(upstream);
      if (!first) upstream.pipe(client);
      else upstream.on('data', () => undefined);
      const close = (): void => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close);
      upstream.on('error', close);
      client.on('close', close);
      upstream.on('close', close);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    addresses.set(2, `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`);
    try {
      // Raft keeps sending (heartbeats every tick); so does this loop, until the late messages arrive.
      let index = 0;
      await b.until(() => {
        a.transport.send(1, app(1, 2, ++index));
        return a.transport.stats()[0]!.stalls > 0 && b.received.some((r) => r.message.index > index - 5);
      });
      expect(connections).toBeGreaterThanOrEqual(2);
      expect(a.unreachable).toContain(2);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });

  it('sends a snapshot in checksummed chunks and reports the outcome', async () => {
    ({ nodes } = await cluster(2, { snapshotChunkBytes: 64 * 1024 }));
    const [a, b] = nodes as [Node, Node];
    const image = Buffer.alloc(1_000_003);
    for (let i = 0; i < image.length; i++) image[i] = (i * 31) & 0xff;
    const snap = newMessage({
      type: MessageType.MsgSnap,
      from: 1,
      to: 2,
      term: 5,
      snapshot: {
        metadata: {
          index: 100,
          term: 4,
          confState: { voters: [1, 2], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false },
        },
        data: image,
      },
    });
    expect(a.transport.send(9, snap)).toBe(true);
    await a.until(() => a.snapshotStatus.length === 1);
    expect(a.snapshotStatus[0]).toEqual({ groupId: 9, to: 2, ok: true });
    const got = b.received.find((r) => r.message.type === MessageType.MsgSnap)!;
    expect(got.groupId).toBe(9);
    expect(got.message.snapshot!.metadata.index).toBe(100);
    expect(Buffer.from(got.message.snapshot!.data).equals(image)).toBe(true);
  });

  it('answers Identify with what the handler knows of the asker; a dead peer is Unreachable', async () => {
    ({ nodes } = await cluster(2));
    const [a, b] = nodes as [Node, Node];
    expect(await b.transport.identify(1, { nodeId: 2, directoryId: 'dir-of-2' }, 2000)).toEqual({
      clusterId: 'cluster-x',
      askerRegistered: true,
      metadataApplied: 42,
    });
    expect((await b.transport.identify(1, { nodeId: 3, directoryId: 'new' }, 2000)).askerRegistered).toBe(
      false,
    );
    await a.transport.close();
    await expect(b.transport.identify(1, { nodeId: 2, directoryId: 'x' }, 500)).rejects.toMatchObject({
      code: 'Unreachable',
    });
  });

  it('answers Join at an address (the asker knows no id yet): admitted with the members, or refused', async () => {
    let addresses: Map<number, string>;
    ({ nodes, addresses } = await cluster(2));
    const [, b] = nodes as [Node, Node];
    const at = addresses.get(1) as string;
    expect(
      await b.transport.join(at, { nodeId: 7, raftAddress: 'x:1', clusterId: '', directoryId: 'd' }, 2000),
    ).toEqual({
      errorCode: '',
      errorMessage: '',
      clusterId: 'cluster-x',
      members: [{ nodeId: 1, raftAddress: 'self-of-1' }],
    });
    expect(
      await b.transport.join(
        at,
        { nodeId: 7, raftAddress: 'x:1', clusterId: 'other', directoryId: 'd' },
        2000,
      ),
    ).toMatchObject({ errorCode: 'INCONSISTENT_CLUSTER_ID', errorMessage: 'not other' });
    await expect(
      b.transport.join(
        '127.0.0.1:1',
        { nodeId: 7, raftAddress: 'x:1', clusterId: '', directoryId: 'd' },
        500,
      ),
    ).rejects.toMatchObject({ code: 'Unreachable' });
  });

  it('survives garbage on its port and keeps serving', async () => {
    ({ nodes } = await cluster(2));
    const [a, b] = nodes as [Node, Node];
    const port = b.transport.port;
    for (const junk of [
      Buffer.from('GET / HTTP/1.1\r\n\r\n'),
      Buffer.alloc(4096, 0xff),
      Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x04garbage'),
    ]) {
      await new Promise<void>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => s.end(junk));
        s.on('error', () => resolve());
        s.on('close', () => resolve());
        s.resume();
      });
    }
    a.transport.send(1, app(1, 2, 1));
    await b.until(() => b.received.length === 1);
  });
});
