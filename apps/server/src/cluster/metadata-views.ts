// Pieces both Cluster implementations (LocalCluster and RaftCluster) share: views built from
// @chronik/metadata, the leader-epoch check, the data directory's disk usage.
import fs from 'node:fs';
import type { ConfigDescription } from '@chronik/metadata';

import type { ConfigEntryView } from './cluster.js';
import { KafkaError } from '../errors.js';

/** KIP-320: a request's current leader epoch against this leader's (-1: not checked). */
export function checkLeaderEpoch(currentLeaderEpoch: number, leaderEpoch: number): void {
  if (currentLeaderEpoch < 0) return;
  if (currentLeaderEpoch > leaderEpoch)
    throw new KafkaError(
      'UNKNOWN_LEADER_EPOCH',
      `leader epoch ${currentLeaderEpoch} is newer than ${leaderEpoch}`,
    );
  if (currentLeaderEpoch < leaderEpoch)
    throw new KafkaError(
      'FENCED_LEADER_EPOCH',
      `leader epoch ${currentLeaderEpoch} is older than ${leaderEpoch}`,
    );
}

/** Total and usable bytes of the file system holding `dir` (-1 each where statfs is unavailable). */
export function diskSpace(dir: string): { totalBytes: bigint; usableBytes: bigint } {
  try {
    const s = fs.statfsSync(dir);
    return {
      totalBytes: BigInt(s.blocks) * BigInt(s.bsize),
      usableBytes: BigInt(s.bavail) * BigInt(s.bsize),
    };
  } catch {
    return { totalBytes: -1n, usableBytes: -1n };
  }
}

/**
 * A reason to refuse configs that ask for log compaction, which Chronik does not implement (Kafka
 * accepts it; silently keeping every record would surprise the user). `op` is the incremental
 * operation: 1 (DELETE) and 3 (SUBTRACT) never turn compaction on.
 */
export function compactProblem(
  configs: ReadonlyArray<{ name: string; value: string | null; op?: number }>,
): string | null {
  for (const c of configs) {
    if (
      (c.name === 'cleanup.policy' || c.name === 'log.cleanup.policy') &&
      c.value !== null &&
      c.op !== 1 &&
      c.op !== 3 &&
      c.value.includes('compact')
    ) {
      return 'cleanup.policy=compact is not supported by this broker: Chronik does not compact logs (use cleanup.policy=delete)';
    }
  }
  return null;
}

/** A DescribeConfigs entry as the handlers see it. */
export function viewOfConfig(d: ConfigDescription): ConfigEntryView {
  return {
    name: d.name,
    value: d.value,
    readOnly: d.readOnly,
    source: d.source,
    isDefault: d.isDefault,
    isSensitive: d.isSensitive,
    configType: d.configType,
    documentation: d.documentation,
    synonyms: d.synonyms.map((s) => ({ name: s.name, value: s.value, source: s.source })),
  };
}
