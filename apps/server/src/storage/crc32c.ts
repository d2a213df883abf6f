// CRC-32C (Castagnoli) helpers for the produce path, so a record batch's bytes are checksummed
// once: its Kafka CRC (over attributes..end) is validated on arrival, and the WAL record's CRC
// (over the whole batch) is derived from it with `crc32cCombine` and a CRC of the 21-byte prefix
// the leader rewrites (base offset, batch length, partition leader epoch, magic, crc).
//
// crc32cCombine follows the method of zlib's crc32_combine: CRC(A ‖ B) = CRC(A)·x^(8·|B|) mod P
// xor CRC(B), with polynomials in the reflected bit order used by the CRC itself.

/** The reflected CRC-32C polynomial. */
const POLY = 0x82f63b78;

const TABLE = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  TABLE[n] = c;
}

/** CRC-32C of `data[start..end)` computed in JavaScript (for short inputs: no native call). */
export function crc32cOf(data: Uint8Array, start = 0, end = data.length): number {
  let c = ~0;
  for (let i = start; i < end; i++) c = (TABLE[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}

/** a·b mod P (reflected polynomials). */
function multModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if ((a & m) !== 0) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/** X2N[k] = x^(2^k) mod P. */
const X2N = new Uint32Array(32);
{
  let p = 0x40000000; // x^1
  X2N[0] = p;
  for (let k = 1; k < 32; k++) X2N[k] = p = multModP(p, p);
}

/** x^(n·2^k) mod P. */
function x2nModP(n: number, k: number): number {
  let p = 0x80000000; // x^0
  while (n > 0) {
    if ((n & 1) !== 0) p = multModP(X2N[k & 31] as number, p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

/** CRC-32C of A ‖ B from CRC-32C(A), CRC-32C(B) and B's length in bytes. */
export function crc32cCombine(crcA: number, crcB: number, bytesB: number): number {
  return (multModP(x2nModP(bytesB, 3), crcA >>> 0) ^ (crcB >>> 0)) >>> 0;
}
