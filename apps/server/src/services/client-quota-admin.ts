// DescribeClientQuotas and AlterClientQuotas (KIP-546) over the replicated metadata: the filter
// rules and per-entry validation as Kafka answers them. Entities are users and client ids (null
// names: the defaults), with keys producer_byte_rate, consumer_byte_rate, request_percentage and
// controller_mutation_rate (KIP-599); and ip addresses (null: the default ip), with the key
// connection_creation_rate (KIP-612) only. Each is enforced (net/quota.ts, net/server.ts).
import type { ClientQuotaEntityPart, ClientQuotaEntry, ClientQuotaKey } from '@chronik/metadata';
import net from 'node:net';
import {
  CLIENT_QUOTA_KEYS,
  quotaEntityKey,
  quotaEntityProblem,
  quotaKeyProblem,
  quotaValueProblem,
} from '@chronik/metadata';
import { toKafkaError } from '../error-map.js';
import { KafkaError } from '../errors.js';
import type { MetadataStore } from './metadata-store.js';
import { commitOk } from './metadata-store.js';

/** One component of a DescribeClientQuotas filter. */
export interface QuotaFilterComponent {
  entityType: string;
  /** 0 the exact name `match`, 1 the default, 2 any name given (not the default). */
  matchType: number;
  match: string | null;
}

export interface QuotaAlteration {
  entity: ReadonlyArray<{ entityType: string; entityName: string | null }>;
  ops: ReadonlyArray<{ key: string; value: number; remove: boolean }>;
}

const ENTITY_TYPES = new Set(['user', 'client-id', 'ip']);

function isEntityType(t: string): t is ClientQuotaEntityPart['type'] {
  return t === 'user' || t === 'client-id' || t === 'ip';
}

export class ClientQuotaAdmin {
  constructor(private readonly store: MetadataStore) {}

  /** The entries matching a filter; throws INVALID_REQUEST for a filter Kafka refuses. */
  describe(components: readonly QuotaFilterComponent[], strict: boolean): ClientQuotaEntry[] {
    const types = new Set<string>();
    for (const c of components) {
      if (!ENTITY_TYPES.has(c.entityType))
        throw new KafkaError('INVALID_REQUEST', `Unknown quota entity type ${c.entityType}`);
      if (types.has(c.entityType))
        throw new KafkaError('INVALID_REQUEST', `Duplicate filter component for entity type ${c.entityType}`);
      types.add(c.entityType);
      if (c.matchType === 0 && c.match === null)
        throw new KafkaError('INVALID_REQUEST', `The exact match for ${c.entityType} names no entity`);
      if ((c.matchType === 1 || c.matchType === 2) && c.match !== null)
        throw new KafkaError(
          'INVALID_REQUEST',
          `A default or any-name match for ${c.entityType} takes no name`,
        );
      if (c.matchType < 0 || c.matchType > 2)
        throw new KafkaError('INVALID_REQUEST', `Unknown match type ${c.matchType}`);
    }
    return this.store.state.clientQuotas().filter((q) => {
      if (strict && (q.entity.length !== components.length || q.entity.some((p) => !types.has(p.type))))
        return false;
      return components.every((c) => {
        const part = q.entity.find((p) => p.type === c.entityType);
        if (part === undefined) return false;
        if (c.matchType === 0) return part.name === c.match;
        if (c.matchType === 1) return part.name === null;
        return part.name !== null;
      });
    });
  }

  /**
   * Validates each entry (its error, or null) and, unless `validateOnly`, commits the valid ones in
   * one metadata command; a failure to commit is every valid entry's error.
   */
  async alter(entries: readonly QuotaAlteration[], validateOnly: boolean): Promise<Array<KafkaError | null>> {
    const seen = new Set<string>();
    const valid: Array<{
      entity: ClientQuotaEntityPart[];
      ops: Array<{ key: ClientQuotaKey; value: number | null }>;
    }> = [];
    const results = entries.map((e): KafkaError | null => {
      try {
        const entity = e.entity.map((p) => {
          if (p.entityType === 'ip' && p.entityName !== null && net.isIP(p.entityName) === 0)
            throw new KafkaError('INVALID_REQUEST', `${p.entityName} is not a valid IP address`);
          if (!isEntityType(p.entityType))
            throw new KafkaError('INVALID_REQUEST', `Unknown quota entity type ${p.entityType}`);
          return { type: p.entityType, name: p.entityName };
        });
        const problem = quotaEntityProblem(entity);
        if (problem !== null) throw new KafkaError('INVALID_REQUEST', problem);
        const key = quotaEntityKey(entity);
        if (seen.has(key))
          throw new KafkaError('INVALID_REQUEST', 'The quota entity appears twice in the request');
        seen.add(key);
        const keys = new Set<string>();
        const ops = e.ops.map((o) => {
          if (!(CLIENT_QUOTA_KEYS as readonly string[]).includes(o.key))
            throw new KafkaError('INVALID_REQUEST', `Unknown quota key ${o.key}`);
          if (keys.has(o.key)) throw new KafkaError('INVALID_REQUEST', `The key ${o.key} appears twice`);
          keys.add(o.key);
          const k = o.key as ClientQuotaKey;
          const misplaced = quotaKeyProblem(entity, k);
          if (misplaced !== null) throw new KafkaError('INVALID_REQUEST', misplaced);
          if (o.remove) return { key: k, value: null };
          const bad = quotaValueProblem(k, o.value);
          if (bad !== null) throw new KafkaError('INVALID_REQUEST', bad);
          return { key: k, value: o.value };
        });
        valid.push({ entity, ops });
        return null;
      } catch (err) {
        return toKafkaError(err);
      }
    });
    if (validateOnly || valid.length === 0) return results;
    try {
      await commitOk(this.store, { type: 'alterClientQuotas', entries: valid });
      return results;
    } catch (err) {
      const error = toKafkaError(err);
      return results.map((r) => r ?? error);
    }
  }
}
