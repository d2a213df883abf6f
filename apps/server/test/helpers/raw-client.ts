// A minimal Kafka client over one socket, built on @chronik/protocol, for protocol-level tests.
import net from 'node:net';
import type { ApiRequestByKey, ApiResponseByKey, KnownApiKey } from '@chronik/protocol';
import { ApiKey, FrameDecoder, decodeResponseFrame, encodeRequestFrame } from '@chronik/protocol';

export class RawClient {
  private readonly decoder = new FrameDecoder();
  private readonly frames: Buffer[] = [];
  private waiters: Array<() => void> = [];
  private correlation = 1;
  closed = false;
  /** The client id the requests carry. */
  clientId = 'raw-test';

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => {
      for (const f of this.decoder.push(c)) this.frames.push(f);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  /** A client over a socket already connected (a TLS one). */
  static over(socket: net.Socket): RawClient {
    return new RawClient(socket);
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  /** Sends a request without waiting; returns its correlation id. */
  send<K extends KnownApiKey>(apiKey: K, version: number, body: ApiRequestByKey[K]): number {
    const correlationId = this.correlation++;
    for (const c of encodeRequestFrame(
      { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId: this.clientId },
      body,
    ))
      this.socket.write(c);
    return correlationId;
  }

  /** The next response frame (without the size prefix), or undefined if the socket closed / timed out. */
  async nextFrame(timeoutMs = 5000): Promise<Buffer | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0 && !this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.frames.shift();
  }

  async request<K extends KnownApiKey>(
    apiKey: K,
    version: number,
    body: ApiRequestByKey[K],
    timeoutMs = 5000,
  ): Promise<ApiResponseByKey[K]> {
    const id = this.send(apiKey, version, body);
    const frame = await this.nextFrame(timeoutMs);
    if (frame === undefined)
      throw new Error(
        `no response to API ${apiKey} v${version} (connection ${this.closed ? 'closed' : 'open'})`,
      );
    const { header, body: res } = decodeResponseFrame(apiKey, version, frame);
    if (header.correlationId !== id)
      throw new Error(`correlation id ${header.correlationId}, expected ${id}`);
    return res;
  }

  /**
   * SASL PLAIN on a SASL listener (SaslHandshake v1, SaslAuthenticate v2): resolves with the
   * SaslAuthenticate error code (0: authenticated as `user`).
   */
  async authenticatePlain(user: string, password: string): Promise<number> {
    const h = await this.request(ApiKey.SaslHandshake, 1, { mechanism: 'PLAIN' });
    if (h.errorCode !== 0) return h.errorCode;
    const a = await this.request(ApiKey.SaslAuthenticate, 2, {
      authBytes: Buffer.from(`\u0000${user}\u0000${password}`),
    });
    return a.errorCode;
  }

  close(): void {
    this.socket.destroy();
  }
}
