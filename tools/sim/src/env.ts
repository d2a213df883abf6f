// A simulated node's environment — everything raftClusterMode would take from the machine, composed
// in this one place through the environment seam (@chronik/env): the event queue's clock and
// scheduler, on the node's owner (its timers and deferred callbacks die with it); randomness forked
// from the seed; and the node's disk, whose fsyncs complete after a drawn latency (disk.ts).
import { randomFromBytes } from '@chronik/env';
import type { Clock, Scheduler } from '@chronik/env';
import type { ModeEnv } from '@chronik/server';
import type { MemFileSystem } from '@chronik/wal';
import { slowSyncs } from './disk.js';
import type { FsyncLatency } from './disk.js';
import type { EventQueue, Owner } from './event-queue.js';
import type { Prng } from './prng.js';

/** Virtual time one deferred callback (setImmediate in production) waits: 10 µs. */
export const DEFER_MS = 0.01;

/**
 * The environment of one incarnation of a node (`owner`): `rng` is that incarnation's stream (its
 * ids and the seed of its Raft election jitter; the fsync latencies are a fork of it).
 */
export function simEnv(
  queue: EventQueue,
  owner: Owner,
  rng: Prng,
  disk: MemFileSystem,
  fsyncMs: FsyncLatency,
): ModeEnv {
  // One virtual time for both clocks: it never goes back.
  const clock: Clock = { nowMs: () => queue.now(), monotonicMs: () => queue.now() };
  const scheduler: Scheduler = {
    setTimer: (delayMs, fn) => queue.schedule(owner, delayMs, 'timer', fn),
    // A turn of the event loop takes a little time: a callback that defers itself until some I/O
    // completes (RaftHost.close waiting out a cycle) lets virtual time reach that I/O.
    defer: (fn) => void queue.schedule(owner, DEFER_MS, 'defer', fn),
  };
  return {
    clock,
    scheduler,
    random: randomFromBytes((n) => rng.bytes(n)),
    fs: slowSyncs(disk, queue, owner, rng.fork('fsync'), fsyncMs),
  };
}
