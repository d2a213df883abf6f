// Length-prefixed Kafka frames: a 4-byte big-endian size, then that many bytes.
// The decoder keeps the received chunks in a list and copies each frame once.
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
    const prefix = Buffer.allocUnsafe(4);
    let off = 0;
    for (const c of this.chunks) {
      const k = Math.min(c.length, 4 - off);
      c.copy(prefix, off, 0, k);
      off += k;
      if (off === 4) break;
    }
    return this.check(prefix.readInt32BE(0));
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
      if (this.buffered < 4) return undefined;
      this.need = this.check(this.take(4).readInt32BE(0));
    }
    if (this.buffered < this.need) return undefined;
    const frame = this.take(this.need);
    this.need = -1;
    return frame;
  }

  private take(n: number): Buffer {
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      // A frame that shares memory with a big chunk would keep it alive; copy small slices.
      return n === 0 ? Buffer.alloc(0) : out;
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
