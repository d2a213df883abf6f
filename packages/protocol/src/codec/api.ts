// Hand-written (the schemas stop at the message): header versions per (API key, version), the generic
// entry points a server calls by API key, and whole-frame helpers. Header version rules:
// - request header v2 (flexible: tagged fields) for flexible request versions, v1 otherwise, and v0
//   only for ControlledShutdown v0;
// - response header v1 (flexible) for flexible response versions, v0 otherwise, except ApiVersions,
//   whose response header is always v0: a client that does not know the broker's versions yet must
//   be able to read the response (KIP-511).

import { ProtocolError } from '../errors/protocol-error.js';
import {
  decodeRequestHeader,
  decodeResponseHeader,
  encodeRequestHeader,
  encodeResponseHeader,
} from '../generated/headers.js';
import type { RequestHeader, ResponseHeader } from '../generated/headers.js';
import { API_SCHEMAS, ApiKey, DEFAULT_RESPONSE_BY_KEY } from '../generated/registry.js';
import type { ApiRequestByKey, ApiResponseByKey, ApiSchemaInfo } from '../generated/registry.js';
import { frameChunks } from './framing.js';
import { Reader } from './reader.js';
import { Writer } from './writer.js';

const BY_KEY: (ApiSchemaInfo | undefined)[] = [];
for (const a of API_SCHEMAS) BY_KEY[a.apiKey] = a;

/** An API key the codec knows. */
export type KnownApiKey = keyof ApiRequestByKey & number;

/** The schema information of an API key, or undefined when the codec does not know it. */
export function apiInfo(apiKey: number): ApiSchemaInfo | undefined {
  return Number.isInteger(apiKey) && apiKey >= 0 ? BY_KEY[apiKey] : undefined;
}

function known(apiKey: number): ApiSchemaInfo {
  const a = apiInfo(apiKey);
  if (a === undefined) throw new ProtocolError('UnknownApiKey', `unknown API key ${apiKey}`);
  return a;
}

function checkVersion(a: ApiSchemaInfo, version: number): void {
  if (!Number.isInteger(version) || version < a.minVersion || version > a.maxVersion) {
    throw new ProtocolError(
      'UnsupportedVersion',
      `${a.name} (API key ${a.apiKey}) version ${version} is outside the supported versions ${a.minVersion}-${a.maxVersion}`,
    );
  }
}

/** True when the codec can decode and encode this API key at this version. */
export function isSupportedVersion(apiKey: number, version: number): boolean {
  const a = apiInfo(apiKey);
  return a !== undefined && Number.isInteger(version) && version >= a.minVersion && version <= a.maxVersion;
}

/** The version range of every API the codec supports (what an ApiVersions response may advertise at most). */
export const supportedApiVersions: readonly {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
}[] = API_SCHEMAS.map((a) => ({ apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: a.maxVersion }));

/**
 * Request header version for a request of `apiKey` at `apiVersion`. Versions above the codec's range
 * still get a header version (flexible rule), so that the correlation id of an unsupported request
 * can be read and answered. UnknownApiKey for keys the codec does not know.
 */
export function requestHeaderVersion(apiKey: number, apiVersion: number): 0 | 1 | 2 {
  const a = known(apiKey);
  if (apiKey === ApiKey.ControlledShutdown && apiVersion === 0) return 0;
  return a.requestFlexibleFrom >= 0 && apiVersion >= a.requestFlexibleFrom ? 2 : 1;
}

/** Response header version for a response of `apiKey` at `apiVersion` (ApiVersions: always 0). */
export function responseHeaderVersion(apiKey: number, apiVersion: number): 0 | 1 {
  const a = known(apiKey);
  if (apiKey === ApiKey.ApiVersions) return 0;
  return a.responseFlexibleFrom >= 0 && apiVersion >= a.responseFlexibleFrom ? 1 : 0;
}

/** The first fields of every request header (any version): readable before anything else is known. */
export interface RequestIds {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
}

/** Reads API key, version and correlation id from the start of a request frame (Truncated if shorter than 8 bytes). */
export function peekRequestIds(frame: Buffer): RequestIds {
  if (frame.length < 8)
    throw new ProtocolError(
      'Truncated',
      `request frame of ${frame.length} bytes is shorter than a request header`,
    );
  return {
    apiKey: frame.readInt16BE(0),
    apiVersion: frame.readInt16BE(2),
    correlationId: frame.readInt32BE(4),
  };
}

/**
 * The client id of a request frame, read in place without decoding the rest: in request headers
 * v1 and v2 it follows the correlation id as a nullable string (int16 length; the flexible header
 * v2 keeps it non-compact, KIP-482). Null when the request has none (a null client id, or header
 * v0: ControlledShutdown v0) or the frame is too short to hold it. Never throws: a server may ask
 * before it knows whether the request decodes.
 */
export function peekClientId(frame: Buffer): string | null {
  if (frame.length < 10) return null;
  if (frame.readInt16BE(0) === ApiKey.ControlledShutdown && frame.readInt16BE(2) === 0) return null;
  const n = frame.readInt16BE(8);
  if (n < 0 || 10 + n > frame.length) return null;
  return frame.toString('utf8', 10, 10 + n);
}

/** Reads a request header, choosing its version from the API key and version it starts with. */
export function readRequestHeader(r: Reader): RequestHeader {
  if (r.remaining() < 4)
    throw new ProtocolError('Truncated', 'request frame is shorter than a request header');
  const apiKey = r.buf.readInt16BE(r.offset);
  const apiVersion = r.buf.readInt16BE(r.offset + 2);
  return decodeRequestHeader(r, requestHeaderVersion(apiKey, apiVersion));
}

/** Writes a request header at the version its API key and version call for. */
export function writeRequestHeader(header: RequestHeader, w: Writer): void {
  encodeRequestHeader(header, requestHeaderVersion(header.requestApiKey, header.requestApiVersion), w);
}

/** Reads a response header for a response of `apiKey` at `apiVersion`. */
export function readResponseHeader(r: Reader, apiKey: number, apiVersion: number): ResponseHeader {
  return decodeResponseHeader(r, responseHeaderVersion(apiKey, apiVersion));
}

/** Writes a response header for a response of `apiKey` at `apiVersion`. */
export function writeResponseHeader(
  correlationId: number,
  apiKey: number,
  apiVersion: number,
  w: Writer,
): void {
  encodeResponseHeader({ correlationId }, responseHeaderVersion(apiKey, apiVersion), w);
}

/** Decodes a request body (UnknownApiKey, UnsupportedVersion, or any decode error). */
export function decodeRequest<K extends KnownApiKey>(
  apiKey: K,
  version: number,
  r: Reader,
): ApiRequestByKey[K];
export function decodeRequest(apiKey: number, version: number, r: Reader): unknown;
export function decodeRequest(apiKey: number, version: number, r: Reader): unknown {
  const a = known(apiKey);
  checkVersion(a, version);
  return a.decodeRequest(r, version);
}

/** Encodes a request body. */
export function encodeRequest<K extends KnownApiKey>(
  apiKey: K,
  version: number,
  body: ApiRequestByKey[K],
  w: Writer,
): void {
  const a = known(apiKey);
  checkVersion(a, version);
  (a.encodeRequest as (m: unknown, v: number, w: Writer) => void)(body, version, w);
}

/** Decodes a response body. */
export function decodeResponse<K extends KnownApiKey>(
  apiKey: K,
  version: number,
  r: Reader,
): ApiResponseByKey[K];
export function decodeResponse(apiKey: number, version: number, r: Reader): unknown;
export function decodeResponse(apiKey: number, version: number, r: Reader): unknown {
  const a = known(apiKey);
  checkVersion(a, version);
  return a.decodeResponse(r, version);
}

/** Encodes a response body. */
export function encodeResponse<K extends KnownApiKey>(
  apiKey: K,
  version: number,
  body: ApiResponseByKey[K],
  w: Writer,
): void {
  const a = known(apiKey);
  checkVersion(a, version);
  (a.encodeResponse as (m: unknown, v: number, w: Writer) => void)(body, version, w);
}

/**
 * The response body of `apiKey` with every field at its schema default: a new object on each call,
 * for a handler to fill in. Undefined when the codec does not know the key. Typed by key when the key
 * is a literal (`defaultResponse(ApiKey.Produce)` is a `ProduceResponse`).
 */
export function defaultResponse<K extends KnownApiKey>(apiKey: K): ApiResponseByKey[K];
export function defaultResponse(apiKey: number): ApiResponseByKey[KnownApiKey] | undefined;
export function defaultResponse(apiKey: number): ApiResponseByKey[KnownApiKey] | undefined {
  if (apiInfo(apiKey) === undefined) return undefined;
  return (DEFAULT_RESPONSE_BY_KEY as Record<number, () => ApiResponseByKey[KnownApiKey]>)[apiKey]!();
}

/** A decoded request frame. */
export interface DecodedRequest {
  header: RequestHeader;
  body: unknown;
}

/**
 * Decodes a whole request frame (without its length prefix): header, then body. Trailing bytes after
 * the body are ignored, as Kafka brokers do. Throws ProtocolError only; use `peekRequestIds` first to
 * answer UNSUPPORTED_VERSION with the right correlation id.
 */
export function decodeRequestFrame(frame: Buffer): DecodedRequest {
  const r = new Reader(frame);
  const header = readRequestHeader(r);
  const body = decodeRequest(header.requestApiKey, header.requestApiVersion, r);
  return { header, body };
}

/** Encodes a request frame (length prefix, header, body) as chunks for `socket.writev`. */
export function encodeRequestFrame<K extends KnownApiKey>(
  header: RequestHeader & { requestApiKey: K },
  body: ApiRequestByKey[K],
): Buffer[] {
  const w = new Writer();
  writeRequestHeader(header, w);
  encodeRequest(header.requestApiKey, header.requestApiVersion, body, w);
  return frameChunks(w.chunks());
}

/** Encodes a response frame (length prefix, header, body) as chunks for `socket.writev`. */
export function encodeResponseFrame<K extends KnownApiKey>(
  apiKey: K,
  version: number,
  correlationId: number,
  body: ApiResponseByKey[K],
): Buffer[] {
  const w = new Writer();
  writeResponseHeader(correlationId, apiKey, version, w);
  encodeResponse(apiKey, version, body, w);
  return frameChunks(w.chunks());
}

/** Decodes a response frame (without its length prefix) for a request of `apiKey` at `version`. */
export function decodeResponseFrame<K extends KnownApiKey>(
  apiKey: K,
  version: number,
  frame: Buffer,
): { header: ResponseHeader; body: ApiResponseByKey[K] } {
  const r = new Reader(frame);
  const header = readResponseHeader(r, apiKey, version);
  return { header, body: decodeResponse(apiKey, version, r) };
}
