// Public entry point of @chronik/bench: the pure parts (arguments, plan, statistics, charts,
// report) and the building blocks of a run, re-exported explicitly.
export type { BenchOptions, ParsedArgs } from './args.js';
export { USAGE, parseArgs } from './args.js';
export type { BenchErrorCode } from './errors.js';
export { BenchError, BenchErrorCodes, errorMessage, isBenchError } from './errors.js';
export { LatencyHistogram, MAX_HISTOGRAM_US, median, percentileOfSorted, throughput } from './stats.js';
export type { Align } from './markdown.js';
export { escapeCell, fmt, fmtBytes, fmtMs, fmtPercent, fmtRatio, markdownTable } from './markdown.js';
export type { BarChartSpec, BarSeries, LineChartSpec, LineSeries } from './svg.js';
export { barChart, escapeXml, lineChart, logTicks, niceTicks, shortNumber, wrapLabel } from './svg.js';
export type { Acks, Plan, ProduceCase } from './plan.js';
export { PARTITION_COUNTS, RECORD_SIZES, buildPlan, caseLabel, recordsFor } from './plan.js';
export type { BenchRun, ClientId, DeploymentStatus, ScenarioKind, ScenarioResult, SystemId } from './results.js';
export { CLIENT_LABELS, SYSTEM_LABELS } from './results.js';
export type { Chart, TargetRow, TargetStatus } from './report.js';
export { diskReference, evaluateTargets, fellBehind, findScenario, renderReport } from './report.js';
export type { LoadResult, ProduceSpec } from './produce.js';
export { runProduce } from './produce.js';
export type { ConsumeSpec } from './consume.js';
export { runFetchConsume } from './consume.js';
export type { BrokerAddress, PrebuiltRequest, TopicLayout } from './kafka.js';
export { KafkaConnection, createTopic, deleteTopic, prebuildRequest, topicLayout, waitForLeaders } from './kafka.js';
export { findRepoRoot, main } from './main.js';
