// Request quotas (Kafka's request_percentage, KIP-124): the accounting of `net/quota.ts` against
// Kafka's own numbers (Rate over a windowed sum, QuotaUtils.throttleTime, ClientRequestQuotaManager's
// bound), the throttle gate (KIP-219: muted after the response, resumed when the time is over), and a
// listener whose dispatcher puts the throttle time in its responses — on a clock the test moves.
import net from 'node:net';
import { FrameDecoder, peekClientId } from '@chronik/protocol';
import { DEFAULT_CLIENT_QUOTAS, DEFAULT_LIMITS } from '../src/config.js';
import { ManualScheduler } from '@chronik/env';
import type { ConnectionInfo, FrameDispatcher, GatedConnection, RequestGate } from '../src/net/connection.js';
import { ThrottleGate } from '../src/net/gate.js';
import type { ClientQuotaManagers } from '../src/net/gate.js';
import {
  FETCH_QUOTA,
  PRODUCE_QUOTA,
  QuotaManager,
  RequestQuotaManager,
  WindowedRate,
  throttleTimeMs,
} from '../src/net/quota.js';
import { KafkaListener } from '../src/net/server.js';
import type { ClientQuotaStore } from '../src/services/client-quotas.js';
import { StaticClientQuotaStore } from '../src/services/client-quotas.js';

/** Kafka's defaults: quota.window.num 11, quota.window.size.seconds 1. */
const KAFKA_WINDOWS = { windowNum: 11, windowMs: 1000 };

function store(byClient: Record<string, number>, defaultPct?: number): StaticClientQuotaStore {
  return new StaticClientQuotaStore({
    ...DEFAULT_CLIENT_QUOTAS,
    requestPercentageDefault: defaultPct,
    requestPercentageByClientId: new Map(Object.entries(byClient)),
  });
}

const client = (clientId: string) => ({ user: null, clientId });

describe('throttle time (QuotaUtils.throttleTime)', () => {
  test('(observed − quota) / quota × window: the pause that brings the rate back to the quota', () => {
    // Kafka's QuotaUtilsTest: 100 observed against 50 over 3 one-second samples (2 s at the start).
    expect(throttleTimeMs(100, 50, 2000)).toBe(2000);
    expect(throttleTimeMs(10.5, 10, 10_000)).toBe(500);
    // Rounded; within the quota it is not positive.
    expect(throttleTimeMs(10.0004, 10, 10_000)).toBe(0);
    expect(throttleTimeMs(18.2, 18.2, 10_000)).toBe(0);
    expect(throttleTimeMs(5, 10, 10_000)).toBeLessThan(0);
    // Check: observed × W / (W + X) = quota.
    const x = throttleTimeMs(30, 10, 10_000);
    expect((30 * 10_000) / (10_000 + x)).toBeCloseTo(10, 6);
  });
});

describe('windowed rate (Rate over a WindowedSum)', () => {
  test('a first burst is measured over windowNum − 1 empty windows plus the current one', () => {
    const r = new WindowedRate(KAFKA_WINDOWS);
    r.record(50, 0);
    expect(r.windowSizeMs(0)).toBe(10_000);
    expect(r.measure(0)).toBeCloseTo(5, 9); // 50 over 10 s
    expect(r.windowSizeMs(400)).toBe(10_400);
    r.record(50, 400);
    expect(r.measure(400)).toBeCloseTo(100 / 10.4, 9);
  });

  test('samples advance every window; the rate covers the samples kept, back to the oldest start', () => {
    const r = new WindowedRate(KAFKA_WINDOWS);
    // Two records per sample, each starting on a whole second.
    for (let t = 0; t <= 20_000; t += 500) r.record(1, t);
    // 12 samples kept (windowNum + 1): from 9,000 to 20,000. At 20,500 the one of 9,000 (last
    // record 9,500) is obsolete: the rate covers 10,000 to 20,500, 10.5 s, 21 records.
    expect(r.windowSizeMs(20_500)).toBe(10_500);
    expect(r.measure(20_500)).toBeCloseTo(21 / 10.5, 9);
    // Within the first windowNum − 1 windows the missing ones count as empty.
    expect(r.windowSizeMs(20_900)).toBe(10_900);
  });

  test('a sample not recorded in for windowNum windows is obsolete', () => {
    const r = new WindowedRate(KAFKA_WINDOWS);
    r.record(500, 0);
    expect(r.measure(10_999)).toBeCloseTo(500 / 10.999, 9);
    // 11 s after its last record it no longer counts: a client idle for the window set starts afresh.
    expect(r.measure(11_000)).toBe(0);
    expect(r.windowSizeMs(11_000)).toBe(10_000);
  });

  test('with one sample, a record at the very start of its window does not divide by zero', () => {
    const r = new WindowedRate({ windowNum: 1, windowMs: 1000 });
    r.record(1, 0);
    expect(r.windowSizeMs(0)).toBe(1);
    expect(r.measure(0)).toBe(1000);
  });
});

describe('request quota manager', () => {
  test('time is recorded as % of a second; over the quota the throttle is Kafka’s, bounded by one window', () => {
    const m = new RequestQuotaManager(store({ heavy: 10 }), KAFKA_WINDOWS);
    // 1,000 ms at once: 100 %·s over 10 s = 10 %: at the quota, not over it.
    expect(m.record(client('heavy'), 1000, 0, true)).toBe(0);
    // 50 ms more: 10.5 % → (10.5 − 10) / 10 × 10 s = 500 ms.
    expect(m.record(client('heavy'), 50, 0, true)).toBe(500);
    // Far over: bounded by one sample window (1 s), as ClientRequestQuotaManager bounds it.
    expect(m.record(client('heavy'), 5000, 0, true)).toBe(1000);
    // Recorded without a check (the time after the response was made): never a throttle.
    expect(m.record(client('heavy'), 5000, 0, false)).toBe(0);
  });

  test('the throttle shrinks as the window grows; the burst counts until its sample is obsolete', () => {
    const m = new RequestQuotaManager(store({ heavy: 10 }), KAFKA_WINDOWS);
    expect(m.record(client('heavy'), 1100, 0, true)).toBe(1000); // 11 % over 10 s
    // 600 ms later the same 110 %·s are over 10.6 s: 10.38 %, throttle 11 s − 10.6 s = 400 ms.
    expect(m.record(client('heavy'), 0, 600, true)).toBe(400);
    expect(m.record(client('heavy'), 0, 999, true)).toBe(1);
    // One whole window has passed: the rate is over it plus 9 empty ones again (Kafka's Rate), so
    // a client that comes back at once is throttled again — over the 11 s the burst counts, it gets
    // its 10 %.
    expect(m.record(client('heavy'), 0, 1000, true)).toBe(1000);
    expect(m.record(client('heavy'), 0, 10_999, true)).toBe(1);
    expect(m.record(client('heavy'), 0, 11_000, true)).toBe(0);
  });

  test('each client id is measured on its own, against its override or the default', () => {
    const m = new RequestQuotaManager(store({ heavy: 10 }, 50), KAFKA_WINDOWS);
    // "other" and "third" each get the default 50 %, not a share of one budget.
    expect(m.record(client('other'), 4000, 0, true)).toBe(0);
    expect(m.record(client('third'), 4000, 0, true)).toBe(0);
    expect(m.record(client('other'), 2000, 0, true)).toBe(Math.min(1000, throttleTimeMs(60, 50, 10_000)));
    expect(m.record(client('heavy'), 1050, 0, true)).toBe(500);
    expect(m.entityCount).toBe(3);
  });

  test('a client id without a quota is not measured', () => {
    const m = new RequestQuotaManager(store({ heavy: 10 }), KAFKA_WINDOWS);
    expect(m.record(client('light'), 100_000, 0, true)).toBe(0);
    expect(m.record(client(''), 100_000, 0, true)).toBe(0);
  });

  test('a changed store is read again (AlterClientQuotas later)', () => {
    let pct = 10;
    const dynamic: ClientQuotaStore = { version: 0, quota: () => pct, any: () => true };
    const m = new RequestQuotaManager(dynamic, KAFKA_WINDOWS);
    expect(m.record(client('c'), 1050, 0, true)).toBe(500);
    pct = 20;
    expect(m.record(client('c'), 0, 0, true)).toBe(500); // same version: the quota read before
    (dynamic as { version: number }).version = 1;
    expect(m.record(client('c'), 0, 0, true)).toBe(0); // 10.5 % within 20 %
  });

  test('measures are bounded: idle ones go first, then the oldest', () => {
    const m = new RequestQuotaManager(store({}, 10), KAFKA_WINDOWS, 16);
    for (let i = 0; i < 16; i++) m.record(client(`c${i}`), 1, 0, true);
    expect(m.entityCount).toBe(16);
    // All busy: the oldest eighth (2) makes room.
    m.record(client('new'), 1, 1000, true);
    expect(m.entityCount).toBe(15);
    // 11 s later: full again, and the 15 earlier ones idle for a whole window set are dropped.
    m.record(client('late0'), 1, 12_000, true);
    expect(m.entityCount).toBe(16);
    m.record(client('late1'), 1, 12_000, true);
    expect(m.entityCount).toBe(2);
  });
});

/** A connection as the gate sees it, counting its resumes. */
function gated(id: number): GatedConnection & { resumed: number } {
  return {
    id,
    remoteIp: '127.0.0.1',
    resumed: 0,
    resume() {
      this.resumed++;
    },
  };
}

/** The quota managers of a throttle gate over one store. */
function managers(s: ClientQuotaStore): ClientQuotaManagers {
  return {
    request: new RequestQuotaManager(s, KAFKA_WINDOWS),
    produce: new QuotaManager(PRODUCE_QUOTA, s, KAFKA_WINDOWS),
    fetch: new QuotaManager(FETCH_QUOTA, s, KAFKA_WINDOWS),
  };
}

describe('throttle gate (KIP-219)', () => {
  const open: RequestGate = { admit: () => true, started: () => undefined, forget: () => undefined };

  test('a client over its quota has its connection muted for the throttle time, then resumed', () => {
    const timers = new ManualScheduler(0);
    const gate = new ThrottleGate(open, managers(store({ heavy: 10 })), {
      setTimer: (ms, fn) => timers.setTimer(ms, fn),
    });
    const heavy = gated(1);
    const light = gated(2);
    expect(gate.charge(heavy, { user: null, clientId: 'heavy' }, 1000, 0, true)).toBe(0);
    expect(gate.admit(heavy)).toBe(true);
    expect(gate.charge(heavy, { user: null, clientId: 'heavy' }, 50, 0, true)).toBe(500);
    expect(gate.admit(heavy)).toBe(false);
    expect(gate.throttledCount).toBe(1);
    // Another client is not concerned.
    expect(gate.charge(light, { user: null, clientId: 'light' }, 5000, 0, true)).toBe(0);
    expect(gate.admit(light)).toBe(true);
    timers.advance(499);
    expect(gate.admit(heavy)).toBe(false);
    expect(heavy.resumed).toBe(0);
    timers.advance(1);
    expect(heavy.resumed).toBe(1);
    expect(gate.admit(heavy)).toBe(true);
  });

  test('a longer throttle extends the mute, a shorter one does not shorten it; a closed connection is forgotten', () => {
    const timers = new ManualScheduler(0);
    const gate = new ThrottleGate(open, managers(store({ heavy: 10 })), {
      setTimer: (ms, fn) => timers.setTimer(ms, fn),
    });
    const a = gated(1);
    expect(gate.charge(a, { user: null, clientId: 'heavy' }, 1050, 0, true)).toBe(500);
    expect(gate.charge(a, { user: null, clientId: 'heavy' }, 50, 0, true)).toBe(1000);
    timers.advance(999);
    expect(a.resumed).toBe(0);
    timers.advance(1);
    expect(a.resumed).toBe(1);
    const b = gated(2);
    expect(gate.charge(b, { user: null, clientId: 'heavy' }, 0, 1000, true)).toBeGreaterThan(0);
    gate.forget(b);
    expect(gate.throttledCount).toBe(0);
    timers.advance(2000);
    expect(b.resumed).toBe(0);
    expect(timers.pendingTimers).toBe(0);
  });
});

// A listener with quotas, on a clock the test moves: test frames are request headers (API key 1000,
// version 0, correlation id, client id) followed by the time the request "takes" (u16 ms), which
// the dispatcher adds to the clock before it asks for the throttle time. The response is the
// correlation id and the throttle time it was given.
function frame(correlationId: number, clientId: string, costMs: number): Buffer {
  const id = Buffer.from(clientId);
  const b = Buffer.alloc(4 + 10 + id.length + 2);
  b.writeInt32BE(b.length - 4, 0);
  b.writeInt16BE(1000, 4);
  b.writeInt16BE(0, 6);
  b.writeInt32BE(correlationId, 8);
  b.writeInt16BE(id.length, 12);
  id.copy(b, 14);
  b.writeUInt16BE(costMs, 14 + id.length);
  return b;
}

class ClockDispatcher implements FrameDispatcher {
  clockMs = 0;
  readonly started: number[] = [];
  dispatch(f: Buffer, conn: ConnectionInfo): Buffer {
    const correlationId = f.readInt32BE(4);
    this.started.push(correlationId);
    this.clockMs += f.readUInt16BE(f.length - 2);
    const throttle = conn.throttleTimeMs(peekClientId(f));
    const out = Buffer.alloc(8);
    out.writeInt32BE(correlationId, 0);
    out.writeInt32BE(throttle, 4);
    return out;
  }
}

function responses(s: net.Socket): Array<{ correlationId: number; throttleMs: number }> {
  const got: Array<{ correlationId: number; throttleMs: number }> = [];
  const dec = new FrameDecoder();
  s.on('data', (c: Buffer) => {
    for (const f of dec.push(c)) got.push({ correlationId: f.readInt32BE(0), throttleMs: f.readInt32BE(4) });
  });
  return got;
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('a listener with request quotas', () => {
  test('the response carries the throttle time, then the connection is muted for it; other clients are served', async () => {
    const dispatcher = new ClockDispatcher();
    const timers = new ManualScheduler(0);
    const throttled: number[] = [];
    const listener = new KafkaListener({
      host: '127.0.0.1',
      port: 0,
      // No turns: the clock jumps by whole seconds, which would make every request wait for one.
      limits: { ...DEFAULT_LIMITS, requestTurnBudgetMs: 0 },
      dispatcher,
      nowMs: () => dispatcher.clockMs,
      setTimer: (ms, fn) => timers.setTimer(ms, fn),
      quotas: { store: store({ heavy: 10 }), windows: KAFKA_WINDOWS },
      hooks: { onThrottle: (ms) => throttled.push(ms) },
    });
    const port = await listener.listen();
    const connect = (): Promise<net.Socket> =>
      new Promise((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => resolve(s));
      });
    const heavy = await connect();
    const light = await connect();
    const heavyGot = responses(heavy);
    const lightGot = responses(light);
    try {
      // 1,020 ms of work at once: 10.2 % of the 10 s a first burst is measured over → 200 ms.
      heavy.write(Buffer.concat([frame(1, 'heavy', 1020), frame(2, 'heavy', 10), frame(3, 'heavy', 10)]));
      await until(() => heavyGot.length === 1, 'the first response');
      expect(heavyGot[0]).toEqual({ correlationId: 1, throttleMs: 200 });
      expect(throttled).toEqual([200]);
      // Muted: the requests it pipelined wait; another client id is served meanwhile.
      light.write(frame(10, 'light', 500));
      await until(() => lightGot.length === 1, 'the light client');
      expect(lightGot[0]).toEqual({ correlationId: 10, throttleMs: 0 });
      expect(dispatcher.started).toEqual([1, 10]);
      expect(listener.mutedConnectionCount).toBe(1);
      // The throttle ends. The clock moved on meanwhile: 103 %·s over 10.51 s, 104 over 10.52 s
      // are within 10 %.
      timers.advance(199);
      await new Promise((r) => setTimeout(r, 50));
      expect(dispatcher.started).toEqual([1, 10]);
      timers.advance(1);
      await until(() => heavyGot.length === 3, 'the muted requests');
      expect(heavyGot.slice(1)).toEqual([
        { correlationId: 2, throttleMs: 0 },
        { correlationId: 3, throttleMs: 0 },
      ]);
    } finally {
      heavy.destroy();
      light.destroy();
      await listener.close(100);
    }
  });

  test('without a request quota nothing is measured: no throttle, whatever the time taken', async () => {
    const dispatcher = new ClockDispatcher();
    const listener = new KafkaListener({
      host: '127.0.0.1',
      port: 0,
      limits: { ...DEFAULT_LIMITS, requestTurnBudgetMs: 0 },
      dispatcher,
      nowMs: () => dispatcher.clockMs,
      quotas: { store: store({}), windows: KAFKA_WINDOWS },
    });
    const port = await listener.listen();
    const s = await new Promise<net.Socket>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => resolve(c));
    });
    const got = responses(s);
    try {
      s.write(Buffer.concat([frame(1, 'heavy', 60_000), frame(2, 'heavy', 60_000)]));
      await until(() => got.length === 2, 'both responses');
      expect(got.map((r) => r.throttleMs)).toEqual([0, 0]);
    } finally {
      s.destroy();
      await listener.close(100);
    }
  });
});
