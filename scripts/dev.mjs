#!/usr/bin/env node
// The two quick-start commands: `npm start` and `npm test` call this script.
// It bootstraps pnpm (global pnpm 10 if present, else through npx), installs the
// workspace, builds it, and then either starts the broker or runs every test and
// prints one closing line summed over all packages: `N passed, N failed`.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PNPM_VERSION = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).packageManager.split(
  '@',
)[1];
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', TURBO_NO_UPDATE_NOTIFIER: '1' };

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env, ...opts });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

function pnpmCommand() {
  const r = spawnSync('pnpm', ['--version'], { encoding: 'utf8', env });
  if (r.status === 0 && r.stdout.trim().startsWith('10.')) return ['pnpm', []];
  return ['npx', ['--yes', `pnpm@${PNPM_VERSION}`]];
}

function pnpm(args) {
  const [cmd, pre] = pnpmCommand();
  return run(cmd, [...pre, ...args]);
}

function must(status, what) {
  if (status !== 0) {
    console.error(`chronik: ${what} failed (exit ${status})`);
    process.exit(status);
  }
}

function install() {
  const frozen = existsSync(path.join(root, 'pnpm-lock.yaml')) ? ['--frozen-lockfile'] : [];
  must(pnpm(['install', ...frozen]), 'pnpm install');
}

function workspaceDirs() {
  const dirs = [];
  for (const group of ['packages', 'apps', 'tools']) {
    const dir = path.join(root, group);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      if (existsSync(path.join(dir, name, 'package.json'))) dirs.push(path.join(dir, name));
    }
  }
  return dirs;
}

function test(extra) {
  install();
  must(pnpm(['exec', 'turbo', 'run', 'build']), 'build');
  // Tests run sources through swc, which does not type-check: tsc and ESLint run here.
  const staticStatus = pnpm([
    'exec',
    'turbo',
    'run',
    'typecheck',
    'lint',
    '--continue',
    '--output-logs=errors-only',
  ]);
  const dirs = workspaceDirs().filter((d) => {
    const pkg = JSON.parse(readFileSync(path.join(d, 'package.json'), 'utf8'));
    return pkg.scripts && pkg.scripts.test;
  });
  for (const d of dirs) rmSync(path.join(d, 'test-results.json'), { force: true });
  const status = pnpm(['exec', 'turbo', 'run', 'test', '--concurrency=1', '--continue', ...extra]);
  let passed = 0;
  let failed = 0;
  for (const d of dirs) {
    const file = path.join(d, 'test-results.json');
    const rel = path.relative(root, d);
    if (!existsSync(file)) {
      console.error(`chronik: ${rel} left no test results (its test run crashed or was skipped)`);
      failed += 1;
      continue;
    }
    const r = JSON.parse(readFileSync(file, 'utf8'));
    // A suite that failed to load counts as one failure even though it ran no test.
    const brokenSuites = r.testResults.filter(
      (s) => s.status === 'failed' && s.assertionResults.length === 0,
    ).length;
    console.log(`  ${rel}: ${r.numPassedTests} passed, ${r.numFailedTests + brokenSuites} failed`);
    passed += r.numPassedTests;
    failed += r.numFailedTests + brokenSuites;
  }
  if (staticStatus !== 0) {
    console.error('chronik: typecheck or lint failed (counted as one failure)');
    failed += 1;
  }
  const summary = `${passed} passed, ${failed} failed`;
  writeFileSync(path.join(root, 'test-summary.txt'), summary + '\n');
  console.log(summary);
  process.exit(status !== 0 || failed > 0 ? 1 : 0);
}

function start(extra) {
  install();
  must(pnpm(['exec', 'turbo', 'run', 'build', '--filter', '@chronik/server...']), 'build');
  const bin = path.join(root, 'apps', 'server', 'bin', 'chronik-server');
  process.exit(run(process.execPath, [bin, ...extra]));
}

const [command, ...rest] = process.argv.slice(2);
if (command === 'test') test(rest);
else if (command === 'start') start(rest);
else {
  console.error('usage: node scripts/dev.mjs start|test [args...]');
  process.exit(2);
}
