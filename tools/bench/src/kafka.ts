// A minimal pipelined Kafka connection for the load generator, built on @chronik/protocol's
// generated codec: many requests in flight on one socket, responses matched in order (Kafka answers
// strictly in request order on a connection). Also the few admin calls the benchmark needs.
import * as net from 'node:net';
import {
  ApiKey,
  ErrorCode,
  FrameDecoder,
  decodeResponseFrame,
  defaultCreateTopicsRequest,
  defaultDeleteTopicsRequest,
  defaultDeleteTopicsRequestDeleteTopicState,
  defaultMetadataRequest,
  encodeRequestFrame,
  kafkaErrorInfo,
} from '@chronik/protocol';
import type { ApiRequestByKey, ApiResponseByKey, KnownApiKey, MetadataResponse } from '@chronik/protocol';
import { BenchError, errorMessage } from './errors.js';

export const METADATA_VERSION = 12;
export const CREATE_TOPICS_VERSION = 7;
export const DELETE_TOPICS_VERSION = 6;
export const PRODUCE_VERSION = 9;
export const FETCH_VERSION = 12;

export interface BrokerAddress {
  host: string;
  port: number;
}

interface Pending {
  correlationId: number;
  apiKey: number;
  version: number;
  resolve: (frame: Buffer) => void;
  reject: (e: Error) => void;
}

/** A request pre-encoded once and sent many times: only the correlation id changes. */
export interface PrebuiltRequest {
  apiKey: KnownApiKey;
  version: number;
  /** The whole frame, length prefix included; bytes 8..11 are the correlation id. */
  frame: Buffer;
}

/** Encodes a request once for `sendPrebuilt`. */
export function prebuildRequest<K extends KnownApiKey>(
  apiKey: K,
  version: number,
  body: ApiRequestByKey[K],
  clientId = 'chronik-bench',
): PrebuiltRequest {
  const frame = Buffer.concat(
    encodeRequestFrame(
      { requestApiKey: apiKey, requestApiVersion: version, correlationId: 0, clientId } as never,
      body,
    ),
  );
  return { apiKey, version, frame };
}

export class KafkaConnection {
  private readonly decoder = new FrameDecoder({ maxFrameBytes: 256 * 1024 * 1024 });
  private readonly pending: Pending[] = [];
  private head = 0;
  private nextCorrelationId = 1;
  private failure: Error | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) =>
      this.fail(new BenchError('ConnectionFailed', `connection error: ${e.message}`, { cause: e })),
    );
    socket.on('close', () =>
      this.fail(new BenchError('ConnectionFailed', 'connection closed by the broker')),
    );
  }

  static connect(address: BrokerAddress, timeoutMs = 10_000): Promise<KafkaConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: address.host, port: address.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new BenchError('Timeout', `connect to ${address.host}:${address.port} timed out`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new KafkaConnection(socket));
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(
          new BenchError('ConnectionFailed', `connect to ${address.host}:${address.port}: ${e.message}`, {
            cause: e,
          }),
        );
      });
    });
  }

  /** Requests sent and not answered yet. */
  get inFlight(): number {
    return this.pending.length - this.head;
  }

  /** Sends a request and resolves with its decoded response. */
  async request<K extends KnownApiKey>(
    apiKey: K,
    version: number,
    body: ApiRequestByKey[K],
  ): Promise<ApiResponseByKey[K]> {
    const frame = await this.sendPrebuilt(prebuildRequest(apiKey, version, body));
    return decodeResponseFrame(apiKey, version, frame).body;
  }

  /** Sends a pre-encoded request with a fresh correlation id; resolves with the raw response frame. */
  sendPrebuilt(req: PrebuiltRequest): Promise<Buffer> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = (this.nextCorrelationId + 1) & 0x7fffffff;
    // The shared body is never modified: only the 12-byte head (length, key, version, id) is fresh.
    const head = Buffer.from(req.frame.subarray(0, 12));
    head.writeInt32BE(correlationId, 8);
    return new Promise<Buffer>((resolve, reject) => {
      this.pending.push({ correlationId, apiKey: req.apiKey, version: req.version, resolve, reject });
      this.socket.cork();
      this.socket.write(head);
      this.socket.write(req.frame.subarray(12));
      this.socket.uncork();
    });
  }

  close(): void {
    this.fail(new BenchError('ConnectionFailed', 'connection closed'));
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (e) {
      this.fail(new BenchError('BrokerError', `bad response frame: ${errorMessage(e)}`, { cause: e }));
      this.socket.destroy();
      return;
    }
    for (const frame of frames) {
      const p = this.pending[this.head];
      if (p === undefined) {
        this.fail(new BenchError('BrokerError', 'a response arrived with no request in flight'));
        this.socket.destroy();
        return;
      }
      this.head++;
      if (frame.length < 4 || frame.readInt32BE(0) !== p.correlationId) {
        p.reject(
          new BenchError(
            'BrokerError',
            `response correlation id ${frame.length >= 4 ? frame.readInt32BE(0) : '?'} for request ${p.correlationId}`,
          ),
        );
        this.fail(new BenchError('BrokerError', 'responses out of order'));
        this.socket.destroy();
        return;
      }
      p.resolve(frame);
    }
    // Compact the queue now and then so it does not grow with the run.
    if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
  }

  private fail(e: Error): void {
    if (this.failure !== null) return;
    this.failure = e;
    for (let i = this.head; i < this.pending.length; i++) this.pending[i]!.reject(e);
    this.pending.length = 0;
    this.head = 0;
  }
}

/** A Kafka error code as "NAME (n)". */
export function errorName(code: number): string {
  const info = kafkaErrorInfo(code);
  return info === undefined ? `error ${code}` : `${info.name} (${code})`;
}

export interface TopicLayout {
  brokers: Map<number, BrokerAddress>;
  /** Leader node id per partition index (-1 when leaderless). */
  leaders: number[];
}

/** Fetches metadata for one topic. */
export async function topicLayout(conn: KafkaConnection, topic: string): Promise<TopicLayout> {
  const res: MetadataResponse = await conn.request(ApiKey.Metadata, METADATA_VERSION, {
    ...defaultMetadataRequest(),
    topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: topic }],
    allowAutoTopicCreation: false,
  });
  const brokers = new Map<number, BrokerAddress>();
  for (const b of res.brokers) brokers.set(b.nodeId, { host: b.host, port: b.port });
  const t = res.topics.find((x) => x.name === topic);
  if (t === undefined || t.errorCode !== ErrorCode.NONE) {
    throw new BenchError(
      'BrokerError',
      `metadata for ${topic}: ${t === undefined ? 'missing' : errorName(t.errorCode)}`,
    );
  }
  const leaders: number[] = [];
  for (const p of t.partitions) leaders[p.partitionIndex] = p.errorCode === ErrorCode.NONE ? p.leaderId : -1;
  return { brokers, leaders };
}

/** Creates a topic (an existing one is an error: the benchmark uses fresh names). */
export async function createTopic(
  conn: KafkaConnection,
  name: string,
  partitions: number,
  replicationFactor: number,
  configs: Record<string, string> = {},
): Promise<void> {
  const res = await conn.request(ApiKey.CreateTopics, CREATE_TOPICS_VERSION, {
    ...defaultCreateTopicsRequest(),
    topics: [
      {
        name,
        numPartitions: partitions,
        replicationFactor,
        assignments: [],
        configs: Object.entries(configs).map(([k, v]) => ({ name: k, value: v })),
      },
    ],
    timeoutMs: 30_000,
    validateOnly: false,
  });
  const r = res.topics[0];
  if (r === undefined || r.errorCode !== ErrorCode.NONE) {
    throw new BenchError(
      'BrokerError',
      `create topic ${name}: ${r === undefined ? 'no result' : `${errorName(r.errorCode)} ${r.errorMessage ?? ''}`}`,
    );
  }
}

/** Deletes a topic; errors are returned, not thrown (cleanup is best effort). */
export async function deleteTopic(conn: KafkaConnection, name: string): Promise<string | null> {
  try {
    // From version 6 the names go in `topics` (`topicNames` is versions 0–5 and is dropped at 6:
    // sending it deleted nothing, and every benchmark topic stayed on the brokers).
    const res = await conn.request(ApiKey.DeleteTopics, DELETE_TOPICS_VERSION, {
      ...defaultDeleteTopicsRequest(),
      topics: [{ ...defaultDeleteTopicsRequestDeleteTopicState(), name }],
      timeoutMs: 30_000,
    });
    const r = res.responses.find((x) => x.name === name);
    if (r === undefined) return `delete topic ${name}: no result in the response`;
    return r.errorCode === ErrorCode.NONE ? null : errorName(r.errorCode);
  } catch (e) {
    return errorMessage(e);
  }
}

/** Polls metadata until every partition of `topic` has a leader, or throws Timeout. */
export async function waitForLeaders(
  conn: KafkaConnection,
  topic: string,
  partitions: number,
  timeoutMs: number,
): Promise<TopicLayout> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no metadata yet';
  for (;;) {
    try {
      const layout = await topicLayout(conn, topic);
      const ready =
        layout.leaders.length === partitions && layout.leaders.every((l) => l >= 0 && layout.brokers.has(l));
      if (ready) return layout;
      last = `leaders ${JSON.stringify(layout.leaders)}`;
    } catch (e) {
      last = errorMessage(e);
    }
    if (Date.now() > deadline)
      throw new BenchError(
        'Timeout',
        `partitions of ${topic} have no leaders after ${timeoutMs} ms (${last})`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}
