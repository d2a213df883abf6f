// Hand-written: the compression codecs a record batch may use (attributes bits 0-2), each through a
// native package, each decompressed with a bound on the output so that a small batch cannot expand
// into gigabytes (a decompression bomb). The bound is checked before allocating wherever the format
// announces sizes (snappy preambles, lz4 block sizes, zstd frame content sizes) and while streaming
// otherwise (gzip, zstd frames without a content size).
//
// Formats, as Kafka clients write them:
// - gzip: an RFC 1952 stream (node:zlib).
// - snappy: librdkafka, kafkajs and Sarama write one raw snappy block; the Java client writes the
//   xerial framing (magic 0x82 "SNAPPY" 0x00, two int32 versions, then int32-length-prefixed raw
//   blocks of up to 32 KiB). Decompression detects the xerial magic; compression writes xerial by
//   default, as the Java client does (every client reads it), or raw on request.
// - lz4: the LZ4 frame format (magic 0x184D2204). The bare block format breaks librdkafka. lz4-napi
//   writes frames with independent 4 MiB blocks, which librdkafka, the Java client and kafkajs-lz4
//   read; frames are decoded here block by block to bound the output.
// - zstd: one or more zstd frames.

import { gunzipSync, gzipSync } from 'node:zlib';
import { compressFrameSync, uncompressSync } from 'lz4-napi';
import { compressSync as snappyCompressSync, uncompressSync as snappyUncompressSync } from 'snappy';
import { compress as zstdCompress } from 'zstd-napi';
import zstdBinding from 'zstd-napi/binding.js';
import { CompressionType } from './batch.js';
import { RecordsError } from './errors.js';
import { readUnsignedVarint } from '../varint.js';

/** Default bound on a decompressed batch body: 64 MiB. */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

export interface DecompressOptions {
  /** Largest output accepted; more is `TooLarge`. Default `DEFAULT_MAX_DECOMPRESSED_BYTES`. */
  maxBytes?: number;
}

export interface CompressOptions {
  /** Snappy framing: 'xerial' (default, what the Java client writes) or 'raw' (librdkafka, kafkajs). */
  snappyFraming?: 'xerial' | 'raw';
  /** gzip level 1..9 (default 6, zlib's default, as the Java client). */
  gzipLevel?: number;
  /** zstd level (default 3, zstd's default). */
  zstdLevel?: number;
}

/** Human-readable name of a codec id, as Kafka spells it in `compression.type`. */
export function compressionName(type: number): string {
  switch (type) {
    case CompressionType.None:
      return 'none';
    case CompressionType.Gzip:
      return 'gzip';
    case CompressionType.Snappy:
      return 'snappy';
    case CompressionType.Lz4:
      return 'lz4';
    case CompressionType.Zstd:
      return 'zstd';
    default:
      return `unknown(${type})`;
  }
}

function tooLarge(codec: string, size: number | string, maxBytes: number): RecordsError {
  return new RecordsError(
    'TooLarge',
    `${codec} data decompresses to ${size} bytes, more than the ${maxBytes}-byte limit`,
  );
}

function corrupt(codec: string, cause: unknown): RecordsError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new RecordsError('CorruptRecord', `invalid ${codec} data: ${detail}`, { cause });
}

/** Compresses a batch body with the given codec. `None` returns the input itself. */
export function compressRecords(type: number, data: Buffer, options: CompressOptions = {}): Buffer {
  switch (type) {
    case CompressionType.None:
      return data;
    case CompressionType.Gzip:
      return gzipSync(data, { level: options.gzipLevel ?? 6 });
    case CompressionType.Snappy:
      return options.snappyFraming === 'raw' ? snappyCompressSync(data) : xerialCompress(data);
    case CompressionType.Lz4:
      return compressFrameSync(data);
    case CompressionType.Zstd:
      return zstdCompress(data, { compressionLevel: options.zstdLevel ?? 3 });
    default:
      throw new RecordsError('UnsupportedCompression', `unknown compression codec ${type}`);
  }
}

/**
 * Decompresses a batch body. The output never exceeds `maxBytes` (`TooLarge` otherwise); malformed
 * input is `CorruptRecord`; an unknown codec id is `UnsupportedCompression`. `None` returns the input.
 */
export function decompressRecords(type: number, data: Buffer, options: DecompressOptions = {}): Buffer {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  switch (type) {
    case CompressionType.None:
      if (data.length > maxBytes) throw tooLarge('uncompressed', data.length, maxBytes);
      return data;
    case CompressionType.Gzip:
      return gunzipBounded(data, maxBytes);
    case CompressionType.Snappy:
      return isXerial(data)
        ? xerialDecompress(data, maxBytes)
        : snappyRawDecompress(data, maxBytes, 0, data.length);
    case CompressionType.Lz4:
      return lz4Decompress(data, maxBytes);
    case CompressionType.Zstd:
      return zstdDecompress(data, maxBytes);
    default:
      throw new RecordsError('UnsupportedCompression', `unknown compression codec ${type}`);
  }
}

// ---------------------------------------------------------------------------------------------- gzip

function gunzipBounded(data: Buffer, maxBytes: number): Buffer {
  try {
    // maxOutputLength makes zlib stop (RangeError ERR_BUFFER_TOO_LARGE) instead of growing further.
    return gunzipSync(data, { maxOutputLength: Math.max(1, maxBytes) });
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE')
      throw tooLarge('gzip', `more than ${maxBytes}`, maxBytes);
    throw corrupt('gzip', e);
  }
}

// -------------------------------------------------------------------------------------------- snappy

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;
/** Uncompressed bytes per xerial block, as the Java client's SnappyOutputStream (32 KiB). */
export const XERIAL_BLOCK_BYTES = 32 * 1024;

function isXerial(data: Buffer): boolean {
  return (
    data.length >= XERIAL_MAGIC.length &&
    data.compare(XERIAL_MAGIC, 0, XERIAL_MAGIC.length, 0, XERIAL_MAGIC.length) === 0
  );
}

/** Uncompressed length announced by a raw snappy block's preamble (a uint32 varint). */
function snappyPreamble(data: Buffer, start: number, end: number): number {
  try {
    return readUnsignedVarint(data.subarray(start, end), { offset: 0 });
  } catch (e) {
    throw corrupt('snappy', e);
  }
}

function snappyRawDecompress(data: Buffer, maxBytes: number, start: number, end: number): Buffer {
  const expected = snappyPreamble(data, start, end);
  if (expected > maxBytes) throw tooLarge('snappy', expected, maxBytes);
  let out: Buffer;
  try {
    out = snappyUncompressSync(data.subarray(start, end), { asBuffer: true }) as Buffer;
  } catch (e) {
    throw corrupt('snappy', e);
  }
  if (out.length !== expected)
    throw corrupt('snappy', `block decoded to ${out.length} bytes, preamble says ${expected}`);
  return out;
}

function xerialDecompress(data: Buffer, maxBytes: number): Buffer {
  if (data.length < XERIAL_HEADER_BYTES) throw corrupt('snappy', 'xerial header is truncated');
  // First pass: locate the blocks and add up their announced sizes before decompressing anything.
  const blocks: Array<[number, number]> = [];
  let total = 0;
  let pos = XERIAL_HEADER_BYTES;
  while (pos < data.length) {
    if (data.length - pos < 4) throw corrupt('snappy', `xerial block length truncated at ${pos}`);
    const length = data.readInt32BE(pos);
    pos += 4;
    if (length < 0 || length > data.length - pos)
      throw corrupt(
        'snappy',
        `xerial block at ${pos - 4} has length ${length}, ${data.length - pos} bytes left`,
      );
    if (length === 0) continue;
    total += snappyPreamble(data, pos, pos + length);
    if (total > maxBytes) throw tooLarge('snappy', `at least ${total}`, maxBytes);
    blocks.push([pos, pos + length]);
    pos += length;
  }
  if (blocks.length === 1) {
    const [start, end] = blocks[0]!;
    return snappyRawDecompress(data, maxBytes, start, end);
  }
  const out = Buffer.allocUnsafe(total);
  let written = 0;
  for (const [start, end] of blocks) {
    const part = snappyRawDecompress(data, maxBytes, start, end);
    part.copy(out, written);
    written += part.length;
  }
  return out;
}

function xerialCompress(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(XERIAL_HEADER_BYTES);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(1, 8); // version
  header.writeInt32BE(1, 12); // minimum compatible version
  parts.push(header);
  for (let pos = 0; pos < data.length; pos += XERIAL_BLOCK_BYTES) {
    const block = snappyCompressSync(data.subarray(pos, Math.min(data.length, pos + XERIAL_BLOCK_BYTES)));
    const length = Buffer.allocUnsafe(4);
    length.writeInt32BE(block.length, 0);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

// ----------------------------------------------------------------------------------------------- lz4

const LZ4_FRAME_MAGIC = 0x184d2204;
const LZ4_SKIPPABLE_MASK = 0xfffffff0;
const LZ4_SKIPPABLE_MAGIC = 0x184d2a50;
const LZ4_WINDOW_BYTES = 64 * 1024;

/**
 * Decodes the LZ4 frames in `data` block by block, so the output can be bounded exactly: each
 * compressed block is decoded with a capacity of min(block maximum, bytes left under `maxBytes`);
 * a block that does not fit is retried once at the block maximum (at most 4 MiB) to tell "too large"
 * from "corrupt". Linked blocks (B.Indep = 0) get the previous 64 KiB of output as dictionary.
 * Header and content checksums are not verified here: the batch CRC-32C covers these bytes.
 */
function lz4Decompress(data: Buffer, maxBytes: number): Buffer {
  const out: Buffer[] = [];
  let produced = 0;
  let pos = 0;
  const prefix = Buffer.allocUnsafe(4);
  while (pos < data.length) {
    if (data.length - pos < 4) throw corrupt('lz4', `frame magic truncated at ${pos}`);
    const magic = data.readUInt32LE(pos);
    if ((magic & LZ4_SKIPPABLE_MASK) >>> 0 === LZ4_SKIPPABLE_MAGIC) {
      if (data.length - pos < 8) throw corrupt('lz4', 'skippable frame truncated');
      const size = data.readUInt32LE(pos + 4);
      if (size > data.length - pos - 8) throw corrupt('lz4', 'skippable frame truncated');
      pos += 8 + size;
      continue;
    }
    if (magic !== LZ4_FRAME_MAGIC)
      throw corrupt('lz4', `not an LZ4 frame (magic ${magic.toString(16)} at ${pos})`);
    if (data.length - pos < 7) throw corrupt('lz4', 'frame header truncated');
    const flg = data[pos + 4]!;
    const bd = data[pos + 5]!;
    if (flg >> 6 !== 1) throw corrupt('lz4', `unsupported frame version ${flg >> 6}`);
    const independent = (flg & 0x20) !== 0;
    const blockChecksum = (flg & 0x10) !== 0;
    const contentSize = (flg & 0x08) !== 0;
    const contentChecksum = (flg & 0x04) !== 0;
    const dictId = (flg & 0x01) !== 0;
    if (dictId) throw corrupt('lz4', 'frames with a dictionary id are not supported');
    const blockSizeId = (bd >> 4) & 0x07;
    if (blockSizeId < 4) throw corrupt('lz4', `invalid block size id ${blockSizeId}`);
    const blockMax = 1 << (8 + 2 * blockSizeId);
    if (contentSize) {
      if (data.length - pos < 14) throw corrupt('lz4', 'frame header truncated');
      const announced = Number(data.readBigUInt64LE(pos + 6));
      if (produced + announced > maxBytes) throw tooLarge('lz4', produced + announced, maxBytes);
    }
    pos += 6 + (contentSize ? 8 : 0) + 1; // magic, FLG, BD, [content size], header checksum
    let history: Buffer | null = null; // up to the last 64 KiB of this frame's output, for linked blocks
    for (;;) {
      if (data.length - pos < 4) throw corrupt('lz4', `block size truncated at ${pos}`);
      const word = data.readUInt32LE(pos);
      pos += 4;
      if (word === 0) break; // end mark
      const stored = (word & 0x80000000) !== 0;
      const size = word & 0x7fffffff;
      if (size > blockMax)
        throw corrupt('lz4', `block of ${size} bytes exceeds the frame's ${blockMax}-byte maximum`);
      if (size + (blockChecksum ? 4 : 0) > data.length - pos) throw corrupt('lz4', 'block truncated');
      const block = data.subarray(pos, pos + size);
      pos += size + (blockChecksum ? 4 : 0);
      let decoded: Buffer;
      if (stored) {
        if (produced + size > maxBytes) throw tooLarge('lz4', `more than ${maxBytes}`, maxBytes);
        decoded = block;
      } else {
        const budget = Math.min(blockMax, maxBytes - produced);
        const dict = history ?? undefined;
        const attempt = (capacity: number): Buffer | null => {
          prefix.writeUInt32LE(capacity, 0);
          try {
            return uncompressSync(Buffer.concat([prefix, block]), dict);
          } catch {
            return null;
          }
        };
        const result = attempt(budget);
        if (result === null) {
          if (budget < blockMax && attempt(blockMax) !== null)
            throw tooLarge('lz4', `more than ${maxBytes}`, maxBytes);
          throw corrupt('lz4', `block at ${pos - size} does not decode`);
        }
        decoded = result;
      }
      produced += decoded.length;
      out.push(decoded);
      if (!independent) {
        // Linked blocks may refer to up to 64 KiB of earlier output of the same frame.
        history =
          decoded.length >= LZ4_WINDOW_BYTES || history === null
            ? decoded
            : Buffer.concat([history, decoded]);
        if (history.length > LZ4_WINDOW_BYTES) history = history.subarray(history.length - LZ4_WINDOW_BYTES);
      }
    }
    if (contentChecksum) {
      if (data.length - pos < 4) throw corrupt('lz4', 'content checksum truncated');
      pos += 4;
    }
  }
  return out.length === 1 ? out[0]! : Buffer.concat(out, produced);
}

// ---------------------------------------------------------------------------------------------- zstd

const ZSTD_STREAM_CHUNK_BYTES = 128 * 1024;

function zstdDecompress(data: Buffer, maxBytes: number): Buffer {
  let dctx: InstanceType<typeof zstdBinding.DCtx>;
  try {
    // Known content sizes: check the bound, then decompress in one call into an exact buffer.
    let total = 0;
    let known = true;
    let frame = data;
    while (frame.length > 0) {
      const size = zstdBinding.getFrameContentSize(frame);
      if (size === null) {
        known = false;
        break;
      }
      total += size;
      if (total > maxBytes) throw tooLarge('zstd', `at least ${total}`, maxBytes);
      frame = frame.subarray(zstdBinding.findFrameCompressedSize(frame));
    }
    dctx = new zstdBinding.DCtx();
    if (known) {
      const out = Buffer.allocUnsafe(total);
      const written = dctx.decompress(out, data);
      if (written !== total) throw corrupt('zstd', `decoded ${written} bytes, frames announce ${total}`);
      return out;
    }
  } catch (e) {
    if (e instanceof RecordsError) throw e;
    throw corrupt('zstd', e);
  }
  // Unknown content size: stream in chunks, stopping as soon as the output passes the bound.
  const chunks: Buffer[] = [];
  let produced = 0;
  let input = data;
  let pending = 1; // decompressStream's return: 0 once a frame is complete and flushed
  try {
    while (input.length > 0) {
      const room = Math.min(ZSTD_STREAM_CHUNK_BYTES, maxBytes - produced + 1);
      const chunk = Buffer.allocUnsafe(Math.max(room, 1));
      const [hint, dstProduced, srcConsumed] = dctx.decompressStream(chunk, input);
      pending = hint;
      if (dstProduced === 0 && srcConsumed === 0)
        throw corrupt('zstd', 'decoder made no progress (truncated frame)');
      produced += dstProduced;
      if (produced > maxBytes) throw tooLarge('zstd', `more than ${maxBytes}`, maxBytes);
      chunks.push(chunk.subarray(0, dstProduced));
      input = input.subarray(srcConsumed);
    }
    // Flush whatever the decoder still holds for the last frame.
    while (pending !== 0) {
      const room = Math.min(ZSTD_STREAM_CHUNK_BYTES, maxBytes - produced + 1);
      const chunk = Buffer.allocUnsafe(Math.max(room, 1));
      const [hint, dstProduced] = dctx.decompressStream(chunk, Buffer.alloc(0));
      pending = hint;
      produced += dstProduced;
      if (produced > maxBytes) throw tooLarge('zstd', `more than ${maxBytes}`, maxBytes);
      chunks.push(chunk.subarray(0, dstProduced));
      if (dstProduced === 0 && pending !== 0) throw corrupt('zstd', 'frame is truncated');
    }
  } catch (e) {
    if (e instanceof RecordsError) throw e;
    throw corrupt('zstd', e);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, produced);
}
