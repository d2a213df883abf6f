import fc from 'fast-check';
import {
  MAX_VARLONG_NUMBER,
  readUnsignedVarint,
  readUnsignedVarlong,
  readVarint,
  readVarlong,
  readVarlongAsNumber,
  sizeOfUnsignedVarint,
  sizeOfUnsignedVarlong,
  sizeOfVarint,
  sizeOfVarlong,
  sizeOfVarlongNumber,
  writeUnsignedVarint,
  writeUnsignedVarlong,
  writeVarint,
  writeVarlong,
  writeVarlongNumber,
} from '../../src/varint.js';
import { RecordsError } from '../../src/records/errors.js';

function expectCode(fn: () => unknown, code: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(RecordsError);
  expect((caught as RecordsError).code).toBe(code);
}

// Reference encoder (protobuf style, straight from the definition) to cross-check the fast paths.
function refUnsigned(value: bigint): number[] {
  const out: number[] = [];
  let v = value;
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return out;
}
const zz32 = (n: number): bigint => BigInt(((n << 1) ^ (n >> 31)) >>> 0);
const zz64 = (n: bigint): bigint => ((n << 1n) ^ (n >> 63n)) & ((1n << 64n) - 1n);

describe('varint', () => {
  test('known encodings (Kafka ByteUtils test vectors)', () => {
    const cases: Array<[number, number[]]> = [
      [0, [0x00]],
      [-1, [0x01]],
      [1, [0x02]],
      [63, [0x7e]],
      [-64, [0x7f]],
      [64, [0x80, 0x01]],
      [-65, [0x81, 0x01]],
      [8191, [0xfe, 0x7f]],
      [-8192, [0xff, 0x7f]],
      [2147483647, [0xfe, 0xff, 0xff, 0xff, 0x0f]],
      [-2147483648, [0xff, 0xff, 0xff, 0xff, 0x0f]],
    ];
    for (const [value, bytes] of cases) {
      const buf = Buffer.alloc(bytes.length);
      expect(writeVarint(buf, 0, value)).toBe(bytes.length);
      expect([...buf]).toEqual(bytes);
      expect(sizeOfVarint(value)).toBe(bytes.length);
      const c = { offset: 0 };
      expect(readVarint(Buffer.from(bytes), c)).toBe(value);
      expect(c.offset).toBe(bytes.length);
    }
  });

  test('unsigned varint round trip and reference bytes', () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), fc.nat({ max: 8 }), (value, pad) => {
        const ref = refUnsigned(BigInt(value));
        const buf = Buffer.alloc(pad + 5);
        const end = writeUnsignedVarint(buf, pad, value);
        expect(end - pad).toBe(ref.length);
        expect(sizeOfUnsignedVarint(value)).toBe(ref.length);
        expect([...buf.subarray(pad, end)]).toEqual(ref);
        const c = { offset: pad };
        expect(readUnsignedVarint(buf, c)).toBe(value);
        expect(c.offset).toBe(end);
      }),
    );
  });

  test('signed varint round trip', () => {
    fc.assert(
      fc.property(fc.integer({ min: -0x80000000, max: 0x7fffffff }), (value) => {
        const ref = refUnsigned(zz32(value));
        const buf = Buffer.alloc(5);
        const end = writeVarint(buf, 0, value);
        expect([...buf.subarray(0, end)]).toEqual(ref);
        expect(sizeOfVarint(value)).toBe(ref.length);
        const c = { offset: 0 };
        expect(readVarint(buf, c)).toBe(value);
        expect(c.offset).toBe(end);
      }),
    );
  });

  test('unsigned and signed varlong round trip', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (value) => {
        const ref = refUnsigned(value);
        const buf = Buffer.alloc(10);
        const end = writeUnsignedVarlong(buf, 0, value);
        expect([...buf.subarray(0, end)]).toEqual(ref);
        expect(sizeOfUnsignedVarlong(value)).toBe(ref.length);
        const c = { offset: 0 };
        expect(readUnsignedVarlong(buf, c)).toBe(value);
        expect(c.offset).toBe(end);
      }),
    );
    fc.assert(
      fc.property(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), (value) => {
        const ref = refUnsigned(zz64(value));
        const buf = Buffer.alloc(10);
        const end = writeVarlong(buf, 0, value);
        expect([...buf.subarray(0, end)]).toEqual(ref);
        expect(sizeOfVarlong(value)).toBe(ref.length);
        const c = { offset: 0 };
        expect(readVarlong(buf, c)).toBe(value);
        expect(c.offset).toBe(end);
      }),
    );
  });

  test('varlong number variants agree with the bigint ones', () => {
    fc.assert(
      fc.property(fc.integer({ min: -MAX_VARLONG_NUMBER, max: MAX_VARLONG_NUMBER }), (value) => {
        const a = Buffer.alloc(10);
        const b = Buffer.alloc(10);
        const endA = writeVarlongNumber(a, 0, value);
        const endB = writeVarlong(b, 0, BigInt(value));
        expect(endA).toBe(endB);
        expect(a.equals(b)).toBe(true);
        expect(sizeOfVarlongNumber(value)).toBe(endA);
        const c = { offset: 0 };
        expect(readVarlongAsNumber(a, c)).toBe(value);
        expect(c.offset).toBe(endA);
      }),
    );
    // Extremes
    for (const v of [MAX_VARLONG_NUMBER, -MAX_VARLONG_NUMBER, 0, -1, 2 ** 32, -(2 ** 32)]) {
      const buf = Buffer.alloc(10);
      const end = writeVarlongNumber(buf, 0, v);
      expect(readVarlongAsNumber(buf, { offset: 0 })).toBe(v);
      expect(readVarlong(buf, { offset: 0 })).toBe(BigInt(v));
      expect(end).toBe(sizeOfVarlong(BigInt(v)));
    }
  });

  test('readVarlongAsNumber rejects values outside ±(2^52-1) and accepts non-canonical small ones', () => {
    const buf = Buffer.alloc(10);
    writeVarlong(buf, 0, BigInt(MAX_VARLONG_NUMBER) + 1n);
    expectCode(() => readVarlongAsNumber(buf, { offset: 0 }), 'InvalidVarint');
    writeVarlong(buf, 0, -(1n << 63n));
    expectCode(() => readVarlongAsNumber(buf, { offset: 0 }), 'InvalidVarint');
    expectCode(() => writeVarlongNumber(buf, 0, 2 ** 53), 'InvalidVarint');
    // 9-byte encoding of 1 (zigzag 2): accepted, value 1
    const nc = Buffer.from([0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]);
    const c = { offset: 0 };
    expect(readVarlongAsNumber(nc, c)).toBe(1);
    expect(c.offset).toBe(9);
  });

  test('overlong encodings are InvalidVarint', () => {
    // 6 bytes for a 32-bit varint
    expectCode(
      () => readUnsignedVarint(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x00]), { offset: 0 }),
      'InvalidVarint',
    );
    // fifth byte carrying bits beyond 32
    expectCode(
      () => readUnsignedVarint(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x1f]), { offset: 0 }),
      'InvalidVarint',
    );
    expectCode(
      () => readVarint(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), { offset: 0 }),
      'InvalidVarint',
    );
    // 11 bytes for a varlong
    const eleven = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]);
    expectCode(() => readUnsignedVarlong(eleven, { offset: 0 }), 'InvalidVarint');
    expectCode(() => readVarlong(eleven, { offset: 0 }), 'InvalidVarint');
    expectCode(() => readVarlongAsNumber(eleven, { offset: 0 }), 'InvalidVarint');
    // tenth byte carrying bits beyond 64
    const bits65 = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]);
    expectCode(() => readUnsignedVarlong(bits65, { offset: 0 }), 'InvalidVarint');
    // the largest legal values still read
    expect(readUnsignedVarint(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), { offset: 0 })).toBe(0xffffffff);
    const max64 = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect(readUnsignedVarlong(max64, { offset: 0 })).toBe((1n << 64n) - 1n);
  });

  test('truncated input is Truncated at every cut point, and the cursor does not move', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), fc.nat(), (value, cutSeed) => {
        const buf = Buffer.alloc(10);
        const end = writeVarlong(buf, 0, value);
        const cut = cutSeed % end; // strictly shorter than the encoding
        const c = { offset: 0 };
        expectCode(() => readVarlong(buf.subarray(0, cut), c), 'Truncated');
        expect(c.offset).toBe(0);
        if (end <= 8) expectCode(() => readVarlongAsNumber(buf.subarray(0, cut), c), 'Truncated');
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: -0x80000000, max: 0x7fffffff }), fc.nat(), (value, cutSeed) => {
        const buf = Buffer.alloc(5);
        const end = writeVarint(buf, 0, value);
        const c = { offset: 0 };
        expectCode(() => readVarint(buf.subarray(0, cutSeed % end), c), 'Truncated');
        expect(c.offset).toBe(0);
      }),
    );
    expectCode(() => readUnsignedVarint(Buffer.from([1]), { offset: -1 }), 'Truncated');
    expectCode(() => readVarlongAsNumber(Buffer.from([1]), { offset: -1 }), 'Truncated');
    expectCode(() => readUnsignedVarlong(Buffer.from([1]), { offset: 1 }), 'Truncated');
  });

  test('writes check range and room', () => {
    expectCode(() => writeUnsignedVarint(Buffer.alloc(5), 0, -1), 'InvalidVarint');
    expectCode(() => writeUnsignedVarint(Buffer.alloc(5), 0, 2 ** 32), 'InvalidVarint');
    expectCode(() => writeUnsignedVarint(Buffer.alloc(5), 0, 1.5), 'InvalidVarint');
    expectCode(() => writeVarint(Buffer.alloc(5), 0, 2 ** 31), 'InvalidVarint');
    expectCode(() => writeVarlong(Buffer.alloc(10), 0, 1n << 63n), 'InvalidVarint');
    expectCode(() => writeUnsignedVarlong(Buffer.alloc(10), 0, -1n), 'InvalidVarint');
    expectCode(() => writeUnsignedVarint(Buffer.alloc(1), 0, 128), 'Truncated');
    expectCode(() => writeUnsignedVarlong(Buffer.alloc(9), 0, 1n << 63n), 'Truncated');
    expectCode(() => writeVarlongNumber(Buffer.alloc(5), 1, 2 ** 40), 'Truncated');
    const buf = Buffer.alloc(3, 0xaa);
    expectCode(() => writeUnsignedVarint(buf, 2, 300), 'Truncated');
    expect([...buf]).toEqual([0xaa, 0xaa, 0xaa]); // nothing written on failure
  });
});
