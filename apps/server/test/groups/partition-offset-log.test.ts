// The coordinator on the real storage, in-process: __consumer_offsets written through the
// partitions' append path (standalone: the WAL), compacted by snapshot + DeleteRecords, and reloaded by a new
// broker on the same data directory. kafkajs drives it over the wire.
import { ApiKey } from '@chronik/protocol';
import { Kafka, logLevel } from 'kafkajs';
import type { GroupCoordinator } from '../../src/groups/index.js';
import { removeDir, startBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

jest.setTimeout(60_000);

it('commits are durable in __consumer_offsets, compaction moves its log start, a restart reloads them', async () => {
  let coordinator: GroupCoordinator | undefined;
  const services = {
    groupConfig: { compactionMinRecords: 30, initialRebalanceDelayMs: 0 },
    onComposed: (c: { services: { groups: GroupCoordinator } }) => {
      coordinator = c.services.groups;
    },
  };
  let b = await startBroker({}, services);
  const dataDir = b.dataDir;
  try {
    const port = () => b.broker.kafkaPort;
    const kafka = () =>
      new Kafka({
        clientId: 'offsets-it',
        brokers: [`127.0.0.1:${port()}`],
        logLevel: logLevel.NOTHING,
        retry: { retries: 5 },
      });
    let admin = kafka().admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'it-topic', numPartitions: 2 }] });
    // standalone commits (generation -1), each answered once durable
    const raw = await RawClient.connect(port());
    await raw.request(ApiKey.FindCoordinator, 4, { key: '', keyType: 0, coordinatorKeys: ['it-group'] });
    for (let i = 1; i <= 60; i++) {
      const r = await raw.request(ApiKey.OffsetCommit, 8, {
        groupId: 'it-group',
        generationIdOrMemberEpoch: -1,
        memberId: '',
        groupInstanceId: null,
        retentionTimeMs: -1n,
        topics: [
          {
            name: 'it-topic',
            partitions: [
              {
                partitionIndex: i % 2,
                committedOffset: BigInt(i),
                committedLeaderEpoch: -1,
                commitTimestamp: -1n,
                committedMetadata: null,
              },
            ],
          },
        ],
      });
      expect(r.topics[0]?.partitions[0]?.errorCode).toBe(0);
    }
    raw.close();
    const p = coordinator?.partitionFor('it-group') ?? -1;
    const offsetsTopic = await admin.fetchTopicOffsets('__consumer_offsets');
    const mine = offsetsTopic.find((o) => o.partition === p);
    expect(Number(mine?.high)).toBeGreaterThanOrEqual(60);
    expect(Number(mine?.low)).toBeGreaterThan(0); // compacted: the prefix is gone
    expect(Number(mine?.high) - Number(mine?.low)).toBeLessThan(40);
    await admin.disconnect();
    await b.stop();

    b = await startBroker({ dataDir }, services);
    admin = kafka().admin();
    await admin.connect();
    const fetched = await admin.fetchOffsets({ groupId: 'it-group', topics: ['it-topic'] });
    expect(fetched[0]?.partitions.map((x) => [x.partition, x.offset]).sort()).toEqual([
      [0, '60'],
      [1, '59'],
    ]);
    await admin.disconnect();
  } finally {
    await b.stop();
    removeDir(dataDir);
  }
});
