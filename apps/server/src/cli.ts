// The command line: yargs 17, with CHRONIK_* environment equivalents for every option.
//
//   chronik-server [--kafka-port 9092] [--advertised-addr localhost] [--node-id 1] [--data-dir ./data]
//                  [--admin-port 6092] [--log-level info] [standalone | raft-cluster ...]
//
// Parsing never exits the process and never prints: it returns either a validated config or the
// text to print and the exit code, so main() and the tests decide what to do with it.
import yargs from 'yargs';
import type { AdminRecords, GroupMigrationPolicy, ServerConfig } from './config.js';
import {
  ADMIN_RECORDS,
  GROUP_MIGRATION_POLICIES,
  DEFAULT_BROKER,
  DEFAULT_CLIENT_QUOTAS,
  DEFAULT_CONFIG,
  DEFAULT_LIMITS,
  validateConfig,
} from './config.js';
import { ServerError, ServerErrorCode, errorMessage } from './errors.js';
import { LOG_LEVELS, type LogLevel } from './logger.js';
import {
  adminSecurityFromArgs,
  adminSecurityOptions,
  securityFromArgs,
  securityOptions,
} from './security/cli.js';

export type CommandLineResult =
  { kind: 'run'; config: ServerConfig } | { kind: 'exit'; exitCode: number; stdout: string; stderr: string };

function bad(message: string): never {
  throw new ServerError(ServerErrorCode.INVALID_CONFIG, message);
}

function int(name: string, raw: unknown, min: number, max: number): number {
  const s = String(raw).trim();
  if (!/^-?\d+$/.test(s)) bad(`--${name}: "${String(raw)}" is not an integer`);
  const v = Number(s);
  if (!Number.isSafeInteger(v) || v < min || v > max) bad(`--${name}: ${s} is out of range [${min}, ${max}]`);
  return v;
}

function optInt(name: string, raw: unknown, min: number, max: number): number | undefined {
  return raw === undefined ? undefined : int(name, raw, min, max);
}

/**
 * Flags that set a broker config Kafka reports in DescribeConfigs: given (flag or environment),
 * it is a STATIC_BROKER_CONFIG; absent, the default is DEFAULT_CONFIG. These flags have no yargs
 * default, so that absent stays visible.
 */
const STATIC_CONFIG_FLAGS = [
  ['flush-interval-ms', 'log.flush.interval.ms'],
  ['flush-interval-messages', 'log.flush.interval.messages'],
  ['retention-ms', 'log.retention.ms'],
  ['retention-bytes', 'log.retention.bytes'],
  ['segment-bytes', 'log.segment.bytes'],
] as const;

/** Flags (with defaults) of the group coordinator's broker configs: static when named on the command line. */
const GROUP_CONFIG_FLAGS = [
  ['group-initial-rebalance-delay-ms', 'group.initial.rebalance.delay.ms'],
  ['group-min-session-timeout-ms', 'group.min.session.timeout.ms'],
  ['group-max-session-timeout-ms', 'group.max.session.timeout.ms'],
  ['group-max-size', 'group.max.size'],
  ['group-coordinator-rebalance-protocols', 'group.coordinator.rebalance.protocols'],
  ['group-consumer-heartbeat-interval-ms', 'group.consumer.heartbeat.interval.ms'],
  ['group-consumer-session-timeout-ms', 'group.consumer.session.timeout.ms'],
  ['group-consumer-assignors', 'group.consumer.assignors'],
  ['group-consumer-migration-policy', 'group.consumer.migration.policy'],
  ['offsets-retention-minutes', 'offsets.retention.minutes'],
] as const;

/** A request_percentage: a decimal number above 0 and at most 100 ("0.5", "10"). */
function percentage(name: string, raw: unknown): number {
  const s = String(raw).trim();
  if (!/^\d+(\.\d+)?$/.test(s)) bad(`--${name}: "${String(raw)}" is not a percentage (like 10 or 0.5)`);
  const v = Number(s);
  if (!(v > 0 && v <= 100)) bad(`--${name}: ${s} is out of range (0, 100]: 100 is the whole event loop`);
  return v;
}

/** "client-a=10,client-b=0.5": request_percentage per client id (an id cannot hold ",", nor begin or end with a space). */
function parseClientPercentages(name: string, raw: string): Map<string, number> {
  const byClient = new Map<string, number>();
  for (const item of raw
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')) {
    const eq = item.lastIndexOf('=');
    if (eq <= 0) bad(`--${name}: "${item}" is not client-id=percentage`);
    const clientId = item.slice(0, eq);
    if (byClient.has(clientId)) bad(`--${name}: client id "${clientId}" appears twice`);
    byClient.set(clientId, percentage(name, item.slice(eq + 1)));
  }
  return byClient;
}

/** "a,b": a comma-separated list of names (lower-cased, blanks dropped). */
function migrationPolicy(raw: unknown): GroupMigrationPolicy {
  const s = String(raw).trim().toLowerCase();
  const p = GROUP_MIGRATION_POLICIES.find((x) => x === s);
  if (p === undefined)
    bad(
      `--group-consumer-migration-policy: "${String(raw)}" is not one of ${GROUP_MIGRATION_POLICIES.join(', ')}`,
    );
  return p;
}

function names(raw: unknown): string[] {
  return String(raw)
    .split(',')
    .map((p) => p.trim().toLowerCase())
    .filter((p) => p !== '');
}

/** "host" or "host:port" (IPv6 in brackets: "[::1]:9092"). */
export function parseHostPort(
  name: string,
  raw: string,
  defaultPort: number,
): { host: string; port: number } {
  const s = raw.trim();
  if (s === '') bad(`--${name} must not be empty`);
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) return { host: v6[1] ?? '', port: v6[2] === undefined ? defaultPort : int(name, v6[2], 1, 65535) };
  const parts = s.split(':');
  if (parts.length === 1) return { host: s, port: defaultPort };
  if (parts.length === 2 && parts[0] !== '')
    return { host: parts[0] ?? '', port: int(name, parts[1], 1, 65535) };
  return bad(`--${name}: "${raw}" is not host or host:port`);
}

/** "2@localhost:9193,3@localhost:9194" */
export function parsePeers(raw: string): Array<{ nodeId: number; host: string; port: number }> {
  const peers: Array<{ nodeId: number; host: string; port: number }> = [];
  for (const item of raw
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')) {
    const at = item.indexOf('@');
    if (at <= 0) bad(`--peers: "${item}" is not id@host:port`);
    const nodeId = int('peers', item.slice(0, at), 0, 2 ** 31 - 1);
    const { host, port } = parseHostPort('peers', item.slice(at + 1), 0);
    if (port === 0) bad(`--peers: "${item}" needs a port`);
    if (peers.some((p) => p.nodeId === nodeId)) bad(`--peers: node id ${nodeId} appears twice`);
    peers.push({ nodeId, host, port });
  }
  return peers;
}

function buildParser(argv: readonly string[]) {
  return yargs([...argv])
    .scriptName('chronik-server')
    .usage('$0 [options] [standalone | raft-cluster ...]')
    .epilogue(
      'A Kafka-wire-compatible broker; with no command it runs one node (standalone).\n' +
        'Every option can also be set in the environment: --kafka-port is CHRONIK_KAFKA_PORT, and so on.',
    )
    .env('CHRONIK')
    .command(['standalone', '$0'], 'run a single-node broker (the default)')
    .command('raft-cluster', 'run as one node of a Raft-replicated cluster', (y) =>
      y
        .option('raft-addr', { type: 'string', describe: 'address the Raft gRPC listener binds (host:port)' })
        .option('peers', { type: 'string', describe: 'the other voters: "2@host:9193,3@host:9194"' })
        .option('bootstrap', {
          type: 'boolean',
          default: false,
          describe: 'form a new cluster from the voters',
        })
        .option('raft-tick-ms', {
          type: 'string',
          describe: 'period of the Raft tick in ms; heartbeats go out every tick [default: 100]',
        })
        .option('raft-election-ticks', {
          type: 'string',
          describe:
            'metadata group: ticks without a leader before a follower campaigns (randomized up to twice) [default: 10]',
        })
        .option('raft-partition-election-ticks', {
          type: 'string',
          describe: 'the same for partition groups (failover time after a leader dies) [default: 7]',
        })
        .option('raft-partition-uncommitted-bytes', {
          type: 'string',
          describe:
            'bytes a partition leader may have proposed and not yet committed; a Produce beyond waits [default: 33554432]',
        })
        .option('join', {
          type: 'string',
          describe:
            'the Raft address (host:port) of any member of a running cluster: a new node asks it to be admitted (instead of --peers/--bootstrap)',
        })
        .option('cluster-id', {
          type: 'string',
          describe: 'the cluster this node is meant for: joining another one is refused',
        })
        .option('rack', { type: 'string', describe: "this broker's rack (broker.rack)" })
        .option('raft-tls-cert-file', {
          type: 'string',
          describe: 'PEM certificate of this node for mutual TLS between nodes (with the key and CA files)',
        })
        .option('raft-tls-key-file', { type: 'string', describe: 'PEM private key of that certificate' })
        .option('raft-tls-ca-file', {
          type: 'string',
          describe: 'PEM cluster CA: a peer whose certificate does not chain to it is refused',
        })
        .option('raft-tls-node-identity', {
          type: 'string',
          choices: ['cn', 'none'],
          describe:
            'cn: a node certificate names its node (CN=node-<id>), checked both ways; none: any certificate of the CA [default: cn]',
        })
        .option('replication-throttled-rate', {
          type: 'string',
          describe:
            'leader.replication.throttled.rate: bytes/s a partition leader sends to replicas a reassignment adds while they catch up [default: unlimited]',
        })
        .option('balancer-max-concurrent-moves', {
          type: 'string',
          describe:
            'partitions the balancer (decommission, rebalance) moves at once, as the metadata leader [default: 2]',
        }),
    )
    .options({
      'kafka-port': {
        type: 'string',
        // No yargs default: given together with --listeners it is refused, absent it is 9092.
        describe: `Kafka listener port (0 = any free port) [default: ${DEFAULT_CONFIG.kafkaPort}]`,
      },
      'listen-addr': {
        type: 'string',
        default: DEFAULT_CONFIG.listenHost,
        describe: 'address the Kafka and admin listeners bind',
      },
      'advertised-addr': {
        type: 'string',
        default: DEFAULT_CONFIG.advertisedHost,
        describe: 'host (or host:port) clients are told to connect to',
      },
      'node-id': { type: 'string', default: String(DEFAULT_CONFIG.nodeId), describe: "this broker's id" },
      'data-dir': {
        type: 'string',
        default: DEFAULT_CONFIG.dataDir,
        describe: 'where logs and metadata live',
      },
      'admin-port': {
        type: 'string',
        default: String(DEFAULT_CONFIG.adminPort),
        describe: 'admin HTTP port (0 = any free port, -1 = off)',
      },
      'admin-records': {
        type: 'string',
        default: 'auto',
        choices: [...ADMIN_RECORDS],
        describe:
          "the admin port serves records (the web console's message browser): auto = unless a listener authenticates clients",
      },
      'log-level': {
        type: 'string',
        default: DEFAULT_CONFIG.logLevel,
        choices: [...LOG_LEVELS],
        describe: 'log level (JSON logs on stdout)',
      },
      'auto-create-topics': {
        type: 'boolean',
        default: DEFAULT_BROKER.autoCreateTopicsEnable,
        describe: 'auto.create.topics.enable',
      },
      'num-partitions': {
        type: 'string',
        default: String(DEFAULT_BROKER.numPartitions),
        describe: 'partitions of auto-created topics',
      },
      'default-replication-factor': {
        type: 'string',
        describe: `replication factor of auto-created topics [default: ${DEFAULT_BROKER.defaultReplicationFactor}; raft-cluster: min(3, live brokers)]`,
      },
      'flush-interval-ms': {
        type: 'string',
        describe: `log.flush.interval.ms: fsync acks<all data at least this often [default: ${DEFAULT_BROKER.logFlushIntervalMs}]`,
      },
      'flush-background-bytes': {
        type: 'string',
        default: String(DEFAULT_BROKER.logFlushBackgroundBytes),
        describe: 'fsync a partition in the background once this many bytes are unflushed (0 = off)',
      },
      'flush-interval-messages': {
        type: 'string',
        describe: 'log.flush.interval.messages: fsync after this many messages (1 = every write)',
      },
      'retention-ms': {
        type: 'string',
        describe: `log.retention.ms (-1 = keep forever) [default: ${DEFAULT_BROKER.logRetentionMs}]`,
      },
      'retention-bytes': {
        type: 'string',
        describe: `log.retention.bytes per partition (-1 = no limit) [default: ${DEFAULT_BROKER.logRetentionBytes}]`,
      },
      'segment-bytes': {
        type: 'string',
        describe: `log.segment.bytes [default: ${DEFAULT_BROKER.logSegmentBytes}]`,
      },
      'max-request-bytes': {
        type: 'string',
        default: String(DEFAULT_LIMITS.maxRequestBytes),
        describe: 'largest accepted request frame',
      },
      'max-connections': {
        type: 'string',
        default: String(DEFAULT_LIMITS.maxConnections),
        describe: 'open Kafka connections; more are closed at once',
      },
      'max-open-data-files': {
        type: 'string',
        default: String(DEFAULT_LIMITS.maxOpenDataFiles),
        describe:
          'descriptors kept open for partition data files; idle ones are closed and reopened when used (fewer if the open-file limit leaves fewer)',
      },
      'idle-timeout-ms': {
        type: 'string',
        default: String(DEFAULT_LIMITS.idleTimeoutMs),
        describe: 'close a connection with nothing in flight and no traffic for this long (0 = never)',
      },
      'request-frame-timeout-ms': {
        type: 'string',
        default: String(DEFAULT_LIMITS.requestFrameTimeoutMs),
        describe:
          'close a connection whose request frame is not complete this long after its first byte (0 = off)',
      },
      'max-in-flight-requests-per-connection': {
        type: 'string',
        default: String(DEFAULT_LIMITS.maxInFlightRequestsPerConnection),
        describe: 'requests of one connection started and not yet answered',
      },
      'max-buffered-bytes-per-connection': {
        type: 'string',
        default: String(DEFAULT_LIMITS.maxBufferedBytesPerConnection),
        describe: 'request and unsent response bytes one connection holds before it is muted',
      },
      'max-unsent-response-bytes-per-connection': {
        type: 'string',
        default: String(DEFAULT_LIMITS.maxUnsentResponseBytesPerConnection),
        describe: 'response bytes a client has not taken before its connection is muted',
      },
      'max-in-flight-bytes': {
        type: 'string',
        default: String(DEFAULT_LIMITS.maxGlobalInFlightBytes),
        describe: 'request bytes received and not yet answered, all connections together',
      },
      'max-in-flight-bytes-per-address': {
        type: 'string',
        default: String(DEFAULT_LIMITS.maxInFlightBytesPerAddress),
        describe: 'the same for the connections of one remote address',
      },
      'request-turn-budget-ms': {
        type: 'string',
        default: String(DEFAULT_LIMITS.requestTurnBudgetMs),
        describe: 'time starting requests per event-loop turn before connections take turns (0 = no turns)',
      },
      'quota-request-percentage': {
        type: 'string',
        describe:
          'request_percentage of every client id without its own: its share of the event loop (%) [default: none]',
      },
      'quota-request-percentage-by-client': {
        type: 'string',
        describe: 'request_percentage per client id: "client-a=10,client-b=0.5" [default: none]',
      },
      'quota-window-num': {
        type: 'string',
        default: String(DEFAULT_CLIENT_QUOTAS.windowNum),
        describe: 'quota.window.num: samples a client quota is measured over',
      },
      'quota-window-size-seconds': {
        type: 'string',
        default: String(DEFAULT_CLIENT_QUOTAS.windowSizeSeconds),
        describe: 'quota.window.size.seconds: length of one sample, and the longest request throttle',
      },
      'client-error-log-interval-ms': {
        type: 'string',
        default: String(DEFAULT_LIMITS.clientErrorLogIntervalMs),
        describe:
          'log connections closed for bad input at most once per remote address per interval (0 = every one)',
      },
      'offsets-topic-partitions': {
        type: 'string',
        default: String(DEFAULT_BROKER.offsetsTopicNumPartitions),
        describe: 'offsets.topic.num.partitions',
      },
      'transaction-state-partitions': {
        type: 'string',
        default: String(DEFAULT_BROKER.transactionStateNumPartitions),
        describe: 'transaction.state.log.num.partitions',
      },
      'transaction-partition-verification': {
        type: 'boolean',
        default: DEFAULT_BROKER.transactionPartitionVerification,
        describe:
          "transaction.partition.verification.enable (KIP-890): verify a transaction's first batch in a partition with its coordinator",
      },
      'group-initial-rebalance-delay-ms': {
        type: 'string',
        default: String(DEFAULT_BROKER.groupInitialRebalanceDelayMs),
        describe:
          "group.initial.rebalance.delay.ms: a new group's first rebalance waits this long for more members",
      },
      'group-min-session-timeout-ms': {
        type: 'string',
        default: String(DEFAULT_BROKER.groupMinSessionTimeoutMs),
        describe: 'group.min.session.timeout.ms: the least session timeout a member may ask',
      },
      'group-max-session-timeout-ms': {
        type: 'string',
        default: String(DEFAULT_BROKER.groupMaxSessionTimeoutMs),
        describe: 'group.max.session.timeout.ms: the most session timeout a member may ask',
      },
      'group-max-size': {
        type: 'string',
        default: String(DEFAULT_BROKER.groupMaxSize),
        describe: 'group.max.size: members per consumer group',
      },
      'group-coordinator-rebalance-protocols': {
        type: 'string',
        default: DEFAULT_BROKER.groupRebalanceProtocols.join(','),
        describe:
          'group.coordinator.rebalance.protocols: classic, and consumer for the consumer group protocol of KIP-848',
      },
      'group-consumer-heartbeat-interval-ms': {
        type: 'string',
        default: String(DEFAULT_BROKER.groupConsumerHeartbeatIntervalMs),
        describe: 'group.consumer.heartbeat.interval.ms: how often consumer-protocol members heartbeat',
      },
      'group-consumer-session-timeout-ms': {
        type: 'string',
        default: String(DEFAULT_BROKER.groupConsumerSessionTimeoutMs),
        describe: 'group.consumer.session.timeout.ms: a consumer-protocol member silent this long is removed',
      },
      'group-consumer-assignors': {
        type: 'string',
        default: DEFAULT_BROKER.groupConsumerAssignors.join(','),
        describe: 'group.consumer.assignors: server-side assignors (uniform, range), the first the default',
      },
      'group-consumer-migration-policy': {
        type: 'string',
        default: DEFAULT_BROKER.groupConsumerMigrationPolicy,
        describe:
          'group.consumer.migration.policy: conversions of running groups between the classic and consumer protocols (disabled, upgrade, downgrade, bidirectional)',
      },
      'offsets-retention-minutes': {
        type: 'string',
        default: String(DEFAULT_BROKER.offsetsRetentionMs / 60_000),
        describe: 'offsets.retention.minutes: committed offsets of an empty group expire after it',
      },
      'fetch-session-cache-slots': {
        type: 'string',
        default: String(DEFAULT_BROKER.fetchSessionCacheSlots),
        describe:
          'max.incremental.fetch.session.cache.slots (KIP-227): incremental fetch sessions kept; 0: none',
      },
      'fetch-session-eviction-ms': {
        type: 'string',
        default: String(DEFAULT_BROKER.fetchSessionEvictionMs),
        describe: 'min.incremental.fetch.session.eviction.ms: a fetch session idle this long may be evicted',
      },
      'transaction-max-timeout-ms': {
        type: 'string',
        default: String(DEFAULT_BROKER.transactionMaxTimeoutMs),
        describe: "transaction.max.timeout.ms: a producer's longer transaction.timeout.ms is refused",
      },
      'transactional-id-expiration-ms': {
        type: 'string',
        default: String(DEFAULT_BROKER.transactionalIdExpirationMs),
        describe: 'transactional.id.expiration.ms: a transactional id idle this long is removed',
      },
      'transaction-abort-interval-ms': {
        type: 'string',
        default: String(DEFAULT_BROKER.transactionAbortTimedOutIntervalMs),
        describe: 'how often transactions past their timeout are aborted',
      },
      'transaction-remove-expired-interval-ms': {
        type: 'string',
        default: String(DEFAULT_BROKER.transactionRemoveExpiredIntervalMs),
        describe: 'how often expired transactional ids are removed',
      },
      'max-partitions-per-node': {
        type: 'string',
        default: String(DEFAULT_BROKER.maxPartitionsPerNode),
        describe: 'partition replicas this node may hold; more is refused',
      },
      'log-scrub-bytes-per-sec': {
        type: 'string',
        default: String(DEFAULT_BROKER.logScrubBytesPerSec),
        describe:
          'rate at which stored batches are read back and checked for damage (a pass an hour at most); 0 turns it off',
      },
      'log-cleaner-enable': {
        type: 'boolean',
        default: DEFAULT_BROKER.logCleanerEnable,
        describe:
          'log.cleaner.enable: compact the partitions of cleanup.policy=compact topics this node leads',
      },
      'log-cleaner-io-max-bytes-per-second': {
        type: 'string',
        default: String(DEFAULT_BROKER.logCleanerIoMaxBytesPerSecond),
        describe:
          'log.cleaner.io.max.bytes.per.second: bytes the cleaner reads and writes a second, all partitions together',
      },
      'log-cleaner-dedupe-buffer-size': {
        type: 'string',
        default: String(DEFAULT_BROKER.logCleanerDedupeBufferSize),
        describe:
          "log.cleaner.dedupe.buffer.size: memory for a cleaning pass's key map (a larger dirty part takes more passes)",
      },
      'log-cleaner-backoff-ms': {
        type: 'string',
        default: String(DEFAULT_BROKER.logCleanerBackoffMs),
        describe: 'log.cleaner.backoff.ms: how long the cleaner waits when no partition needs cleaning',
      },
      ...securityOptions,
      ...adminSecurityOptions,
    })
    .strict()
    .strictCommands()
    .exitProcess(false)
    .help()
    .alias('h', 'help')
    .version(false)
    .wrap(110);
}

type Args = Record<string, unknown> & { _: Array<string | number> };

function toConfig(a: Args, argv: readonly string[] = []): ServerConfig {
  // A flag the operator gave, on the command line or in the environment (CHRONIK_*).
  const named = (flag: string): boolean =>
    argv.some((t) => t === `--${flag}` || t.startsWith(`--${flag}=`)) ||
    process.env[`CHRONIK_${flag.toUpperCase().replace(/-/g, '_')}`] !== undefined;
  const kafkaPort = int('kafka-port', a['kafka-port'] ?? DEFAULT_CONFIG.kafkaPort, 0, 65535);
  const adv = parseHostPort('advertised-addr', String(a['advertised-addr']), kafkaPort);
  const adminSecurity = adminSecurityFromArgs(a);
  const security = securityFromArgs(a, {
    kafkaPortGiven: a['kafka-port'] !== undefined,
    advertisedAddr: String(a['advertised-addr']),
    advertisedHost: adv.host,
  });
  const command = String(a._[0] ?? 'standalone');
  let raft: ServerConfig['raft'];
  if (command === 'raft-cluster') {
    const raftAddr = a['raft-addr'];
    if (typeof raftAddr !== 'string' || raftAddr === '') bad('raft-cluster needs --raft-addr host:port');
    parseHostPort('raft-addr', raftAddr, 0);
    raft = { raftAddr, peers: parsePeers(String(a['peers'] ?? '')), bootstrap: a['bootstrap'] === true };
    const join = a['join'];
    if (join !== undefined) {
      if (typeof join !== 'string' || join === '') bad('--join needs the Raft address host:port of a member');
      parseHostPort('join', join, 0);
      if (raft.bootstrap)
        bad('--join and --bootstrap exclude each other: a joining node does not form a cluster');
      raft.join = join;
    }
    const clusterId = a['cluster-id'];
    if (typeof clusterId === 'string' && clusterId !== '') raft.clusterId = clusterId;
    const rack = a['rack'];
    if (typeof rack === 'string' && rack !== '') raft.rack = rack;
    // Timing: a tick of 10 ms–10 s; election timeouts of at least 3 ticks (a heartbeat every tick)
    // and at least 300 ms, so a loaded machine's pauses do not depose healthy leaders.
    const tickMs = optInt('raft-tick-ms', a['raft-tick-ms'], 10, 10_000);
    const electionTicks = optInt('raft-election-ticks', a['raft-election-ticks'], 3, 1000);
    const partitionElectionTicks = optInt(
      'raft-partition-election-ticks',
      a['raft-partition-election-ticks'],
      3,
      1000,
    );
    const effectiveTickMs = tickMs ?? 100;
    for (const [name, ticks] of [
      ['raft-election-ticks', electionTicks ?? 10],
      ['raft-partition-election-ticks', partitionElectionTicks ?? 7],
    ] as const) {
      if (ticks * effectiveTickMs < 300)
        bad(`--${name}: ${ticks} ticks of ${effectiveTickMs} ms is an election timeout under 300 ms`);
    }
    if (tickMs !== undefined) raft.tickMs = tickMs;
    if (electionTicks !== undefined) raft.electionTicks = electionTicks;
    if (partitionElectionTicks !== undefined) raft.partitionElectionTicks = partitionElectionTicks;
    // Below the Raft core's own uncommitted limit (64 MiB) by at least one entry (16 MiB), so that
    // the core never refuses a proposal the partition admitted.
    const uncommitted = optInt(
      'raft-partition-uncommitted-bytes',
      a['raft-partition-uncommitted-bytes'],
      64 * 1024,
      48 * 1024 * 1024,
    );
    if (uncommitted !== undefined) raft.partitionUncommittedBytes = uncommitted;
    const tlsFiles = ['raft-tls-cert-file', 'raft-tls-key-file', 'raft-tls-ca-file'] as const;
    const given = tlsFiles.filter((k) => a[k] !== undefined && a[k] !== '');
    if (given.length > 0 && given.length < tlsFiles.length)
      bad('--raft-tls-cert-file, --raft-tls-key-file and --raft-tls-ca-file go together');
    if (given.length === 0 && a['raft-tls-node-identity'] !== undefined)
      bad('--raft-tls-node-identity needs --raft-tls-cert-file, --raft-tls-key-file and --raft-tls-ca-file');
    if (given.length === tlsFiles.length)
      raft.tls = {
        certFile: String(a['raft-tls-cert-file']),
        keyFile: String(a['raft-tls-key-file']),
        caFile: String(a['raft-tls-ca-file']),
        checkNodeIds: String(a['raft-tls-node-identity'] ?? 'cn') === 'cn',
      };
    // At least 64 KiB/s (a batch larger than a second of the rate waits longer, never forever).
    const throttle = optInt(
      'replication-throttled-rate',
      a['replication-throttled-rate'],
      64 * 1024,
      2 ** 40,
    );
    if (throttle !== undefined) raft.replicationThrottledRate = throttle;
    const balancerMoves = optInt(
      'balancer-max-concurrent-moves',
      a['balancer-max-concurrent-moves'],
      1,
      1000,
    );
    if (balancerMoves !== undefined) raft.balancerMaxConcurrentMoves = balancerMoves;
  }
  const flushMessages = optInt(
    'flush-interval-messages',
    a['flush-interval-messages'],
    1,
    Number.MAX_SAFE_INTEGER,
  );
  // Not defaulted by yargs: the raft-cluster mode picks its own default when the flag is absent.
  const replicationFactor = optInt('default-replication-factor', a['default-replication-factor'], 1, 32);
  const config: ServerConfig = {
    ...DEFAULT_CONFIG,
    mode: command === 'raft-cluster' ? 'raft-cluster' : 'standalone',
    nodeId: int('node-id', a['node-id'], 0, 2 ** 31 - 1),
    listenHost: String(a['listen-addr']),
    kafkaPort,
    advertisedHost: adv.host,
    advertisedPort: adv.port,
    adminHost: String(a['listen-addr']),
    adminPort: int('admin-port', a['admin-port'], -1, 65535),
    adminRecords: String(a['admin-records']) as AdminRecords,
    dataDir: String(a['data-dir']),
    logLevel: String(a['log-level']) as LogLevel,
    limits: {
      maxRequestBytes: int('max-request-bytes', a['max-request-bytes'], 1024, 2 ** 31 - 1),
      maxConnections: int('max-connections', a['max-connections'], 1, 1_000_000),
      maxOpenDataFiles: int('max-open-data-files', a['max-open-data-files'], 1, 1_000_000),
      idleTimeoutMs: int('idle-timeout-ms', a['idle-timeout-ms'], 0, 2 ** 31 - 1),
      requestFrameTimeoutMs: int('request-frame-timeout-ms', a['request-frame-timeout-ms'], 0, 2 ** 31 - 1),
      maxInFlightRequestsPerConnection: int(
        'max-in-flight-requests-per-connection',
        a['max-in-flight-requests-per-connection'],
        1,
        100_000,
      ),
      maxBufferedBytesPerConnection: int(
        'max-buffered-bytes-per-connection',
        a['max-buffered-bytes-per-connection'],
        64 * 1024,
        2 ** 40,
      ),
      maxUnsentResponseBytesPerConnection: int(
        'max-unsent-response-bytes-per-connection',
        a['max-unsent-response-bytes-per-connection'],
        1024,
        2 ** 40,
      ),
      maxGlobalInFlightBytes: int('max-in-flight-bytes', a['max-in-flight-bytes'], 64 * 1024, 2 ** 40),
      maxInFlightBytesPerAddress: int(
        'max-in-flight-bytes-per-address',
        a['max-in-flight-bytes-per-address'],
        64 * 1024,
        2 ** 40,
      ),
      requestTurnBudgetMs: int('request-turn-budget-ms', a['request-turn-budget-ms'], 0, 1000),
      clientErrorLogIntervalMs: int(
        'client-error-log-interval-ms',
        a['client-error-log-interval-ms'],
        0,
        2 ** 31 - 1,
      ),
    },
    clientQuotas: {
      requestPercentageDefault:
        a['quota-request-percentage'] === undefined
          ? undefined
          : percentage('quota-request-percentage', a['quota-request-percentage']),
      requestPercentageByClientId: parseClientPercentages(
        'quota-request-percentage-by-client',
        String(a['quota-request-percentage-by-client'] ?? ''),
      ),
      windowNum: int('quota-window-num', a['quota-window-num'], 1, 100),
      windowSizeSeconds: int('quota-window-size-seconds', a['quota-window-size-seconds'], 1, 3600),
    },
    broker: {
      ...DEFAULT_BROKER,
      autoCreateTopicsEnable: a['auto-create-topics'] !== false,
      numPartitions: int('num-partitions', a['num-partitions'], 1, 100_000),
      defaultReplicationFactor: replicationFactor ?? DEFAULT_BROKER.defaultReplicationFactor,
      defaultReplicationFactorExplicit: replicationFactor !== undefined,
      logFlushIntervalMs:
        optInt('flush-interval-ms', a['flush-interval-ms'], 0, 2 ** 31 - 1) ??
        DEFAULT_BROKER.logFlushIntervalMs,
      logFlushBackgroundBytes: int(
        'flush-background-bytes',
        a['flush-background-bytes'],
        0,
        Number.MAX_SAFE_INTEGER,
      ),
      logFlushIntervalMessages: flushMessages,
      logRetentionMs:
        optInt('retention-ms', a['retention-ms'], -1, Number.MAX_SAFE_INTEGER) ??
        DEFAULT_BROKER.logRetentionMs,
      logRetentionBytes:
        optInt('retention-bytes', a['retention-bytes'], -1, Number.MAX_SAFE_INTEGER) ??
        DEFAULT_BROKER.logRetentionBytes,
      logSegmentBytes:
        optInt('segment-bytes', a['segment-bytes'], 1024 * 1024, 2 ** 31 - 1) ??
        DEFAULT_BROKER.logSegmentBytes,
      staticConfigNames: [
        ...STATIC_CONFIG_FLAGS.filter(([flag]) => a[flag] !== undefined).map(([, name]) => name),
        ...GROUP_CONFIG_FLAGS.filter(([flag]) => named(flag)).map(([, name]) => name),
      ],
      offsetsTopicNumPartitions: int('offsets-topic-partitions', a['offsets-topic-partitions'], 1, 1000),
      transactionStateNumPartitions: int(
        'transaction-state-partitions',
        a['transaction-state-partitions'],
        1,
        1000,
      ),
      transactionPartitionVerification: a['transaction-partition-verification'] !== false,
      groupInitialRebalanceDelayMs: int(
        'group-initial-rebalance-delay-ms',
        a['group-initial-rebalance-delay-ms'],
        0,
        2 ** 31 - 1,
      ),
      groupMinSessionTimeoutMs: int(
        'group-min-session-timeout-ms',
        a['group-min-session-timeout-ms'],
        1,
        2 ** 31 - 1,
      ),
      groupMaxSessionTimeoutMs: int(
        'group-max-session-timeout-ms',
        a['group-max-session-timeout-ms'],
        1,
        2 ** 31 - 1,
      ),
      groupMaxSize: int('group-max-size', a['group-max-size'], 1, 1_000_000),
      groupRebalanceProtocols: names(a['group-coordinator-rebalance-protocols']),
      groupConsumerHeartbeatIntervalMs: int(
        'group-consumer-heartbeat-interval-ms',
        a['group-consumer-heartbeat-interval-ms'],
        1,
        2 ** 31 - 1,
      ),
      groupConsumerSessionTimeoutMs: int(
        'group-consumer-session-timeout-ms',
        a['group-consumer-session-timeout-ms'],
        1,
        2 ** 31 - 1,
      ),
      groupConsumerAssignors: names(a['group-consumer-assignors']),
      groupConsumerMigrationPolicy: migrationPolicy(a['group-consumer-migration-policy']),
      offsetsRetentionMs:
        int('offsets-retention-minutes', a['offsets-retention-minutes'], 1, 2 ** 31 - 1) * 60_000,
      fetchSessionCacheSlots: int('fetch-session-cache-slots', a['fetch-session-cache-slots'], 0, 100_000),
      fetchSessionEvictionMs: int(
        'fetch-session-eviction-ms',
        a['fetch-session-eviction-ms'],
        0,
        2 ** 31 - 1,
      ),
      transactionMaxTimeoutMs: int(
        'transaction-max-timeout-ms',
        a['transaction-max-timeout-ms'],
        1,
        2 ** 31 - 1,
      ),
      transactionalIdExpirationMs: int(
        'transactional-id-expiration-ms',
        a['transactional-id-expiration-ms'],
        1,
        2 ** 31 - 1,
      ),
      transactionAbortTimedOutIntervalMs: int(
        'transaction-abort-interval-ms',
        a['transaction-abort-interval-ms'],
        1,
        2 ** 31 - 1,
      ),
      transactionRemoveExpiredIntervalMs: int(
        'transaction-remove-expired-interval-ms',
        a['transaction-remove-expired-interval-ms'],
        1,
        2 ** 31 - 1,
      ),
      maxPartitionsPerNode: int('max-partitions-per-node', a['max-partitions-per-node'], 1, 1_000_000),
      logScrubBytesPerSec: int(
        'log-scrub-bytes-per-sec',
        a['log-scrub-bytes-per-sec'],
        0,
        1024 * 1024 * 1024,
      ),
      logCleanerEnable: a['log-cleaner-enable'] !== false,
      logCleanerIoMaxBytesPerSecond: int(
        'log-cleaner-io-max-bytes-per-second',
        a['log-cleaner-io-max-bytes-per-second'],
        1024,
        2 ** 40,
      ),
      logCleanerDedupeBufferSize: int(
        'log-cleaner-dedupe-buffer-size',
        a['log-cleaner-dedupe-buffer-size'],
        1024 * 1024,
        2 ** 32,
      ),
      logCleanerBackoffMs: int('log-cleaner-backoff-ms', a['log-cleaner-backoff-ms'], 10, 2 ** 31 - 1),
    },
    raft,
    ...(security !== undefined ? { security } : {}),
    ...(adminSecurity !== undefined ? { adminSecurity } : {}),
  };
  return validateConfig(config);
}

/** Parses argv (without node and script) into a config, or into what to print and the exit code. */
export function parseCommandLine(argv: readonly string[]): CommandLineResult {
  let parseError: Error | undefined;
  let parsed: Args | undefined;
  let output = '';
  buildParser(argv).parse([...argv], {}, (err: Error | undefined, args: unknown, out: string) => {
    parseError = err ?? undefined;
    parsed = args as Args;
    output = out;
  });
  if (parseError) {
    return {
      kind: 'exit',
      exitCode: 2,
      stdout: '',
      stderr: `chronik-server: ${parseError.message}\nRun chronik-server --help for usage.\n`,
    };
  }
  if (parsed === undefined || parsed['help'] === true) {
    return { kind: 'exit', exitCode: 0, stdout: output.endsWith('\n') ? output : `${output}\n`, stderr: '' };
  }
  try {
    return { kind: 'run', config: toConfig(parsed, argv) };
  } catch (e) {
    return {
      kind: 'exit',
      exitCode: 2,
      stdout: '',
      stderr: `chronik-server: ${errorMessage(e)}\nRun chronik-server --help for usage.\n`,
    };
  }
}
