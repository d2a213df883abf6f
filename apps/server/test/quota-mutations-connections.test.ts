// The two client quotas Kafka enforces outside the request path, set at run time through
// AlterClientQuotas and read back with DescribeClientQuotas:
// - controller_mutation_rate (KIP-599): partitions created or deleted per second per client id, a
//   token bucket of quota × windows; a strict request (CreateTopics v6+, CreatePartitions v3+,
//   DeleteTopics v5+) has topics met over the quota refused with THROTTLING_QUOTA_EXCEEDED, an older
//   one is accepted; both carry the throttle time. kafkajs's admin (CreateTopics v3, permissive)
//   creates its topics, slowed by the muted connection.
// - connection_creation_rate (KIP-612) per client ip (and the default ip): a connection over the
//   rate is held unread and closed once its throttle time is over; another ip is not concerned.
// Small sample windows (2 × 1 s) keep the numbers exact.
import net from 'node:net';
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { Kafka, logLevel } from 'kafkajs';
import { removeDir, startBroker } from './helpers/broker.js';
import { RawClient } from './helpers/raw-client.js';

type Ctx = Awaited<ReturnType<typeof startBroker>>;

let ctx: Ctx;
beforeAll(async () => {
  ctx = await startBroker({ clientQuotas: { windowNum: 2, windowSizeSeconds: 1 } });
});
afterAll(async () => {
  await ctx.stop();
  removeDir(ctx.dataDir);
});

async function connect(clientId: string, localAddress?: string): Promise<RawClient> {
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(
      { port: ctx.broker.kafkaPort, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) },
      () => resolve(s),
    );
    s.once('error', reject);
  });
  const c = RawClient.over(socket);
  c.clientId = clientId;
  return c;
}

async function alter(
  entity: Array<{ entityType: string; entityName: string | null }>,
  key: string,
  value: number | null,
): Promise<{ errorCode: number; errorMessage: string | null }> {
  const admin = await connect('quota-admin');
  try {
    const r = await admin.request(ApiKey.AlterClientQuotas, 1, {
      entries: [{ entity, ops: [{ key, value: value ?? 0, remove: value === null }] }],
      validateOnly: false,
    });
    const e = r.entries[0];
    if (e === undefined) throw new Error('no entry');
    return { errorCode: e.errorCode, errorMessage: e.errorMessage };
  } finally {
    admin.close();
  }
}

function createTopics(c: RawClient, version: number, topics: Array<{ name: string; partitions: number }>) {
  return c.request(ApiKey.CreateTopics, version, {
    topics: topics.map((t) => ({
      name: t.name,
      numPartitions: t.partitions,
      replicationFactor: 1,
      assignments: [],
      configs: [],
    })),
    timeoutMs: 5000,
    validateOnly: false,
  });
}

describe('AlterClientQuotas / DescribeClientQuotas of the new keys', () => {
  test('accepted where Kafka accepts them, refused elsewhere with its reasons', async () => {
    expect(
      await alter([{ entityType: 'client-id', entityName: 'x' }], 'controller_mutation_rate', 2.5),
    ).toEqual({
      errorCode: ErrorCode.NONE,
      errorMessage: null,
    });
    expect(
      await alter([{ entityType: 'ip', entityName: '10.1.2.3' }], 'connection_creation_rate', 5),
    ).toEqual({
      errorCode: ErrorCode.NONE,
      errorMessage: null,
    });
    expect(
      await alter([{ entityType: 'ip', entityName: null }], 'connection_creation_rate', 50),
    ).toMatchObject({
      errorCode: ErrorCode.NONE,
    });
    expect(
      await alter([{ entityType: 'ip', entityName: 'not-an-ip' }], 'connection_creation_rate', 5),
    ).toMatchObject({
      errorCode: ErrorCode.INVALID_REQUEST,
      errorMessage: 'not-an-ip is not a valid IP address',
    });
    expect(
      await alter([{ entityType: 'ip', entityName: '10.1.2.3' }], 'producer_byte_rate', 5),
    ).toMatchObject({
      errorCode: ErrorCode.INVALID_REQUEST,
      errorMessage: 'producer_byte_rate cannot be set for an ip entity',
    });
    expect(
      await alter([{ entityType: 'user', entityName: 'u' }], 'connection_creation_rate', 5),
    ).toMatchObject({
      errorCode: ErrorCode.INVALID_REQUEST,
    });
    expect(
      await alter([{ entityType: 'ip', entityName: '10.1.2.3' }], 'connection_creation_rate', 1.5),
    ).toMatchObject({
      errorCode: ErrorCode.INVALID_REQUEST,
      errorMessage: 'The value of connection_creation_rate must be a whole number',
    });
    const c = await connect('quota-admin');
    try {
      const r = await c.request(ApiKey.DescribeClientQuotas, 1, {
        components: [{ entityType: 'ip', matchType: 2, match: null }],
        strict: false,
      });
      expect(r.entries).toEqual([
        expect.objectContaining({
          entity: [expect.objectContaining({ entityType: 'ip', entityName: '10.1.2.3' })],
          values: [expect.objectContaining({ key: 'connection_creation_rate', value: 5 })],
        }),
      ]);
    } finally {
      c.close();
    }
    await alter([{ entityType: 'ip', entityName: '10.1.2.3' }], 'connection_creation_rate', null);
    await alter([{ entityType: 'ip', entityName: null }], 'connection_creation_rate', null);
    await alter([{ entityType: 'client-id', entityName: 'x' }], 'controller_mutation_rate', null);
  });
});

describe('controller_mutation_rate (KIP-599)', () => {
  test('a strict CreateTopics refuses the topics met over the quota; an old version is throttled only', async () => {
    // 1 partition/s: a bucket of 2 (1 × 2 windows of 1 s).
    await alter([{ entityType: 'client-id', entityName: 'mutator' }], 'controller_mutation_rate', 1);
    const c = await connect('mutator');
    const other = await connect('someone-else');
    try {
      const r = await createTopics(c, 7, [
        { name: 'mq-a', partitions: 4 },
        { name: 'mq-b', partitions: 1 },
      ]);
      // mq-a takes the bucket to -2 (accepted: it was not below 0); mq-b meets it below 0.
      expect(r.topics.map((t) => [t.name, t.errorCode])).toEqual([
        ['mq-a', ErrorCode.NONE],
        ['mq-b', ErrorCode.THROTTLING_QUOTA_EXCEEDED],
      ]);
      expect(r.topics[1]?.errorMessage).toBe('The throttling quota has been exceeded.');
      // The time back to 0 from -2 at 1/s, less what refilled while the request ran (a loaded
      // machine takes a few hundred ms): above what -1 would give.
      expect(r.throttleTimeMs).toBeGreaterThan(1000);
      expect(r.throttleTimeMs).toBeLessThanOrEqual(2000);
      // Another client id is not concerned.
      const o = await createTopics(other, 7, [{ name: 'mq-other', partitions: 8 }]);
      expect(o.topics[0]?.errorCode).toBe(ErrorCode.NONE);
      expect(o.throttleTimeMs).toBe(0);
      // v5 (before KIP-599's error), from another connection of the same client id: accepted over
      // the quota, and throttled.
      const c2 = await connect('mutator');
      const old = await createTopics(c2, 5, [
        { name: 'mq-c', partitions: 3 },
        { name: 'mq-d', partitions: 3 },
      ]);
      expect(old.topics.map((t) => t.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.NONE]);
      expect(old.throttleTimeMs).toBeGreaterThan(3000);
      c2.close();
    } finally {
      c.close();
      other.close();
      await alter([{ entityType: 'client-id', entityName: 'mutator' }], 'controller_mutation_rate', null);
    }
  });

  test('DeleteTopics (v5+) and CreatePartitions (v3+) count their partitions; a failed topic gives its back', async () => {
    const setup = await connect('setup');
    await createTopics(setup, 7, [
      { name: 'md-a', partitions: 3 },
      { name: 'md-b', partitions: 1 },
      { name: 'md-c', partitions: 1 },
    ]);
    setup.close();
    await alter([{ entityType: 'client-id', entityName: 'deleter' }], 'controller_mutation_rate', 1);
    const c = await connect('deleter');
    try {
      // A topic that does not exist fails and gives its partitions back (none: it has none).
      const grow = await c.request(ApiKey.CreatePartitions, 3, {
        topics: [
          { name: 'md-a', count: 5, assignments: null },
          { name: 'md-b', count: 2, assignments: null },
        ],
        timeoutMs: 5000,
        validateOnly: false,
      });
      // md-a adds 2 (bucket 2 → 0, not below: md-b still passes and takes it to -1).
      expect(grow.results.map((r) => [r.name, r.errorCode])).toEqual([
        ['md-a', ErrorCode.NONE],
        ['md-b', ErrorCode.NONE],
      ]);
      // Back to 0 from -1 at 1/s, less what refilled while the request ran.
      expect(grow.throttleTimeMs).toBeGreaterThan(0);
      expect(grow.throttleTimeMs).toBeLessThanOrEqual(1000);
      const del = await c.request(ApiKey.DeleteTopics, 6, {
        topics: [
          { name: 'md-c', topicId: '00000000-0000-0000-0000-000000000000' },
          { name: 'md-a', topicId: '00000000-0000-0000-0000-000000000000' },
        ],
        topicNames: [],
        timeoutMs: 5000,
      });
      // Answered after the throttle (about 1 s): the bucket is back at 0, md-c takes it to -1, md-a is refused.
      const codes = Object.fromEntries(del.responses.map((r) => [r.name, r.errorCode]));
      expect(codes).toEqual({ 'md-c': ErrorCode.NONE, 'md-a': ErrorCode.THROTTLING_QUOTA_EXCEEDED });
      expect(del.throttleTimeMs).toBeGreaterThan(0);
    } finally {
      c.close();
      await alter([{ entityType: 'client-id', entityName: 'deleter' }], 'controller_mutation_rate', null);
    }
  });

  test('kafkajs admin (CreateTopics v3) creates its topics under the quota, slowed by the throttle', async () => {
    await alter([{ entityType: 'client-id', entityName: 'kafkajs-admin' }], 'controller_mutation_rate', 2);
    const kafka = new Kafka({
      clientId: 'kafkajs-admin',
      brokers: [`127.0.0.1:${ctx.broker.kafkaPort}`],
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const started = Date.now();
      // Bucket of 4: the first topic empties it, each next one waits for 4 partitions' worth (2 s).
      for (const name of ['kq-1', 'kq-2', 'kq-3'])
        expect(await admin.createTopics({ topics: [{ topic: name, numPartitions: 4 }] })).toBe(true);
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThan(3000);
      const topics = await admin.listTopics();
      expect(topics).toEqual(expect.arrayContaining(['kq-1', 'kq-2', 'kq-3']));
    } finally {
      await admin.disconnect();
      await alter(
        [{ entityType: 'client-id', entityName: 'kafkajs-admin' }],
        'controller_mutation_rate',
        null,
      );
    }
  });
});

describe('connection_creation_rate (KIP-612)', () => {
  /** Whether a new connection from `localAddress` is answered (ApiVersions), or held then closed. */
  async function tryConnect(localAddress: string): Promise<{ answered: boolean; closedAfterMs: number }> {
    const started = Date.now();
    const c = await connect('conn-rate', localAddress);
    const closed = new Promise<number>((resolve) =>
      c.socket.once('close', () => resolve(Date.now() - started)),
    );
    const answered = await Promise.race([
      c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' }).then(
        () => true,
        () => false,
      ),
      closed.then(() => false),
    ]);
    if (answered) {
      c.close();
      return { answered, closedAfterMs: -1 };
    }
    return { answered, closedAfterMs: await closed };
  }

  test("over its rate, an ip's connection is held unread and closed after the throttle; another ip is not", async () => {
    await alter([{ entityType: 'ip', entityName: '127.0.0.3' }], 'connection_creation_rate', 2);
    try {
      // 2 per second, measured over at least 1 s: the first two pass, the third is over.
      expect((await tryConnect('127.0.0.3')).answered).toBe(true);
      expect((await tryConnect('127.0.0.3')).answered).toBe(true);
      const third = await tryConnect('127.0.0.3');
      expect(third.answered).toBe(false);
      // Throttle (3 − 2) / 2 × 1 s = 500 ms, then closed.
      expect(third.closedAfterMs).toBeGreaterThanOrEqual(400);
      // Another address: no quota.
      for (let i = 0; i < 5; i++) expect((await tryConnect('127.0.0.4')).answered).toBe(true);
      // The refused one was not counted: once the window moves on, it connects again.
      await new Promise((r) => setTimeout(r, 2100));
      expect((await tryConnect('127.0.0.3')).answered).toBe(true);
    } finally {
      await alter([{ entityType: 'ip', entityName: '127.0.0.3' }], 'connection_creation_rate', null);
    }
  });

  test('the default ip quota applies to every address without its own; kafkajs connects within it', async () => {
    await alter([{ entityType: 'ip', entityName: null }], 'connection_creation_rate', 100);
    await alter([{ entityType: 'ip', entityName: '127.0.0.5' }], 'connection_creation_rate', 1);
    try {
      expect((await tryConnect('127.0.0.5')).answered).toBe(true);
      expect((await tryConnect('127.0.0.5')).answered).toBe(false);
      const kafka = new Kafka({
        clientId: 'ip-quota',
        brokers: [`127.0.0.1:${ctx.broker.kafkaPort}`],
        logLevel: logLevel.NOTHING,
      });
      const admin = kafka.admin();
      await admin.connect();
      expect(await admin.listTopics()).toEqual(expect.any(Array));
      await admin.disconnect();
    } finally {
      await alter([{ entityType: 'ip', entityName: '127.0.0.5' }], 'connection_creation_rate', null);
      await alter([{ entityType: 'ip', entityName: null }], 'connection_creation_rate', null);
    }
  });
});
