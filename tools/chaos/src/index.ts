export { parseArgs, parseDuration, USAGE } from './args.js';
export type { CliOptions } from './args.js';
export { check, pollGap, unavailabilityWindows } from './checker.js';
export type {
  CheckInput,
  CheckOutcome,
  CheckResult,
  FinalRead,
  ReadRecord,
  ReplicaState,
  Unavailability,
} from './checker.js';
export { ChaosCluster, bounded, freePort, getJson, killAllClusters, sleep } from './cluster.js';
export type { ChaosNode, ClusterOptions, ClusterView, NodeState, ReplicaView } from './cluster.js';
export { ChaosError, ChaosErrorCodes, errorMessage } from './errors.js';
export type { ChaosErrorCode } from './errors.js';
export { readPartition } from './final-read.js';
export type { FinalReadOptions } from './final-read.js';
export { History, readHistory } from './history.js';
export type {
  AssignOp,
  CommitOp,
  CommittedOp,
  FaultOp,
  Op,
  Outcome,
  PollOp,
  SendOp,
  TopicOp,
} from './history.js';
export { main, summarizeDir, writeSummary } from './main.js';
export { DEFAULT_SCHEDULE_TIMING, FAULT_KINDS, Nemesis, planSchedule } from './nemesis.js';
export type { FaultKind, NemesisContext, PlannedFault, ScheduleOptions, TargetRole } from './nemesis.js';
export { LinkProxy } from './proxy.js';
export type { LinkMode, LinkStats } from './proxy.js';
export { reportMarkdown, summaryMarkdown } from './report.js';
export type { RunReport } from './report.js';
export { createRng } from './rng.js';
export type { Rng } from './rng.js';
export { DEFAULT_RUN_OPTIONS, GROUP, TOPIC, runChaos } from './run.js';
export type { RunOptions } from './run.js';
export { chartSvg, runChartSvg, seriesOf } from './svg.js';
export type { Band, Panel, Series } from './svg.js';
export { CHURN_PREFIX, DEFAULT_WRITERS, Workload, createTopic, kafkaClient } from './workload.js';
export type { WorkloadOptions, WriterSpec } from './workload.js';
export { compareReplicaLogs } from './replica-logs.js';
export type { ReplicaLogComparison } from './replica-logs.js';
