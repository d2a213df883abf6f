// MemoryNetwork: three hosts on simulated disks joined in memory, with GrpcTransport's surface —
// proposals forwarded from a follower apply on every node, a node cut off neither sends nor
// receives (and catches up once back), and per-peer delivery counts only grow.
import { MessageType, newMessage } from '@chronik/raft';
import { MemFileSystem } from '@chronik/wal';
import { MemoryNetwork, RaftHost } from '../src/index.js';
import type { MemoryTransport } from '../src/index.js';
import { KvStateMachine } from './kv.js';
import { until } from './mem-net.js';

jest.setTimeout(20_000);

interface Node {
  host: RaftHost;
  kv: KvStateMachine;
  transport: MemoryTransport;
}

async function cluster(net: MemoryNetwork, electionTicks = 5): Promise<Node[]> {
  return Promise.all(
    [1, 2, 3].map(async (id) => {
      const fs = new MemFileSystem();
      await fs.mkdir('/raft');
      const host = new RaftHost({ nodeId: id, dataDir: '/raft', fs, tickMs: 10, electionTicks });
      const transport = net.transport(id, {
        onMessage: (g, m) => host.receive(g, m),
        onPropose: (g, data, timeoutMs) => host.propose(g, data, timeoutMs),
      });
      host.setTransport(transport);
      await transport.start();
      const kv = new KvStateMachine();
      await host.openGroup({ groupId: 7, stateMachine: kv, bootstrapVoters: [1, 2, 3] });
      host.start();
      return { host, kv, transport };
    }),
  );
}

test('forwarded proposals, a node cut off and back, monotonic delivery counts', async () => {
  const net = new MemoryNetwork();
  const nodes = await cluster(net);
  try {
    // Every node knows the same leader (node 0 alone may not know one yet).
    await until(() => {
      const ids = nodes.map((n) => n.host.status(7).leaderId);
      return ids[0]! >= 0 && ids.every((id) => id === ids[0]);
    });
    const leaderId = (nodes[0] as Node).host.status(7).leaderId;
    const follower = nodes.find((n) => n.host.nodeId !== leaderId) as Node;
    await follower.host.proposeOrForward(7, Buffer.from('a=1'), 5000);
    await until(() => nodes.every((n) => n.kv.data.get('a') === '1'));
    const before = follower.transport.stats().find((s) => s.nodeId === leaderId)?.totalAckedBatches ?? 0;
    expect(before).toBeGreaterThan(0);

    net.down.add(follower.host.nodeId);
    await expect(
      follower.transport.forwardProposal(leaderId, 7, Buffer.from('x=1'), 1000),
    ).rejects.toMatchObject({
      code: 'Unreachable',
    });
    const leader = nodes.find((n) => n.host.nodeId === leaderId) as Node;
    await leader.host.propose(7, Buffer.from('b=2'), 5000);
    await new Promise((r) => setTimeout(r, 100));
    expect(follower.kv.data.has('b')).toBe(false);
    net.down.delete(follower.host.nodeId);
    await until(() => follower.kv.data.get('b') === '2');
    const after = follower.transport.stats().find((s) => s.nodeId === leaderId)?.totalAckedBatches ?? 0;
    expect(after).toBeGreaterThan(before);
  } finally {
    for (const n of nodes) {
      await n.host.close();
      await n.transport.close();
    }
  }
});

test('a node id joins the network once; a closed transport sends nothing', async () => {
  const net = new MemoryNetwork();
  const a = net.transport(1, { onMessage: () => undefined });
  await a.start();
  await expect(net.transport(1, { onMessage: () => undefined }).start()).rejects.toMatchObject({
    code: 'InvalidArgument',
  });
  await a.close();
  expect(a.send(1, { to: 2 } as never)).toBe(false);
});

test('Join is asked by address: answered by the node there, Unreachable when it is down or unknown', async () => {
  const net = new MemoryNetwork();
  const member = net.transport(
    1,
    {
      onMessage: () => undefined,
      onJoin: (q) =>
        Promise.resolve({
          errorCode: '',
          errorMessage: '',
          clusterId: 'c',
          members: [{ nodeId: 1, raftAddress: `seen-${q.nodeId}` }],
        }),
    },
    'mem:1',
  );
  const joiner = net.transport(4, { onMessage: () => undefined }, 'mem:4');
  await member.start();
  await joiner.start();
  const q = { nodeId: 4, raftAddress: 'mem:4', clusterId: '', directoryId: 'd' };
  expect(await joiner.join('mem:1', q, 1000)).toMatchObject({
    clusterId: 'c',
    members: [{ nodeId: 1, raftAddress: 'seen-4' }],
  });
  await expect(joiner.join('mem:9', q, 1000)).rejects.toMatchObject({ code: 'Unreachable' });
  net.down.add(1);
  await expect(joiner.join('mem:1', q, 1000)).rejects.toMatchObject({ code: 'Unreachable' });
  expect(await member.join('mem:4', q, 1000).catch(() => undefined)).toBeUndefined();
  net.down.delete(1);
  expect((await member.join('mem:4', q, 1000)).errorCode).toBe('INVALID_REQUEST');
  await member.close();
  await joiner.close();
});

test('a proposal forwarded while the leader is cut off waits for the next leader instead of failing', async () => {
  const net = new MemoryNetwork();
  // An election takes 200-400 ms here, far more than a few ticks of retries.
  const nodes = await cluster(net, 20);
  try {
    await until(() => nodes.some((n) => n.host.status(7).leaderId >= 0));
    const leaderId = (nodes[0] as Node).host.status(7).leaderId;
    const follower = nodes.find((n) => n.host.nodeId !== leaderId) as Node;
    net.down.add(leaderId);
    const started = Date.now();
    await follower.host.proposeOrForward(7, Buffer.from('c=3'), 5000);
    expect(Date.now() - started).toBeGreaterThan(100);
    await until(() =>
      nodes.filter((n) => n.host.nodeId !== leaderId).every((n) => n.kv.data.get('c') === '3'),
    );
  } finally {
    for (const n of nodes) {
      await n.host.close();
      await n.transport.close();
    }
  }
});

test('a forwarded proposal whose answer is lost after it committed is retried: a state machine without request ids applies it twice', async () => {
  const net = new MemoryNetwork();
  const nodes = await cluster(net);
  try {
    await until(() => nodes.some((n) => n.host.status(7).leaderId >= 0));
    const leaderId = (nodes[0] as Node).host.status(7).leaderId;
    const follower = nodes.find((n) => n.host.nodeId !== leaderId) as Node;
    net.loseForwardAnswers(leaderId);
    // The first forward commits on the leader but its answer is lost (Unreachable); proposeOrForward
    // cannot tell and proposes the same bytes again, which the KV applies as a new entry.
    const out = await follower.host.proposeOrForward(7, Buffer.from('n=1'), 5000);
    await until(() => nodes.every((n) => n.kv.log.filter((l) => l === 'n=1').length === 2));
    expect(out.result).toBe(follower.kv.log.length);
    // Only the next answer was lost.
    await follower.host.proposeOrForward(7, Buffer.from('m=1'), 5000);
    await until(() => nodes.every((n) => n.kv.log.filter((l) => l === 'm=1').length === 1));
    expect(() => net.loseForwardAnswers(leaderId, -1)).toThrow(/non-negative/);
  } finally {
    for (const n of nodes) {
      await n.host.close();
      await n.transport.close();
    }
  }
});

test('deliver is told the link, and a link that connected() reports cut carries nothing', async () => {
  const cut = new Set<string>();
  const links: string[] = [];
  const queued: Array<() => void> = [];
  const net = new MemoryNetwork({
    deliver: (fn, from, to) => {
      links.push(`${from}>${to}`);
      queued.push(fn);
    },
    connected: (from, to) => !cut.has(`${from}>${to}`),
  });
  const got: number[] = [];
  const t1 = net.transport(1, {
    onMessage: () => got.push(1),
    onPropose: () => Promise.resolve({ index: 1, term: 1 }),
  });
  const t2 = net.transport(2, {
    onMessage: () => got.push(2),
    onPropose: () => Promise.resolve({ index: 1, term: 1 }),
  });
  await t1.start();
  await t2.start();
  const msg = (to: number) => ({ to }) as unknown as Parameters<typeof t1.send>[1];
  expect(t1.send(5, msg(2))).toBe(true);
  expect(links).toEqual(['1>2']);
  // Cut after the send: the queued delivery is lost too; the other direction still works.
  cut.add('1>2');
  queued.shift()?.();
  expect(got).toEqual([]);
  expect(t1.send(5, msg(2))).toBe(false);
  await expect(t1.forwardProposal(2, 5, new Uint8Array(1), 1000)).rejects.toMatchObject({
    code: 'Unreachable',
  });
  expect(t2.send(5, msg(1))).toBe(true);
  queued.shift()?.();
  expect(got).toEqual([1]);
  await expect(t2.forwardProposal(1, 5, new Uint8Array(1), 1000)).resolves.toEqual({ index: 1, term: 1 });
  await t1.close();
  await t2.close();
});

test("a snapshot's outcome goes back to its sender: ok once delivered, failed when the delivery is lost", async () => {
  // The first delivery is lost (as a simulation drops it); the second arrives.
  let deliveries = 0;
  const net = new MemoryNetwork({
    deliver: (fn, _from, _to, lost) => {
      if (deliveries++ === 0) setImmediate(() => lost?.());
      else setImmediate(fn);
    },
  });
  const statuses: Array<[number, number, boolean]> = [];
  const received: MessageType[] = [];
  const a = net.transport(1, {
    onMessage: () => undefined,
    onSnapshotStatus: (g, to, ok) => statuses.push([g, to, ok]),
  });
  const b = net.transport(2, { onMessage: (_g, m) => received.push(m.type) });
  await a.start();
  await b.start();
  const snap = newMessage({ type: MessageType.MsgSnap, from: 1, to: 2, term: 1 });
  expect(a.send(7, snap)).toBe(true);
  expect(a.send(7, snap)).toBe(true);
  await until(() => statuses.length === 2);
  expect(statuses).toEqual([
    [7, 2, false],
    [7, 2, true],
  ]);
  expect(received).toEqual([MessageType.MsgSnap]);
  // Other messages report nothing.
  expect(a.send(7, newMessage({ type: MessageType.MsgApp, from: 1, to: 2, term: 1 }))).toBe(true);
  await until(() => received.length === 2);
  expect(statuses).toHaveLength(2);
  await a.close();
  await b.close();
});
