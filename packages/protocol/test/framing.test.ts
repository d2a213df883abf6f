// FrameDecoder in both modes (push: frames per chunk; pull: write, peekSize, next), checked against a
// model: any split of a byte stream into chunks yields the model's frames, views where the payload lies
// in one chunk and one copy otherwise; bad lengths are typed errors that leave the decoder failed.

import fc from 'fast-check';
import {
  DEFAULT_MAX_FRAME_BYTES,
  FrameDecoder,
  MAX_HELD_CHUNKS,
  ProtocolError,
  frameChunks,
} from '../src/index.js';
import type { ProtocolErrorCode } from '../src/index.js';

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

/** A byte stream of frames cut into chunks, each chunk in its own ArrayBuffer (so views are detectable). */
interface Cut {
  payloads: Buffer[];
  chunks: Buffer[];
  /** Stream position of each chunk's first byte. */
  starts: number[];
  /** Stream position of each payload's first byte. */
  payloadStarts: number[];
}

function cutStream(payloads: Buffer[], tail: Buffer, cuts: number[]): Cut {
  const stream = Buffer.concat([...payloads.map(frame), tail]);
  const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  const bounds = [0, ...points.filter((p) => p > 0 && p < stream.length), stream.length];
  const chunks: Buffer[] = [];
  const starts: number[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const c = Buffer.alloc(bounds[i + 1]! - bounds[i]!); // its own memory, not the allocation pool
    stream.copy(c, 0, bounds[i]!, bounds[i + 1]!);
    chunks.push(c);
    starts.push(bounds[i]!);
  }
  const payloadStarts: number[] = [];
  let pos = 0;
  for (const p of payloads) {
    payloadStarts.push(pos + 4);
    pos += 4 + p.length;
  }
  return { payloads, chunks, starts, payloadStarts };
}

/** Frames of a payload inside one chunk must be views of it; others must be copies. */
function expectViewsWhereContiguous(cut: Cut, out: Buffer[]): void {
  out.forEach((f, i) => {
    const start = cut.payloadStarts[i]!;
    const end = start + f.length;
    const k = cut.starts.findLastIndex((s) => s <= start);
    const inOne = f.length > 0 && k >= 0 && end <= cut.starts[k]! + cut.chunks[k]!.length;
    if (inOne) {
      expect(f.buffer).toBe(cut.chunks[k]!.buffer);
      expect(f.byteOffset).toBe(cut.chunks[k]!.byteOffset + start - cut.starts[k]!);
    } else if (f.length > 0) {
      expect(cut.chunks.some((c) => c.buffer === f.buffer)).toBe(false);
    }
  });
}

const hex = (bufs: Buffer[]): string[] => bufs.map((b) => b.toString('hex'));

/** Feeds chunks in push mode; returns the frames and the error code that stopped it, if any. */
function runPush(d: FrameDecoder, chunks: Buffer[]): { out: Buffer[]; error: ProtocolErrorCode | null } {
  const out: Buffer[] = [];
  try {
    for (const c of chunks) out.push(...d.push(c));
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
    return { out, error: e.code };
  }
  return { out, error: null };
}

/**
 * Feeds chunks in pull mode, taking frames only after the chunks `drain` marks (so several chunks may
 * pile up), checking peekSize and bufferedBytes against the model on the way.
 */
function runPull(
  d: FrameDecoder,
  cut: Cut,
  drain: boolean[],
): { out: Buffer[]; error: ProtocolErrorCode | null } {
  const out: Buffer[] = [];
  let written = 0;
  let returned = 0;
  const take = (): void => {
    for (;;) {
      const size = d.peekSize();
      // (A frame past the model's payloads is an incomplete tail: the caller checks it.)
      if (size !== undefined && out.length < cut.payloads.length) {
        expect(size).toBe(cut.payloads[out.length]!.length);
      }
      const f = d.next();
      if (f === undefined) {
        if (size !== undefined) expect(d.peekSize()).toBe(size);
        return;
      }
      expect(size).toBe(f.length);
      out.push(f);
      returned += 4 + f.length;
    }
  };
  try {
    cut.chunks.forEach((c, i) => {
      d.write(c);
      written += c.length;
      expect(d.bufferedBytes).toBe(written - returned);
      if (drain[i % drain.length]!) take();
    });
    take();
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
    return { out, error: e.code };
  }
  return { out, error: null };
}

const payloadsArb = fc.array(
  fc.uint8Array({ maxLength: 60 }).map((a) => Buffer.from(a)),
  { maxLength: 8 },
);
const cutsArb = fc.array(fc.nat(), { maxLength: 40 });
const drainArb = fc.array(fc.boolean(), { minLength: 1, maxLength: 8 });

describe('FrameDecoder, push and pull against a model', () => {
  it('yields the same frames in both modes for any split, views where a payload lies in one chunk', () => {
    fc.assert(
      fc.property(payloadsArb, cutsArb, drainArb, (payloads, cuts, drain) => {
        const cut = cutStream(payloads, Buffer.alloc(0), cuts);
        const pushed = runPush(new FrameDecoder({ maxFrameBytes: 64 }), cut.chunks);
        const d = new FrameDecoder({ maxFrameBytes: 64 });
        const pulled = runPull(d, cut, drain);
        expect([pushed.error, pulled.error]).toEqual([null, null]);
        expect(hex(pushed.out)).toEqual(hex(payloads));
        expect(hex(pulled.out)).toEqual(hex(payloads));
        expectViewsWhereContiguous(cut, pushed.out);
        expectViewsWhereContiguous(cut, pulled.out);
        expect(d.bufferedBytes).toBe(0);
        expect(d.peekSize()).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('keeps an incomplete tail buffered and reports its size once the prefix is there', () => {
    fc.assert(
      fc.property(payloadsArb, fc.nat({ max: 63 }), cutsArb, (payloads, tailBytes, cuts) => {
        const last = Buffer.alloc(60, 5);
        const tail = frame(last).subarray(0, tailBytes);
        const cut = cutStream(payloads, tail, cuts);
        const d = new FrameDecoder({ maxFrameBytes: 64 });
        const out = runPull(d, cut, [true]);
        expect(out.error).toBeNull();
        expect(hex(out.out)).toEqual(hex(payloads));
        expect(d.bufferedBytes).toBe(tail.length);
        expect(d.peekSize()).toBe(tail.length >= 4 ? 60 : undefined);
        const rest = d.push(frame(last).subarray(tailBytes));
        expect(hex(rest)).toEqual(hex([last]));
      }),
      { numRuns: 200 },
    );
  });

  it('stops both modes at a bad length with the same frames before it, and stays failed', () => {
    fc.assert(
      fc.property(
        payloadsArb,
        fc.oneof(fc.integer({ min: -(2 ** 31), max: -1 }), fc.integer({ min: 65, max: 2 ** 31 - 1 })),
        cutsArb,
        drainArb,
        (payloads, badLength, cuts, drain) => {
          const bad = Buffer.alloc(6);
          bad.writeInt32BE(badLength, 0);
          const cut = cutStream(payloads, bad, cuts);
          const code = badLength < 0 ? 'InvalidFrameLength' : 'FrameTooLarge';
          const pushDecoder = new FrameDecoder({ maxFrameBytes: 64 });
          const pushed = runPush(pushDecoder, cut.chunks);
          const pullDecoder = new FrameDecoder({ maxFrameBytes: 64 });
          const pulled = runPull(pullDecoder, cut, drain);
          expect([pushed.error, pulled.error]).toEqual([code, code]);
          // Push mode loses the frames of the chunk that failed; pull mode returned them one by one.
          expect(hex(pulled.out)).toEqual(hex(payloads));
          expect(hex(payloads).slice(0, pushed.out.length)).toEqual(hex(pushed.out));
          for (const d of [pushDecoder, pullDecoder]) {
            expect(d.bufferedBytes).toBe(0);
            expect(errorCode(() => d.peekSize())).toBe(code);
            expect(errorCode(() => d.next())).toBe(code);
            expect(errorCode(() => d.write(frame(Buffer.from('ok'))))).toBe(code);
            expect(errorCode(() => d.push(frame(Buffer.from('ok'))))).toBe(code);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('FrameDecoder pull mode', () => {
  it('tells the size of a frame as soon as its prefix arrived, split or not, without consuming it', () => {
    const bytes = frame(Buffer.from('hello'));
    const d = new FrameDecoder();
    d.write(bytes.subarray(0, 1));
    d.write(bytes.subarray(1, 3));
    expect(d.peekSize()).toBeUndefined();
    expect(d.next()).toBeUndefined();
    d.write(bytes.subarray(3, 6));
    expect(d.peekSize()).toBe(5);
    expect(d.peekSize()).toBe(5);
    expect(d.bufferedBytes).toBe(6);
    expect(d.next()).toBeUndefined();
    expect(d.peekSize()).toBe(5);
    expect(d.bufferedBytes).toBe(6);
    d.write(bytes.subarray(6));
    expect(d.next()?.toString()).toBe('hello');
    expect(d.next()).toBeUndefined();
    expect(d.bufferedBytes).toBe(0);
  });

  it('reports a bad length from peekSize, before the body is there', () => {
    const d = new FrameDecoder({ maxFrameBytes: 1000 });
    d.write(Buffer.from([0, 0]));
    expect(d.peekSize()).toBeUndefined();
    d.write(Buffer.from([0x03, 0xe9])); // 1001
    expect(errorCode(() => d.peekSize())).toBe('FrameTooLarge');
  });

  it('allocates nothing to read a split prefix, and copies a frame over chunks exactly once', () => {
    const payload = Buffer.alloc(10_000, 3);
    const bytes = frame(payload);
    const parts = [1, 1, 1, 1, 3000, 3000, 4000].map((n, i, all) => {
      const start = all.slice(0, i).reduce((a, b) => a + b, 0);
      return Buffer.from(bytes.subarray(start, start + n));
    });
    const spies = [
      jest.spyOn(Buffer, 'alloc'),
      jest.spyOn(Buffer, 'allocUnsafe'),
      jest.spyOn(Buffer, 'allocUnsafeSlow'),
      jest.spyOn(Buffer, 'concat'),
      jest.spyOn(Buffer, 'from'),
    ];
    try {
      const d = new FrameDecoder();
      for (const p of parts.slice(0, 4)) d.write(p);
      expect(d.peekSize()).toBe(10_000);
      expect(spies.map((s) => s.mock.calls.length)).toEqual([0, 0, 0, 0, 0]);
      const out: Buffer[] = [];
      for (const p of parts.slice(4)) out.push(...d.push(p));
      expect(out).toHaveLength(1);
      expect(spies.map((s) => s.mock.calls.length)).toEqual([0, 1, 0, 0, 0]);
      expect(out[0]!.equals(payload)).toBe(true);
    } finally {
      for (const s of spies) s.mockRestore();
    }
  });

  it('holds a bounded number of chunks, not one per chunk, while a frame arrives in tiny chunks', () => {
    const payload = Buffer.alloc(5000, 9);
    const bytes = frame(payload);
    const d = new FrameDecoder();
    const pendingChunks = (): number => (d as unknown as { chunks: Buffer[] }).chunks.length;
    const out: Buffer[] = [];
    let most = 0;
    for (let i = 0; i < bytes.length; i++) {
      out.push(...d.push(bytes.subarray(i, i + 1)));
      most = Math.max(most, pendingChunks());
    }
    // Up to MAX_HELD_CHUNKS are held; past that the bytes go into the frame's buffer as they arrive.
    expect(most).toBe(MAX_HELD_CHUNKS);
    expect(out).toHaveLength(1);
    expect(out[0]!.equals(payload)).toBe(true);
  });

  it('copies a frame of a few large chunks in one pass, when it is complete', () => {
    const payload = Buffer.alloc(200_000, 5);
    const bytes = frame(payload);
    const d = new FrameDecoder();
    const pendingChunks = (): number => (d as unknown as { chunks: Buffer[] }).chunks.length;
    d.write(bytes.subarray(0, 65_536));
    expect(d.next()).toBeUndefined();
    d.write(bytes.subarray(65_536, 131_072));
    expect(d.next()).toBeUndefined();
    expect(pendingChunks()).toBe(2); // held, not copied yet
    d.write(bytes.subarray(131_072));
    expect(d.next()?.equals(payload)).toBe(true);
    expect(pendingChunks()).toBe(0);
  });
});
