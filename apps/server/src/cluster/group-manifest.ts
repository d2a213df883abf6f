// Which partition Raft groups this node has held: `<raftDir>/groups.manifest`, append-only, each
// record made durable before the group it names is created. A Raft voter must never forget its log
// or its vote; a group whose folder is gone (deleted by hand, a lost directory) would otherwise come
// back as a new, empty voter — and could help elect a leader missing committed records. With the
// manifest, "never held here" (a new group: bootstrap it) is told from "held and lost" (refuse it).
//
// Records of 13 bytes: u8 kind (1 held, 2 released — the partition left this node and its data was
// removed), u64 LE group id, u32 LE CRC-32C of the first 9 bytes. A torn last record (a crash while
// appending; nothing depended on it yet) is cut; a bad record before the last is corruption.
// Written by hand: a few bytes appended and fsync'd; the WAL would be a whole log per node for this.
import path from 'node:path';
import type { FileSystem, WalFile } from '@chronik/env';
import { crc32c } from '@chronik/wal';
import { ServerError, ServerErrorCode } from '../errors.js';

const FILE = 'groups.manifest';
const RECORD_BYTES = 13;
const HELD = 1;
const RELEASED = 2;

function encode(kind: number, groupId: number): Buffer {
  const b = Buffer.alloc(RECORD_BYTES);
  b[0] = kind;
  b.writeBigUInt64LE(BigInt(groupId), 1);
  b.writeUInt32LE(crc32c(b.subarray(0, 9)), 9);
  return b;
}

interface Change {
  kind: number;
  groupId: number;
  done: () => void;
  failed: (e: unknown) => void;
}

export class GroupManifest {
  private readonly held = new Set<number>();
  /** Changes waiting for the next write; those asked during a write go together in the next one. */
  private pending: Change[] = [];
  /** The write loop while it runs. */
  private flushing: Promise<void> | undefined;

  private constructor(
    private readonly file: WalFile,
    private size: number,
  ) {}

  /**
   * Opens (or creates) the manifest in `raftDir`. Without one — a new node, or data written before
   * the manifest existed — every `group-<id>` folder present counts as held.
   */
  static async open(fs: FileSystem, raftDir: string): Promise<GroupManifest> {
    const file = path.join(raftDir, FILE);
    const st = await fs.stat(file);
    if (st === undefined) {
      const f = await fs.open(file, 'wx');
      const m = new GroupManifest(f, 0);
      const ids = (await fs.readdir(raftDir))
        .map((n) => /^group-(\d+)$/.exec(n)?.[1])
        .filter((x): x is string => x !== undefined)
        .map(Number);
      for (const id of ids) await m.append(HELD, id);
      await f.sync();
      await fs.fsyncDir(raftDir);
      return m;
    }
    const f = await fs.open(file, 'r+');
    const buf = Buffer.alloc(st.size);
    const n = await f.read(buf, 0, st.size, 0);
    let pos = 0;
    const m = new GroupManifest(f, 0);
    while (pos + RECORD_BYTES <= n) {
      const rec = buf.subarray(pos, pos + RECORD_BYTES);
      const ok =
        rec.readUInt32LE(9) === crc32c(rec.subarray(0, 9)) && (rec[0] === HELD || rec[0] === RELEASED);
      if (!ok) {
        if (pos + RECORD_BYTES < n) {
          await f.close();
          throw new ServerError(
            ServerErrorCode.DATA_DIR_CORRUPT,
            `${file}: bad record at byte ${pos} (checksum or kind): this node cannot tell which partition replicas it held`,
          );
        }
        break;
      }
      const id = Number(rec.readBigUInt64LE(1));
      if (rec[0] === HELD) m.held.add(id);
      else m.held.delete(id);
      pos += RECORD_BYTES;
    }
    if (pos < n) {
      // A torn last record: cut it.
      await f.truncate(pos);
      await f.sync();
    }
    m.size = pos;
    return m;
  }

  /** This node held group `groupId` (and has not released it). */
  has(groupId: number): boolean {
    return this.held.has(groupId);
  }

  /** Records that this node holds `groupId`; durable when it resolves (before the group is created). */
  hold(groupId: number): Promise<void> {
    return this.change(HELD, groupId);
  }

  /** Records that this node no longer holds `groupId` (its data is being removed); durable on return. */
  release(groupId: number): Promise<void> {
    return this.change(RELEASED, groupId);
  }

  async close(): Promise<void> {
    await this.flushing;
    await this.file.close();
  }

  /**
   * Group commit: a change asked while a write is syncing goes with the others of the next write,
   * one append and one datasync for all (a node opening a thousand new replicas at once).
   */
  private change(kind: number, groupId: number): Promise<void> {
    return new Promise<void>((done, failed) => {
      this.pending.push({ kind, groupId, done, failed });
      this.flushing ??= this.flush();
    });
  }

  /** Writes until nothing is pending; `flushing` is cleared in the same turn as the last check. */
  private async flush(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        try {
          const bytes = Buffer.concat(batch.map((c) => encode(c.kind, c.groupId)));
          await this.file.write(bytes, this.size);
          await this.file.datasync();
          this.size += bytes.length;
          for (const c of batch) {
            if (c.kind === HELD) this.held.add(c.groupId);
            else this.held.delete(c.groupId);
            c.done();
          }
        } catch (e) {
          // Not durable: the next write goes to the same place.
          for (const c of batch) c.failed(e);
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private async append(kind: number, groupId: number): Promise<void> {
    await this.file.write(encode(kind, groupId), this.size);
    this.size += RECORD_BYTES;
    if (kind === HELD) this.held.add(groupId);
    else this.held.delete(groupId);
  }
}
