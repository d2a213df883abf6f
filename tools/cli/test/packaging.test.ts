// chronik-server and chronik installed as a user would: the workspace packages packed into tarballs
// (scripts/pack.mjs: `pnpm pack`, whose tarballs carry real versions instead of `workspace:*`),
// installed with `npm install -g --prefix` into an empty folder, both commands run from there —
// `chronik-server --help`, a standalone broker started from the installed program (its web console
// served from the installed @chronik/console), and `chronik topic create` / `topic list` against it.
// The install takes the registry's packages from npm's cache where it can (--prefer-offline) and
// from the registry otherwise; where the registry cannot be reached, the test says so and skips.
// zstd-napi has no prebuilt binary on the registry: on a machine that cannot fetch one it is
// compiled (node-gyp: python3, make, a C++ compiler and Node's headers), most of this test's time.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO, startBroker } from './helpers/broker.js';

jest.setTimeout(300_000);

const NETWORK_ERRORS =
  /ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNREFUSED|ECONNRESET|ENETUNREACH|ENOTCACHED|EHOSTUNREACH/;

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'chronik-pack-test-'));
});
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

function run(cmd: string, args: string[], cwd: string, timeoutMs = 60_000) {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, JOBS: 'max' },
  });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

test('the packed tarballs install with npm into an empty folder, and both commands run from there', async () => {
  const tgzDir = path.join(root, 'tgz');
  const packed = run(process.execPath, [path.join(REPO, 'scripts', 'pack.mjs'), '--out', tgzDir], REPO);
  expect(packed.stderr).toBe('');
  expect(packed.code).toBe(0);
  const tarballs = packed.stdout.trim().split('\n');
  const names = tarballs.map((t) => path.basename(t));
  expect(names).toEqual(
    expect.arrayContaining(['chronik-server-0.1.0.tgz', 'chronik-cli-0.1.0.tgz', 'chronik-wal-0.1.0.tgz']),
  );
  // pnpm pack wrote real versions where the workspace says workspace:*.
  for (const t of tarballs) {
    const manifest = run('tar', ['-xzOf', t, 'package/package.json'], root).stdout;
    expect(manifest).not.toContain('workspace:');
  }

  const empty = path.join(root, 'empty');
  const prefix = path.join(root, 'prefix');
  fs.mkdirSync(empty);
  const install = run(
    'npm',
    [
      'install',
      '-g',
      '--prefix',
      prefix,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--fetch-retries=1',
      '--fetch-timeout=30000',
      ...tarballs,
    ],
    empty,
    240_000,
  );
  if (install.code !== 0 && NETWORK_ERRORS.test(install.stderr)) {
    console.log(
      `packaging test skipped: npm could not reach the registry for the packages it had not cached:\n${install.stderr.split('\n').slice(-6).join('\n')}`,
    );
    return;
  }
  expect({ code: install.code, stderr: install.stderr.slice(-2000) }).toMatchObject({ code: 0 });
  // Nothing was installed into the empty folder itself.
  expect(fs.readdirSync(empty)).toEqual([]);

  const serverBin = path.join(prefix, 'bin', 'chronik-server');
  const cliBin = path.join(prefix, 'bin', 'chronik');
  const help = run(serverBin, ['--help'], empty);
  expect(help.code).toBe(0);
  expect(help.stdout).toContain('raft-cluster');
  expect(run(cliBin, ['--version'], empty).stdout.trim()).toBe('0.1.0');

  const broker = await startBroker([], serverBin);
  try {
    const page = await fetch(`${broker.adminUrl}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    const created = run(cliBin, ['topic', 'create', 'packed', '-p', '2', '-b', broker.bootstrap], empty);
    expect({ code: created.code, stderr: created.stderr }).toEqual({ code: 0, stderr: '' });
    const list = run(cliBin, ['topic', 'list', '-b', broker.bootstrap, '--format', 'json'], empty);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('"packed"');
  } finally {
    await broker.stop();
  }
});
