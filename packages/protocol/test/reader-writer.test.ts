import { ProtocolError, Reader, Writer, ZERO_UUID } from '../src/index.js';

function code(fn: () => unknown): string {
  try {
    fn();
    return 'none';
  } catch (e) {
    return e instanceof ProtocolError ? e.code : `untyped ${String(e)}`;
  }
}

describe('Reader', () => {
  it('reports truncation with a typed error for every primitive', () => {
    const r = () => new Reader(Buffer.from([1]));
    expect(code(() => r().int16())).toBe('Truncated');
    expect(code(() => r().int32())).toBe('Truncated');
    expect(code(() => r().int64())).toBe('Truncated');
    expect(code(() => r().float64())).toBe('Truncated');
    expect(code(() => r().uuid())).toBe('Truncated');
    expect(code(() => new Reader(Buffer.from([0x81])).uvarint())).toBe('Truncated');
    expect(code(() => new Reader(Buffer.alloc(0)).bool())).toBe('Truncated');
  });

  it('rejects overlong varints as InvalidVarint', () => {
    expect(code(() => new Reader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01])).uvarint())).toBe(
      'InvalidVarint',
    );
    expect(code(() => new Reader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01])).string(true))).toBe(
      'InvalidVarint',
    );
  });

  it('checks lengths against the remaining bytes before allocating', () => {
    // An int32 array count of 2^31-1 with nothing behind it.
    expect(code(() => new Reader(Buffer.from('7fffffff', 'hex')).array(false, (r) => r.int32()))).toBe(
      'Truncated',
    );
    expect(code(() => new Reader(Buffer.from('7fff', 'hex')).string(false))).toBe('Truncated');
    expect(code(() => new Reader(Buffer.from('7fffffff', 'hex')).bytes(false))).toBe('Truncated');
    expect(code(() => new Reader(Buffer.from('fffffffe', 'hex')).nbytes(false))).toBe('InvalidValue');
    expect(code(() => new Reader(Buffer.from('fffe', 'hex')).nstring(false))).toBe('InvalidValue');
    // 2^32-1 tagged fields announced.
    expect(code(() => new Reader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])).tags(null))).toBe('Truncated');
  });

  it('returns byte fields as views into the input', () => {
    const buf = Buffer.from('00000003616263', 'hex');
    const b = new Reader(buf).bytes(false);
    expect(b.toString()).toBe('abc');
    expect(b.buffer).toBe(buf.buffer);
  });

  it('formats UUIDs canonically', () => {
    expect(new Reader(Buffer.alloc(16)).uuid()).toBe(ZERO_UUID);
    const w = new Writer();
    w.uuid('0F5E2D8C-1B3A-4C5D-8E7F-9A0B1C2D3E4F');
    expect(new Reader(w.toBuffer()).uuid()).toBe('0f5e2d8c-1b3a-4c5d-8e7f-9a0b1c2d3e4f');
  });
});

describe('Writer', () => {
  it('grows without losing bytes and keeps large byte fields by reference', () => {
    const w = new Writer(4);
    for (let i = 0; i < 1000; i++) w.int32(i);
    const big = Buffer.alloc(4096, 7);
    w.bytes(big, false);
    w.int8(-1);
    const chunks = w.chunks();
    expect(chunks).toContain(big);
    const all = w.toBuffer();
    expect(all.length).toBe(w.length);
    expect(all.length).toBe(4000 + 4 + 4096 + 1);
    const r = new Reader(all);
    for (let i = 0; i < 1000; i++) expect(r.int32()).toBe(i);
    expect(r.bytes(false).equals(big)).toBe(true);
    expect(r.int8()).toBe(-1);
  });

  it('rejects out-of-range and mistyped values with InvalidValue', () => {
    const w = new Writer();
    expect(code(() => w.int8(128))).toBe('InvalidValue');
    expect(code(() => w.int16(-32769))).toBe('InvalidValue');
    expect(code(() => w.uint16(-1))).toBe('InvalidValue');
    expect(code(() => w.int32(1.5))).toBe('InvalidValue');
    expect(code(() => w.uint32(2 ** 32))).toBe('InvalidValue');
    expect(code(() => w.int64(2n ** 63n))).toBe('InvalidValue');
    expect(code(() => w.int64(1 as unknown as bigint))).toBe('InvalidValue');
    expect(code(() => w.bool(1 as unknown as boolean))).toBe('InvalidValue');
    expect(code(() => w.string('x'.repeat(40000), false))).toBe('InvalidValue');
    expect(code(() => w.string(null as unknown as string, true))).toBe('InvalidValue');
    expect(code(() => w.uuid('nope'))).toBe('InvalidValue');
    expect(code(() => w.array(undefined as unknown as number[], false, (x, n) => x.int32(n)))).toBe(
      'InvalidValue',
    );
    expect(w.length).toBe(0);
  });

  it('writes compact and classic lengths', () => {
    const w = new Writer();
    w.nstring(null, true);
    w.nstring(null, false);
    w.string('é', true);
    w.nbytes(null, false);
    w.narray([1], true, (x, n) => x.int8(n));
    expect(w.toBuffer().toString('hex')).toBe('00' + 'ffff' + '03c3a9' + 'ffffffff' + '02' + '01');
  });
});
