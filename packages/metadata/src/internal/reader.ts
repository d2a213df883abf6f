import { MetadataError } from '../errors.js';
import type { MetadataErrorCode } from '../errors.js';

/**
 * Reads typed fields out of a decoded msgpack value and throws a MetadataError (INVALID_REQUEST
 * by default) naming the field when the shape is wrong. Decoding never trusts the bytes.
 */
export class Reader {
  constructor(
    private readonly value: Record<string, unknown>,
    private readonly what: string,
    private readonly errorCode: MetadataErrorCode = 'INVALID_REQUEST',
  ) {}

  static of(value: unknown, what: string, errorCode: MetadataErrorCode = 'INVALID_REQUEST'): Reader {
    if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) {
      throw new MetadataError(errorCode, `${what}: expected a map`);
    }
    return new Reader(value as Record<string, unknown>, what, errorCode);
  }

  fail(key: string, problem: string): never {
    throw new MetadataError(this.errorCode, `${this.what}.${key}: ${problem}`);
  }

  has(key: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.value, key);
  }

  raw(key: string): unknown {
    if (!Object.prototype.hasOwnProperty.call(this.value, key)) this.fail(key, 'missing');
    return this.value[key];
  }

  int(key: string, min: number, max: number): number {
    return checkInt(this.raw(key), min, max, (p) => this.fail(key, p));
  }

  bool(key: string): boolean {
    const v = this.raw(key);
    if (typeof v !== 'boolean') this.fail(key, 'expected a boolean');
    return v;
  }

  str(key: string, maxLength: number): string {
    const v = this.raw(key);
    if (typeof v !== 'string') this.fail(key, 'expected a string');
    if (v.length > maxLength) this.fail(key, `longer than ${maxLength} characters`);
    return v;
  }

  nullableStr(key: string, maxLength: number): string | null {
    const v = this.raw(key);
    if (v === null) return null;
    return this.str(key, maxLength);
  }

  nullableInt(key: string, min: number, max: number): number | null {
    const v = this.raw(key);
    if (v === null) return null;
    return this.int(key, min, max);
  }

  array(key: string, maxLength: number): unknown[] {
    const v = this.raw(key);
    if (!Array.isArray(v)) this.fail(key, 'expected an array');
    if (v.length > maxLength) this.fail(key, `more than ${maxLength} items`);
    return v;
  }

  intArray(key: string, maxLength: number, min: number, max: number): number[] {
    return this.array(key, maxLength).map((item, i) =>
      checkInt(item, min, max, (p) => this.fail(`${key}[${i}]`, p)),
    );
  }

  intMatrix(key: string, maxOuter: number, maxInner: number, min: number, max: number): number[][] {
    return this.array(key, maxOuter).map((row, i) => {
      if (!Array.isArray(row)) this.fail(`${key}[${i}]`, 'expected an array');
      if (row.length > maxInner) this.fail(`${key}[${i}]`, `more than ${maxInner} items`);
      return row.map((item: unknown, j: number) =>
        checkInt(item, min, max, (p) => this.fail(`${key}[${i}][${j}]`, p)),
      );
    });
  }

  objects(key: string, maxLength: number): Reader[] {
    return this.array(key, maxLength).map((item, i) =>
      Reader.of(item, `${this.what}.${key}[${i}]`, this.errorCode),
    );
  }
}

function checkInt(v: unknown, min: number, max: number, fail: (problem: string) => never): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) return fail('expected an integer');
  if (v < min || v > max) return fail(`out of range [${min}, ${max}]`);
  return v;
}

/**
 * A copy of a plain value with every map's keys sorted, so that msgpackr (whose records follow
 * key order) produces the same bytes for equal values, whatever order they were built in.
 * Only plain objects, arrays, strings, numbers, booleans and null are allowed.
 */
export function canonicalize(value: unknown): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      throw new MetadataError('UNKNOWN_SERVER_ERROR', 'cannot encode a non-finite number');
    return value;
  }
  if (Array.isArray(value)) return value.map(canonicalize);
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v === undefined) continue;
      out[key] = canonicalize(v);
    }
    return out;
  }
  throw new MetadataError('UNKNOWN_SERVER_ERROR', `cannot encode a value of type ${typeof value}`);
}
