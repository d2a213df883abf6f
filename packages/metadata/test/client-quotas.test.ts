// Client quotas in the metadata (alterClientQuotas, KIP-546): entities of a user, a client id or
// both (null names: the defaults), known keys, validation applied whole or not at all, and the
// snapshot format that holds them (5) — a state without quotas is written exactly as before.
import { MetadataStateMachine, SNAPSHOT_FORMAT_VERSION, quotaEntityKey } from '@chronik/metadata';
import type { AlterClientQuotasCommand } from '@chronik/metadata';
import { unpack } from 'msgpackr';
import { Node, broker } from './helpers.js';

type Entry = AlterClientQuotasCommand['entries'][number];

function alter(...entries: Entry[]): AlterClientQuotasCommand {
  return { type: 'alterClientQuotas', entries };
}

const ALICE_APP: Entry = {
  entity: [
    { type: 'user', name: 'alice' },
    { type: 'client-id', name: 'app' },
  ],
  ops: [
    { key: 'producer_byte_rate', value: 1_048_576 },
    { key: 'consumer_byte_rate', value: 2_097_152 },
  ],
};
const DEFAULT_CLIENT: Entry = {
  entity: [{ type: 'client-id', name: null }],
  ops: [{ key: 'request_percentage', value: 25.5 }],
};

function formatOf(sm: MetadataStateMachine): number {
  return (unpack(sm.snapshot()) as { format: number }).format;
}

test('set, read back (parts sorted, in any order), change, remove a key, remove an entity', () => {
  const n = new Node();
  n.ok(broker(1));
  const v0 = n.sm.clientQuotaVersion;
  n.ok(alter(ALICE_APP, DEFAULT_CLIENT));
  expect(n.sm.clientQuotaVersion).toBeGreaterThan(v0);
  expect(n.sm.clientQuotas()).toEqual([
    {
      entity: [
        { type: 'client-id', name: 'app' },
        { type: 'user', name: 'alice' },
      ],
      values: { producer_byte_rate: 1_048_576, consumer_byte_rate: 2_097_152 },
    },
    { entity: [{ type: 'client-id', name: null }], values: { request_percentage: 25.5 } },
  ]);
  expect(
    n.sm.clientQuota([
      { type: 'client-id', name: 'app' },
      { type: 'user', name: 'alice' },
    ]),
  ).toEqual({
    producer_byte_rate: 1_048_576,
    consumer_byte_rate: 2_097_152,
  });
  n.ok(alter({ entity: ALICE_APP.entity, ops: [{ key: 'producer_byte_rate', value: null }] }));
  expect(n.sm.clientQuota(ALICE_APP.entity)).toEqual({ consumer_byte_rate: 2_097_152 });
  n.ok(alter({ entity: ALICE_APP.entity, ops: [{ key: 'consumer_byte_rate', value: null }] }));
  expect(n.sm.clientQuota(ALICE_APP.entity)).toBeUndefined();
  // The default client id is not the client id "null" or "<default>".
  expect(n.sm.clientQuota([{ type: 'client-id', name: '<default>' }])).toBeUndefined();
  expect(quotaEntityKey([{ type: 'client-id', name: null }])).not.toBe(
    quotaEntityKey([{ type: 'client-id', name: 'null' }]),
  );
});

test.each<[string, Entry, RegExp]>([
  ['no parts', { entity: [], ops: [{ key: 'request_percentage', value: 1 }] }, /must name/],
  [
    'a type twice',
    {
      entity: [
        { type: 'user', name: 'a' },
        { type: 'user', name: 'b' },
      ],
      ops: [{ key: 'request_percentage', value: 1 }],
    },
    /at most once/,
  ],
  [
    'zero',
    { entity: [{ type: 'user', name: 'a' }], ops: [{ key: 'producer_byte_rate', value: 0 }] },
    /above 0/,
  ],
  [
    'a fraction of a byte rate',
    { entity: [{ type: 'user', name: 'a' }], ops: [{ key: 'consumer_byte_rate', value: 10.5 }] },
    /whole number/,
  ],
  [
    'a key twice',
    {
      entity: [{ type: 'user', name: 'a' }],
      ops: [
        { key: 'producer_byte_rate', value: 1 },
        { key: 'producer_byte_rate', value: 2 },
      ],
    },
    /twice/,
  ],
  [
    'an ip with a user',
    {
      entity: [
        { type: 'ip', name: '10.0.0.1' },
        { type: 'user', name: 'a' },
      ],
      ops: [{ key: 'connection_creation_rate', value: 1 }],
    },
    /cannot be combined/,
  ],
  [
    'a byte rate for an ip',
    { entity: [{ type: 'ip', name: '10.0.0.1' }], ops: [{ key: 'producer_byte_rate', value: 1 }] },
    /cannot be set for an ip entity/,
  ],
  [
    'a connection rate for a client id',
    { entity: [{ type: 'client-id', name: 'c' }], ops: [{ key: 'connection_creation_rate', value: 1 }] },
    /only be set for an ip entity/,
  ],
  [
    'a fraction of a connection rate',
    { entity: [{ type: 'ip', name: null }], ops: [{ key: 'connection_creation_rate', value: 1.5 }] },
    /whole number/,
  ],
])('%s is INVALID_REQUEST and nothing of the command is applied', (_what, bad, message) => {
  const n = new Node();
  const r = n.apply(alter(DEFAULT_CLIENT, bad));
  expect(r.ok).toBe(false);
  if (!r.ok) {
    expect(r.error.code).toBe('INVALID_REQUEST');
    expect(r.error.message).toMatch(message);
  }
  expect(n.sm.clientQuotas()).toEqual([]);
});

test('format 5 holds the quotas while there are any; restore reads them and bumps the version', () => {
  const n = new Node();
  n.ok(broker(1));
  expect(formatOf(n.sm)).toBe(1);
  n.ok(alter(ALICE_APP, DEFAULT_CLIENT));
  expect(formatOf(n.sm)).toBe(5);
  expect(SNAPSHOT_FORMAT_VERSION).toBeGreaterThanOrEqual(5);
  const restored = MetadataStateMachine.fromSnapshot(n.sm.snapshot());
  expect(restored.clientQuotas()).toEqual(n.sm.clientQuotas());
  expect(restored.clientQuotaVersion).toBeGreaterThan(0);
  expect(Buffer.from(restored.snapshot())).toEqual(Buffer.from(n.sm.snapshot()));
  n.ok(alter({ entity: DEFAULT_CLIENT.entity, ops: [{ key: 'request_percentage', value: null }] }));
  n.ok(alter({ entity: ALICE_APP.entity, ops: ALICE_APP.ops.map((o) => ({ key: o.key, value: null })) }));
  expect(formatOf(n.sm)).toBe(1);
});

test('ip entities (connection_creation_rate, KIP-612) and controller_mutation_rate (KIP-599) are kept, and in a snapshot', () => {
  const n = new Node();
  n.ok(
    alter(
      { entity: [{ type: 'ip', name: '10.0.0.1' }], ops: [{ key: 'connection_creation_rate', value: 5 }] },
      { entity: [{ type: 'ip', name: null }], ops: [{ key: 'connection_creation_rate', value: 50 }] },
      {
        entity: [{ type: 'client-id', name: 'admin' }],
        ops: [{ key: 'controller_mutation_rate', value: 2.5 }],
      },
    ),
  );
  expect(n.sm.clientQuota([{ type: 'ip', name: '10.0.0.1' }])).toEqual({ connection_creation_rate: 5 });
  expect(n.sm.clientQuota([{ type: 'ip', name: null }])).toEqual({ connection_creation_rate: 50 });
  expect(n.sm.clientQuota([{ type: 'client-id', name: 'admin' }])).toEqual({ controller_mutation_rate: 2.5 });
  const copy = new MetadataStateMachine();
  copy.restore(n.sm.snapshot());
  expect(copy.clientQuotas()).toEqual(n.sm.clientQuotas());
});
