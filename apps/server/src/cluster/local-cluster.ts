// LocalCluster: the Cluster of one node. Topics, configs, brokers and producer-id blocks live in
// @chronik/metadata's state machine, applied directly (no Raft) and persisted as an atomic snapshot
// after every change; partitions are PartitionLogs on @chronik/wal in this node's data directory.
//
// Layout under the data directory:
//   metadata/snapshot.bin            the metadata state (temp file, fsync, rename, fsync dir)
//   partitions/<topicId>/<p>/        one WAL per partition (+ log-start-offset checkpoint)
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type {
  ConfigAlteration,
  MetadataChange,
  MetadataCommand,
  PartitionInfo,
  TopicInfo,
} from '@chronik/metadata';
import {
  CONSUMER_OFFSETS_TOPIC,
  MetadataStateMachine,
  isMetadataError,
  prepareAlterBrokerConfigs,
  prepareAlterTopicConfigs,
  prepareConsumerOffsetsTopic,
  prepareCreatePartitions,
  prepareCreateTopics,
  prepareDeleteTopic,
  topicIdFromBytes,
} from '@chronik/metadata';
import type { ServerConfig } from '../config.js';
import { writeFileAtomic } from '../datadir.js';
import type { Logger } from '../logger.js';
import { BatchCache } from '../storage/batch-cache.js';
import type { EntryLogFactory } from '../storage/entry-log.js';
import type { PartitionLogConfig } from '../storage/partition-log.js';
import { PartitionLog } from '../storage/partition-log.js';
import type {
  Acks,
  AppendResult,
  BrokerEndpoint,
  Cluster,
  ClusterStatus,
  ConfigAlterationSpec,
  ConfigEntryView,
  CreatePartitionsSpec,
  CreateTopicOutcome,
  CreateTopicSpec,
  DeleteTopicOutcome,
  IsolationLevel,
  ListOffsetResult,
  LogDirView,
  PartitionStatus,
  PartitionView,
  ProducerStateView,
  ReadRequest,
  ReadResult,
  TopicPartition,
  TopicView,
} from './cluster.js';
import { ConfigResourceType } from './cluster.js';
import { checkLeaderEpoch, compactProblem, diskSpace, viewOfConfig } from './metadata-views.js';
import { KafkaError } from '../errors.js';

export interface LocalClusterOptions {
  config: ServerConfig;
  dataDir: string;
  logger: Logger;
  nowMs: () => number;
  entryLogs: EntryLogFactory;
  advertised: () => { host: string; port: number };
  /** Bytes of recent batches kept in memory for all partitions together (default 64 MiB). */
  cacheBytes?: number;
  /** Producer ids taken from the metadata state per allocation. */
  producerIdBlockSize?: number;
}

const SNAPSHOT_FILE = 'snapshot.bin';
const LONG_MAX = 9223372036854775807n;

function toClusterError(e: unknown): KafkaError {
  if (e instanceof KafkaError) return e;
  if (isMetadataError(e)) return new KafkaError(e.code, e.message, { cause: e });
  return new KafkaError('UNKNOWN_SERVER_ERROR', e instanceof Error ? e.message : String(e), { cause: e });
}

export class LocalCluster implements Cluster {
  readonly nodeId: number;
  private readonly sm: MetadataStateMachine;
  private readonly partitions = new Map<string, PartitionLog>();
  private readonly metaDir: string;
  private readonly partitionsDir: string;
  private proposals: Promise<unknown> = Promise.resolve();
  private producerIds: { next: number; end: number } = { next: 0, end: 0 };
  private flushTimer: NodeJS.Timeout | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly cache: BatchCache;

  private constructor(private readonly o: LocalClusterOptions) {
    this.nodeId = o.config.nodeId;
    this.cache = new BatchCache(o.cacheBytes ?? 64 * 1024 * 1024);
    this.metaDir = path.join(o.dataDir, 'metadata');
    this.partitionsDir = path.join(o.dataDir, 'partitions');
    fs.mkdirSync(this.metaDir, { recursive: true });
    fs.mkdirSync(this.partitionsDir, { recursive: true });
    const snapshot = path.join(this.metaDir, SNAPSHOT_FILE);
    this.sm = fs.existsSync(snapshot)
      ? MetadataStateMachine.fromSnapshot(fs.readFileSync(snapshot))
      : new MetadataStateMachine();
  }

  static async open(o: LocalClusterOptions): Promise<LocalCluster> {
    const c = new LocalCluster(o);
    await c.start();
    return c;
  }

  private key(topicId: string, partition: number): string {
    return `${topicId}:${partition}`;
  }

  private async start(): Promise<void> {
    if (this.sm.clusterId() === null) {
      this.apply({
        type: 'initCluster',
        clusterId: topicIdFromBytes(randomBytes(16)).replace(/-/g, '').slice(0, 22),
      });
    }
    const adv = this.o.advertised();
    this.apply({
      type: 'registerBroker',
      brokerId: this.nodeId,
      host: adv.host,
      port: adv.port,
      rack: null,
      raftAddress: 'standalone',
      incarnation: topicIdFromBytes(randomBytes(16)),
    });
    for (const t of this.sm.topics()) await this.openTopic(t, t.partitions);
    const b = this.o.config.broker;
    this.flushTimer = setInterval(
      () => void this.flushDue(),
      Math.max(10, Math.min(100, b.logFlushIntervalMs)),
    );
    this.flushTimer.unref();
    this.retentionTimer = setInterval(() => void this.enforceRetention(), b.retentionCheckIntervalMs);
    this.retentionTimer.unref();
  }

  // ---------------------------------------------------------------- metadata application

  /**
   * Applies one command to the state machine and (unless `persist` is false) persists the state;
   * throws on rejection. Only commands whose effect is re-derived on start (leadership of this
   * node's partitions) skip persisting; their caller persists once for the batch.
   */
  private apply(command: MetadataCommand, persist = true): readonly MetadataChange[] {
    const r = this.sm.applyCommand(this.sm.appliedIndex + 1, command);
    if (!r.ok) throw toClusterError(r.error);
    if (persist) this.persist();
    return r.changes;
  }

  private persist(): void {
    writeFileAtomic(path.join(this.metaDir, SNAPSHOT_FILE), this.sm.snapshot());
  }

  /** Serializes metadata proposals (and the partition work they cause). */
  private propose<T>(f: () => Promise<T>): Promise<T> {
    const run = this.proposals.then(f, f);
    this.proposals = run.catch(() => undefined);
    return run;
  }

  private async react(changes: readonly MetadataChange[]): Promise<void> {
    for (const ch of changes) {
      switch (ch.type) {
        case 'topicCreated':
          await this.openTopic(ch.topic, ch.topic.partitions);
          break;
        case 'partitionsCreated': {
          const t = this.sm.topic(ch.name);
          if (t) await this.openTopic(t, ch.partitions);
          break;
        }
        case 'topicDeleted':
          for (const p of ch.partitions) {
            const k = this.key(ch.topicId, p.partition);
            const log = this.partitions.get(k);
            this.partitions.delete(k);
            if (log) await log.close();
          }
          await this.o.entryLogs.remove(path.join(this.partitionsDir, ch.topicId));
          break;
        case 'topicConfigChanged':
        case 'brokerConfigChanged':
          this.refreshConfigs();
          break;
        default:
          break;
      }
    }
  }

  private async openTopic(t: TopicInfo, parts: readonly PartitionInfo[]): Promise<void> {
    let led = 0;
    for (const p of parts) {
      const k = this.key(t.topicId, p.partition);
      if (!this.partitions.has(k)) {
        const dir = path.join(this.partitionsDir, t.topicId, String(p.partition));
        const log = await this.o.entryLogs.open(dir);
        const pl = await PartitionLog.open({
          topic: t.name,
          partition: p.partition,
          dir,
          log,
          config: this.partitionConfig(t.name),
          logger: this.o.logger,
          nowMs: this.o.nowMs,
          cache: this.cache,
        });
        this.partitions.set(k, pl);
      }
      if (p.leader !== this.nodeId || p.leaderEpoch < 0) {
        this.apply(
          {
            type: 'changeLeader',
            topicId: t.topicId,
            partition: p.partition,
            leader: this.nodeId,
            leaderEpoch: Math.max(0, p.leaderEpoch),
            isr: [this.nodeId],
          },
          false,
        );
        led++;
      }
    }
    if (led > 0) this.persist();
  }

  private staticBrokerConfigs(): Record<string, string> {
    const b = this.o.config.broker;
    const s: Record<string, string> = {
      'log.retention.ms': String(b.logRetentionMs),
      'log.retention.bytes': String(b.logRetentionBytes),
      'log.segment.bytes': String(b.logSegmentBytes),
      'message.max.bytes': String(b.messageMaxBytes),
      'log.flush.interval.ms': String(b.logFlushIntervalMs),
    };
    if (b.logFlushIntervalMessages !== undefined)
      s['log.flush.interval.messages'] = String(b.logFlushIntervalMessages);
    return s;
  }

  private partitionConfig(topic: string): PartitionLogConfig {
    const e = this.sm.effectiveTopicConfigs(topic, {
      brokerId: this.nodeId,
      staticBrokerConfigs: this.staticBrokerConfigs(),
    });
    const num = (k: string, dflt: number): number => {
      const v = e[k];
      if (v === undefined) return dflt;
      const n = BigInt(v);
      return n >= BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
    };
    const flushMessages =
      e['flush.messages'] === undefined || BigInt(e['flush.messages']) >= LONG_MAX
        ? undefined
        : num('flush.messages', 1);
    return {
      logAppendTime: e['message.timestamp.type'] === 'LogAppendTime',
      maxMessageBytes: num('max.message.bytes', this.o.config.broker.messageMaxBytes),
      retentionMs: num('retention.ms', -1),
      retentionBytes: num('retention.bytes', -1),
      flushMessages,
      flushMs: num('flush.ms', this.o.config.broker.logFlushIntervalMs),
      flushBackgroundBytes: this.o.config.broker.logFlushBackgroundBytes || undefined,
    };
  }

  private refreshConfigs(): void {
    for (const t of this.sm.topics()) {
      const cfg = this.partitionConfig(t.name);
      for (const p of t.partitions) {
        const log = this.partitions.get(this.key(t.topicId, p.partition));
        if (log) log.config = cfg;
      }
    }
  }

  private async flushDue(): Promise<void> {
    const now = this.o.nowMs();
    for (const p of this.partitions.values()) {
      try {
        await p.maybeFlush(now);
      } catch (e) {
        this.o.logger.error(
          { topic: p.topic, partition: p.partition, err: e instanceof Error ? e.message : String(e) },
          'flush failed',
        );
      }
    }
  }

  /** Retention by time and size, for every partition whose topic uses cleanup.policy=delete. */
  async enforceRetention(): Promise<void> {
    const now = this.o.nowMs();
    for (const t of this.sm.topics()) {
      if (t.internal) continue; // compacted internal topics keep their data
      for (const p of t.partitions) {
        const log = this.partitions.get(this.key(t.topicId, p.partition));
        if (!log) continue;
        try {
          await log.enforceRetention(now);
        } catch (e) {
          this.o.logger.error(
            { topic: t.name, partition: p.partition, err: e instanceof Error ? e.message : String(e) },
            'retention failed',
          );
        }
      }
    }
  }

  // ---------------------------------------------------------------- views

  clusterId(): string {
    return this.sm.clusterId() ?? '';
  }
  controllerId(): number {
    return this.nodeId;
  }
  brokers(): readonly BrokerEndpoint[] {
    return this.sm
      .liveBrokers()
      .map((b) => ({ nodeId: b.brokerId, host: b.host, port: b.port, rack: b.rack }));
  }
  private view(t: TopicInfo): TopicView {
    return {
      name: t.name,
      topicId: t.topicId,
      internal: t.internal,
      configs: t.configs,
      partitions: t.partitions.map((p): PartitionView => ({
        partition: p.partition,
        leaderId: p.leader,
        leaderEpoch: p.leaderEpoch,
        replicas: p.replicas,
        isr: p.isr,
        offlineReplicas: [],
      })),
    };
  }
  topics(): readonly TopicView[] {
    return this.sm.topics().map((t) => this.view(t));
  }
  topic(name: string): TopicView | undefined {
    const t = this.sm.topic(name);
    return t ? this.view(t) : undefined;
  }
  topicById(topicId: string): TopicView | undefined {
    const t = this.sm.topicById(topicId);
    return t ? this.view(t) : undefined;
  }
  autoCreateEnabled(): boolean {
    return this.o.config.broker.autoCreateTopicsEnable;
  }

  async autoCreateTopics(names: readonly string[]): Promise<Map<string, KafkaError | null>> {
    const out = new Map<string, KafkaError | null>();
    const missing = [...new Set(names)].filter((n) => this.sm.topic(n) === undefined);
    if (missing.length === 0) return out;
    const outcomes = await this.createTopics(
      missing.map((name) => ({
        name,
        numPartitions: -1,
        replicationFactor: -1,
        assignments: [],
        configs: [],
      })),
      false,
    );
    for (const o of outcomes)
      out.set(o.name, o.error !== null && o.error.code !== 'TOPIC_ALREADY_EXISTS' ? o.error : null);
    if (outcomes.length > 0) this.o.logger.info({ topics: missing }, 'auto-created topics');
    return out;
  }

  // ---------------------------------------------------------------- data path

  private partitionLog(tp: TopicPartition): { log: PartitionLog; info: PartitionInfo } {
    const t = this.sm.topic(tp.topic);
    const info = t?.partitions[tp.partition];
    const log = t && info ? this.partitions.get(this.key(t.topicId, tp.partition)) : undefined;
    if (!t || !info || !log)
      throw new KafkaError('UNKNOWN_TOPIC_OR_PARTITION', `unknown partition ${tp.topic}-${tp.partition}`);
    if (info.leader !== this.nodeId)
      throw new KafkaError('NOT_LEADER_OR_FOLLOWER', `${tp.topic}-${tp.partition} is led by ${info.leader}`);
    return { log, info };
  }

  append(tp: TopicPartition, records: Buffer, acks: Acks, _timeoutMs: number): Promise<AppendResult> {
    try {
      const { log, info } = this.partitionLog(tp);
      return log.append(records, acks, info.leaderEpoch);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  async read(req: ReadRequest): Promise<ReadResult> {
    const { log, info } = this.partitionLog(req);
    checkLeaderEpoch(req.currentLeaderEpoch, info.leaderEpoch);
    return log.read(req.fetchOffset, req.maxBytes);
  }

  watch(tps: readonly TopicPartition[], onData: () => void): () => void {
    let fired = false;
    const cancels: Array<() => void> = [];
    const once = (): void => {
      if (fired) return;
      fired = true;
      for (const c of cancels) c();
      onData();
    };
    for (const tp of tps) {
      const t = this.sm.topic(tp.topic);
      const log = t ? this.partitions.get(this.key(t.topicId, tp.partition)) : undefined;
      if (log) cancels.push(log.watch(once));
    }
    return () => {
      fired = true;
      for (const c of cancels) c();
    };
  }

  async listOffset(
    tp: TopicPartition,
    timestamp: bigint,
    _isolationLevel: IsolationLevel,
    currentLeaderEpoch: number,
  ): Promise<ListOffsetResult> {
    const { log, info } = this.partitionLog(tp);
    checkLeaderEpoch(currentLeaderEpoch, info.leaderEpoch);
    return log.listOffset(timestamp);
  }

  async deleteRecords(tp: TopicPartition, offset: bigint, _timeoutMs: number): Promise<bigint> {
    const { log } = this.partitionLog(tp);
    return log.deleteRecords(offset);
  }

  async offsetForLeaderEpoch(
    tp: TopicPartition,
    leaderEpoch: number,
    currentLeaderEpoch: number,
  ): Promise<{ leaderEpoch: number; endOffset: bigint }> {
    const { log, info } = this.partitionLog(tp);
    checkLeaderEpoch(currentLeaderEpoch, info.leaderEpoch);
    return log.offsetForLeaderEpoch(leaderEpoch);
  }

  describeProducers(tp: TopicPartition): readonly ProducerStateView[] {
    return this.partitionLog(tp).log.describeProducers();
  }

  logDirs(): readonly LogDirView[] {
    const { totalBytes, usableBytes } = diskSpace(this.o.dataDir);
    const partitions = [...this.partitions.values()].map((p) => ({
      topic: p.topic,
      partition: p.partition,
      sizeBytes: p.sizeBytes(),
      offsetLag: 0n,
    }));
    return [{ path: this.o.dataDir, partitions, totalBytes, usableBytes }];
  }

  // ---------------------------------------------------------------- metadata proposals

  createTopics(specs: readonly CreateTopicSpec[], validateOnly: boolean): Promise<CreateTopicOutcome[]> {
    return this.propose(async () => {
      const b = this.o.config.broker;
      const prepared = prepareCreateTopics(
        this.sm,
        specs.map((s) => ({
          name: s.name,
          numPartitions: s.numPartitions,
          replicationFactor: s.replicationFactor,
          assignments: s.assignments.map((brokerIds, partition) => ({ partition, brokerIds })),
          configs: s.configs,
        })),
        {
          defaultPartitions: b.numPartitions,
          defaultReplicationFactor: b.defaultReplicationFactor,
          newTopicId: () => topicIdFromBytes(randomBytes(16)),
        },
      );
      const out: CreateTopicOutcome[] = [];
      for (let i = 0; i < prepared.length; i++) {
        const p = prepared[i] as (typeof prepared)[number];
        const spec = specs[i] as CreateTopicSpec;
        const fail = (error: KafkaError): void => {
          out.push({
            name: p.name,
            error,
            topicId: '00000000-0000-0000-0000-000000000000',
            numPartitions: -1,
            replicationFactor: -1,
            configs: [],
          });
        };
        if (!p.result.ok) {
          fail(toClusterError(p.result.error));
          continue;
        }
        const problem = compactProblem(spec.configs);
        if (problem !== null) {
          fail(new KafkaError('INVALID_CONFIG', problem));
          continue;
        }
        const cmd = p.result.command;
        const numPartitions = cmd.assignments.length;
        const replicationFactor = cmd.assignments[0]?.length ?? 0;
        if (validateOnly) {
          out.push({
            name: p.name,
            error: null,
            topicId: '00000000-0000-0000-0000-000000000000',
            numPartitions,
            replicationFactor,
            configs: [],
          });
          continue;
        }
        try {
          await this.react(this.apply(cmd));
          const configs = this.sm
            .describeTopicConfigs(p.name, {
              brokerId: this.nodeId,
              staticBrokerConfigs: this.staticBrokerConfigs(),
            })
            .map(viewOfConfig);
          out.push({
            name: p.name,
            error: null,
            topicId: cmd.topicId,
            numPartitions,
            replicationFactor,
            configs,
          });
        } catch (e) {
          fail(toClusterError(e));
        }
      }
      return out;
    });
  }

  deleteTopics(
    refs: ReadonlyArray<{ name: string | null; topicId: string | null }>,
  ): Promise<DeleteTopicOutcome[]> {
    return this.propose(async () => {
      const out: DeleteTopicOutcome[] = [];
      for (const ref of refs) {
        const target =
          ref.name !== null && ref.name !== '' ? { name: ref.name } : { topicId: ref.topicId ?? '' };
        const prepared = prepareDeleteTopic(this.sm, target);
        if (!prepared.ok) {
          out.push({
            name: ref.name,
            topicId: ref.topicId ?? '00000000-0000-0000-0000-000000000000',
            error: toClusterError(prepared.error),
          });
          continue;
        }
        try {
          await this.react(this.apply(prepared.command));
          out.push({ name: prepared.command.name, topicId: prepared.command.topicId, error: null });
        } catch (e) {
          out.push({
            name: ref.name,
            topicId: ref.topicId ?? '00000000-0000-0000-0000-000000000000',
            error: toClusterError(e),
          });
        }
      }
      return out;
    });
  }

  createPartitions(
    specs: readonly CreatePartitionsSpec[],
    validateOnly: boolean,
  ): Promise<Array<{ name: string; error: KafkaError | null }>> {
    return this.propose(async () => {
      const out: Array<{ name: string; error: KafkaError | null }> = [];
      for (const s of specs) {
        const prepared = prepareCreatePartitions(this.sm, {
          name: s.name,
          count: s.count,
          assignments: s.assignments,
        });
        if (!prepared.ok) {
          out.push({ name: s.name, error: toClusterError(prepared.error) });
          continue;
        }
        try {
          if (!validateOnly) await this.react(this.apply(prepared.command));
          out.push({ name: s.name, error: null });
        } catch (e) {
          out.push({ name: s.name, error: toClusterError(e) });
        }
      }
      return out;
    });
  }

  private brokerTarget(resourceName: string): number | null {
    if (resourceName === '') return null;
    if (!/^\d+$/.test(resourceName))
      throw new KafkaError('INVALID_REQUEST', `invalid broker id "${resourceName}"`);
    const id = Number(resourceName);
    if (id !== this.nodeId)
      throw new KafkaError('INVALID_REQUEST', `broker ${id} is not this broker (${this.nodeId})`);
    return id;
  }

  describeConfigs(
    resourceType: number,
    resourceName: string,
    keys: readonly string[] | null,
    includeSynonyms: boolean,
    _includeDocumentation: boolean,
  ): ConfigEntryView[] {
    try {
      const options = { staticBrokerConfigs: this.staticBrokerConfigs(), keys, includeSynonyms };
      if (resourceType === ConfigResourceType.TOPIC) {
        return this.sm
          .describeTopicConfigs(resourceName, { ...options, brokerId: this.nodeId })
          .map(viewOfConfig);
      }
      if (resourceType === ConfigResourceType.BROKER) {
        return this.sm.describeBrokerConfigs(this.brokerTarget(resourceName), options).map(viewOfConfig);
      }
      if (resourceType === ConfigResourceType.BROKER_LOGGER) return [];
      throw new KafkaError('INVALID_REQUEST', `unsupported config resource type ${resourceType}`);
    } catch (e) {
      throw toClusterError(e);
    }
  }

  alterConfigs(
    resourceType: number,
    resourceName: string,
    alterations: readonly ConfigAlterationSpec[],
    replace: boolean,
    validateOnly: boolean,
  ): Promise<void> {
    return this.propose(async () => {
      const problem = compactProblem(alterations);
      if (problem !== null) throw new KafkaError('INVALID_CONFIG', problem);
      const alts = alterations.map((a): ConfigAlteration => ({
        name: a.name,
        op: a.op as ConfigAlteration['op'],
        value: a.value,
      }));
      let prepared;
      if (resourceType === ConfigResourceType.TOPIC)
        prepared = prepareAlterTopicConfigs(this.sm, { name: resourceName, alterations: alts, replace });
      else if (resourceType === ConfigResourceType.BROKER)
        prepared = prepareAlterBrokerConfigs(this.sm, {
          brokerId: this.brokerTarget(resourceName),
          alterations: alts,
          replace,
        });
      else throw new KafkaError('INVALID_REQUEST', `config resource type ${resourceType} cannot be altered`);
      if (!prepared.ok) throw toClusterError(prepared.error);
      if (!validateOnly) await this.react(this.apply(prepared.command));
    });
  }

  // ---------------------------------------------------------------- producers, coordinators

  initProducerId(req: {
    transactionalId: string | null;
    transactionTimeoutMs: number;
    producerId: bigint;
    producerEpoch: number;
  }): Promise<{ producerId: bigint; producerEpoch: number }> {
    return this.propose(async () => {
      if (req.transactionalId !== null) {
        throw new KafkaError(
          'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
          'transactions are not supported by this broker yet',
        );
      }
      if (req.producerId >= 0n && req.producerEpoch >= 0 && req.producerEpoch < 32766) {
        // KIP-360: an idempotent producer bumps its epoch after an error and keeps its id.
        return { producerId: req.producerId, producerEpoch: req.producerEpoch + 1 };
      }
      if (this.producerIds.next >= this.producerIds.end) {
        const size = this.o.producerIdBlockSize ?? 1000;
        const changes = this.apply({
          type: 'allocateProducerIds',
          brokerId: this.nodeId,
          brokerEpoch: -1,
          count: size,
        });
        const ch = changes.find((c) => c.type === 'producerIdsAllocated');
        if (ch === undefined || ch.type !== 'producerIdsAllocated')
          throw new KafkaError('UNKNOWN_SERVER_ERROR', 'no producer id block was allocated');
        this.producerIds = { next: ch.block.firstProducerId, end: ch.block.firstProducerId + ch.block.count };
      }
      const id = this.producerIds.next++;
      return { producerId: BigInt(id), producerEpoch: 0 };
    });
  }

  async findCoordinator(keyType: number, key: string): Promise<BrokerEndpoint> {
    const self = this.brokers().find((b) => b.nodeId === this.nodeId);
    if (self === undefined)
      throw new KafkaError('COORDINATOR_NOT_AVAILABLE', 'this broker is not registered');
    if (keyType !== 0) return self; // transactions: this node (transactions themselves are not supported yet)
    await this.ensureOffsetsTopic();
    const lookup = this.sm.findCoordinator(key, 'group', this.o.config.broker.offsetsTopicNumPartitions);
    if (!lookup.ok) throw toClusterError(lookup.error);
    return {
      nodeId: lookup.broker.brokerId,
      host: lookup.broker.host,
      port: lookup.broker.port,
      rack: lookup.broker.rack,
    };
  }

  /** Creates `__consumer_offsets` the first time a group needs a coordinator. */
  ensureOffsetsTopic(): Promise<void> {
    if (this.sm.topic(CONSUMER_OFFSETS_TOPIC) !== undefined) return Promise.resolve();
    return this.propose(async () => {
      if (this.sm.topic(CONSUMER_OFFSETS_TOPIC) !== undefined) return;
      const prepared = prepareConsumerOffsetsTopic(this.sm, {
        partitionCount: this.o.config.broker.offsetsTopicNumPartitions,
        replicationFactor: 1,
        newTopicId: () => topicIdFromBytes(randomBytes(16)),
      });
      if (!prepared.ok) throw toClusterError(prepared.error);
      await this.react(this.apply(prepared.command));
      this.o.logger.info(
        { partitions: this.o.config.broker.offsetsTopicNumPartitions },
        `created ${CONSUMER_OFFSETS_TOPIC}`,
      );
    });
  }

  // ---------------------------------------------------------------- operations

  status(): ClusterStatus {
    return {
      nodeId: this.nodeId,
      mode: 'standalone',
      clusterId: this.clusterId(),
      controllerId: this.nodeId,
      brokers: this.brokers(),
      metadataGroup: {
        leaderId: this.nodeId,
        term: 1,
        commitIndex: this.sm.appliedIndex,
        appliedIndex: this.sm.appliedIndex,
        voters: [this.nodeId],
      },
    };
  }

  partitionStatuses(): PartitionStatus[] {
    const out: PartitionStatus[] = [];
    for (const t of this.sm.topics()) {
      for (const p of t.partitions) {
        const log = this.partitions.get(this.key(t.topicId, p.partition));
        if (!log) continue;
        out.push({
          topic: t.name,
          partition: p.partition,
          role: p.leader === this.nodeId ? 'leader' : 'follower',
          leader: p.leader,
          leaderEpoch: p.leaderEpoch,
          highWatermark: log.highWatermark,
          logEndOffset: log.logEndOffset,
          logStartOffset: log.logStartOffset,
          replicas: p.replicas,
          isr: p.isr,
        });
      }
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.flushTimer) clearInterval(this.flushTimer);
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    await this.proposals;
    const logs = [...this.partitions.values()];
    this.partitions.clear();
    await Promise.all(logs.map((l) => l.close()));
  }
}
