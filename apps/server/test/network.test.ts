import net from 'node:net';
import { FrameDecoder } from '@chronik/protocol';
import type { NetworkLimits } from '../src/config.js';
import { DEFAULT_LIMITS } from '../src/config.js';
import type {
  ConnectionHooks,
  ConnectionInfo,
  FrameDispatcher,
  ResponseBody,
} from '../src/net/connection.js';
import { KafkaListener } from '../src/net/server.js';

// Test frames: [apiKey:i16][delayMs:u16][id:u32][noResponse:u8][responseBytes:u32][busyMs:u16][padding...];
// the response is the id, padded to responseBytes. The API key is not Produce's (0) unless asked.
interface FrameOptions {
  /** Time the request waits (asynchronously) before it is answered. */
  delayMs?: number;
  noResponse?: boolean;
  /** Bytes of padding in the request. */
  pad?: number;
  /** Size of the response (at least 4). */
  responseBytes?: number;
  /** Time the dispatcher spends synchronously (a CPU-bound handler). */
  busyMs?: number;
  /** Looks like a Produce request (API key 0). */
  produce?: boolean;
}
const HEADER_BYTES = 15;

function frame(id: number, o: FrameOptions = {}): Buffer {
  const pad = o.pad ?? 0;
  const b = Buffer.alloc(4 + HEADER_BYTES + pad);
  b.writeInt32BE(HEADER_BYTES + pad, 0);
  b.writeInt16BE(o.produce === true ? 0 : 1000, 4);
  b.writeUInt16BE(o.delayMs ?? 0, 6);
  b.writeUInt32BE(id, 8);
  b.writeUInt8(o.noResponse === true ? 1 : 0, 12);
  b.writeUInt32BE(o.responseBytes ?? 4, 13);
  b.writeUInt16BE(o.busyMs ?? 0, 17);
  return b;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class TestDispatcher implements FrameDispatcher {
  active = 0;
  maxActive = 0;
  handled = 0;
  /** Requests started, by connection id. */
  readonly startedBy = new Map<number, number>();
  /** Ids of the requests started, in order. */
  readonly startedIds: number[] = [];
  gate: Promise<void> | undefined;
  async dispatch(f: Buffer, conn: ConnectionInfo): Promise<ResponseBody> {
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    this.startedBy.set(conn.id, (this.startedBy.get(conn.id) ?? 0) + 1);
    try {
      if (f.length < HEADER_BYTES) throw new Error('short test frame');
      const delay = f.readUInt16BE(2);
      const id = f.readUInt32BE(4);
      this.startedIds.push(id);
      const busyMs = f.readUInt16BE(13);
      if (busyMs > 0) {
        const until = performance.now() + busyMs;
        while (performance.now() < until) {
          // a CPU-bound handler
        }
      }
      if (this.gate) await this.gate;
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      this.handled++;
      if (f.readUInt8(8) === 1) return null;
      const out = Buffer.alloc(Math.max(4, f.readUInt32BE(9)));
      out.writeUInt32BE(id);
      return out;
    } finally {
      this.active--;
    }
  }
}

async function start(limits: Partial<NetworkLimits> = {}, hooks: ConnectionHooks = {}) {
  const dispatcher = new TestDispatcher();
  const listener = new KafkaListener({
    host: '127.0.0.1',
    port: 0,
    limits: { ...DEFAULT_LIMITS, ...limits },
    dispatcher,
    hooks,
  });
  const port = await listener.listen();
  return { dispatcher, listener, port };
}

function connect(port: number, localAddress?: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) }, () =>
      resolve(s),
    );
    s.once('error', reject);
  });
}

/** Collects response ids until `count` arrived or the socket closed. */
function readIds(
  s: net.Socket,
  count: number,
  timeoutMs = 5000,
): Promise<{ ids: number[]; closed: boolean }> {
  return new Promise((resolve) => {
    const dec = new FrameDecoder({ maxFrameBytes: 1 << 20 });
    const ids: number[] = [];
    const done = (closed: boolean): void => {
      clearTimeout(t);
      s.removeAllListeners('data');
      resolve({ ids, closed });
    };
    const t = setTimeout(() => done(false), timeoutMs);
    s.on('data', (c: Buffer) => {
      dec.write(c);
      for (let f = dec.next(); f; f = dec.next()) ids.push(f.readUInt32BE(0));
      if (ids.length >= count) done(false);
    });
    s.once('close', () => done(true));
  });
}

function sizePrefixOnly(size: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(size);
  return b;
}

describe('network layer', () => {
  test('responses leave in request order; a no-response request holds back nothing', async () => {
    const { listener, port, dispatcher } = await start();
    const s = await connect(port);
    const got = readIds(s, 4);
    s.write(
      Buffer.concat([
        frame(1, { delayMs: 60 }),
        frame(2, { noResponse: true }),
        frame(3),
        frame(4, { delayMs: 20 }),
        frame(5, { delayMs: 5 }),
      ]),
    );
    const { ids } = await got;
    expect(ids).toEqual([1, 3, 4, 5]);
    expect(dispatcher.maxActive).toBeGreaterThan(1); // pipelined, not one at a time
    s.destroy();
    await listener.close(1000);
  });

  test('a frame over the size limit closes that connection only', async () => {
    const { listener, port } = await start({ maxRequestBytes: 1024 });
    const bad = await connect(port);
    const good = await connect(port);
    const badDone = readIds(bad, 1);
    bad.write(sizePrefixOnly(4096));
    expect((await badDone).closed).toBe(true);
    const goodDone = readIds(good, 1);
    good.write(frame(9));
    expect(await goodDone).toEqual({ ids: [9], closed: false });
    good.destroy();
    await listener.close(1000);
  });

  test('negative sizes and dispatcher failures close the connection, not the listener, and return their bytes', async () => {
    const malformed: string[] = [];
    const { listener, port } = await start({}, { onMalformed: (kind) => malformed.push(kind) });
    const a = await connect(port);
    const aDone = readIds(a, 1);
    a.write(Buffer.from([0xff, 0xff, 0xff, 0xf0]));
    expect((await aDone).closed).toBe(true);
    const b = await connect(port);
    const bDone = readIds(b, 1);
    b.write(Buffer.concat([Buffer.from([0, 0, 0, 2, 1, 2]), frame(1, { delayMs: 50 })])); // too short: it throws
    expect((await bDone).closed).toBe(true);
    expect(listener.connectionCount).toBeLessThanOrEqual(1);
    expect(malformed).toEqual(['frame']); // the short one is not a protocol error: the dispatcher's own failure
    await sleep(100);
    expect(listener.inFlightBytes).toBe(0);
    await listener.close(1000);
  });

  test('back-pressure: in-flight requests per connection are bounded', async () => {
    const { listener, port, dispatcher } = await start({ maxInFlightRequestsPerConnection: 4 });
    let release!: () => void;
    dispatcher.gate = new Promise((r) => (release = r));
    const s = await connect(port);
    const got = readIds(s, 50);
    const frames: Buffer[] = [];
    for (let i = 0; i < 50; i++) frames.push(frame(i));
    s.write(Buffer.concat(frames));
    await sleep(100);
    expect(dispatcher.active).toBe(4);
    release();
    dispatcher.gate = undefined;
    const { ids } = await got;
    expect(ids).toEqual([...Array(50).keys()]);
    expect(dispatcher.maxActive).toBe(4);
    s.destroy();
    await listener.close(1000);
  });

  test('back-pressure: the global in-flight byte budget bounds all connections together', async () => {
    const { listener, port, dispatcher } = await start({ maxGlobalInFlightBytes: 4096 });
    let release!: () => void;
    dispatcher.gate = new Promise((r) => (release = r));
    const socks = await Promise.all([connect(port), connect(port), connect(port)]);
    const results = socks.map((s) => readIds(s, 200, 10_000));
    for (const s of socks) for (let i = 0; i < 200; i++) s.write(frame(i, { pad: 1000 }));
    await sleep(200);
    // Reading stops at the budget: each connection may have had one more read chunk (≤ 64 KiB).
    expect(listener.inFlightBytes).toBeLessThanOrEqual(4096 + 3 * 65536);
    expect(dispatcher.active).toBeLessThan(3 * 70);
    release();
    dispatcher.gate = undefined;
    for (const r of results) expect((await r).ids).toHaveLength(200);
    expect(listener.inFlightBytes).toBe(0);
    for (const s of socks) s.destroy();
    await listener.close(1000);
  });

  test('size prefixes alone hold nothing: connections announcing 512 MiB of frames do not stall another', async () => {
    // Issue 19, item 1: five 100 MiB frames and one 12 MiB frame announced — 24 bytes sent.
    const { listener, port } = await start({ maxRequestBytes: 100 * 1024 * 1024 });
    const hogs = await Promise.all([...Array(6).keys()].map(() => connect(port)));
    for (const [i, s] of hogs.entries())
      s.write(sizePrefixOnly(i < 5 ? 100 * 1024 * 1024 : 12 * 1024 * 1024));
    await sleep(100);
    expect(listener.inFlightBytes).toBe(24);
    const good = await connect(port);
    const got = readIds(good, 1, 2000);
    good.write(frame(7));
    expect(await got).toEqual({ ids: [7], closed: false });
    for (const s of [...hogs, good]) s.destroy();
    await listener.close(1000);
  });

  test('partial frames are charged as they arrive; over an exhausted budget, a frame that started still finishes', async () => {
    const { listener, port } = await start({ maxGlobalInFlightBytes: 4096 });
    const socks = await Promise.all([connect(port), connect(port), connect(port)]);
    const results = socks.map((s) => readIds(s, 1));
    const full = socks.map((_, i) => frame(i + 1, { pad: 2985 })); // 3000-byte bodies
    for (const [i, s] of socks.entries()) s.write((full[i] as Buffer).subarray(0, 2000));
    await sleep(100);
    expect(listener.inFlightBytes).toBe(6000); // what arrived, past the budget: nothing reserved ahead
    for (const [i, s] of socks.entries()) s.write((full[i] as Buffer).subarray(2000));
    for (const [i, r] of results.entries()) expect((await r).ids).toEqual([i + 1]);
    expect(listener.inFlightBytes).toBe(0);
    for (const s of socks) s.destroy();
    await listener.close(1000);
  });

  test('one remote address cannot take the global budget', async () => {
    const { listener, port, dispatcher } = await start({
      maxGlobalInFlightBytes: 8 * 1024 * 1024,
      maxInFlightBytesPerAddress: 64 * 1024,
    });
    let release!: () => void;
    dispatcher.gate = new Promise((r) => (release = r));
    const socks = await Promise.all([connect(port), connect(port), connect(port)]);
    const results = socks.map((s) => readIds(s, 300, 10_000));
    for (const s of socks) for (let i = 0; i < 300; i++) s.write(frame(i, { pad: 1000 }));
    await sleep(200);
    expect(listener.inFlightBytesOf('127.0.0.1')).toBeLessThanOrEqual(64 * 1024 + 3 * 65536);
    // Another address is not held back by the first one's budget.
    const other = await connect(port, '127.0.0.2');
    const before = dispatcher.startedIds.length;
    other.write(frame(4242));
    await sleep(100);
    expect(dispatcher.startedIds.slice(before)).toContain(4242);
    release();
    dispatcher.gate = undefined;
    for (const r of results) expect((await r).ids).toHaveLength(300);
    for (const s of [...socks, other]) s.destroy();
    await listener.close(1000);
  });

  test('a frame not complete within its deadline closes the connection; time muted does not count', async () => {
    const closes: string[] = [];
    const { listener, port, dispatcher } = await start(
      { requestFrameTimeoutMs: 300, maxInFlightRequestsPerConnection: 1 },
      { onBrokerClose: (r) => closes.push(r) },
    );
    // A prefix and a few bytes, then nothing: closed after the deadline.
    const slow = await connect(port);
    const slowDone = readIds(slow, 1, 5000);
    const t0 = Date.now();
    slow.write(frame(1, { pad: 100 }).subarray(0, 20));
    expect((await slowDone).closed).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(closes).toEqual(['frame_timeout']);
    // A frame that arrives in pieces within the deadline is served.
    const steady = await connect(port);
    const steadyDone = readIds(steady, 1, 5000);
    const f = frame(2, { pad: 100 });
    for (const [from, to] of [
      [0, 30],
      [30, 60],
      [60, f.length],
    ] as const) {
      steady.write(f.subarray(from, to));
      await sleep(60);
    }
    expect(await steadyDone).toEqual({ ids: [2], closed: false });
    // Muted (one request in flight, the limit) while the next frame is half here: the clock waits.
    let release!: () => void;
    dispatcher.gate = new Promise((r) => (release = r));
    const muted = await connect(port);
    const mutedDone = readIds(muted, 2, 5000);
    const g = frame(4, { pad: 100 });
    muted.write(Buffer.concat([frame(3), g.subarray(0, 40)]));
    await sleep(600);
    release();
    dispatcher.gate = undefined;
    await sleep(50);
    muted.write(g.subarray(40));
    expect(await mutedDone).toEqual({ ids: [3, 4], closed: false });
    expect(closes).toEqual(['frame_timeout']);
    for (const s of [steady, muted]) s.destroy();
    await listener.close(1000);
  });

  test('a client that does not read its responses is muted after a bounded amount of work; others are served', async () => {
    const { listener, port, dispatcher } = await start();
    const reader = await connect(port);
    const nonReader = await connect(port);
    nonReader.pause(); // never reads
    // 2,000 requests for 64 KiB responses each: 125 MiB if all were answered; every tenth looks
    // like a produce with acks=0.
    const requests = Buffer.concat(
      [...Array(2000).keys()].map((i) =>
        i % 10 === 0 ? frame(i, { produce: true, noResponse: true }) : frame(i, { responseBytes: 65536 }),
      ),
    );
    nonReader.write(requests);
    await sleep(1000);
    const startedSoon = dispatcher.startedIds.length;
    await sleep(500);
    // Stopped: what the kernel's buffers take, then up to twice the unsent bound (1 MiB): the
    // responses written and those of the requests in flight.
    expect(dispatcher.startedIds.length).toBe(startedSoon);
    expect(startedSoon).toBeLessThan(200);
    expect(listener.unsentResponseBytes).toBeLessThanOrEqual(
      2 * DEFAULT_LIMITS.maxUnsentResponseBytesPerConnection + 65540,
    );
    expect(listener.mutedConnectionCount).toBe(1);
    const got = readIds(reader, 1, 2000);
    reader.write(frame(7777));
    expect(await got).toEqual({ ids: [7777], closed: false });
    // Gone (a reset: it leaves responses unread): of the requests it sent and that were not
    // started, only the produces received whole are; the rest are dropped.
    nonReader.destroy();
    await sleep(300);
    const after = dispatcher.startedIds.slice(startedSoon + 1); // + reader's
    expect(after.length).toBeGreaterThan(0);
    expect(after.filter((id) => id % 10 !== 0)).toEqual([]);
    await sleep(200);
    expect(dispatcher.startedIds.length).toBe(startedSoon + 1 + after.length);
    expect(listener.inFlightBytes).toBe(0);
    reader.destroy();
    await listener.close(1000);
  });

  test('connections take turns: a CPU-heavy pipeline does not hold back a light client', async () => {
    const { listener, port, dispatcher } = await start({ requestTurnBudgetMs: 2 });
    const heavy = await connect(port);
    const light = await connect(port);
    // 300 requests of 5 ms CPU each: 1.5 s of handler time, answered in order.
    let heavyFinishedAt = 0;
    const heavyDone = readIds(heavy, 300, 30_000).then((r) => {
      heavyFinishedAt = performance.now();
      return r;
    });
    heavy.write(Buffer.concat([...Array(300).keys()].map((i) => frame(i, { busyMs: 5 }))));
    await sleep(100);
    const latencies: number[] = [];
    for (let i = 0; i < 10; i++) {
      const got = readIds(light, 1, 5000);
      const t = performance.now();
      light.write(frame(1000 + i));
      expect((await got).ids).toEqual([1000 + i]);
      latencies.push(performance.now() - t);
    }
    // Each light request waits for about one heavy request, not for the pipeline: all of them
    // are answered while the heavy pipeline still runs.
    expect(heavyFinishedAt).toBe(0);
    expect(Math.max(...latencies)).toBeLessThan(250);
    expect(dispatcher.startedBy.size).toBe(2);
    expect((await heavyDone).ids).toEqual([...Array(300).keys()]);
    for (const s of [heavy, light]) s.destroy();
    await listener.close(1000);
  });

  test('a client that leaves: the requests it sent and that were not started are dropped', async () => {
    const { listener, port, dispatcher } = await start({ requestTurnBudgetMs: 1 });
    const s = await connect(port);
    const closed = new Promise((r) => s.once('close', r));
    // 1,000 CPU-heavy requests (1 s of handler time), then the client is gone at once.
    s.write(Buffer.concat([...Array(1000).keys()].map((i) => frame(i, { busyMs: 1 }))));
    s.destroy();
    await closed;
    await sleep(500);
    const started = dispatcher.startedIds.length;
    expect(started).toBeLessThan(100);
    await sleep(300);
    expect(dispatcher.startedIds.length).toBe(started);
    expect(listener.inFlightBytes).toBe(0);
    expect(listener.connectionCount).toBe(0);
    await listener.close(1000);
  });

  test('idle connections are closed', async () => {
    const { listener, port } = await start({ idleTimeoutMs: 100 });
    const s = await connect(port);
    const closed = new Promise((r) => s.once('close', r));
    await closed;
    expect(listener.connectionCount).toBe(0);
    await listener.close(1000);
  });

  test('close() finishes in-flight requests before closing', async () => {
    const { listener, port } = await start();
    const s = await connect(port);
    const got = readIds(s, 1);
    s.write(frame(42, { delayMs: 100 }));
    await sleep(20);
    await listener.close(2000);
    expect((await got).ids).toEqual([42]);
  });

  test('a taken port is PORT_IN_USE', async () => {
    const { listener, port } = await start();
    const other = new KafkaListener({
      host: '127.0.0.1',
      port,
      limits: DEFAULT_LIMITS,
      dispatcher: new TestDispatcher(),
    });
    await expect(other.listen()).rejects.toMatchObject({ code: 'PORT_IN_USE' });
    await listener.close(100);
  });
});
