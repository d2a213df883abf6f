// Client quotas: their values (Kafka's client quota configs), not their enforcement — the network
// layer measures clients and throttles them (`net/quota.ts`, `net/gate.ts`).
//
// - An entity is what a quota applies to: Kafka's user principal and client id. The user is the
//   authenticated principal's name, ANONYMOUS on a listener without authentication (as Kafka), and
//   each quota key is resolved on its own in Kafka's order (KIP-55), most specific first:
//     /users/<user>/clients/<client-id>, /users/<user>/clients/<default>, /users/<user>,
//     /users/<default>/clients/<client-id>, /users/<default>/clients/<default>, /users/<default>,
//     /clients/<client-id>, /clients/<default>.
//   Values set at run time (AlterClientQuotas, KIP-546) live in the replicated metadata; the
//   server's request_percentage flags come last, below every metadata value.
// - A default quota applies to each entity on its own: every client id is measured against the
//   default value separately (as Kafka's quota metrics are tagged), it is not one budget shared.
// - Types: `request_percentage` (KIP-124), `producer_byte_rate` and `consumer_byte_rate` (KIP-13),
//   `controller_mutation_rate` (KIP-599: partitions created or deleted per second), all per user /
//   client id; and `connection_creation_rate` (KIP-612) per client ip: /ips/<ip>, then /ips/<default>.
import type { ClientQuotaEntityPart, ClientQuotaEntry } from '@chronik/metadata';
import type { ClientQuotaConfig } from '../config.js';

/** The kinds of client quota this broker knows (Kafka's quota config keys). */
export type ClientQuotaType =
  'request_percentage' | 'producer_byte_rate' | 'consumer_byte_rate' | 'controller_mutation_rate';

/** Kafka's user name of an unauthenticated client (its principal is User:ANONYMOUS). */
export const ANONYMOUS_USER = 'ANONYMOUS';

/** Who a quota applies to. */
export interface QuotaEntity {
  /** The user principal's name (ANONYMOUS without authentication); null: not known (tests). */
  readonly user: string | null;
  /** The request header's client id ('' when it is null, as Kafka takes it). */
  readonly clientId: string;
}

/** Where quota values come from. */
export interface ClientQuotaStore {
  /** The quota of `type` that applies to `entity`, by Kafka's order of precedence; undefined: none. */
  quota(type: ClientQuotaType, entity: QuotaEntity): number | undefined;
  /** Whether any quota of `type` is set: when none is, nothing needs measuring. */
  any(type: ClientQuotaType): boolean;
  /** Grows whenever a value changes: a client's measure reads its quota again when it sees a new one. */
  readonly version: number;
  /** connection_creation_rate of a client ip (its own, else the default ip's); undefined: none. */
  connectionCreationRate?(ip: string): number | undefined;
  /** Whether any ip has a connection_creation_rate. */
  anyConnectionCreationRate?(): boolean;
}

/** The quotas given on the command line: a default for every client id, and per-client-id values. */
export class StaticClientQuotaStore implements ClientQuotaStore {
  readonly version = 0;

  constructor(private readonly config: ClientQuotaConfig) {}

  quota(type: ClientQuotaType, entity: QuotaEntity): number | undefined {
    switch (type) {
      case 'request_percentage':
        return (
          this.config.requestPercentageByClientId.get(entity.clientId) ?? this.config.requestPercentageDefault
        );
      default:
        return undefined;
    }
  }

  any(type: ClientQuotaType): boolean {
    switch (type) {
      case 'request_percentage':
        return (
          this.config.requestPercentageDefault !== undefined ||
          this.config.requestPercentageByClientId.size > 0
        );
      default:
        return false;
    }
  }
}

/** What the store reads of the replicated metadata (MetadataStateMachine's client quota queries). */
export interface ClientQuotaSource {
  clientQuotas(): ClientQuotaEntry[];
  clientQuota(entity: readonly ClientQuotaEntityPart[]): ClientQuotaEntry['values'] | undefined;
  readonly clientQuotaVersion: number;
}

/**
 * The broker's quotas: the metadata's (once `attach`ed: the listener exists before the metadata is
 * open) over the static flags, resolved in Kafka's order (file header).
 */
export class ClientQuotas implements ClientQuotaStore {
  private source: ClientQuotaSource | undefined;
  private attachments = 0;
  /** `any` per type, as of `anyVersion`. */
  private anyCache = new Map<ClientQuotaType, boolean>();
  private anyVersion = -1;
  private anyIp = false;
  private ipVersion = -1;

  constructor(private readonly fallback: ClientQuotaStore) {}

  /** Reads the metadata's quotas from now on. */
  attach(source: ClientQuotaSource): void {
    this.source = source;
    this.attachments++;
  }

  get version(): number {
    return this.fallback.version + this.attachments + (this.source?.clientQuotaVersion ?? 0);
  }

  quota(type: ClientQuotaType, entity: QuotaEntity): number | undefined {
    const source = this.source;
    if (source !== undefined) {
      const client = entity.clientId;
      const user = entity.user;
      const candidates: Array<ClientQuotaEntityPart[]> =
        user === null
          ? [[{ type: 'client-id', name: client }], [{ type: 'client-id', name: null }]]
          : [
              [
                { type: 'user', name: user },
                { type: 'client-id', name: client },
              ],
              [
                { type: 'user', name: user },
                { type: 'client-id', name: null },
              ],
              [{ type: 'user', name: user }],
              [
                { type: 'user', name: null },
                { type: 'client-id', name: client },
              ],
              [
                { type: 'user', name: null },
                { type: 'client-id', name: null },
              ],
              [{ type: 'user', name: null }],
              [{ type: 'client-id', name: client }],
              [{ type: 'client-id', name: null }],
            ];
      for (const c of candidates) {
        const v = source.clientQuota(c)?.[type];
        if (v !== undefined) return v;
      }
    }
    return this.fallback.quota(type, entity);
  }

  connectionCreationRate(ip: string): number | undefined {
    const source = this.source;
    if (source === undefined) return undefined;
    return (
      source.clientQuota([{ type: 'ip', name: ip }])?.connection_creation_rate ??
      source.clientQuota([{ type: 'ip', name: null }])?.connection_creation_rate
    );
  }

  anyConnectionCreationRate(): boolean {
    const version = this.version;
    if (version !== this.ipVersion) {
      this.ipVersion = version;
      this.anyIp =
        this.source?.clientQuotas().some((q) => q.values.connection_creation_rate !== undefined) ?? false;
    }
    return this.anyIp;
  }

  any(type: ClientQuotaType): boolean {
    const version = this.version;
    if (version !== this.anyVersion) {
      this.anyCache = new Map();
      this.anyVersion = version;
    }
    let any = this.anyCache.get(type);
    if (any === undefined) {
      any =
        this.fallback.any(type) ||
        (this.source?.clientQuotas().some((q) => q.values[type] !== undefined) ?? false);
      this.anyCache.set(type, any);
    }
    return any;
  }
}
