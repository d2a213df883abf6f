// FrameDecoder: frames come out whole and in order however the bytes are split into chunks
// (size prefixes split across chunks included); bad sizes are typed errors.
import fc from 'fast-check';
import { isServerError } from '../src/errors.js';
import { FrameDecoder } from '../src/net/frame.js';

function encode(frames: readonly Uint8Array[]): Buffer {
  return Buffer.concat(
    frames.flatMap((f) => {
      const p = Buffer.alloc(4);
      p.writeInt32BE(f.length, 0);
      return [p, Buffer.from(f)];
    }),
  );
}

describe('FrameDecoder', () => {
  test('decodes every frame exactly, for any split of the byte stream', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 50 }),
        (frames, cuts) => {
          const bytes = encode(frames);
          const dec = new FrameDecoder(1 << 20);
          const out: Buffer[] = [];
          let pos = 0;
          let k = 0;
          while (pos < bytes.length) {
            const n = Math.min(cuts[k++ % cuts.length] as number, bytes.length - pos);
            dec.push(bytes.subarray(pos, pos + n));
            pos += n;
            for (let f = dec.next(); f !== undefined; f = dec.next()) out.push(f);
          }
          expect(out.map((b) => Buffer.from(b).toString('hex'))).toEqual(
            frames.map((f) => Buffer.from(f).toString('hex')),
          );
          expect(dec.bufferedBytes).toBe(0);
        },
      ),
    );
  });

  test('peekSize reads a prefix split over chunks without consuming it', () => {
    const dec = new FrameDecoder(1 << 20);
    const bytes = encode([Buffer.from('hello')]);
    dec.push(bytes.subarray(0, 1));
    dec.push(bytes.subarray(1, 3));
    expect(dec.peekSize()).toBeUndefined();
    dec.push(bytes.subarray(3, 6));
    expect(dec.peekSize()).toBe(5);
    expect(dec.peekSize()).toBe(5);
    expect(dec.next()).toBeUndefined();
    dec.push(bytes.subarray(6));
    expect(dec.next()?.toString()).toBe('hello');
  });

  test('a negative size is MALFORMED_FRAME and one over the limit REQUEST_TOO_LARGE, split prefix or not', () => {
    for (const [size, code] of [
      [-1, 'MALFORMED_FRAME'],
      [1001, 'REQUEST_TOO_LARGE'],
    ] as const) {
      const p = Buffer.alloc(4);
      p.writeInt32BE(size, 0);
      for (const split of [4, 1, 3]) {
        const dec = new FrameDecoder(1000);
        dec.push(p.subarray(0, split));
        dec.push(p.subarray(split));
        let err: unknown;
        try {
          dec.next();
        } catch (e) {
          err = e;
        }
        expect(isServerError(err, code)).toBe(true);
      }
    }
  });
});
