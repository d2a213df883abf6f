// Test certificates for the TLS comparison runs: a CA and a server certificate for 127.0.0.1 made at
// run time by `chronik certs create` (tools/cli; RSA 2048, node-forge — no openssl needed) into the
// run's temporary directory, which the benchmark removes at the end. No key is ever committed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { commandLine } from './chronik.js';
import { run } from './procs.js';

export interface TestCertificates {
  /** Server certificate and key (`--ssl-cert-file`, `--ssl-key-file`) and the CA that signed it. */
  certFile: string;
  keyFile: string;
  caFile: string;
  /** How they were made. */
  command: string;
}

/** `<repo>/tools/cli/bin/chronik`, the CLI that makes the certificates, from the server's bin path. */
export function cliBinFor(serverBin: string): string {
  return path.join(
    path.dirname(path.dirname(path.dirname(path.dirname(serverBin)))),
    'tools',
    'cli',
    'bin',
    'chronik',
  );
}

/** Makes a CA and node 1's certificate (valid for 127.0.0.1 and localhost) in `dir`. */
export async function createTestCertificates(
  cliBin: string,
  dir: string,
): Promise<{ ok: true; certs: TestCertificates } | { ok: false; reason: string }> {
  if (!fs.existsSync(cliBin)) return { ok: false, reason: `${cliBin} not found (build @chronik/cli)` };
  const args = [cliBin, 'certs', 'create', '--dir', dir, '--nodes', '1', '--hosts', '127.0.0.1,localhost'];
  const r = await run(process.execPath, args, { timeoutMs: 60_000 });
  const certs: TestCertificates = {
    certFile: path.join(dir, 'node-1.pem'),
    keyFile: path.join(dir, 'node-1.key'),
    caFile: path.join(dir, 'ca.pem'),
    command: `# test certificates, made in the run's temporary directory (removed at its end)\n${commandLine('node', args)}`,
  };
  if (r.code !== 0 || ![certs.certFile, certs.keyFile, certs.caFile].every((f) => fs.existsSync(f)))
    return {
      ok: false,
      reason: `chronik certs create failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-2).join(' ')}`,
    };
  return { ok: true, certs };
}
