// The shape of a handler and what it receives. One module per API key implements `Handler<K>`;
// `handlers/table.ts` lists them all, and ApiVersions advertises exactly that table intersected with
// what the codec supports. A handler names the services it uses (`uses`) and is given only those
// (plus the environment every handler has): its context is typed to them, and the table builds it
// with nothing else in it.
import type { Clock, Scheduler } from '@chronik/env';
import type { ApiRequestByKey, ApiResponseByKey } from '@chronik/protocol';
import type { ServerConfig } from '../config.js';
import type { GroupCoordinator } from '../groups/coordinator.js';
import type { Logger } from '../logger.js';
import type { ServerMetrics } from '../metrics.js';
import type { ConnectionInfo } from '../net/connection.js';
import type { Coordinators } from '../services/coordinators.js';
import type { FetchSessionCache } from '../services/fetch-sessions.js';
import type { MetadataCache } from '../services/metadata-cache.js';
import type { PartitionManager } from '../services/partition-manager.js';
import type { ProducerIds } from '../services/producer-ids.js';
import type { LeaderElections } from '../services/elections.js';
import type { PartitionReassignments } from '../services/reassignments.js';
import type { TopicAdmin } from '../services/topic-admin.js';
import type { TransactionCoordinator } from '../txn/coordinator.js';
import type { SecurityService } from '../security/service.js';
import type { AclService } from '../security/acls.js';
import type { Authorizer } from '../security/authorizer.js';

export type ApiKeyNum = keyof ApiRequestByKey & keyof ApiResponseByKey;

/** The broker's services, each written once for both modes. */
export interface Services {
  /** Brokers, topics, leaders as clients are told them. */
  metadata: MetadataCache;
  /** Topic and config changes. */
  topics: TopicAdmin;
  /** The data path: append, read, offsets. */
  partitions: PartitionManager;
  producerIds: ProducerIds;
  coordinators: Coordinators;
  /** The consumer group coordinator. */
  groups: GroupCoordinator;
  /** The transaction coordinator. */
  txn: TransactionCoordinator;
  /** Incremental fetch sessions (KIP-227). */
  fetchSessions: FetchSessionCache;
  /** SASL and SCRAM credentials. */
  security: SecurityService;
  /** ACL administration (CreateAcls, DescribeAcls, DeleteAcls). */
  acls: AclService;
  /** Partition reassignments (KIP-455): what to move where. */
  reassignments: PartitionReassignments;
  /** Leader elections on demand (ElectLeaders). */
  elections: LeaderElections;
}

export type ServiceName = keyof Services;

/** What every handler has besides its services. */
export interface HandlerEnv {
  config: ServerConfig;
  logger: Logger;
  metrics: ServerMetrics;
  /** Wall-clock time (long-poll deadlines, request latency). */
  clock: Clock;
  /** Timers (long polls). */
  scheduler: Scheduler;
  /** Aborted when the broker shuts down: long polls return at once. */
  shutdown: AbortSignal;
  /** The handler table (ApiVersions reads it). */
  table: () => HandlerTable;
  /**
   * Whether the request's principal may do what it asks (handlers/authz.ts asks it); without
   * --authorizer everything is allowed.
   */
  authorizer: Authorizer;
}

export type HandlerDeps<S extends ServiceName = ServiceName> = Pick<Services, S> & HandlerEnv;

export interface RequestContext<S extends ServiceName = never> {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  conn: ConnectionInfo;
  deps: HandlerDeps<S>;
}

export interface Handler<K extends ApiKeyNum, S extends ServiceName = never> {
  readonly apiKey: K;
  /** Versions this handler implements (ApiVersions advertises the intersection with the codec). */
  readonly minVersion: number;
  readonly maxVersion: number;
  /** The services it uses: the only ones its context holds. */
  readonly uses: readonly S[];
  /** The response, or null when the protocol says no response is sent (Produce with acks=0). */
  handle(
    request: ApiRequestByKey[K],
    ctx: RequestContext<S>,
  ): Promise<ApiResponseByKey[K] | null> | ApiResponseByKey[K] | null;
}

// A handler of some API key, as stored in the table.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyHandler = Handler<any, any>;

export interface HandlerTable {
  get(apiKey: number): AnyHandler | undefined;
  /** Advertised ranges (handler ∩ codec), in API key order. */
  advertised(): ReadonlyArray<{ apiKey: number; minVersion: number; maxVersion: number }>;
  range(apiKey: number): { apiKey: number; minVersion: number; maxVersion: number } | undefined;
}

export function defineHandler<K extends ApiKeyNum, S extends ServiceName = never>(
  h: Handler<K, S>,
): Handler<K, S> {
  return h;
}
