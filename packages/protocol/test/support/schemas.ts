// Test-side reading of Apache Kafka's message schemas, written independently of the generator so that
// the round-trip tests cross-check it: version ranges, defaults and fast-check arbitraries for every
// struct at every version.

import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import type { Arbitrary } from 'fast-check';

export const PACKAGE_DIR = path.resolve(__dirname, '..', '..');
/** Apache Kafka's message schemas, vendored in the package (schemas/PROVENANCE.md). */
export const SCHEMA_DIR = path.join(PACKAGE_DIR, 'schemas');

export interface Range {
  lo: number;
  hi: number;
}

export interface FieldSpec {
  name: string;
  type: string;
  versions?: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  default?: string | number | boolean;
  ignorable?: boolean;
  flexibleVersions?: string;
  fields?: FieldSpec[];
}

export interface MessageSpec {
  name: string;
  type: 'request' | 'response' | 'header' | 'data';
  apiKey?: number;
  validVersions: string;
  flexibleVersions: string;
  fields: FieldSpec[];
  commonStructs?: { name: string; versions: string; fields: FieldSpec[] }[];
}

export function stripComments(text: string): string {
  return text.replace(/("(?:\\.|[^"\\])*")|\/\/[^\n]*/g, (m, str: string | undefined) => str ?? '');
}

export function range(spec: string | undefined): Range | null {
  if (spec === undefined || spec === 'none') return null;
  const plus = /^(\d+)\+$/.exec(spec);
  if (plus) return { lo: Number(plus[1]), hi: Infinity };
  const dash = /^(\d+)-(\d+)$/.exec(spec);
  if (dash) return { lo: Number(dash[1]), hi: Number(dash[2]) };
  return { lo: Number(spec), hi: Number(spec) };
}

export function inRange(r: Range | null, v: number): boolean {
  return r !== null && v >= r.lo && v <= r.hi;
}

export function loadMessages(dir = SCHEMA_DIR): MessageSpec[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(stripComments(fs.readFileSync(path.join(dir, f), 'utf8'))) as MessageSpec)
    .filter((m) => ['request', 'response', 'header', 'data'].includes(m.type));
}

export function camel(name: string): string {
  return name[0]!.toLowerCase() + name.slice(1);
}

const PRIMS = new Set([
  'bool',
  'int8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'float64',
  'string',
  'uuid',
  'bytes',
  'records',
]);

/** Resolves a field's sub-fields (inline or from commonStructs). */
export function subFields(msg: MessageSpec, f: FieldSpec): FieldSpec[] | null {
  const elem = f.type.replace(/^\[\]/, '');
  if (PRIMS.has(elem)) return null;
  if (f.fields) return f.fields;
  const c = msg.commonStructs?.find((s) => s.name === elem);
  if (!c) throw new Error(`${msg.name}: no struct ${elem}`);
  return c.fields;
}

function intDefault(d: string | number | boolean): bigint {
  const s = String(d).trim();
  const neg = s.startsWith('-');
  const b = neg ? s.slice(1) : s;
  const n = /^0x/i.test(b) ? BigInt(b) : BigInt(b);
  return neg ? -n : n;
}

/** The value a decoder must produce for a field absent from a version. */
export function defaultValue(msg: MessageSpec, f: FieldSpec): unknown {
  const d = f.default;
  const sub = subFields(msg, f);
  if (f.type.startsWith('[]')) return d === 'null' ? null : [];
  if (sub) return d === 'null' ? null : defaultStruct(msg, sub);
  if (d === 'null') return null;
  switch (f.type) {
    case 'bool':
      return d === true || d === 'true';
    case 'int64':
      return d === undefined ? 0n : intDefault(d);
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'uint32':
      return d === undefined ? 0 : Number(intDefault(d));
    case 'float64':
      return d === undefined ? 0 : Number(d);
    case 'string':
      return d === undefined ? '' : String(d);
    case 'uuid':
      return '00000000-0000-0000-0000-000000000000';
    case 'bytes':
      return Buffer.alloc(0);
    case 'records':
      return null;
    default:
      throw new Error(`no default for ${f.type}`);
  }
}

export function defaultStruct(msg: MessageSpec, fields: FieldSpec[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const f of fields) o[camel(f.name)] = defaultValue(msg, f);
  return o;
}

function primArb(type: string): Arbitrary<unknown> {
  switch (type) {
    case 'bool':
      return fc.boolean();
    case 'int8':
      return fc.integer({ min: -128, max: 127 });
    case 'int16':
      return fc.integer({ min: -32768, max: 32767 });
    case 'uint16':
      return fc.integer({ min: 0, max: 65535 });
    case 'int32':
      return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    case 'uint32':
      return fc.integer({ min: 0, max: 2 ** 32 - 1 });
    case 'int64':
      return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    case 'float64':
      return fc.double();
    case 'string':
      return fc.string({ maxLength: 6, unit: fc.constantFrom('a', 'é', '€', '𝄞', 'z', '-') });
    case 'uuid':
      return fc.uuid();
    case 'bytes':
    case 'records':
      return fc.uint8Array({ maxLength: 6 }).map((a) => Buffer.from(a));
    default:
      throw new Error(`no arbitrary for ${type}`);
  }
}

/** Unknown tagged fields (tags far above the known ones), in ascending tag order as decoders return them. */
const unknownTagsArb: Arbitrary<{ tag: number; data: Buffer }[]> = fc
  .uniqueArray(fc.integer({ min: 5000, max: 6000 }), { minLength: 1, maxLength: 2 })
  .chain((tags) =>
    fc.tuple(
      ...tags
        .sort((a, b) => a - b)
        .map((tag) => fc.uint8Array({ maxLength: 4 }).map((d) => ({ tag, data: Buffer.from(d) }))),
    ),
  );

export interface ArbOptions {
  maxArray: number;
  maxDepth: number;
}

/**
 * An arbitrary of valid `fields` values at `version`: fields absent from the version hold their
 * defaults (what a decoder produces), nullable fields are sometimes null, tagged fields sometimes set,
 * and flexible structs sometimes carry unknown tagged fields.
 */
export function structArb(
  msg: MessageSpec,
  fields: FieldSpec[],
  version: number,
  opts: ArbOptions,
  depth = 0,
): Arbitrary<Record<string, unknown>> {
  const flexible = inRange(range(msg.flexibleVersions), version);
  const model: Record<string, Arbitrary<unknown>> = {};
  for (const f of fields) {
    const key = camel(f.name);
    const present = inRange(range(f.versions), version);
    const tagged = f.tag !== undefined;
    if (!present || (tagged && !flexible)) {
      model[key] = fc.constant(defaultValue(msg, f));
      continue;
    }
    let arb: Arbitrary<unknown>;
    const sub = subFields(msg, f);
    const isArray = f.type.startsWith('[]');
    const elem = f.type.replace(/^\[\]/, '');
    const elemArb = sub ? structArb(msg, sub, version, opts, depth + 1) : primArb(elem);
    if (isArray) {
      arb = depth >= opts.maxDepth ? fc.constant([]) : fc.array(elemArb, { maxLength: opts.maxArray });
    } else arb = elemArb;
    if (inRange(range(f.nullableVersions), version)) arb = fc.oneof(arb, fc.constant(null));
    if (tagged) arb = fc.oneof(fc.constant(defaultValue(msg, f)), arb);
    model[key] = arb;
  }
  let out: Arbitrary<Record<string, unknown>> = fc.record(model);
  if (flexible) {
    out = fc
      .tuple(out, fc.option(unknownTagsArb, { nil: undefined }))
      .map(([o, u]) => (u === undefined ? o : { ...o, _unknownTaggedFields: u }));
  }
  return out;
}

export function messageArb(
  msg: MessageSpec,
  version: number,
  opts: ArbOptions = { maxArray: 2, maxDepth: 4 },
): Arbitrary<Record<string, unknown>> {
  return structArb(msg, msg.fields, version, opts);
}

export function versionsOf(msg: MessageSpec): number[] {
  const r = range(msg.validVersions)!;
  const out: number[] = [];
  for (let v = r.lo; v <= r.hi; v++) out.push(v);
  return out;
}
