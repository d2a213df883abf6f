// The simulator's clock and its one queue of events: timers, deferred callbacks (RaftHost's cycle
// and group commit), network deliveries and disk faults, ordered by virtual time and then by the
// order they were scheduled. `run` executes one event at a time and, after each, lets every promise
// callback it set off settle before the next (one setImmediate turn: Node drains the microtask
// queue first), so the order of everything — and therefore a run — depends on the seed alone.
//
// Each event belongs to an owner (a node's incarnation, the network, the workload). Killing an
// owner drops its pending events and any it schedules later, as a process's timers die with it.
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';

export interface SimTimer {
  /** Idempotent; a cancelled event never runs. */
  cancel(): void;
}

interface SimEvent {
  /** Microseconds since the run began. */
  at: number;
  seq: number;
  owner: Owner;
  label: string;
  fn: () => void;
  cancelled: boolean;
}

/** Who an event belongs to; `alive` false drops its events. */
export class Owner {
  alive = true;
  constructor(readonly name: string) {}
}

/** Virtual time starts here (ms since the epoch), so stamps look like real ones. */
export const SIM_EPOCH_MS = 1_767_225_600_000;

/** A binary min-heap of events by (at, seq). */
class EventHeap {
  private readonly items: SimEvent[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): SimEvent | undefined {
    return this.items[0];
  }

  push(e: SimEvent): void {
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i] as SimEvent, a[p] as SimEvent)) break;
      [a[i], a[p]] = [a[p] as SimEvent, a[i] as SimEvent];
      i = p;
    }
  }

  pop(): SimEvent | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l] as SimEvent, a[m] as SimEvent)) m = l;
        if (r < a.length && before(a[r] as SimEvent, a[m] as SimEvent)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m] as SimEvent, a[i] as SimEvent];
        i = m;
      }
    }
    return top;
  }
}

function before(x: SimEvent, y: SimEvent): boolean {
  return x.at < y.at || (x.at === y.at && x.seq < y.seq);
}

/** One step of the trace: what ran, when. */
export interface TraceLine {
  atMs: number;
  owner: string;
  label: string;
}

export class EventQueue {
  /** Virtual microseconds since the run began (an integer: ms stamps stay exact). */
  private timeUs = 0;
  private seq = 0;
  private readonly heap = new EventHeap();
  private readonly hash: Hash = createHash('sha256');
  /** Events executed so far. */
  executed = 0;
  /** Most recent trace lines (bounded), for a failing seed's report. */
  readonly recent: TraceLine[] = [];
  private readonly maxRecent: number;
  /** Every trace line is also given here (--verbose). */
  onTrace: ((t: TraceLine) => void) | undefined;
  /** An event threw: the simulation reports it as a failure. */
  readonly errors: string[] = [];

  constructor(options: { maxRecent?: number } = {}) {
    this.maxRecent = options.maxRecent ?? 200;
  }

  /** Virtual milliseconds since the epoch. */
  now(): number {
    return SIM_EPOCH_MS + Math.floor(this.timeUs / 1000);
  }

  /** Milliseconds of virtual time since the run began. */
  elapsed(): number {
    return this.timeUs / 1000;
  }

  /**
   * Runs `fn` `delayMs` (>= 0, fractions allowed) of virtual time from now, after everything already
   * due then.
   */
  schedule(owner: Owner, delayMs: number, label: string, fn: () => void): SimTimer {
    const e: SimEvent = {
      at: this.timeUs + Math.max(0, Math.round(delayMs * 1000)),
      seq: this.seq++,
      owner,
      label,
      fn,
      cancelled: !owner.alive,
    };
    if (!e.cancelled) this.heap.push(e);
    return {
      cancel: () => {
        e.cancelled = true;
      },
    };
  }

  /** Adds a line to the trace hash without running anything (a workload outcome, a check). */
  note(owner: string, label: string): void {
    this.record({ atMs: this.elapsed(), owner, label });
  }

  /** A digest of everything that ran and was noted so far. */
  traceHash(): string {
    return this.hash.copy().digest('hex').slice(0, 16);
  }

  get pending(): number {
    return this.heap.size;
  }

  /**
   * Runs events in order until the queue is empty, virtual time would pass `untilMs` (elapsed), or
   * `stop()` says so (checked after every event).
   */
  async run(untilMs: number, stop: () => boolean = () => false): Promise<void> {
    const untilUs = Math.round(untilMs * 1000);
    for (;;) {
      let e = this.heap.peek();
      if (e === undefined || e.at > untilUs) {
        // Promise callbacks not yet run may still schedule something due.
        await settle();
        if (stop()) return;
        e = this.heap.peek();
        if (e === undefined || e.at > untilUs) break;
      }
      this.heap.pop();
      if (e.cancelled || !e.owner.alive) continue;
      this.timeUs = e.at;
      this.executed++;
      this.record({ atMs: e.at / 1000, owner: e.owner.name, label: e.label });
      try {
        e.fn();
      } catch (err) {
        this.errors.push(
          `${e.owner.name} ${e.label} threw: ${err instanceof Error ? err.stack : String(err)}`,
        );
      }
      await settle();
      if (stop()) return;
    }
    this.timeUs = Math.max(this.timeUs, untilUs);
  }

  private record(t: TraceLine): void {
    this.hash.update(`${t.atMs} ${t.owner} ${t.label}\n`);
    this.recent.push(t);
    if (this.recent.length > this.maxRecent) this.recent.shift();
    this.onTrace?.(t);
  }
}

/** Lets every promise callback already queued (and those they queue) run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
