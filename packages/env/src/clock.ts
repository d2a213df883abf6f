// Time, as the environment keeps it: a wall clock and a monotonic one.

export interface Clock {
  /**
   * Wall-clock milliseconds since the Unix epoch: stamps and ages that mean something across
   * restarts and nodes (WAL segment stamps, LogAppendTime, retention, group state changes). It may
   * jump (NTP, an operator).
   */
  nowMs(): number;
  /**
   * Monotonic milliseconds from an arbitrary origin, never going back: durations and deadlines
   * inside one process (a proposal's deadline, the request gate's accounting).
   */
  monotonicMs(): number;
}

/** The machine's clocks: `Date.now` and `performance.now`. */
export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
};
