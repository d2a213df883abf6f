// Shared jest configuration. Tests run TypeScript sources directly through @swc/jest
// (type checking happens in `tsc -b` / `pnpm typecheck`), and workspace packages resolve
// to their `src/index.ts`, so a test never depends on a stale `dist/`.
const fs = require('node:fs');
const path = require('node:path');

const root = __dirname;

function workspaceModules() {
  const map = {};
  for (const group of ['packages', 'apps', 'tools']) {
    const dir = path.join(root, group);
    if (!fs.existsSync(dir)) continue;
    for (const name of fs.readdirSync(dir)) {
      const pkgFile = path.join(dir, name, 'package.json');
      const entry = path.join(dir, name, 'src', 'index.ts');
      if (!fs.existsSync(pkgFile) || !fs.existsSync(entry)) continue;
      const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8'));
      map[`^${pkg.name.replace('/', '\\/')}$`] = entry;
    }
  }
  return map;
}

/** @param {string} dir the package folder; @param {import('jest').Config} overrides */
module.exports = function jestConfig(dir, overrides = {}) {
  return {
    rootDir: dir,
    testEnvironment: 'node',
    testMatch: ['<rootDir>/test/**/*.test.ts', '<rootDir>/src/**/*.test.ts'],
    transform: {
      '^.+\\.(ts|mts|cts)$': [
        '@swc/jest',
        {
          jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
          module: { type: 'commonjs' },
          sourceMaps: 'inline',
        },
      ],
    },
    moduleFileExtensions: ['ts', 'js', 'cjs', 'json'],
    moduleNameMapper: {
      '^(\\.{1,2}/.*)\\.js$': '$1',
      ...workspaceModules(),
    },
    maxWorkers: 2,
    testTimeout: 30_000,
    ...overrides,
  };
};
