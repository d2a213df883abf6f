// Merging a run of some parts only (`--only`) into a saved run: the saved run keeps everything it
// measured but those parts' scenarios, which the new run's replace; the merge is recorded so the
// report can say when and how those rows were measured. Pure.
import type { OnlyPart } from './args.js';
import type { BenchRun, MergedRun, ScenarioKind } from './results.js';

/** The scenario kinds each `--only` part measures (and replaces when merged). */
export const PART_KINDS: Record<OnlyPart, readonly ScenarioKind[]> = {
  transactions: ['transactions'],
  tls: ['tls'],
};

/** `base` with `part`'s scenarios of its parts' kinds in place of its own. `part.only` must be set. */
export function mergeRuns(base: BenchRun, part: BenchRun): BenchRun {
  const parts = part.only;
  if (parts === undefined || parts.length === 0)
    throw new RangeError('only a run of some parts (--only) can be merged into another');
  const kinds = [...new Set(parts.flatMap((p) => PART_KINDS[p]))];
  const replaced = (kind: ScenarioKind): boolean => kinds.includes(kind);
  const record: MergedRun = {
    parts: [...parts],
    kinds,
    startedAt: part.startedAt,
    finishedAt: part.finishedAt,
    invocation: part.invocation,
    ...(part.machine.chronikRevision !== undefined ? { chronikRevision: part.machine.chronikRevision } : {}),
    machine: {
      cpuModel: part.machine.cpuModel,
      cores: part.machine.cores,
      kernel: part.machine.kernel,
      node: part.machine.node,
    },
    loadAverageAtStart: part.machine.loadAverageAtStart,
    loadAverageAtEnd: part.loadAverageAtEnd,
    deployments: part.deployments,
    setupCommands: part.setupCommands,
    notes: part.notes,
  };
  return {
    ...base,
    // The base's tool versions stay; the part may add one the base did not use.
    machine: { ...base.machine, tools: { ...part.machine.tools, ...base.machine.tools } },
    scenarios: [
      ...base.scenarios.filter((s) => !replaced(s.kind)),
      ...part.scenarios.filter((s) => replaced(s.kind)),
    ],
    // A later merge of the same kinds supersedes an earlier one.
    merged: [...(base.merged ?? []).filter((m) => !m.kinds.every(replaced)), record],
  };
}
