// The groups manifest: a record per partition group this node held, durable before the group is
// created, so a lost group folder is told from a group never held here.
import { MemFileSystem } from '@chronik/wal';
import { GroupManifest } from '../../src/cluster/group-manifest.js';
import { isServerError } from '../../src/errors.js';

async function fresh(): Promise<MemFileSystem> {
  const fs = new MemFileSystem();
  await fs.mkdir('/raft');
  return fs;
}

test('held and released groups survive a reopen', async () => {
  const fs = await fresh();
  const m = await GroupManifest.open(fs, '/raft');
  await m.hold(1025);
  await m.hold(2 ** 47 + 3);
  await m.release(1025);
  await m.close();
  const again = await GroupManifest.open(fs, '/raft');
  expect(again.has(1025)).toBe(false);
  expect(again.has(2 ** 47 + 3)).toBe(true);
  expect(again.has(7)).toBe(false);
});

test('without a manifest, the group folders present count as held (data written before it existed)', async () => {
  const fs = await fresh();
  await fs.mkdir('/raft/group-1');
  await fs.mkdir('/raft/group-4242');
  const m = await GroupManifest.open(fs, '/raft');
  expect(m.has(1)).toBe(true);
  expect(m.has(4242)).toBe(true);
  expect(m.has(4243)).toBe(false);
});

test('a torn last record is cut; a bad record before the last is corruption naming the file', async () => {
  const fs = await fresh();
  const m = await GroupManifest.open(fs, '/raft');
  await m.hold(5000);
  await m.hold(6000);
  await m.close();
  const bytes = Buffer.from(fs.readFileNow('/raft/groups.manifest'));
  fs.writeFileNow('/raft/groups.manifest', bytes.subarray(0, bytes.length - 4));
  const torn = await GroupManifest.open(fs, '/raft');
  expect(torn.has(5000)).toBe(true);
  expect(torn.has(6000)).toBe(false);
  await torn.hold(7000);
  await torn.close();
  const after = await GroupManifest.open(fs, '/raft');
  expect(after.has(7000)).toBe(true);
  await after.close();

  const damaged = Buffer.from(fs.readFileNow('/raft/groups.manifest'));
  damaged[3] = damaged[3]! ^ 0xff;
  fs.writeFileNow('/raft/groups.manifest', damaged);
  const e = await GroupManifest.open(fs, '/raft').catch((x: unknown) => x);
  expect(isServerError(e) && e.code).toBe('DATA_DIR_CORRUPT');
  expect(String((e as Error).message)).toContain('/raft/groups.manifest');
});

test('holds asked together are written and synced together, and each is durable when it resolves', async () => {
  const fs = await fresh();
  const m = await GroupManifest.open(fs, '/raft');
  const before = fs.syncCount;
  const ids = Array.from({ length: 100 }, (_, i) => 5000 + i);
  await Promise.all(ids.map((id) => m.hold(id)));
  // One write for the first, one for the 99 asked while it synced (MemFileSystem settles at once).
  expect(fs.syncCount - before).toBeLessThanOrEqual(2);
  expect(ids.every((id) => m.has(id))).toBe(true);
  // A power loss right after: every resolved hold is on the disk.
  const after = fs.crash(() => 0.5);
  const again = await GroupManifest.open(after, '/raft');
  expect(ids.every((id) => again.has(id))).toBe(true);
});

test('a failed write fails the holds it carried, and the next one is written in their place', async () => {
  const fs = await fresh();
  const m = await GroupManifest.open(fs, '/raft');
  fs.failNext('datasync');
  await expect(m.hold(1)).rejects.toThrow(/EIO|crashed|fail/i);
  expect(m.has(1)).toBe(false);
  await m.hold(2);
  await m.close();
  const again = await GroupManifest.open(fs, '/raft');
  expect(again.has(2)).toBe(true);
});
