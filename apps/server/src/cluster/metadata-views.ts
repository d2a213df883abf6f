// Pieces both Cluster implementations (LocalCluster and RaftCluster) build from @chronik/metadata.
import type { ConfigDescription } from '@chronik/metadata';
import type { ConfigEntryView } from './cluster.js';

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
