// The produce path end to end on a real broker: batches of one partition (each stored as its own
// entry, the WAL checksums derived from the Kafka CRCs), small responses written as one buffer, the
// produced-records metric counting every batch; all read back after a restart. (Produce v3+ carries
// one batch per partition, as in Kafka; several batches in one append are covered by the partition
// log's own tests.)
import {
  ApiKey,
  buildRecordBatch,
  decodeRecordBatch,
  defaultFetchRequest,
  defaultFetchRequestFetchPartition,
  defaultFetchRequestFetchTopic,
  defaultProduceRequest,
} from '@chronik/protocol';
import { removeDir, startBroker } from './helpers/broker.js';
import { RawClient } from './helpers/raw-client.js';

function batch(values: string[]): Buffer {
  return buildRecordBatch({ records: values.map((v) => ({ value: Buffer.from(v) })) });
}

test('batches of one partition: offsets, metrics, and the data after a restart', async () => {
  let ctx = await startBroker();
  const dataDir = ctx.dataDir;
  try {
    const c = await RawClient.connect(ctx.broker.kafkaPort);
    const bases: bigint[] = [];
    for (const records of [batch(['a', 'b', 'c']), batch(['d', 'e'])]) {
      const r = await c.request(ApiKey.Produce, 9, {
        ...defaultProduceRequest(),
        acks: -1,
        timeoutMs: 5000,
        topicData: [{ name: 'multi', partitionData: [{ index: 0, records }] }],
      });
      expect(r.responses[0]?.partitionResponses[0]?.errorCode).toBe(0);
      bases.push(r.responses[0]?.partitionResponses[0]?.baseOffset ?? -1n);
    }
    expect(bases).toEqual([0n, 3n]);
    const produced = await ctx.broker.metrics.producedRecords.get();
    expect(produced.values[0]?.value).toBe(5);
    c.close();
    await ctx.stop();
    ctx = await startBroker({ dataDir });
    const d = await RawClient.connect(ctx.broker.kafkaPort);
    const f = await d.request(ApiKey.Fetch, 12, {
      ...defaultFetchRequest(),
      maxWaitMs: 0,
      maxBytes: 1 << 20,
      topics: [
        {
          ...defaultFetchRequestFetchTopic(),
          topic: 'multi',
          partitions: [
            {
              ...defaultFetchRequestFetchPartition(),
              partition: 0,
              fetchOffset: 0n,
              partitionMaxBytes: 1 << 20,
            },
          ],
        },
      ],
    });
    const p = f.responses[0]?.partitions[0];
    expect(p?.highWatermark).toBe(5n);
    const values: string[] = [];
    let pos = 0;
    const all = p?.records ?? Buffer.alloc(0);
    while (pos < all.length) {
      const len = 12 + all.readInt32BE(pos + 8);
      for (const rec of decodeRecordBatch(all.subarray(pos, pos + len)).records)
        values.push(Buffer.from(rec.value ?? Buffer.alloc(0)).toString());
      pos += len;
    }
    expect(values).toEqual(['a', 'b', 'c', 'd', 'e']);
    d.close();
  } finally {
    await ctx.stop();
    removeDir(dataDir);
  }
});
