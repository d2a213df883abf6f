// The shape of a handler and what every handler receives. One module per API key implements
// `Handler<K>`; `handlers/table.ts` lists them, and ApiVersions advertises exactly that table
// intersected with what the codec supports.
import type { Cluster } from '../cluster/cluster.js';
import type { ServerConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { ServerMetrics } from '../metrics.js';
import type { ConnectionInfo } from '../net/connection.js';
import type { ApiRequestByKey, ApiResponseByKey } from '../protocol.js';

export type ApiKeyNum = keyof ApiRequestByKey & keyof ApiResponseByKey;

/** Everything a handler may use. Passed explicitly; handlers hold no other state. */
export interface HandlerDeps {
  cluster: Cluster;
  config: ServerConfig;
  logger: Logger;
  metrics: ServerMetrics;
  /** Wall clock in ms (injectable for tests). */
  nowMs: () => number;
  /** Aborted when the broker shuts down: long polls return at once. */
  shutdown: AbortSignal;
  /** The handler table (ApiVersions reads it). */
  table: () => HandlerTable;
}

export interface RequestContext {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  conn: ConnectionInfo;
  deps: HandlerDeps;
}

export interface Handler<K extends ApiKeyNum> {
  readonly apiKey: K;
  /** Versions this handler implements (ApiVersions advertises the intersection with the codec). */
  readonly minVersion: number;
  readonly maxVersion: number;
  /** The response, or null when the protocol says no response is sent (Produce with acks=0). */
  handle(
    request: ApiRequestByKey[K],
    ctx: RequestContext,
  ): Promise<ApiResponseByKey[K] | null> | ApiResponseByKey[K] | null;
}

// A handler of some API key, as stored in the table.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyHandler = Handler<any>;

export interface HandlerTable {
  get(apiKey: number): AnyHandler | undefined;
  /** Advertised ranges (handler ∩ codec), in API key order. */
  advertised(): ReadonlyArray<{ apiKey: number; minVersion: number; maxVersion: number }>;
  range(apiKey: number): { apiKey: number; minVersion: number; maxVersion: number } | undefined;
}

export function defineHandler<K extends ApiKeyNum>(h: Handler<K>): Handler<K> {
  return h;
}
