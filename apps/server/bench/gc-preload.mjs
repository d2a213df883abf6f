// Preload for produce-ab.mjs runs (`node --import=./gc-preload.mjs bin/chronik-server ...`), not a
// test: with HEAP_GROWING_PERCENT set it applies what the Broker option heapGrowingPercent applies
// (V8 --heap-growing-percent), and with GC_OUT set it appends the process's GC counts and pause
// times to that file as one JSON line when the process exits.
import fs from 'node:fs';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import v8 from 'node:v8';

if (process.env.HEAP_GROWING_PERCENT)
  v8.setFlagsFromString(`--heap-growing-percent=${process.env.HEAP_GROWING_PERCENT}`);
const s = { major: 0, majorMs: 0, minor: 0, minorMs: 0, maxPauseMs: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
      s.major++;
      s.majorMs += e.duration;
    } else {
      s.minor++;
      s.minorMs += e.duration;
    }
    s.maxPauseMs = Math.max(s.maxPauseMs, e.duration);
  }
}).observe({ entryTypes: ['gc'] });
process.on('exit', () => {
  if (!process.env.GC_OUT) return;
  const r = {
    label: process.env.GC_LABEL ?? '',
    ...s,
    majorMs: +s.majorMs.toFixed(1),
    minorMs: +s.minorMs.toFixed(1),
    maxPauseMs: +s.maxPauseMs.toFixed(1),
  };
  fs.appendFileSync(process.env.GC_OUT, `${JSON.stringify(r)}\n`);
});
