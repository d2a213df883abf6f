#!/usr/bin/env node
// Lints pieces of code as if they were files of the repository, with the repository's ESLint
// config, and prints the rule ids each one breaks (a JSON array of arrays, in order). The tests
// that prove a lint rule bites (packages/raft/test/determinism-lint.test.ts and its likes) run it
// in a child process: ESLint's config loader needs native dynamic import, which jest's module
// sandbox does not provide.
//
//   node scripts/lint-probes.mjs '[{"file":"packages/raft/src/probe.ts","code":"..."}]'
import { ESLint } from 'eslint';

const cases = JSON.parse(process.argv[2] ?? '[]');
const eslint = new ESLint({ cwd: process.cwd() });
const out = [];
for (const c of cases) {
  const [r] = await eslint.lintText(c.code, { filePath: c.file });
  out.push((r?.messages ?? []).map((m) => m.ruleId ?? m.message));
}
process.stdout.write(JSON.stringify(out));
