// What the metadata holds for security: each broker's advertised listeners (registerBroker v2) and
// SCRAM credentials (alterScramCredentials), their validation, and the snapshot format they need
// (4) — while a state without them is written exactly as before.
import { MetadataStateMachine, SNAPSHOT_FORMAT_VERSION } from '@chronik/metadata';
import type { BrokerListener, ScramCredential } from '@chronik/metadata';
import { unpack } from 'msgpackr';
import { Node, broker } from './helpers.js';

const LISTENERS: BrokerListener[] = [
  { name: 'INTERNAL', host: 'host1', port: 9093, securityProtocol: 'PLAINTEXT' },
  { name: 'EXTERNAL', host: 'kafka.example.com', port: 19093, securityProtocol: 'SASL_SSL' },
];

function credential(
  user: string,
  mechanism: ScramCredential['mechanism'] = 'SCRAM-SHA-256',
): ScramCredential {
  const keyBytes = mechanism === 'SCRAM-SHA-256' ? 32 : 64;
  return {
    user,
    mechanism,
    salt: Buffer.from(`salt-of-${user}`).toString('base64'),
    iterations: 4096,
    storedKey: Buffer.alloc(keyBytes, 7).toString('base64'),
    serverKey: Buffer.alloc(keyBytes, 9).toString('base64'),
  };
}

function formatOf(sm: MetadataStateMachine): number {
  return (unpack(sm.snapshot()) as { format: number }).format;
}

describe('broker listeners', () => {
  test('a broker registered without listeners has one PLAINTEXT listener at host:port', () => {
    const n = new Node();
    n.ok(broker(1));
    expect(n.sm.broker(1)?.listeners).toEqual([
      { name: 'PLAINTEXT', host: 'host1', port: 9093, securityProtocol: 'PLAINTEXT' },
    ]);
    expect(formatOf(n.sm)).toBe(1);
  });

  test('registered listeners are kept, snapshotted (format 4) and restored', () => {
    const n = new Node();
    n.ok({ ...broker(1), listeners: LISTENERS });
    n.ok(broker(2));
    expect(n.sm.broker(1)?.listeners).toEqual(LISTENERS);
    expect(formatOf(n.sm)).toBe(4);
    expect(SNAPSHOT_FORMAT_VERSION).toBeGreaterThanOrEqual(4);
    const restored = MetadataStateMachine.fromSnapshot(n.sm.snapshot());
    expect(restored.broker(1)?.listeners).toEqual(LISTENERS);
    expect(restored.broker(2)?.listeners).toEqual(n.sm.broker(2)?.listeners);
    expect(Buffer.from(restored.snapshot())).toEqual(Buffer.from(n.sm.snapshot()));
  });

  test('the same incarnation with other listeners is DUPLICATE_BROKER_REGISTRATION; the same again is a no-op', () => {
    const n = new Node();
    n.ok({ ...broker(1), listeners: LISTENERS });
    expect(n.ok({ ...broker(1), listeners: LISTENERS }).ok).toBe(true);
    const r = n.apply({ ...broker(1), listeners: LISTENERS.slice(0, 1) });
    expect(!r.ok && r.error.code).toBe('DUPLICATE_BROKER_REGISTRATION');
  });

  const first = LISTENERS[0] as BrokerListener;
  const cases: Array<[string, BrokerListener[]]> = [
    ['no listener', []],
    ['two listeners of one name', [first, { ...first, port: 9094 }]],
    ['an empty name', [{ ...first, name: '' }]],
    ['port 0', [{ ...first, port: 0 }]],
  ];
  test.each(cases)('%s is INVALID_REQUEST', (_what, listeners) => {
    const n = new Node();
    const r = n.apply({ ...broker(1), listeners });
    expect(!r.ok && r.error.code).toBe('INVALID_REQUEST');
    expect(n.sm.broker(1)).toBeUndefined();
  });
});

describe('SCRAM credentials', () => {
  test('upsert, describe, delete; never more than the keys, salt and iterations', () => {
    const n = new Node();
    n.ok({
      type: 'alterScramCredentials',
      deletions: [],
      upsertions: [credential('alice'), credential('bob', 'SCRAM-SHA-512')],
    });
    n.ok({
      type: 'alterScramCredentials',
      deletions: [],
      upsertions: [credential('alice', 'SCRAM-SHA-512')],
    });
    expect(n.sm.scramCredential('alice', 'SCRAM-SHA-256')).toEqual(credential('alice'));
    expect(n.sm.scramUsers()).toEqual([
      {
        user: 'alice',
        credentials: [
          { mechanism: 'SCRAM-SHA-256', iterations: 4096 },
          { mechanism: 'SCRAM-SHA-512', iterations: 4096 },
        ],
      },
      { user: 'bob', credentials: [{ mechanism: 'SCRAM-SHA-512', iterations: 4096 }] },
    ]);
    expect(formatOf(n.sm)).toBe(4);
    const restored = MetadataStateMachine.fromSnapshot(n.sm.snapshot());
    expect(restored.scramUsers()).toEqual(n.sm.scramUsers());
    expect(restored.scramCredential('bob', 'SCRAM-SHA-512')).toEqual(credential('bob', 'SCRAM-SHA-512'));
    n.ok({
      type: 'alterScramCredentials',
      deletions: [
        { user: 'alice', mechanism: 'SCRAM-SHA-256' },
        { user: 'bob', mechanism: 'SCRAM-SHA-512' },
      ],
      upsertions: [],
    });
    expect(n.sm.scramUsers()).toEqual([
      { user: 'alice', credentials: [{ mechanism: 'SCRAM-SHA-512', iterations: 4096 }] },
    ]);
  });

  test.each([
    ['an empty user', { upsertions: [credential('')] }, 'UNACCEPTABLE_CREDENTIAL'],
    [
      'too few iterations',
      { upsertions: [{ ...credential('a'), iterations: 4095 }] },
      'UNACCEPTABLE_CREDENTIAL',
    ],
    [
      'too many iterations',
      { upsertions: [{ ...credential('a'), iterations: 16385 }] },
      'UNACCEPTABLE_CREDENTIAL',
    ],
    ['a short key', { upsertions: [{ ...credential('a'), storedKey: 'AAAA' }] }, 'UNACCEPTABLE_CREDENTIAL'],
    [
      'a salt that is not base64',
      { upsertions: [{ ...credential('a'), salt: 'no base64!' }] },
      'UNACCEPTABLE_CREDENTIAL',
    ],
    [
      'a credential twice',
      { upsertions: [credential('a'), { ...credential('a'), iterations: 5000 }] },
      'DUPLICATE_RESOURCE',
    ],
    [
      'deleting a credential that does not exist',
      { deletions: [{ user: 'nobody', mechanism: 'SCRAM-SHA-256' }] },
      'RESOURCE_NOT_FOUND',
    ],
  ] as const)('%s is rejected and changes nothing', (_what, change, code) => {
    const n = new Node();
    n.ok({ type: 'alterScramCredentials', deletions: [], upsertions: [credential('kept')] });
    const before = Buffer.from(n.sm.snapshot());
    const r = n.apply({
      type: 'alterScramCredentials',
      deletions: 'deletions' in change ? change.deletions : [],
      upsertions: 'upsertions' in change ? change.upsertions : [credential('valid-one')],
    });
    expect(!r.ok && r.error.code).toBe(code);
    const after = Buffer.from(n.sm.snapshot());
    // Only the applied index moved.
    expect(MetadataStateMachine.fromSnapshot(after).scramUsers()).toEqual(
      MetadataStateMachine.fromSnapshot(before).scramUsers(),
    );
  });
});
