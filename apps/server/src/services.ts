// Standalone services: the local cluster, storage and the handler registry behind the listener.
import type { ServicesFactory } from './broker.js';
import { ServerError, ServerErrorCode } from './errors.js';

export const createStandaloneServices: ServicesFactory = async () => {
  await Promise.resolve();
  return {
    dispatcher: {
      dispatch: () => Promise.reject(new ServerError(ServerErrorCode.NOT_IMPLEMENTED, 'handlers are not wired yet')),
    },
    admin: { cluster: () => ({}), partitions: () => [] },
    close: () => Promise.resolve(),
  };
};
