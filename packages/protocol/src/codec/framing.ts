// Hand-written (the schemas stop at the message): Kafka's length-prefixed framing. Every request and
// response on a connection is an int32 byte count followed by that many bytes. The decoder
// accumulates socket chunks and yields complete frames; it copies only when a frame spans chunks.

import { ProtocolError } from '../errors/protocol-error.js';

/** Default maximum request size (Kafka's socket.request.max.bytes is 100 MiB). */
export const DEFAULT_MAX_FRAME_BYTES = 100 * 1024 * 1024;

export interface FrameDecoderOptions {
  /** Largest frame payload accepted; a larger length prefix is FrameTooLarge. Default 100 MiB. */
  maxFrameBytes?: number;
}

/**
 * Splits a byte stream into frames. `push` returns the payloads (without the 4-byte length) that the
 * chunk completes, in order; a frame inside a single chunk is a view of that chunk, not a copy.
 * A negative length is InvalidFrameLength and a length above `maxFrameBytes` is FrameTooLarge: the
 * connection should be closed, the decoder is not usable afterwards.
 */
export class FrameDecoder {
  readonly maxFrameBytes: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Payload length of the frame being assembled, or -1 when the length prefix is not complete. */
  private need = -1;
  private failed: ProtocolError | null = null;

  constructor(options: FrameDecoderOptions = {}) {
    const max = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (!Number.isInteger(max) || max < 0 || max > 0x7fffffff) {
      throw new ProtocolError('InvalidValue', `maxFrameBytes must be an integer in 0..2^31-1, got ${max}`);
    }
    this.maxFrameBytes = max;
  }

  /** Bytes received but not yet returned as frames. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  push(chunk: Buffer): Buffer[] {
    if (this.failed !== null) throw this.failed;
    const frames: Buffer[] = [];
    let buf = chunk;
    if (this.pendingBytes > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      // Wait until the prefix, then the whole frame, is there before copying.
      if (this.need < 0) {
        if (this.pendingBytes < 4) return frames;
        const joined = Buffer.concat(this.pending, this.pendingBytes);
        this.pending = [joined];
        this.need = this.checkLength(joined.readInt32BE(0));
      }
      if (this.pendingBytes < 4 + this.need) return frames;
      buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
      this.need = -1;
    }
    let off = 0;
    while (buf.length - off >= 4) {
      const len = this.checkLength(buf.readInt32BE(off));
      if (buf.length - off - 4 < len) break;
      frames.push(buf.subarray(off + 4, off + 4 + len));
      off += 4 + len;
    }
    if (off < buf.length) {
      const rest = buf.subarray(off);
      this.pending = [rest];
      this.pendingBytes = rest.length;
      this.need = rest.length >= 4 ? rest.readInt32BE(0) : -1;
    }
    return frames;
  }

  private checkLength(len: number): number {
    if (len < 0) {
      this.failed = new ProtocolError('InvalidFrameLength', `negative frame length ${len}`);
      this.reset();
      throw this.failed;
    }
    if (len > this.maxFrameBytes) {
      this.failed = new ProtocolError(
        'FrameTooLarge',
        `frame of ${len} bytes exceeds the maximum of ${this.maxFrameBytes} bytes`,
      );
      this.reset();
      throw this.failed;
    }
    return len;
  }

  private reset(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.need = -1;
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
