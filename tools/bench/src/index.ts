// Public entry point of @chronik/bench: the pure parts (arguments, plan, statistics, charts,
// report) and the building blocks of a run, re-exported explicitly.
export type { BenchOptions, OnlyPart, ParsedArgs } from './args.js';
export { ONLY_PARTS, USAGE, parseArgs } from './args.js';
export type { BenchErrorCode } from './errors.js';
export { BenchError, BenchErrorCodes, errorMessage, isBenchError } from './errors.js';
export { LatencyHistogram, MAX_HISTOGRAM_US, median, percentileOfSorted, throughput } from './stats.js';
export type { Align } from './markdown.js';
export { escapeCell, fmt, fmtBytes, fmtMs, fmtPercent, fmtRatio, markdownTable } from './markdown.js';
export type { BarChartSpec, BarSeries, LineChartSpec, LineSeries } from './svg.js';
export { barChart, escapeXml, lineChart, logTicks, niceTicks, shortNumber, wrapLabel } from './svg.js';
export type {
  Acks,
  Issue8Plan,
  Issue9Plan,
  Plan,
  ProduceCase,
  ListenerSecurity,
  TlsCase,
  TransactionCase,
  TransactionProducer,
  ChronikThroughputCase,
  ThroughputStep,
} from './plan.js';
export {
  ISSUE8_LATENCY_PER_SEC,
  ISSUE8_TARGET_MB_PER_SEC,
  ISSUE8_TARGET_P99_MS,
  ISSUE9_FAILOVER_TARGET_MS,
  ISSUE9_PARTITIONS,
  ISSUE9_TARGET_P99_MS,
  ISSUE9_TARGET_PER_SEC,
  PARTITION_COUNTS,
  RECORD_SIZES,
  DEFAULT_PAIRS,
  QUICK_PAIRS,
  TLS_ACKS,
  TRANSACTION_SIZES,
  buildPlan,
  caseLabel,
  recordsFor,
  throughputSchedule,
  tlsCases,
} from './plan.js';
export type {
  BenchRun,
  ClientId,
  DeploymentStatus,
  MergedRun,
  ScenarioKind,
  ScenarioResult,
  SystemId,
} from './results.js';
export { CLIENT_LABELS, SYSTEM_LABELS } from './results.js';
export { PART_KINDS, mergeRuns } from './merge.js';
export type { Chart, RunsSide, TargetRow, TargetStatus, TlsComparisonRow, TlsSide } from './report.js';
export {
  ISSUE9_SUSTAINED_FRACTION,
  diskReference,
  evaluateTargets,
  fellBehind,
  findMedian,
  findScenario,
  medianRatio,
  pairRatios,
  renderReport,
  runsSide,
  throughputRounds,
  tlsComparison,
} from './report.js';
export type { TestCertificates } from './certs.js';
export { cliBinFor, createTestCertificates } from './certs.js';
export type { LoadResult, ProduceSpec, TransactionStats } from './produce.js';
export { runProduce } from './produce.js';
export type { ConsumeSpec } from './consume.js';
export { runFetchConsume } from './consume.js';
export type { BrokerAddress, PrebuiltRequest, TopicLayout } from './kafka.js';
export {
  KafkaConnection,
  createTopic,
  deleteTopic,
  prebuildRequest,
  topicLayout,
  waitForLeaders,
} from './kafka.js';
export type { AdminPartition, FailoverKill, FailoverResult, FailoverSpec } from './failover.js';
export { adminPartitions, failoverStats, runFailover } from './failover.js';
export type { LibrdkafkaProduceSpec, LibrdkafkaTools } from './librdkafka.js';
export { librdkafkaProduce, prepareLibrdkafka, produceSettings, transactionCount } from './librdkafka.js';
export type { ChronikDeployment, ChronikNode, ListenerTls } from './chronik.js';
export { startCluster, startStandalone } from './chronik.js';
export type { DiskResult, FsyncLatency, MachineInfo } from './hardware.js';
export { measureFsyncLatency } from './hardware.js';
export type { ServerUsage } from './procs.js';
export { ServerMeter, processCpuSeconds, processRssBytes } from './procs.js';
export { findRepoRoot, main } from './main.js';
