// One TCP connection to one broker, speaking Kafka's framing through @chronik/protocol.
//
// - Opening it negotiates versions: ApiVersions v3 first; a broker that does not know v3 answers
//   UNSUPPORTED_VERSION with a v0 body listing its own range (KIP-511), and the request is sent
//   again at the highest version it lists. Every later request uses `chooseVersion`.
// - Requests are pipelined and matched to responses by correlation id (a broker answers in order,
//   but the map does not rely on it). At most MAX_IN_FLIGHT are outstanding; more is a bug of the
//   caller, refused at once.
// - Every request has a deadline. A request that misses it fails with TIMEOUT and closes the
//   connection, as Kafka's clients do: what the broker sends later cannot be told apart otherwise.
// - A connection that closes or errors fails everything outstanding with CONNECTION (retriable);
//   the owner (KafkaClient) opens a new one on the next request.
import net from 'node:net';
import type { ApiRequestByKey, ApiResponseByKey, KnownApiKey } from '@chronik/protocol';
import { ApiKey, FrameDecoder, decodeResponseFrame, encodeRequestFrame } from '@chronik/protocol';
import { CliError, errorMessage, kafkaError } from '../errors.js';
import type { VersionRange } from './versions.js';
import { apiName, chooseVersion } from './versions.js';

export const MAX_IN_FLIGHT = 64;
/** Largest response frame accepted: a Fetch answer is bounded by the request's maxBytes (≤ 64 MiB here). */
export const MAX_RESPONSE_BYTES = 128 * 1024 * 1024;
const CLIENT_SOFTWARE_VERSION = '0.1.0';

export interface ConnectionOptions {
  host: string;
  port: number;
  clientId: string;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
}

interface Pending {
  apiKey: KnownApiKey;
  version: number;
  resolve(frame: Buffer): void;
  reject(e: unknown): void;
  timer: NodeJS.Timeout;
}

export class BrokerConnection {
  private readonly decoder = new FrameDecoder({ maxFrameBytes: MAX_RESPONSE_BYTES });
  private readonly pending = new Map<number, Pending>();
  private nextCorrelationId = 1;
  private closedError: CliError | undefined;
  /** The broker's version range per API key, from its ApiVersions answer. */
  private versions = new Map<number, VersionRange>();

  private constructor(
    private readonly socket: net.Socket,
    readonly options: ConnectionOptions,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.fail(this.connectionError(`connection failed: ${e.message}`, e)));
    socket.on('close', () => this.fail(this.connectionError('connection closed by the broker')));
  }

  get address(): string {
    return `${this.options.host}:${this.options.port}`;
  }

  get closed(): boolean {
    return this.closedError !== undefined;
  }

  /** Connects and negotiates API versions. */
  static async open(options: ConnectionOptions): Promise<BrokerConnection> {
    const socket = await connectSocket(options);
    const conn = new BrokerConnection(socket, options);
    try {
      await conn.negotiate();
    } catch (e) {
      conn.close();
      throw e;
    }
    return conn;
  }

  /** The version this connection uses for `apiKey` (UNSUPPORTED_VERSION when none is common). */
  version(apiKey: number): number {
    return chooseVersion(apiKey, this.versions.get(apiKey), `the broker at ${this.address}`);
  }

  /** Whether the broker and this client have a version of `apiKey` in common. */
  supports(apiKey: number): boolean {
    try {
      this.version(apiKey);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Sends one request at the negotiated version and waits for its response. `body` may be a
   * function of the version, for the APIs whose fields moved between versions.
   */
  async request<K extends KnownApiKey>(
    apiKey: K,
    body: ApiRequestByKey[K] | ((version: number) => ApiRequestByKey[K]),
    timeoutMs = this.options.requestTimeoutMs,
  ): Promise<{ version: number; body: ApiResponseByKey[K] }> {
    const version = this.version(apiKey);
    const b = typeof body === 'function' ? body(version) : body;
    const frame = await this.roundTrip(apiKey, version, b, timeoutMs);
    return { version, body: this.decode(apiKey, version, frame) };
  }

  /** Sends a request that gets no response (Produce with acks=0). */
  sendOnly<K extends KnownApiKey>(apiKey: K, body: ApiRequestByKey[K]): void {
    if (this.closedError !== undefined) throw this.closedError;
    const version = this.version(apiKey);
    this.write(apiKey, version, this.nextCorrelationId++, body);
  }

  close(): void {
    this.fail(this.connectionError('connection closed'));
    this.socket.destroy();
  }

  private async negotiate(): Promise<void> {
    let version = 3;
    for (let attempt = 0; attempt < 2; attempt++) {
      const frame = await this.roundTrip(
        ApiKey.ApiVersions,
        version,
        { clientSoftwareName: 'chronik-cli', clientSoftwareVersion: CLIENT_SOFTWARE_VERSION },
        this.options.requestTimeoutMs,
      );
      // The response header is always v0 (4 bytes); the error code comes first in every version.
      const errorCode = frame.length >= 6 ? frame.readInt16BE(4) : -1;
      const decodeVersion = errorCode === 35 ? 0 : version;
      const res = this.decode(ApiKey.ApiVersions, decodeVersion, frame);
      if (res.errorCode === 35 && attempt === 0) {
        const own = res.apiKeys.find((k) => k.apiKey === ApiKey.ApiVersions);
        version = Math.min(3, own?.maxVersion ?? 0);
        continue;
      }
      if (res.errorCode !== 0) throw kafkaError(res.errorCode, `ApiVersions to ${this.address}`);
      this.versions = new Map(res.apiKeys.map((k) => [k.apiKey, { min: k.minVersion, max: k.maxVersion }]));
      return;
    }
    throw new CliError('PROTOCOL', `${this.address} did not agree on an ApiVersions version`);
  }

  private decode<K extends KnownApiKey>(apiKey: K, version: number, frame: Buffer): ApiResponseByKey[K] {
    try {
      return decodeResponseFrame(apiKey, version, frame).body;
    } catch (e) {
      throw new CliError(
        'PROTOCOL',
        `cannot decode the ${apiName(apiKey)} v${version} response of ${this.address}: ${errorMessage(e)}`,
        { cause: e },
      );
    }
  }

  private roundTrip<K extends KnownApiKey>(
    apiKey: K,
    version: number,
    body: ApiRequestByKey[K],
    timeoutMs: number,
  ): Promise<Buffer> {
    if (this.closedError !== undefined) return Promise.reject(this.closedError);
    if (this.pending.size >= MAX_IN_FLIGHT)
      return Promise.reject(
        new CliError('PROTOCOL', `more than ${MAX_IN_FLIGHT} requests in flight to ${this.address}`),
      );
    const correlationId = this.nextCorrelationId++;
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        reject(
          new CliError('TIMEOUT', `${apiName(apiKey)} to ${this.address}: no answer within ${timeoutMs} ms`, {
            retriable: true,
          }),
        );
        this.close();
      }, timeoutMs);
      this.pending.set(correlationId, { apiKey, version, resolve, reject, timer });
      try {
        this.write(apiKey, version, correlationId, body);
      } catch (e) {
        clearTimeout(timer);
        this.pending.delete(correlationId);
        reject(e);
      }
    });
  }

  private write<K extends KnownApiKey>(
    apiKey: K,
    version: number,
    correlationId: number,
    body: ApiRequestByKey[K],
  ): void {
    const chunks = encodeRequestFrame(
      { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId: this.options.clientId },
      body,
    );
    this.socket.cork();
    for (const c of chunks) this.socket.write(c);
    this.socket.uncork();
  }

  private onData(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (e) {
      this.fail(new CliError('PROTOCOL', `bad response framing from ${this.address}: ${errorMessage(e)}`));
      this.socket.destroy();
      return;
    }
    for (const frame of frames) {
      const correlationId = frame.length >= 4 ? frame.readInt32BE(0) : -1;
      const p = this.pending.get(correlationId);
      if (p === undefined) continue; // the answer to a request that already timed out
      this.pending.delete(correlationId);
      clearTimeout(p.timer);
      p.resolve(frame);
    }
  }

  private connectionError(message: string, cause?: unknown): CliError {
    return new CliError('CONNECTION', `${this.address}: ${message}`, { cause, retriable: true });
  }

  private fail(e: CliError): void {
    this.closedError ??= e;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(e);
    }
  }
}

function connectSocket(options: ConnectionOptions): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: options.host, port: options.port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new CliError(
          'TIMEOUT',
          `${options.host}:${options.port}: no connection within ${options.connectTimeoutMs} ms`,
          {
            retriable: true,
          },
        ),
      );
    }, options.connectTimeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(
        new CliError('CONNECTION', `cannot connect to ${options.host}:${options.port}: ${e.message}`, {
          cause: e,
          retriable: true,
        }),
      );
    });
  });
}
