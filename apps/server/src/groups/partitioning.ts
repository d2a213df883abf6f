// Which partition of `__consumer_offsets` coordinates a group: Kafka's own rule,
// `Utils.abs(groupId.hashCode()) % numPartitions`. The one implementation lives in
// @chronik/metadata (FindCoordinator answers from it), so the coordinator and the lookup can never
// disagree about where a group lives.
import { coordinatorPartition, javaStringHashCode } from '@chronik/metadata';

/** The internal topic holding committed offsets and group metadata. */
export const CONSUMER_OFFSETS_TOPIC = '__consumer_offsets';

export { javaStringHashCode };

export function partitionForGroup(groupId: string, numPartitions: number): number {
  return coordinatorPartition(groupId, numPartitions);
}
