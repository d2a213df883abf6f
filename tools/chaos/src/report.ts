// The report of one run (JSON and Markdown) and the summary of several.
import type { CheckOutcome } from './checker.js';
import type { FaultKind, PlannedFault } from './nemesis.js';

export interface RunReport {
  seed: number;
  startedAt: string;
  nodes: number;
  durationMs: number;
  faultKinds: FaultKind[];
  topic: string;
  partitions: number;
  /** Wall time of the whole run, set-up and checking included. */
  elapsedMs: number;
  schedule: PlannedFault[];
  timeline: Array<{
    index: number;
    kind: string;
    description: string;
    appliedMs: number;
    healedMs: number | undefined;
    unavailabilityMs: number;
  }>;
  converged: boolean;
  convergeMs: number;
  /** The offline comparison of the stopped replicas' Raft logs. */
  replicaLogs?: { groups: number; entriesCompared: number; mismatches: number; errors: number };
  outcome: CheckOutcome;
  /** Safety holds (every safety check found nothing). */
  valid: boolean;
  /** The Raft link proxies' counters at the end (`from->to`). */
  links?: Record<
    string,
    {
      connections: number;
      resets: number;
      bytesForwarded: number;
      bytesDropped: number;
      open: number;
      mode: string;
    }
  >;
  /** When the replicas did not converge: bytes each link carried in 12 s after the deadline. */
  linksAtDeadline?: string[];
  /** Where the history, report, chart and node logs are. */
  outDir: string;
  /** Set when the run itself broke (cluster never formed, ...): then `valid` is false. */
  error?: string;
}

const ms = (v: number | undefined): string => (v === undefined ? '–' : `${(v / 1000).toFixed(1)} s`);

export function reportMarkdown(r: RunReport): string {
  const o = r.outcome;
  const lines: string[] = [];
  lines.push(`# Chaos run, seed ${r.seed}: ${r.valid ? 'valid' : 'INVALID'}`);
  lines.push('');
  lines.push(
    `${r.nodes} nodes, ${ms(r.durationMs)} of faults (${r.faultKinds.join(', ')}), topic \`${r.topic}\` with ${r.partitions} partitions; started ${r.startedAt}, took ${ms(r.elapsedMs)}.`,
  );
  lines.push(
    `Replay: \`pnpm chaos --seed ${r.seed} --duration ${Math.round(r.durationMs / 1000)}s --nodes ${r.nodes} --faults ${r.faultKinds.join(',')}\`.`,
  );
  if (r.error) lines.push('', `**The run broke:** ${r.error}`);
  lines.push(
    '',
    `Replicas converged after healing: ${r.converged ? `yes, in ${ms(r.convergeMs)}` : 'NO'}. Longest unavailability (acks=all): **${ms(o.longestUnavailabilityMs)}**. Longest consumer-group stall (no poll while writes were acknowledged): ${ms(o.stats.longestPollGapMs)} from ${ms(o.stats.longestPollGapAtMs)}.`,
  );
  if (r.replicaLogs)
    lines.push(
      '',
      `Raft logs compared offline after a clean stop: ${r.replicaLogs.groups} groups, ${r.replicaLogs.entriesCompared} committed entries, ${r.replicaLogs.mismatches} differ, ${r.replicaLogs.errors} unreadable.`,
    );
  if (r.linksAtDeadline)
    lines.push(
      '',
      'Raft links after the convergence deadline (proxy counters):',
      '',
      ...r.linksAtDeadline.map((l) => `- ${l}`),
    );
  lines.push('', '## Checks', '', '| check | safety | count | examples |', '| --- | --- | ---: | --- |');
  for (const c of o.checks)
    lines.push(
      `| ${c.name} | ${c.safety ? 'yes' : 'no (reported)'} | ${c.count} | ${c.details
        .slice(0, 3)
        .map((d) => d.replace(/\|/g, '/'))
        .join('<br>')} |`,
    );
  lines.push(
    '',
    '## Operations',
    '',
    '| sends | ok | info (unknown) | fail |',
    '| --- | ---: | ---: | ---: |',
  );
  for (const [k, v] of Object.entries(o.stats.sends))
    lines.push(`| ${k} | ${v.ok} | ${v.info} | ${v.fail} |`);
  lines.push(
    '',
    `Polls: ${o.stats.polls}; commits ok ${o.stats.commits.ok}, unknown ${o.stats.commits.info}; records in the final read: ${o.stats.finalRecords}; churn topics created ${o.stats.churn.created}, deleted ${o.stats.churn.deleted}, failed/unknown ops ${o.stats.churn.failed}.`,
  );
  lines.push(
    '',
    '## Fault timeline',
    '',
    '| # | applied | healed | fault | unavailability |',
    '| ---: | ---: | ---: | --- | ---: |',
  );
  for (const t of r.timeline)
    lines.push(
      `| ${t.index} | ${ms(t.appliedMs)} | ${ms(t.healedMs)} | ${t.description.replace(/\|/g, '\\|')} | ${ms(t.unavailabilityMs)} |`,
    );
  lines.push('', '![throughput and errors](chart.svg)', '');
  return lines.join('\n');
}

export function summaryMarkdown(reports: readonly RunReport[]): string {
  const lines: string[] = [];
  const bad = reports.filter((r) => !r.valid);
  lines.push(`# Chaos runs: ${reports.length - bad.length} of ${reports.length} valid`, '');
  const names = reports[0]?.outcome.checks.map((c) => c.name) ?? [];
  lines.push(
    `| seed | nodes | valid | faults | ${names.join(' | ')} | longest unavailability | longest consumer stall | acked acks=all | converged |`,
  );
  lines.push(
    `| ---: | ---: | --- | ---: | ${names.map(() => '---:').join(' | ')} | ---: | ---: | ---: | --- |`,
  );
  for (const r of reports) {
    const counts = names.map((n) => String(r.outcome.checks.find((c) => c.name === n)?.count ?? '–'));
    const ackedAll = Object.entries(r.outcome.stats.sends)
      .filter(([k]) => k.startsWith('acks=all'))
      .reduce((n, [, v]) => n + v.ok, 0);
    lines.push(
      `| ${r.seed} | ${r.nodes} | ${r.valid ? 'yes' : `**NO**${r.error ? ` (${r.error.slice(0, 80)})` : ''}`} | ${r.timeline.length} | ${counts.join(' | ')} | ${ms(r.outcome.longestUnavailabilityMs)} | ${ms(r.outcome.stats.longestPollGapMs)} | ${ackedAll} | ${r.replicaLogs?.entriesCompared ?? '–'} | ${r.converged ? `yes (${ms(r.convergeMs)})` : 'NO'} |`,
    );
  }
  const longest = reports.reduce((m, r) => Math.max(m, r.outcome.longestUnavailabilityMs), 0);
  lines.push('', `Longest unavailability window over all runs: ${ms(longest)}.`, '');
  return lines.join('\n');
}
