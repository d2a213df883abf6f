// The client's pure parts: Kafka's partitioner, the range assignor, version choice, option parsing
// and table rendering.
import { ApiKey } from '@chronik/protocol';
import { startSpec, topicPartitions } from '../src/args.js';
import { parseBrokerAddress } from '../src/client/client.js';
import {
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
  rangeAssign,
} from '../src/client/consumer-protocol.js';
import { murmur2, partitionForKey } from '../src/client/producer.js';
import { chooseVersion } from '../src/client/versions.js';
import { isCliError } from '../src/errors.js';
import { renderTable, toJson } from '../src/output.js';

describe('partitioner', () => {
  test("murmur2 matches Kafka's (values from Kafka's Java client, as kafkajs reproduces them)", () => {
    const expected: Array<[string, number]> = [
      ['', 275646681],
      ['a', -1563381124],
      ['ab', 316155434],
      ['abc', 479470107],
      ['abcd', -1323649548],
      ['hello world', 1221641059],
      ['21', -973932308],
    ];
    for (const [key, hash] of expected) expect(murmur2(Buffer.from(key))).toBe(hash);
    expect(partitionForKey(Buffer.from('21'), 8)).toBe((-973932308 & 0x7fffffff) % 8);
  });
});

describe('range assignor', () => {
  test('contiguous ranges per topic, the first members one more', () => {
    const plan = rangeAssign(
      new Map([
        ['m-b', ['t', 'u']],
        ['m-a', ['t']],
        ['m-c', ['t', 'u']],
      ]),
      new Map([
        ['t', 7],
        ['u', 1],
      ]),
    );
    const t = (m: string) =>
      plan
        .get(m)
        ?.filter((x) => x.topic === 't')
        .map((x) => x.partition);
    expect(t('m-a')).toEqual([0, 1, 2]);
    expect(t('m-b')).toEqual([3, 4]);
    expect(t('m-c')).toEqual([5, 6]);
    expect(plan.get('m-b')?.filter((x) => x.topic === 'u')).toEqual([{ topic: 'u', partition: 0 }]);
    expect(plan.get('m-c')?.filter((x) => x.topic === 'u')).toEqual([]);
  });

  test('subscriptions and assignments round-trip with their version prefix', () => {
    expect(decodeSubscription(encodeSubscription(['a', 'b'])).topics).toEqual(['a', 'b']);
    const tps = [
      { topic: 'a', partition: 0 },
      { topic: 'a', partition: 2 },
      { topic: 'b', partition: 1 },
    ];
    expect(decodeAssignment(encodeAssignment(tps))).toEqual(tps);
    expect(decodeAssignment(Buffer.alloc(0))).toEqual([]);
  });
});

describe('versions', () => {
  test('the highest common version; none in common is UNSUPPORTED_VERSION', () => {
    expect(chooseVersion(ApiKey.Fetch, { min: 4, max: 17 }, 'b')).toBe(12);
    expect(chooseVersion(ApiKey.Metadata, { min: 0, max: 9 }, 'b')).toBe(9);
    try {
      chooseVersion(ApiKey.Produce, { min: 0, max: 2 }, 'the broker at x:1');
      throw new Error('not refused');
    } catch (e) {
      expect(isCliError(e, 'KAFKA')).toBe(true);
      if (isCliError(e)) {
        expect(e.kafkaName).toBe('UNSUPPORTED_VERSION');
        expect(e.message).toBe('the broker at x:1 supports Produce v0-v2, this client v3-v9');
      }
    }
  });
});

describe('arguments and output', () => {
  test('broker addresses, start positions, topic:partitions', () => {
    expect(parseBrokerAddress('h:1')).toEqual({ host: 'h', port: 1 });
    expect(parseBrokerAddress('h')).toEqual({ host: 'h', port: 9092 });
    expect(parseBrokerAddress('[::1]:9093')).toEqual({ host: '::1', port: 9093 });
    expect(() => parseBrokerAddress('h:0')).toThrow('"h:0" is not a broker address');
    expect(startSpec('from', 'beginning')).toEqual({ kind: 'earliest' });
    expect(startSpec('from', '42')).toEqual({ kind: 'offset', offset: 42n });
    expect(startSpec('from', '@1000')).toEqual({ kind: 'timestamp', timestampMs: 1000n });
    expect(startSpec('from', '@1970-01-01T00:00:01Z')).toEqual({ kind: 'timestamp', timestampMs: 1000n });
    expect(topicPartitions('topic', 'orders:2,0')).toEqual({ topic: 'orders', partitions: [0, 2] });
  });

  test('tables are aligned without borders; JSON keeps int64 exact', () => {
    expect(
      renderTable(
        ['A', 'LONGER'],
        [
          ['x', 1n],
          ['yyyy', null],
        ],
      ),
    ).toBe('A     LONGER\nx     1\nyyyy  -\n');
    expect(toJson({ small: 5n, big: 2n ** 60n })).toBe(
      '{\n  "small": 5,\n  "big": "1152921504606846976"\n}\n',
    );
  });
});
