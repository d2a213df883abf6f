// Standalone storage faults on real data directories (issue 19 items 6, 8, 9, 12): each test writes
// data with a real broker and a real client (kafkajs), stops the broker, damages a copy of its data
// directory the way an operator or a disk might, and starts a broker on it again — or fills the
// disk under a running broker. What the node does in each case is in the README's Durability
// section.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  ApiKey,
  buildRecordBatch,
  defaultCreateTopicsRequest,
  defaultCreateTopicsRequestCreatableTopic,
  defaultDeleteTopicsRequest,
  defaultDeleteTopicsRequestDeleteTopicState,
  defaultMetadataRequest,
  decodeRecordBatch,
  defaultFetchRequest,
  defaultFetchRequestFetchPartition,
  defaultFetchRequestFetchTopic,
  defaultProduceRequest,
} from '@chronik/protocol';
import { Kafka, logLevel } from 'kafkajs';
import { isServerError } from '../src/errors.js';
import { removeDir, startBroker } from './helpers/broker.js';
import { RawClient } from './helpers/raw-client.js';
import { tempDir } from './helpers/server.js';

process.env['KAFKAJS_NO_PARTITIONER_WARNING'] = '1';

type Ctx = Awaited<ReturnType<typeof startBroker>>;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) removeDir(d);
});

function newDir(): string {
  const d = tempDir('chronik-storage-');
  dirs.push(d);
  return d;
}

/** A copy of a stopped broker's data directory, to damage. */
function copyOf(dataDir: string): string {
  const d = newDir();
  fs.cpSync(dataDir, d, { recursive: true });
  return d;
}

function kafkaOf(ctx: Ctx): Kafka {
  return new Kafka({
    clientId: 'storage-faults',
    brokers: [`127.0.0.1:${ctx.broker.kafkaPort}`],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
}

/** Produces one record with acks=all over a raw connection; the partition's error code. */
async function produceRaw(c: RawClient, topic: string, value: string): Promise<number> {
  const r = await c.request(ApiKey.Produce, 9, {
    ...defaultProduceRequest(),
    acks: -1,
    timeoutMs: 5000,
    topicData: [
      {
        name: topic,
        partitionData: [
          { index: 0, records: buildRecordBatch({ records: [{ value: Buffer.from(value) }] }) },
        ],
      },
    ],
  });
  return r.responses[0]?.partitionResponses[0]?.errorCode ?? -1;
}

/** The topics a Metadata request lists. */
async function topicNames(c: RawClient): Promise<string[]> {
  const md = await c.request(ApiKey.Metadata, 12, { ...defaultMetadataRequest(), topics: null });
  return md.topics.map((t) => t.name ?? '');
}

/** Every value of the partition from offset 0, or the fetch's error code. */
async function readAll(ctx: Ctx, topic: string, partition = 0): Promise<string[] | number> {
  const c = await RawClient.connect(ctx.broker.kafkaPort);
  try {
    const f = await c.request(ApiKey.Fetch, 12, {
      ...defaultFetchRequest(),
      maxWaitMs: 0,
      maxBytes: 16 << 20,
      topics: [
        {
          ...defaultFetchRequestFetchTopic(),
          topic,
          partitions: [
            {
              ...defaultFetchRequestFetchPartition(),
              partition,
              fetchOffset: 0n,
              partitionMaxBytes: 16 << 20,
            },
          ],
        },
      ],
    });
    const p = f.responses[0]?.partitions[0];
    if (p === undefined) return -1;
    if (p.errorCode !== 0) return p.errorCode;
    const values: string[] = [];
    const all = p.records ?? Buffer.alloc(0);
    for (let pos = 0; pos < all.length;) {
      const len = 12 + all.readInt32BE(pos + 8);
      for (const rec of decodeRecordBatch(all.subarray(pos, pos + len)).records)
        values.push(Buffer.from(rec.value ?? Buffer.alloc(0)).toString());
      pos += len;
    }
    return values;
  } finally {
    c.close();
  }
}

/** Starts a broker on `dataDir`, produces each topic's values with kafkajs (acks=all, one send each), stops it. */
async function writeDataDir(
  dataDir: string,
  topics: Record<string, string[]>,
  broker: { logSegmentBytes?: number } = {},
): Promise<void> {
  const ctx = await startBroker({ dataDir, broker });
  try {
    const producer = kafkaOf(ctx).producer();
    await producer.connect();
    for (const [topic, values] of Object.entries(topics))
      for (const value of values) await producer.send({ topic, acks: -1, messages: [{ value }] });
    await producer.disconnect();
  } finally {
    await ctx.stop();
  }
}

/** The error a broker on `dataDir` fails to start with (the test fails if it starts). */
async function startFailure(dataDir: string): Promise<Error> {
  let ctx: Ctx | undefined;
  try {
    ctx = await startBroker({ dataDir });
  } catch (e) {
    return e as Error;
  }
  await ctx.stop();
  throw new Error(`the broker started on ${dataDir}`);
}

/** Runs `f` on a broker started on `dataDir`, then stops it. */
async function withBroker<T>(dataDir: string, f: (ctx: Ctx) => Promise<T>): Promise<T> {
  const ctx = await startBroker({ dataDir });
  try {
    return await f(ctx);
  } finally {
    await ctx.stop();
  }
}

/** Mounts a tmpfs of `size` on `dir`; false (with the reason printed) where mounting is not allowed. */
function mountTmpfs(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return true;
  } catch (e) {
    process.stdout.write(`disk-full test skipped: cannot mount a tmpfs (${String(e).split('\n')[0]})\n`);
    return false;
  }
}

/** Fills the file system holding `dir` to the last byte (a file `filler` in it). */
function fillDisk(dir: string): void {
  const fd = fs.openSync(path.join(dir, 'filler'), 'w');
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch {
    // ENOSPC: full
  } finally {
    fs.closeSync(fd);
  }
}

/** The Kafka error name of a failed kafkajs call (its protocol error's type, through causes and aggregates). */
function kafkaErrorType(e: unknown): string {
  const err = e as {
    type?: unknown;
    cause?: unknown;
    originalError?: unknown;
    errors?: unknown[];
    message?: string;
  };
  if (typeof err.type === 'string') return err.type;
  const inner = err.cause ?? err.originalError ?? err.errors?.[0];
  return inner === undefined ? String(err.message) : kafkaErrorType(inner);
}

async function adminGet(ctx: Ctx, route: string): Promise<{ status: number; body: unknown }> {
  const r = await fetch(`http://127.0.0.1:${ctx.broker.adminPort}${route}`);
  return { status: r.status, body: await r.json() };
}

async function waitFor<T>(what: string, f: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const KAFKA_STORAGE_ERROR = 56;

describe('metadata snapshot (item 8)', () => {
  const snapshotOf = (d: string): string => path.join(d, 'metadata', 'snapshot.bin');
  let written: string;
  beforeAll(async () => {
    written = newDir();
    await writeDataDir(written, { orders: ['a', 'b', 'c'] });
  });

  test('one changed byte of a topic name is refused, naming the file and the checksum', async () => {
    const d = copyOf(written);
    const raw = fs.readFileSync(snapshotOf(d));
    const at = raw.indexOf('orders');
    expect(at).toBeGreaterThan(0);
    raw[at + 4] = 'x'.charCodeAt(0); // "ordexs"
    fs.writeFileSync(snapshotOf(d), raw);
    const e = await startFailure(d);
    expect(isServerError(e, 'DATA_DIR_CORRUPT')).toBe(true);
    expect(e.message).toContain(snapshotOf(d));
    expect(e.message).toContain('payload checksum mismatch');
  });

  test('a truncated snapshot is refused, naming the file', async () => {
    const d = copyOf(written);
    const raw = fs.readFileSync(snapshotOf(d));
    fs.writeFileSync(snapshotOf(d), raw.subarray(0, raw.length - 7));
    const e = await startFailure(d);
    expect(isServerError(e, 'DATA_DIR_CORRUPT')).toBe(true);
    expect(e.message).toContain(snapshotOf(d));
  });

  test('a damaged magic is refused, naming the file', async () => {
    const d = copyOf(written);
    const raw = fs.readFileSync(snapshotOf(d));
    raw.writeUInt8(raw.readUInt8(1) ^ 0x20, 1);
    fs.writeFileSync(snapshotOf(d), raw);
    const e = await startFailure(d);
    expect(isServerError(e, 'DATA_DIR_CORRUPT')).toBe(true);
    expect(e.message).toContain(snapshotOf(d));
  });

  test('an unchecksummed snapshot of an older build is read and rewritten with a checksum', async () => {
    const d = copyOf(written);
    const raw = fs.readFileSync(snapshotOf(d));
    expect(raw.subarray(0, 4).toString()).toBe('CKMS');
    fs.writeFileSync(snapshotOf(d), raw.subarray(20)); // the bare msgpack an older build wrote
    expect(await withBroker(d, (ctx) => readAll(ctx, 'orders'))).toEqual(['a', 'b', 'c']);
    expect(fs.readFileSync(snapshotOf(d)).subarray(0, 4).toString()).toBe('CKMS');
  });
});

describe('missing metadata snapshot (item 9)', () => {
  test('partition logs without a metadata snapshot are refused, naming the remedy; moving them away starts empty', async () => {
    const written = newDir();
    await writeDataDir(written, { orders: ['a', 'b', 'c'] });
    const d = copyOf(written);
    fs.rmSync(path.join(d, 'metadata', 'snapshot.bin'));
    const e = await startFailure(d);
    expect(isServerError(e, 'DATA_DIR_CORRUPT')).toBe(true);
    const partitions = path.join(d, 'partitions');
    expect(e.message).toContain(path.join(d, 'metadata', 'snapshot.bin'));
    expect(e.message).toContain(`mv ${partitions} ${partitions}.orphaned`);
    // The deliberate reset the message names: the node starts as a new, empty cluster.
    fs.renameSync(partitions, `${partitions}.orphaned`);
    const topics = await withBroker(d, async (ctx) => {
      const admin = kafkaOf(ctx).admin();
      await admin.connect();
      const names = await admin.listTopics();
      await admin.disconnect();
      return names;
    });
    expect(topics).not.toContain('orders');
  });
});

describe('disk full (item 6)', () => {
  let mounted: string | undefined;
  afterAll(() => {
    if (mounted !== undefined) execFileSync('umount', ['-l', mounted]);
  });

  test('a full disk is KAFKA_STORAGE_ERROR and a stopped partition in /health; once space is back it serves again, nothing acknowledged lost', async () => {
    const dataDir = newDir();
    if (!mountTmpfs(dataDir, '6m')) return;
    mounted = dataDir;
    const ctx = await startBroker({ dataDir });
    try {
      const kafka = kafkaOf(ctx);
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: 'fill' }, { topic: 'keep' }], waitForLeaders: true });
      await admin.disconnect();
      const raw = await RawClient.connect(ctx.broker.kafkaPort);
      expect(await produceRaw(raw, 'keep', 'k')).toBe(0);
      const acked: string[] = [];
      let code = 0;
      // ~6 MB fill the disk: every produce up to the first failure is acknowledged (acks=all).
      for (let i = 0; i < 200 && code === 0; i++) {
        const value = `${i}:`.padEnd(100_000, 'x');
        code = await produceRaw(raw, 'fill', value);
        if (code === 0) acked.push(value);
      }
      expect(code).toBe(KAFKA_STORAGE_ERROR);
      expect(await produceRaw(raw, 'fill', 'refused')).toBe(KAFKA_STORAGE_ERROR);
      raw.close();
      expect(acked.length).toBeGreaterThan(10);
      // The partition is stopped, says why, and will be opened again.
      const health = await adminGet(ctx, '/health');
      expect(health.body).toMatchObject({
        status: 'degraded',
        replicas: [{ topic: 'fill', partition: 0, state: 'stopped', reopenAtMs: expect.any(Number) }],
      });
      expect(JSON.stringify(health.body)).toMatch(/ENOSPC|no space/i);
      const partitions = (await adminGet(ctx, '/v1/partitions')).body as Array<Record<string, unknown>>;
      expect(partitions.find((p) => p['topic'] === 'fill')).toMatchObject({ state: 'stopped' });
      // With the disk quite full, a topic is refused whole: its creation is undone, not left in
      // memory to vanish at the next restart.
      fillDisk(dataDir);
      const c = await RawClient.connect(ctx.broker.kafkaPort);
      const created = await c.request(ApiKey.CreateTopics, 7, {
        ...defaultCreateTopicsRequest(),
        timeoutMs: 5000,
        topics: [
          {
            ...defaultCreateTopicsRequestCreatableTopic(),
            name: 'while-full',
            numPartitions: 2,
            replicationFactor: 1,
          },
        ],
      });
      expect(created.topics[0]?.errorCode).toBe(KAFKA_STORAGE_ERROR);
      expect(await topicNames(c)).not.toContain('while-full');
      // … and so is a deletion: the topic stays, with its data.
      const deleted = await c.request(ApiKey.DeleteTopics, 6, {
        ...defaultDeleteTopicsRequest(),
        timeoutMs: 5000,
        topics: [{ ...defaultDeleteTopicsRequestDeleteTopicState(), name: 'keep' }],
      });
      expect(deleted.responses[0]?.errorCode).toBe(KAFKA_STORAGE_ERROR);
      expect(await topicNames(c)).toContain('keep');
      c.close();
      await waitFor(
        'keep to be served again',
        async () => (JSON.stringify(await readAll(ctx, 'keep')) === '["k"]' ? true : undefined),
        5000,
      );
      // Space comes back: the node opens the partition again by itself, and it takes writes.
      execFileSync('mount', ['-o', 'remount,size=64m', dataDir]);
      await waitFor(
        '/health to be ok',
        async () =>
          ((await adminGet(ctx, '/health')).body as { status: string }).status === 'ok' || undefined,
        10_000,
      );
      const producer = kafka.producer();
      await producer.connect();
      const more = ['after-1', 'after-2'];
      for (const value of more) await producer.send({ topic: 'fill', acks: -1, messages: [{ value }] });
      await producer.disconnect();
      expect(await readAll(ctx, 'fill')).toEqual([...acked, ...more]);
    } finally {
      await ctx.stop();
    }
    // And after a restart.
    const values = await withBroker(dataDir, (c) => readAll(c, 'fill'));
    expect(Array.isArray(values) && values.slice(-2)).toEqual(['after-1', 'after-2']);
  });
});

describe('lost partition data (item 12)', () => {
  /** About 36 MB: two WAL segments with the smallest segment size (a segment holds at least 32 MiB). */
  const bigValues = Array.from({ length: 36 }, (_, i) => `${i}:`.padEnd(1_000_000, 'x'));
  let written: string;
  /** A topic's partition-0 directory in a copy of `written`: the topic with the most bytes is 'big'. */
  const partitionDirOf = (d: string, topic: 'big' | 'small'): string => {
    const root = path.join(d, 'partitions');
    const bySize = fs
      .readdirSync(root)
      .map((id) => path.join(root, id, '0'))
      .map((dir) => ({
        dir,
        bytes: fs.readdirSync(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0),
      }))
      .sort((a, b) => a.bytes - b.bytes);
    return (topic === 'small' ? bySize[0] : bySize[bySize.length - 1])!.dir;
  };
  const segmentsIn = (dir: string): string[] =>
    fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.log'))
      .sort();

  beforeAll(async () => {
    written = newDir();
    await writeDataDir(written, { small: ['a', 'b', 'c'], big: bigValues }, { logSegmentBytes: 1 << 20 });
    expect(segmentsIn(partitionDirOf(written, 'big'))).toHaveLength(2);
    expect(segmentsIn(partitionDirOf(written, 'small'))).toHaveLength(1);
  }, 60_000);

  /** Starts a broker on `d`: the damaged partition is offline, the other serves. */
  async function expectOffline(d: string, damaged: 'big' | 'small', reason: RegExp): Promise<void> {
    await withBroker(d, async (ctx) => {
      const health = await adminGet(ctx, '/health');
      expect(health.body).toMatchObject({
        status: 'degraded',
        replicas: [{ topic: damaged, partition: 0, state: 'not-opened' }],
      });
      const problems = (health.body as { replicas: Array<{ error: string; reopenAtMs?: number }> }).replicas;
      expect(problems[0]?.error).toMatch(reason);
      expect(problems[0]?.reopenAtMs).toBeUndefined(); // lost data does not come back by itself
      // A client is answered KAFKA_STORAGE_ERROR, never the rest of the log as if it were all of it,
      // and Metadata names no leader for the partition (LEADER_NOT_AVAILABLE: ask again later).
      expect(await readAll(ctx, damaged)).toBe(KAFKA_STORAGE_ERROR);
      const c = await RawClient.connect(ctx.broker.kafkaPort);
      expect(await produceRaw(c, damaged, 'more')).toBe(KAFKA_STORAGE_ERROR);
      c.close();
      const admin = kafkaOf(ctx).admin();
      await admin.connect();
      const md = await admin.fetchTopicMetadata({ topics: [damaged] }).then(
        (m) => m.topics[0]?.partitions[0]?.leader,
        (e: unknown) => kafkaErrorType(e),
      );
      await admin.disconnect();
      expect([-1, 'LEADER_NOT_AVAILABLE']).toContain(md);
      const other = damaged === 'big' ? 'small' : 'big';
      const values = await readAll(ctx, other);
      expect(Array.isArray(values) && values.map((v) => v.split(':')[0]).slice(0, 3)).toEqual(
        other === 'big' ? ['0', '1', '2'] : ['a', 'b', 'c'],
      );
    });
  }

  test('a deleted partition directory: the partition is not opened (KAFKA_STORAGE_ERROR), naming the directory', async () => {
    const d = copyOf(written);
    const dir = partitionDirOf(d, 'small');
    fs.rmSync(dir, { recursive: true });
    await expectOffline(d, 'small', new RegExp(`${dir} is missing`));
  });

  test("a partition's deleted only segment: not opened, naming the segment", async () => {
    const d = copyOf(written);
    const dir = partitionDirOf(d, 'small');
    const [segment] = segmentsIn(dir);
    fs.rmSync(path.join(dir, segment!));
    await expectOffline(d, 'small', new RegExp(`${segment!}, is missing`));
  });

  test("a partition's deleted first segment: not opened, instead of its log start moving", async () => {
    const d = copyOf(written);
    const dir = partitionDirOf(d, 'big');
    const [first, second] = segmentsIn(dir);
    fs.rmSync(path.join(dir, first!));
    await expectOffline(
      d,
      'big',
      new RegExp(`should start at index 1 but its first segment starts at ${Number(second!.slice(0, 20))}`),
    );
  });
});
