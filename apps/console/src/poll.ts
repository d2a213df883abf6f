// Polling: one request at a time, the next `intervalMs` after the last answer, stopped when the
// component goes away or its key changes. The last good answer stays shown while a later poll fails.
import { useEffect, useRef, useState } from 'preact/hooks';

export interface Polled<T> {
  data: T | undefined;
  error: Error | undefined;
  /** Wall-clock time of the last answer. */
  atMs: number | undefined;
}

export function usePoll<T>(
  load: () => Promise<T>,
  intervalMs: number,
  key: string,
  onData?: (data: T, atMs: number) => void,
): Polled<T> {
  const [state, setState] = useState<Polled<T>>({ data: undefined, error: undefined, atMs: undefined });
  const onDataRef = useRef(onData);
  onDataRef.current = onData;
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setState({ data: undefined, error: undefined, atMs: undefined });
    const tick = async (): Promise<void> => {
      try {
        const data = await load();
        if (stopped) return;
        const atMs = Date.now();
        onDataRef.current?.(data, atMs);
        setState({ data, error: undefined, atMs });
      } catch (e) {
        if (stopped) return;
        setState((s) => ({ ...s, error: e instanceof Error ? e : new Error(String(e)) }));
      }
      if (!stopped && intervalMs > 0) timer = setTimeout(() => void tick(), intervalMs);
    };
    void tick();
    return () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    };
    // `key` names what `load` reads: a new key starts a new poll.
  }, [key, intervalMs]);
  return state;
}

/** A bounded history of samples kept in the page (oldest dropped first). */
export class History {
  readonly times: number[] = [];
  readonly series: number[][];

  constructor(
    readonly labels: readonly string[],
    private readonly max: number,
  ) {
    this.series = labels.map(() => []);
  }

  push(atMs: number, values: readonly number[]): void {
    this.times.push(atMs / 1000);
    values.forEach((v, i) => this.series[i]?.push(v));
    if (this.times.length > this.max) {
      this.times.shift();
      for (const s of this.series) s.shift();
    }
  }

  get length(): number {
    return this.times.length;
  }
}
