// A new partition group whose first open fails on a disk error (found by tools/sim, seed 131 of the
// topic-churn sweep): the manifest claim was made durable before the group's folder, the open
// failed, and every later open — a retry, or the node restarted — took the replica for one that
// lost its log (REPLICA_STATE_LOST) and kept it out for good. A group that failed to open never ran
// on this node (RaftHost.openGroup registers it after its last await): it voted and acknowledged
// nothing, so its claim goes again and the next open starts it fresh.
import { RaftHost } from '@chronik/raft-host';
import { MemFileSystem } from '@chronik/wal';
import { GroupManifest } from '../../src/cluster/group-manifest.js';
import { partitionGroupId } from '../../src/cluster/group-ids.js';
import type { PartitionEvents } from '../../src/partition/types.js';
import { LOG_CONFIG, TOPIC_ID, partitionGroupsOn } from '../partition/harness.js';

const events: PartitionEvents = {
  leaderReady: () => undefined,
  leaderLost: () => undefined,
  failed: () => undefined,
  damaged: () => undefined,
};

test('a new group whose open failed on EIO opens on the next try, not REPLICA_STATE_LOST', async () => {
  const fs = new MemFileSystem();
  await fs.mkdir('/raft');
  const host = new RaftHost({ nodeId: 1, dataDir: '/raft', env: { fs }, tickMs: 10, electionTicks: 5 });
  const manifest = await GroupManifest.open(fs, '/raft');
  const groups = await partitionGroupsOn(host, fs, 1, { manifest });
  const spec = {
    topic: 't',
    topicId: TOPIC_ID,
    internal: false,
    partition: 0,
    replicas: [1],
    isr: [1],
    leaderEpoch: -1,
    config: LOG_CONFIG,
  };
  const first = groups.create(spec, events);
  fs.failNext('datasync', 1, 'EIO');
  await expect(first.open()).rejects.toThrow(/EIO/);
  await first.close().catch(() => undefined);
  expect(manifest.has(partitionGroupId(TOPIC_ID, 0))).toBe(false);

  const second = groups.create(spec, events);
  await expect(second.open()).resolves.toBeUndefined();
  expect(manifest.has(partitionGroupId(TOPIC_ID, 0))).toBe(true);
  await second.close();
  await host.close();
});
