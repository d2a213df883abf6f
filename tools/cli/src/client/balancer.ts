// The cluster's balancer through the admin API (GET /v1/cluster/balancer, POST
// /v1/cluster/decommission | recommission | rebalance | rebalance/cancel, GET
// /v1/cluster/balancer/plan): the server moves the replicas (its metadata leader, a bounded number
// at a time, resuming after a failover); the tool asks and follows.
import type { Admins } from './admin-api.js';
import { adminCall } from './admin-api.js';
import { CliError } from '../errors.js';

export interface DrainStatus {
  nodeId: number;
  remove: boolean;
  requestIndex: number;
  /** Partitions with a replica on the node (now or in a move's target). */
  replicasLeft: number;
  /** Partitions no other broker can take the node's replica of. */
  stuck: Array<{ topic: string; partition: number }>;
}

export interface BalancerStatus {
  drains: DrainStatus[];
  rebalance: { requestIndex: number; endIndex: number | null; reason: string | null } | null;
  moving: number;
  maxConcurrentMoves: number;
}

export interface PlannedMove {
  topic: string;
  partition: number;
  from: number[];
  to: number[];
}

export interface Members {
  voters: number[];
  learners: number[];
  lastChange: { nodeId: number; kind: string; requestIndex: number; refused: string | null } | null;
  brokers: Array<{ nodeId: number }>;
}

/** The JSON answer of an admin call; a CliError with the cluster's reason for an error answer. */
export async function adminJson<T>(admins: Admins, path: string, body?: unknown): Promise<T> {
  const r = await adminCall(admins, path, body);
  const error = (r.body as { error?: { code?: string; message?: string } | string }).error;
  if (error !== undefined || r.status >= 400) {
    const e =
      typeof error === 'string'
        ? { code: 'INVALID_REQUEST', message: error }
        : (error ?? { code: `HTTP_${r.status}`, message: JSON.stringify(r.body) });
    throw new CliError('ADMIN_API', `${e.code ?? 'REFUSED'}: ${e.message ?? ''}`);
  }
  return r.body as T;
}

export const balancerStatus = (admins: Admins): Promise<BalancerStatus> =>
  adminJson<BalancerStatus>(admins, '/v1/cluster/balancer');

export const members = (admins: Admins): Promise<Members> =>
  adminJson<Members>(admins, '/v1/cluster/members');

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
