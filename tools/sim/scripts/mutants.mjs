#!/usr/bin/env node
// Proves the simulator's checks bite: each mutant re-introduces a known bug (a fixed one, or a
// durability mistake) into a scratch copy of the built packages — the sources are not touched —
// and runs the seed sweep against it. Prints, per mutant, which seeds caught it and with which
// checks (the table in ../README.md).
//
//   node tools/sim/scripts/mutants.mjs [--seeds 1..40] [--steps 1500] [--mutant NAME] [--keep]
//
// Build first (`pnpm --filter @chronik/sim... build`, which `pnpm sim` does). The copy keeps each
// package's dist and package.json; its node_modules link to the originals, except @chronik/* which
// link to the copies, so a patched package is the one every other package loads.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..', '..');
const PACKAGES = [
  'packages/protocol',
  'packages/metadata',
  'packages/raft',
  'packages/raft-grpc',
  'packages/raft-host',
  'packages/wal',
  'apps/server',
  'tools/sim',
];

/**
 * Each mutant: a file of a package's dist, the text to find there (exactly once) and its
 * replacement; `also` lists more such patches when one bug needs several.
 */
export const MUTANTS = [
  {
    name: 'stale-hw',
    what: 'a new leader serves reads before it applied an entry of its own term (its high watermark may be behind its predecessor’s)',
    file: 'apps/server/dist/partition/replicated-partition.js',
    find: "if (!this.ready)\n            throw new KafkaError('OFFSET_NOT_AVAILABLE'",
    replace: "if (false)\n            throw new KafkaError('OFFSET_NOT_AVAILABLE'",
  },
  {
    name: 'cursor-on-refused',
    what: 'the leader’s offset cursor moves past a batch whose proposal Raft refused (nothing appended)',
    file: 'apps/server/dist/partition/replicated-partition.js',
    find: 'if (at === undefined) {',
    replace: 'if (at === undefined) {\n                this.cursor += BigInt(a.header.lastOffsetDelta) + 1n;',
  },
  {
    name: 'inflight-cleared',
    what: 'the leader forgets its in-flight idempotent batches when a produce fails or times out',
    file: 'apps/server/dist/partition/replicated-partition.js',
    find: 'catch (e) {\n            throw toKafkaError(e, `produce to',
    replace: 'catch (e) {\n            this.inflight = [];\n            throw toKafkaError(e, `produce to',
  },
  {
    name: 'ack-before-fsync',
    what: 'the group commit reports entries and hard states durable without fsync (Raft sends, votes and acknowledges on unsynced data)',
    file: 'packages/wal/dist/committer.js',
    find: "if (this.policy.kind === 'unsafe-none')",
    replace: 'if (true)',
  },
  {
    name: 'epoch-end-start',
    what: 'OffsetForLeaderEpoch answers the start offset of the requested epoch instead of the start of the next one',
    file: 'apps/server/dist/partition/leader-epochs.js',
    find: 'const end = higher?.startOffset ?? logEndOffset;',
    replace: 'const end = floor?.startOffset ?? higher?.startOffset ?? logEndOffset;',
  },
  {
    name: 'earliest-is-hw',
    what: 'ListOffsets earliest answers the high watermark instead of the log start offset',
    file: 'apps/server/dist/partition/kafka-log.js',
    find: 'return { offset: this.start, timestamp: -1n, leaderEpoch: this.epochs.epochAt(this.start) };',
    replace: 'return { offset: this.hw, timestamp: -1n, leaderEpoch: this.epochs.epochAt(this.start) };',
  },
  {
    name: 'deleted-replica-kept',
    what: 'the partition manager keeps serving the replicas of a deleted topic',
    file: 'apps/server/dist/services/partition-manager.js',
    find: 'if (!gone(p.topicId))\n                continue;',
    replace: 'if (true)\n                continue;',
  },
  {
    name: 'repair-stale-promotion',
    what: 'a replica under repair is demoted to a learner without leaving the configuration (the leader keeps counting what its discarded copy acknowledged) and promoted on that count alone',
    file: 'apps/server/dist/cluster/replica-repair.js',
    find: 'if (member().voter || member().learner)',
    replace: 'if (false)',
    also: [
      {
        file: 'apps/server/dist/cluster/replica-repair.js',
        find: 'p.match < Math.max(1, r.learnerSince(b)) ||',
        replace: 'false ||',
      },
    ],
  },
  {
    name: 'load-drops-last',
    what: 'a coordinator loading `__consumer_offsets` (after a failover or restart) skips the partition’s last record',
    file: 'apps/server/dist/groups/service.js',
    find: 'if (rec.offset < offset || rec.offset >= end || rec.key === null)',
    replace: 'if (rec.offset < offset || rec.offset >= end - 1n || rec.key === null)',
  },
  {
    name: 'serve-while-loading',
    what: 'the coordinator answers a group’s requests while it loads its partition, not COORDINATOR_LOAD_IN_PROGRESS',
    // The simulated disk reads at once, so a load ends within one event; the mutant also makes it
    // take 100 ms, as reading a long partition from a real disk does (that delay alone passes).
    file: 'apps/server/dist/groups/coordinator.js',
    find: "this.partitions.set(partition, { state: 'loading', epoch });",
    replace:
      "this.partitions.set(partition, { state: 'active', epoch });\n        await new Promise((resolve) => this.scheduler.setTimer(100, resolve));",
  },
  {
    name: 'any-generation',
    what: 'a member’s OffsetCommit is accepted whatever generation it carries',
    file: 'apps/server/dist/groups/coordinator.js',
    find: "if (req.generationId !== group.generationId)\n                return all('ILLEGAL_GENERATION');",
    replace: "if (false)\n                return all('ILLEGAL_GENERATION');",
  },
  {
    name: 'follower-assigns',
    what: 'a SyncGroup from any member, not only the leader, writes the generation’s assignment',
    file: 'apps/server/dist/groups/coordinator.js',
    find: 'if (group.isLeader(req.memberId)) {',
    replace: 'if (true) {',
  },
  {
    name: 'wrong-partition',
    what: 'OffsetFetch answers partition 0’s committed offset for every partition of a topic',
    file: 'apps/server/dist/groups/coordinator.js',
    find: 'const o = live.getOffset(topic, partition);',
    replace: 'const o = live.getOffset(topic, 0);',
  },
];

function parseArgs(argv) {
  const a = { from: 1, to: 40, steps: 1500, mutant: undefined, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--seeds') {
      const m = /^(\d+)\.\.(\d+)$/.exec(argv[++i] ?? '');
      if (!m) throw new Error('--seeds expects A..B');
      a.from = Number(m[1]);
      a.to = Number(m[2]);
    } else if (arg === '--steps') a.steps = Number(argv[++i]);
    else if (arg === '--mutant') a.mutant = argv[++i];
    else if (arg === '--keep') a.keep = true;
    else throw new Error(`unknown argument ${arg}`);
  }
  return a;
}

/** A copy of every package's dist, wired to each other; returns its root. */
function scratchCopy() {
  const root = mkdtempSync(path.join(tmpdir(), 'chronik-sim-mutant-'));
  const byName = new Map();
  for (const rel of PACKAGES) {
    const pkg = JSON.parse(readFileSync(path.join(repo, rel, 'package.json'), 'utf8'));
    byName.set(pkg.name, rel);
  }
  for (const rel of PACKAGES) {
    const src = path.join(repo, rel);
    const dst = path.join(root, rel);
    mkdirSync(dst, { recursive: true });
    if (!existsSync(path.join(src, 'dist'))) throw new Error(`${rel} is not built`);
    cpSync(path.join(src, 'dist'), path.join(dst, 'dist'), { recursive: true });
    copyFileSync(path.join(src, 'package.json'), path.join(dst, 'package.json'));
    if (existsSync(path.join(src, 'bin')))
      cpSync(path.join(src, 'bin'), path.join(dst, 'bin'), { recursive: true });
    const nm = path.join(src, 'node_modules');
    const dnm = path.join(dst, 'node_modules');
    mkdirSync(dnm, { recursive: true });
    for (const e of existsSync(nm) ? readdirSync(nm) : []) {
      if (e !== '@chronik') {
        symlinkSync(path.join(nm, e), path.join(dnm, e));
        continue;
      }
      mkdirSync(path.join(dnm, '@chronik'));
      for (const c of readdirSync(path.join(nm, '@chronik'))) {
        const copy = byName.get(`@chronik/${c}`);
        symlinkSync(
          copy ? path.join(root, copy) : path.join(nm, '@chronik', c),
          path.join(dnm, '@chronik', c),
        );
      }
    }
  }
  return root;
}

function apply(root, m) {
  for (const p of [m, ...(m.also ?? [])]) {
    const file = path.join(root, p.file);
    const text = readFileSync(file, 'utf8');
    const n = text.split(p.find).length - 1;
    if (n !== 1) throw new Error(`mutant ${m.name}: the text to replace occurs ${n} times in ${p.file}`);
    writeFileSync(file, text.replace(p.find, p.replace));
  }
}

function run(root, args) {
  const r = spawnSync(
    process.execPath,
    [
      path.join(root, 'tools/sim/bin/chronik-sim'),
      '--seeds',
      `${args.from}..${args.to}`,
      '--steps',
      String(args.steps),
    ],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  const caught = [];
  let current;
  for (const line of r.stdout.split('\n')) {
    const head = /^seed (\d+): FAIL/.exec(line);
    if (head) caught.push((current = { seed: Number(head[1]), kinds: new Set() }));
    const v = /^\s+\[([a-z-]+)\]/.exec(line);
    if (v && current) current.kinds.add(v[1]);
  }
  return { caught, summary: r.stdout.trim().split('\n').pop() ?? '', stderr: r.stderr };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const chosen = args.mutant === undefined ? MUTANTS : MUTANTS.filter((m) => m.name === args.mutant);
  if (chosen.length === 0) throw new Error(`no mutant ${args.mutant}`);
  const rows = [];
  for (const m of chosen) {
    const root = scratchCopy();
    try {
      apply(root, m);
      const started = Date.now();
      const r = run(root, args);
      const kinds = new Map();
      for (const c of r.caught) for (const k of c.kinds) kinds.set(k, (kinds.get(k) ?? 0) + 1);
      const n = args.to - args.from + 1;
      const row = `| \`${m.name}\` | ${m.what} | ${r.caught.length} of ${n} (${r.caught
        .slice(0, 6)
        .map((c) => c.seed)
        .join(
          ', ',
        )}${r.caught.length > 6 ? ', …' : ''}) | ${[...kinds].map(([k, c]) => `\`${k}\` ${c}`).join(', ')} |`;
      rows.push(row);
      process.stdout.write(
        `${m.name}: ${r.caught.length}/${n} seeds caught it (${((Date.now() - started) / 1000).toFixed(0)} s)\n`,
      );
      if (r.caught.length === 0 && r.stderr) process.stdout.write(r.stderr.slice(0, 2000));
    } finally {
      if (args.keep) process.stdout.write(`scratch copy kept: ${root}\n`);
      else rmSync(root, { recursive: true, force: true });
    }
  }
  process.stdout.write(
    `\nseeds ${args.from}..${args.to}, ${args.steps} steps\n\n| mutant | bug | seeds that catch it | checks |\n|---|---|---|---|\n${rows.join('\n')}\n`,
  );
}

main().catch((e) => {
  process.stderr.write(`mutants: ${e.message}\n`);
  process.exit(2);
});
