import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Logger } from '../src/index.js';

/** A deterministic PRNG (mulberry32). */
export function seededRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The payload every test writes for `index`: length and bytes derived from the index. */
const payloadCache = new Map<string, Buffer>();

export function payloadFor(index: number, maxLen = 300): Buffer {
  const key = `${index}/${maxLen}`;
  const hit = payloadCache.get(key);
  if (hit) return hit;
  const b = makePayload(index, maxLen);
  if (payloadCache.size < 100_000) payloadCache.set(key, b);
  return b;
}

function makePayload(index: number, maxLen: number): Buffer {
  const rng = seededRng(index * 7919 + 17);
  const len = 1 + Math.floor(rng() * maxLen);
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = Math.floor(rng() * 256);
  return b;
}

const created: string[] = [];

/** A fresh directory under os.tmpdir(); removed by removeTempDirs(). */
export function tempDir(prefix = 'chronik-wal-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  created.push(d);
  return d;
}

export function removeTempDirs(): void {
  for (const d of created.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

export interface LogLine {
  level: string;
  msg: string;
  fields: Record<string, unknown> | undefined;
}

export function captureLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const mk = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    lines.push({ level, msg, fields });
  };
  return { lines, debug: mk('debug'), info: mk('info'), warn: mk('warn'), error: mk('error') };
}
