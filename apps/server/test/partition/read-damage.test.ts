// A replicated partition's leader whose log cannot be read at some entry (a corrupt record under
// it): a read answers the batches before the damage, a read at it KAFKA_STORAGE_ERROR, and the
// replica stops — its leadership ends so that a replica with an intact copy leads. A read that a
// compaction overtakes while it waits for the disk is no damage: it answers what is left.
import { buildRecordBatch } from '@chronik/protocol';
import { scriptedPartition } from './scripted-group.js';

test('reads stop at the damage, and the damaged replica stops leading', async () => {
  const { group, p, failures } = await scriptedPartition();
  group.lead();
  for (let i = 0; i < 4; i++) {
    const produced = p.append(buildRecordBatch({ records: [{ value: Buffer.from(`v${i}`) }] }), -1, 5000);
    group.commit();
    await produced;
  }
  group.damaged.add(4); // entry 1 is the no-op; batches at 2..5: the third batch (offset 2)
  const before = await p.read(0n, 1 << 20, true, 0);
  expect(before.chunks.map((c) => c.readBigInt64BE(0))).toEqual([0n, 1n]);
  await new Promise((r) => setImmediate(r));
  expect(failures).toHaveLength(1);
  expect(p.isLeader()).toBe(false);
  await expect(p.read(2n, 1 << 20, true, 0)).rejects.toMatchObject({ code: 'KAFKA_STORAGE_ERROR' });
});

test('a read overtaken by a compaction answers the batches before it, and nothing is damaged', async () => {
  const { group, p, failures } = await scriptedPartition();
  group.lead();
  for (let i = 0; i < 4; i++) {
    const produced = p.append(buildRecordBatch({ records: [{ value: Buffer.from(`v${i}`) }] }), -1, 5000);
    group.commit();
    await produced;
  }
  let release!: () => void;
  group.readGate = new Promise((r) => (release = r));
  const read = p.read(0n, 1 << 20, true, 0);
  await new Promise((r) => setImmediate(r));
  group.compactedTo = 3; // entries 1..3 (the no-op, offsets 0 and 1) leave the log meanwhile
  release();
  expect((await read).chunks).toEqual([]);
  expect(failures).toHaveLength(0);
  expect(p.isLeader()).toBe(true);
  group.readGate = undefined;
  expect((await p.read(2n, 1 << 20, true, 0)).chunks.map((c) => c.readBigInt64BE(0))).toEqual([2n, 3n]);
});
