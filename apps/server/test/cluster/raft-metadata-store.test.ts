// RaftMetadataStore on RaftHosts over simulated disks: a commit forwarded to the metadata leader
// that committed but whose answer was lost is retried and answered with its first outcome (not
// TOPIC_ALREADY_EXISTS, not a second producer-id block); a metadata group that stops (its Raft
// core broke an invariant) stops this node's metadata and the broker.
import { EntryType, MessageType, newMessage, seededRng } from '@chronik/raft';
import { MemoryNetwork, RaftHost } from '@chronik/raft-host';
import type { MemoryTransport } from '@chronik/raft-host';
import type { MetadataCommand } from '@chronik/metadata';
import { MemFileSystem } from '@chronik/wal';
import { METADATA_GROUP_ID } from '../../src/cluster/group-ids.js';
import { RaftMetadataStore } from '../../src/cluster/raft-metadata-store.js';
import type { Random } from '@chronik/env';
import { silentLogger } from '../../src/logger.js';

jest.setTimeout(30_000);

/** Seeded randomness (the server's Random seam). */
function seededRandom(seed: number): Random {
  const rng = seededRng(seed);
  const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(rng() * 256)));
  return {
    bytes,
    uuid: () => {
      const h = bytes(16).toString('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
    },
  };
}

async function until(what: string, pred: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a metadata group that stops (an invariant of the Raft core broken) stops the broker; commits are refused', async () => {
  const fs = new MemFileSystem();
  await fs.mkdir('/raft');
  const host = new RaftHost({ nodeId: 1, dataDir: '/raft', fs, tickMs: 10, electionTicks: 5 });
  const fatal: Error[] = [];
  try {
    const store = await RaftMetadataStore.open({
      host,
      voters: [1],
      bootstrap: true,
      timeoutMs: 5000,
      random: seededRandom(1),
      logger: silentLogger,
      fatal: (e) => fatal.push(e),
    });
    host.start();
    host.campaign(METADATA_GROUP_ID);
    expect((await store.commit({ type: 'initCluster', clusterId: 'c1' })).ok).toBe(true);
    const st = host.status(METADATA_GROUP_ID);
    // A newer leader's append carrying another entry for an index committed here.
    host.receive(
      METADATA_GROUP_ID,
      newMessage({
        type: MessageType.MsgApp,
        to: 1,
        from: 2,
        term: st.term + 1,
        index: st.lastIndex,
        logTerm: st.term,
        entries: [{ index: 2, term: st.term + 1, type: EntryType.Normal, data: new Uint8Array(0) }],
        commit: st.lastIndex,
      }),
    );
    await until('the broker told to stop', () => fatal.length > 0);
    expect(fatal[0]).toMatchObject({ code: 'InvariantViolated' });
    expect(store.leaderId()).toBe(-1);
    await expect(store.commit({ type: 'initCluster', clusterId: 'c1' })).rejects.toMatchObject({
      code: 'KAFKA_STORAGE_ERROR',
    });
  } finally {
    await host.close();
  }
});

interface Node {
  id: number;
  host: RaftHost;
  transport: MemoryTransport;
  store: RaftMetadataStore;
}

/** Three nodes of the metadata group on one MemoryNetwork, each on its own simulated disk. */
async function cluster(net: MemoryNetwork): Promise<Node[]> {
  return Promise.all(
    [1, 2, 3].map(async (id) => {
      const fs = new MemFileSystem();
      await fs.mkdir('/raft');
      const host = new RaftHost({ nodeId: id, dataDir: '/raft', fs, tickMs: 10, electionTicks: 20 });
      const transport = net.transport(id, {
        onMessage: (g, m) => host.receive(g, m),
        onPropose: (g, data, timeoutMs) => host.propose(g, data, timeoutMs),
      });
      host.setTransport(transport);
      await transport.start();
      const store = await RaftMetadataStore.open({
        host,
        voters: [1, 2, 3],
        bootstrap: true,
        timeoutMs: 5000,
        random: seededRandom(id),
        logger: silentLogger,
        fatal: (e) => {
          throw e;
        },
      });
      host.start();
      return { id, host, transport, store };
    }),
  );
}

test('a forwarded commit whose answer was lost after it committed is retried and answered with its first outcome', async () => {
  const net = new MemoryNetwork();
  const nodes = await cluster(net);
  try {
    const leaderOf = (n: Node | undefined): number => n?.store.leaderId() ?? -1;
    await until('a metadata leader every node knows', () =>
      nodes.every((n) => leaderOf(n) > 0 && leaderOf(n) === leaderOf(nodes[0])),
    );
    const leaderId = leaderOf(nodes[0]);
    const follower = nodes.find((n) => n.id !== leaderId) as Node;
    for (const id of [1, 2, 3]) {
      const r = await follower.store.commit({
        type: 'registerBroker',
        brokerId: id,
        host: `h${id}`,
        port: 9092,
        rack: null,
        raftAddress: `h${id}:9192`,
        incarnation: `i${id}`,
      });
      expect(r.ok).toBe(true);
    }

    // CreateTopics: the forward commits on the leader, its answer is lost, proposeOrForward sends
    // the same entry again. The retry is answered with the first outcome, not TOPIC_ALREADY_EXISTS.
    const create: MetadataCommand = {
      type: 'createTopic',
      name: 'orders',
      topicId: '5a000000-0000-4000-8000-000000000001',
      assignments: [[1, 2, 3]],
      configs: [],
      internal: false,
    };
    net.loseForwardAnswers(leaderId);
    const created = await follower.store.commit(create);
    expect(created).toMatchObject({ ok: true, command: create });
    expect(created.retryOf).toBeLessThan(created.index);
    await until('every node applied the retry', () =>
      nodes.every((n) => n.store.state.appliedIndex >= created.index),
    );
    for (const n of nodes) expect(n.store.state.topic('orders')?.topicId).toBe(create.topicId);

    // InitProducerId's block: one block, the first one, not a second.
    net.loseForwardAnswers(leaderId);
    const before = follower.store.state.nextProducerId();
    const alloc = await follower.store.commit({
      type: 'allocateProducerIds',
      brokerId: follower.id,
      brokerEpoch: -1,
      count: 1000,
    });
    expect(alloc.ok && alloc.retryOf !== undefined).toBe(true);
    expect(alloc.ok ? alloc.changes : []).toEqual([
      {
        type: 'producerIdsAllocated',
        index: alloc.retryOf,
        block: { brokerId: follower.id, firstProducerId: before, count: 1000 },
      },
    ]);
    expect(follower.store.state.nextProducerId()).toBe(before + 1000);

    // A new commit of the same command is a new request: rejected as Kafka does.
    expect(await follower.store.commit(create)).toMatchObject({
      ok: false,
      error: { code: 'TOPIC_ALREADY_EXISTS' },
    });
  } finally {
    for (const n of nodes) {
      await n.host.close();
      await n.transport.close();
    }
  }
});
