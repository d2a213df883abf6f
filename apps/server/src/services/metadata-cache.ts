// The metadata as Kafka clients are told it (Metadata, DescribeCluster, FindCoordinator, leader
// hints): this node's applied metadata state, with the leadership its own partition replicas know
// of and the metadata has not caught up with yet — a newly elected leader is named once it serves,
// before its report has been applied, and a replica of this node that stepped down is never named
// leader.
import type { BrokerInfo, BrokerListener, PartitionInfo, TopicInfo } from '@chronik/metadata';
import type { MetadataStore } from './metadata-store.js';
import type { StateWatch } from './state-watch.js';

export interface BrokerEndpoint {
  nodeId: number;
  /** The endpoint of the listener it was looked up on (by default the inter-broker listener's). */
  host: string;
  port: number;
  rack: string | null;
  /** Every advertised listener of the broker (absent: only the registered endpoint is known). */
  listeners?: readonly BrokerListener[];
}

export interface PartitionView {
  partition: number;
  /** -1 while no leader is known. */
  leaderId: number;
  leaderEpoch: number;
  replicas: readonly number[];
  isr: readonly number[];
  offlineReplicas: readonly number[];
}

export interface TopicView {
  name: string;
  /** UUID, lower-case 8-4-4-4-12. */
  topicId: string;
  internal: boolean;
  partitions: readonly PartitionView[];
  /** Topic config overrides. */
  configs: Readonly<Record<string, string>>;
}

/** What this node's own replica of a partition knows about its leadership. */
export interface LocalLeadership {
  /** The leader the replica knows to serve (-1: none). */
  leaderId: number;
  leaderEpoch: number;
  isLeader: boolean;
}

/** The partition manager's answer: leadership as this node's replica knows it, if it has one. */
export type LeadershipLookup = (topicId: string, partition: number) => LocalLeadership | undefined;

export function endpointOf(b: BrokerInfo): BrokerEndpoint {
  return { nodeId: b.brokerId, host: b.host, port: b.port, rack: b.rack, listeners: b.listeners };
}

/**
 * The broker as clients of `listener` are told it: host and port of its listener of that name;
 * undefined when it has none (Kafka does not name a broker on a listener it lacks). Without a
 * listener (a request not from a client connection), the broker's registered endpoint.
 */
export function endpointOn(b: BrokerEndpoint, listener: string | undefined): BrokerEndpoint | undefined {
  if (listener === undefined || b.listeners === undefined) return b;
  const l = b.listeners.find((x) => x.name === listener);
  return l === undefined ? undefined : { ...b, host: l.host, port: l.port };
}

export class MetadataCache {
  constructor(
    private readonly store: MetadataStore,
    private readonly nodeId: number,
    private readonly leadership: LeadershipLookup,
    private readonly watch?: StateWatch,
  ) {}

  /** Whether this broker's registration is applied here and it is not fenced. */
  registered(): boolean {
    const self = this.store.state.broker(this.nodeId);
    return self !== undefined && !self.fenced;
  }

  /**
   * Resolves once registered() (a node just started registers in the background), or after
   * `timeoutMs`: whether it is.
   */
  untilRegistered(timeoutMs: number): Promise<boolean> {
    if (this.registered() || this.watch === undefined) return Promise.resolve(this.registered());
    return this.watch.until(() => (this.registered() ? true : undefined), timeoutMs, false);
  }

  clusterId(): string {
    return this.store.state.clusterId() ?? '';
  }

  /**
   * The controller id clients are told: this broker. Every broker takes admin requests and commits
   * them through the metadata store (forwarding to the metadata leader in a cluster), so naming
   * this broker keeps clients off a metadata leader that may just have died — as KRaft brokers
   * name a live broker, not the controller quorum's leader (KIP-590). The metadata leader itself
   * is in the admin API (`metadataGroup.leaderId`). Until this broker is registered (a node just
   * started) it names a live broker the answer lists, or -1: never one a client cannot find.
   */
  controllerId(): number {
    if (this.registered()) return this.nodeId;
    return this.store.state.liveBrokers()[0]?.brokerId ?? -1;
  }

  /** Live (registered, unfenced) brokers. */
  brokers(): BrokerEndpoint[] {
    return this.store.state.liveBrokers().map(endpointOf);
  }

  broker(nodeId: number): BrokerEndpoint | undefined {
    const b = this.store.state.broker(nodeId);
    return b === undefined || b.fenced ? undefined : endpointOf(b);
  }

  /** Live brokers as clients of `listener` reach them (those without that listener left out). */
  brokersOn(listener: string | undefined): BrokerEndpoint[] {
    const out: BrokerEndpoint[] = [];
    for (const b of this.brokers()) {
      const e = endpointOn(b, listener);
      if (e !== undefined) out.push(e);
    }
    return out;
  }

  /** One live broker as clients of `listener` reach it; undefined when unknown, fenced or without that listener. */
  brokerOn(nodeId: number, listener: string | undefined): BrokerEndpoint | undefined {
    const b = this.broker(nodeId);
    return b === undefined ? undefined : endpointOn(b, listener);
  }

  topics(): TopicView[] {
    return this.store.state.topics().map((t) => this.view(t));
  }

  /** Whether the topic exists (without building its view, which costs a lookup per partition). */
  hasTopic(name: string): boolean {
    return this.store.state.topic(name) !== undefined;
  }

  topic(name: string): TopicView | undefined {
    const t = this.store.state.topic(name);
    return t ? this.view(t) : undefined;
  }

  topicById(topicId: string): TopicView | undefined {
    const t = this.store.state.topicById(topicId);
    return t ? this.view(t) : undefined;
  }

  /**
   * The partition's leader and epoch as clients should be told ({-1, epoch} when none). A leader is
   * named only once it serves (ManagedPartition.leaderId): a replica here that knows of a newer epoch
   * than the metadata names that epoch's leader once it serves, or none until then — the
   * metadata's leader is stale, and a new leader whose high watermark is not established would
   * answer reads with OFFSET_NOT_AVAILABLE.
   */
  leaderOf(topicId: string, p: PartitionInfo): { leaderId: number; leaderEpoch: number } {
    let leaderId = p.leader;
    let leaderEpoch = p.leaderEpoch;
    const local = this.leadership(topicId, p.partition);
    if (local !== undefined && local.leaderEpoch > leaderEpoch) {
      leaderId = local.leaderId;
      leaderEpoch = local.leaderEpoch;
    } else if (local !== undefined && leaderId === this.nodeId && !local.isLeader) {
      // The metadata still names this node, but its replica stepped down (check-quorum while cut
      // off, or a pause) or does not serve yet: never send clients back here. Name the leader the
      // replica knows, or none (LEADER_NOT_AVAILABLE) so that clients ask again shortly.
      leaderId = local.leaderId !== this.nodeId ? local.leaderId : -1;
      leaderEpoch = Math.max(leaderEpoch, local.leaderEpoch);
    }
    return { leaderId, leaderEpoch };
  }

  /** The leader of a partition as clients are told it (leaderOf); -1 when none or no such partition. */
  partitionLeader(topic: string, partition: number): number {
    const t = this.store.state.topic(topic);
    const info = t?.partitions[partition];
    return t === undefined || info === undefined ? -1 : this.leaderOf(t.topicId, info).leaderId;
  }

  private view(t: TopicInfo): TopicView {
    return {
      name: t.name,
      topicId: t.topicId,
      internal: t.internal,
      configs: t.configs,
      partitions: t.partitions.map((p): PartitionView => {
        const { leaderId, leaderEpoch } = this.leaderOf(t.topicId, p);
        return {
          partition: p.partition,
          leaderId,
          leaderEpoch,
          replicas: p.replicas,
          isr: p.isr,
          offlineReplicas: [],
        };
      }),
    };
  }
}
