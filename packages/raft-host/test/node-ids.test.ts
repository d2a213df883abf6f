// Node ids and Raft ids (docs/design/node-ids.md): the mapping, and a group of nodes 0, 1 and 2 —
// Kafka's usual broker ids — whose callers, state machines and transport only ever see node ids,
// while the cores run node 0 under RAFT_ID_OF_NODE_ZERO and what nodes 1…N write stays as it was.
import { ConfChangeType, StateType } from '@chronik/raft';
import type { ConfState, Message, SnapshotMetadata } from '@chronik/raft';
import { MemFileSystem } from '@chronik/wal';
import {
  MemoryNetwork,
  NO_NODE,
  RAFT_ID_OF_NODE_ZERO,
  RaftHost,
  RaftLogStorage,
  isNodeId,
  nodeIdOfRaft,
  raftIdOf,
} from '../src/index.js';
import type { MemoryTransport } from '../src/index.js';
import { KvStateMachine } from './kv.js';
import { until } from './mem-net.js';

jest.setTimeout(20_000);

const GROUP = 7;

test('node 0 maps to the reserved Raft id, every other node id to itself, "no node" to Raft 0', () => {
  expect(raftIdOf(0)).toBe(RAFT_ID_OF_NODE_ZERO);
  expect(RAFT_ID_OF_NODE_ZERO).toBe(2 ** 31);
  expect(nodeIdOfRaft(RAFT_ID_OF_NODE_ZERO)).toBe(0);
  expect(raftIdOf(NO_NODE)).toBe(0);
  expect(nodeIdOfRaft(0)).toBe(NO_NODE);
  for (const id of [1, 2, 3, 1000, 2 ** 31 - 1]) {
    expect(raftIdOf(id)).toBe(id);
    expect(nodeIdOfRaft(id)).toBe(id);
  }
  expect(isNodeId(0)).toBe(true);
  expect(isNodeId(2 ** 31 - 1)).toBe(true);
  expect([-1, 2 ** 31, 1.5, NaN].some(isNodeId)).toBe(false);
  expect(() => new RaftHost({ nodeId: -1, dataDir: '/x', fs: new MemFileSystem() })).toThrow(
    /node id must be an integer from 0 to 2\^31 - 1/,
  );
});

/** A KV state machine that records what the host tells it, in node ids. */
class RecordingKv extends KvStateMachine {
  leaders: number[] = [];
  confStates: ConfState[] = [];
  restoredVoters: (readonly number[])[] = [];
  onRoleChange(_role: StateType, leaderId: number): void {
    this.leaders.push(leaderId);
  }
  onConfChange(cs: ConfState): void {
    this.confStates.push(cs);
  }
  override restore(bytes: Uint8Array, metadata: SnapshotMetadata): void {
    this.restoredVoters.push(metadata.confState.voters);
    super.restore(bytes, metadata);
  }
}

interface Node {
  id: number;
  fs: MemFileSystem;
  host: RaftHost;
  kv: RecordingKv;
  transport: MemoryTransport;
}

/** The ends of every message a transport was handed, to check they are node ids. */
const seenEnds = new Set<number>();

async function startNode(net: MemoryNetwork, id: number, fs = new MemFileSystem()): Promise<Node> {
  await fs.mkdir('/raft');
  const host = new RaftHost({ nodeId: id, dataDir: '/raft', fs, tickMs: 10, electionTicks: 5 });
  const inner = net.transport(id, {
    onMessage: (g, m) => host.receive(g, m),
    onPropose: (g, data, timeoutMs) => host.propose(g, data, timeoutMs),
  });
  host.setTransport({
    send: (g: number, m: Message) => {
      seenEnds.add(m.from).add(m.to);
      return inner.send(g, m);
    },
    forwardProposal: (to, g, data, timeoutMs) => inner.forwardProposal(to, g, data, timeoutMs),
  });
  await inner.start();
  const kv = new RecordingKv();
  await host.openGroup({
    groupId: GROUP,
    stateMachine: kv,
    bootstrapVoters: [0, 1, 2],
    snapshotEveryEntries: 4,
    keepEntriesAfterSnapshot: 1,
  });
  host.start();
  return { id, fs, host, kv, transport: inner };
}

async function stop(n: Node): Promise<void> {
  await n.host.close();
  await n.transport.close();
}

test('a group of nodes 0, 1, 2: node 0 leads, is named by its id everywhere, and leaves and restarts', async () => {
  const net = new MemoryNetwork();
  let nodes = await Promise.all([0, 1, 2].map((id) => startNode(net, id)));
  try {
    const agreed = (): number | undefined => {
      const ids = nodes.map((n) => n.host.status(GROUP).leaderId);
      return ids[0]! >= 0 && ids.every((id) => id === ids[0]) ? ids[0] : undefined;
    };
    await until(() => agreed() !== undefined);
    const first = agreed()!;
    if (first !== 0) {
      nodes.find((n) => n.id === first)!.host.transferLeadership(GROUP, 0);
      await until(() => agreed() === 0);
    }
    const leader = nodes[0]!;
    const st = leader.host.status(GROUP);
    expect(st.role).toBe(StateType.Leader);
    expect(st.voters).toEqual([0, 1, 2]);
    expect(st.progress.map((p) => p.nodeId).sort()).toEqual([0, 1, 2]);
    // The state machines hear of it in the next cycle (the status reads the core at once).
    await until(() => nodes.every((n) => n.kv.leaders.at(-1) === 0));
    for (const n of nodes) expect(n.kv.leaders).not.toContain(RAFT_ID_OF_NODE_ZERO);
    expect(nodes[1]!.host.status(GROUP).vote).toBeGreaterThanOrEqual(0);

    // A follower forwards to leader 0; its NotLeader error names node 0.
    const follower = nodes[1]!;
    const refused = await follower.host.propose(GROUP, Buffer.from('x=0')).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'NotLeader', leaderId: 0 });
    expect((refused as Error).message).not.toContain(String(RAFT_ID_OF_NODE_ZERO));
    await follower.host.proposeOrForward(GROUP, Buffer.from('a=1'), 5000);
    for (let i = 0; i < 6; i++) await leader.host.propose(GROUP, Buffer.from(`k${i}=${i}`));
    await until(() => nodes.every((n) => n.kv.data.get('k5') === '5'));
    // The transport saw node ids only: 0, never the Raft id it runs under.
    expect([...seenEnds].sort()).toEqual([0, 1, 2]);

    // Leadership moves away from node 0 and back, by node ids.
    leader.host.transferLeadership(GROUP, 2);
    await until(() => agreed() === 2);
    nodes[2]!.host.transferLeadership(GROUP, 0);
    await until(() => agreed() === 0);

    // Restart every node from its disk: the stored membership (snapshots included) reads as 0, 1, 2.
    const disks = nodes.map((n) => n.fs);
    await Promise.all(nodes.map(stop));
    nodes = await Promise.all([0, 1, 2].map((id, i) => startNode(net, id, disks[i])));
    for (const n of nodes) {
      expect(n.kv.restoredVoters).toEqual([[0, 1, 2]]);
      expect(n.host.status(GROUP).voters).toEqual([0, 1, 2]);
    }
    await until(() => agreed() !== undefined);
    await until(() => nodes.every((n) => n.kv.data.get('k5') === '5'));

    // Node 0 leaves the group by a membership change that names it 0.
    const now = nodes.find((n) => n.id === agreed())!;
    const target = now.id === 0 ? nodes[1]! : now;
    if (now.id === 0) {
      now.host.transferLeadership(GROUP, 1);
      await until(() => agreed() === 1);
    }
    await target.host.proposeConfChange(GROUP, {
      type: ConfChangeType.RemoveNode,
      nodeId: 0,
      context: new Uint8Array(),
    });
    await until(() => nodes.slice(1).every((n) => n.host.status(GROUP).voters.join() === '1,2'));
    expect(target.kv.confStates.at(-1)?.voters).toEqual([1, 2]);
  } finally {
    await Promise.all(nodes.map(stop));
  }
});

test('what a group of nodes 1, 2, 3 stores names them 1, 2, 3, as before node 0 was accepted', async () => {
  const fs = new MemFileSystem();
  await fs.mkdir('/raft');
  const host = new RaftHost({ nodeId: 1, dataDir: '/raft', fs, tickMs: 10 });
  await host.openGroup({ groupId: GROUP, stateMachine: new KvStateMachine(), bootstrapVoters: [1, 2, 3] });
  await host.close();
  const storage = await RaftLogStorage.open({ dir: `/raft/group-${GROUP}`, fs });
  expect(storage.initialState().confState.voters).toEqual([1, 2, 3]);
  await storage.close();

  // And node 0's membership is stored under its Raft id.
  const fs0 = new MemFileSystem();
  await fs0.mkdir('/raft');
  const host0 = new RaftHost({ nodeId: 0, dataDir: '/raft', fs: fs0, tickMs: 10 });
  await host0.openGroup({ groupId: GROUP, stateMachine: new KvStateMachine(), bootstrapVoters: [0, 1, 2] });
  await host0.close();
  const storage0 = await RaftLogStorage.open({ dir: `/raft/group-${GROUP}`, fs: fs0 });
  expect([...storage0.initialState().confState.voters].sort((a, b) => a - b)).toEqual([
    1,
    2,
    RAFT_ID_OF_NODE_ZERO,
  ]);
  await storage0.close();
});
