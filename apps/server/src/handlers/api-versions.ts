// ApiVersions (key 18), v0–v4. Lists exactly the handler table intersected with the codec's
// versions. A request at a version we do not support never reaches this module: the dispatcher
// answers it with a v0 body carrying UNSUPPORTED_VERSION and the same list (the v0 fallback that
// librdkafka and the Java client rely on). v3+ clients also send their software name/version,
// which we log at debug level.
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { defineHandler } from './types.js';

export const apiVersionsHandler = defineHandler({
  apiKey: ApiKey.ApiVersions,
  minVersion: 0,
  maxVersion: 4,
  uses: [],
  handle(req, ctx) {
    if (ctx.apiVersion >= 3) {
      ctx.deps.logger.debug(
        { client: req.clientSoftwareName, version: req.clientSoftwareVersion, conn: ctx.conn.id },
        'client software',
      );
    }
    return {
      errorCode: ErrorCode.NONE,
      apiKeys: ctx.deps
        .table()
        .advertised()
        .map((r) => ({ apiKey: r.apiKey, minVersion: r.minVersion, maxVersion: r.maxVersion })),
      throttleTimeMs: 0,
      supportedFeatures: [],
      finalizedFeaturesEpoch: -1n,
      finalizedFeatures: [],
      zkMigrationReady: false,
    };
  },
});
