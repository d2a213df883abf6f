import { parseCommandLine, parseHostPort, parsePeers } from '../src/cli.js';
import { DEFAULT_CLIENT_QUOTAS, DEFAULT_LIMITS } from '../src/config.js';

function run(argv: string[]) {
  const r = parseCommandLine(argv);
  if (r.kind !== 'run') throw new Error(`expected a config, got exit ${r.exitCode}: ${r.stderr}`);
  return r.config;
}

describe('command line', () => {
  test('no arguments: standalone on 9092, data in ./data, admin on 6092', () => {
    const c = run([]);
    expect(c).toMatchObject({
      mode: 'standalone',
      kafkaPort: 9092,
      advertisedHost: 'localhost',
      advertisedPort: 9092,
      nodeId: 1,
      dataDir: './data',
      adminPort: 6092,
      logLevel: 'info',
    });
  });

  test('flags and the standalone command', () => {
    const c = run([
      '--kafka-port',
      '19092',
      '--advertised-addr',
      'broker.example:29092',
      '--node-id',
      '7',
      '--data-dir',
      '/tmp/x',
      '--admin-port',
      '-1',
      '--log-level',
      'debug',
      'standalone',
    ]);
    expect(c).toMatchObject({
      kafkaPort: 19092,
      advertisedHost: 'broker.example',
      advertisedPort: 29092,
      nodeId: 7,
      dataDir: '/tmp/x',
      adminPort: -1,
      logLevel: 'debug',
    });
  });

  test('environment equivalents', () => {
    process.env['CHRONIK_KAFKA_PORT'] = '19999';
    process.env['CHRONIK_NODE_ID'] = '4';
    try {
      expect(run([])).toMatchObject({ kafkaPort: 19999, nodeId: 4, advertisedPort: 19999 });
      expect(run(['--kafka-port', '1234']).kafkaPort).toBe(1234);
    } finally {
      delete process.env['CHRONIK_KAFKA_PORT'];
      delete process.env['CHRONIK_NODE_ID'];
    }
  });

  test('connection limits: defaults, flags and environment', () => {
    expect(run([]).limits).toEqual(DEFAULT_LIMITS);
    process.env['CHRONIK_MAX_IN_FLIGHT_BYTES_PER_ADDRESS'] = '1048576';
    try {
      const c = run([
        '--max-connections',
        '500',
        '--idle-timeout-ms',
        '0',
        '--request-frame-timeout-ms',
        '5000',
        '--max-in-flight-requests-per-connection',
        '8',
        '--max-buffered-bytes-per-connection',
        '8388608',
        '--max-unsent-response-bytes-per-connection',
        '65536',
        '--max-in-flight-bytes',
        '268435456',
        '--request-turn-budget-ms',
        '2',
        '--client-error-log-interval-ms',
        '0',
      ]);
      expect(c.limits).toEqual({
        ...DEFAULT_LIMITS,
        maxConnections: 500,
        idleTimeoutMs: 0,
        requestFrameTimeoutMs: 5000,
        maxInFlightRequestsPerConnection: 8,
        maxBufferedBytesPerConnection: 8388608,
        maxUnsentResponseBytesPerConnection: 65536,
        maxGlobalInFlightBytes: 268435456,
        maxInFlightBytesPerAddress: 1048576,
        requestTurnBudgetMs: 2,
        clientErrorLogIntervalMs: 0,
      });
    } finally {
      delete process.env['CHRONIK_MAX_IN_FLIGHT_BYTES_PER_ADDRESS'];
    }
  });

  test('client quotas: none by default (as Kafka), a default and per-client-id request_percentage, windows', () => {
    expect(run([]).clientQuotas).toEqual(DEFAULT_CLIENT_QUOTAS);
    expect(DEFAULT_CLIENT_QUOTAS).toMatchObject({ requestPercentageDefault: undefined, windowNum: 11 });
    process.env['CHRONIK_QUOTA_WINDOW_NUM'] = '5';
    try {
      const c = run([
        '--quota-request-percentage',
        '25',
        '--quota-request-percentage-by-client',
        'abuser=0.5, batch-job=50,',
        '--quota-window-size-seconds',
        '2',
      ]);
      expect(c.clientQuotas).toEqual({
        requestPercentageDefault: 25,
        requestPercentageByClientId: new Map([
          ['abuser', 0.5],
          ['batch-job', 50],
        ]),
        windowNum: 5,
        windowSizeSeconds: 2,
      });
    } finally {
      delete process.env['CHRONIK_QUOTA_WINDOW_NUM'];
    }
  });

  test.each([
    [['--quota-request-percentage', '0'], /quota-request-percentage: 0 is out of range \(0, 100\]/],
    [['--quota-request-percentage', '150'], /out of range \(0, 100\]: 100 is the whole event loop/],
    [['--quota-request-percentage', '1e3'], /is not a percentage/],
    [['--quota-request-percentage-by-client', 'abuser'], /"abuser" is not client-id=percentage/],
    [['--quota-request-percentage-by-client', 'a=1,a=2'], /client id "a" appears twice/],
    [['--quota-request-percentage-by-client', 'a=-1'], /is not a percentage/],
    [['--quota-window-num', '0'], /quota-window-num: 0 is out of range/],
    [['--quota-window-size-seconds', '0.5'], /quota-window-size-seconds: "0.5" is not an integer/],
    [['--kafka-port', 'abc'], /kafka-port: "abc" is not an integer/],
    [['--max-connections', '0'], /max-connections: 0 is out of range/],
    [['--request-frame-timeout-ms', '50'], /request-frame-timeout-ms must be 0 \(off\) or at least 100/],
    [['--max-in-flight-requests-per-connection', '0'], /max-in-flight-requests-per-connection/],
    [
      ['--max-buffered-bytes-per-connection', '1000'],
      /max-buffered-bytes-per-connection: 1000 is out of range/,
    ],
    [['--max-unsent-response-bytes-per-connection', 'lots'], /is not an integer/],
    [['--max-in-flight-bytes', '-1'], /max-in-flight-bytes/],
    [['--max-in-flight-bytes-per-address', '10'], /max-in-flight-bytes-per-address/],
    [['--request-turn-budget-ms', '5000'], /request-turn-budget-ms: 5000 is out of range/],
    [['--client-error-log-interval-ms', '-5'], /client-error-log-interval-ms/],
    [['--kafka-port', '70000'], /kafka-port: 70000 is out of range/],
    [['--node-id', '-3'], /node-id/],
    [['--log-level', 'loud'], /log-level|Invalid values/],
    [['--nope'], /Unknown argument/],
    [['--advertised-addr', 'a:b:c'], /advertised-addr/],
    [['raft-cluster'], /needs --raft-addr/],
    [['--transaction-state-partitions', '0'], /transaction-state-partitions/],
    [['--transaction-max-timeout-ms', '3000000000'], /transaction-max-timeout-ms/],
    [['--group-max-size', '0'], /group-max-size/],
    [['--offsets-retention-minutes', '-1'], /offsets-retention-minutes/],
    [['raft-cluster', '--raft-addr', 'x:1', '--peers', '2@h'], /needs a port/],
  ])('bad value %j is a clear error with exit code 2', (argv, pattern) => {
    const r = parseCommandLine(argv);
    expect(r.kind).toBe('exit');
    if (r.kind === 'exit') {
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(pattern);
    }
  });

  test('log flags: defaults when absent, and only the given ones are static broker configs', () => {
    expect(run([]).broker).toMatchObject({
      logRetentionMs: 604_800_000,
      logRetentionBytes: -1,
      logSegmentBytes: 134_217_728,
      logFlushIntervalMs: 1000,
      staticConfigNames: [],
    });
    const c = run(['--retention-ms', '5000', '--segment-bytes', '2097152']).broker;
    expect(c).toMatchObject({ logRetentionMs: 5000, logSegmentBytes: 2_097_152, logRetentionBytes: -1 });
    expect(c.staticConfigNames).toEqual(['log.retention.ms', 'log.segment.bytes']);
  });

  test('group flags: Kafka defaults and flags', () => {
    expect(run([]).broker).toMatchObject({
      groupInitialRebalanceDelayMs: 3000,
      groupMinSessionTimeoutMs: 6000,
      groupMaxSessionTimeoutMs: 1_800_000,
      groupMaxSize: 10_000,
      offsetsRetentionMs: 7 * 24 * 3600 * 1000,
    });
    const c = run([
      '--group-initial-rebalance-delay-ms',
      '0',
      '--group-min-session-timeout-ms',
      '1000',
      '--group-max-session-timeout-ms',
      '60000',
      '--group-max-size',
      '50',
      '--offsets-retention-minutes',
      '60',
    ]);
    expect(c.broker).toMatchObject({
      groupInitialRebalanceDelayMs: 0,
      groupMinSessionTimeoutMs: 1000,
      groupMaxSessionTimeoutMs: 60_000,
      groupMaxSize: 50,
      offsetsRetentionMs: 3_600_000,
    });
    // Flags the operator gave are static broker configs (DescribeConfigs); the others defaults.
    expect(c.broker.staticConfigNames).toEqual([
      'group.initial.rebalance.delay.ms',
      'group.min.session.timeout.ms',
      'group.max.session.timeout.ms',
      'group.max.size',
      'offsets.retention.minutes',
    ]);
    expect(run([]).broker.staticConfigNames).toEqual([]);
  });

  test('--group-consumer-migration-policy: Kafka 4 default bidirectional; the four values; others refused', () => {
    expect(run([]).broker.groupConsumerMigrationPolicy).toBe('bidirectional');
    for (const p of ['disabled', 'upgrade', 'downgrade', 'bidirectional'])
      expect(run(['--group-consumer-migration-policy', p]).broker).toMatchObject({
        groupConsumerMigrationPolicy: p,
        staticConfigNames: ['group.consumer.migration.policy'],
      });
    expect(() => run(['--group-consumer-migration-policy', 'sideways'])).toThrow(
      /group-consumer-migration-policy.*disabled, upgrade, downgrade, bidirectional/,
    );
    process.env['CHRONIK_GROUP_CONSUMER_MIGRATION_POLICY'] = 'upgrade';
    try {
      expect(run([]).broker).toMatchObject({
        groupConsumerMigrationPolicy: 'upgrade',
        staticConfigNames: ['group.consumer.migration.policy'],
      });
    } finally {
      delete process.env['CHRONIK_GROUP_CONSUMER_MIGRATION_POLICY'];
    }
  });

  test('transaction flags: Kafka defaults, flags, environment', () => {
    expect(run([]).broker).toMatchObject({
      transactionStateNumPartitions: 50,
      transactionMaxTimeoutMs: 900_000,
      transactionalIdExpirationMs: 604_800_000,
      transactionAbortTimedOutIntervalMs: 10_000,
      transactionRemoveExpiredIntervalMs: 3_600_000,
    });
    const c = run([
      '--transaction-state-partitions',
      '7',
      '--transaction-max-timeout-ms',
      '60000',
      '--transactional-id-expiration-ms',
      '86400000',
      '--transaction-abort-interval-ms',
      '1000',
      '--transaction-remove-expired-interval-ms',
      '5000',
    ]);
    expect(c.broker).toMatchObject({
      transactionStateNumPartitions: 7,
      transactionMaxTimeoutMs: 60_000,
      transactionalIdExpirationMs: 86_400_000,
      transactionAbortTimedOutIntervalMs: 1000,
      transactionRemoveExpiredIntervalMs: 5000,
    });
    process.env['CHRONIK_TRANSACTION_STATE_PARTITIONS'] = '3';
    try {
      expect(run([]).broker.transactionStateNumPartitions).toBe(3);
    } finally {
      delete process.env['CHRONIK_TRANSACTION_STATE_PARTITIONS'];
    }
  });

  test('--help prints usage and exits 0', () => {
    const r = parseCommandLine(['--help']);
    expect(r).toMatchObject({ kind: 'exit', exitCode: 0 });
    if (r.kind === 'exit') {
      expect(r.stdout).toContain('--kafka-port');
      expect(r.stdout).toContain('raft-cluster');
      expect(r.stdout).toContain('CHRONIK_KAFKA_PORT');
    }
  });

  test('raft-cluster is parsed (the mode itself is issue 9)', () => {
    const c = run([
      '--node-id',
      '1',
      'raft-cluster',
      '--raft-addr',
      '0.0.0.0:9192',
      '--peers',
      '2@localhost:9193,3@localhost:9194',
      '--bootstrap',
    ]);
    expect(c.mode).toBe('raft-cluster');
    expect(c.raft).toEqual({
      raftAddr: '0.0.0.0:9192',
      bootstrap: true,
      peers: [
        { nodeId: 2, host: 'localhost', port: 9193 },
        { nodeId: 3, host: 'localhost', port: 9194 },
      ],
    });
  });

  test('host:port helpers', () => {
    expect(parseHostPort('x', '[::1]:9000', 1)).toEqual({ host: '::1', port: 9000 });
    expect(parseHostPort('x', 'h', 5)).toEqual({ host: 'h', port: 5 });
    expect(() => parsePeers('2@a:1,2@b:2')).toThrow(/appears twice/);
  });
});
