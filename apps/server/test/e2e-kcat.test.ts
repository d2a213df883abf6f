// End to end with kcat (librdkafka 2.x): metadata, and produce/consume with every compression codec;
// a read_committed consumer over transactional batches and markers written with raw requests
// (Produce with a transactional id, WriteTxnMarkers, as a transaction coordinator sends them).
import fs from 'node:fs';
import { consumeWithKcat, kcat } from './helpers/kcat.js';
import { NO_VERIFICATION, writeTransactions } from './helpers/raw-txn.js';
import type { ServerProcess } from './helpers/server.js';
import { startServer } from './helpers/server.js';

// Real processes and clients on a shared, loaded machine: generous per-test time.
jest.setTimeout(120_000);

let server: ServerProcess;
beforeAll(async () => {
  server = await startServer({ args: NO_VERIFICATION });
});
afterAll(async () => {
  expect(await server.stop()).toBe(0);
  fs.rmSync(server.dataDir, { recursive: true, force: true });
});

describe('kcat against chronik-server', () => {
  test.each(['none', 'gzip', 'snappy', 'lz4', 'zstd'])('produce and consume with -z %s', async (codec) => {
    const topic = `kcat-${codec}`;
    const lines = Array.from({ length: 200 }, (_, i) => `${codec}-message-${i}-${'x'.repeat(i % 50)}`);
    const p = await kcat(
      ['-b', server.bootstrap, '-P', '-t', topic, '-z', codec, '-X', 'acks=all', '-X', 'linger.ms=5'],
      `${lines.join('\n')}\n`,
    );
    expect(p.stderr).toBe('');
    expect(p.code).toBe(0);
    const got = await consumeWithKcat(server.bootstrap, topic);
    expect(got.map((m) => m.value)).toEqual(lines);
    expect(got.map((m) => m.offset)).toEqual(lines.map((_, i) => i));
  });

  test('-L lists brokers and topics', async () => {
    await kcat(['-b', server.bootstrap, '-P', '-t', 'listed-topic'], 'a\n');
    const r = await kcat(['-b', server.bootstrap, '-L']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`broker 1 at 127.0.0.1:${server.kafkaPort} (controller)`);
    expect(r.stdout).toMatch(
      /topic "listed-topic" with 1 partitions:\n\s+partition 0, leader 1, replicas: 1, isrs: 1/,
    );
  });

  test('a consumer whose fetch.max.bytes is below max.partition.fetch.bytes reads large messages to the end', async () => {
    // librdkafka refuses a response larger than receive.message.max.bytes and reconnects; the broker
    // must keep a response within fetch.max.bytes (but for the first batch, KIP-74) even when the
    // partition's own limit is larger.
    const topic = 'kcat-fetch-limits';
    const messages = Array.from(
      { length: 20 },
      (_, i) => `${String(i).padStart(2, '0')}-${'x'.repeat(300_000)}`,
    );
    const p = await kcat(
      ['-b', server.bootstrap, '-P', '-t', topic, '-X', 'acks=all'],
      `${messages.join('\n')}\n`,
    );
    expect(p.code).toBe(0);
    const c = await kcat([
      '-b',
      server.bootstrap,
      '-C',
      '-t',
      topic,
      '-o',
      'beginning',
      '-e',
      '-q',
      '-X',
      'fetch.max.bytes=1000000',
      '-X',
      'max.partition.fetch.bytes=6000000',
      '-X',
      'receive.message.max.bytes=1000512',
      '-f',
      '%o %S\n',
    ]);
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    expect(c.stdout).toBe(messages.map((m, i) => `${i} ${m.length}\n`).join(''));
  });

  test('keys, headers and an offset in the middle', async () => {
    const r = await kcat(
      ['-b', server.bootstrap, '-P', '-t', 'keyed', '-K', ':', '-H', 'h1=v1'],
      'k1:v1\nk2:v2\nk3:v3\n',
    );
    expect(r.code).toBe(0);
    const c = await kcat([
      '-b',
      server.bootstrap,
      '-C',
      '-t',
      'keyed',
      '-o',
      '1',
      '-e',
      '-q',
      '-f',
      '%k=%s %h\n',
    ]);
    expect(c.stdout).toBe('k2=v2 h1=v1\nk3=v3 h1=v1\n');
  });

  test('read_committed (librdkafka): control batches skipped, aborted records dropped, the end is the last stable offset', async () => {
    const topic = 'kcat-txn';
    const txns = await writeTransactions(server.kafkaPort, topic);
    try {
      const consume = async (isolation: string): Promise<string> => {
        const r = await kcat([
          '-b',
          server.bootstrap,
          '-C',
          '-t',
          topic,
          '-o',
          'beginning',
          '-e',
          '-q',
          '-X',
          `isolation.level=${isolation}`,
          '-f',
          '%o:%s\n',
        ]);
        expect(r.code).toBe(0);
        return r.stdout;
      };
      expect(await consume('read_committed')).toBe('0:p0\n3:b0\n6:p1\n');
      expect(await consume('read_uncommitted')).toBe('0:p0\n1:a0\n2:a1\n3:b0\n4:a2\n6:p1\n8:c0\n9:p2\n');
      await txns.commitOpen();
      expect(await consume('read_committed')).toBe('0:p0\n3:b0\n6:p1\n8:c0\n9:p2\n');
    } finally {
      txns.close();
    }
  });
});
