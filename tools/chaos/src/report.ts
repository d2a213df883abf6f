// The report of one run (JSON and Markdown) and the summary of several.
import type { CheckOutcome } from './checker.js';
import type { FaultKind, PlannedFault } from './nemesis.js';
import type { TxnCounts, TxnStats } from './txn-checker.js';
import type { WorkloadKind } from './workload.js';

export interface RunReport {
  seed: number;
  startedAt: string;
  nodes: number;
  durationMs: number;
  faultKinds: FaultKind[];
  /** The workloads run (absent in reports written before there was a choice: queue). */
  workloads?: WorkloadKind[];
  /** The topic faults aimed at partition roles target (the queue workload's, or the transactional input). */
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
  /** The transactional workload's counts, when it ran. */
  txn?: TxnStats;
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

/** The workloads of a report (queue for reports written before there was a choice). */
const workloadsOf = (r: RunReport): WorkloadKind[] => r.workloads ?? ['queue'];

export function reportMarkdown(r: RunReport): string {
  const o = r.outcome;
  const workloads = workloadsOf(r);
  const queue = workloads.includes('queue');
  const lines: string[] = [];
  lines.push(`# Chaos run, seed ${r.seed}: ${r.valid ? 'valid' : 'INVALID'}`);
  lines.push('');
  lines.push(
    `${r.nodes} nodes, ${ms(r.durationMs)} of faults (${r.faultKinds.join(', ')}), workload${workloads.length > 1 ? 's' : ''} ${workloads.join(' and ')}, ${r.partitions} partitions per topic; started ${r.startedAt}, took ${ms(r.elapsedMs)}.`,
  );
  lines.push(
    `Replay: \`pnpm chaos --seed ${r.seed} --duration ${Math.round(r.durationMs / 1000)}s --nodes ${r.nodes} --faults ${r.faultKinds.join(',')}${queue && workloads.length === 1 ? '' : ` --workload ${workloads.join(',')}`}\`.`,
  );
  if (r.error) lines.push('', `**The run broke:** ${r.error}`);
  lines.push(
    '',
    `Replicas converged after healing: ${r.converged ? `yes, in ${ms(r.convergeMs)}` : 'NO'}. Longest unavailability (${queue ? 'acks=all sends' : ''}${queue && r.txn ? ', ' : ''}${r.txn ? 'transactions' : ''}): **${ms(o.longestUnavailabilityMs)}**.${queue ? ` Longest consumer-group stall (no poll while writes were acknowledged): ${ms(o.stats.longestPollGapMs)} from ${ms(o.stats.longestPollGapAtMs)}.` : ''}`,
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
  if (queue) {
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
  }
  if (r.txn) lines.push('', ...txnMarkdown(r.txn));
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

/** The transactional workload's section of a report. */
export function txnMarkdown(t: TxnStats): string[] {
  const row = (what: string, c: TxnCounts): string =>
    `| ${what} | ${c.committed} | ${c.aborted} | ${c.unknown} (${c.unknownVisible} visible, ${c.unknownInvisible} not) | ${c.failed} |`;
  const reads = Object.entries(t.reads)
    .map(
      ([topic, n]) =>
        `\`${topic}\` ${n.read_committed} read_committed / ${n.read_uncommitted} read_uncommitted`,
    )
    .join('; ');
  return [
    '## Transactions',
    '',
    '| transactions | committed | aborted on purpose | unknown (commit unanswered) | failed before EndTxn |',
    '| --- | ---: | ---: | ---: | ---: |',
    row('producers', t.producers),
    row('consume-transform-produce', t.worker),
    '',
    `Producers: ${t.producers.recordsAcked} records acknowledged, ${t.producers.recordsCommitted} of them in transactions whose commit was acknowledged. ` +
      `Records in the final reads (per topic, first complete read of each partition): ${reads}. ` +
      `Records of transactions never committed: ${t.abortedAcked} acknowledged, ${t.abortedInLog} of them found in the log by read_uncommitted (none may be visible to read_committed: txn-aborted-read).`,
    '',
    `Pipeline: ${t.pipelineInput} committed input records below the group's committed offsets ${JSON.stringify(t.committedOffsets ?? {})}, ${t.pipelineExactlyOnce} of them in the committed output exactly once; ${t.backlog} above them (not processed by the end). ` +
      `Worker: ${t.worker.polls} polls, ${t.worker.restarts} restarts, ${t.worker.rewinds} rewinds after a rejoin, ${t.worker.freshRewinds} on a fresh start.`,
  ];
}

export function summaryMarkdown(reports: readonly RunReport[]): string {
  const lines: string[] = [];
  const bad = reports.filter((r) => !r.valid);
  lines.push(`# Chaos runs: ${reports.length - bad.length} of ${reports.length} valid`, '');
  const names = [...new Set(reports.flatMap((r) => r.outcome.checks.map((c) => c.name)))];
  const txn = reports.some((r) => r.txn !== undefined);
  lines.push(
    `| seed | nodes | valid | faults | ${names.join(' | ')} | longest unavailability | longest consumer stall | acked acks=all |${txn ? ' transactions committed / aborted / unknown |' : ''} committed Raft entries compared | converged |`,
  );
  lines.push(
    `| ---: | ---: | --- | ---: | ${names.map(() => '---:').join(' | ')} | ---: | ---: | ---: |${txn ? ' ---: |' : ''} ---: | --- |`,
  );
  for (const r of reports) {
    const counts = names.map((n) => String(r.outcome.checks.find((c) => c.name === n)?.count ?? '–'));
    const ackedAll = Object.entries(r.outcome.stats.sends)
      .filter(([k]) => k.startsWith('acks=all'))
      .reduce((n, [, v]) => n + v.ok, 0);
    const t = r.txn;
    const txns =
      t === undefined
        ? '–'
        : `${t.producers.committed + t.worker.committed} / ${t.producers.aborted + t.worker.aborted} / ${t.producers.unknown + t.worker.unknown}`;
    lines.push(
      `| ${r.seed} | ${r.nodes} | ${r.valid ? 'yes' : `**NO**${r.error ? ` (${r.error.slice(0, 80)})` : ''}`} | ${r.timeline.length} | ${counts.join(' | ')} | ${ms(r.outcome.longestUnavailabilityMs)} | ${ms(r.outcome.stats.longestPollGapMs)} | ${ackedAll} |${txn ? ` ${txns} |` : ''} ${r.replicaLogs?.entriesCompared ?? '–'} | ${r.converged ? `yes (${ms(r.convergeMs)})` : 'NO'} |`,
    );
  }
  const longest = reports.reduce((m, r) => Math.max(m, r.outcome.longestUnavailabilityMs), 0);
  lines.push('', `Longest unavailability window over all runs: ${ms(longest)}.`, '');
  return lines.join('\n');
}
