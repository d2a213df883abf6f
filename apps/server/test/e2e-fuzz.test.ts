// Fuzz: malformed and random frames thrown at a running chronik-server while kafkajs keeps
// producing. The producer must see no error, every acknowledged record must be there, and the
// server must still answer. Seeded (CHRONIK_FUZZ_SEED); the seed is printed on failure.
import net from 'node:net';
import fs from 'node:fs';
import {
  ApiKey,
  buildRecordBatch,
  defaultMetadataRequest,
  defaultProduceRequest,
  encodeRequestFrame,
} from '@chronik/protocol';
import { Kafka, logLevel } from 'kafkajs';
import { consumeWithKcat } from './helpers/kcat.js';
import type { ServerProcess } from './helpers/server.js';
import { startServer } from './helpers/server.js';
import { seededRandom } from './helpers/prng.js';

// Real processes and clients on a shared, loaded machine: generous per-test time.
jest.setTimeout(120_000);

process.env['KAFKAJS_NO_PARTITIONER_WARNING'] = '1';
const SEED = Number(process.env['CHRONIK_FUZZ_SEED'] ?? Date.now() % 1_000_000);
const ROUNDS = Number(process.env['CHRONIK_FUZZ_ROUNDS'] ?? 300);

let server: ServerProcess;
beforeAll(async () => {
  server = await startServer({ args: ['--max-request-bytes', String(1 << 20)] });
});
afterAll(async () => {
  await server.stop();
  fs.rmSync(server.dataDir, { recursive: true, force: true });
});

function validFrames(): Buffer[] {
  const batch = buildRecordBatch({ records: [{ value: Buffer.from('fuzz') }], timestampMs: 1n });
  const produce = {
    ...defaultProduceRequest(),
    acks: 1,
    timeoutMs: 1000,
    topicData: [{ name: 'fuzz-target', partitionData: [{ index: 0, records: batch }] }],
  };
  return [
    Buffer.concat(
      encodeRequestFrame(
        { requestApiKey: ApiKey.ApiVersions, requestApiVersion: 3, correlationId: 1, clientId: 'f' },
        { clientSoftwareName: 'f', clientSoftwareVersion: '1' },
      ),
    ),
    Buffer.concat(
      encodeRequestFrame(
        { requestApiKey: ApiKey.Metadata, requestApiVersion: 12, correlationId: 2, clientId: 'f' },
        { ...defaultMetadataRequest(), topics: null },
      ),
    ),
    Buffer.concat(
      encodeRequestFrame(
        { requestApiKey: ApiKey.Produce, requestApiVersion: 9, correlationId: 3, clientId: 'f' },
        produce,
      ),
    ),
    Buffer.concat(
      encodeRequestFrame(
        { requestApiKey: ApiKey.Produce, requestApiVersion: 3, correlationId: 4, clientId: null },
        produce,
      ),
    ),
  ];
}

function mutate(r: () => number, frames: Buffer[]): Buffer {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const kind = Math.floor(r() * 6);
  const rand = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
  switch (kind) {
    case 0:
      return rand(1 + Math.floor(r() * 200)); // pure garbage
    case 1: {
      const body = rand(Math.floor(r() * 300));
      const f = Buffer.alloc(4 + body.length);
      f.writeInt32BE(body.length);
      body.copy(f, 4);
      return f; // well-framed garbage
    }
    case 2: {
      const f = Buffer.from(pick(frames));
      for (let i = 0; i < 1 + Math.floor(r() * 5); i++) {
        const at = 4 + Math.floor(r() * (f.length - 4));
        f.writeUInt8(Math.floor(r() * 256), at);
      }
      return f; // a real request with flipped bytes
    }
    case 3: {
      const f = Buffer.from(pick(frames));
      const cut = 4 + Math.floor(r() * (f.length - 4));
      const out = f.subarray(0, cut);
      out.writeInt32BE(cut - 4, 0);
      return out; // truncated body with a consistent size
    }
    case 4: {
      const f = Buffer.alloc(4);
      f.writeInt32BE(r() < 0.5 ? -1 - Math.floor(r() * 1000) : (1 << 20) + 1 + Math.floor(r() * 1e9));
      return f; // negative or oversized size
    }
    default: {
      const f = Buffer.from(pick(frames));
      f.writeInt16BE(Math.floor(r() * 65536) - 32768, 4); // random API key
      f.writeInt16BE(Math.floor(r() * 100), 6); // random version
      return f;
    }
  }
}

async function throwFrame(port: number, data: Buffer): Promise<void> {
  await new Promise<void>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const done = (): void => {
      s.destroy();
      resolve();
    };
    s.setTimeout(300, done);
    s.on('error', done);
    s.on('close', done);
    s.on('connect', () => s.write(data));
    s.on('data', () => undefined);
  });
}

test(`malformed and random frames never disturb a producing client (seed ${SEED})`, async () => {
  const r = seededRandom(SEED);
  const kafka = new Kafka({
    clientId: 'fuzz-victim',
    brokers: [server.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
  // No retries: any error the broker causes surfaces here.
  const producer = kafka.producer({ maxInFlightRequests: 1 });
  await producer.connect();
  let produced = 0;
  const errors: string[] = [];
  let stop = false;
  const producing = (async () => {
    while (!stop) {
      try {
        await producer.send({ topic: 'fuzz-victim', acks: -1, messages: [{ value: `m${produced}` }] });
        produced++;
      } catch (e) {
        errors.push(String(e));
        break;
      }
    }
  })();
  const frames = validFrames();
  const attackers = Array.from({ length: 4 }, async () => {
    for (let i = 0; i < ROUNDS / 4; i++) await throwFrame(server.kafkaPort, mutate(r, frames));
  });
  await Promise.all(attackers);
  stop = true;
  await producing;
  await producer.disconnect();
  if (errors.length > 0) throw new Error(`seed ${SEED}: the producer failed: ${errors[0]}`);
  expect(produced).toBeGreaterThan(10);
  const got = await consumeWithKcat(server.bootstrap, 'fuzz-victim');
  expect(got.map((m) => m.value)).toEqual(Array.from({ length: produced }, (_, i) => `m${i}`));
  expect(server.proc.exitCode).toBeNull();
});
