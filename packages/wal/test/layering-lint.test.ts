// The lint rule in eslint.config.mjs that keeps @chronik/wal at the bottom of the layering:
// nothing under packages/wal/src may import a package of ours (@chronik/*).
// ESLint runs in one child process for all cases (scripts/lint-probes.mjs).
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '../../..');
const walSource = 'packages/wal/src/probe.ts';

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

const chronikImport = "import { RaftError } from '@chronik/raft';\nexport const E = RaftError;\n";

const rejected: [string, string][] = [
  ['a value import', chronikImport],
  ['a type import', "import type { Entry } from '@chronik/raft';\nexport type E = Entry;\n"],
  ['a re-export', "export { RaftHost } from '@chronik/raft-host';\n"],
  ['a deep import', "import { x } from '@chronik/protocol/dist/x.js';\nexport const y = x;\n"],
];

const accepted: [string, string, string][] = [
  [
    'a third-party package',
    walSource,
    "import { crc32c } from '@node-rs/crc32';\nexport const c = crc32c;\n",
  ],
  ['a Node.js module', walSource, "import * as path from 'node:path';\nexport const p = path;\n"],
  ['a module of its own', walSource, "import { Wal } from './wal.js';\nexport const W = Wal;\n"],
  ['a package of ours outside the WAL', 'packages/raft-host/src/probe.ts', chronikImport],
];

describe('@chronik/wal layering lint rule', () => {
  let results: string[][] = [];
  beforeAll(() => {
    results = lintAll([
      ...rejected.map(([, code]) => ({ code, file: walSource })),
      ...accepted.map(([, file, code]) => ({ code, file })),
    ]);
  });

  it.each(rejected.map((c, i) => [...c, i] as const))(
    'rejects %s of @chronik/* inside packages/wal/src',
    (_name, _code, i) => {
      expect(results[i]).toContain('no-restricted-imports');
    },
  );

  it.each(accepted.map((c, i) => [...c, rejected.length + i] as const))(
    'accepts %s',
    (_name, _file, _code, i) => {
      expect(results[i]).toEqual([]);
    },
  );
});
