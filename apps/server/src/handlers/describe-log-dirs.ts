// DescribeLogDirs (key 35), v0–v4. The data directory with the size of each (requested, or every
// when topics is null) partition's log; total and usable bytes of its file system (v4+). Needs
// DESCRIBE on the cluster (else no results and, v3+, CLUSTER_AUTHORIZATION_FAILED).
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { defineHandler } from './types.js';
import { clusterAllowed } from './authz.js';
import { groupBy } from './util.js';

export const describeLogDirsHandler = defineHandler({
  apiKey: ApiKey.DescribeLogDirs,
  minVersion: 0,
  maxVersion: 4,
  uses: ['partitions'],
  handle(req, ctx) {
    if (!clusterAllowed(ctx, 'DESCRIBE'))
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, results: [] };
    const wanted =
      req.topics === null ? null : new Map(req.topics.map((t) => [t.topic, new Set(t.partitions)]));
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      results: ctx.deps.partitions.logDirs().map((d) => {
        const parts = d.partitions.filter(
          (p) => wanted === null || wanted.get(p.topic)?.has(p.partition) === true,
        );
        return {
          errorCode: ErrorCode.NONE,
          logDir: d.path,
          topics: [...groupBy(parts, (p) => p.topic)].map(([name, ps]) => ({
            name,
            partitions: ps.map((p) => ({
              partitionIndex: p.partition,
              partitionSize: BigInt(p.sizeBytes),
              offsetLag: p.offsetLag,
              isFutureKey: false,
            })),
          })),
          totalBytes: d.totalBytes,
          usableBytes: d.usableBytes,
        };
      }),
    };
  },
});
