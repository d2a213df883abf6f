// Benchmark: MB/s and appends/s of @chronik/wal with fsync per batch (group commit), for 1 KiB
// and 64 KiB appends, 1 and 100 logs, beside dd with O_DSYNC / fdatasync on the same disk in
// the same run. Not a test: run with `pnpm --filter @chronik/wal bench` (builds first).
//   BENCH_DIR=<dir on the disk to measure> (default: os.tmpdir())  BENCH_SECONDS=<per case> (default 3)
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GroupCommitter, Wal } from '../dist/index.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const root = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'chronik-wal-bench-'));

function dd(blockBytes, flag, maxBytes) {
  const file = path.join(root, `dd-${blockBytes}-${flag}.bin`);
  // Size the run to take about `seconds` at a guess, capped.
  const count = Math.max(16, Math.floor(maxBytes / blockBytes));
  const args = ['if=/dev/zero', `of=${file}`, `bs=${blockBytes}`, `count=${count}`, flag];
  const t0 = process.hrtime.bigint();
  execFileSync('dd', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  fs.rmSync(file, { force: true });
  return {
    mbps: (count * blockBytes) / secs / 1e6,
    opsPerSec: count / secs,
    secs,
    args: args.slice(2).join(' '),
  };
}

/** Doubles the dd run until it lasts at least half of `seconds` (capped at 1 GiB). */
function ddTimed(blockBytes, flag) {
  let bytes = blockBytes * 64;
  for (;;) {
    const r = dd(blockBytes, flag, bytes);
    if (r.secs >= seconds / 2 || bytes >= 1 << 30) return r;
    bytes = Math.min(1 << 30, bytes * Math.max(2, Math.ceil(seconds / 2 / Math.max(r.secs, 0.01))));
  }
}

async function walCase({ recordBytes, logs, writersPerLog }) {
  const dir = fs.mkdtempSync(path.join(root, 'wal-'));
  const committer = new GroupCommitter({ policy: { kind: 'batch' } });
  const wals = await Promise.all(
    Array.from({ length: logs }, (_, i) => Wal.open({ dir: path.join(dir, String(i)), committer })),
  );
  const payload = Buffer.alloc(recordBytes, 0x5a);
  let appends = 0;
  const deadline = Date.now() + seconds * 1000;
  const cycles0 = committer.cycles;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    wals.flatMap((w) =>
      Array.from({ length: writersPerLog }, async () => {
        while (Date.now() < deadline) {
          void w.append([{ payload }]);
          await w.sync(); // acknowledged only once durable
          appends++;
        }
      }),
    ),
  );
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cycles = committer.cycles - cycles0;
  for (const w of wals) await w.close();
  committer.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    mbps: (appends * recordBytes) / secs / 1e6,
    appendsPerSec: appends / secs,
    fsyncCyclesPerSec: cycles / secs,
  };
}

const fmt = (n, d = 1) => n.toFixed(d).padStart(10);

async function main() {
  console.log(
    `@chronik/wal benchmark: ${seconds}s per case, directory ${root} (node ${process.version}, ${os.cpus().length} cpus, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? 4})`,
  );
  const raw = {};
  for (const bs of [1024, 65536]) {
    raw[bs] = { dsync: ddTimed(bs, 'oflag=dsync'), fdatasync: ddTimed(bs, 'conv=fdatasync') };
  }
  console.log('\nraw disk (dd, same directory):');
  console.log('  block    mode              MB/s      writes/s');
  for (const bs of [1024, 65536]) {
    for (const mode of ['dsync', 'fdatasync']) {
      const r = raw[bs][mode];
      console.log(
        `  ${String(bs / 1024).padStart(3)} KiB  ${(mode === 'dsync' ? 'oflag=dsync' : 'conv=fdatasync').padEnd(15)}${fmt(r.mbps)}${fmt(r.opsPerSec, 0)}`,
      );
    }
  }
  const cases = [
    { recordBytes: 1024, logs: 1, writersPerLog: 1 },
    { recordBytes: 1024, logs: 1, writersPerLog: 64 },
    { recordBytes: 1024, logs: 100, writersPerLog: 1 },
    { recordBytes: 65536, logs: 1, writersPerLog: 1 },
    { recordBytes: 65536, logs: 1, writersPerLog: 16 },
    { recordBytes: 65536, logs: 100, writersPerLog: 1 },
  ];
  console.log('\nwal, every append acknowledged after a group-committed fdatasync (policy batch):');
  console.log(
    '  record   logs  writers/log      MB/s   appends/s  fsync cycles/s  vs dd dsync  vs dd fdatasync',
  );
  for (const c of cases) {
    const r = await walCase(c);
    const pct = (x) => `${((r.mbps / x.mbps) * 100).toFixed(0)}%`.padStart(12);
    console.log(
      `  ${String(c.recordBytes / 1024).padStart(3)} KiB ${String(c.logs).padStart(6)} ${String(c.writersPerLog).padStart(12)}${fmt(r.mbps)}${fmt(r.appendsPerSec, 0)}${fmt(r.fsyncCyclesPerSec, 0)}    ${pct(raw[c.recordBytes].dsync)} ${pct(raw[c.recordBytes].fdatasync)}`,
    );
  }
  console.log(
    '\n"vs dd dsync": wal MB/s over dd MB/s writing the same block size with O_DSYNC (every write durable, like one',
  );
  console.log(
    'append per fsync). "vs dd fdatasync": over dd streaming the same blocks with one fdatasync at the end (the',
  );
  console.log("disk's raw sequential bandwidth, an upper bound for any fsync'd log).");
  console.log('Target (issue 4): >= 70% at 64 KiB with group commit.');
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => fs.rmSync(root, { recursive: true, force: true }));
