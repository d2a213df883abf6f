// A replicated partition's leader whose log cannot be read at some entry (a corrupt record under
// it): a read answers the batches before the damage, a read at it KAFKA_STORAGE_ERROR, and the
// replica stops — its leadership ends so that a replica with an intact copy leads.
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
