// Damage inside a sealed segment of a standalone partition (its log opens trusting the segment's
// index, so nothing checks those records at start) is found by the log scrubber within seconds of
// the start, not only when a consumer reads there: /v1/partitions names the damaged replica and the
// file, /health says "degraded", /metrics counts it. The batches before the damage are still served.
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { removeDir, startBroker } from './helpers/broker.js';

jest.setTimeout(60_000);

const TOPIC = 'scrubbed';

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function kafkaFor(port: number): Kafka {
  return new Kafka({ clientId: 'scrub-test', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING });
}

/** The segment files of the topic's partition 0, oldest first. */
function segments(dataDir: string): string[] {
  const root = path.join(dataDir, 'partitions');
  for (const topicId of fs.readdirSync(root)) {
    const dir = path.join(root, topicId, '0');
    const logs = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.log')) : [];
    if (logs.length > 1) return logs.sort().map((f) => path.join(dir, f));
  }
  throw new Error(`no partition with sealed segments: ${execSync(`find ${root} -ls`).toString()}`);
}

test('a damaged record in a sealed segment is reported by the scrubber in /v1/partitions, /health and /metrics', async () => {
  // Standalone segments hold at least the largest batch (32 MiB): write a little more than one.
  const segmentBytes = { logSegmentBytes: 1024 * 1024 };
  const first = await startBroker({ broker: { ...segmentBytes, logScrubBytesPerSec: 0 } });
  const dataDir = first.dataDir;
  try {
    const kafka = kafkaFor(first.broker.kafkaPort);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: TOPIC, numPartitions: 1 }],
    });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    const value = Buffer.alloc(1000, 7);
    for (let i = 0; i < 72; i++)
      await producer.send({
        topic: TOPIC,
        acks: -1,
        messages: Array.from({ length: 500 }, (_, j) => ({ key: `k${i}-${j}`, value })),
      });
    await producer.disconnect();
    await first.stop();

    // A bit flip in the middle of the first (sealed) segment.
    const [sealed] = segments(dataDir);
    const fd = fs.openSync(sealed!, 'r+');
    const at = Math.floor(fs.statSync(sealed!).size / 2);
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, at);
    b[0] = b[0]! ^ 0x40;
    fs.writeSync(fd, b, 0, 1, at);
    fs.closeSync(fd);

    const second = await startBroker({
      dataDir,
      broker: { ...segmentBytes, logScrubBytesPerSec: 64 * 1024 * 1024 },
    });
    try {
      const base = `http://127.0.0.1:${second.broker.adminPort}`;
      const deadline = Date.now() + 15_000;
      let mine: Record<string, unknown> | undefined;
      for (;;) {
        const parts = (await getJson(`${base}/v1/partitions`)).body as unknown as Array<
          Record<string, unknown>
        >;
        mine = parts.find((p) => p.topic === TOPIC && p.partition === 0);
        if (mine?.state === 'damaged' || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(mine?.state).toBe('damaged');
      expect(String(mine?.error)).toContain(path.basename(sealed!));

      const health = await getJson(`${base}/health`);
      expect(health.status).toBe(200);
      expect(health.body.status).toBe('degraded');
      expect(health.body.replicas).toEqual([
        expect.objectContaining({ topic: TOPIC, partition: 0, state: 'damaged' }),
      ]);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/chronik_replica_problems\{state="damaged"\} 1/);
      expect(metrics).toMatch(/chronik_log_scrub_damage_total 1/);

      // The batches before the damage are served.
      const consumer = kafkaFor(second.broker.kafkaPort).consumer({ groupId: 'scrub-reader' });
      await consumer.connect();
      await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
      let got = 0;
      await consumer.run({
        eachBatch: async ({ batch }) => {
          got += batch.messages.length;
        },
      });
      const until = Date.now() + 10_000;
      while (got === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      await consumer.disconnect();
      expect(got).toBeGreaterThan(0);
    } finally {
      await second.stop();
    }
  } finally {
    removeDir(dataDir);
  }
});
