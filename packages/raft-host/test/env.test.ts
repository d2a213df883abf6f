// The host on an injected environment (@chronik/env): its tick, timeouts, cycles, group commits,
// deadlines, files and election jitter come from `env`, and it reads nothing of the machine's —
// what lets tools/sim run whole clusters of hosts on one seeded event queue.
import { ManualScheduler, randomFromBytes, silentLogger } from '@chronik/env';
import type { Env, Logger, Rng } from '@chronik/env';
import { StateType } from '@chronik/raft';
import type { Logger as RaftLogger, Rng as RaftRng } from '@chronik/raft';
import { MemFileSystem } from '@chronik/wal';
import { RaftHost } from '../src/index.js';
import { KvStateMachine } from './kv.js';

test('a host on an injected environment reads no clock and schedules nothing of its own', async () => {
  const realImmediate = setImmediate;
  const turn = (): Promise<void> => new Promise((r) => realImmediate(r));
  const clock = new ManualScheduler(5_000);
  const deferred: Array<() => void> = [];
  let draws = 0;
  const env: Env = {
    clock,
    scheduler: { setTimer: (ms, fn) => clock.setTimer(ms, fn), defer: (fn) => deferred.push(fn) },
    random: randomFromBytes((n) => (draws++, Buffer.alloc(n, 7))),
    fs: new MemFileSystem(),
    logger: silentLogger,
  };
  /** Runs the deferred callbacks (host cycles, group commits) and what they set off, until none is left. */
  const drain = async (): Promise<void> => {
    for (let i = 0; i < 1000; i++) {
      await turn();
      const fn = deferred.shift();
      if (fn === undefined) return;
      fn();
    }
  };
  const machine = {
    setTimeout: jest.spyOn(global, 'setTimeout'),
    setInterval: jest.spyOn(global, 'setInterval'),
    setImmediate: jest.spyOn(global, 'setImmediate'),
    'Date.now': jest.spyOn(Date, 'now'),
    'performance.now': jest.spyOn(performance, 'now'),
  };
  try {
    await env.fs.mkdir('/raft');
    const host = new RaftHost({ nodeId: 1, dataDir: '/raft', env, tickMs: 100, electionTicks: 3 });
    expect(draws).toBe(1); // the election jitter's seed
    const sm = new KvStateMachine();
    await host.openGroup({ groupId: 1, stateMachine: sm, bootstrapVoters: [1] });
    host.start();
    expect(clock.pendingTimers).toBe(1); // the shared tick
    // A single voter elects itself once its election timeout passes on the injected clock.
    for (let i = 0; i < 10 && host.status(1).role !== StateType.Leader; i++) {
      clock.advance(100);
      await drain();
    }
    expect(host.status(1).role).toBe(StateType.Leader);
    const proposal = host.proposeOrForward(1, Buffer.from('k=v'), 1_000);
    await drain();
    await expect(proposal).resolves.toMatchObject({ result: 1 });
    expect(sm.data.get('k')).toBe('v');
    const closing = host.close();
    await drain();
    await closing;
    const calls = Object.fromEntries(
      Object.entries(machine).map(([name, spy]) => [name, spy.mock.calls.length]),
    );
    expect(calls).toEqual({
      setTimeout: 0,
      setInterval: 0,
      setImmediate: 0,
      'Date.now': 0,
      'performance.now': 0,
    });
  } finally {
    for (const spy of Object.values(machine)) spy.mockRestore();
  }
});

// The Raft core depends on nothing, so it declares its Logger and Rng itself: they must stay the
// seam's shapes, so that an env's logger and a seam Rng go straight into RawNode (checked by tsc).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameLogger: Same<RaftLogger, Logger> = true;
const sameRng: Same<RaftRng, Rng> = true;

test("the Raft core's Logger and Rng are the environment seam's shapes", () => {
  expect([sameLogger, sameRng]).toEqual([true, true]);
});
