// The lint rules in eslint.config.mjs keep the Raft core deterministic: no wall clock,
// no ambient randomness, no timers and no I/O modules inside packages/raft/src.
// ESLint runs in one child process for all cases: its config loader needs native dynamic
// import, which jest's module sandbox does not provide.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '../../..');
const core = 'packages/raft/src/probe.ts';

interface Case {
  readonly code: string;
  readonly file: string;
}

const script = `
import { ESLint } from 'eslint';
const cases = JSON.parse(process.argv[1]);
const eslint = new ESLint({ cwd: process.cwd() });
const out = [];
for (const c of cases) {
  const [r] = await eslint.lintText(c.code, { filePath: c.file });
  out.push((r?.messages ?? []).map((m) => m.ruleId ?? m.message));
}
process.stdout.write(JSON.stringify(out));
`;

function lintAll(cases: readonly Case[]): string[][] {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(cases)], {
    cwd: root,
    encoding: 'utf8',
  });
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
