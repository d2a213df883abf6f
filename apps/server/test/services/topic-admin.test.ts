// TopicAdmin.createTopics: the answer does not wait for this node's replicas beyond a bound.
import { ManualScheduler } from '@chronik/env';
import { MemFileSystem } from '@chronik/wal';
import { DEFAULT_BROKER } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { LogConfigs } from '../../src/services/log-config.js';
import { LocalMetadataStore, commitOk } from '../../src/services/metadata-store.js';
import { StateWatch } from '../../src/services/state-watch.js';
import { TopicAdmin } from '../../src/services/topic-admin.js';

async function admin(settled: () => Promise<void>) {
  const store = await LocalMetadataStore.open({
    nodeId: 1,
    fs: new MemFileSystem(),
    dir: '/metadata',
    logger: silentLogger,
  });
  await commitOk(store, { type: 'initCluster', clusterId: 'topic-admin-test' });
  await commitOk(store, {
    type: 'registerBroker',
    brokerId: 1,
    host: '127.0.0.1',
    port: 9092,
    rack: null,
    raftAddress: 'standalone',
    incarnation: 'a',
  });
  const scheduler = new ManualScheduler();
  let ids = 0;
  const topics = new TopicAdmin({
    store,
    nodeId: 1,
    maxReplicasPerBroker: 100_000,
    broker: DEFAULT_BROKER,
    configs: new LogConfigs(store.state, 1, DEFAULT_BROKER),
    settled,
    newTopicId: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`,
    watch: new StateWatch(store.state, scheduler),
    logger: silentLogger,
  });
  return { store, scheduler, topics };
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

test('a created topic is answered within the request timeout while its replicas still open here', async () => {
  // Opening thousands of replicas takes minutes: the answer (and every request behind it on the
  // connection) used to wait for all of them, past the client's request timeout.
  const { store, scheduler, topics } = await admin(() => new Promise<void>(() => undefined));
  let answer: Awaited<ReturnType<TopicAdmin['createTopics']>> | undefined;
  void topics
    .createTopics(
      [{ name: 'big', numPartitions: 5000, replicationFactor: 1, assignments: [], configs: [] }],
      false,
      1000,
    )
    .then((a) => (answer = a));
  await flush();
  expect(store.state.topic('big')?.partitions).toHaveLength(5000);
  expect(answer).toBeUndefined();
  scheduler.advance(5000); // the settle bound (the request's 1 s is shorter)
  await flush();
  scheduler.advance(1000); // the leader wait (no leader here: the topic is created all the same)
  await flush();
  expect(answer?.[0]).toMatchObject({ name: 'big', error: null, numPartitions: 5000, replicationFactor: 1 });
});

test('a small topic is answered once its replicas opened here', async () => {
  let open: () => void = () => undefined;
  const { scheduler, topics } = await admin(() => new Promise<void>((resolve) => (open = resolve)));
  let answer: Awaited<ReturnType<TopicAdmin['createTopics']>> | undefined;
  void topics
    .createTopics(
      [{ name: 't', numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }],
      false,
    )
    .then((a) => (answer = a));
  await flush();
  scheduler.advance(1000);
  await flush();
  expect(answer).toBeUndefined();
  open();
  await flush();
  expect(answer?.[0]).toMatchObject({ name: 't', error: null, numPartitions: 3 });
});
