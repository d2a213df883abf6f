// The Kafka client of the command-line tool, over @chronik/protocol's generated messages.
//
// Why hand-written: the npm Kafka clients (kafkajs, @platformatic/kafka) carry codecs of their own
// and do not expose our codec's typed requests; a tool meant to check Chronik (and any Kafka) should
// speak exactly the bytes @chronik/protocol produces, every API through one typed `request`.
//
// What it does:
// - Bootstrap: the `-b` brokers are tried in turn until one answers ApiVersions; Metadata then
//   names every broker, and requests go to the one they belong to (partition leaders from
//   Metadata, group coordinators from FindCoordinator).
// - One connection per broker address and purpose (the coordinator's is separate, as in Kafka's
//   Java client, so heartbeats do not wait behind a long-polling Fetch).
// - `retry` runs an operation again on retriable errors (Kafka's retriable codes, lost connections,
//   time-outs) after a backoff doubling from `retryBackoffMs` up to 1 s, at most `retries` more
//   times, and refreshes the metadata between tries: the bound on every retry loop of the tool.
import type { ApiRequestByKey, ApiResponseByKey, KnownApiKey } from '@chronik/protocol';
import { ApiKey, ErrorCode, ZERO_UUID } from '@chronik/protocol';
import { CliError, checkAdmin, checkKafka } from '../errors.js';
import { BrokerConnection } from './connection.js';

export interface ClientOptions {
  /** host:port of the bootstrap brokers. */
  brokers: readonly string[];
  clientId: string;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  /** Further tries of an operation that met a retriable error. */
  retries: number;
  retryBackoffMs: number;
}

export const DEFAULT_CLIENT_OPTIONS: Omit<ClientOptions, 'brokers'> = {
  clientId: 'chronik-cli',
  connectTimeoutMs: 5000,
  requestTimeoutMs: 15_000,
  retries: 5,
  retryBackoffMs: 100,
};

export interface BrokerInfo {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface PartitionInfo {
  partition: number;
  errorCode: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offline: number[];
}

export interface TopicInfo {
  name: string;
  topicId: string;
  errorCode: number;
  isInternal: boolean;
  partitions: PartitionInfo[];
}

export interface ClusterMetadata {
  clusterId: string | null;
  controllerId: number;
  brokers: BrokerInfo[];
  /** The topics asked for (all when none were named), in name order. */
  topics: TopicInfo[];
}

export type Purpose = 'data' | 'coordinator';

/** "host:port" or "host" (port 9092); IPv6 in brackets. */
export function parseBrokerAddress(raw: string): { host: string; port: number } {
  const s = raw.trim();
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  const [host, port] = v6 ? [v6[1], v6[2]] : s.split(':').length <= 2 ? s.split(':') : [undefined, undefined];
  const p = port === undefined ? 9092 : Number(port);
  if (host === undefined || host === '' || !Number.isInteger(p) || p < 1 || p > 65535)
    throw new CliError('USAGE', `"${raw}" is not a broker address (host:port)`);
  return { host, port: p };
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export class KafkaClient {
  private readonly connections = new Map<string, Promise<BrokerConnection>>();
  private readonly brokers = new Map<number, BrokerInfo>();
  private readonly bootstrap: Array<{ host: string; port: number }>;

  constructor(readonly options: ClientOptions) {
    if (options.brokers.length === 0) throw new CliError('USAGE', 'no broker to connect to (-b host:port)');
    this.bootstrap = options.brokers.map(parseBrokerAddress);
  }

  /** A connection to any broker: a known one, else the bootstrap list in turn. */
  async any(): Promise<BrokerConnection> {
    const candidates = [...this.brokers.values(), ...this.bootstrap];
    let last: unknown;
    for (const b of candidates) {
      try {
        return await this.connect(b.host, b.port, 'data');
      } catch (e) {
        last = e;
      }
    }
    throw last instanceof CliError
      ? last
      : new CliError('CONNECTION', `no broker reachable among ${this.options.brokers.join(', ')}`, {
          retriable: true,
        });
  }

  /** The connection to broker `nodeId` (known from an earlier Metadata answer). */
  async broker(nodeId: number, purpose: Purpose = 'data'): Promise<BrokerConnection> {
    let b = this.brokers.get(nodeId);
    if (b === undefined) {
      await this.metadata([]);
      b = this.brokers.get(nodeId);
    }
    if (b === undefined)
      throw new CliError('KAFKA', `broker ${nodeId} is not in the cluster's metadata`, {
        kafkaCode: ErrorCode.BROKER_NOT_AVAILABLE,
        retriable: true,
      });
    return this.connect(b.host, b.port, purpose);
  }

  async connect(host: string, port: number, purpose: Purpose): Promise<BrokerConnection> {
    const key = `${purpose}/${host}:${port}`;
    const existing = this.connections.get(key);
    if (existing !== undefined) {
      const conn = await existing.catch(() => undefined);
      if (conn !== undefined && !conn.closed) return conn;
      this.connections.delete(key);
    }
    const opening = BrokerConnection.open({
      host,
      port,
      clientId: this.options.clientId,
      connectTimeoutMs: this.options.connectTimeoutMs,
      requestTimeoutMs: this.options.requestTimeoutMs,
    });
    this.connections.set(key, opening);
    opening.catch(() => this.connections.delete(key));
    return opening;
  }

  /** A request to any broker. */
  async request<K extends KnownApiKey>(
    apiKey: K,
    body: ApiRequestByKey[K] | ((version: number) => ApiRequestByKey[K]),
  ): Promise<{ version: number; body: ApiResponseByKey[K] }> {
    return (await this.any()).request(apiKey, body);
  }

  /**
   * Metadata of `topics` (null: every topic; []: brokers only). Topics are never auto-created.
   * Remembers the brokers for later requests.
   */
  async metadata(topics: readonly string[] | null): Promise<ClusterMetadata> {
    const { body } = await this.request(ApiKey.Metadata, {
      topics: topics === null ? null : topics.map((name) => ({ topicId: ZERO_UUID, name })),
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    for (const b of body.brokers) this.brokers.set(b.nodeId, { ...b });
    return {
      clusterId: body.clusterId,
      controllerId: body.controllerId,
      brokers: body.brokers
        .map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack }))
        .sort((a, b) => a.nodeId - b.nodeId),
      topics: body.topics
        .map((t) => ({
          name: t.name ?? '',
          topicId: t.topicId,
          errorCode: t.errorCode,
          isInternal: t.isInternal,
          partitions: t.partitions
            .map((p) => ({
              partition: p.partitionIndex,
              errorCode: p.errorCode,
              leader: p.leaderId,
              leaderEpoch: p.leaderEpoch,
              replicas: p.replicaNodes,
              isr: p.isrNodes,
              offline: p.offlineReplicas,
            }))
            .sort((a, b) => a.partition - b.partition),
        }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    };
  }

  /** `metadata`, tried again on retriable errors (a broker restarting, a lost connection). */
  async metadataWithRetry(topics: readonly string[] | null): Promise<ClusterMetadata> {
    return this.retry('the cluster metadata', () => this.metadata(topics));
  }

  /**
   * The metadata of existing topics: UNKNOWN_TOPIC_OR_PARTITION (or another topic error) for any
   * that is missing. Retriable topic errors (a leader being elected) are retried.
   */
  async topics(names: readonly string[]): Promise<TopicInfo[]> {
    return this.retry(`metadata of ${names.join(', ')}`, async () => {
      const md = await this.metadata(names);
      return names.map((name) => {
        const t = md.topics.find((x) => x.name === name);
        const code = t?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        // A topic that Metadata does not know is final here (as in Kafka's admin client), though
        // the code is retriable for a producer waiting for a topic being created.
        checkAdmin(code, `topic "${name}"`);
        if (t === undefined) throw new CliError('PROTOCOL', `Metadata left out topic "${name}"`);
        return t;
      });
    });
  }

  /** The coordinator of a consumer group, through FindCoordinator (batched from v4 on). */
  async coordinator(groupId: string): Promise<BrokerConnection> {
    return this.retry(`the coordinator of group "${groupId}"`, async () => {
      const { version, body } = await this.request(ApiKey.FindCoordinator, (v) => ({
        key: v < 4 ? groupId : '',
        keyType: 0,
        coordinatorKeys: v >= 4 ? [groupId] : [],
      }));
      const c = version >= 4 ? body.coordinators[0] : { ...body, key: groupId };
      if (c === undefined) throw new CliError('PROTOCOL', 'FindCoordinator answered no coordinator');
      checkKafka(c.errorCode, `group "${groupId}"`, c.errorMessage);
      this.brokers.set(c.nodeId, { nodeId: c.nodeId, host: c.host, port: c.port, rack: null });
      return this.connect(c.host, c.port, 'coordinator');
    });
  }

  /**
   * Runs `op` and runs it again on a retriable error, at most `retries` more times, waiting a
   * doubling backoff in between (the metadata is asked again by the next try's own requests).
   */
  async retry<T>(what: string, op: (attempt: number) => Promise<T>): Promise<T> {
    let backoffMs = this.options.retryBackoffMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await op(attempt);
      } catch (e) {
        if (!(e instanceof CliError) || !e.retriable || attempt >= this.options.retries) {
          if (e instanceof CliError && e.retriable && attempt > 0)
            throw new CliError(e.code, `${e.message} (gave up on ${what} after ${attempt + 1} tries)`, {
              cause: e,
              retriable: false,
              ...(e.kafkaCode !== undefined ? { kafkaCode: e.kafkaCode } : {}),
            });
          throw e;
        }
        await sleep(backoffMs);
        backoffMs = Math.min(1000, backoffMs * 2);
      }
    }
  }

  close(): void {
    for (const p of this.connections.values()) void p.then((c) => c.close()).catch(() => undefined);
    this.connections.clear();
  }
}
