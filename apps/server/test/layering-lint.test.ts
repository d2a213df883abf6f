// The lint rules in eslint.config.mjs that keep chronik-server's layers apart (net → handlers →
// services → partition → storage, never upward) and keep infrastructure (file system, clock, timers,
// randomness, the Raft transport and host) to src/modes/: each rule bites on a probe file in the
// layer, and the same code passes where it is allowed. ESLint runs in one child process for all
// cases (scripts/lint-probes.mjs).
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '../../..');

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

const probe = (dir: string): string => `apps/server/src/${dir}/probe.ts`;
const valueImport = (from: string): string => `import { X } from '${from}';\nexport const y = X;\n`;

// [what, file, code, rule it must break]
const rejected: Array<[string, string, string, string]> = [
  [
    'storage importing partition',
    probe('storage'),
    valueImport('../partition/kafka-log.js'),
    'no-restricted-imports',
  ],
  [
    'partition importing services',
    probe('partition'),
    valueImport('../services/metadata-cache.js'),
    'no-restricted-imports',
  ],
  [
    'partition importing cluster',
    probe('partition'),
    valueImport('../cluster/group-ids.js'),
    'no-restricted-imports',
  ],
  [
    'services importing handlers',
    probe('services'),
    valueImport('../handlers/table.js'),
    'no-restricted-imports',
  ],
  [
    'groups importing handlers',
    probe('groups'),
    valueImport('../handlers/group-util.js'),
    'no-restricted-imports',
  ],
  ['cluster importing modes', probe('cluster'), valueImport('../modes/compose.js'), 'no-restricted-imports'],
  ['txn importing handlers', probe('txn'), valueImport('../handlers/table.js'), 'no-restricted-imports'],
  [
    'handlers importing modes',
    probe('handlers'),
    valueImport('../modes/compose.js'),
    'no-restricted-imports',
  ],
  ['net importing modes', probe('net'), valueImport('../modes/compose.js'), 'no-restricted-imports'],
  ['node:fs in partition', probe('partition'), valueImport('node:fs'), 'no-restricted-imports'],
  ['node:crypto in services', probe('services'), valueImport('node:crypto'), 'no-restricted-imports'],
  [
    'the gRPC transport in cluster',
    probe('cluster'),
    valueImport('@chronik/raft-grpc'),
    'no-restricted-imports',
  ],
  ['Date.now() in groups', probe('groups'), 'export const t = Date.now();\n', 'no-restricted-properties'],
  [
    'Math.random() in partition',
    probe('partition'),
    'export const r = Math.random();\n',
    'no-restricted-properties',
  ],
  ['setTimeout in services', probe('services'), 'setTimeout(() => undefined, 1);\n', 'no-restricted-globals'],
  [
    "the machine's scheduler in services",
    probe('services'),
    "import { systemScheduler } from '@chronik/env';\nexport const s = systemScheduler;\n",
    'no-restricted-imports',
  ],
  [
    'the real environment in cluster',
    probe('cluster'),
    "import { realEnv } from '@chronik/env';\nexport const e = realEnv;\n",
    'no-restricted-imports',
  ],
  [
    "the WAL's real file system in storage",
    probe('storage'),
    "import { nodeFileSystem } from '@chronik/wal';\nexport const f = nodeFileSystem;\n",
    'no-restricted-imports',
  ],
  [
    'new RaftHost in cluster',
    probe('cluster'),
    'declare const RaftHost: new () => object;\nexport const h = new RaftHost();\n',
    'no-restricted-syntax',
  ],
];

const allowed: Array<[string, string, string]> = [
  ['partition importing storage', probe('partition'), valueImport('../storage/batch-cache.js')],
  ['services importing partition', probe('services'), valueImport('../partition/kafka-log.js')],
  ['cluster importing services', probe('cluster'), valueImport('../services/metadata-store.js')],
  ['handlers importing services', probe('handlers'), valueImport('../services/topic-admin.js')],
  [
    'handlers naming a net type',
    probe('handlers'),
    "import type { X } from '../net/connection.js';\nexport type Y = X;\n",
  ],
  [
    "the environment seam's types and helpers in groups",
    probe('groups'),
    "import { every } from '@chronik/env';\nimport type { Clock } from '@chronik/env';\nexport const e = every;\nexport type C = Clock;\n",
  ],
  [
    "the gRPC transport's types in cluster",
    probe('cluster'),
    "import type { IdentityAnswer } from '@chronik/raft-grpc';\nexport type A = IdentityAnswer;\n",
  ],
  [
    'modes constructing infrastructure',
    probe('modes'),
    `${valueImport('node:fs')}import { realEnv } from '@chronik/env';\nexport const e = realEnv;\nexport const t = Date.now();\n`,
  ],
];

test('a lower layer cannot reach up, and only the modes construct infrastructure', () => {
  const results = lintAll([...rejected, ...allowed].map(([, file, code]) => ({ file, code })));
  rejected.forEach(([what, , , rule], i) => {
    expect({ what, rules: results[i] }).toEqual({ what, rules: expect.arrayContaining([rule]) });
  });
  allowed.forEach(([what], k) => {
    expect({ what, rules: results[rejected.length + k] }).toEqual({ what, rules: [] });
  });
});
