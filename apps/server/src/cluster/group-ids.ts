// Raft group ids of the cluster.
//
// Group 1 is the metadata group. A partition's group id is derived from (topic id, partition) by a
// 48-bit FNV-1a hash, offset past the reserved ids: every node computes the same id without
// coordination, and the id stays the same for the partition's whole life. 48 bits keep ids exact
// in a JS number and in the transport's uint64. Collisions (probability ~n²/2^49 for n partitions,
// about 2e-6 at 10,000 partitions) are detected by the node that would open both groups: it refuses
// to open the second and logs an error instead of mixing two logs (see RaftCluster.reconcile).

export const METADATA_GROUP_ID = 1;
/** Ids below this are reserved for cluster-wide groups. */
const FIRST_PARTITION_GROUP_ID = 1024;
const MASK_48 = (1n << 48n) - 1n;
const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK_64 = (1n << 64n) - 1n;

export function partitionGroupId(topicId: string, partition: number): number {
  let h = FNV_OFFSET;
  const bytes = Buffer.from(`${topicId.toLowerCase()}/${partition}`, 'utf8');
  for (const b of bytes) {
    h ^= BigInt(b);
    h = (h * FNV_PRIME) & MASK_64;
  }
  const id = Number(h & MASK_48);
  return id < FIRST_PARTITION_GROUP_ID ? id + FIRST_PARTITION_GROUP_ID : id;
}
