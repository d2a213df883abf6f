// A real chronik-server process (apps/server/bin/chronik-server, the built program) on free ports
// with a temp data directory: the ports are read from its "started" log line.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const REPO = path.resolve(__dirname, '..', '..', '..', '..');
export const SERVER_BIN = path.join(REPO, 'apps', 'server', 'bin', 'chronik-server');

export interface TestBroker {
  bootstrap: string;
  kafkaPort: number;
  adminUrl: string;
  stop(): Promise<void>;
}

/** `bin`: the chronik-server program to run (default the repository's; an installed one, say). */
export async function startBroker(extraArgs: string[] = [], bin = SERVER_BIN): Promise<TestBroker> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chronik-cli-test-'));
  const proc = spawn(
    process.execPath,
    [
      bin,
      '--kafka-port',
      '0',
      '--admin-port',
      '0',
      '--listen-addr',
      '127.0.0.1',
      '--advertised-addr',
      '127.0.0.1',
      '--data-dir',
      dataDir,
      '--offsets-topic-partitions',
      '3',
      ...extraArgs,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const logs: string[] = [];
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const ports = await new Promise<{ kafkaPort: number; adminPort: number }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`chronik-server did not start:\n${logs.join('\n')}`)),
      20_000,
    );
    let buf = '';
    proc.stdout.on('data', (c: Buffer) => {
      buf += c.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (logs.length < 1000) logs.push(line);
        try {
          const j = JSON.parse(line) as { msg?: string; kafkaPort?: number; adminPort?: number };
          if (j.msg === 'chronik-server started') {
            clearTimeout(timer);
            resolve({ kafkaPort: j.kafkaPort ?? 0, adminPort: j.adminPort ?? 0 });
          }
        } catch {
          // not a JSON line
        }
      }
    });
    proc.stderr.on('data', (c: Buffer) => logs.push(`stderr: ${c.toString()}`));
    void exited.then(() => reject(new Error(`chronik-server exited before starting:\n${logs.join('\n')}`)));
  });
  return {
    bootstrap: `127.0.0.1:${ports.kafkaPort}`,
    kafkaPort: ports.kafkaPort,
    adminUrl: `http://127.0.0.1:${ports.adminPort}`,
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
