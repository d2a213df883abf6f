// __consumer_offsets record formats (Kafka's) and the coordinator partitioning (Kafka's hash).
import {
  decodeRecord,
  encodeRecord,
  javaStringHashCode,
  partitionForGroup,
  subscribedTopics,
} from '../../src/groups/index.js';
import type { OffsetsTopicRecord } from '../../src/groups/index.js';
import { subscription } from './helpers.js';

describe('record formats', () => {
  const cases: OffsetsTopicRecord[] = [
    {
      type: 'offset',
      groupId: 'g',
      topic: 't',
      partition: 7,
      value: {
        offset: 123456789012n,
        leaderEpoch: 4,
        metadata: 'meta',
        commitTimestampMs: 1_700_000_000_123,
        expireTimestampMs: null,
      },
    },
    {
      type: 'offset',
      groupId: 'g',
      topic: 't',
      partition: 7,
      value: { offset: 5n, leaderEpoch: -1, metadata: '', commitTimestampMs: 1000, expireTimestampMs: 9000 },
    },
    { type: 'offset', groupId: 'grüße', topic: 'tøpic', partition: 0, value: null },
    { type: 'group', groupId: 'g', value: null },
    {
      type: 'group',
      groupId: 'g',
      value: {
        protocolType: 'consumer',
        generationId: 12,
        protocolName: 'cooperative-sticky',
        leaderId: 'm1',
        currentStateTimestampMs: 1_700_000_000_000,
        members: [
          {
            memberId: 'm1',
            groupInstanceId: 'i1',
            clientId: 'c',
            clientHost: '/127.0.0.1',
            rebalanceTimeoutMs: 300000,
            sessionTimeoutMs: 45000,
            subscription: new Uint8Array([1, 2]),
            assignment: new Uint8Array([3]),
          },
          {
            memberId: 'm2',
            groupInstanceId: null,
            clientId: 'c',
            clientHost: '/::1',
            rebalanceTimeoutMs: 1,
            sessionTimeoutMs: 2,
            subscription: new Uint8Array(0),
            assignment: new Uint8Array(0),
          },
        ],
      },
    },
    {
      type: 'group',
      groupId: 'g',
      value: {
        protocolType: '',
        generationId: 3,
        protocolName: null,
        leaderId: null,
        currentStateTimestampMs: 5,
        members: [],
      },
    },
  ];
  it.each(cases.map((c, i) => [i, c] as const))('round-trips case %i', (_i, c) => {
    const e = encodeRecord(c);
    expect(decodeRecord(e.key, e.value)).toEqual(c);
  });

  it("writes Kafka's layouts: offset key v1, value v3 (v1 with an expire timestamp), group key v2, value v3", () => {
    const e = encodeRecord(cases[0] as OffsetsTopicRecord);
    expect(Buffer.from(e.key).toString('hex')).toBe('0001' + '000167' + '000174' + '00000007');
    expect(Buffer.from(e.value ?? []).readInt16BE(0)).toBe(3);
    expect(Buffer.from(encodeRecord(cases[1] as OffsetsTopicRecord).value ?? []).readInt16BE(0)).toBe(1);
    expect(Buffer.from(encodeRecord(cases[3] as OffsetsTopicRecord).key).toString('hex')).toBe('0002000167');
  });

  it('reads older value versions (offset v0, group v0)', () => {
    const key = Buffer.from('0000000167000174' + '00000001', 'hex');
    const v0 = Buffer.concat([
      Buffer.from([0, 0]),
      Buffer.from('0000000000000009', 'hex'),
      Buffer.from([0, 1, 0x78]),
      Buffer.from('00000000000003e8', 'hex'),
    ]);
    expect(decodeRecord(key, v0)).toEqual({
      type: 'offset',
      groupId: 'g',
      topic: 't',
      partition: 1,
      value: { offset: 9n, leaderEpoch: -1, metadata: 'x', commitTimestampMs: 1000, expireTimestampMs: null },
    });
    const str = (s: string) => Buffer.concat([Buffer.from([0, s.length]), Buffer.from(s)]);
    const int32 = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeInt32BE(n);
      return b;
    };
    const g0 = Buffer.concat([
      Buffer.from([0, 0]),
      str('consumer'),
      int32(2),
      str('range'),
      str('m'),
      int32(1),
      str('m'),
      str('c'),
      str('/h'),
      int32(10000),
      int32(1),
      Buffer.from([9]),
      int32(0),
    ]);
    const d = decodeRecord(Buffer.from('0002000167', 'hex'), g0);
    expect(d).toEqual({
      type: 'group',
      groupId: 'g',
      value: {
        protocolType: 'consumer',
        generationId: 2,
        protocolName: 'range',
        leaderId: 'm',
        currentStateTimestampMs: null,
        members: [
          {
            memberId: 'm',
            groupInstanceId: null,
            clientId: 'c',
            clientHost: '/h',
            rebalanceTimeoutMs: 10000,
            sessionTimeoutMs: 10000,
            subscription: new Uint8Array([9]),
            assignment: new Uint8Array(0),
          },
        ],
      },
    });
  });

  it('rejects unknown versions and truncated records with CORRUPT_RECORD', () => {
    expect(() => decodeRecord(Buffer.from('0007', 'hex'), null)).toThrow(
      expect.objectContaining({ code: 'CORRUPT_RECORD' }),
    );
    expect(() => decodeRecord(Buffer.from('00010001', 'hex'), null)).toThrow(
      expect.objectContaining({ code: 'CORRUPT_RECORD' }),
    );
    const e = encodeRecord(cases[0] as OffsetsTopicRecord);
    expect(() => decodeRecord(e.key, (e.value ?? new Uint8Array()).subarray(0, 10))).toThrow(
      expect.objectContaining({ code: 'CORRUPT_RECORD' }),
    );
  });
});

describe('coordinator partition', () => {
  it("is Java's String.hashCode, made non-negative as Kafka's Utils.abs does", () => {
    expect(javaStringHashCode('')).toBe(0);
    expect(javaStringHashCode('a')).toBe(97);
    expect(javaStringHashCode('hello')).toBe(99162322);
    expect(javaStringHashCode('Hello World')).toBe(-862545276);
    expect(javaStringHashCode('polygenelubricants')).toBe(-2147483648);
    expect(partitionForGroup('polygenelubricants', 50)).toBe(0);
    expect(partitionForGroup('Hello World', 50)).toBe(862545276 % 50);
    expect(partitionForGroup('hello', 50)).toBe(99162322 % 50);
  });
});

describe('consumer protocol subscription', () => {
  it('reads the topics, and null for anything else', () => {
    expect(subscribedTopics(subscription(['a', 'bb'], 'user'))).toEqual(['a', 'bb']);
    expect(subscribedTopics(new Uint8Array([0, 1]))).toBeNull();
    expect(subscribedTopics(new Uint8Array([0, 0, 0, 0, 0, 1, 0, 5, 97]))).toBeNull();
  });
});
