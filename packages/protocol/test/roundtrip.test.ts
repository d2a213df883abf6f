// Generated round trip: for every message the schemas define (requests, responses, headers, data) and
// every valid version, random valid values (built from the schema at test time, independently of the
// generator) encode, decode to the same value, and re-encode to the same bytes.
// CHRONIK_FC_RUNS raises the number of runs per version (default 3 keeps the run fast).

import fc from 'fast-check';
import * as P from '../src/index.js';
import { Reader, Writer } from '../src/index.js';
import { loadMessages, messageArb, versionsOf } from './support/schemas.js';

const RUNS = Number(process.env['CHRONIK_FC_RUNS'] ?? 3);
const api = P as unknown as Record<string, unknown>;
type Encode = (m: unknown, v: number, w: Writer) => void;
type Decode = (r: Reader, v: number) => unknown;

const messages = loadMessages();

describe.each(messages.map((m) => [m.name, m] as const))('%s', (name, msg) => {
  const encode = api[`encode${name}`] as Encode;
  const decode = api[`decode${name}`] as Decode;

  it('has a generated encoder and decoder', () => {
    expect(typeof encode).toBe('function');
    expect(typeof decode).toBe('function');
  });

  it.each(versionsOf(msg))('round-trips version %i', (version) => {
    fc.assert(
      fc.property(messageArb(msg, version), (value) => {
        const w = new Writer(16);
        encode(value, version, w);
        const bytes = w.toBuffer();
        expect(w.length).toBe(bytes.length);
        const r = new Reader(bytes);
        const back = decode(r, version);
        expect(r.remaining()).toBe(0);
        expect(back).toEqual(value);
        const w2 = new Writer();
        encode(back, version, w2);
        expect(w2.toBuffer().equals(bytes)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});
