// Real chronik-server processes (apps/server/bin/chronik-server, the built program, which serves the
// built console) on free loopback ports with temp data directories, and Debian's Chromium for
// Playwright. Neither is installed here: `pnpm build` builds the server and the console, `.ci/run`
// installs Chromium (apt-get install chromium).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const REPO = path.resolve(__dirname, '..', '..', '..', '..');
export const SERVER_BIN = path.join(REPO, 'apps', 'server', 'bin', 'chronik-server');
export const ARTIFACTS = path.resolve(__dirname, '..', '..', 'test-artifacts');

/** Chromium's executable (CHRONIK_CHROMIUM, else Debian's), or why there is none. */
export function findChromium(): { path: string } | { missing: string } {
  const candidates = [process.env.CHRONIK_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  for (const c of candidates) if (c !== undefined && c !== '' && fs.existsSync(c)) return { path: c };
  return {
    missing:
      "no Chromium: install Debian's package (`apt-get install chromium`, as .ci/run does) or set CHRONIK_CHROMIUM to a Chromium executable",
  };
}

/** The launch arguments for Chromium in a container as root, with nothing fetched from elsewhere. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'];

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface ServerNode {
  nodeId: number;
  kafkaPort: number;
  adminPort: number;
  adminUrl: string;
  bootstrap: string;
  logs: string[];
  kill(): Promise<void>;
  stop(): Promise<void>;
}

function checkBuilt(): void {
  const missing = [
    SERVER_BIN,
    path.join(REPO, 'apps', 'server', 'dist', 'main.js'),
    path.join(REPO, 'apps', 'console', 'dist', 'index.html'),
  ].filter((f) => !fs.existsSync(f));
  if (missing.length > 0) throw new Error(`build first (pnpm build): missing ${missing.join(', ')}`);
}

/** Starts one node with `args`; resolves once it logged its ports. */
export async function startNode(nodeId: number, dataDir: string, args: string[]): Promise<ServerNode> {
  checkBuilt();
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CHRONIK_')) env[k] = v;
  const proc: ChildProcess = spawn(
    process.execPath,
    [
      SERVER_BIN,
      '--listen-addr',
      '127.0.0.1',
      '--advertised-addr',
      '127.0.0.1',
      '--node-id',
      String(nodeId),
      '--data-dir',
      dataDir,
      '--log-level',
      'info',
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env },
  );
  const logs: string[] = [];
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const ports = await new Promise<{ kafkaPort: number; adminPort: number }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`node ${nodeId} did not start:\n${logs.slice(-30).join('\n')}`)),
      30_000,
    );
    let buf = '';
    const onData = (c: Buffer): void => {
      buf += c.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        logs.push(line);
        if (logs.length > 2000) logs.shift();
        if (!line.includes('chronik-server started')) continue;
        const j = JSON.parse(line) as { kafkaPort: number; adminPort: number };
        clearTimeout(timer);
        resolve({ kafkaPort: j.kafkaPort, adminPort: j.adminPort });
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', (c: Buffer) => logs.push(c.toString()));
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`node ${nodeId} exited:\n${logs.slice(-30).join('\n')}`));
    });
  });
  let gone = false;
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    if (gone) return;
    gone = true;
    proc.kill(signal);
    const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  };
  return {
    nodeId,
    ...ports,
    adminUrl: `http://127.0.0.1:${ports.adminPort}`,
    bootstrap: `127.0.0.1:${ports.kafkaPort}`,
    logs,
    kill: () => end('SIGKILL'),
    stop: () => end('SIGTERM'),
  };
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Waits for `f` to give something other than undefined. */
export async function until<T>(
  what: string,
  f: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last !== undefined ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
