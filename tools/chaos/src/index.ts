export { parseArgs, parseDuration, USAGE } from './args.js';
export type { CliOptions } from './args.js';
export {
  check,
  checkQueue,
  clusterChecks,
  faultWindows,
  mergeChecks,
  pollGap,
  unavailabilityWindows,
} from './checker.js';
export type {
  CheckInput,
  CheckOutcome,
  CheckResult,
  ClusterCheckInput,
  FinalRead,
  ReadRecord,
  ReplicaState,
  StreamOp,
  Unavailability,
} from './checker.js';
export {
  ChaosCluster,
  bounded,
  deadline,
  freePort,
  getJson,
  killAllClusters,
  portRange,
  sleep,
} from './cluster.js';
export type {
  AdminAnswer,
  BalancerView,
  ChaosNode,
  ClusterOptions,
  ClusterView,
  MembersView,
  NodeState,
  ReplicaView,
} from './cluster.js';
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
  MembershipOp,
  Op,
  Outcome,
  PollOp,
  RestartOp,
  RewindOp,
  SendOp,
  TopicOp,
  TxnOp,
  TxnWrite,
} from './history.js';
export { MEMBERSHIP_PHASES, membershipCycle } from './membership.js';
export type { CycleOptions, MembershipPhase } from './membership.js';
export { main, summarizeDir, writeSummary } from './main.js';
export {
  DEFAULT_ROLES,
  DEFAULT_SCHEDULE_TIMING,
  FAULT_KINDS,
  Nemesis,
  TXN_ROLES,
  planSchedule,
} from './nemesis.js';
export type { FaultKind, NemesisContext, PlannedFault, ScheduleOptions, TargetRole } from './nemesis.js';
export { LinkProxy } from './proxy.js';
export type { LinkMode, LinkStats } from './proxy.js';
export { reportMarkdown, summaryMarkdown, txnMarkdown } from './report.js';
export type { RunReport } from './report.js';
export { createRng } from './rng.js';
export type { Rng } from './rng.js';
export { DEFAULT_RUN_OPTIONS, GROUP, TOPIC, runChaos, runUnavailability } from './run.js';
export type { RunOptions, TxnRunOptions } from './run.js';
export { chartSvg, runChartSvg, seriesOf, txnSeriesOf } from './svg.js';
export type { Band, Panel, Series } from './svg.js';
export {
  CHURN_PREFIX,
  DEFAULT_WRITERS,
  WORKLOAD_KINDS,
  Workload,
  createTopic,
  describeError,
  kafkaClient,
} from './workload.js';
export type { WorkloadKind, WorkloadOptions, WriterSpec } from './workload.js';
export {
  CTP_GROUP,
  CTP_ID,
  TXN_INPUT,
  TXN_OUTPUT,
  TxnWorkload,
  outputValue,
  parseOutputValue,
  producerTransactionalId,
} from './txn-workload.js';
export type { TxnWorkloadOptions } from './txn-workload.js';
export { checkTxn, txnStatus, txnUnavailability } from './txn-checker.js';
export type {
  Isolation,
  TxnCheckInput,
  TxnCheckOutcome,
  TxnCounts,
  TxnRead,
  TxnStats,
} from './txn-checker.js';
export { compareReplicaLogs } from './replica-logs.js';
export type { ReplicaLogComparison } from './replica-logs.js';
