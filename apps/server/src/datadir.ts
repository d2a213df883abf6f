// The data directory: a lock file so that two processes never share it, and `meta.properties`
// recording which node wrote it (a directory written by another node id is refused).
//
// The lock holds the owner's pid. A lock whose pid is no longer alive (the owner was killed with
// kill -9) is taken over; a live owner makes the second process fail with DATA_DIR_LOCKED.
import fs from 'node:fs';
import path from 'node:path';
import { ServerError, ServerErrorCode, errorMessage } from './errors.js';

export const LOCK_FILE = '.lock';
export const META_FILE = 'meta.properties';
const META_VERSION = 1;

export interface DataDirMeta {
  nodeId: number;
  version: number;
  /** Random id written once when the directory is formatted. */
  directoryId: string;
}

export interface DataDirHandle {
  readonly path: string;
  readonly meta: DataDirMeta;
  /** Removes the lock file (idempotent). */
  release(): void;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function takeLock(dir: string): string {
  const lockPath = path.join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(lockPath, 'wx');
      fs.writeSync(fd, `${process.pid}\n`);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      return lockPath;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        throw new ServerError(
          ServerErrorCode.DATA_DIR_UNWRITABLE,
          `cannot create lock file ${lockPath}: ${errorMessage(e)}`,
          { cause: e },
        );
      }
    }
    let owner = NaN;
    try {
      owner = Number.parseInt(fs.readFileSync(lockPath, 'utf8').trim(), 10);
    } catch {
      // vanished between open and read: try again
    }
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
      throw new ServerError(
        ServerErrorCode.DATA_DIR_LOCKED,
        `data directory ${dir} is in use by another chronik-server process (pid ${owner}); stop it or choose another --data-dir`,
      );
    }
    fs.rmSync(lockPath, { force: true }); // stale lock of a dead process (or torn write)
  }
  throw new ServerError(ServerErrorCode.DATA_DIR_LOCKED, `could not take the lock on ${dir}`);
}

export function parseMeta(text: string): DataDirMeta {
  const props = new Map<string, string>();
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const eq = t.indexOf('=');
    if (eq > 0) props.set(t.slice(0, eq).trim(), t.slice(eq + 1).trim());
  }
  const nodeId = Number(props.get('node.id'));
  const version = Number(props.get('version'));
  if (!Number.isInteger(nodeId) || !Number.isInteger(version)) {
    throw new ServerError(ServerErrorCode.DATA_DIR_CORRUPT, `${META_FILE} lacks a valid node.id or version`);
  }
  return { nodeId, version, directoryId: props.get('directory.id') ?? '' };
}

export function formatMeta(meta: DataDirMeta): string {
  return `# chronik-server data directory; do not edit\nversion=${meta.version}\nnode.id=${meta.nodeId}\ndirectory.id=${meta.directoryId}\n`;
}

/** Writes a file atomically: temp file, fsync, rename, fsync the directory. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDir(path.dirname(file));
}

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Creates (if needed), locks and checks the data directory. */
export function openDataDir(dir: string, nodeId: number, randomId: () => string): DataDirHandle {
  const abs = path.resolve(dir);
  try {
    fs.mkdirSync(abs, { recursive: true });
    fs.accessSync(abs, fs.constants.W_OK | fs.constants.R_OK);
  } catch (e) {
    throw new ServerError(
      ServerErrorCode.DATA_DIR_UNWRITABLE,
      `data directory ${abs} is not writable: ${errorMessage(e)}`,
      { cause: e },
    );
  }
  const lockPath = takeLock(abs);
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    fs.rmSync(lockPath, { force: true });
  };
  try {
    const metaPath = path.join(abs, META_FILE);
    let meta: DataDirMeta;
    if (fs.existsSync(metaPath)) {
      meta = parseMeta(fs.readFileSync(metaPath, 'utf8'));
      if (meta.nodeId !== nodeId) {
        throw new ServerError(
          ServerErrorCode.DATA_DIR_NODE_MISMATCH,
          `data directory ${abs} belongs to node ${meta.nodeId}, not node ${nodeId}; use --node-id ${meta.nodeId} or another --data-dir`,
        );
      }
      if (meta.version !== META_VERSION) {
        throw new ServerError(
          ServerErrorCode.DATA_DIR_CORRUPT,
          `data directory ${abs} has format version ${meta.version}; this build reads ${META_VERSION}`,
        );
      }
    } else {
      meta = { nodeId, version: META_VERSION, directoryId: randomId() };
      writeFileAtomic(metaPath, formatMeta(meta));
    }
    return { path: abs, meta, release };
  } catch (e) {
    release();
    throw e;
  }
}

/** Total and usable bytes of the file system holding `dir` (-1 each where statfs is unavailable). */
export function diskSpace(dir: string): { totalBytes: bigint; usableBytes: bigint } {
  try {
    const s = fs.statfsSync(dir);
    return {
      totalBytes: BigInt(s.blocks) * BigInt(s.bsize),
      usableBytes: BigInt(s.bavail) * BigInt(s.bsize),
    };
  } catch {
    return { totalBytes: -1n, usableBytes: -1n };
  }
}
