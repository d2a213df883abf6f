// A broker's registration in the metadata: the cluster id (chosen by the first broker to register)
// and this broker's endpoints. Clients learn brokers only from the metadata, so a broker serves
// nothing that names brokers before its registration is applied.
import type { BrokerListener } from '@chronik/metadata';
import type { MetadataStore } from './metadata-store.js';
import { commitOk } from './metadata-store.js';

export interface Registration {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
  /** Where peers reach this node's Raft listener ('standalone' on a single node). */
  raftAddress: string;
  /** Distinguishes this process from earlier ones of the same broker id (a random UUID). */
  incarnation: string;
  /** A cluster id to propose when the metadata has none yet. */
  newClusterId(): string;
  /**
   * Every advertised listener; absent when the broker has only the default PLAINTEXT listener at
   * host:port (then the registration is the one brokers made before listeners existed).
   */
  listeners?: readonly BrokerListener[];
}

/** Initializes the cluster id if needed and registers the broker; throws when either is refused. */
export async function registerBroker(store: MetadataStore, r: Registration): Promise<void> {
  if (store.state.clusterId() === null) {
    const init = await store.commit({ type: 'initCluster', clusterId: r.newClusterId() });
    if (!init.ok && init.error.code !== 'INCONSISTENT_CLUSTER_ID') throw init.error;
  }
  await commitOk(store, {
    type: 'registerBroker',
    brokerId: r.nodeId,
    host: r.host,
    port: r.port,
    rack: r.rack,
    raftAddress: r.raftAddress,
    incarnation: r.incarnation,
    ...(r.listeners !== undefined ? { listeners: r.listeners } : {}),
  });
}
