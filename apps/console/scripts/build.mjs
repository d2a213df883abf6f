// Builds the console: esbuild bundles src/main.tsx (Preact, uPlot and the pages) into dist/app.js
// and its CSS into dist/app.css, minified, and copies static/index.html. chronik-server serves
// dist/ on the admin port (apps/server/src/admin/console-files.ts). Nothing is fetched at run time.
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const result = await build({
  entryPoints: { app: path.join(root, 'src', 'main.tsx') },
  outdir: out,
  bundle: true,
  format: 'esm',
  target: ['es2022'],
  minify: true,
  sourcemap: 'linked',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'linked',
  logLevel: 'warning',
  metafile: true,
});
cpSync(path.join(root, 'static', 'index.html'), path.join(out, 'index.html'));
const bytes = Object.entries(result.metafile.outputs)
  .filter(([f]) => !f.endsWith('.map'))
  .map(([f, o]) => `${path.basename(f)} ${(o.bytes / 1024).toFixed(1)} KiB`);
console.log(`console: ${bytes.join(', ')}`);
