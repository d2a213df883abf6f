// kcat (librdkafka) as a group-less consumer and a producer, for end-to-end checks.
import { spawn } from 'node:child_process';

export interface KcatResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function kcat(args: string[], input?: string, timeoutMs = 30_000): Promise<KcatResult> {
  return new Promise((resolve) => {
    const p = spawn('kcat', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    p.stdin.end(input ?? '');
  });
}

/** Every record of a topic (all partitions) as "partition offset key value" lines, read to the end. */
export async function consumeWithKcat(
  bootstrap: string,
  topic: string,
): Promise<Array<{ partition: number; offset: number; key: string; value: string }>> {
  const r = await kcat([
    '-b',
    bootstrap,
    '-C',
    '-t',
    topic,
    '-o',
    'beginning',
    '-e',
    '-q',
    '-f',
    '%p\t%o\t%k\t%s\n',
  ]);
  if (r.code !== 0) throw new Error(`kcat failed (${r.code}): ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [p, o, k, v] = l.split('\t');
      return { partition: Number(p), offset: Number(o), key: k ?? '', value: v ?? '' };
    });
}
