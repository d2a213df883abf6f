// Starts a real `chronik-server` process (apps/server/bin/chronik-server, the built program) on
// free ports with a temp data directory, and reads the bound ports from its JSON log.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const SERVER_DIR = path.resolve(__dirname, '..', '..');
export const BIN = path.join(SERVER_DIR, 'bin', 'chronik-server');

export interface ServerProcess {
  proc: ChildProcess;
  kafkaPort: number;
  adminPort: number;
  dataDir: string;
  bootstrap: string;
  /** Each listener's advertised endpoint (from the start line). */
  listeners: Array<{ name: string; securityProtocol: string; host: string; port: number }>;
  logs: string[];
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
}

export function tempDir(prefix = 'chronik-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function startServer(
  options: { dataDir?: string; args?: string[]; kafkaPort?: number } = {},
): Promise<ServerProcess> {
  const dataDir = options.dataDir ?? tempDir();
  // With --listeners the ports are in it (--kafka-port is refused beside it).
  const withListeners = (options.args ?? []).includes('--listeners');
  const args = [
    BIN,
    ...(withListeners ? [] : ['--kafka-port', String(options.kafkaPort ?? 0)]),
    '--admin-port',
    '0',
    '--listen-addr',
    '127.0.0.1',
    '--advertised-addr',
    '127.0.0.1',
    '--data-dir',
    dataDir,
    ...(options.args ?? []),
  ];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  type Started = { kafkaPort: number; adminPort: number; listeners: ServerProcess['listeners'] };
  const started = await new Promise<Started>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(
      () => reject(new Error(`server did not start in time:\n${logs.join('\n')}`)),
      // A start opens every partition's log (50 of __consumer_offsets): slow on a loaded machine.
      45_000,
    );
    proc.stdout?.on('data', (c: Buffer) => {
      buf += c.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (logs.length < 10_000) logs.push(line);
        try {
          const j = JSON.parse(line) as {
            msg?: string;
            kafkaPort?: number;
            adminPort?: number;
            listeners?: ServerProcess['listeners'];
          };
          if (j.msg === 'chronik-server started') {
            clearTimeout(timer);
            resolve({
              kafkaPort: j.kafkaPort ?? 0,
              adminPort: j.adminPort ?? 0,
              listeners: j.listeners ?? [],
            });
          }
        } catch {
          // not JSON
        }
      }
    });
    proc.stderr?.on('data', (c: Buffer) => logs.push(`stderr: ${c.toString()}`));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before starting:\n${logs.join('\n')}`));
    });
  });
  return {
    proc,
    ...started,
    dataDir,
    bootstrap: `127.0.0.1:${started.kafkaPort}`,
    logs,
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      if (proc.exitCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}
