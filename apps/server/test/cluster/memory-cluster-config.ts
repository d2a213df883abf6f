// The configuration of one node of a 3-node raft-cluster inside one process (the in-process cluster
// tests): Raft over @chronik/raft-host's MemoryNetwork (`memory:<id>` addresses), ports picked by
// the OS, fast ticks, small internal topics. Tests add what they need over it.
import path from 'node:path';
import type { ServerConfig } from '../../src/config.js';
import { DEFAULT_BROKER, DEFAULT_CONFIG, DEFAULT_LIMITS } from '../../src/config.js';

export function memoryClusterConfig(
  id: number,
  ids: readonly number[],
  root: string,
  broker: Partial<ServerConfig['broker']> = {},
): ServerConfig {
  return {
    ...DEFAULT_CONFIG,
    mode: 'raft-cluster',
    nodeId: id,
    kafkaPort: 0,
    advertisedPort: 0,
    advertisedHost: '127.0.0.1',
    listenHost: '127.0.0.1',
    adminPort: -1,
    dataDir: path.join(root, `node${id}`),
    broker: { ...DEFAULT_BROKER, offsetsTopicNumPartitions: 3, transactionStateNumPartitions: 3, ...broker },
    limits: DEFAULT_LIMITS,
    shutdownTimeoutMs: 2000,
    raft: {
      raftAddr: `memory:${id}`,
      peers: ids.filter((p) => p !== id).map((p) => ({ nodeId: p, host: 'memory', port: p })),
      bootstrap: true,
      tickMs: 20,
      electionTicks: 10,
      partitionElectionTicks: 7,
    },
  };
}
