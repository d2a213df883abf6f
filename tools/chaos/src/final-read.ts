// The final read of a partition after healing, with kcat (librdkafka: a different client from the
// workload's kafkajs): from the beginning to the end of the partition (its high watermark), through
// one bootstrap broker; the client finds the leader itself. librdkafka reads read_committed unless
// told otherwise: then the end is the last stable offset, and records of aborted transactions are
// dropped; read_uncommitted returns every record in the log (never the markers).
import { spawn } from 'node:child_process';
import type { FinalRead, ReadRecord } from './checker.js';
import { errorMessage } from './errors.js';

export interface FinalReadOptions {
  kcat: string;
  bootstrap: string;
  topic: string;
  partition: number;
  timeoutMs: number;
  /** Most records held in memory for one partition. */
  maxRecords: number;
  /** librdkafka's isolation.level (its default: read_committed). */
  isolation?: 'read_committed' | 'read_uncommitted';
}

export function readPartition(o: FinalReadOptions): Promise<FinalRead> {
  return new Promise((resolve) => {
    const args = [
      '-C',
      '-b',
      o.bootstrap,
      '-t',
      o.topic,
      '-p',
      String(o.partition),
      '-o',
      'beginning',
      '-e',
      '-q',
      '-f',
      '%o %s\\n',
      '-X',
      'fetch.wait.max.ms=100',
      '-X',
      'topic.metadata.refresh.interval.ms=1000',
      ...(o.isolation !== undefined ? ['-X', `isolation.level=${o.isolation}`] : []),
    ];
    const proc = spawn(o.kcat, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const records: ReadRecord[] = [];
    let pending = '';
    let stderr = '';
    let overflow = false;
    const timer = setTimeout(() => proc.kill('SIGKILL'), o.timeoutMs);
    proc.stdout.on('data', (c: Buffer) => {
      pending += c.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line === '') continue;
        const sp = line.indexOf(' ');
        if (records.length >= o.maxRecords) {
          overflow = true;
          continue;
        }
        records.push({ offset: Number(line.slice(0, sp)), value: line.slice(sp + 1) });
      }
    });
    proc.stderr.on('data', (c: Buffer) => {
      if (stderr.length < 4000) stderr += c.toString();
    });
    const done = (complete: boolean, error?: string): void => {
      clearTimeout(timer);
      resolve({
        via: o.bootstrap,
        partition: o.partition,
        records,
        complete,
        ...(error !== undefined ? { error } : {}),
      });
    };
    proc.on('error', (e) => done(false, `kcat: ${errorMessage(e)}`));
    proc.on('close', (code, signal) => {
      if (overflow) done(false, `more than ${o.maxRecords} records`);
      else if (code === 0) done(true);
      else
        done(
          false,
          `kcat exited with ${code ?? signal}${signal === 'SIGKILL' ? ' (timed out)' : ''}: ${stderr.trim().slice(0, 300)}`,
        );
    });
  });
}
