// KIP-951 leader hints: a partition error NOT_LEADER_OR_FOLLOWER or FENCED_LEADER_EPOCH carries the
// partition's current leader (id and epoch), and the response lists the endpoints of the leaders it
// names, so a client can redirect without a Metadata round trip (Produce v10+, Fetch v12+/v16+).
// Endpoints are those of the listener the request came in on.
import { ErrorCode } from '@chronik/protocol';
import type { BrokerEndpoint, MetadataCache } from '../services/metadata-cache.js';

export interface LeaderIdAndEpoch {
  leaderId: number;
  leaderEpoch: number;
}

/** True for the partition errors that carry a leader hint. */
export function needsLeaderHint(errorCode: number): boolean {
  return errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER || errorCode === ErrorCode.FENCED_LEADER_EPOCH;
}

/** Collects the leaders named in one response and their endpoints. */
export class LeaderHints {
  private readonly endpointsById = new Map<number, BrokerEndpoint>();

  constructor(
    private readonly metadata: MetadataCache,
    /** The listener of the request (undefined: the brokers' registered endpoints). */
    private readonly listener?: string,
  ) {}

  /**
   * The partition's current leader and epoch as this broker knows them ({-1, -1} when unknown);
   * the leader's endpoint, when it is a known broker, is added to `endpoints()`.
   */
  leaderOf(topic: string, partition: number): LeaderIdAndEpoch {
    const part = this.metadata.topic(topic)?.partitions[partition];
    if (part === undefined || part.leaderId < 0) return { leaderId: -1, leaderEpoch: -1 };
    if (!this.endpointsById.has(part.leaderId)) {
      const b =
        this.listener === undefined
          ? this.metadata.broker(part.leaderId)
          : this.metadata.brokerOn(part.leaderId, this.listener);
      if (b) this.endpointsById.set(b.nodeId, b);
    }
    return { leaderId: part.leaderId, leaderEpoch: part.leaderEpoch };
  }

  /** Endpoints of the leaders named so far, in first-named order. */
  endpoints(): BrokerEndpoint[] {
    return [...this.endpointsById.values()];
  }
}
