// Lint rules for the whole workspace. The Raft core gets extra rules that keep it
// deterministic: no wall clock, no ambient randomness, no timers, no I/O modules. The WAL may
// not import any package of ours.
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
    // @chronik/wal is at the bottom of the layering, beside @chronik/raft: it depends on nothing of
    // ours. Whatever joins it to Raft (RaftLogStorage) lives in @chronik/raft-host, above both.
    files: ['packages/wal/src/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@chronik/*'],
              message:
                '@chronik/wal depends on no other Chronik package; put the code that needs one above it.',
            },
          ],
        },
      ],
    },
  },
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
