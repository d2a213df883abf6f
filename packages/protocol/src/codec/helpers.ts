// Shared helpers called by the generated code (src/generated/), kept here so that the generated
// files stay small: element readers/writers for arrays of primitives, version checks, the
// non-ignorable-field error and a structural equality used for struct defaults.

import { ProtocolError } from '../errors/protocol-error.js';
import type { Reader, TaggedField } from './reader.js';
import type { Writer } from './writer.js';

export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
export const EMPTY_BYTES: Buffer = Buffer.alloc(0);

export const rdInt8 = (r: Reader): number => r.int8();
export const rdInt16 = (r: Reader): number => r.int16();
export const rdUint16 = (r: Reader): number => r.uint16();
export const rdInt32 = (r: Reader): number => r.int32();
export const rdUint32 = (r: Reader): number => r.uint32();
export const rdInt64 = (r: Reader): bigint => r.int64();
export const rdFloat64 = (r: Reader): number => r.float64();
export const rdBool = (r: Reader): boolean => r.bool();
export const rdUuid = (r: Reader): string => r.uuid();
export const rdString = (r: Reader): string => r.string(false);
export const rdCString = (r: Reader): string => r.string(true);
export const rdBytes = (r: Reader): Buffer => r.bytes(false);
export const rdCBytes = (r: Reader): Buffer => r.bytes(true);

export const wrInt8 = (w: Writer, x: number): void => w.int8(x);
export const wrInt16 = (w: Writer, x: number): void => w.int16(x);
export const wrUint16 = (w: Writer, x: number): void => w.uint16(x);
export const wrInt32 = (w: Writer, x: number): void => w.int32(x);
export const wrUint32 = (w: Writer, x: number): void => w.uint32(x);
export const wrInt64 = (w: Writer, x: bigint): void => w.int64(x);
export const wrFloat64 = (w: Writer, x: number): void => w.float64(x);
export const wrBool = (w: Writer, x: boolean): void => w.bool(x);
export const wrUuid = (w: Writer, x: string): void => w.uuid(x);
export const wrString = (w: Writer, x: string): void => w.string(x, false);
export const wrCString = (w: Writer, x: string): void => w.string(x, true);
export const wrBytes = (w: Writer, x: Buffer): void => w.bytes(x, false);
export const wrCBytes = (w: Writer, x: Buffer): void => w.bytes(x, true);

/** Throws UnsupportedVersion unless `lo <= version <= hi`. */
export function checkVersion(version: number, lo: number, hi: number, name: string): void {
  if (!(Number.isInteger(version) && version >= lo && version <= hi)) {
    throw new ProtocolError(
      'UnsupportedVersion',
      `${name} version ${version} is outside the valid versions ${lo}-${hi}`,
    );
  }
}

/** The error for a non-ignorable field set to a non-default value in a version without it. */
export function unsupportedField(struct: string, field: string, version: number): ProtocolError {
  return new ProtocolError(
    'UnsupportedField',
    `${struct}.${field} is set to a non-default value, but version ${version} cannot carry it and the field is not ignorable`,
  );
}

/** Non-flexible versions have no tagged-field section: unknown tagged fields cannot be written. */
export function checkNoTags(
  unknown: readonly TaggedField[] | undefined,
  struct: string,
  version: number,
): void {
  if (unknown !== undefined && unknown.length > 0) {
    throw new ProtocolError(
      'UnsupportedField',
      `${struct} has unknown tagged fields, but version ${version} is not flexible`,
    );
  }
}

/** Structural equality of decoded values (numbers, bigints, strings, Buffers, arrays, plain objects). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.compare(a, b) === 0;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  for (const k of ka)
    if (!deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  return true;
}
