// Fuzz: valid request frames (random messages of every API and version, plus the frames captured from
// real clients in test/fixtures) are mutated and fed to the frame decoder and the request decoder.
// Only ProtocolError may come out. CHRONIK_FUZZ_RUNS raises the number of runs (default 300).

import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import {
  FrameDecoder,
  ProtocolError,
  Reader,
  Writer,
  apiInfo,
  decodeRequestFrame,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  frameChunks,
  peekRequestIds,
  writeRequestHeader,
} from '../src/index.js';
import type { KnownApiKey } from '../src/index.js';
import { loadMessages, messageArb, versionsOf } from './support/schemas.js';

const RUNS = Number(process.env['CHRONIK_FUZZ_RUNS'] ?? 300);
const messages = loadMessages();
const requests = messages.filter((m) => m.type === 'request');
const responses = messages.filter((m) => m.type === 'response');

const fixtureFrames: Buffer[] = [];
const fixtureDir = path.join(__dirname, 'fixtures');
if (fs.existsSync(fixtureDir)) {
  for (const f of fs.readdirSync(fixtureDir).filter((x) => x.endsWith('.json'))) {
    const j = JSON.parse(fs.readFileSync(path.join(fixtureDir, f), 'utf8')) as { frames?: { hex: string }[] };
    for (const fr of j.frames ?? []) fixtureFrames.push(Buffer.from(fr.hex, 'hex'));
  }
}

/** A valid request frame payload (header + body) of a random API and version. */
const generatedFrame = fc
  .constantFrom(...requests.flatMap((m) => versionsOf(m).map((v) => [m, v] as const)))
  .chain(([m, v]) =>
    messageArb(m, v, { maxArray: 2, maxDepth: 3 }).map((body) => ({
      key: m.apiKey! as KnownApiKey,
      v,
      body,
    })),
  )
  .map(({ key, v, body }) => {
    const w = new Writer();
    writeRequestHeader({ requestApiKey: key, requestApiVersion: v, correlationId: 7, clientId: 'fuzz' }, w);
    encodeRequest(key, v, body as never, w);
    return w.toBuffer();
  });

const source =
  fixtureFrames.length > 0 ? fc.oneof(generatedFrame, fc.constantFrom(...fixtureFrames)) : generatedFrame;

/** A valid response body of a random API and version, with the key and version it belongs to. */
const generatedResponse = fc
  .constantFrom(...responses.flatMap((m) => versionsOf(m).map((v) => [m, v] as const)))
  .chain(([m, v]) =>
    messageArb(m, v, { maxArray: 2, maxDepth: 3 }).map((body) => ({
      key: m.apiKey! as KnownApiKey,
      v,
      body,
    })),
  )
  .map(({ key, v, body }) => {
    const w = new Writer();
    encodeResponse(key, v, body as never, w);
    return { key, v, bytes: w.toBuffer() };
  });

type Mutation =
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; n: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('set' as const),
    at: fc.nat(),
    value: fc.oneof(fc.constantFrom(0, 0x7f, 0x80, 0xff), fc.integer({ min: 0, max: 255 })),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 6 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 4 }) }),
);

function mutate(buf: Buffer, ms: Mutation[]): Buffer {
  let b = Buffer.from(buf);
  for (const m of ms) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    if (m.kind === 'set' && b.length > 0) b[at] = m.value;
    else if (m.kind === 'truncate') b = b.subarray(0, at);
    else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
    else if (m.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.n)]);
  }
  return b;
}

function onlyTyped(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw new Error(`untyped error: ${String(e)}`, { cause: e });
  }
}

describe('fuzz: mutated frames', () => {
  it('only ever produce ProtocolError from the request decoder', () => {
    fc.assert(
      fc.property(source, fc.array(mutation, { minLength: 1, maxLength: 4 }), (payload, ms) => {
        const bad = mutate(payload, ms);
        onlyTyped(() => peekRequestIds(bad));
        onlyTyped(() => decodeRequestFrame(bad));
      }),
      { numRuns: RUNS },
    );
  });

  it('only ever produce ProtocolError from the frame decoder and the response decoders', () => {
    fc.assert(
      fc.property(
        source,
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 64 }),
        (payload, ms, chunk) => {
          // Mutate the framed bytes, so that the length prefix is attacked as well.
          const bytes = mutate(Buffer.concat(frameChunks([payload])), ms);
          const d = new FrameDecoder({ maxFrameBytes: 1 << 16 });
          onlyTyped(() => {
            for (let off = 0; off < bytes.length; off += chunk) {
              for (const f of d.push(bytes.subarray(off, off + chunk)))
                onlyTyped(() => decodeRequestFrame(f));
            }
          });
          // The same bytes read as a response body of the API the frame claims.
          const key = payload.length >= 2 ? payload.readInt16BE(0) : 0;
          const info = apiInfo(key);
          if (info)
            for (let v = info.minVersion; v <= info.maxVersion; v++)
              onlyTyped(() => decodeResponse(key, v, new Reader(bytes)));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('only ever produce ProtocolError from the response decoders on mutated responses', () => {
    fc.assert(
      fc.property(
        generatedResponse,
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        ({ key, v, bytes }, ms) => {
          onlyTyped(() => decodeResponse(key, v, new Reader(mutate(bytes, ms))));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('decodes every unmutated generated frame', () => {
    fc.assert(
      fc.property(generatedFrame, (payload) => {
        decodeRequestFrame(payload);
      }),
      { numRuns: 50 },
    );
  });
});
