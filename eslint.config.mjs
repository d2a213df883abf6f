// Lint rules for the whole workspace. The Raft core gets extra rules that keep it
// deterministic: no wall clock, no ambient randomness, no timers, no I/O modules. The environment
// seam (@chronik/env) imports no package of ours, and the WAL none but it.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ioModules = [
  'fs',
  'fs/promises',
  'net',
  'dgram',
  'http',
  'http2',
  'https',
  'child_process',
  'timers',
  'timers/promises',
  'worker_threads',
  'cluster',
  'tls',
  'dns',
];
const restrictedIo = ioModules
  .flatMap((m) => [m, `node:${m}`])
  .map((name) => ({
    name,
    message: 'The Raft core does no I/O: the caller owns disk, network and timers.',
  }));

// The server's layers, lowest first, with what each may not import. A layer lists every layer above it.
const serverLayerOrder = [
  'storage',
  'partition',
  ['services', 'groups', 'txn', 'cluster'],
  // Listeners, TLS settings, sessions and SASL: below the handlers and the network layer that use
  // them, above the services whose metadata holds the credentials.
  'security',
  'handlers',
  'net',
];
const infraImports = ['node:fs', 'fs', 'node:fs/promises', 'node:crypto', 'crypto'];
// The security layer hashes (SCRAM's HMAC, hash and PBKDF2; certificates' subjects) with Node's
// crypto, but draws no randomness of its own: nonces and salts come from the injected Random.
const cryptoRandomness = [
  'randomBytes',
  'randomUUID',
  'randomInt',
  'randomFill',
  'randomFillSync',
  'getRandomValues',
  'webcrypto',
];
// The machine's implementations of the environment seam (@chronik/env, and what @chronik/wal
// re-exports of it): the seam's types and helpers may be imported anywhere, its real parts only
// where infrastructure is constructed.
const machineParts = [
  {
    name: '@chronik/env',
    importNames: ['realEnv', 'systemClock', 'systemScheduler', 'systemRandom', 'nodeFileSystem'],
  },
  { name: '@chronik/wal', importNames: ['nodeFileSystem', 'systemClock', 'systemTimers'] },
];
const clockAndTimers = {
  globals: ['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval'],
  properties: [
    { object: 'Date', property: 'now' },
    { object: 'Math', property: 'random' },
  ],
};

function serverLayers() {
  const layers = serverLayerOrder.map((l) => (Array.isArray(l) ? l : [l]));
  const above = (i) => [...layers.slice(i + 1).flat(), 'modes'];
  const infraMessage =
    'Only src/modes/ constructs infrastructure (file system, clock, timers, randomness, Raft transport): take it as an argument.';
  return layers.map((dirs, i) => {
    const forbidden = above(i).filter((d) => !(dirs.includes('handlers') && d === 'net'));
    // The network layer works on real sockets; its timers are the sockets' (close deadlines).
    const timers = dirs.includes('net') ? {} : timerRules(infraMessage);
    return {
      files: dirs.map((d) => `apps/server/src/${d}/**/*.ts`),
      rules: {
        'no-restricted-imports': [
          'error',
          {
            paths: [
              ...infraImports.map((name) =>
                dirs.includes('security') && name.endsWith('crypto')
                  ? { name, importNames: cryptoRandomness, message: infraMessage }
                  : { name, message: infraMessage },
              ),
              ...machineParts.map((p) => ({ ...p, message: infraMessage })),
              // The gRPC transport is constructed only in the modes; its types (what a peer answers)
              // may be named anywhere.
              { name: '@chronik/raft-grpc', allowTypeImports: true, message: infraMessage },
            ],
            patterns: [
              {
                regex: `^\\.\\./(${forbidden.join('|')})/`,
                // Types of the layer above may be named (the interfaces a lower layer implements).
                allowTypeImports: dirs.includes('handlers'),
                message: `A lower layer of chronik-server (${dirs.join(', ')}) may not import ${forbidden.join(', ')} (apps/server/README.md, "Layers").`,
              },
            ],
          },
        ],
        ...timers,
        'no-restricted-syntax': [
          'error',
          { selector: "NewExpression[callee.name='RaftHost']", message: infraMessage },
          { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: infraMessage },
        ],
      },
    };
  });
}

function timerRules(message) {
  return {
    'no-restricted-globals': ['error', ...clockAndTimers.globals.map((name) => ({ name, message }))],
    'no-restricted-properties': ['error', ...clockAndTimers.properties.map((p) => ({ ...p, message }))],
  };
}

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/generated/**',
      '**/coverage/**',
      '**/*.cjs',
      '**/bin/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Plain JavaScript scripts (benchmarks, tools, bins) run on Node.js.
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(
        [
          'process',
          'console',
          'Buffer',
          'fetch',
          'setTimeout',
          'clearTimeout',
          'setInterval',
          'clearInterval',
          'setImmediate',
          'URL',
          'AbortSignal',
          'performance',
          'TextEncoder',
          'TextDecoder',
          'structuredClone',
        ].map((g) => [g, 'readonly']),
      ),
    },
  },
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Libraries never write to the console: logging is an injected interface.
    files: ['packages/*/src/**/*.ts'],
    rules: { 'no-console': 'error' },
  },
  {
    // @chronik/env, the environment seam (clock, scheduler, randomness, file system, logger), is the
    // bottom of the layering: every package but the Raft core may use it, and it uses nothing of ours.
    files: ['packages/env/src/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@chronik/*'],
              message: '@chronik/env depends on no other Chronik package: everything else depends on it.',
            },
          ],
        },
      ],
    },
  },
  {
    // @chronik/wal is at the bottom of the layering, beside @chronik/raft: it depends on nothing of
    // ours but the environment seam (@chronik/env). Whatever joins it to Raft (RaftLogStorage) lives
    // in @chronik/raft-host, above both.
    files: ['packages/wal/src/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@chronik/*', '!@chronik/env', '@chronik/env/*'],
              message:
                '@chronik/wal depends on no other Chronik package but @chronik/env; put the code that needs one above it.',
            },
          ],
        },
      ],
    },
  },
  // chronik-server's layering (apps/server/README.md, "Layers"): net → handlers → services (services/,
  // groups/, txn/, cluster/) → partition → storage, never upward; and only src/modes/ (with main.ts, infra.ts
  // and datadir.ts) constructs infrastructure: the file system, clock, timers, randomness, the Raft
  // transport and host. Each layer gets one block (a later block would replace, not add to, its rules).
  ...serverLayers(),
  {
    files: ['packages/raft/src/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'Date',
          property: 'now',
          message: 'The Raft core reads no clock: time advances only through tick().',
        },
        { object: 'Math', property: 'random', message: 'Use the injected rng from the config.' },
        { object: 'performance', property: 'now', message: 'The Raft core reads no clock.' },
        { object: 'process', property: 'hrtime', message: 'The Raft core reads no clock.' },
      ],
      'no-restricted-globals': [
        'error',
        ...[
          'setTimeout',
          'setInterval',
          'setImmediate',
          'clearTimeout',
          'clearInterval',
          'clearImmediate',
          'queueMicrotask',
          'process',
          'performance',
          'fetch',
        ].map((name) => ({
          name,
          message: 'The Raft core does no I/O and reads no clock: inputs come through step()/tick().',
        })),
      ],
      'no-restricted-imports': ['error', { paths: restrictedIo }],
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'The Raft core reads no clock.',
        },
      ],
    },
  },
);
