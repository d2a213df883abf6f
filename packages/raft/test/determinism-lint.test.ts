// The lint rules in eslint.config.mjs keep the Raft core deterministic: no wall clock,
// no ambient randomness, no timers and no I/O modules inside packages/raft/src.
// ESLint runs in one child process for all cases (scripts/lint-probes.mjs).
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '../../..');
const core = 'packages/raft/src/probe.ts';

interface Case {
  readonly code: string;
  readonly file: string;
}

function lintAll(cases: readonly Case[]): string[][] {
  const probes = path.join(root, 'scripts', 'lint-probes.mjs');
  const r = spawnSync(process.execPath, [probes, JSON.stringify(cases)], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`eslint failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as string[][];
}

const rejected: [string, string, string][] = [
  ['Date.now()', 'export const t = Date.now();\n', 'no-restricted-properties'],
  ['new Date()', 'export const t = new Date();\n', 'no-restricted-syntax'],
  ['Math.random()', 'export const r = Math.random();\n', 'no-restricted-properties'],
  ['setTimeout', 'setTimeout(() => undefined, 1);\n', 'no-restricted-globals'],
  ['process', 'export const e = process.env;\n', 'no-restricted-globals'],
  [
    'node:fs',
    "import { readFileSync } from 'node:fs';\nexport const f = readFileSync;\n",
    'no-restricted-imports',
  ],
  ['net', "import net from 'net';\nexport const n = net;\n", 'no-restricted-imports'],
];

describe('determinism lint rules', () => {
  let results: string[][] = [];
  beforeAll(() => {
    results = lintAll([
      ...rejected.map(([, code]) => ({ code, file: core })),
      { code: 'export const t = Date.now();\n', file: 'packages/wal/src/probe.ts' },
      { code: 'export const next = (tick: number): number => tick + 1;\n', file: core },
    ]);
  });

  it.each(rejected.map((c, i) => [...c, i] as const))(
    'rejects %s inside packages/raft/src',
    (_name, _code, rule, i) => {
      expect(results[i]).toContain(rule);
    },
  );

  it('accepts the same call outside the Raft core', () => {
    expect(results[rejected.length]).toEqual([]);
  });

  it('accepts deterministic code inside the Raft core', () => {
    expect(results[rejected.length + 1]).toEqual([]);
  });
});
