/**
 * Crash test with real processes for RaftLogStorage: a child appends entries and sets the hard
 * state in a loop, reporting every index (and term) sync() made durable; we kill -9 it at seeded
 * random moments, reopen, and check that every reported entry is there and intact, that the hard
 * state is at least as new as reported, and that nothing after it is garbage. A few iterations run
 * by default; `pnpm --filter @chronik/raft-host crash` runs many (CHRONIK_WAL_CRASH_ITERATIONS).
 * The same test for a bare Wal is in @chronik/wal.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { seededRng } from '@chronik/raft';
import { RaftLogStorage } from '../src/index.js';
import { removeTempDirs, tempDir } from './temp-dir.js';

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
  lastTerm: number;
  lines: number;
}

/** Runs the child until it has reported `minSynced` syncs plus a random delay, then kill -9s it. */
function runAndKill(dir: string, extraDelayMs: number, minSynced: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const run: Run = { lastSynced: -1, lastTerm: 0, lines: 0 };
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
        const m = /^synced (\d+) (\d+)$/.exec(line);
        if (m) {
          run.lastSynced = Number(m[1]);
          run.lastTerm = Number(m[2]);
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
      `${DIST} is missing: run \`pnpm --filter @chronik/raft-host build\` first (turbo's test task does)`,
    );
});

test(
  `RaftLogStorage: kill -9 keeps synced entries and hard state (${ITERATIONS} iterations)`,
  async () => {
    // SEED + 1: the same kill moments as when this test ran beside the Wal's in @chronik/wal.
    const rng = seededRng(SEED + 1);
    const dir = path.join(tempDir(), 'raft');
    let reported = 0;
    let reportedTerm = 0;
    for (let it = 0; it < ITERATIONS; it++) {
      const run = await runAndKill(dir, Math.floor(rng() * 60), 1 + Math.floor(rng() * 20));
      reported = Math.max(reported, run.lastSynced);
      reportedTerm = Math.max(reportedTerm, run.lastTerm);
      const s = await RaftLogStorage.open({ dir, maxSegmentBytes: 256 << 10 });
      try {
        const last = s.lastIndex();
        if (last < reported)
          throw new Error(`iteration ${it}: synced entry ${reported} reported, log ends at ${last}`);
        expect(s.initialState().hardState.term).toBeGreaterThanOrEqual(reportedTerm);
        expect(s.initialState().hardState.commit).toBeLessThanOrEqual(last);
        for (let i = 1; i <= last;) {
          const es = s.entries(i, last + 1, 4 << 20);
          for (const e of es) {
            expect(e.term).toBe(1 + Math.floor(e.index / 50));
            if (!Buffer.from(e.data).equals(payloadOf(e.index)))
              throw new Error(`iteration ${it}: entry ${e.index} is garbage`);
          }
          i += es.length;
        }
        reported = last;
      } finally {
        await s.close();
      }
    }
  },
  120_000 + ITERATIONS * 15_000,
);
