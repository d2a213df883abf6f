// The lint rules in eslint.config.mjs that keep @chronik/wal and @chronik/env at the bottom of the
// layering: nothing under packages/wal/src may import a package of ours (@chronik/*) but the
// environment seam (@chronik/env), and nothing under packages/env/src any.
// ESLint runs in one child process for all cases (scripts/lint-probes.mjs).
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '../../..');
const walSource = 'packages/wal/src/probe.ts';
const envSource = 'packages/env/src/probe.ts';

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

const envImport = "import { realEnv } from '@chronik/env';\nexport const e = realEnv;\n";

const rejected: [string, string, string][] = [
  ['a value import', walSource, chronikImport],
  ['a type import', walSource, "import type { Entry } from '@chronik/raft';\nexport type E = Entry;\n"],
  ['a re-export', walSource, "export { RaftHost } from '@chronik/raft-host';\n"],
  ['a deep import', walSource, "import { x } from '@chronik/protocol/dist/x.js';\nexport const y = x;\n"],
  [
    'a deep import of the seam',
    walSource,
    "import { x } from '@chronik/env/dist/x.js';\nexport const y = x;\n",
  ],
  [
    'an import in @chronik/env',
    envSource,
    "import type { WalFile } from '@chronik/wal';\nexport type F = WalFile;\n",
  ],
];

const accepted: [string, string, string][] = [
  [
    'a third-party package',
    walSource,
    "import { crc32c } from '@node-rs/crc32';\nexport const c = crc32c;\n",
  ],
  ['a Node.js module', walSource, "import * as path from 'node:path';\nexport const p = path;\n"],
  ['a module of its own', walSource, "import { Wal } from './wal.js';\nexport const W = Wal;\n"],
  ['the environment seam', walSource, envImport],
  ['a Node.js module in @chronik/env', envSource, "import * as fs from 'node:fs';\nexport const f = fs;\n"],
  ['a package of ours outside the WAL', 'packages/raft-host/src/probe.ts', chronikImport],
];

describe('@chronik/wal layering lint rule', () => {
  let results: string[][] = [];
  beforeAll(() => {
    results = lintAll([
      ...rejected.map(([, file, code]) => ({ code, file })),
      ...accepted.map(([, file, code]) => ({ code, file })),
    ]);
  });

  it.each(rejected.map((c, i) => [...c, i] as const))(
    'rejects %s of @chronik/*',
    (_name, _file, _code, i) => {
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
