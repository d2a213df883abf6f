import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ManualScheduler,
  every,
  nodeFileSystem,
  randomFromBytes,
  realEnv,
  retryUntilDone,
  schedulerOfTimers,
  silentLogger,
  systemClock,
  systemRandom,
  systemScheduler,
  uuidOfBytes,
} from '../src/index.js';
import type { Env, TimerHandle } from '../src/index.js';

describe('realEnv', () => {
  test('is the machine, and overrides replace single parts', () => {
    const real = realEnv();
    expect(real).toEqual({
      clock: systemClock,
      scheduler: systemScheduler,
      random: systemRandom,
      fs: nodeFileSystem,
      logger: silentLogger,
    });
    const clock = new ManualScheduler(5);
    const env: Env = realEnv({ clock });
    expect(env.clock.nowMs()).toBe(5);
    expect(env.scheduler).toBe(systemScheduler);
  });
});

describe('systemClock', () => {
  test('reads the wall clock and a monotonic one', () => {
    const before = Date.now();
    const wall = systemClock.nowMs();
    expect(wall).toBeGreaterThanOrEqual(before);
    expect(wall).toBeLessThanOrEqual(Date.now());
    const a = systemClock.monotonicMs();
    expect(systemClock.monotonicMs()).toBeGreaterThanOrEqual(a);
  });
});

describe('systemScheduler', () => {
  test('runs a timer once, never synchronously, and a cancelled one never', async () => {
    const ran: string[] = [];
    systemScheduler.setTimer(0, () => ran.push('timer'));
    systemScheduler.setTimer(0, () => ran.push('cancelled')).cancel();
    expect(ran).toEqual([]);
    await new Promise((r) => setTimeout(r, 20));
    expect(ran).toEqual(['timer']);
  });

  test('defers to the end of the turn, after the promise callbacks of this one', async () => {
    const order: string[] = [];
    await new Promise<void>((resolve) => {
      systemScheduler.defer(() => {
        order.push('deferred');
        resolve();
      });
      void Promise.resolve().then(() => order.push('promise'));
      order.push('sync');
    });
    expect(order).toEqual(['sync', 'promise', 'deferred']);
  });
});

describe('ManualScheduler', () => {
  test('moves time only through advance, firing due timers in deadline order', () => {
    const s = new ManualScheduler(1000);
    const fired: Array<[string, number]> = [];
    s.setTimer(30, () => fired.push(['b', s.nowMs()]));
    s.setTimer(10, () => fired.push(['a', s.nowMs()]));
    s.setTimer(30, () => fired.push(['c', s.monotonicMs()]));
    s.setTimer(50, () => fired.push(['cancelled', s.nowMs()])).cancel();
    expect(s.pendingTimers).toBe(3);
    s.advance(40);
    expect(fired).toEqual([
      ['a', 1010],
      ['b', 1030],
      ['c', 1030],
    ]);
    expect(s.nowMs()).toBe(1040);
    expect(s.now()).toBe(1040);
    expect(s.pendingTimers).toBe(0);
  });
});

describe('every and retryUntilDone', () => {
  test('every runs each period after the previous run, through errors, until cancelled', () => {
    const s = new ManualScheduler(0);
    const runs: number[] = [];
    const errors: unknown[] = [];
    const h: TimerHandle = every(
      s,
      100,
      () => {
        runs.push(s.nowMs());
        if (runs.length === 2) throw new Error('boom');
      },
      (e) => errors.push(e),
    );
    s.advance(350);
    expect(runs).toEqual([100, 200, 300]);
    expect(errors).toHaveLength(1);
    h.cancel();
    s.advance(1000);
    expect(runs).toHaveLength(3);
  });

  test('retryUntilDone retries after false or a failure, and stops once done', async () => {
    const s = new ManualScheduler(0);
    const outcomes: Array<boolean | Error> = [false, new Error('no'), true];
    let attempts = 0;
    const errors: unknown[] = [];
    retryUntilDone(
      s,
      500,
      () => {
        const o = outcomes[attempts++];
        return o instanceof Error ? Promise.reject(o) : Promise.resolve(o === true);
      },
      (e) => errors.push(e),
    );
    const settle = (): Promise<void> => new Promise((r) => setImmediate(r));
    await settle();
    expect(attempts).toBe(1);
    s.advance(500);
    await settle();
    expect(attempts).toBe(2);
    expect(errors).toHaveLength(1);
    s.advance(500);
    await settle();
    expect(attempts).toBe(3);
    expect(s.pendingTimers).toBe(0);
  });
});

describe('randomness', () => {
  test('uuidOfBytes makes a version-4 UUID of 16 bytes', () => {
    const u = uuidOfBytes(Buffer.alloc(16, 0xff));
    expect(u).toBe('ffffffff-ffff-4fff-bfff-ffffffffffff');
    expect(() => uuidOfBytes(Buffer.alloc(15))).toThrow(RangeError);
  });

  test('randomFromBytes draws its uuids from the byte source', () => {
    let next = 0;
    const r = randomFromBytes((n) => Buffer.from(Array.from({ length: n }, () => next++ & 0xff)));
    expect(r.bytes(2)).toEqual(Buffer.from([0, 1]));
    expect(r.uuid()).toBe('02030405-0607-4809-8a0b-0c0d0e0f1011');
  });

  test('systemRandom gives fresh bytes and v4 UUIDs', () => {
    expect(systemRandom.bytes(16).equals(systemRandom.bytes(16))).toBe(false);
    expect(systemRandom.uuid()).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
});

describe('schedulerOfTimers (the timer shape before the seam)', () => {
  test('setTimer and cancel go through setTimeout and clearTimeout', () => {
    const set: Array<() => void> = [];
    const cleared: unknown[] = [];
    const deferred: Array<() => void> = [];
    const s = schedulerOfTimers(
      { setTimeout: (fn) => set.push(fn), clearTimeout: (h) => cleared.push(h) },
      (fn) => deferred.push(fn),
    );
    s.setTimer(10, () => undefined).cancel();
    s.defer(() => undefined);
    expect(set).toHaveLength(1);
    expect(cleared).toEqual([1]);
    expect(deferred).toHaveLength(1);
  });
});

describe('nodeFileSystem', () => {
  test('writes, syncs, renames, lists and removes', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chronik-env-'));
    try {
      const f = await nodeFileSystem.open(path.join(dir, 'a.tmp'), 'wx');
      await f.write(Buffer.from('hello'), 0);
      await f.datasync();
      expect(await f.size()).toBe(5);
      await f.close();
      await nodeFileSystem.rename(path.join(dir, 'a.tmp'), path.join(dir, 'a'));
      await nodeFileSystem.fsyncDir(dir);
      expect(await nodeFileSystem.readdir(dir)).toEqual(['a']);
      const r = nodeFileSystem.openSync(path.join(dir, 'a'), 'r');
      const buf = Buffer.alloc(5);
      expect(r.readSync(buf, 0, 5, 0)).toBe(5);
      r.closeSync();
      expect(buf.toString()).toBe('hello');
      // Read/write, synchronously opened: every operation, and never a truncation.
      const rw = nodeFileSystem.openSync(path.join(dir, 'a'), 'r+');
      rw.writeSync?.(Buffer.from('J'), 0);
      rw.writevSync?.([Buffer.from('e'), Buffer.from('l')], 1);
      await rw.write(Buffer.from('!'), 5);
      await rw.writev?.([Buffer.from('?'), Buffer.from('!')], 6);
      await rw.datasync();
      await rw.sync();
      expect(await rw.size()).toBe(8);
      const back = Buffer.alloc(8);
      expect(await rw.read(back, 0, 8, 0)).toBe(8);
      expect(back.toString()).toBe('Jello!?!');
      await rw.truncate(5);
      await rw.close();
      await rw.close(); // closing twice is harmless
      await expect(r.write(Buffer.from('x'), 0)).rejects.toMatchObject({ code: 'EBADF' });
      expect(fs.readFileSync(path.join(dir, 'a'), 'utf8')).toBe('Jello');
      expect(await nodeFileSystem.stat(path.join(dir, 'missing'))).toBeUndefined();
      await nodeFileSystem.removeTree(dir);
      expect(fs.existsSync(dir)).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
