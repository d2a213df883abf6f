// The partition manager's part in transactions (docs/design/transactions.md §1), on standalone
// partitions: KIP-890 verification of a transaction's first batch in a partition (and of no other
// batch), and transaction markers written on the leader and told to the marker listeners.
import { systemClock, systemScheduler } from '@chronik/env';
import { buildRecordBatch } from '@chronik/protocol';
import { MemFileSystem } from '@chronik/wal';
import { DEFAULT_BROKER } from '../../src/config.js';
import { KafkaError } from '../../src/errors.js';
import { silentLogger } from '../../src/logger.js';
import { LocalPartition } from '../../src/partition/local-partition.js';
import type { TopicPartition, TxnMarker } from '../../src/partition/types.js';
import { LogConfigs } from '../../src/services/log-config.js';
import { LocalMetadataStore, commitOk } from '../../src/services/metadata-store.js';
import type { PartitionFactory, TxnVerifier } from '../../src/services/partition-manager.js';
import { PartitionManager } from '../../src/services/partition-manager.js';
import { BatchCache } from '../../src/storage/batch-cache.js';
import { MemoryEntryLog } from '../../src/storage/entry-log.js';
import { TOPIC_ID, marker, txnBatch, until } from '../partition/harness.js';

type VerifyRequest = Parameters<TxnVerifier['verify']>[0];

const TP: TopicPartition = { topic: 't', partition: 0 };

async function manager(verifier: TxnVerifier): Promise<PartitionManager> {
  const store = await LocalMetadataStore.open({
    nodeId: 1,
    fs: new MemFileSystem(),
    dir: '/metadata',
    logger: silentLogger,
  });
  await commitOk(store, { type: 'initCluster', clusterId: 'txn-test' });
  await commitOk(store, {
    type: 'registerBroker',
    brokerId: 1,
    host: '127.0.0.1',
    port: 9092,
    rack: null,
    raftAddress: '127.0.0.1:9093',
    incarnation: 'a',
  });
  await commitOk(store, {
    type: 'createTopic',
    name: 't',
    topicId: TOPIC_ID,
    assignments: [[1]],
    configs: [],
    internal: false,
  });
  const cache = new BatchCache(1 << 20);
  const factory: PartitionFactory = {
    create: (spec, events) =>
      new LocalPartition({
        topic: spec.topic,
        topicId: spec.topicId,
        partition: spec.partition,
        nodeId: 1,
        leaderEpoch: Math.max(0, spec.leaderEpoch),
        openLog: () => Promise.resolve(new MemoryEntryLog()),
        cache,
        config: spec.config,
        maxEntryBytes: 1 << 20,
        retentionCheckIntervalMs: 60_000,
        logger: silentLogger,
        nowMs: () => systemClock.nowMs(),
        events,
      }),
    remove: () => Promise.resolve(),
  };
  const pm = new PartitionManager({
    nodeId: 1,
    store,
    configs: new LogConfigs(store.state, 1, DEFAULT_BROKER),
    factory,
    clock: systemClock,
    scheduler: systemScheduler,
    logger: silentLogger,
    logDir: { path: '/', space: () => ({ totalBytes: 0n, usableBytes: 0n }) },
    txnVerifier: verifier,
  });
  await pm.start();
  await until(() => pm.leadership(TOPIC_ID, 0)?.isLeader === true);
  return pm;
}

test('a transaction is verified with the coordinator at its first batch in a partition only; a refusal is the answer and nothing is written', async () => {
  const calls: VerifyRequest[] = [];
  let refusal: KafkaError | undefined = new KafkaError('INVALID_TXN_STATE', 'not added to the transaction');
  const pm = await manager({
    verify: (req) => {
      calls.push(req);
      return refusal === undefined ? Promise.resolve() : Promise.reject(refusal);
    },
  });
  try {
    const append = (b: Buffer, transactionalId?: string | null) =>
      pm.append(TP, b, -1, 5000, transactionalId);
    await expect(append(txnBatch(1, { producerId: 4n, epoch: 2, seq: 0 }), 'tx')).rejects.toMatchObject({
      code: 'INVALID_TXN_STATE',
    });
    expect(calls).toEqual([
      { transactionalId: 'tx', producerId: 4n, producerEpoch: 2, topic: 't', partition: 0 },
    ]);
    expect(pm.leader(TP).logEndOffset).toBe(0n);
    refusal = undefined;
    expect((await append(txnBatch(1, { producerId: 4n, epoch: 2, seq: 0 }), 'tx')).baseOffset).toBe(0n);
    expect((await append(txnBatch(1, { producerId: 4n, epoch: 2, seq: 1 }), 'tx')).baseOffset).toBe(1n);
    expect(calls).toHaveLength(2); // the transaction is open here: not asked again
    // Not transactional, or no transactional id (an internal writer): not verified.
    const plain = buildRecordBatch({ records: [{ value: Buffer.from('p') }] });
    expect((await append(plain, 'tx')).baseOffset).toBe(2n);
    expect((await append(txnBatch(1, { producerId: 5n, seq: 0 }))).baseOffset).toBe(3n);
    expect((await append(txnBatch(1, { producerId: 6n, seq: 0 }), null)).baseOffset).toBe(4n);
    expect(calls).toHaveLength(2);
    // Once the transaction ends, the producer's next one is verified again.
    await pm.writeTxnMarker(TP, marker(4n, true, { epoch: 2 }), 5000);
    await append(txnBatch(1, { producerId: 4n, epoch: 2, seq: 2 }), 'tx');
    expect(calls).toHaveLength(3);
  } finally {
    await pm.close();
  }
});

test("a marker is written on the leader and told to the listeners once durable; errors are the leader lookup's", async () => {
  const pm = await manager({ verify: () => Promise.resolve() });
  try {
    const told: Array<[TopicPartition, TxnMarker, bigint]> = [];
    const stop = pm.onTxnMarker((tp, m, offset) => told.push([tp, m, offset]));
    await pm.append(TP, txnBatch(2, { producerId: 8n, seq: 0 }), -1, 5000, 'tx');
    const m = marker(8n, false, { coordinatorEpoch: 1 });
    expect(await pm.writeTxnMarker(TP, m, 5000)).toBe(2n);
    expect(told).toEqual([[TP, m, 2n]]);
    expect(pm.leader(TP).highWatermark).toBe(3n);
    await expect(pm.writeTxnMarker({ topic: 'nope', partition: 0 }, m, 5000)).rejects.toMatchObject({
      code: 'UNKNOWN_TOPIC_OR_PARTITION',
    });
    await expect(
      pm.writeTxnMarker(TP, marker(8n, false, { coordinatorEpoch: 0 }), 5000),
    ).rejects.toMatchObject({
      code: 'TRANSACTION_COORDINATOR_FENCED',
    });
    stop();
    await pm.writeTxnMarker(TP, m, 5000);
    expect(told).toHaveLength(1);
  } finally {
    await pm.close();
  }
});

test('a marker written while a first batch is verified ends its guard: the batch is refused, no transaction is left open (KIP-890)', async () => {
  const coordinator: { answer?: () => void } = {};
  const pm = await manager({
    verify: () =>
      new Promise<void>((resolve) => {
        coordinator.answer = resolve;
      }),
  });
  try {
    const verified = async (epoch: number) => {
      const write = pm.append(TP, txnBatch(1, { producerId: 4n, epoch, seq: 0 }), -1, 5000, 'tx');
      write.catch(() => undefined); // awaited below
      await until(() => coordinator.answer !== undefined);
      return { write };
    };
    const release = () => {
      coordinator.answer?.();
      delete coordinator.answer;
    };
    // The coordinator said yes, but the transaction was aborted here before the batch arrived.
    let { write } = await verified(2);
    await pm.writeTxnMarker(TP, marker(4n, false, { epoch: 2 }), 5000);
    release();
    await expect(write).rejects.toMatchObject({ code: 'INVALID_TXN_STATE' });
    expect(pm.leader(TP).hasOngoingTxn(4n, 2)).toBe(false);
    expect(pm.leader(TP).logEndOffset).toBe(1n); // the marker alone
    // An abort that fenced the producer (a bumped epoch) is INVALID_PRODUCER_EPOCH.
    ({ write } = await verified(2));
    await pm.writeTxnMarker(TP, marker(4n, false, { epoch: 3 }), 5000);
    release();
    await expect(write).rejects.toMatchObject({ code: 'INVALID_PRODUCER_EPOCH' });
    // Without a marker meanwhile the batch is written, and the guard is gone afterwards.
    ({ write } = await verified(3));
    release();
    expect((await write).baseOffset).toBe(2n);
    expect(pm.leader(TP).hasOngoingTxn(4n, 3)).toBe(true);
  } finally {
    await pm.close();
  }
});
