import net from 'node:net';
import { FrameDecoder } from '@chronik/protocol';
import type { NetworkLimits } from '../src/config.js';
import { DEFAULT_LIMITS } from '../src/config.js';
import type { FrameDispatcher, ResponseBody } from '../src/net/connection.js';
import { KafkaListener } from '../src/net/server.js';

// Test frames: [delayMs:u16][id:u32][noResponse:u8][padding...]; the response is the id.
function frame(id: number, delayMs: number, noResponse = false, pad = 0): Buffer {
  const b = Buffer.alloc(4 + 7 + pad);
  b.writeInt32BE(7 + pad, 0);
  b.writeUInt16BE(delayMs, 4);
  b.writeUInt32BE(id, 6);
  b.writeUInt8(noResponse ? 1 : 0, 10);
  return b;
}

class TestDispatcher implements FrameDispatcher {
  active = 0;
  maxActive = 0;
  handled = 0;
  gate: Promise<void> | undefined;
  async dispatch(f: Buffer): Promise<ResponseBody> {
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      if (f.length < 7) throw new Error('short test frame');
      const delay = f.readUInt16BE(0);
      const id = f.readUInt32BE(2);
      if (this.gate) await this.gate;
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      this.handled++;
      if (f.readUInt8(6) === 1) return null;
      const out = Buffer.alloc(4);
      out.writeUInt32BE(id);
      return out;
    } finally {
      this.active--;
    }
  }
}

async function start(limits: Partial<NetworkLimits> = {}) {
  const dispatcher = new TestDispatcher();
  const listener = new KafkaListener({
    host: '127.0.0.1',
    port: 0,
    limits: { ...DEFAULT_LIMITS, ...limits },
    dispatcher,
  });
  const port = await listener.listen();
  return { dispatcher, listener, port };
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
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

describe('network layer', () => {
  test('responses leave in request order; a no-response request holds back nothing', async () => {
    const { listener, port, dispatcher } = await start();
    const s = await connect(port);
    const got = readIds(s, 4);
    s.write(Buffer.concat([frame(1, 60), frame(2, 0, true), frame(3, 0), frame(4, 20), frame(5, 5)]));
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
    const big = Buffer.alloc(4);
    big.writeInt32BE(4096);
    bad.write(big);
    expect((await badDone).closed).toBe(true);
    const goodDone = readIds(good, 1);
    good.write(frame(9, 0));
    expect(await goodDone).toEqual({ ids: [9], closed: false });
    good.destroy();
    await listener.close(1000);
  });

  test('negative sizes and dispatcher failures close the connection, not the listener', async () => {
    const { listener, port } = await start();
    const a = await connect(port);
    const aDone = readIds(a, 1);
    a.write(Buffer.from([0xff, 0xff, 0xff, 0xf0]));
    expect((await aDone).closed).toBe(true);
    const b = await connect(port);
    const bDone = readIds(b, 1);
    b.write(Buffer.from([0, 0, 0, 2, 1, 2])); // too short for the dispatcher: it throws
    expect((await bDone).closed).toBe(true);
    expect(listener.connectionCount).toBeLessThanOrEqual(1);
    await listener.close(1000);
  });

  test('back-pressure: in-flight requests per connection are bounded', async () => {
    const { listener, port, dispatcher } = await start({ maxInFlightRequestsPerConnection: 4 });
    let release!: () => void;
    dispatcher.gate = new Promise((r) => (release = r));
    const s = await connect(port);
    const got = readIds(s, 50);
    const frames: Buffer[] = [];
    for (let i = 0; i < 50; i++) frames.push(frame(i, 0));
    s.write(Buffer.concat(frames));
    await new Promise((r) => setTimeout(r, 100));
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
    const results = socks.map((s) => readIds(s, 10));
    for (const s of socks) for (let i = 0; i < 10; i++) s.write(frame(i, 0, false, 1000));
    await new Promise((r) => setTimeout(r, 150));
    expect(listener.inFlightBytes).toBeLessThanOrEqual(4096 + 3 * 1007);
    expect(dispatcher.active).toBeLessThan(30);
    release();
    dispatcher.gate = undefined;
    for (const r of results) expect((await r).ids).toHaveLength(10);
    for (const s of socks) s.destroy();
    await listener.close(1000);
  });

  test('partial frames reserve the global budget; a frame that started always finishes', async () => {
    const { listener, port } = await start({ maxGlobalInFlightBytes: 4096 });
    const socks = await Promise.all([connect(port), connect(port), connect(port)]);
    const results = socks.map((s) => readIds(s, 1));
    const full = socks.map((_, i) => frame(i + 1, 0, false, 2993)); // 3000-byte bodies
    for (const [i, s] of socks.entries()) s.write((full[i] as Buffer).subarray(0, 1000));
    await new Promise((r) => setTimeout(r, 100));
    expect(listener.inFlightBytes).toBe(3000); // one reservation; the others wait for budget
    for (const [i, s] of socks.entries()) s.write((full[i] as Buffer).subarray(1000));
    for (const [i, r] of results.entries()) expect((await r).ids).toEqual([i + 1]);
    expect(listener.inFlightBytes).toBe(0);
    for (const s of socks) s.destroy();
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
    s.write(frame(42, 100));
    await new Promise((r) => setTimeout(r, 20));
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
