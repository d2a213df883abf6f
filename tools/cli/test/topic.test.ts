// chronik topic … and chronik cluster … against a real chronik-server process.
import type { TestBroker } from './helpers/broker.js';
import { startBroker } from './helpers/broker.js';
import { jsonOf, run, runner } from './helpers/run.js';

let broker: TestBroker;
let chronik: ReturnType<typeof runner>;

beforeAll(async () => {
  broker = await startBroker();
  chronik = runner(broker.bootstrap);
});
afterAll(async () => {
  await broker.stop();
});

describe('topic', () => {
  test('create, list, describe (text and json), with configs', async () => {
    const created = await chronik(['topic', 'create', 'orders', '-p', '3', '-c', 'retention.ms=3600000']);
    expect(created).toEqual({ code: 0, stdout: 'Created topic "orders".\n', stderr: '' });

    const list = await chronik(['topic', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^NAME\s+PARTITIONS\s+REPLICAS\n/);
    expect(list.stdout).toMatch(/^orders\s+3\s+1$/m);
    expect(list.stdout).not.toContain('__consumer_offsets');
    const listJson = jsonOf<Array<{ name: string; partitions: number; replicationFactor: number }>>(
      await chronik(['topic', 'list', '--format', 'json']),
    );
    expect(listJson).toEqual([
      expect.objectContaining({ name: 'orders', partitions: 3, replicationFactor: 1, internal: false }),
    ]);

    await chronik(['produce', 'orders', '-p', '1'], { stdin: 'a\nb\n' });
    const text = await chronik(['topic', 'describe', 'orders']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /^Topic: orders {2}ID: [0-9a-f-]{36} {2}Partitions: 3 {2}Replication factor: 1$/m,
    );
    expect(text.stdout).toContain('Configs: retention.ms=3600000\n');
    expect(text.stdout).toMatch(
      /^PARTITION\s+LEADER\s+EPOCH\s+REPLICAS\s+ISR\s+LOG-START\s+LOG-END\s+SIZE$/m,
    );
    expect(text.stdout).toMatch(/^1\s+1\s+\d+\s+1\s+1\s+0\s+2\s+\d+(\.\d)? (B|KiB)$/m);

    const [doc] = jsonOf<Array<Record<string, unknown>>>(
      await chronik(['topic', 'describe', 'orders', '--format', 'json']),
    );
    expect(doc).toMatchObject({
      name: 'orders',
      replicationFactor: 1,
      configs: [expect.objectContaining({ name: 'retention.ms', value: '3600000', override: true })],
    });
    const parts = doc?.partitions as Array<Record<string, unknown>>;
    expect(parts).toHaveLength(3);
    expect(parts[1]).toMatchObject({
      partition: 1,
      leader: 1,
      replicas: [1],
      isr: [1],
      logStartOffset: 0,
      logEndOffset: 2,
    });
    expect(parts[1]?.sizeBytes).toEqual(expect.any(Number));
    expect(parts[1]?.sizeBytes as number).toBeGreaterThan(0);
  });

  test('alter-config, add-partitions, delete', async () => {
    expect((await chronik(['topic', 'create', 'cfg'])).code).toBe(0);
    const altered = await chronik([
      'topic',
      'alter-config',
      'cfg',
      '--set',
      'retention.ms=1000',
      '--set',
      'segment.bytes=1048576',
    ]);
    expect(altered.code).toBe(0);
    expect(altered.stdout).toBe(
      'Altered the configs of topic "cfg".\nConfigs: retention.ms=1000, segment.bytes=1048576\n',
    );
    const removed = await chronik([
      'topic',
      'alter-config',
      'cfg',
      '--delete',
      'segment.bytes',
      '--format',
      'json',
    ]);
    expect(jsonOf(removed)).toMatchObject({
      topic: 'cfg',
      deleted: ['segment.bytes'],
      configs: [{ name: 'retention.ms', value: '1000' }],
    });

    const added = await chronik(['topic', 'add-partitions', 'cfg', '-p', '4']);
    expect(added).toEqual({ code: 0, stdout: 'Topic "cfg" now has 4 partitions (was 1).\n', stderr: '' });
    const fewer = await chronik(['topic', 'add-partitions', 'cfg', '-p', '2']);
    expect(fewer.code).toBe(1);
    expect(fewer.stderr).toBe(
      'chronik: INVALID_PARTITIONS: topic "cfg" has 4 partitions: the new count must be higher, not 2\n',
    );

    expect(await chronik(['topic', 'delete', 'cfg'])).toEqual({
      code: 0,
      stdout: 'Deleted topic "cfg".\n',
      stderr: '',
    });
    const again = await chronik(['topic', 'delete', 'cfg']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^chronik: UNKNOWN_TOPIC_OR_PARTITION: topic "cfg": /);
    expect(await chronik(['topic', 'delete', 'cfg', '--if-exists'])).toMatchObject({
      code: 0,
      stdout: 'Topic "cfg" does not exist.\n',
    });
  });

  test('errors: an existing topic, an unknown topic, a config the broker refuses, bad arguments', async () => {
    expect((await chronik(['topic', 'create', 'dup'])).code).toBe(0);
    const dup = await chronik(['topic', 'create', 'dup']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/^chronik: TOPIC_ALREADY_EXISTS: topic "dup": .+\n$/);
    expect(await chronik(['topic', 'create', 'dup', '--if-not-exists'])).toMatchObject({
      code: 0,
      stdout: 'Topic "dup" already exists.\n',
    });

    const unknown = await chronik(['topic', 'describe', 'nope']);
    expect(unknown).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'chronik: UNKNOWN_TOPIC_OR_PARTITION: topic "nope": This server does not host this topic-partition.\n',
    });
    const refused = await chronik(['topic', 'create', 'bad', '-c', 'cleanup.policy=shred']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^chronik: INVALID_CONFIG: topic "bad": .*cleanup.policy/);

    const badCount = await chronik(['topic', 'create', 'x', '-p', 'many']);
    expect(badCount).toEqual({
      code: 2,
      stdout: '',
      stderr: 'chronik: USAGE: --partitions: "many" is not an integer\n',
    });
    const badConfig = await chronik(['topic', 'create', 'x', '-c', 'novalue']);
    expect(badConfig.stderr).toBe('chronik: USAGE: --config: "novalue" is not key=value\n');
    const noSub = await chronik(['topic']);
    expect(noSub.code).toBe(2);
    expect(noSub.stderr).toContain('topic: which subcommand?');
    const badFormat = await chronik(['topic', 'list', '--format', 'yaml']);
    expect(badFormat).toMatchObject({
      code: 2,
      stderr: 'chronik: USAGE: --format: "yaml" is not one of text, json for this command\n',
    });
  });

  test('an unreachable broker is a CONNECTION error after the retries', async () => {
    const r = await run(['-b', '127.0.0.1:1', '--retries', '1', 'topic', 'list']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^chronik: CONNECTION: cannot connect to 127\.0\.0\.1:1: .*ECONNREFUSED/);
  });

  test('CHRONIK_BROKERS is the default for -b', async () => {
    const r = await run(['topic', 'list'], { env: { CHRONIK_BROKERS: broker.bootstrap } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('orders');
  });
});

describe('cluster', () => {
  test('status: brokers, controller, partition problems', async () => {
    const text = await chronik(['cluster', 'status']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^Cluster: \S+ {2}Controller: 1$/m);
    expect(text.stdout).toMatch(/^1\s+127\.0\.0\.1\s+\d+\s+-\s+yes$/m);
    expect(text.stdout).toMatch(/^Topics: \d+ {2}Partitions: \d+ {2}Under-replicated: 0 {2}Offline: 0$/m);
    const json = jsonOf<Record<string, unknown>>(await chronik(['cluster', 'status', '--format', 'json']));
    expect(json).toMatchObject({
      controllerId: 1,
      brokers: [{ nodeId: 1, host: '127.0.0.1', port: broker.kafkaPort }],
      underReplicated: [],
      offline: [],
    });
  });

  test('health: ok from the admin API, exit 1 for a node that does not answer', async () => {
    const ok = await run(['cluster', 'health', '--admin', broker.adminUrl]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(
      new RegExp(`^${broker.adminUrl.replace(/\./g, '\\.')}\\s+1\\s+ok\\s+standalone\\s+1\\s+0\\s+-$`, 'm'),
    );
    const mixed = await run([
      'cluster',
      'health',
      '--admin',
      `${broker.adminUrl},http://127.0.0.1:1`,
      '--format',
      'json',
    ]);
    expect(mixed.code).toBe(1);
    expect(JSON.parse(mixed.stdout)).toMatchObject({
      healthy: false,
      nodes: [
        { nodeId: 1, status: 'ok', mode: 'standalone' },
        { admin: 'http://127.0.0.1:1', status: 'unreachable', nodeId: null },
      ],
    });
    const fromEnv = await run(['cluster', 'health'], { env: { CHRONIK_ADMIN: broker.adminUrl } });
    expect(fromEnv.code).toBe(0);
  });
});
