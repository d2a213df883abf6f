// The relocation entry: how the log cleaner's output enters a partition's log
// (docs/design/compaction.md). Both strategies store it as one entry of their log (a WAL record
// standalone, a Raft entry in a cluster) and apply it with KafkaLog.applyRelocation, so that every
// replica, and every restart that replays the log, reaches the same index.
//
//   0      0xFF 0x02              a partition control entry, kind 2 (a batch starts with its int64
//                                 base offset, never negative: its first byte is never 0xFF)
//   2      int8    version        0
//   3      int64   prev           the position of the relocation entry the cleaner's view was
//                                 built on (-1: none yet); the entry applies only if that is still
//                                 the last one applied (one chain of relocations, stale ones skip)
//   11     int64   passEnd        -1, or the offset the cleaning pass has now cleaned up to (the
//                                 pass's last entry): the next pass's first dirty offset
//   19     int32   count
//   23     count × { int64 baseOffset, int32 length, length bytes }
//                                 the batch that replaces the one with this base offset, whole
//                                 (same base and last offset), or length 0: the batch is removed
//
// The batches are in offset order and cover every live batch of a contiguous offset range, so the
// entries they were stored in before may leave the log once a pass is done.

export const CONTROL_PREFIX = 0xff;
export const CONTROL_RELOCATE = 0x02;
const VERSION = 0;
const HEADER_BYTES = 23;
const ITEM_HEADER_BYTES = 12;

export interface RelocatedBatch {
  baseOffset: bigint;
  /** The new batch (same base and last offset as the one it replaces); null: removed. */
  data: Buffer | null;
}

export interface RelocationCommand {
  prev: number;
  passEnd: bigint;
  batches: readonly RelocatedBatch[];
}

/** A decoded relocation entry: each batch with its byte offset inside the entry. */
export interface DecodedRelocation {
  prev: number;
  passEnd: bigint;
  batches: Array<{ baseOffset: bigint; inner: number; length: number }>;
}

/** Bytes an entry holding `batchBytes` of batches in `count` items takes. */
export function relocationSize(count: number, batchBytes: number): number {
  return HEADER_BYTES + count * ITEM_HEADER_BYTES + batchBytes;
}

export function encodeRelocation(cmd: RelocationCommand): Buffer {
  let bytes = 0;
  for (const b of cmd.batches) bytes += b.data?.length ?? 0;
  const out = Buffer.allocUnsafe(relocationSize(cmd.batches.length, bytes));
  out[0] = CONTROL_PREFIX;
  out[1] = CONTROL_RELOCATE;
  out.writeInt8(VERSION, 2);
  out.writeBigInt64BE(BigInt(cmd.prev), 3);
  out.writeBigInt64BE(cmd.passEnd, 11);
  out.writeInt32BE(cmd.batches.length, 19);
  let at = HEADER_BYTES;
  for (const b of cmd.batches) {
    out.writeBigInt64BE(b.baseOffset, at);
    const n = b.data?.length ?? 0;
    out.writeInt32BE(n, at + 8);
    at += ITEM_HEADER_BYTES;
    if (b.data !== null) {
      b.data.copy(out, at);
      at += n;
    }
  }
  return out;
}

/** Whether `entry` is a relocation entry. */
export function isRelocation(entry: Uint8Array): boolean {
  return entry.length >= 2 && entry[0] === CONTROL_PREFIX && entry[1] === CONTROL_RELOCATE;
}

/** The pass end a relocation entry carries (-1: not a pass's last entry). */
export function relocationPassEnd(entry: Buffer): bigint {
  return entry.readBigInt64BE(11);
}

/** Decodes a relocation entry; throws on one that is malformed (written by newer code, or damaged). */
export function decodeRelocation(entry: Buffer): DecodedRelocation {
  if (!isRelocation(entry) || entry.length < HEADER_BYTES)
    throw new Error(`not a relocation entry (${entry.length} bytes)`);
  const version = entry.readInt8(2);
  if (version !== VERSION) throw new Error(`relocation entry version ${version} is not known`);
  const count = entry.readInt32BE(19);
  const batches: DecodedRelocation['batches'] = [];
  let at = HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (at + ITEM_HEADER_BYTES > entry.length)
      throw new Error(`relocation entry item ${i} runs past its end`);
    const baseOffset = entry.readBigInt64BE(at);
    const length = entry.readInt32BE(at + 8);
    at += ITEM_HEADER_BYTES;
    if (length < 0 || at + length > entry.length)
      throw new Error(`relocation entry item ${i} of ${length} bytes runs past its end`);
    batches.push({ baseOffset, inner: at, length });
    at += length;
  }
  if (at !== entry.length) throw new Error(`relocation entry has ${entry.length - at} bytes after its items`);
  return { prev: Number(entry.readBigInt64BE(3)), passEnd: entry.readBigInt64BE(11), batches };
}
