/**
 * Crash tests with real processes: a child appends and syncs in a loop, reporting every index
 * sync() made durable; we kill -9 it at seeded random moments, reopen, and check that every
 * reported index is there and intact and that nothing after it is garbage. A few iterations run
 * by default; `pnpm --filter @chronik/wal crash` runs many (CHRONIK_WAL_CRASH_ITERATIONS).
 * The same test for the Raft log storage on top of a Wal is in @chronik/raft-host.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Wal } from '../src/index.js';
import { removeTempDirs, seededRng, tempDir } from './helpers.js';

const ITERATIONS = Number(process.env.CHRONIK_WAL_CRASH_ITERATIONS ?? 3);
const SEED = Number(process.env.CHRONIK_WAL_CRASH_SEED ?? 20261126);
const CHILD = path.join(__dirname, 'fixtures', 'crash-child.mjs');
const DIST = path.join(__dirname, '..', 'dist', 'index.js');

afterAll(removeTempDirs);

/** Must match payloadOf() in fixtures/crash-child.mjs. */
function payloadOf(index: number): Buffer {
  const len = 1 + ((index * 7919) % 3000);
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = (index * 31 + i * 7) & 0xff;
  return b;
}

interface Run {
  lastSynced: number;
  lines: number;
}

/** Runs the child until it has reported `minSynced` syncs plus a random delay, then kill -9s it. */
function runAndKill(dir: string, extraDelayMs: number, minSynced: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const run: Run = { lastSynced: -1, lines: 0 };
    let buf = '';
    let stderr = '';
    let killTimer: NodeJS.Timeout | undefined;
    const watchdog = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = /^synced (\d+)$/.exec(line);
        if (m) {
          run.lastSynced = Number(m[1]);
          run.lines++;
          if (run.lines === minSynced && !killTimer)
            killTimer = setTimeout(() => child.kill('SIGKILL'), extraDelayMs);
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(watchdog);
      if (killTimer) clearTimeout(killTimer);
      if (signal !== 'SIGKILL') reject(new Error(`child exited on its own (code ${code}): ${stderr}`));
      else if (run.lines < minSynced)
        reject(new Error(`child was killed before reporting ${minSynced} syncs: ${stderr}`));
      else resolve(run);
    });
  });
}

beforeAll(() => {
  if (!fs.existsSync(DIST))
    throw new Error(
      `${DIST} is missing: run \`pnpm --filter @chronik/wal build\` first (turbo's test task does)`,
    );
});

test(
  `Wal: kill -9 at random moments never loses a synced record nor leaves garbage (${ITERATIONS} iterations)`,
  async () => {
    const rng = seededRng(SEED);
    const dir = path.join(tempDir(), 'wal');
    let reported = 0;
    for (let it = 0; it < ITERATIONS; it++) {
      const run = await runAndKill(dir, Math.floor(rng() * 60), 1 + Math.floor(rng() * 20));
      reported = Math.max(reported, run.lastSynced);
      const wal = await Wal.open({ dir, maxSegmentBytes: 256 << 10 });
      try {
        const last = wal.lastIndex();
        if (last < reported)
          throw new Error(
            `iteration ${it} (seed ${SEED}): synced index ${reported} reported, log ends at ${last}`,
          );
        for (let i = 1; i <= last;) {
          const recs = await wal.read(i, last + 1, 4 << 20);
          for (const r of recs) {
            if (!r.payload.equals(payloadOf(r.index)))
              throw new Error(`iteration ${it} (seed ${SEED}): record ${r.index} is garbage`);
          }
          i += recs.length;
        }
        reported = last; // everything recovered is made durable by open()
      } finally {
        await wal.close();
      }
    }
  },
  120_000 + ITERATIONS * 15_000,
);
