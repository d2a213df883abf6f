// ACL administration: CreateAcls, DescribeAcls and DeleteAcls over the replicated metadata, written
// once for both modes over the MetadataStore (Kafka's AclControlManager and AclApis).
//
// - Wire codes are turned into the names the metadata stores (acl-codes.ts). A creation Kafka's
//   controller would refuse (an ANY or unknown type, pattern, operation or permission; an empty
//   name; a cluster not named kafka-cluster; a principal not `Type:name`) is answered
//   INVALID_REQUEST with Kafka's message and is not sent; the valid ones of a request are one
//   createAcls command, applied whole. Creating an ACL that exists is a success that changes nothing.
// - A filter with an unknown code is INVALID_REQUEST (Kafka's "Unknown patternFilter/entryFilter").
//   DeleteAcls sends the valid filters as one deleteAcls command; each filter is answered with the
//   ACLs it matched when the command applied (every replica removed the same ones).
// - A failure to commit (no metadata leader, a timeout) answers each affected item with its error.
import type { AclBinding, AclFilter } from '@chronik/metadata';
import { aclBindingProblem } from '@chronik/metadata';
import { KafkaError } from '../errors.js';
import type { MetadataStore } from '../services/metadata-store.js';
import {
  OPERATION_CODES,
  PATTERN_TYPE_CODES,
  PERMISSION_CODES,
  RESOURCE_TYPE_CODES,
  nameOfCode,
} from './acl-codes.js';

/** A binding as CreateAcls carries it (wire codes). */
export interface WireAclCreation {
  resourceType: number;
  resourceName: string;
  resourcePatternType: number;
  principal: string;
  host: string;
  operation: number;
  permissionType: number;
}

/** A filter as DescribeAcls and DeleteAcls carry it (wire codes; null = any). */
export interface WireAclFilter {
  resourceTypeFilter: number;
  resourceNameFilter: string | null;
  patternTypeFilter: number;
  principalFilter: string | null;
  hostFilter: string | null;
  operation: number;
  permissionType: number;
}

/** A binding in wire codes, as the responses carry it. */
export interface WireAcl {
  resourceType: number;
  resourceName: string;
  patternType: number;
  principal: string;
  host: string;
  operation: number;
  permissionType: number;
}

/** An item's outcome: a Kafka error name (null: none) and message. */
export interface AclOutcome {
  errorCode: string | null;
  errorMessage: string | null;
}

export interface DescribedResource {
  resourceType: number;
  resourceName: string;
  patternType: number;
  acls: Array<{ principal: string; host: string; operation: number; permissionType: number }>;
}

type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

function invalid(message: string): { ok: false; message: string } {
  return { ok: false, message };
}

/** A creation as the metadata's binding, or why it is invalid. */
function bindingOf(c: WireAclCreation): Parsed<AclBinding> {
  const resourceType = nameOfCode(RESOURCE_TYPE_CODES, c.resourceType);
  const patternType = nameOfCode(PATTERN_TYPE_CODES, c.resourcePatternType);
  const operation = nameOfCode(OPERATION_CODES, c.operation);
  const permission = nameOfCode(PERMISSION_CODES, c.permissionType);
  if (resourceType === 'ANY' || resourceType === 'UNKNOWN')
    return invalid(`Invalid resourceType ${resourceType}`);
  if (patternType !== 'LITERAL' && patternType !== 'PREFIXED')
    return invalid(`Invalid patternType ${patternType}`);
  if (operation === 'ANY' || operation === 'UNKNOWN') return invalid(`Invalid operation ${operation}`);
  if (permission === 'ANY' || permission === 'UNKNOWN')
    return invalid(`Invalid permissionType ${permission}`);
  const binding: AclBinding = {
    resourceType,
    resourceName: c.resourceName,
    patternType,
    principal: c.principal,
    host: c.host,
    operation,
    permission,
  };
  const problem = aclBindingProblem(binding);
  return problem === null ? { ok: true, value: binding } : invalid(problem);
}

/** A wire filter as the metadata's, or why it is invalid (an unknown code). */
export function filterOf(f: WireAclFilter): Parsed<AclFilter> {
  const resourceType = nameOfCode(RESOURCE_TYPE_CODES, f.resourceTypeFilter);
  const patternType = nameOfCode(PATTERN_TYPE_CODES, f.patternTypeFilter);
  const operation = nameOfCode(OPERATION_CODES, f.operation);
  const permission = nameOfCode(PERMISSION_CODES, f.permissionType);
  if (resourceType === 'UNKNOWN' || patternType === 'UNKNOWN') return invalid('Unknown patternFilter.');
  if (operation === 'UNKNOWN' || permission === 'UNKNOWN') return invalid('Unknown entryFilter.');
  return {
    ok: true,
    value: {
      resourceType,
      resourceName: f.resourceNameFilter,
      patternType,
      principal: f.principalFilter,
      host: f.hostFilter,
      operation,
      permission,
    },
  };
}

/** A binding in wire codes. */
export function wireAcl(b: AclBinding): WireAcl {
  return {
    resourceType: RESOURCE_TYPE_CODES[b.resourceType],
    resourceName: b.resourceName,
    patternType: PATTERN_TYPE_CODES[b.patternType],
    principal: b.principal,
    host: b.host,
    operation: OPERATION_CODES[b.operation],
    permissionType: PERMISSION_CODES[b.permission],
  };
}

function failureOf(e: unknown): AclOutcome {
  return {
    errorCode: e instanceof KafkaError ? e.code : 'UNKNOWN_SERVER_ERROR',
    errorMessage: e instanceof Error ? e.message : String(e),
  };
}

export class AclService {
  constructor(private readonly store: MetadataStore) {}

  /** CreateAcls: one outcome per creation, in order. */
  async create(creations: readonly WireAclCreation[]): Promise<AclOutcome[]> {
    const parsed = creations.map(bindingOf);
    const outcomes: AclOutcome[] = parsed.map((p) =>
      p.ok
        ? { errorCode: null, errorMessage: null }
        : { errorCode: 'INVALID_REQUEST', errorMessage: p.message },
    );
    const valid = parsed.flatMap((p, i) => (p.ok ? [{ i, binding: p.value }] : []));
    if (valid.length === 0) return outcomes;
    let failure: AclOutcome | undefined;
    try {
      const r = await this.store.commit({ type: 'createAcls', acls: valid.map((v) => v.binding) });
      if (!r.ok) failure = { errorCode: r.error.code, errorMessage: r.error.message };
    } catch (e) {
      failure = failureOf(e);
    }
    if (failure !== undefined) for (const v of valid) outcomes[v.i] = failure;
    return outcomes;
  }

  /** DescribeAcls: the matching ACLs grouped by resource pattern, or INVALID_REQUEST for a bad filter. */
  describe(filter: WireAclFilter): AclOutcome & { resources: DescribedResource[] } {
    const f = filterOf(filter);
    if (!f.ok) return { errorCode: 'INVALID_REQUEST', errorMessage: f.message, resources: [] };
    const byPattern = new Map<string, DescribedResource>();
    for (const b of this.store.state.aclsMatching(f.value)) {
      const key = `${b.resourceType}\u0000${b.patternType}\u0000${b.resourceName}`;
      let r = byPattern.get(key);
      if (r === undefined) {
        const w = wireAcl(b);
        r = {
          resourceType: w.resourceType,
          resourceName: w.resourceName,
          patternType: w.patternType,
          acls: [],
        };
        byPattern.set(key, r);
      }
      const w = wireAcl(b);
      r.acls.push({
        principal: w.principal,
        host: w.host,
        operation: w.operation,
        permissionType: w.permissionType,
      });
    }
    return { errorCode: null, errorMessage: null, resources: [...byPattern.values()] };
  }

  /** DeleteAcls: per filter, its outcome and the ACLs it removed. */
  async delete(filters: readonly WireAclFilter[]): Promise<Array<AclOutcome & { matching: WireAcl[] }>> {
    const parsed = filters.map(filterOf);
    const outcomes: Array<AclOutcome & { matching: WireAcl[] }> = parsed.map((p) =>
      p.ok
        ? { errorCode: null, errorMessage: null, matching: [] }
        : { errorCode: 'INVALID_REQUEST', errorMessage: p.message, matching: [] },
    );
    const valid = parsed.flatMap((p, i) => (p.ok ? [{ i, filter: p.value }] : []));
    if (valid.length === 0) return outcomes;
    try {
      const r = await this.store.commit({ type: 'deleteAcls', filters: valid.map((v) => v.filter) });
      if (!r.ok) {
        for (const v of valid)
          Object.assign(outcomes[v.i] as object, { errorCode: r.error.code, errorMessage: r.error.message });
        return outcomes;
      }
      for (const change of r.changes) {
        if (change.type !== 'aclsChanged') continue;
        change.deleted.forEach((removed, j) => {
          const v = valid[j];
          if (v !== undefined) (outcomes[v.i] as { matching: WireAcl[] }).matching = removed.map(wireAcl);
        });
      }
    } catch (e) {
      const failure = failureOf(e);
      for (const v of valid) Object.assign(outcomes[v.i] as object, failure);
    }
    return outcomes;
  }
}
