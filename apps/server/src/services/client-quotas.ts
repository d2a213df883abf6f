// Client quotas: their values (Kafka's client quota configs), not their enforcement — the network
// layer measures clients and throttles them (`net/quota.ts`, `net/gate.ts`).
//
// - An entity is what a quota applies to: Kafka's user principal and client id. The broker does
//   not authenticate yet, so `user` is always null and only client-id quotas apply; with SASL the
//   principal goes in `user`, and a store resolves Kafka's whole order (KIP-55), most specific first:
//     /users/<user>/clients/<client-id>, /users/<user>/clients/<default>, /users/<user>,
//     /users/<default>/clients/<client-id>, /users/<default>/clients/<default>, /users/<default>,
//     /clients/<client-id>, /clients/<default>.
//   The static store below (the server's flags) holds only the last two.
// - A default quota applies to each client id on its own: every client id is measured against the
//   default value separately (as Kafka's quota metrics are tagged), it is not one budget shared.
// - Types: `request_percentage` (KIP-124) for now. The byte rates (`producer_byte_rate`,
//   `consumer_byte_rate`, KIP-13) would add a type here, and DescribeClientQuotas/AlterClientQuotas
//   (KIP-546) a store whose values live in the metadata; its `version` tells the enforcement that a
//   value changed.
import type { ClientQuotaConfig } from '../config.js';

/** The kinds of client quota this broker knows (Kafka's quota config keys). */
export type ClientQuotaType = 'request_percentage';

/** Who a quota applies to. */
export interface QuotaEntity {
  /** The authenticated user principal: always null until the broker authenticates. */
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
    }
  }

  any(type: ClientQuotaType): boolean {
    switch (type) {
      case 'request_percentage':
        return (
          this.config.requestPercentageDefault !== undefined ||
          this.config.requestPercentageByClientId.size > 0
        );
    }
  }
}
