// The handler table: one module per API key. ApiVersions advertises exactly this list, each range
// intersected with what the codec supports. To add an API: write `handlers/<api>.ts` exporting a
// `defineHandler({...})` with its header comment, and add it here (or pass it in `extra`, as the
// consumer-group handlers do).
import { buildHandlerTable } from './dispatcher.js';
import { alterConfigsHandler } from './alter-configs.js';
import { apiVersionsHandler } from './api-versions.js';
import { createPartitionsHandler } from './create-partitions.js';
import { deleteRecordsHandler } from './delete-records.js';
import { describeClusterHandler } from './describe-cluster.js';
import { describeConfigsHandler } from './describe-configs.js';
import { describeLogDirsHandler } from './describe-log-dirs.js';
import { describeTopicPartitionsHandler } from './describe-topic-partitions.js';
import { incrementalAlterConfigsHandler } from './incremental-alter-configs.js';
import { createTopicsHandler } from './create-topics.js';
import { deleteTopicsHandler } from './delete-topics.js';
import { describeProducersHandler } from './describe-producers.js';
import { fetchHandler } from './fetch.js';
import { findCoordinatorHandler } from './find-coordinator.js';
import { initProducerIdHandler } from './init-producer-id.js';
import { listOffsetsHandler } from './list-offsets.js';
import { metadataHandler } from './metadata.js';
import { offsetForLeaderEpochHandler } from './offset-for-leader-epoch.js';
import { produceHandler } from './produce.js';
import type { AnyHandler, HandlerTable } from './types.js';

export const CORE_HANDLERS: readonly AnyHandler[] = [
  produceHandler,
  fetchHandler,
  listOffsetsHandler,
  metadataHandler,
  findCoordinatorHandler,
  apiVersionsHandler,
  createTopicsHandler,
  deleteTopicsHandler,
  initProducerIdHandler,
  offsetForLeaderEpochHandler,
  describeProducersHandler,
  createPartitionsHandler,
  deleteRecordsHandler,
  describeConfigsHandler,
  alterConfigsHandler,
  incrementalAlterConfigsHandler,
  describeClusterHandler,
  describeLogDirsHandler,
  describeTopicPartitionsHandler,
];

/** The broker's table: the core handlers plus `extra` (e.g. the consumer-group handlers). */
export function createHandlerTable(extra: readonly AnyHandler[] = []): HandlerTable {
  return buildHandlerTable([...CORE_HANDLERS, ...extra]);
}
