// Opening a replica to rebuild it (replica-repair.ts): the damaged copy goes, a mark names the
// request the new folder belongs to, a restart during the rebuild keeps what was received, and a
// rebuild whose folder was lost since is refused — found by tools/sim (seed 131 with the damage
// fault): the leader still counted what the lost folder had acknowledged (its match index), sent a
// heartbeat committing entries the empty log never had, and the replica stopped for good.
import path from 'node:path';
import { RaftHost } from '@chronik/raft-host';
import { MemFileSystem } from '@chronik/wal';
import { partitionGroupId } from '../../src/cluster/group-ids.js';
import type { PartitionGroups } from '../../src/cluster/partition-groups.js';
import type { PartitionEvents } from '../../src/partition/types.js';
import type { PartitionSpec } from '../../src/services/partition-manager.js';
import { LOG_CONFIG, TOPIC_ID, partitionGroupsOn } from '../partition/harness.js';

const events: PartitionEvents = {
  leaderReady: () => undefined,
  leaderLost: () => undefined,
  failed: () => undefined,
  damaged: () => undefined,
};

const GID = partitionGroupId(TOPIC_ID, 0);
const FOLDER = `group-${GID}`;

async function setup(fs: MemFileSystem): Promise<{ host: RaftHost; groups: PartitionGroups }> {
  const host = new RaftHost({ nodeId: 2, dataDir: '/raft', env: { fs }, tickMs: 10, electionTicks: 5 });
  const groups = await partitionGroupsOn(host, fs, 2);
  return { host, groups };
}

function spec(rebuild?: number): PartitionSpec {
  return {
    topic: 't',
    topicId: TOPIC_ID,
    internal: false,
    partition: 0,
    replicas: [1, 2, 3],
    isr: [1, 2, 3],
    leaderEpoch: -1,
    config: LOG_CONFIG,
    ...(rebuild !== undefined ? { rebuild } : {}),
  };
}

test('a rebuild discards the old copy once, keeps what it received across a restart, and refuses when that is lost', async () => {
  const fs = new MemFileSystem();
  await fs.mkdir('/raft');
  let { host, groups } = await setup(fs);
  // A replica with its bootstrap membership: the copy to be discarded.
  const old = groups.create(spec(), events);
  await old.open();
  await old.close();
  expect(await fs.readdir(path.join('/raft', FOLDER, 'log'))).not.toEqual([]);
  fs.writeFileNow(path.join('/raft', FOLDER, 'old-copy'), Buffer.from('x'));

  const first = groups.create(spec(7), events);
  await first.open();
  expect(await fs.readdir(path.join('/raft', FOLDER))).not.toContain('old-copy');
  expect(await fs.readdir('/raft')).toContain(`${FOLDER}.rebuild-7`);
  // Empty, and no membership of its own: it waits for the leader's snapshot.
  expect(host.status(GID)).toMatchObject({ voters: [], learners: [], lastIndex: 0 });
  fs.writeFileNow(path.join('/raft', FOLDER, 'received'), Buffer.from('y'));
  await first.close();
  await host.close();

  // A restart during the rebuild keeps what it received.
  ({ host, groups } = await setup(fs));
  const again = groups.create(spec(7), events);
  await again.open();
  expect(await fs.readdir(path.join('/raft', FOLDER))).toContain('received');
  await again.close();

  // Its folder lost since: the leader's record of it is wrong; refused, for a new request.
  await fs.removeTree(path.join('/raft', FOLDER));
  const lost = groups.create(spec(7), events);
  const refused = (await lost.open().catch((e: unknown) => e)) as Error;
  expect(refused).toMatchObject({ code: 'REPLICA_STATE_LOST' });
  expect(groups.repairable(refused)).toBe(true);
  await lost.close().catch(() => undefined);

  // A new request starts over, and normal service after it drops the marks.
  const next = groups.create(spec(8), events);
  await next.open();
  expect((await fs.readdir('/raft')).filter((n) => n.includes('.rebuild-'))).toEqual([`${FOLDER}.rebuild-8`]);
  await next.close();
  const normal = groups.create(spec(), events);
  await normal.open();
  expect((await fs.readdir('/raft')).filter((n) => n.includes('.rebuild-'))).toEqual([]);
  await normal.close();
  await host.close();
});
