/** Java's `String.hashCode()`: s[0]*31^(n-1) + ... + s[n-1] over UTF-16 code units, in int32 arithmetic. */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/**
 * The partition of `__consumer_offsets` (or `__transaction_state`) that holds a group's (or
 * transactional id's) state, as Kafka computes it: `Utils.abs(key.hashCode()) % partitionCount`,
 * where Utils.abs maps Integer.MIN_VALUE to 0.
 */
export function coordinatorPartition(key: string, partitionCount: number): number {
  if (!Number.isInteger(partitionCount) || partitionCount < 1)
    throw new RangeError('partitionCount must be a positive integer');
  const h = javaStringHashCode(key);
  const abs = h === -2147483648 ? 0 : Math.abs(h);
  return abs % partitionCount;
}
