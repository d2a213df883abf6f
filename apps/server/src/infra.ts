// The broker's environment: @chronik/env's `Env` — clock, scheduler, randomness, file system — less
// its logger (the broker logs through its own structured logger, logger.ts, which it adapts for the
// libraries: `libraryLogger`). Only the modes (src/modes/) and main.ts compose it; every component
// takes the parts it uses as arguments, and ESLint keeps the machine's parts (`realEnv`, `system*`,
// `nodeFileSystem`) out of the layers, so that the whole broker runs under a simulated clock and
// seeded randomness (tools/sim, `ManualScheduler` in tests). The Raft transport is
// @chronik/raft-host's HostTransport, chosen by the raft-cluster mode.
import { realEnv } from '@chronik/env';
import type { Env, FileSystem, Random, Scheduler } from '@chronik/env';

/** What a mode takes from the machine. */
export type ModeEnv = Omit<Env, 'logger'>;

/** The clock and timers in one, as the modes took them before the environment seam. */
export type ClockedTimers = Pick<Scheduler, 'setTimer'> & {
  /** Wall-clock milliseconds since the epoch. */
  now(): number;
};

/** How a mode's options carry the environment. */
export interface EnvOptions {
  /** Everything the mode takes from the machine; missing parts are the machine's (`realEnv`). */
  env?: Partial<ModeEnv>;
  /** @deprecated `env.fs`. */
  fs?: FileSystem;
  /** @deprecated `env.clock` (its `nowMs` is `now`) and `env.scheduler` (`setTimer`). */
  scheduler?: ClockedTimers;
  /** @deprecated `env.random`. */
  random?: Random;
}

/**
 * A mode's environment: `env`, its missing parts the machine's, and the options before it (with
 * raft-cluster's `defer` and `now`) on top.
 */
export function modeEnv(o: EnvOptions & { defer?(fn: () => void): void; now?(): number }): ModeEnv {
  const base = realEnv(o.env);
  const { scheduler: timers, now } = o;
  const defer = o.defer ?? ((fn: () => void) => base.scheduler.defer(fn));
  return {
    clock:
      timers === undefined && now === undefined
        ? base.clock
        : {
            nowMs: timers ? () => timers.now() : () => base.clock.nowMs(),
            monotonicMs: now ?? (() => base.clock.monotonicMs()),
          },
    scheduler:
      timers === undefined && o.defer === undefined
        ? base.scheduler
        : {
            setTimer: (ms, fn) => (timers ?? base.scheduler).setTimer(ms, fn),
            defer,
          },
    random: o.random ?? base.random,
    fs: o.fs ?? base.fs,
  };
}
