// raft-cluster services: RaftCluster, the same handler table and dispatcher as standalone, and the
// group coordinator, which loads a `__consumer_offsets` partition when this node's replica of it
// becomes the leader (and has applied an entry of its term) and unloads it when leadership moves.
import type { ServicesFactory } from '../../broker.js';
import type { ServerConfig } from '../../config.js';
import { GroupCoordinator } from '../../groups/coordinator.js';
import { CONSUMER_OFFSETS_TOPIC } from '../../groups/partitioning.js';
import { ClusterOffsetLog, createGroupHandlers } from '../../groups/service.js';
import type { Logger } from '../../logger.js';
import { brokerServices } from '../../services.js';
import { RaftCluster } from './raft-cluster.js';

export interface RaftClusterServicesOptions {
  nowMs?: () => number;
  tickMs?: number;
  electionTicks?: number;
}

function startCoordinator(
  cluster: RaftCluster,
  config: ServerConfig,
  logger: Logger,
): { coordinator: GroupCoordinator; stop(): void } {
  const coordinator = new GroupCoordinator({
    offsetLog: new ClusterOffsetLog(cluster),
    logger,
    config: { numPartitions: config.broker.offsetsTopicNumPartitions },
  });
  const off = cluster.onLeadership((topic, partition, leader) => {
    if (topic !== CONSUMER_OFFSETS_TOPIC || partition >= coordinator.config.numPartitions) return;
    if (leader) {
      coordinator.loadPartition(partition).catch((e: unknown) => {
        logger.warn(
          { partition, err: e instanceof Error ? e.message : String(e) },
          'loading a __consumer_offsets partition failed',
        );
      });
    } else {
      coordinator.unloadPartition(partition);
    }
  });
  return {
    coordinator,
    stop: () => {
      off();
      coordinator.close();
    },
  };
}

export function raftClusterServices(options: RaftClusterServicesOptions = {}): ServicesFactory {
  return async ({ config, dataDir, logger, metrics, advertised }) => {
    const nowMs = options.nowMs ?? Date.now;
    const cluster = await RaftCluster.open({
      config,
      dataDir: dataDir.path,
      logger: logger.child({ component: 'cluster' }),
      nowMs,
      advertised,
      ...(options.tickMs !== undefined ? { tickMs: options.tickMs } : {}),
      ...(options.electionTicks !== undefined ? { electionTicks: options.electionTicks } : {}),
    });
    let groups: ReturnType<typeof startCoordinator>;
    try {
      groups = startCoordinator(cluster, config, logger.child({ component: 'groups' }));
    } catch (e) {
      await cluster.close();
      throw e;
    }
    return brokerServices({
      cluster,
      config,
      logger,
      metrics,
      nowMs,
      handlers: createGroupHandlers(groups.coordinator),
      close: async () => {
        groups.stop();
        await cluster.close();
      },
    });
  };
}

export const createRaftClusterServices: ServicesFactory = raftClusterServices();
