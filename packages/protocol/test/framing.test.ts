import fc from 'fast-check';
import { DEFAULT_MAX_FRAME_BYTES, FrameDecoder, ProtocolError, frameChunks } from '../src/index.js';

function frame(payload: Buffer): Buffer {
  return Buffer.concat(frameChunks([payload]));
}

function errorCode(fn: () => unknown): string {
  try {
    fn();
    return 'none';
  } catch (e) {
    return e instanceof ProtocolError ? e.code : 'untyped';
  }
}

describe('FrameDecoder', () => {
  const payloads = [
    Buffer.from('hello'),
    Buffer.alloc(0),
    Buffer.from('x'.repeat(300)),
    Buffer.from([0, 1, 2, 3, 4, 5, 6]),
  ];
  const stream = Buffer.concat(payloads.map(frame));

  it('yields several frames from one chunk, as views of the chunk', () => {
    const d = new FrameDecoder();
    const out = d.push(stream);
    expect(out).toEqual(payloads);
    expect(out[0]!.buffer).toBe(stream.buffer);
    expect(d.bufferedBytes).toBe(0);
  });

  it('reassembles frames split at every possible point', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = new FrameDecoder();
      const out = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
      expect(out).toEqual(payloads);
    }
  });

  it('reassembles frames fed one byte at a time', () => {
    const d = new FrameDecoder();
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...d.push(stream.subarray(i, i + 1)));
    expect(out).toEqual(payloads);
  });

  it('reassembles any chunking of any frames', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }),
        (frames, sizes) => {
          const bytes = Buffer.concat(frames.map((f) => frame(Buffer.from(f))));
          const d = new FrameDecoder({ maxFrameBytes: 64 });
          const out: Buffer[] = [];
          let off = 0;
          for (let i = 0; off < bytes.length; i++) {
            const n = sizes[i % sizes.length]!;
            out.push(...d.push(bytes.subarray(off, off + n)));
            off += n;
          }
          expect(out.map((b) => b.toString('hex'))).toEqual(
            frames.map((f) => Buffer.from(f).toString('hex')),
          );
          expect(d.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('rejects negative lengths, even when split across chunks', () => {
    const bad = Buffer.from('ffffffff00', 'hex');
    expect(errorCode(() => new FrameDecoder().push(bad))).toBe('InvalidFrameLength');
    const d = new FrameDecoder();
    expect(d.push(bad.subarray(0, 2))).toEqual([]);
    expect(errorCode(() => d.push(bad.subarray(2)))).toBe('InvalidFrameLength');
    // A failed decoder stays failed: the connection must be closed.
    expect(errorCode(() => d.push(frame(Buffer.from('ok'))))).toBe('InvalidFrameLength');
  });

  it('rejects lengths above the maximum before buffering the frame', () => {
    expect(DEFAULT_MAX_FRAME_BYTES).toBe(100 * 1024 * 1024);
    const d = new FrameDecoder({ maxFrameBytes: 10 });
    expect(d.push(frame(Buffer.alloc(10)))).toHaveLength(1);
    const big = Buffer.alloc(4);
    big.writeInt32BE(11, 0);
    expect(errorCode(() => d.push(big))).toBe('FrameTooLarge');
    const huge = Buffer.alloc(4);
    huge.writeInt32BE(DEFAULT_MAX_FRAME_BYTES + 1, 0);
    expect(errorCode(() => new FrameDecoder().push(huge))).toBe('FrameTooLarge');
    expect(errorCode(() => new FrameDecoder({ maxFrameBytes: -1 }))).toBe('InvalidValue');
  });

  it('assembles a large frame from many chunks without losing bytes', () => {
    const payload = Buffer.alloc(256 * 1024, 7);
    payload[payload.length - 1] = 9;
    const bytes = frame(payload);
    const d = new FrameDecoder();
    const out: Buffer[] = [];
    for (let off = 0; off < bytes.length; off += 1000) out.push(...d.push(bytes.subarray(off, off + 1000)));
    expect(out).toHaveLength(1);
    expect(out[0]!.equals(payload)).toBe(true);
  });
});
