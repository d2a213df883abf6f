// deploy/: what can be checked on a machine that runs neither systemd nor containers.
// - The systemd unit: systemd's own `systemd-analyze verify` (where it is installed; otherwise the
//   test says so), and the settings the server depends on — the open-file limit holds the default
//   partition budget (the same computation the server makes at start), the stop timeout outlasts
//   the graceful shutdown, restarts on failure, a dedicated user that the sysusers file creates,
//   the data directory the unit gives it, the program where `npm install -g --prefix /usr/local`
//   puts it.
// - The example 3-node configuration: each node's env file through the server's own command-line
//   parser (every CHRONIK_* name known, every value valid), one cluster of three distinct voters.
// - The container files: the Containerfile installs the tarballs on node:20-bookworm-slim, compose
//   runs the three env files. Neither is built or run here.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseCommandLine } from '../src/cli.js';
import { DEFAULT_CONFIG } from '../src/config.js';
import { descriptorBudget } from '../src/modes/compose.js';

const DEPLOY = path.resolve(__dirname, '..', '..', '..', 'deploy');
const UNIT = path.join(DEPLOY, 'systemd', 'chronik-server.service');
const SERVER_BIN = path.resolve(__dirname, '..', 'bin', 'chronik-server');

/** A unit file's settings: section → key → values (a key may repeat). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section !== null) {
      current = new Map();
      sections.set(section[1] as string, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (current === undefined || eq <= 0) throw new Error(`not a unit file line: ${line}`);
    const key = line.slice(0, eq).trim();
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return sections;
}

function readEnvFile(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/** The server's command line parsed with these CHRONIK_* variables as its only ones. */
function parseWithEnv(env: Record<string, string>, argv: string[]): ReturnType<typeof parseCommandLine> {
  const saved = Object.entries(process.env).filter(([k]) => k.startsWith('CHRONIK_'));
  for (const [k] of saved) delete process.env[k];
  Object.assign(process.env, env);
  try {
    return parseCommandLine(argv);
  } finally {
    for (const k of Object.keys(env)) delete process.env[k];
    for (const [k, v] of saved) process.env[k] = v;
  }
}

describe('the systemd unit', () => {
  const unit = parseUnit(fs.readFileSync(UNIT, 'utf8'));
  const service = unit.get('Service') as Map<string, string[]>;
  const one = (key: string): string => {
    const v = service.get(key);
    expect({ key, values: v?.length }).toEqual({ key, values: 1 });
    return (v as string[])[0] as string;
  };

  test('its open-file limit holds the default connections and data-file pool, as the server computes it', () => {
    const limit = Number(one('LimitNOFILE'));
    expect(descriptorBudget(DEFAULT_CONFIG, limit).dataFiles).toBe(DEFAULT_CONFIG.limits.maxOpenDataFiles);
    // …with room: the system's usual 1024 would not.
    expect(descriptorBudget(DEFAULT_CONFIG, 1024).dataFiles).toBeLessThan(
      DEFAULT_CONFIG.limits.maxOpenDataFiles,
    );
  });

  test('graceful stop, restart on failure, a dedicated user, its data directory', () => {
    expect(one('KillSignal')).toBe('SIGTERM');
    // The server's own deadline is shutdownTimeoutMs plus a hard stop 3 s later.
    expect(Number(one('TimeoutStopSec'))).toBeGreaterThan((DEFAULT_CONFIG.shutdownTimeoutMs + 3000) / 1000);
    expect(one('Restart')).toBe('on-failure');
    // Bad options (exit 2) are not retried.
    expect(one('RestartPreventExitStatus')).toBe('2');
    expect(one('User')).toBe('chronik');
    expect(one('Group')).toBe('chronik');
    const sysusers = fs.readFileSync(path.join(DEPLOY, 'systemd', 'chronik.sysusers'), 'utf8');
    expect(sysusers).toMatch(/^u chronik - ".+" \/var\/lib\/chronik$/m);
    expect(one('StateDirectory')).toBe('chronik');
    expect(service.get('Environment')).toContain('CHRONIK_DATA_DIR=/var/lib/chronik');
    expect(one('EnvironmentFile')).toBe('/etc/chronik/chronik-server.env');
    expect(one('ExecStart')).toBe('/usr/local/bin/chronik-server raft-cluster');
    expect(unit.get('Install')?.get('WantedBy')).toEqual(['multi-user.target']);
  });

  test('systemd-analyze verify finds nothing to say about it', () => {
    const probe = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
    if (probe.error !== undefined) {
      console.log('systemd-analyze verify skipped: systemd-analyze is not installed here');
      return;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chronik-unit-'));
    try {
      // The program where this repository builds it (the unit names its installed place).
      const copy = path.join(dir, 'chronik-server.service');
      fs.writeFileSync(
        copy,
        fs.readFileSync(UNIT, 'utf8').replace('/usr/local/bin/chronik-server', SERVER_BIN),
      );
      const r = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8', timeout: 30_000 });
      expect({ code: r.status, output: `${r.stdout}${r.stderr}` }).toEqual({ code: 0, output: '' });
      // It does complain where there is something to say (so the empty answer above means something).
      const bad = path.join(dir, 'bad.service');
      fs.writeFileSync(bad, `[Service]\nLimitNOFILES=1\nExecStart=${SERVER_BIN}\n`);
      const b = spawnSync('systemd-analyze', ['verify', bad], { encoding: 'utf8', timeout: 30_000 });
      expect(`${b.stdout}${b.stderr}`).toContain("Unknown key 'LimitNOFILES'");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the example 3-node configuration', () => {
  const nodes = [1, 2, 3].map((n) => ({ n, env: readEnvFile(path.join(DEPLOY, 'cluster', `node${n}.env`)) }));

  test("each node's settings pass the server's own parser as one cluster of three voters", () => {
    const voters: number[][] = [];
    for (const { n, env } of nodes) {
      expect(Object.keys(env).every((k) => k.startsWith('CHRONIK_'))).toBe(true);
      // As the unit runs it: its environment file, its data directory, raft-cluster.
      const r = parseWithEnv({ ...env, CHRONIK_DATA_DIR: '/var/lib/chronik' }, ['raft-cluster']);
      if (r.kind !== 'run') throw new Error(`node${n}.env: ${r.stderr}`);
      const c = r.config;
      expect(c.nodeId).toBe(n);
      expect(c.mode).toBe('raft-cluster');
      expect(c.dataDir).toBe('/var/lib/chronik');
      expect(c.raft?.bootstrap).toBe(true);
      expect(c.raft?.raftAddr).toBe('0.0.0.0:9192');
      expect(c.advertisedHost).toBe(`chronik-${n}`);
      // Every peer is another node, at the Raft port it listens on.
      for (const p of c.raft?.peers ?? []) expect(`${p.host}:${p.port}`).toBe(`chronik-${p.nodeId}:9192`);
      voters.push([n, ...(c.raft?.peers ?? []).map((p) => p.nodeId)].sort());
    }
    expect(voters).toEqual([
      [1, 2, 3],
      [1, 2, 3],
      [1, 2, 3],
    ]);
  });

  test('a typo in an env file is refused, not ignored', () => {
    const r = parseWithEnv({ ...nodes[0]!.env, CHRONIK_NODE_IDD: '1' }, ['raft-cluster']);
    expect(r).toMatchObject({ kind: 'exit', exitCode: 2 });
  });
});

describe('the container files', () => {
  test('the Containerfile installs the tarballs on node:20-bookworm-slim and runs as its own user', () => {
    const file = fs.readFileSync(path.join(DEPLOY, 'container', 'Containerfile'), 'utf8');
    const from = [...file.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(from).toEqual(['node:20-bookworm-slim', 'node:20-bookworm-slim']);
    expect(file).toMatch(/^COPY \*\.tgz /m);
    expect(file).toMatch(/npm install -g --prefix \/opt\/chronik .*\/tmp\/chronik\/\*\.tgz/);
    expect(file).toMatch(/^USER chronik$/m);
    expect(file).toMatch(/^STOPSIGNAL SIGTERM$/m);
    expect(file).toMatch(/^ENTRYPOINT \["chronik-server"\]$/m);
  });

  test('compose runs the three env files', () => {
    const compose = fs.readFileSync(path.join(DEPLOY, 'container', 'compose.yaml'), 'utf8');
    for (const n of [1, 2, 3]) {
      expect(compose).toContain(`env_file: ../cluster/node${n}.env`);
      expect(compose).toContain(`hostname: chronik-${n}`);
    }
  });
});
