// A new partition group's first election goes to its preferred replica (the first in the
// assignment) even when the other replicas open the group later than it does — as they do when
// they apply the metadata change later, or open thousands of groups at once. The preferred replica
// campaigns 300 ms after opening; its peers, not open yet, drop that vote request. With one try,
// whichever replica's election timer fired first took the leadership (about a third of a new
// topic's leaders landed off the preferred replica); the preferred replica now tries again while
// no leader is known. Here the peers open 450 ms after it and their election timeout (0.5-1 s) is
// far shorter than its own (3-6 s), so without the retries a peer always wins.
import { MemoryNetwork, NO_NODE, RaftHost } from '@chronik/raft-host';
import { MemFileSystem } from '@chronik/wal';
import type { PartitionGroups } from '../../src/cluster/partition-groups.js';
import type { ManagedPartition, PartitionEvents } from '../../src/partition/types.js';
import { LOG_CONFIG, TOPIC_ID, partitionGroupsOn } from '../partition/harness.js';

const events: PartitionEvents = {
  leaderReady: () => undefined,
  leaderLost: () => undefined,
  failed: () => undefined,
  damaged: () => undefined,
};

const REPLICAS = [1, 2, 3];

interface Node {
  host: RaftHost;
  groups: PartitionGroups;
}

async function node(net: MemoryNetwork, id: number, electionTicks: number): Promise<Node> {
  const fs = new MemFileSystem();
  await fs.mkdir('/raft');
  const host = new RaftHost({ nodeId: id, dataDir: '/raft', fs, tickMs: 100, electionTicks });
  const transport = net.transport(id, {
    onMessage: (g, m) => host.receive(g, m),
    onPropose: (g, data, timeoutMs) => host.propose(g, data, timeoutMs),
  });
  host.setTransport(transport);
  await transport.start();
  host.start();
  const groups = await partitionGroupsOn(host, fs, id, { electionTicks });
  return { host, groups };
}

function open(n: Node): Promise<ManagedPartition> {
  const p = n.groups.create(
    {
      topic: 't',
      topicId: TOPIC_ID,
      internal: false,
      partition: 0,
      replicas: REPLICAS,
      isr: REPLICAS,
      leaderEpoch: -1,
      config: LOG_CONFIG,
    },
    events,
  );
  return p.open().then(() => p);
}

test('the preferred replica wins the first election although its peers open the group later', async () => {
  const net = new MemoryNetwork();
  const nodes = [await node(net, 1, 30), await node(net, 2, 5), await node(net, 3, 5)];
  const [preferred, ...peers] = nodes as [Node, Node, Node];
  const partitions: ManagedPartition[] = [await open(preferred)];
  await new Promise((r) => setTimeout(r, 450));
  for (const p of await Promise.all(peers.map(open))) partitions.push(p);
  const gid = preferred.host.groupIds()[0]!;
  const deadline = Date.now() + 5000;
  while (nodes.some((n) => n.host.status(gid).leaderId === NO_NODE) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  try {
    expect(nodes.map((n) => n.host.status(gid).leaderId)).toEqual([1, 1, 1]);
  } finally {
    for (const p of partitions) await p.close();
    for (const n of nodes) await n.host.close();
  }
});
