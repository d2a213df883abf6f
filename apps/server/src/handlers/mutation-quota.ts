// controller_mutation_rate (KIP-599) in the handlers that create or delete partitions (CreateTopics,
// CreatePartitions, DeleteTopics): each topic's partitions are recorded against the client's quota
// in request order; in a strict request (CreateTopics v6+, CreatePartitions v3+, DeleteTopics v5+)
// a topic met while the client is over its quota is refused with THROTTLING_QUOTA_EXCEEDED (a
// topic that takes it over is still accepted, as Kafka's token bucket does); an older request is
// never refused. Topics that then fail give their partitions back. The response carries the time
// until the client is within its quota again, and the connection is muted for it.
import type { ConnectionInfo } from '../net/connection.js';

export const THROTTLING_QUOTA_MESSAGE = 'The throttling quota has been exceeded.';

interface MutationContext {
  clientId: string | null;
  conn: ConnectionInfo;
}

/** The items admitted (their mutations recorded) and those refused over the quota, in order. */
export function chargeMutations<T>(
  ctx: MutationContext,
  items: readonly T[],
  mutations: (item: T) => number,
  strict: boolean,
): { admitted: T[]; throttled: T[] } {
  const admitted: T[] = [];
  const throttled: T[] = [];
  for (const item of items) {
    const n = Math.max(0, mutations(item));
    const refusedMs = ctx.conn.chargeMutations?.(ctx.clientId, n, strict) ?? 0;
    (refusedMs > 0 ? throttled : admitted).push(item);
  }
  return { admitted, throttled };
}

/** Gives back the mutations of an admitted item that failed. */
export function refundMutations(ctx: MutationContext, mutations: number): void {
  if (mutations > 0) ctx.conn.chargeMutations?.(ctx.clientId, -mutations, false);
}

/** The response's throttle time (and the connection muted for it). */
export function mutationThrottleMs(ctx: MutationContext): number {
  return ctx.conn.mutationThrottleMs?.(ctx.clientId) ?? 0;
}
