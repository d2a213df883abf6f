// The node's Prometheus counters (GET /metrics) as the overview's throughput chart uses them: each
// metric's samples summed over their labels, and rates between two scrapes (unit tested).

/** Sums each metric's samples over their labels: `name{a="b"} 3` and `name 4` → name: 7. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = brace >= 0 ? line.indexOf(' ', line.lastIndexOf('}')) : line.indexOf(' ');
    if (space < 0) continue;
    const name = line.slice(0, brace >= 0 ? brace : space);
    const value = Number(
      line
        .slice(space + 1)
        .trim()
        .split(' ')[0],
    );
    if (!Number.isFinite(value)) continue;
    out.set(name, (out.get(name) ?? 0) + value);
  }
  return out;
}

/** The counters the overview charts. */
export const THROUGHPUT_COUNTERS = {
  bytesIn: 'chronik_network_in_bytes_total',
  bytesOut: 'chronik_network_out_bytes_total',
  records: 'chronik_produced_records_total',
} as const;

export interface Scrape {
  atMs: number;
  values: Map<string, number>;
}

/**
 * Per-second rate of each named counter between two scrapes; a counter that went down (the node
 * restarted) counts from zero.
 */
export function rates(prev: Scrape, next: Scrape, names: readonly string[]): Map<string, number> {
  const seconds = (next.atMs - prev.atMs) / 1000;
  const out = new Map<string, number>();
  if (seconds <= 0) return out;
  for (const name of names) {
    const a = prev.values.get(name) ?? 0;
    const b = next.values.get(name) ?? 0;
    out.set(name, (b >= a ? b - a : b) / seconds);
  }
  return out;
}
