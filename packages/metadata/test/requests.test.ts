/**
 * Request ids: a command proposed with an id is applied once; an entry that repeats the id (a
 * proposal retried after its answer was lost, though it had committed) is answered with the first
 * outcome and changes nothing. The memory is bounded, deterministic and part of the snapshot.
 * test/fixtures/requests.json holds committed bytes of the request envelope at every format version
 * (`UPDATE_FIXTURES=1 pnpm exec jest test/requests.test.ts` appends a new version's).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  METADATA_LIMITS,
  MetadataStateMachine,
  REQUEST_FORMAT_VERSION,
  decodeCommand,
  decodeEntry,
  encodeCommand,
  isMetadataError,
} from '@chronik/metadata';
import type { ApplyResult, MetadataCommand } from '@chronik/metadata';
import { pack, unpack } from 'msgpackr';
import { Node, broker, stateOf } from './helpers.js';

const FIXTURES = path.join(__dirname, 'fixtures', 'requests.json');

interface Fixture {
  readonly version: number;
  readonly requestId: string;
  readonly hex: string;
  readonly decoded: MetadataCommand;
}

const topicId = '5a000000-0000-4000-8000-00000000002a';
const SAMPLE: MetadataCommand = {
  type: 'createTopic',
  name: 'orders.v1',
  topicId,
  assignments: [[1], [1]],
  configs: [{ name: 'retention.ms', value: '86400000' }],
  internal: false,
};
const SAMPLE_ID = '2-5f3a9c0d1e2b4a68-17';
const OTHER_ID = '5a000000-0000-4000-8000-00000000002b';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

function loadFixtures(): Fixture[] {
  return fs.existsSync(FIXTURES) ? (JSON.parse(fs.readFileSync(FIXTURES, 'utf8')) as Fixture[]) : [];
}

if (process.env['UPDATE_FIXTURES'] === '1') {
  const fixtures = loadFixtures();
  if (!fixtures.some((f) => f.version === REQUEST_FORMAT_VERSION)) {
    fixtures.push({
      version: REQUEST_FORMAT_VERSION,
      requestId: SAMPLE_ID,
      hex: hex(encodeCommand(SAMPLE, { requestId: SAMPLE_ID })),
      decoded: SAMPLE,
    });
    fs.writeFileSync(FIXTURES, `${JSON.stringify(fixtures, null, 2)}\n`);
  }
}

/** A state machine with broker 1 registered and the cluster initialized. */
function cluster(): Node {
  const n = new Node();
  n.ok({ type: 'initCluster', clusterId: 'c' });
  n.ok(broker(1));
  return n;
}

/** Applies `command` at the next index with request id `id`. */
function applyAs(n: Node, id: string, command: MetadataCommand): ApplyResult {
  n.index += 1;
  return n.sm.applyCommand(n.index, command, { requestId: id });
}

describe('request envelope encoding', () => {
  test('committed bytes of every envelope version still decode, with their request id', () => {
    const fixtures = loadFixtures();
    for (let v = 1; v <= REQUEST_FORMAT_VERSION; v++)
      expect(fixtures.some((f) => f.version === v)).toBe(true);
    for (const f of fixtures) {
      expect(decodeEntry(fromHex(f.hex))).toEqual({ command: f.decoded, requestId: f.requestId });
      expect(decodeCommand(fromHex(f.hex))).toEqual(f.decoded);
      if (f.version === REQUEST_FORMAT_VERSION)
        expect(hex(encodeCommand(f.decoded, { requestId: f.requestId }))).toBe(f.hex);
    }
  });

  test('a command without an id encodes as before the envelope and decodes with no id', () => {
    const bare = encodeCommand(SAMPLE);
    expect(hex(encodeCommand(SAMPLE, {}))).toBe(hex(bare));
    expect(decodeEntry(bare)).toEqual({ command: SAMPLE, requestId: null });
    expect((unpack(Buffer.from(bare)) as { t: string }).t).toBe('createTopic');
  });

  test('a newer envelope version is UNSUPPORTED_VERSION; a bad id or a nested envelope is INVALID_REQUEST', () => {
    const inner = unpack(Buffer.from(encodeCommand(SAMPLE))) as unknown;
    const newer = pack({ t: 'request', v: REQUEST_FORMAT_VERSION + 1, id: 'x', c: inner });
    expect(() => decodeEntry(newer)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_VERSION' }));
    const bad = [
      pack({ t: 'request', v: 1, id: '', c: inner }),
      pack({ t: 'request', v: 1, id: 'x'.repeat(METADATA_LIMITS.maxRequestIdLength + 1), c: inner }),
      pack({ t: 'request', v: 1, id: 7, c: inner }),
      pack({ t: 'request', v: 1, id: 'x' }),
      pack({ t: 'request', v: 1, id: 'x', c: { t: 'request', v: 1, id: 'y', c: inner } }),
    ];
    for (const b of bad) {
      let error: unknown;
      try {
        decodeEntry(b);
      } catch (e) {
        error = e;
      }
      expect(isMetadataError(error, 'INVALID_REQUEST')).toBe(true);
    }
    expect(() => encodeCommand(SAMPLE, { requestId: '' })).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST' }),
    );
  });
});

describe('a command applied again with the same request id', () => {
  test('is answered with the first outcome and changes nothing: a retried createTopic is not TOPIC_ALREADY_EXISTS', () => {
    const n = cluster();
    const create: MetadataCommand = { ...SAMPLE, configs: [] };
    const first = applyAs(n, 'n2-a-1', create);
    expect(first).toMatchObject({ ok: true });
    expect(first.retryOf).toBeUndefined();
    const before = stateOf(n.sm);
    const events: unknown[] = [];
    n.sm.subscribe(n.sm.appliedIndex, (ev) => events.push(ev));

    const retry = applyAs(n, 'n2-a-1', create);
    expect(retry).toMatchObject({ ok: true, index: n.index, retryOf: first.index, changes: [] });
    expect(stateOf(n.sm)).toEqual(before);
    expect(n.sm.appliedIndex).toBe(n.index);
    expect(events).toEqual([]);
    // Without the id (or with another) it is a new request, rejected as before.
    expect(n.apply(create)).toMatchObject({ ok: false, error: { code: 'TOPIC_ALREADY_EXISTS' } });
    expect(applyAs(n, 'n2-a-2', create)).toMatchObject({
      ok: false,
      error: { code: 'TOPIC_ALREADY_EXISTS' },
    });
  });

  test('a rejected request is answered with the same rejection, even once the state would accept it', () => {
    const n = cluster();
    const create: MetadataCommand = { ...SAMPLE, assignments: [[9]], configs: [] };
    const first = applyAs(n, 'r-1', create);
    expect(first).toMatchObject({ ok: false, error: { code: 'INVALID_REPLICA_ASSIGNMENT' } });
    n.ok(broker(9));
    const retry = applyAs(n, 'r-1', create);
    expect(retry.ok).toBe(false);
    if (retry.ok) return;
    expect(retry.retryOf).toBe(first.index);
    expect(retry.error).toMatchObject({
      name: 'MetadataError',
      code: 'INVALID_REPLICA_ASSIGNMENT',
      errorCode: 39,
      message: first.ok ? '' : first.error.message,
    });
    expect(n.sm.topic('orders.v1')).toBeUndefined();
    expect(applyAs(n, 'r-2', create).ok).toBe(true);
  });

  test('a retried allocateProducerIds gets the first block and allocates nothing more', () => {
    const n = cluster();
    const alloc: MetadataCommand = { type: 'allocateProducerIds', brokerId: 1, brokerEpoch: -1, count: 1000 };
    n.ok(alloc);
    const first = applyAs(n, 'p-1', alloc);
    const retry = applyAs(n, 'p-1', alloc);
    expect(first.ok && retry.ok).toBe(true);
    if (!first.ok || !retry.ok) return;
    expect(retry.changes).toEqual(first.changes);
    expect(retry.changes).toEqual([
      {
        type: 'producerIdsAllocated',
        index: first.index,
        block: { brokerId: 1, firstProducerId: 1000, count: 1000 },
      },
    ]);
    expect(n.sm.nextProducerId()).toBe(2000);
  });

  test('commands without an id apply every time, as before', () => {
    const n = cluster();
    const alloc: MetadataCommand = { type: 'allocateProducerIds', brokerId: 1, brokerEpoch: -1, count: 10 };
    n.ok(alloc);
    n.ok(alloc);
    expect(n.sm.nextProducerId()).toBe(20);
  });

  test(`the memory keeps the last ${METADATA_LIMITS.maxRememberedRequests} ids, oldest forgotten first`, () => {
    const n = cluster();
    const alloc: MetadataCommand = { type: 'allocateProducerIds', brokerId: 1, brokerEpoch: -1, count: 1 };
    const max = METADATA_LIMITS.maxRememberedRequests;
    for (let i = 0; i <= max; i++) applyAs(n, `m-${i}`, alloc);
    expect(n.sm.nextProducerId()).toBe(max + 1);
    // m-0 was forgotten: applied again; m-1 is still known.
    expect(applyAs(n, 'm-1', alloc).retryOf).toBeDefined();
    expect(applyAs(n, 'm-0', alloc).retryOf).toBeUndefined();
    expect(n.sm.nextProducerId()).toBe(max + 2);
    const snap = unpack(Buffer.from(n.sm.snapshot())) as { requests: { id: string }[] };
    expect(snap.requests).toHaveLength(max);
    expect(snap.requests[0]?.id).toBe('m-2');
    expect(snap.requests.at(-1)?.id).toBe('m-0');
  });
});

describe('the request memory in the snapshot', () => {
  test('a restored state machine answers a retry with the first outcome; snapshots stay byte-identical', () => {
    const n = cluster();
    const create: MetadataCommand = { ...SAMPLE, configs: [] };
    const first = applyAs(n, 'n2-s-1', create);
    applyAs(n, 'n2-s-2', { ...create, name: 'x', topicId: OTHER_ID, assignments: [[7]] }); // rejected: broker 7 unknown
    const bytes = n.sm.snapshot();
    expect((unpack(Buffer.from(bytes)) as { format: number }).format).toBe(2);
    const restored = MetadataStateMachine.fromSnapshot(bytes);
    expect(hex(restored.snapshot())).toBe(hex(bytes));

    const next = n.index + 1;
    const a = restored.applyCommand(next, create, { requestId: 'n2-s-1' });
    const b = n.sm.applyCommand(next, create, { requestId: 'n2-s-1' });
    expect(a).toEqual(b);
    expect(a).toMatchObject({ ok: true, retryOf: first.index });
    const c = restored.applyCommand(
      next + 1,
      { ...create, name: 'x', topicId: OTHER_ID, assignments: [[7]] },
      { requestId: 'n2-s-2' },
    );
    expect(c).toMatchObject({
      ok: false,
      error: { code: 'INVALID_REPLICA_ASSIGNMENT' },
      retryOf: first.index + 1,
    });
    expect(stateOf(restored)).toEqual(stateOf(n.sm));
  });

  test('a state that remembers no request is written as format 1, as before request ids', () => {
    const n = cluster();
    n.ok({ ...SAMPLE, configs: [] });
    const snap = unpack(Buffer.from(n.sm.snapshot())) as Record<string, unknown>;
    expect(snap['format']).toBe(1);
    expect('requests' in snap).toBe(false);
  });

  test('a corrupt request memory is refused and the state kept', () => {
    const n = cluster();
    applyAs(n, 'k-1', { ...SAMPLE, configs: [] });
    const good = unpack(Buffer.from(n.sm.snapshot())) as Record<string, unknown> & {
      requests: Record<string, unknown>[];
    };
    const before = stateOf(n.sm);
    const bad = [
      { ...good, requests: [{ ...good.requests[0], code: 'NO_SUCH_ERROR', message: 'x' }] },
      { ...good, requests: [good.requests[0], good.requests[0]] },
      { ...good, requests: [{ ...good.requests[0], producerIds: [1, 2] }] },
      { ...good, requests: [{ ...good.requests[0], index: Number(good['appliedIndex']) + 1 }] },
      { ...good, format: 2, requests: undefined },
    ];
    for (const s of bad) {
      expect(() => n.sm.restore(pack(s))).toThrow(expect.objectContaining({ code: 'UNKNOWN_SERVER_ERROR' }));
    }
    expect(stateOf(n.sm)).toEqual(before);
  });
});
