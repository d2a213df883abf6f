// Hand-written (the schemas stop at the message): Kafka's length-prefixed framing. Every request and
// response on a connection is an int32 byte count followed by that many bytes.
//
// The decoder has two ways in, over one state:
// - push mode: `push(chunk)` returns the frames the chunk completes (a client, a test);
// - pull mode: `write(chunk)` appends, `peekSize()` tells the next frame's size as soon as its prefix
//   is there (a server reserves memory for the frame before its body arrives), `next()` takes one
//   frame at a time.
// Copies: a frame whose payload lies in one chunk is a view of that chunk; a frame that spans chunks
// is copied once, into a buffer of its size, when its last byte arrives — in one pass, so the bytes
// are still in the CPU's cache when the caller reads them (copying each chunk as it arrived made a
// broker's produce path ~7 % slower). A slow sender cannot make the decoder hold one Buffer object
// per tiny chunk: past MAX_HELD_CHUNKS chunks, the frame is copied as its bytes arrive. A prefix
// split over chunks is read byte by byte.

import { ProtocolError } from '../errors/protocol-error.js';

/** Default maximum request size (Kafka's socket.request.max.bytes is 100 MiB). */
export const DEFAULT_MAX_FRAME_BYTES = 100 * 1024 * 1024;

const PREFIX_BYTES = 4;
/** Chunks held for one incomplete frame before its bytes are copied as they arrive. */
export const MAX_HELD_CHUNKS = 1024;

export interface FrameDecoderOptions {
  /** Largest frame payload accepted; a larger length prefix is FrameTooLarge. Default 100 MiB. */
  maxFrameBytes?: number;
}

/**
 * Splits a byte stream into frames: payloads without their 4-byte length, in order.
 *
 * - `push(chunk)` appends the chunk and returns every frame now complete.
 * - `write(chunk)` appends only; `peekSize()` and `next()` then take frames one at a time. Chunks
 *   written and not yet taken stay referenced: the caller bounds them with `bufferedBytes`.
 * - The modes can be mixed: `push` returns the frames of earlier writes too.
 * - A negative length is InvalidFrameLength and a length above `maxFrameBytes` is FrameTooLarge,
 *   raised as soon as the prefix is read. The decoder then drops what it holds and every later call
 *   throws the same error: close the connection.
 */
export class FrameDecoder {
  readonly maxFrameBytes: number;
  /** Received bytes not yet consumed, in order; the first chunk is consumed up to `headOffset`. */
  private chunks: Buffer[] = [];
  private headOffset = 0;
  /** Unconsumed bytes in `chunks`. */
  private available = 0;
  /** Payload size of the frame whose prefix has been consumed, or -1. */
  private need = -1;
  /**
   * The payload of a frame that spans chunks, filled as bytes arrive; null otherwise.
   * Invariant: assembly !== null implies need >= 0 and assembled <= need, and chunks stays empty
   * while assembled < need (later bytes go to chunks only once the frame is complete).
   */
  private assembly: Buffer | null = null;
  private assembled = 0;
  private failed: ProtocolError | null = null;

  constructor(options: FrameDecoderOptions = {}) {
    const max = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (!Number.isInteger(max) || max < 0 || max > 0x7fffffff) {
      throw new ProtocolError('InvalidValue', `maxFrameBytes must be an integer in 0..2^31-1, got ${max}`);
    }
    this.maxFrameBytes = max;
  }

  /** Bytes received but not yet returned as frames (length prefixes included). */
  get bufferedBytes(): number {
    return this.available + this.assembled + (this.need >= 0 ? PREFIX_BYTES : 0);
  }

  /** Appends a chunk and returns the payloads of every frame now complete (views where possible). */
  push(chunk: Buffer): Buffer[] {
    this.write(chunk);
    const frames: Buffer[] = [];
    for (let frame = this.next(); frame !== undefined; frame = this.next()) frames.push(frame);
    return frames;
  }

  /** Appends a chunk without taking frames out (pull mode: `peekSize`, `next`). */
  write(chunk: Buffer): void {
    if (this.failed !== null) throw this.failed;
    if (chunk.length === 0) return;
    let start = 0;
    if (this.assembly !== null) {
      start = Math.min(chunk.length, this.need - this.assembled);
      chunk.copy(this.assembly, this.assembled, 0, start);
      this.assembled += start;
      if (start === chunk.length) return;
    }
    // While assembling, `chunks` is empty: the rest of this chunk becomes the first one.
    if (this.chunks.length === 0) this.headOffset = start;
    this.chunks.push(chunk);
    this.available += chunk.length - start;
  }

  /**
   * The payload size of the next frame once its length prefix has arrived, without consuming
   * anything; undefined before. InvalidFrameLength / FrameTooLarge for a bad prefix.
   */
  peekSize(): number | undefined {
    if (this.failed !== null) throw this.failed;
    if (this.need >= 0) return this.need;
    if (this.available < PREFIX_BYTES) return undefined;
    const first = this.chunks[0]!;
    if (first.length - this.headOffset >= PREFIX_BYTES) {
      return this.checkLength(first.readInt32BE(this.headOffset));
    }
    // The prefix spans chunks: assemble it byte by byte (no allocation). `<<` keeps int32 sign.
    let size = 0;
    let got = 0;
    for (let i = 0; got < PREFIX_BYTES; i++) {
      const c = this.chunks[i]!;
      for (let j = i === 0 ? this.headOffset : 0; j < c.length && got < PREFIX_BYTES; j++, got++) {
        size = (size << 8) | c[j]!;
      }
    }
    return this.checkLength(size);
  }

  /**
   * The payload of the next complete frame, or undefined while it is incomplete. Consumes its
   * prefix as soon as the prefix is there (`peekSize` still tells the size afterwards).
   * InvalidFrameLength / FrameTooLarge for a bad prefix.
   */
  next(): Buffer | undefined {
    if (this.need < 0) {
      const size = this.peekSize();
      if (size === undefined) return undefined;
      this.consume(PREFIX_BYTES);
      this.need = size;
    }
    if (this.assembly !== null) {
      if (this.assembled < this.need) return undefined;
      const frame = this.assembly;
      this.assembly = null;
      this.assembled = 0;
      this.need = -1;
      return frame;
    }
    if (this.available >= this.need) {
      const frame = this.take(this.need);
      this.need = -1;
      return frame;
    }
    // Part of the payload is here and the rest will come in later chunks: hold them and copy the
    // frame in one pass when it is complete — unless the sender dribbles it in many small chunks,
    // then copy what is here now and the rest as it arrives.
    if (this.chunks.length > MAX_HELD_CHUNKS) this.startAssembly();
    return undefined;
  }

  /** Drops `n` unconsumed bytes (n <= available). */
  private consume(n: number): void {
    this.available -= n;
    let left = n;
    while (left > 0) {
      const rest = this.chunks[0]!.length - this.headOffset;
      if (rest > left) {
        this.headOffset += left;
        return;
      }
      left -= rest;
      this.chunks.shift();
      this.headOffset = 0;
    }
  }

  /** Takes `n` unconsumed bytes (n <= available): a view when they lie in one chunk, else one copy. */
  private take(n: number): Buffer {
    const first = this.chunks[0];
    if (first === undefined) return Buffer.alloc(0);
    const start = this.headOffset;
    if (first.length - start >= n) {
      const view = first.subarray(start, start + n);
      this.consume(n);
      return view;
    }
    // Possible in pull mode only, when several chunks were written before next() was called.
    const out = Buffer.allocUnsafe(n);
    this.copyOut(out, n);
    return out;
  }

  private startAssembly(): void {
    const out = Buffer.allocUnsafe(this.need);
    this.assembled = this.available;
    this.copyOut(out, this.available);
    this.assembly = out;
  }

  /** Copies the next `n` unconsumed bytes (n <= available) into `out` and consumes them. */
  private copyOut(out: Buffer, n: number): void {
    let off = 0;
    let i = 0;
    let from = this.headOffset;
    while (off < n) {
      const c = this.chunks[i]!;
      const k = Math.min(c.length - from, n - off);
      c.copy(out, off, from, from + k);
      off += k;
      if (from + k === c.length) {
        i++;
        from = 0;
      } else from += k;
    }
    this.chunks.splice(0, i);
    this.headOffset = from;
    this.available -= n;
  }

  private checkLength(len: number): number {
    if (len < 0) this.fail(new ProtocolError('InvalidFrameLength', `negative frame length ${len}`));
    if (len > this.maxFrameBytes) {
      this.fail(
        new ProtocolError(
          'FrameTooLarge',
          `frame of ${len} bytes exceeds the maximum of ${this.maxFrameBytes} bytes`,
        ),
      );
    }
    return len;
  }

  private fail(error: ProtocolError): never {
    this.failed = error;
    this.chunks = [];
    this.headOffset = 0;
    this.available = 0;
    this.need = -1;
    this.assembly = null;
    this.assembled = 0;
    throw error;
  }
}

/** Prefixes a message (given as chunks) with its int32 length: the result can go to `socket.writev`. */
export function frameChunks(chunks: readonly Buffer[]): Buffer[] {
  let n = 0;
  for (const c of chunks) n += c.length;
  const prefix = Buffer.allocUnsafe(4);
  prefix.writeInt32BE(n, 0);
  return [prefix, ...chunks];
}
