// Length-prefixed Kafka frames: a 4-byte big-endian size, then that many bytes.
// The decoder keeps the received chunks in a list; a frame inside one chunk is a view of it, a
// frame spanning chunks is copied once into its own buffer.
import { ServerError, ServerErrorCode } from '../errors.js';

export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Size of the frame being assembled, once its prefix is read. */
  private need = -1;

  constructor(private readonly maxFrameBytes: number) {}

  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /**
   * The size of the next frame once its prefix has arrived (without consuming anything), or
   * undefined. Throws MALFORMED_FRAME / REQUEST_TOO_LARGE.
   */
  peekSize(): number | undefined {
    if (this.need >= 0) return this.need;
    if (this.buffered < 4) return undefined;
    const first = this.chunks[0] as Buffer;
    if (first.length >= 4) return this.check(first.readInt32BE(0));
    // The prefix spans chunks: assemble it byte by byte (no allocation).
    let size = 0;
    let got = 0;
    for (const c of this.chunks) {
      for (let i = 0; i < c.length && got < 4; i++, got++) size = (size << 8) | (c[i] as number);
      if (got === 4) break;
    }
    return this.check(size);
  }

  private check(size: number): number {
    if (size < 0) throw new ServerError(ServerErrorCode.MALFORMED_FRAME, `negative frame size ${size}`);
    if (size > this.maxFrameBytes) {
      throw new ServerError(
        ServerErrorCode.REQUEST_TOO_LARGE,
        `frame of ${size} bytes exceeds the limit of ${this.maxFrameBytes}`,
      );
    }
    return size;
  }

  /** The next complete frame (without its prefix), or undefined. Throws MALFORMED_FRAME / REQUEST_TOO_LARGE. */
  next(): Buffer | undefined {
    if (this.need < 0) {
      const size = this.peekSize();
      if (size === undefined) return undefined;
      this.skip(4);
      this.need = size;
    }
    if (this.buffered < this.need) return undefined;
    const frame = this.take(this.need);
    this.need = -1;
    return frame;
  }

  /** Drops n buffered bytes (n <= buffered). */
  private skip(n: number): void {
    let left = n;
    while (left > 0) {
      const c = this.chunks[0] as Buffer;
      if (c.length <= left) {
        this.chunks.shift();
        left -= c.length;
      } else {
        this.chunks[0] = c.subarray(left);
        left = 0;
      }
    }
    this.buffered -= n;
  }

  private take(n: number): Buffer {
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      // A view, no copy: it keeps the chunk (at most one socket read, 64 KiB) alive while the
      // request is in flight; whoever keeps batches longer (the batch cache) copies small ones.
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0];
      if (c === undefined) throw new Error('FrameDecoder: internal accounting error');
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.buffered -= n;
    return out;
  }
}

/** Prefixes a response made of chunks with its 4-byte size. */
export function frameHeader(totalBytes: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(totalBytes, 0);
  return b;
}
