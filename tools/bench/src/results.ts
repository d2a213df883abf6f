// The data one benchmark run produces; the report is a pure function of it.
import type { OnlyPart } from './args.js';
import type { FailoverResult } from './failover.js';
import type { DiskResult, FsyncLatency, MachineInfo } from './hardware.js';
import type { Acks, ListenerSecurity, TransactionProducer } from './plan.js';
import type { LoadResult } from './produce.js';

export type SystemId = 'chronik-1' | 'chronik-3' | 'jetstream-r1' | 'jetstream-r3';
export type ClientId = 'own' | 'kcat' | 'librdkafka' | 'jsbench';
/**
 * `transactions`: the transactional produce runs and their idempotent reference (librdkafka driver);
 * `tls`: produce over the SSL listener and over the PLAINTEXT one of the same server (librdkafka driver).
 */
export type ScenarioKind = 'produce' | 'consume' | 'latency' | 'transactions' | 'tls';

export const SYSTEM_LABELS: Record<SystemId, string> = {
  'chronik-1': 'Chronik, 1 node',
  'chronik-3': 'Chronik, 3 nodes',
  'jetstream-r1': 'JetStream R1',
  'jetstream-r3': 'JetStream R3',
};

export const CLIENT_LABELS: Record<ClientId, string> = {
  own: 'own generator (@chronik/protocol)',
  kcat: 'librdkafka (kcat)',
  librdkafka:
    'librdkafka with per-message latency (tools/bench/librdkafka: C driver, or confluent-kafka-python)',
  jsbench: 'Go program on nats.go (tools/bench/jetstream)',
};

export interface ScenarioResult {
  system: SystemId;
  client: ClientId;
  kind: ScenarioKind;
  recordBytes: number;
  partitions: number;
  acks: Acks;
  records: number;
  /** Fixed-rate runs: the offered load in msg/s. */
  offeredPerSec?: number;
  /** Transactional comparison runs: which producer, and the pair's records per transaction. */
  producer?: TransactionProducer;
  recordsPerTransaction?: number;
  /** TLS comparison runs: the listener produced through. */
  security?: ListenerSecurity;
  /**
   * Repeated runs that alternate (TLS comparison, the Chronik/JetStream throughput rows): the
   * pair's round, from 0. Absent in results from before the throughput rows alternated (one run).
   */
  round?: number;
  /** librdkafka settings that differ from the usual ones (e.g. linger.ms=1). */
  settings?: string[];
  result?: LoadResult;
  /** Set when the scenario could not run: the system is not available. */
  unavailable?: string;
  command?: string;
}

export interface DeploymentStatus {
  system: SystemId;
  /** A second deployment of the same system for one section (e.g. "PLAINTEXT and SSL listeners"). */
  variant?: string;
  available: boolean;
  reason?: string;
  commands: string[];
}

/**
 * A later run of some parts only (`--only`), merged into a saved run: its scenarios replaced that
 * run's scenarios of the same kinds. Kept so the report can say when and how they were measured.
 */
export interface MergedRun {
  /** The `--only` parts it measured. */
  parts: OnlyPart[];
  /** The scenario kinds it replaced. */
  kinds: ScenarioKind[];
  startedAt: string;
  finishedAt: string;
  invocation: string;
  chronikRevision?: string;
  /** The machine it ran on, to tell when it was not the saved run's. */
  machine: { cpuModel: string; cores: number; kernel: string; node: string };
  loadAverageAtStart: number[];
  loadAverageAtEnd: number[];
  /** How its deployments were started. */
  deployments: DeploymentStatus[];
  setupCommands: string[];
  notes: string[];
}

export interface BenchRun {
  startedAt: string;
  finishedAt: string;
  quick: boolean;
  /** The command that started the run, as typed. */
  invocation: string;
  machine: MachineInfo;
  loadAverageAtEnd: number[];
  disk: DiskResult[];
  /** Latency of a 4 KiB write + fdatasync (fio only). */
  fsyncLatency?: FsyncLatency;
  loopback?: { mbPerSec: number; command: string; error?: string };
  deployments: DeploymentStatus[];
  scenarios: ScenarioResult[];
  /** Leader failover on the 3-node cluster (issue 9); absent when not run. */
  failover?: FailoverResult;
  /** Why the failover scenario did not run, when it did not. */
  failoverUnavailable?: string;
  /** Why the librdkafka driver runs did not happen, when they did not. */
  librdkafkaUnavailable?: string;
  /** Extra commands (builds, file preparation). */
  setupCommands: string[];
  notes: string[];
  /** The `--only` parts measured in this run; absent for a whole plan. */
  only?: OnlyPart[];
  /** Later partial runs merged into this one, oldest first. */
  merged?: MergedRun[];
}
