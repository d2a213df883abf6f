// Whole small files on an injected FileSystem (@chronik/wal's seam): read whole, and replaced
// atomically and durably (temp file, fsync, rename, fsync of the directory), so a crash leaves the
// old content or the new, never a torn one.
import path from 'node:path';
import type { FileSystem } from '@chronik/env';

/** The file's bytes, or undefined when it does not exist. */
export async function readWholeFile(fs: FileSystem, file: string): Promise<Buffer | undefined> {
  const st = await fs.stat(file);
  if (st === undefined) return undefined;
  const f = await fs.open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(st.size);
    const n = await f.read(buf, 0, st.size, 0);
    return buf.subarray(0, n);
  } finally {
    await f.close();
  }
}

/** Replaces `file` with `data`: written to `file.tmp`, fsync'd, renamed over it, directory fsync'd. */
export async function writeFileAtomic(fs: FileSystem, file: string, data: Uint8Array): Promise<void> {
  const tmp = `${file}.tmp`;
  const f = await fs.open(tmp, 'w');
  try {
    await f.write(data, 0);
    await f.sync();
  } finally {
    await f.close();
  }
  await fs.rename(tmp, file);
  await fs.fsyncDir(path.dirname(file));
}
