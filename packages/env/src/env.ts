// The environment: everything a Chronik process takes from the machine, in one value. Production
// composes the real one (`realEnv`); the simulator (tools/sim) composes a simulated one per node
// (its event queue's clock and scheduler, a seeded Random, a MemFileSystem). The components take
// the parts they use as arguments and never reach past them for the machine's.
import { type Clock, systemClock } from './clock.js';
import { type FileSystem, nodeFileSystem } from './fs.js';
import { type Logger, silentLogger } from './logger.js';
import { type Random, systemRandom } from './random.js';
import { type Scheduler, systemScheduler } from './scheduler.js';

export interface Env {
  /** Wall-clock and monotonic time. */
  readonly clock: Clock;
  /** Timers on that clock, and the end of the turn. */
  readonly scheduler: Scheduler;
  /** Ids and seeds. */
  readonly random: Random;
  /** Every byte read or written. */
  readonly fs: FileSystem;
  /** Where a library logs (silent by default). */
  readonly logger: Logger;
}

/**
 * The machine: `Date.now` and `performance.now`, Node's timers (unref'd) and `setImmediate`,
 * `node:crypto`, `node:fs`, and a silent logger; `overrides` replace single parts.
 */
export function realEnv(overrides: Partial<Env> = {}): Env {
  return {
    clock: overrides.clock ?? systemClock,
    scheduler: overrides.scheduler ?? systemScheduler,
    random: overrides.random ?? systemRandom,
    fs: overrides.fs ?? nodeFileSystem,
    logger: overrides.logger ?? silentLogger,
  };
}
