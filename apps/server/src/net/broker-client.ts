// The inter-broker client: Kafka requests from this node to another node's advertised Kafka
// listener, as Kafka's brokers send them to each other — WriteTxnMarkers from a transaction
// coordinator to the leaders of a transaction's partitions, AddPartitionsToTxn `verify_only` from a
// partition leader to a transactional id's coordinator (docs/design/transactions.md).
//
// Written by hand on @chronik/protocol's codec (frames, headers, typed bodies): the npm Kafka clients
// expose their own request models, not the raw, versioned requests of our codec, and bring their own
// connection management and retries, which would sit beside ours.
//
// - One connection per node, opened on first use and again after it fails; the first request on it
//   is ApiVersions, and each request uses the highest version both sides have within the caller's
//   range (UNSUPPORTED_VERSION when there is none).
// - Responses are matched by correlation id. A request has a deadline (REQUEST_TIMED_OUT; a late
//   answer is dropped); a connection that fails or closes fails every request on it
//   (NETWORK_EXCEPTION, retriable: the callers retry).
// - Bounded: requests in flight per node (beyond: NETWORK_EXCEPTION at once), the size of a frame.
// - A node whose advertised address changed (it restarted on another port) gets a new connection.
import net from 'node:net';
import type { ApiRequestByKey, ApiResponseByKey, KnownApiKey } from '@chronik/protocol';
import { ApiKey, ErrorCode, FrameDecoder, decodeResponseFrame, encodeRequestFrame } from '@chronik/protocol';
import { KafkaError } from '../errors.js';
import type { Scheduler, TimerHandle } from '@chronik/env';
import type { Logger } from '../logger.js';

/** Where a node's Kafka listener is (its advertised address). */
export interface BrokerAddress {
  host: string;
  port: number;
}

export interface BrokerRequestOptions {
  /** The highest version this caller speaks; the request uses min(this, the node's highest). */
  maxVersion: number;
  /** The lowest version the caller can use. Default 0. */
  minVersion?: number;
  timeoutMs: number;
}

/** Requests to other nodes (production: BrokerClient over sockets; a simulation may route them in process). */
export interface BrokerCalls {
  request<K extends KnownApiKey>(
    nodeId: number,
    apiKey: K,
    body: ApiRequestByKey[K],
    options: BrokerRequestOptions,
  ): Promise<{ version: number; response: ApiResponseByKey[K] }>;
  close(): Promise<void>;
}

export interface BrokerClientOptions {
  /** The node's own id (its client id names it). */
  nodeId: number;
  /** The advertised address of a node, or undefined when the metadata does not know it. */
  addressOf(nodeId: number): BrokerAddress | undefined;
  scheduler: Scheduler;
  logger: Logger;
  /** Requests in flight to one node. Default 256. */
  maxInFlightPerNode?: number;
  /** Longest response frame accepted. Default 100 MiB. */
  maxFrameBytes?: number;
  /** Time to connect and learn the node's API versions. Default 5 s. */
  connectTimeoutMs?: number;
  /** Opens a socket (tests); default net.connect. */
  connect?: (address: BrokerAddress) => net.Socket;
}

interface Pending {
  apiKey: KnownApiKey;
  version: number;
  resolve(response: unknown): void;
  reject(e: Error): void;
  timer: TimerHandle;
}

const DEFAULT_MAX_IN_FLIGHT = 256;
const DEFAULT_MAX_FRAME_BYTES = 100 * 1024 * 1024;
const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

function networkError(message: string, cause?: unknown): KafkaError {
  return new KafkaError('NETWORK_EXCEPTION', message, cause === undefined ? undefined : { cause });
}

/** One connection to one node. */
class NodeConnection {
  private readonly decoder: FrameDecoder;
  private readonly pending = new Map<number, Pending>();
  private correlation = 1;
  private failure: Error | null = null;
  /** API key → the node's highest version, once ApiVersions answered. */
  readonly ready: Promise<Map<number, { min: number; max: number }>>;

  constructor(
    readonly nodeId: number,
    readonly address: BrokerAddress,
    private readonly socket: net.Socket,
    private readonly options: BrokerClientOptions,
  ) {
    this.decoder = new FrameDecoder({ maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) =>
      this.fail(networkError(`connection to node ${nodeId} failed: ${e.message}`, e)),
    );
    socket.on('close', () => this.fail(networkError(`connection to node ${nodeId} closed`)));
    const connected = new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
      socket.once('close', () => reject(networkError(`connection to node ${nodeId} closed`)));
    });
    const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.ready = connected
      .then(() =>
        this.send(ApiKey.ApiVersions, 0, {} as ApiRequestByKey[typeof ApiKey.ApiVersions], timeoutMs),
      )
      .then((r) => {
        if (r.errorCode !== ErrorCode.NONE)
          throw networkError(`node ${nodeId} answered ApiVersions with error ${r.errorCode}`);
        return new Map(r.apiKeys.map((k) => [k.apiKey, { min: k.minVersion, max: k.maxVersion }]));
      });
    // A connection whose handshake failed is failed (callers see the rejection through `ready`).
    this.ready.catch((e: unknown) => this.fail(e instanceof Error ? e : networkError(String(e))));
  }

  get failed(): boolean {
    return this.failure !== null;
  }

  /** Requests taken for this connection and not settled (waiting for the handshake, or sent). */
  taken = 0;

  /** Sends one request on this connection; resolves with its response. */
  send<K extends KnownApiKey>(
    apiKey: K,
    version: number,
    body: ApiRequestByKey[K],
    timeoutMs: number,
  ): Promise<ApiResponseByKey[K]> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const correlationId = this.correlation;
    this.correlation = this.correlation >= 0x7fffffff ? 1 : this.correlation + 1;
    return new Promise((resolve, reject) => {
      const timer = this.options.scheduler.setTimer(timeoutMs, () => {
        if (this.pending.delete(correlationId))
          reject(
            new KafkaError(
              'REQUEST_TIMED_OUT',
              `node ${this.nodeId} did not answer API ${apiKey} v${version} within ${timeoutMs} ms`,
            ),
          );
      });
      this.pending.set(correlationId, {
        apiKey,
        version,
        resolve: resolve as (r: unknown) => void,
        reject,
        timer,
      });
      try {
        const frame = encodeRequestFrame(
          {
            requestApiKey: apiKey,
            requestApiVersion: version,
            correlationId,
            clientId: `chronik-node-${this.options.nodeId}`,
          },
          body,
        );
        for (const c of frame) this.socket.write(c);
      } catch (e) {
        this.pending.delete(correlationId);
        timer.cancel();
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  private onData(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (e) {
      this.fail(networkError(`node ${this.nodeId} sent a malformed frame`, e));
      return;
    }
    for (const frame of frames) {
      if (frame.length < 4) {
        this.fail(networkError(`node ${this.nodeId} sent a frame of ${frame.length} bytes`));
        return;
      }
      const p = this.pending.get(frame.readInt32BE(0));
      // A late answer (its request timed out) is dropped.
      if (p === undefined) continue;
      this.pending.delete(frame.readInt32BE(0));
      p.timer.cancel();
      try {
        p.resolve(decodeResponseFrame(p.apiKey, p.version, frame).body);
      } catch (e) {
        p.reject(networkError(`node ${this.nodeId} sent an undecodable response to API ${p.apiKey}`, e));
      }
    }
  }

  /** Fails the connection and every request on it (idempotent). */
  fail(e: Error): void {
    if (this.failure !== null) return;
    this.failure = e;
    for (const p of this.pending.values()) {
      p.timer.cancel();
      p.reject(e);
    }
    this.pending.clear();
    this.socket.destroy();
  }
}

export class BrokerClient implements BrokerCalls {
  private readonly connections = new Map<number, NodeConnection>();
  private closed = false;

  constructor(private readonly options: BrokerClientOptions) {}

  async request<K extends KnownApiKey>(
    nodeId: number,
    apiKey: K,
    body: ApiRequestByKey[K],
    options: BrokerRequestOptions,
  ): Promise<{ version: number; response: ApiResponseByKey[K] }> {
    const conn = this.connection(nodeId);
    if (conn.taken >= (this.options.maxInFlightPerNode ?? DEFAULT_MAX_IN_FLIGHT))
      throw networkError(`too many requests in flight to node ${nodeId}`);
    conn.taken++;
    try {
      const versions = await conn.ready;
      const theirs = versions.get(apiKey);
      const min = options.minVersion ?? 0;
      const version = Math.min(options.maxVersion, theirs?.max ?? -1);
      if (theirs === undefined || version < min || version < theirs.min)
        throw new KafkaError(
          'UNSUPPORTED_VERSION',
          `node ${nodeId} does not serve API ${apiKey} v${min}–${options.maxVersion}`,
        );
      const response = await conn.send(apiKey, version, body, options.timeoutMs);
      return { version, response };
    } finally {
      conn.taken--;
    }
  }

  /** The connection to `nodeId`: the open one, or a new one (first use, failed, or moved). */
  private connection(nodeId: number): NodeConnection {
    if (this.closed) throw networkError('the inter-broker client is closed');
    const address = this.options.addressOf(nodeId);
    if (address === undefined) throw networkError(`node ${nodeId} has no known address`);
    const current = this.connections.get(nodeId);
    if (
      current !== undefined &&
      !current.failed &&
      current.address.host === address.host &&
      current.address.port === address.port
    )
      return current;
    current?.fail(networkError(`connection to node ${nodeId} replaced`));
    const socket = (this.options.connect ?? ((a) => net.connect(a.port, a.host)))(address);
    const conn = new NodeConnection(nodeId, address, socket, this.options);
    this.connections.set(nodeId, conn);
    conn.ready.catch((e: unknown) =>
      this.options.logger.debug(
        { node: nodeId, err: e instanceof Error ? e.message : String(e) },
        'inter-broker connection failed',
      ),
    );
    return conn;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.connections.values()) c.fail(networkError('the inter-broker client closed'));
    this.connections.clear();
  }
}
