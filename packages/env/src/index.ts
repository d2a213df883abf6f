// Public entry point of @chronik/env: every public name is re-exported here explicitly.
export { systemClock } from './clock.js';
export type { Clock } from './clock.js';
export { every, retryUntilDone, systemScheduler } from './scheduler.js';
export type { Scheduler, TimerHandle } from './scheduler.js';
export { randomFromBytes, systemRandom, uuidOfBytes } from './random.js';
export type { Random, Rng } from './random.js';
export { silentLogger } from './logger.js';
export type { Logger } from './logger.js';
export { nodeFileSystem } from './fs.js';
export type { FileSystem, OpenFlags, WalFile } from './fs.js';
export { realEnv } from './env.js';
export type { Env } from './env.js';
export { ManualScheduler } from './manual.js';
export { schedulerOfTimers } from './legacy.js';
export type { IntervalTimers, Timers } from './legacy.js';
