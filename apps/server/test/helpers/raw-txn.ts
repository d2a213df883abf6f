// Transactions written as a transaction coordinator and a transactional producer would write them,
// with raw requests (Produce with a transactional id, WriteTxnMarkers), for end-to-end checks of
// read_committed consumers at exact offsets. No coordinator knows these transactions: the server
// runs with KIP-890 verification off (NO_VERIFICATION), as Kafka's
// transaction.partition.verification.enable=false.
import { ApiKey, buildRecordBatch, defaultProduceRequest } from '@chronik/protocol';
import { RawClient } from './raw-client.js';

/** chronik-server arguments for a server that accepts these hand-written transactions. */
export const NO_VERIFICATION = ['--transaction-partition-verification', 'false'];

/**
 * Creates `topic` (one partition) and writes, in offsets: p0 0; producer 1's a0-a1 1-2; producer 2's
 * b0 3; producer 1's a2 4; producer 1's abort 5; p1 6; producer 2's commit 7; producer 3's c0 8
 * (left open); p2 9. `commitOpen()` writes producer 3's commit marker (at 10).
 */
export async function writeTransactions(
  port: number,
  topic: string,
): Promise<{ commitOpen(): Promise<void>; close(): void }> {
  const c = await RawClient.connect(port);
  const check = (code: number | undefined, what: string): void => {
    if (code !== 0) throw new Error(`${what} failed with error code ${code}`);
  };
  const created = await c.request(ApiKey.CreateTopics, 7, {
    topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  check(created.topics[0]?.errorCode, `creating ${topic}`);
  const produce = async (values: string[], txn?: { producerId: bigint; seq: number }): Promise<void> => {
    const records = buildRecordBatch({
      records: values.map((v) => ({ value: Buffer.from(v) })),
      ...(txn
        ? { isTransactional: true, producerId: txn.producerId, producerEpoch: 0, baseSequence: txn.seq }
        : {}),
    });
    const r = await c.request(ApiKey.Produce, 9, {
      ...defaultProduceRequest(),
      transactionalId: txn ? `tx-${txn.producerId}` : null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
    });
    check(r.responses[0]?.partitionResponses[0]?.errorCode, `producing ${values.join(',')}`);
  };
  const end = async (producerId: bigint, commit: boolean): Promise<void> => {
    const r = await c.request(ApiKey.WriteTxnMarkers, 1, {
      markers: [
        {
          producerId,
          producerEpoch: 0,
          transactionResult: commit,
          topics: [{ name: topic, partitionIndexes: [0] }],
          coordinatorEpoch: 0,
        },
      ],
    });
    check(r.markers[0]?.topics[0]?.partitions[0]?.errorCode, `the marker of producer ${producerId}`);
  };
  await produce(['p0']);
  await produce(['a0', 'a1'], { producerId: 1n, seq: 0 });
  await produce(['b0'], { producerId: 2n, seq: 0 });
  await produce(['a2'], { producerId: 1n, seq: 2 });
  await end(1n, false);
  await produce(['p1']);
  await end(2n, true);
  await produce(['c0'], { producerId: 3n, seq: 0 });
  await produce(['p2']);
  return { commitOpen: () => end(3n, true), close: () => c.close() };
}
