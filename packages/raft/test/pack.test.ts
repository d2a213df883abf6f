// Packs the built package (`pnpm pack`), installs the tarball into a throwaway project outside the
// workspace, and uses it from plain Node ESM: the exports map, the type declarations (the README's
// key-value example type-checks against them) and a run of that example.
import { spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const pkgDir = path.resolve(__dirname, '..');
const distEntry = path.join(pkgDir, 'dist', 'index.js');

function run(
  cmd: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  if (r.error) throw r.error;
  return r;
}

function must(r: SpawnSyncReturns<string>, what: string): string {
  if (r.status !== 0) throw new Error(`${what} failed (exit ${String(r.status)}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

describe('the packed package', () => {
  jest.setTimeout(180_000);
  let tmp = '';
  let project = '';
  let installed = '';

  beforeAll(() => {
    if (!fs.existsSync(distEntry)) {
      throw new Error(
        `packages/raft/dist is missing: run \`pnpm --filter @chronik/raft build\` before this test (turbo's test task builds first)`,
      );
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chronik-raft-pack-'));
    // Pack with pnpm (as a publish would); fall back to npm when pnpm is not on the PATH.
    let packed = run('pnpm', ['pack', '--pack-destination', tmp], pkgDir);
    if (packed.status !== 0 || !fs.readdirSync(tmp).some((f) => f.endsWith('.tgz'))) {
      packed = run('npm', ['pack', '--pack-destination', tmp], pkgDir, {
        npm_config_cache: path.join(tmp, 'npm-cache'),
      });
      must(packed, 'npm pack');
    }
    const tarball = fs.readdirSync(tmp).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error(`no tarball produced:\n${packed.stdout}\n${packed.stderr}`);
    project = path.join(tmp, 'project');
    fs.mkdirSync(project);
    fs.writeFileSync(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'raft-consumer', private: true, type: 'module' }),
    );
    must(
      run(
        'npm',
        ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', path.join(tmp, tarball)],
        project,
        {
          npm_config_cache: path.join(tmp, 'npm-cache'),
        },
      ),
      'npm install of the tarball',
    );
    installed = path.join(project, 'node_modules', '@chronik', 'raft');
  });

  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('contains the built JavaScript, declarations and README, and nothing of the workspace', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      exports: Record<string, unknown>;
    };
    expect(Object.keys(pkg.dependencies ?? {})).toEqual([]);
    for (const f of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/rawnode.d.ts',
      'dist/storage.d.ts',
      'README.md',
    ]) {
      expect(fs.existsSync(path.join(installed, f))).toBe(true);
    }
    for (const f of ['src', 'test', 'sim', 'bench', 'examples', 'testdata'])
      expect(fs.existsSync(path.join(installed, f))).toBe(false);
    // Every declaration the entry point refers to is present.
    const dts = fs.readFileSync(path.join(installed, 'dist', 'index.d.ts'), 'utf8');
    for (const m of dts.matchAll(/from '\.\/([^']+)\.js'/g))
      expect(fs.existsSync(path.join(installed, 'dist', `${m[1] ?? ''}.d.ts`))).toBe(true);
  });

  it('imports from plain Node ESM, runs an election, and blocks deep imports', () => {
    const script = `
      import * as raft from '@chronik/raft';
      const voters = [1];
      const storage = new raft.MemoryStorage({ confState: { voters, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } });
      const node = new raft.RawNode({ id: 1, storage, electionTick: 10, heartbeatTick: 1 });
      node.campaign();
      let leader = false;
      while (node.hasReady()) {
        const rd = node.ready();
        storage.append(rd.entries);
        if (rd.hardState) storage.setHardState(rd.hardState);
        if (rd.softState) leader = rd.softState.raftState === raft.StateType.Leader;
        node.advance();
      }
      let deep = 'allowed';
      try { await import('@chronik/raft/internal/log.js'); } catch (e) { deep = e.code; }
      let notLeader = '';
      try { new raft.RawNode({ id: 2, storage: new raft.MemoryStorage(), electionTick: 10, heartbeatTick: 1 }).propose(new Uint8Array(1)); }
      catch (e) { notLeader = raft.isRaftError(e, raft.RaftErrorCode.NotLeader) ? 'NotLeader' : String(e); }
      console.log(JSON.stringify({ leader, deep, notLeader, exports: Object.keys(raft).length }));
    `;
    const out = JSON.parse(
      must(run(process.execPath, ['--input-type=module', '-e', script], project), 'node ESM import'),
    ) as Record<string, unknown>;
    expect(out).toMatchObject({
      leader: true,
      deep: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
      notLeader: 'NotLeader',
    });
    expect(out.exports).toEqual(expect.any(Number));
    expect(out.exports as number).toBeGreaterThan(10);
  });

  it('type-checks the README key-value example against the published declarations and runs it', () => {
    fs.copyFileSync(path.join(pkgDir, 'examples', 'kv.ts'), path.join(project, 'kv.ts'));
    fs.writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          lib: ['ES2023', 'DOM'],
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noUncheckedIndexedAccess: true,
          exactOptionalPropertyTypes: true,
          verbatimModuleSyntax: true,
          skipLibCheck: false,
          types: [],
          outDir: 'out',
        },
        files: ['kv.ts'],
      }),
    );
    const tsc = require.resolve('typescript/bin/tsc');
    must(run(process.execPath, [tsc, '-p', 'tsconfig.json'], project), 'tsc on examples/kv.ts');
    const out = JSON.parse(
      must(run(process.execPath, [path.join(project, 'out', 'kv.js')], project), 'running the example'),
    ) as {
      readOnFollower: string;
      stores: Record<string, string>[];
    };
    expect(out.readOnFollower).toBe('42');
    expect(out.stores).toEqual([0, 1, 2].map(() => ({ greeting: 'hello', answer: '42' })));
  });
});
