// ElectLeaders' transfers in raft-cluster mode (services/elections.ts): a partition's leadership
// moves by a Raft leadership transfer that only its leader can start. Led here: the replica starts
// it (with the supervisor's quiet window, so that no append is dropped after its offsets were
// assigned); led elsewhere: an ElectLeaders to the leader's node (the inter-broker client), which
// that node answers for its own leaders only.
import { KafkaError } from '../errors.js';
import type { ReplicatedPartition } from '../partition/replicated-partition.js';
import type { LeadershipTransfers } from '../services/elections.js';

/**
 * Asks node `leaderId` to hand the partition over to its preferred replica (ElectLeaders PREFERRED
 * to it: modes/inter-broker.ts); resolves when it did or needed not, rejects with a KafkaError.
 */
export type RemoteElect = (
  leaderId: number,
  tp: { topic: string; partition: number },
  timeoutMs: number,
) => Promise<void>;

export interface ClusterLeadershipTransfersOptions {
  nodeId: number;
  /** The partition replicas of this node. */
  replicas(): Iterable<ReplicatedPartition>;
  remote: RemoteElect;
  /** How long appends wait while leadership moves (the supervisor's transfer window). */
  transferWindowMs: number;
}

export class ClusterLeadershipTransfers implements LeadershipTransfers {
  constructor(private readonly options: ClusterLeadershipTransfersOptions) {}

  async transfer(
    tp: { topic: string; topicId: string; partition: number },
    to: number,
    leaderId: number,
    options: { localOnly: boolean; timeoutMs: number },
  ): Promise<void> {
    for (const r of this.options.replicas()) {
      if (r.topicId !== tp.topicId || r.partition !== tp.partition || !r.isLeaderReady()) continue;
      if (!r.transferring) r.transferLeadership(to, this.options.transferWindowMs);
      return;
    }
    if (options.localOnly || leaderId === this.options.nodeId || leaderId < 0)
      throw new KafkaError('NOT_LEADER_OR_FOLLOWER', `${tp.topic}-${tp.partition} is not led here`);
    await this.options.remote(leaderId, tp, options.timeoutMs);
  }
}
