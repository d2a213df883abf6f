#!/usr/bin/env node
// Packs chronik-server (@chronik/server) and chronik (@chronik/cli) as npm tarballs, with every
// workspace package they depend on, into one folder:
//
//   node scripts/pack.mjs [--out DIR]        default DIR: ./dist-pack
//
// `pnpm pack` writes each tarball, turning `workspace:*` ranges into the packages' real versions
// (0.1.0). Install them all in one command — npm then takes each @chronik/* dependency from its
// sibling tarball, not from the registry (the @chronik scope is not published):
//
//   npm install -g DIR/*.tgz                 (or --prefix P for a folder of your own)
//
// Build first (`pnpm build`): a tarball holds `dist/`, not the sources. Prints the tarballs' paths,
// one a line, on stdout.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PRODUCTS = ['@chronik/server', '@chronik/cli'];

/** name → folder of every workspace package. */
function workspacePackages() {
  const out = new Map();
  for (const group of ['packages', 'apps', 'tools']) {
    const dir = path.join(root, group);
    for (const name of fs.readdirSync(dir)) {
      const file = path.join(dir, name, 'package.json');
      if (!fs.existsSync(file)) continue;
      out.set(JSON.parse(fs.readFileSync(file, 'utf8')).name, path.join(dir, name));
    }
  }
  return out;
}

/** The products and the workspace packages they need at run time (dependencies, transitively). */
export function packagesToPack(all = workspacePackages()) {
  const need = new Set();
  const visit = (name) => {
    if (need.has(name)) return;
    const dir = all.get(name);
    if (dir === undefined) throw new Error(`pack: ${name} is not a workspace package`);
    need.add(name);
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    for (const [dep, range] of Object.entries(pkg.dependencies ?? {}))
      if (String(range).startsWith('workspace:')) visit(dep);
  };
  for (const p of PRODUCTS) visit(p);
  return [...need].map((name) => ({ name, dir: all.get(name) }));
}

function main(argv) {
  const i = argv.indexOf('--out');
  const out = path.resolve(i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : path.join(root, 'dist-pack'));
  fs.mkdirSync(out, { recursive: true });
  const tarballs = [];
  for (const { name, dir } of packagesToPack()) {
    if (!fs.existsSync(path.join(dir, 'dist'))) {
      process.stderr.write(
        `pack: ${name} is not built (no ${path.relative(root, dir)}/dist): run pnpm build\n`,
      );
      return 1;
    }
    const before = new Set(fs.readdirSync(out));
    execFileSync('pnpm', ['pack', '--pack-destination', out], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const made = fs.readdirSync(out).filter((f) => f.endsWith('.tgz') && !before.has(f));
    const expected = `${name.replace('@', '').replace('/', '-')}-`;
    const file =
      made.find((f) => f.startsWith(expected)) ?? fs.readdirSync(out).find((f) => f.startsWith(expected));
    if (file === undefined) throw new Error(`pack: pnpm pack of ${name} left no tarball in ${out}`);
    tarballs.push(path.join(out, file));
  }
  process.stdout.write(tarballs.join('\n') + '\n');
  return 0;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  process.exitCode = main(process.argv.slice(2));
