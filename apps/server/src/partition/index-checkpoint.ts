// Persisted index snapshots of a standalone partition (local-partition.ts), and when to write one.
// A snapshot holds the partition's Kafka index (batch rows) and its small state (offsets, leader
// epochs, max timestamp, producers, transactions, cleaner) as of a log position (`nextIndex`: every
// entry before it is covered). It is derivable state: whatever is wrong with one (missing, torn,
// damaged, older than the log's start, newer than the log's end, or describing other entries than
// the log holds) makes the partition rebuild from a scan of the log, never trust it.
//
// Layout: 8-byte magic, 4-byte JSON length, the JSON, the index rows (BatchIndex.toBuffer), and
// from version 3 on a CRC-32C of everything before it. Versions 1 and 2 (no checksum, written by
// older builds) are still read; an older build ignores a version 3 file and scans the log.
//
// Three files, the newest usable one wins (docs/design/partitions.md, "Restart"):
// - `index.snapshot`: written by a clean close, describes exactly the log it closed, removed once read;
// - `index.checkpoint`: written while the partition runs, each time enough new bytes are durable;
// - `compaction.snapshot`: written before a prefix of a log holding relocations is dropped.
import { crc32cOf } from '../storage/crc32c.js';

const MAGIC_V1 = 'CHRKIDX1';
const MAGIC_V2 = 'CHRKIDX2';
const MAGIC_V3 = 'CHRKIDX3';
const HEAD_BYTES = 12;

/** New bytes appended (and made durable) between two checkpoints, at least. */
export const CHECKPOINT_MIN_INTERVAL_BYTES = 8 * 1024 * 1024;
/** ... and at least this many times the last checkpoint's size (bounds its write cost to ~6 %). */
export const CHECKPOINT_SIZE_FACTOR = 16;

/**
 * Whether a checkpoint is due after `appendedBytes` since the last one, which was `lastBytes` long
 * (`minBytes`: CHECKPOINT_MIN_INTERVAL_BYTES, smaller in tests).
 */
export function checkpointDue(appendedBytes: number, lastBytes: number, minBytes: number): boolean {
  return appendedBytes >= Math.max(minBytes, CHECKPOINT_SIZE_FACTOR * lastBytes);
}

/** A snapshot's bytes (version 3): the JSON state and the index rows, checksummed. */
export function encodeSnapshot(json: Buffer, rows: Buffer): Buffer {
  const head = Buffer.alloc(HEAD_BYTES);
  head.write(MAGIC_V3, 0, 'latin1');
  head.writeUInt32BE(json.length, 8);
  const body = Buffer.concat([head, json, rows, Buffer.alloc(4)]);
  body.writeUInt32BE(crc32cOf(body, 0, body.length - 4), body.length - 4);
  return body;
}

export interface DecodedSnapshot {
  json: string;
  rows: Buffer;
  /** The rows are in BatchIndex's version 1 layout. */
  v1: boolean;
}

/** Decodes a snapshot of any version; throws when it is damaged (bad magic, lengths or checksum). */
export function decodeSnapshot(raw: Buffer): DecodedSnapshot {
  if (raw.length < HEAD_BYTES) throw new Error('too short');
  const magic = raw.subarray(0, 8).toString('latin1');
  let end = raw.length;
  if (magic === MAGIC_V3) {
    end -= 4;
    if (end < HEAD_BYTES || raw.readUInt32BE(end) !== crc32cOf(raw, 0, end)) throw new Error('bad checksum');
  } else if (magic !== MAGIC_V2 && magic !== MAGIC_V1) throw new Error('bad magic');
  const jsonBytes = raw.readUInt32BE(8);
  if (HEAD_BYTES + jsonBytes > end) throw new Error('bad length');
  return {
    json: raw.subarray(HEAD_BYTES, HEAD_BYTES + jsonBytes).toString('utf8'),
    rows: raw.subarray(HEAD_BYTES + jsonBytes, end),
    v1: magic === MAGIC_V1,
  };
}
