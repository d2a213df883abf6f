// chronik-chaos: one or more seeded runs; prints each seed and a summary; exit code 1 when any run
// found a safety violation (or broke), 2 on bad arguments.
import fs from 'node:fs';
import path from 'node:path';
import { USAGE, parseArgs } from './args.js';
import type { CliOptions } from './args.js';
import { killAllClusters } from './cluster.js';
import { errorMessage } from './errors.js';
import type { RunReport } from './report.js';
import { reportMarkdown, summaryMarkdown } from './report.js';
import { readHistory } from './history.js';
import type { PollOp, SendOp } from './history.js';
import { pollGap } from './checker.js';
import { runChartSvg } from './svg.js';
import { DEFAULT_RUN_OPTIONS, runChaos, runUnavailability } from './run.js';

export async function main(argv: readonly string[], repoRoot: string): Promise<number> {
  let cli: CliOptions;
  try {
    cli = parseArgs(argv);
  } catch (e) {
    console.error(errorMessage(e));
    return 2;
  }
  if (cli.summarize !== undefined) {
    console.log(summarizeDir(path.resolve(cli.summarize)));
    return 0;
  }
  if (cli.help) {
    console.log(USAGE);
    return 0;
  }
  // Client libraries may reject promises nobody awaits during faults; they must not end the run.
  process.on('unhandledRejection', (e) =>
    console.error(`chaos: unhandled rejection (ignored): ${errorMessage(e)}`),
  );
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      console.error(`chaos: ${sig}: killing the cluster's processes`);
      killAllClusters();
      process.exit(130);
    });
  const outDir = path.resolve(cli.outDir ?? path.join(repoRoot, '.tmp', 'chaos'));
  const firstSeed = cli.seed ?? Math.floor(Math.random() * 2 ** 31);
  const reports: RunReport[] = [];
  for (let i = 0; i < cli.runs; i++) {
    const seed = firstSeed + i;
    console.log(`chaos: run ${i + 1}/${cli.runs}, seed ${seed}`);
    const r = await runChaos({
      ...DEFAULT_RUN_OPTIONS,
      seed,
      durationMs: cli.durationMs,
      nodes: cli.nodes,
      faults: cli.faults,
      outDir,
      serverBin: path.resolve(
        cli.serverBin ?? path.join(repoRoot, 'apps', 'server', 'bin', 'chronik-server'),
      ),
      partitions: cli.partitions ?? cli.nodes,
      keepData: cli.keepData,
      workloads: cli.workloads,
      txn: {
        ...DEFAULT_RUN_OPTIONS.txn,
        workerScript: path.join(repoRoot, 'tools', 'chaos', 'scripts', 'ctp_worker.py'),
      },
      log: (line) => console.log(line),
    });
    reports.push(r);
    const failed = r.outcome.checks.filter((c) => c.count > 0);
    console.log(
      `chaos: seed ${seed}: ${r.valid ? 'VALID' : 'INVALID'}${r.error ? ` (${r.error})` : ''}; longest unavailability ${(r.outcome.longestUnavailabilityMs / 1000).toFixed(1)} s; ` +
        `${failed.map((c) => `${c.name}=${c.count}${c.safety ? '' : ' (reported)'}`).join(', ') || 'no findings'}; report ${path.join(r.outDir, 'report.md')}`,
    );
    for (const c of failed)
      if (c.safety) for (const d of c.details.slice(0, 5)) console.log(`  ${c.name}: ${d}`);
  }
  if (reports.length > 1) console.log(writeSummary(reports, outDir));
  const invalid = reports.filter((r) => !r.valid).map((r) => r.seed);
  if (invalid.length > 0) console.log(`chaos: INVALID seeds: ${invalid.join(', ')}`);
  return invalid.length > 0 ? 1 : 0;
}

/** Writes summary.md and summary.json for `reports` into `dir`; returns the Markdown. */
export function writeSummary(reports: readonly RunReport[], dir: string): string {
  const md = summaryMarkdown(reports);
  fs.writeFileSync(path.join(dir, 'summary.md'), md);
  fs.writeFileSync(
    path.join(dir, 'summary.json'),
    `${JSON.stringify(
      reports.map((r) => ({
        seed: r.seed,
        valid: r.valid,
        error: r.error,
        nodes: r.nodes,
        longestUnavailabilityMs: r.outcome.longestUnavailabilityMs,
        longestPollGapMs: r.outcome.stats.longestPollGapMs,
        checks: r.outcome.checks.map((c) => ({ name: c.name, count: c.count })),
      })),
      null,
      1,
    )}\n`,
  );
  return md;
}

/**
 * Summarizes the runs already in `dir` (every seed-N/report.json) and redraws their charts from
 * their histories with the current renderer.
 */
export function summarizeDir(dir: string): string {
  const reports: RunReport[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    const file = path.join(dir, name, 'report.json');
    if (!name.startsWith('seed-') || !fs.existsSync(file)) continue;
    const r = JSON.parse(fs.readFileSync(file, 'utf8')) as RunReport;
    reports.push(r);
    const hist = path.join(dir, name, 'history.jsonl');
    if (fs.existsSync(hist)) {
      const ops = readHistory(hist);
      // Recompute the unavailability windows with the current definition.
      const windows = runUnavailability(
        ops,
        r.workloads ?? ['queue'],
        r.topic,
        DEFAULT_RUN_OPTIONS.slowMs,
        DEFAULT_RUN_OPTIONS.txn.slowMs,
      );
      r.outcome.unavailability = windows;
      r.outcome.longestUnavailabilityMs = windows.reduce((m, u) => Math.max(m, u.windowMs), 0);
      r.timeline = windows.map((u) => ({
        index: u.faultIndex,
        kind: u.kind,
        description: u.description,
        appliedMs: u.appliedMs,
        healedMs: u.healedMs,
        unavailabilityMs: u.windowMs,
      }));
      if (r.outcome.stats.longestPollGapMs === undefined)
        Object.assign(
          r.outcome.stats,
          pollGap(
            ops.filter((o): o is PollOp => o.f === 'poll' && o.topic === r.topic),
            ops.filter((o): o is SendOp => o.f === 'send' && o.topic === r.topic),
          ),
        );
      fs.writeFileSync(path.join(dir, name, 'report.md'), reportMarkdown(r));
      fs.writeFileSync(file, `${JSON.stringify(r, null, 2)}\n`);
      const endMs = ops.reduce((m, x) => Math.max(m, x.completeMs), 0) + 2_000;
      const bands = ops.flatMap((f) =>
        f.f === 'fault'
          ? [{ label: `${f.index}:${f.kind}`, fromMs: f.completeMs, toMs: f.healedMs ?? f.completeMs }]
          : [],
      );
      fs.writeFileSync(
        path.join(dir, name, 'chart.svg'),
        runChartSvg(`seed ${r.seed}: ${r.nodes} nodes, faults shaded`, ops, r.topic, bands, endMs),
      );
    }
  }
  reports.sort((a, b) => a.seed - b.seed);
  return writeSummary(reports, dir);
}
