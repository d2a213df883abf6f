/**
 * The simulation's agenda: a binary min-heap of events ordered by (time, insertion sequence), so
 * events at the same simulated time run in the order they were scheduled — deterministic.
 */
export class EventQueue<T> {
  private readonly heap: { timeMs: number; seq: number; event: T }[] = [];
  private seq = 0;

  constructor(private readonly maxEvents = 1_000_000) {}

  get size(): number {
    return this.heap.length;
  }

  push(timeMs: number, event: T): void {
    if (this.heap.length >= this.maxEvents)
      throw new RangeError(`event queue: more than ${this.maxEvents} pending events`);
    const item = { timeMs, seq: this.seq++, event };
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p] as typeof item;
      if (parent.timeMs < item.timeMs || (parent.timeMs === item.timeMs && parent.seq < item.seq)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = item;
  }

  peekTime(): number | undefined {
    return this.heap[0]?.timeMs;
  }

  pop(): { timeMs: number; event: T } | undefined {
    const h = this.heap;
    const top = h[0];
    if (top === undefined) return undefined;
    const last = h.pop() as typeof top;
    if (h.length > 0) {
      let i = 0;
      const n = h.length;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        let best = last;
        const lv = h[l];
        if (
          l < n &&
          lv !== undefined &&
          (lv.timeMs < best.timeMs || (lv.timeMs === best.timeMs && lv.seq < best.seq))
        ) {
          m = l;
          best = lv;
        }
        const rv = h[r];
        if (
          r < n &&
          rv !== undefined &&
          (rv.timeMs < best.timeMs || (rv.timeMs === best.timeMs && rv.seq < best.seq))
        ) {
          m = r;
          best = rv;
        }
        if (m === i) break;
        h[i] = best;
        i = m;
      }
      h[i] = last;
    }
    return { timeMs: top.timeMs, event: top.event };
  }
}
