// The handler table: one module per API key. ApiVersions advertises exactly this list, each range
// intersected with what the codec supports. To add an API: write `handlers/<api>.ts` exporting a
// `defineHandler({...})` with its header comment, and add it here (or pass it in `extra`, as the
// consumer-group handlers do).
import { buildHandlerTable } from './dispatcher.js';
import { apiVersionsHandler } from './api-versions.js';
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
];

/** The broker's table: the core handlers plus `extra` (e.g. the consumer-group handlers). */
export function createHandlerTable(extra: readonly AnyHandler[] = []): HandlerTable {
  return buildHandlerTable([...CORE_HANDLERS, ...extra]);
}
