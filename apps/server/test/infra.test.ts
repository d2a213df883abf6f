// The modes' environment (src/infra.ts): `env`, its missing parts the machine's, and the options the
// modes took before the environment seam (fs, scheduler with now(), random, defer, now) on top; and
// the open-file limit, read through the environment's file system.
import { ManualScheduler, nodeFileSystem, systemClock, systemRandom, systemScheduler } from '@chronik/env';
import type { Random } from '@chronik/env';
import { MemFileSystem } from '@chronik/wal';
import { modeEnv } from '../src/infra.js';
import { openFileLimit } from '../src/modes/compose.js';

const seeded: Random = { bytes: (n) => Buffer.alloc(n, 1), uuid: () => 'uuid' };

test('without options, a mode runs on the machine', () => {
  expect(modeEnv({})).toEqual({
    clock: systemClock,
    scheduler: systemScheduler,
    random: systemRandom,
    fs: nodeFileSystem,
  });
});

test('env parts are used as given, the rest is the machine', () => {
  const time = new ManualScheduler(42);
  const fs = new MemFileSystem();
  const env = modeEnv({ env: { clock: time, scheduler: time, fs } });
  expect(env).toEqual({ clock: time, scheduler: time, random: systemRandom, fs });
});

test('the options before the seam still work: scheduler with now(), defer, now, fs, random', () => {
  const time = new ManualScheduler(1000);
  const deferred: Array<() => void> = [];
  const fs = new MemFileSystem();
  const env = modeEnv({
    fs,
    random: seeded,
    scheduler: { now: () => time.nowMs(), setTimer: (ms, fn) => time.setTimer(ms, fn) },
    defer: (fn) => deferred.push(fn),
    now: () => 7,
  });
  expect(env.fs).toBe(fs);
  expect(env.random).toBe(seeded);
  expect(env.clock.nowMs()).toBe(1000);
  expect(env.clock.monotonicMs()).toBe(7);
  const fired: number[] = [];
  env.scheduler.setTimer(10, () => fired.push(env.clock.nowMs()));
  time.advance(10);
  expect(fired).toEqual([1010]);
  env.scheduler.defer(() => undefined);
  expect(deferred).toHaveLength(1);
});

test('a legacy scheduler without `now` keeps the machine’s monotonic clock for deadlines', () => {
  const time = new ManualScheduler(1000);
  const env = modeEnv({
    scheduler: { now: () => time.nowMs(), setTimer: (ms, fn) => time.setTimer(ms, fn) },
  });
  expect(env.clock.nowMs()).toBe(1000);
  const before = performance.now();
  expect(env.clock.monotonicMs()).toBeGreaterThanOrEqual(before);
});

describe('openFileLimit', () => {
  test('reads the soft limit from /proc/self/limits on the given file system', async () => {
    const fs = new MemFileSystem();
    await fs.mkdir('/proc/self');
    fs.writeFileNow(
      '/proc/self/limits',
      Buffer.from(
        'Limit                     Soft Limit           Hard Limit           Units     \n' +
          'Max processes             63446                63446                processes \n' +
          'Max open files            4096                 524288               files     \n',
      ),
    );
    expect(await openFileLimit(fs)).toBe(4096);
  });

  test('is undefined where it cannot be read or is unlimited', async () => {
    const fs = new MemFileSystem();
    expect(await openFileLimit(fs)).toBeUndefined();
    await fs.mkdir('/proc/self');
    fs.writeFileNow(
      '/proc/self/limits',
      Buffer.from('Max open files            unlimited            unlimited            files\n'),
    );
    expect(await openFileLimit(fs)).toBeUndefined();
  });

  test('on this machine (Linux) it is a number', async () => {
    if (process.platform !== 'linux') return;
    expect(await openFileLimit(nodeFileSystem)).toEqual(expect.any(Number));
  });
});
