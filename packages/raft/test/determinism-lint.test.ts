// The lint rules in eslint.config.mjs keep the Raft core deterministic: no wall clock,
// no ambient randomness, no timers and no I/O modules inside packages/raft/src.
// ESLint runs as a child process: its config loader needs native dynamic import,
// which jest's module sandbox does not provide.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '../../..');
const eslintBin = path.join(root, 'node_modules', 'eslint', 'bin', 'eslint.js');

interface LintMessage {
  ruleId: string | null;
  message: string;
}

function ruleIds(code: string, file: string): string[] {
  const r = spawnSync(process.execPath, [eslintBin, '--format', 'json', '--stdin', '--stdin-filename', file], {
    cwd: root,
    input: code,
    encoding: 'utf8',
  });
  if (r.status !== 0 && r.status !== 1) throw new Error(`eslint failed: ${r.stderr}`);
  const [result] = JSON.parse(r.stdout) as { messages: LintMessage[] }[];
  return (result?.messages ?? []).map((m) => m.ruleId ?? m.message);
}

describe('determinism lint rules', () => {
  const core = 'packages/raft/src/probe.ts';

  it.each([
    ['Date.now()', 'export const t = Date.now();\n', 'no-restricted-properties'],
    ['new Date()', 'export const t = new Date();\n', 'no-restricted-syntax'],
    ['Math.random()', 'export const r = Math.random();\n', 'no-restricted-properties'],
    ['setTimeout', 'setTimeout(() => undefined, 1);\n', 'no-restricted-globals'],
    ['process', 'export const e = process.env;\n', 'no-restricted-globals'],
    ['node:fs', "import { readFileSync } from 'node:fs';\nexport const f = readFileSync;\n", 'no-restricted-imports'],
    ['net', "import net from 'net';\nexport const n = net;\n", 'no-restricted-imports'],
  ])('rejects %s inside packages/raft/src', (_name, code, rule) => {
    expect(ruleIds(code, core)).toContain(rule);
  });

  it('accepts the same call outside the Raft core', () => {
    expect(ruleIds('export const t = Date.now();\n', 'packages/wal/src/probe.ts')).toEqual([]);
  });

  it('accepts deterministic code inside the Raft core', () => {
    expect(ruleIds('export const next = (tick: number): number => tick + 1;\n', core)).toEqual([]);
  });
});
