// Hostile and careless clients against a real chronik-server process (issue 19, items 1, 2 and 4),
// each beside a well-behaved librdkafka producer (confluent-kafka-python under /usr/bin/python3:
// one message at a time, acks=1, each latency reported) whose latency is compared with its own,
// measured just before the abuse:
//
// - six connections that send only size prefixes announcing 512 MiB of frames hold nothing, and are
//   closed when their frames do not arrive in time;
// - forty connections pipelining Metadata requests for a 1,000-partition topic without ever reading
//   the responses stall only themselves: memory stays flat, the producer is served, and once they
//   are gone nothing of theirs is processed;
// - the same forty with a request quota for their client id (Kafka's request_percentage): their
//   responses carry a throttle time, each connection is muted for it, and the producer's p99 stays
//   within twice its unloaded p99;
// - a flood of malformed frames and requests is logged once per remote address and interval, at
//   info, and counted in /metrics.
//
// The machine is shared and has two cores: latencies are compared by their medians with margins
// (the quota's test by p99, with a margin it explains), and the abuse is sized to be clearly hostile
// to the old code while leaving the machine usable.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  ApiKey,
  FrameDecoder,
  decodeResponseFrame,
  defaultCreateTopicsRequest,
  defaultCreateTopicsRequestCreatableTopic,
  defaultMetadataRequest,
  encodeRequestFrame,
} from '@chronik/protocol';
import { RawClient } from './helpers/raw-client.js';
import type { ServerProcess } from './helpers/server.js';
import { startServer } from './helpers/server.js';

jest.setTimeout(60_000);

const SCRIPT = path.join(__dirname, 'scripts', 'confluent_client.py');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Sample {
  /** Wall-clock ms when the message was sent. */
  t: number;
  ms: number;
  err: string | null;
}

/**
 * The latency probe: a librdkafka producer sending one message at a time for `seconds`, pausing
 * `pauseMs` between messages.
 */
function startProbe(bootstrap: string, topic: string, seconds: number, pauseMs = 10) {
  const samples: Sample[] = [];
  const args = [SCRIPT, bootstrap, 'latency-probe', topic, String(seconds), String(pauseMs)];
  const p = spawn('/usr/bin/python3', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let buf = '';
  let stderr = '';
  p.stdout.on('data', (c: Buffer) => {
    buf += c.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = JSON.parse(buf.slice(0, i)) as Partial<Sample>;
      buf = buf.slice(i + 1);
      if (line.ms !== undefined) samples.push(line as Sample);
    }
  });
  p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => p.on('close', (code) => resolve(code)));
  return {
    samples,
    /** Resolves once the probe has delivered its first message. */
    async ready(): Promise<void> {
      const deadline = Date.now() + 20_000;
      while (samples.length === 0) {
        if (Date.now() > deadline || p.exitCode !== null) throw new Error(`probe did not start: ${stderr}`);
        await sleep(50);
      }
    },
    async stop(): Promise<void> {
      p.kill('SIGKILL');
      await exited;
    },
  };
}

/** Latencies of the messages sent in [from, to). */
function window(samples: readonly Sample[], from: number, to: number): number[] {
  return samples
    .filter((s) => s.t >= from && s.t < to)
    .map((s) => (s.err === null ? s.ms : Infinity))
    .sort((a, b) => a - b);
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Infinity;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

function describeWindow(name: string, xs: readonly number[]): string {
  const f = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : 'none');
  return `${name}: n ${xs.length}, p50 ${f(quantile(xs, 0.5))} ms, p99 ${f(quantile(xs, 0.99))} ms, max ${f(quantile(xs, 1))} ms`;
}

function rawConnect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

async function metrics(server: ServerProcess): Promise<string> {
  return (await fetch(`http://127.0.0.1:${server.adminPort}/metrics`)).text();
}

/** The value of one sample of /metrics (0 when absent). */
function metric(text: string, name: string, labels = ''): number {
  const escaped = `${name}${labels}`.replace(/[{}"\\]/g, (c) => `\\${c}`);
  const m = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

async function healthMs(server: ServerProcess, timeoutMs: number): Promise<number> {
  const t = performance.now();
  try {
    const res = await fetch(`http://127.0.0.1:${server.adminPort}/health`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.text();
    return performance.now() - t;
  } catch {
    return Infinity;
  }
}

/** The client id of the pipelining abusers that have a request quota (1 % of the event loop). */
const QUOTA_CLIENT_ID = 'quota-abuser';

let server: ServerProcess;
beforeAll(async () => {
  server = await startServer({
    args: [
      '--request-frame-timeout-ms',
      '3000',
      '--client-error-log-interval-ms',
      '1500',
      '--quota-request-percentage-by-client',
      `${QUOTA_CLIENT_ID}=1`,
    ],
  });
});
afterAll(async () => {
  await server.stop();
  fs.rmSync(server.dataDir, { recursive: true, force: true });
});

test('24 bytes: connections announcing 512 MiB of frames hold nothing, and are closed when the frames do not come', async () => {
  const probe = startProbe(server.bootstrap, 'hostile-prefixes', 12);
  const hogs: net.Socket[] = [];
  try {
    await probe.ready();
    const unloadedFrom = Date.now();
    await sleep(2000);
    const abuseFrom = Date.now();
    // Issue 19, item 1: five 100 MiB frames and one 12 MiB frame announced, nothing more sent.
    for (let i = 0; i < 6; i++) hogs.push(await rawConnect(server.kafkaPort));
    const hogsClosed = hogs.map((s) => new Promise<number>((r) => s.once('close', () => r(Date.now()))));
    for (const [i, s] of hogs.entries()) {
      s.on('error', () => undefined);
      const prefix = Buffer.alloc(4);
      prefix.writeInt32BE(i < 5 ? 100 * 1024 * 1024 : 12 * 1024 * 1024);
      s.write(prefix);
    }
    await sleep(2500);
    const abuseTo = Date.now();
    const closedAt = await Promise.race([Promise.all(hogsClosed), sleep(8000).then(() => undefined)]);
    await sleep(1500);
    const unloaded = window(probe.samples, unloadedFrom, abuseFrom);
    const abused = window(probe.samples, abuseFrom + 200, abuseTo);
    const after = window(probe.samples, abuseTo, Date.now());
    const report = [
      describeWindow('unloaded', unloaded),
      describeWindow('abuse', abused),
      describeWindow('after', after),
    ];
    process.stdout.write(`hostile prefixes: ${report.join('; ')}\n`);
    // The producer is served throughout, as fast as before (these connections hold 24 bytes).
    expect({ report, served: abused.length >= 20 }).toEqual({ report, served: true });
    expect(quantile(abused, 0.5)).toBeLessThanOrEqual(2 * quantile(unloaded, 0.5) + 2);
    // Their frames never came: each was closed at its deadline (3 s after the prefix).
    expect(closedAt).toBeDefined();
    for (const t of closedAt ?? []) expect(t - abuseFrom).toBeGreaterThanOrEqual(2500);
    const m = await metrics(server);
    expect(metric(m, 'chronik_closed_connections_total', '{reason="frame_timeout"}')).toBe(6);
  } finally {
    for (const s of hogs) s.destroy();
    await probe.stop();
  }
});

/** The 1,000-partition topic the pipelining abusers ask for, created once for the tests that use it. */
let wideTopic: Promise<string> | undefined;
function createWideTopic(): Promise<string> {
  wideTopic ??= (async () => {
    const wide = 'hostile-wide';
    const admin = await RawClient.connect(server.kafkaPort);
    const created = await admin.request(
      ApiKey.CreateTopics,
      4,
      {
        ...defaultCreateTopicsRequest(),
        timeoutMs: 30_000,
        topics: [
          {
            ...defaultCreateTopicsRequestCreatableTopic(),
            name: wide,
            numPartitions: 1000,
            replicationFactor: 1,
          },
        ],
      },
      30_000,
    );
    expect(created.topics[0]?.errorCode).toBe(0);
    admin.close();
    return wide;
  })();
  return wideTopic;
}

/**
 * 4,000 Metadata requests for `topic` (200 KB) from `clientId`, pipelined and never read: about
 * 100 MB of responses per connection if they were all answered (the case had 2,000
 * partitions; 1,000 keep the test's setup short).
 */
function metadataPipeline(topic: string, clientId: string): Buffer {
  const request = Buffer.concat(
    encodeRequestFrame(
      { requestApiKey: ApiKey.Metadata, requestApiVersion: 12, correlationId: 1, clientId },
      {
        ...defaultMetadataRequest(),
        topics: [{ name: topic, topicId: '00000000-0000-0000-0000-000000000000' }],
      },
    ),
  );
  return Buffer.concat(Array<Buffer>(4000).fill(request));
}

test('forty connections pipelining Metadata without reading stall only themselves, and nothing of theirs runs once they are gone', async () => {
  const wide = await createWideTopic();
  const metadataAnswered = async (): Promise<number> =>
    metric(await metrics(server), 'chronik_requests_total', '{api="Metadata",outcome="ok"}');

  const probe = startProbe(server.bootstrap, 'hostile-pipelines', 20);
  const abusers: net.Socket[] = [];
  try {
    await probe.ready();
    const unloadedFrom = Date.now();
    await sleep(2000);
    const pid = server.proc.pid as number;
    const rssBefore = rssMb(pid);
    const abuseFrom = Date.now();
    // No quota for this client id: the turns alone keep the producer served.
    const pipeline = metadataPipeline(wide, 'abuser');
    for (let i = 0; i < 40; i++) {
      const s = await rawConnect(server.kafkaPort);
      s.on('error', () => undefined);
      s.pause();
      s.write(pipeline);
      abusers.push(s);
    }
    let rssMax = rssBefore;
    const health: number[] = [];
    while (Date.now() < abuseFrom + 6000) {
      health.push(await healthMs(server, 5000));
      rssMax = Math.max(rssMax, rssMb(pid));
      await sleep(500);
    }
    const abuseTo = Date.now();
    const answeredDuring = await metadataAnswered();
    for (const s of abusers) s.destroy();
    const goneAt = Date.now();
    await sleep(1000);
    const answeredSoonAfter = await metadataAnswered();
    await sleep(2000);
    const answeredLater = await metadataAnswered();
    const healthAfter = await healthMs(server, 5000);

    const unloaded = window(probe.samples, unloadedFrom, abuseFrom);
    const abused = window(probe.samples, abuseFrom, abuseTo);
    const after = window(probe.samples, goneAt + 1000, Date.now());
    const report = [
      describeWindow('unloaded', unloaded),
      describeWindow('abuse', abused),
      describeWindow('after', after),
      `Metadata answered: ${answeredDuring} by the end of the abuse, ${answeredSoonAfter} 1 s after, ${answeredLater} 3 s after`,
      `rss ${rssBefore.toFixed(0)} → max ${rssMax.toFixed(0)} MB; /health ${Math.max(...health).toFixed(0)} ms at most, ${healthAfter.toFixed(0)} ms after`,
    ];
    process.stdout.write(`hostile pipelines: ${report.join('; ')}\n`);
    // The producer is served throughout. The broker is busy with the abusers' requests (one at a
    // time, lightest connection first), so each message waits for about one of them to finish —
    // a few ms, more when other processes load the machine: a generous margin, and at most 5 s
    // (on a 2-core machine also running other test processes one message took 2.4 s; before the
    // fix the producer got two answers in 6 s, each after 6.7 s).
    expect({ report, served: abused.length >= 50 }).toEqual({ report, served: true });
    expect({ report, p50: quantile(abused, 0.5) <= 2 * quantile(unloaded, 0.5) + 20 }).toEqual({
      report,
      p50: true,
    });
    expect({ report, max: quantile(abused, 1) < 5000 }).toEqual({ report, max: true });
    // The admin API too, and memory stays flat (each abuser is muted after a few MB).
    expect({ report, health: Math.max(...health) < 1000 }).toEqual({ report, health: true });
    expect({ report, rss: rssMax - rssBefore < 300 }).toEqual({ report, rss: true });
    // Once they are gone nothing of theirs is processed, and the producer is back to normal.
    expect({ report, stopped: answeredLater - answeredSoonAfter }).toEqual({ report, stopped: 0 });
    expect({ report, after: quantile(after, 0.5) <= 2 * quantile(unloaded, 0.5) + 2 }).toEqual({
      report,
      after: true,
    });
    expect(healthAfter).toBeLessThan(1000);
  } finally {
    for (const s of abusers) s.destroy();
    await probe.stop();
  }
});

test('forty pipelining connections whose client id has a request quota are throttled: the producer keeps its p99', async () => {
  const wide = await createWideTopic();
  const before = await metrics(server);
  // Five times the other tests' rate: a p99 of over a thousand messages, not of a few hundred.
  const probe = startProbe(server.bootstrap, 'hostile-quota', 24, 2);
  const abusers: net.Socket[] = [];
  try {
    await probe.ready();
    const unloadedFrom = Date.now();
    await sleep(4000);
    const abuseFrom = Date.now();
    const pipeline = metadataPipeline(wide, QUOTA_CLIENT_ID);
    for (let i = 0; i < 40; i++) {
      const s = await rawConnect(server.kafkaPort);
      s.on('error', () => undefined);
      s.pause();
      s.write(pipeline);
      abusers.push(s);
    }
    await sleep(6000);
    const abuseTo = Date.now();
    const during = await metrics(server);
    // What the abusers were sent: each response carries the throttle time it was given.
    const throttles: number[] = [];
    await Promise.all(
      abusers.map(
        (s) =>
          new Promise<void>((resolve) => {
            const decoder = new FrameDecoder({ maxFrameBytes: 1 << 20 });
            s.on('data', (c: Buffer) => {
              for (const f of decoder.push(c))
                throttles.push(decodeResponseFrame(ApiKey.Metadata, 12, f).body.throttleTimeMs);
            });
            s.resume();
            setTimeout(resolve, 300);
          }),
      ),
    );
    for (const s of abusers) s.destroy();
    const goneAt = Date.now();
    await sleep(4000);

    const unloaded = window(probe.samples, unloadedFrom, abuseFrom);
    const abused = window(probe.samples, abuseFrom, abuseTo);
    const after = window(probe.samples, goneAt + 1000, Date.now());
    const delta = (name: string, labels: string): number =>
      metric(during, name, labels) - metric(before, name, labels);
    const throttled = throttles.filter((t) => t > 0);
    const report = [
      describeWindow('unloaded', unloaded),
      describeWindow('abuse', abused),
      describeWindow('after', after),
      `Metadata answered during the abuse: ${delta('chronik_requests_total', '{api="Metadata",outcome="ok"}')}`,
      `abusers read ${throttles.length} responses, ${throttled.length} throttled (max ${Math.max(0, ...throttles)} ms)`,
      `throttled responses ${delta('chronik_throttled_responses_total', '{quota="request"}')}`,
    ];
    process.stdout.write(`hostile pipelines with a request quota: ${report.join('; ')}\n`);
    // The abusers are throttled: their responses say so (KIP-219), each connection muted for at
    // most one quota window (1 s) at a time.
    expect({ report, throttled: throttled.length > 0 }).toEqual({ report, throttled: true });
    expect(Math.max(...throttles)).toBeLessThanOrEqual(1000);
    expect(delta('chronik_throttled_responses_total', '{quota="request"}')).toBeGreaterThan(0);
    // The producer keeps its latency: p99 within twice the unloaded p99, plus 5 ms. The margin: the
    // abusers are not gone — a throttle is at most one quota window (as Kafka bounds it), so each
    // connection still starts about one request a second, forty in all, each about 1 ms of the
    // event loop and never interrupted; on a 2-core machine shared with other test processes such a
    // request is at times preempted and stretched, and a message that waits for it lands in the
    // tail. Measured there at load 4-9 (18 runs): abuse p99 1.2-3.1x the unloaded one, within
    // 2x + 3 ms in all but one (2x + 5.2 ms); the same test without abusers: 0.7-1.0x.
    const p99Bound = (xs: readonly number[]): number => 2 * quantile(xs, 0.99) + 5;
    expect({ report, served: abused.length >= 500 }).toEqual({ report, served: true });
    expect({ report, p99: quantile(abused, 0.99) <= p99Bound(unloaded) }).toEqual({ report, p99: true });
    // And once they are gone it is back to normal within a second (3 s measured from then).
    expect({ report, after: quantile(after, 0.99) <= p99Bound(unloaded) }).toEqual({ report, after: true });
    expect({ report, after: quantile(after, 0.5) <= 2 * quantile(unloaded, 0.5) + 2 }).toEqual({
      report,
      after: true,
    });
  } finally {
    for (const s of abusers) s.destroy();
    await probe.stop();
  }
});

test('malformed frames and requests: logged at info once per address and interval, counted in /metrics', async () => {
  const logsFrom = server.logs.length;
  const before = await metrics(server);
  const probe = startProbe(server.bootstrap, 'hostile-malformed', 10);
  try {
    await probe.ready();
    const unloadedFrom = Date.now();
    await sleep(1500);
    const floodFrom = Date.now();
    const negative = Buffer.from([0xff, 0xff, 0xff, 0xf0]);
    // A well-framed request with an API key nobody knows, and a Metadata request cut short.
    const unknownKey = Buffer.from([0, 0, 0, 10, 0x7f, 0x00, 0, 1, 0, 0, 0, 1, 0xff, 0xff]);
    const metadata = Buffer.concat(
      encodeRequestFrame(
        { requestApiKey: ApiKey.Metadata, requestApiVersion: 12, correlationId: 1, clientId: 'x' },
        {
          ...defaultMetadataRequest(),
          topics: [{ name: 'some-topic', topicId: '00000000-0000-0000-0000-000000000000' }],
        },
      ),
    );
    const truncated = metadata.subarray(0, metadata.length - 12);
    truncated.writeInt32BE(truncated.length - 4, 0);
    const garbage = [negative, unknownKey, truncated];
    const send = async (data: Buffer): Promise<void> => {
      const s = await rawConnect(server.kafkaPort);
      await new Promise<void>((resolve) => {
        s.on('error', () => undefined);
        s.once('close', () => resolve());
        s.setTimeout(3000, () => s.destroy());
        s.write(data);
      });
    };
    // Two bursts of 150 more than one log interval (1.5 s) apart.
    for (const burst of [0, 1]) {
      if (burst === 1) await sleep(1700);
      const sends: Promise<void>[] = [];
      for (let i = 0; i < 150; i++) sends.push(send(garbage[i % 3] as Buffer));
      await Promise.all(sends);
    }
    const floodTo = Date.now();
    await sleep(500);
    const lines = server.logs
      .slice(logsFrom)
      .map((l) => {
        try {
          return JSON.parse(l) as { level: number; msg: string; heldBackSinceLast?: number };
        } catch {
          return undefined;
        }
      })
      .filter((l) => l !== undefined && /malformed|cannot answer/.test(l.msg));
    // One line per address per interval, at info; the rest at debug (not shown at --log-level info).
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.length).toBeLessThanOrEqual(4);
    for (const l of lines) expect(l?.level).toBe(30);
    expect(lines.some((l) => (l?.heldBackSinceLast ?? 0) >= 100)).toBe(true);
    const after = await metrics(server);
    const delta = (name: string, labels: string): number =>
      metric(after, name, labels) - metric(before, name, labels);
    expect(delta('chronik_malformed_requests_total', '{kind="frame"}')).toBe(100);
    expect(delta('chronik_malformed_requests_total', '{kind="request"}')).toBe(200);
    expect(delta('chronik_closed_connections_total', '{reason="malformed_frame"}')).toBe(100);
    expect(delta('chronik_closed_connections_total', '{reason="unanswerable_request"}')).toBe(200);
    // And the producer did not notice.
    const unloaded = window(probe.samples, unloadedFrom, floodFrom);
    const flooded = window(probe.samples, floodFrom, floodTo);
    const report = [
      describeWindow('unloaded', unloaded),
      describeWindow('flood', flooded),
      `${lines.length} log lines at info for 300 malformed connections`,
    ];
    process.stdout.write(`hostile malformed: ${report.join('; ')}\n`);
    expect({ report, p50: quantile(flooded, 0.5) <= 2 * quantile(unloaded, 0.5) + 5 }).toEqual({
      report,
      p50: true,
    });
  } finally {
    await probe.stop();
  }
});
