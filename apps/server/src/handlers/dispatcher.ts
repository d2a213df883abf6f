// Frame → header → handler → response bytes.
//
// - Header versions come from the codec (`readRequestHeader`, `writeResponseHeader`: the ApiVersions
//   response header is always v0).
// - ApiVersions at a version we do not support: an ApiVersions v0 body with UNSUPPORTED_VERSION and
//   our ranges, which is how librdkafka and the Java client learn to retry with a version we have.
// - A known API key that no handler serves, or a version outside the handler's range: the default
//   response of that API with its top-level error code set to UNSUPPORTED_VERSION when the response
//   has one; otherwise (no way to express the error) the connection is closed with a log line.
// - An unknown API key or a body that does not decode: the connection is closed (as Kafka does),
//   never the process.
// - Request quotas: right before a response is made (or would be: acks=0), the connection is asked
//   for the request's throttle time (`ConnectionInfo.throttleTimeMs`: it charges the client's time
//   and mutes a client over its quota); a positive one goes in the response's throttle_time_ms,
//   which every response has from the version KIP-124 added it (older versions do not carry it; the
//   connection is muted all the same, as Kafka does).
// - A request whose connection is already closed is not handled (outcome `connection_closed`;
//   except Produce, whose acks=0 data is written with no one listening), and
//   the response of one that finishes after its connection closed is not encoded: nobody would
//   read them.
// - Security first (security/sasl.ts): on a SASL listener, a bare token after SaslHandshake v0
//   goes to the SASL service instead of being read as a request, and the connection's security
//   is asked whether the request may be served at all (before authentication only ApiVersions and
//   the SASL APIs; an expired session only SaslHandshake): a refusal closes the connection.
import type { ApiSchemaInfo } from '@chronik/protocol';
import {
  ApiKey,
  ErrorCode,
  ProtocolError,
  Reader,
  Writer,
  apiInfo,
  decodeRequest,
  defaultResponse,
  encodeResponse,
  peekRequestIds,
  readRequestHeader,
  supportedApiVersions,
  writeResponseHeader,
} from '@chronik/protocol';
import { errorMessage } from '../errors.js';
import { AuthenticationError, AuthenticationErrorCode } from '../security/errors.js';
import { SaslSession } from '../security/sasl.js';
import type { ConnectionInfo, FrameDispatcher, ResponseBody } from '../net/connection.js';
import type {
  AnyHandler,
  HandlerDeps,
  HandlerEnv,
  HandlerTable,
  RequestContext,
  ServiceName,
  Services,
} from './types.js';

export function buildHandlerTable(handlers: readonly AnyHandler[]): HandlerTable {
  const byKey = new Map<number, AnyHandler>();
  for (const h of handlers) {
    if (byKey.has(h.apiKey)) throw new Error(`two handlers for API key ${h.apiKey}`);
    if (apiInfo(h.apiKey) === undefined)
      throw new Error(`handler for API key ${h.apiKey}, which the codec does not know`);
    byKey.set(h.apiKey, h);
  }
  const advertised = supportedApiVersions
    .map((s) => {
      const h = byKey.get(s.apiKey);
      return h === undefined
        ? undefined
        : {
            apiKey: s.apiKey,
            minVersion: Math.max(h.minVersion, s.minVersion),
            maxVersion: Math.min(h.maxVersion, s.maxVersion),
          };
    })
    .filter(
      (r): r is { apiKey: number; minVersion: number; maxVersion: number } =>
        r !== undefined && r.minVersion <= r.maxVersion,
    )
    .sort((a, b) => a.apiKey - b.apiKey);
  const byKeyRange = new Map(advertised.map((r) => [r.apiKey, r]));
  return { get: (k) => byKey.get(k), advertised: () => advertised, range: (k) => byKeyRange.get(k) };
}

/**
 * Sets a response's throttle_time_ms. The response of every API this broker serves has the field
 * (the codec writes it at the versions that have it); an API without one (SASL, inter-broker) is
 * left as it is.
 */
/** Sets the response's throttle time to `throttleTimeMs` unless it already carries a longer one. */
function withThrottleTime(response: unknown, throttleTimeMs: number): void {
  if (typeof response === 'object' && response !== null && 'throttleTimeMs' in response) {
    const r = response as { throttleTimeMs: number };
    r.throttleTimeMs = Math.max(r.throttleTimeMs, throttleTimeMs);
  }
}

export class KafkaDispatcher implements FrameDispatcher {
  /** Each handler's dependencies: its declared services and the environment, nothing else. */
  private readonly depsByKey = new Map<number, HandlerDeps<ServiceName>>();

  constructor(
    private readonly services: Services,
    private readonly env: HandlerEnv,
    private readonly table: HandlerTable,
  ) {
    for (const r of table.advertised()) {
      const h = table.get(r.apiKey) as AnyHandler;
      const deps: Record<string, unknown> = { ...env };
      for (const name of h.uses as readonly ServiceName[]) deps[name] = services[name];
      this.depsByKey.set(r.apiKey, deps as unknown as HandlerDeps<ServiceName>);
    }
  }

  dispatch(frame: Buffer, conn: ConnectionInfo): Promise<ResponseBody> | ResponseBody {
    const security = conn.security;
    if (security?.expectsRawToken?.() === true) return this.rawToken(frame, conn);
    const { apiKey, apiVersion, correlationId } = peekRequestIds(frame);
    security?.check?.(apiKey, this.env.clock.nowMs());
    const range = this.table.range(apiKey);
    const supported = range !== undefined && apiVersion >= range.minVersion && apiVersion <= range.maxVersion;
    if (apiKey === ApiKey.ApiVersions && !supported) return this.apiVersionsFallback(correlationId);
    const schema = apiInfo(apiKey);
    if (schema === undefined) {
      throw new ProtocolError('UnknownApiKey', `unknown API key ${apiKey} (correlation id ${correlationId})`);
    }
    const reader = new Reader(frame);
    const header = readRequestHeader(reader);
    const handler = this.table.get(apiKey);
    const deps = this.depsByKey.get(apiKey);
    const ctx: RequestContext<ServiceName> = {
      apiKey,
      apiVersion,
      correlationId,
      clientId: header.clientId,
      conn,
      deps: deps ?? (this.env as HandlerDeps<ServiceName>),
    };
    if (!supported || handler === undefined || deps === undefined) return this.unsupported(schema, ctx);
    // A produce is handled even then: acks=0 data is meant to be written with no one listening.
    if (conn.isClosed && apiKey !== ApiKey.Produce) return this.closed(schema);
    const request = decodeRequest(apiKey, apiVersion, reader);
    const started = this.env.clock.nowMs();
    const finish = (response: unknown): ResponseBody => {
      if (conn.isClosed) return this.closed(schema);
      this.env.metrics.requests.inc({ api: schema.name, outcome: 'ok' });
      this.env.metrics.requestSeconds.observe(
        { api: schema.name },
        (this.env.clock.nowMs() - started) / 1000,
      );
      // Produce bytes count against the client's producer_byte_rate (acks=0 too), as Kafka records
      // the request's size; the response carries the longer of the two throttles.
      const throttleTimeMs = Math.max(
        conn.throttleTimeMs(ctx.clientId),
        apiKey === ApiKey.Produce
          ? (conn.byteQuotaThrottleMs?.('produce', ctx.clientId, frame.length) ?? 0)
          : 0,
      );
      if (response === null) return null;
      if (throttleTimeMs > 0) withThrottleTime(response, throttleTimeMs);
      return this.encode(ctx, response);
    };
    const result = handler.handle(request, ctx) as unknown;
    if (result instanceof Promise) {
      return result.then(finish, (e: unknown) => {
        this.env.metrics.requests.inc({ api: schema.name, outcome: 'error' });
        throw e;
      });
    }
    return finish(result);
  }

  /**
   * A bare SASL token (after SaslHandshake v0, before KIP-152): answered with a bare token; a
   * failure closes the connection without an answer, as Kafka does.
   */
  private async rawToken(frame: Buffer, conn: ConnectionInfo): Promise<ResponseBody> {
    const session = conn.security;
    if (!(session instanceof SaslSession))
      throw new AuthenticationError(
        AuthenticationErrorCode.ILLEGAL_SASL_STATE,
        'a bare token without a SASL session',
      );
    const sasl = this.services.security;
    const outcome = await sasl.evaluate(session, frame, this.env.clock.nowMs());
    sasl.settle(session, outcome, this.env.clock.nowMs());
    if (outcome.kind === 'failure')
      throw new AuthenticationError(
        AuthenticationErrorCode.AUTHENTICATION_FAILED,
        `SASL authentication failed: ${outcome.reason}`,
      );
    return conn.isClosed ? null : outcome.token;
  }

  private encode(ctx: RequestContext<ServiceName>, response: unknown): ResponseBody {
    const w = new Writer();
    writeResponseHeader(ctx.correlationId, ctx.apiKey, ctx.apiVersion, w);
    encodeResponse(ctx.apiKey as never, ctx.apiVersion, response as never, w);
    return w.chunks();
  }

  /** The connection closed: nothing to answer. */
  private closed(schema: ApiSchemaInfo): ResponseBody {
    this.env.metrics.requests.inc({ api: schema.name, outcome: 'connection_closed' });
    return null;
  }

  /** ApiVersions v0 with UNSUPPORTED_VERSION and our ranges (header v0). */
  private apiVersionsFallback(correlationId: number): ResponseBody {
    this.env.metrics.requests.inc({ api: 'ApiVersions', outcome: 'unsupported' });
    const body = defaultResponse(ApiKey.ApiVersions);
    body.errorCode = ErrorCode.UNSUPPORTED_VERSION;
    body.apiKeys = this.table
      .advertised()
      .map((r) => ({ apiKey: r.apiKey, minVersion: r.minVersion, maxVersion: r.maxVersion }));
    const w = new Writer();
    writeResponseHeader(correlationId, ApiKey.ApiVersions, 0, w);
    encodeResponse(ApiKey.ApiVersions, 0, body, w);
    return w.chunks();
  }

  /** An API or version we do not serve: answer UNSUPPORTED_VERSION where the response can say so. */
  private unsupported(schema: ApiSchemaInfo, ctx: RequestContext<ServiceName>): ResponseBody {
    this.env.metrics.requests.inc({ api: schema.name, outcome: 'unsupported' });
    const body = defaultResponse(schema.apiKey) as Record<string, unknown> | undefined;
    if (
      body !== undefined &&
      'errorCode' in body &&
      ctx.apiVersion >= schema.minVersion &&
      ctx.apiVersion <= schema.maxVersion
    ) {
      body['errorCode'] = ErrorCode.UNSUPPORTED_VERSION;
      try {
        return this.encode(ctx, body);
      } catch (e) {
        this.env.logger.debug({ api: schema.name, err: errorMessage(e) }, 'cannot encode an error response');
      }
    }
    throw new ProtocolError(
      'UnsupportedVersion',
      `${schema.name} v${ctx.apiVersion} is not served by this broker and its response cannot carry an error (client ${ctx.clientId ?? '?'})`,
    );
  }
}
