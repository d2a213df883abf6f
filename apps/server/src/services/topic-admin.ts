// Topics and configs, as the admin APIs change and describe them (CreateTopics, DeleteTopics,
// CreatePartitions, DescribeConfigs, AlterConfigs, IncrementalAlterConfigs, auto-creation): each
// change is prepared against this node's metadata with @chronik/metadata's validation, committed
// through the MetadataStore (validated again when applied), and answered once this node's
// replicas follow it (a created partition is open here before CreateTopics answers). CreateTopics
// then waits, up to the request's timeout, until every new partition has a leader, as Kafka answers
// once the partitions are usable: in a cluster each partition's Raft group still has to elect one.
import { groupConfigEntries } from './group-configs.js';
import type { ConfigAlteration, ConfigDescription, MetadataCommand } from '@chronik/metadata';
import {
  prepareAlterBrokerConfigs,
  prepareAlterTopicConfigs,
  prepareCreatePartitions,
  prepareCreateTopics,
  prepareDeleteTopic,
} from '@chronik/metadata';
import type { BrokerDefaults } from '../config.js';
import { toKafkaError } from '../error-map.js';
import { KafkaError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { LogConfigs } from './log-config.js';
import { ClientQuotaAdmin } from './client-quota-admin.js';
import type { MetadataStore } from './metadata-store.js';
import type { StateWatch } from './state-watch.js';
import { commitOk } from './metadata-store.js';

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
/** Most replicas a topic gets by default (Kafka clusters usually set default.replication.factor=3). */
const DEFAULT_REPLICATION_FACTOR_CAP = 3;

export interface CreateTopicSpec {
  name: string;
  /** -1: the broker default. */
  numPartitions: number;
  /** -1: the broker default. */
  replicationFactor: number;
  /**
   * Explicit replica assignment as the request lists it (validated by @chronik/metadata: every
   * partition from 0 once, the same replication factor, registered brokers), or empty.
   */
  assignments: ReadonlyArray<{ partition: number; brokerIds: readonly number[] }>;
  configs: ReadonlyArray<{ name: string; value: string | null }>;
}

export interface ConfigEntryView {
  name: string;
  value: string | null;
  readOnly: boolean;
  /** DescribeConfigs config_source. */
  source: number;
  isDefault: boolean;
  isSensitive: boolean;
  /** KIP-554 config_type. */
  configType: number;
  documentation: string | null;
  synonyms: ReadonlyArray<{ name: string; value: string | null; source: number }>;
}

export interface CreateTopicOutcome {
  name: string;
  error: KafkaError | null;
  topicId: string;
  numPartitions: number;
  replicationFactor: number;
  configs: readonly ConfigEntryView[];
}

export interface DeleteTopicOutcome {
  name: string | null;
  topicId: string;
  error: KafkaError | null;
}

export interface CreatePartitionsSpec {
  name: string;
  count: number;
  assignments: ReadonlyArray<readonly number[]> | null;
}

/** ConfigResource types of the wire protocol. */
export const ConfigResourceType = { TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 } as const;

export interface ConfigAlterationSpec {
  name: string;
  /** 0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT. */
  op: number;
  value: string | null;
}

/**
 * `default.replication.factor`: the configured value when it was given explicitly, otherwise
 * min(3, live brokers) (at least 1) — 1 on a single node.
 */
export function defaultReplicationFactor(broker: BrokerDefaults, liveBrokers: number): number {
  if (broker.defaultReplicationFactorExplicit) return broker.defaultReplicationFactor;
  return Math.max(1, Math.min(DEFAULT_REPLICATION_FACTOR_CAP, liveBrokers));
}

/** A DescribeConfigs entry as the handlers see it. */
export function viewOfConfig(d: ConfigDescription): ConfigEntryView {
  return {
    name: d.name,
    value: d.value,
    readOnly: d.readOnly,
    source: d.source,
    isDefault: d.isDefault,
    isSensitive: d.isSensitive,
    configType: d.configType,
    documentation: d.documentation,
    synonyms: d.synonyms.map((s) => ({ name: s.name, value: s.value, source: s.source })),
  };
}

export interface TopicAdminOptions {
  store: MetadataStore;
  nodeId: number;
  /** Partition replicas a broker may hold; CreateTopics/CreatePartitions beyond are POLICY_VIOLATION. */
  maxReplicasPerBroker: number;
  broker: BrokerDefaults;
  configs: LogConfigs;
  /** Resolves once this node's replicas follow the metadata applied so far. */
  settled(): Promise<void>;
  /** A new topic id (UUID, from the injected randomness). */
  newTopicId(): string;
  /** Where CreateTopics waits for leaders. */
  watch: StateWatch;
  logger: Logger;
}

/** The longest CreateTopics waits for leaders, whatever timeout the request asks. */
const MAX_LEADER_WAIT_MS = 60_000;
/**
 * The longest a created topic's answer waits for this node's replicas of it to open, when the
 * request's timeout is shorter: opening thousands of replicas takes minutes, and the answer — behind
 * which every later request on the connection waits — must not outlast the client's request timeout.
 */
const MIN_SETTLE_WAIT_MS = 5_000;

export class TopicAdmin {
  /** Client quotas (DescribeClientQuotas, AlterClientQuotas): configs of users and client ids. */
  readonly quotas: ClientQuotaAdmin;

  constructor(private readonly options: TopicAdminOptions) {
    this.quotas = new ClientQuotaAdmin(options.store);
  }

  private get state() {
    return this.options.store.state;
  }

  /** Commits a change and waits until this node's replicas follow it. */
  private async apply(command: MetadataCommand): Promise<void> {
    await commitOk(this.options.store, command);
    await this.options.settled();
  }

  autoCreateEnabled(): boolean {
    return this.options.broker.autoCreateTopicsEnable;
  }

  /** Creates missing topics with the broker defaults; resolves with per-name errors. */
  async autoCreateTopics(names: readonly string[]): Promise<Map<string, KafkaError | null>> {
    const out = new Map<string, KafkaError | null>();
    const missing = [...new Set(names)].filter((n) => this.state.topic(n) === undefined);
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
    for (const outcome of outcomes)
      out.set(
        outcome.name,
        outcome.error !== null && outcome.error.code !== 'TOPIC_ALREADY_EXISTS' ? outcome.error : null,
      );
    this.options.logger.info({ topics: missing }, 'auto-created topics');
    return out;
  }

  /**
   * Creates topics; each answers once committed and this node's replicas of it are open (at most
   * max(`leaderWaitMs`, 5 s): thousands of replicas open in the background), then with
   * `leaderWaitMs` > 0 (CreateTopics' timeout_ms) once all its partitions have a leader, or when
   * that time is up — created either way: the answer is then no error (the topic exists; its
   * partitions get leaders shortly), and a warning is logged.
   */
  async createTopics(
    specs: readonly CreateTopicSpec[],
    validateOnly: boolean,
    leaderWaitMs = 0,
  ): Promise<CreateTopicOutcome[]> {
    const b = this.options.broker;
    const prepared = prepareCreateTopics(
      this.state,
      specs.map((s) => ({
        name: s.name,
        numPartitions: s.numPartitions,
        replicationFactor: s.replicationFactor,
        assignments: s.assignments,
        configs: s.configs,
      })),
      {
        defaultPartitions: b.numPartitions,
        defaultReplicationFactor: defaultReplicationFactor(b, this.state.liveBrokers().length),
        newTopicId: () => this.options.newTopicId(),
        maxReplicasPerBroker: this.options.maxReplicasPerBroker,
      },
    );
    return Promise.all(
      prepared.map(async (p): Promise<CreateTopicOutcome> => {
        const fail = (error: KafkaError): CreateTopicOutcome => ({
          name: p.name,
          error,
          topicId: ZERO_UUID,
          numPartitions: -1,
          replicationFactor: -1,
          configs: [],
        });
        if (!p.result.ok) return fail(toKafkaError(p.result.error));
        const cmd = p.result.command;
        const numPartitions = cmd.assignments.length;
        const replicationFactor = cmd.assignments[0]?.length ?? 0;
        const ok = { name: p.name, error: null, numPartitions, replicationFactor };
        if (validateOnly) return { ...ok, topicId: ZERO_UUID, configs: [] };
        try {
          // Created once committed; this node's replicas open in the background (a bounded wait,
          // so a small topic's creator finds them open here, a huge one's answer is not held up).
          await commitOk(this.options.store, cmd);
          const settleWaitMs = Math.min(Math.max(leaderWaitMs, MIN_SETTLE_WAIT_MS), MAX_LEADER_WAIT_MS);
          await this.options.watch.within(this.options.settled(), settleWaitMs, undefined);
          if (leaderWaitMs > 0 && !(await this.leadersElected(p.name, cmd.topicId, leaderWaitMs)))
            this.options.logger.warn(
              { topic: p.name, waitedMs: Math.min(leaderWaitMs, MAX_LEADER_WAIT_MS) },
              'created topic still has partitions without a leader',
            );
          const configs = this.state
            .describeTopicConfigs(p.name, {
              brokerId: this.options.nodeId,
              ...this.options.configs.describeOptions(),
            })
            .map(viewOfConfig);
          return { ...ok, topicId: cmd.topicId, configs };
        } catch (e) {
          return fail(toKafkaError(e));
        }
      }),
    );
  }

  /**
   * Resolves true once every partition of the topic has a leader in the metadata, false when
   * `timeoutMs` (capped) passes first or the topic is gone.
   */
  private leadersElected(name: string, topicId: string, timeoutMs: number): Promise<boolean> {
    return this.options.watch.until(
      () => {
        const t = this.state.topic(name);
        if (t === undefined || t.topicId !== topicId) return false;
        return t.partitions.every((p) => p.leader >= 0) ? true : undefined;
      },
      Math.min(timeoutMs, MAX_LEADER_WAIT_MS),
      false,
    );
  }

  async deleteTopics(
    refs: ReadonlyArray<{ name: string | null; topicId: string | null }>,
  ): Promise<DeleteTopicOutcome[]> {
    return Promise.all(
      refs.map(async (ref): Promise<DeleteTopicOutcome> => {
        const target =
          ref.name !== null && ref.name !== '' ? { name: ref.name } : { topicId: ref.topicId ?? '' };
        const prepared = prepareDeleteTopic(this.state, target);
        if (!prepared.ok)
          return { name: ref.name, topicId: ref.topicId ?? ZERO_UUID, error: toKafkaError(prepared.error) };
        try {
          await this.apply(prepared.command);
          return { name: prepared.command.name, topicId: prepared.command.topicId, error: null };
        } catch (e) {
          return { name: ref.name, topicId: ref.topicId ?? ZERO_UUID, error: toKafkaError(e) };
        }
      }),
    );
  }

  async createPartitions(
    specs: readonly CreatePartitionsSpec[],
    validateOnly: boolean,
  ): Promise<Array<{ name: string; error: KafkaError | null }>> {
    const out: Array<{ name: string; error: KafkaError | null }> = [];
    for (const s of specs) {
      const prepared = prepareCreatePartitions(
        this.state,
        { name: s.name, count: s.count, assignments: s.assignments },
        { maxReplicasPerBroker: this.options.maxReplicasPerBroker },
      );
      if (!prepared.ok) {
        out.push({ name: s.name, error: toKafkaError(prepared.error) });
        continue;
      }
      try {
        if (!validateOnly) await this.apply(prepared.command);
        out.push({ name: s.name, error: null });
      } catch (e) {
        out.push({ name: s.name, error: toKafkaError(e) });
      }
    }
    return out;
  }

  /** A BROKER resource name: '' (the cluster-wide default) or a registered broker's id. */
  private brokerTarget(resourceName: string): number | null {
    if (resourceName === '') return null;
    if (!/^\d+$/.test(resourceName))
      throw new KafkaError('INVALID_REQUEST', `invalid broker id "${resourceName}"`);
    const id = Number(resourceName);
    if (this.state.broker(id) === undefined && id !== this.options.nodeId)
      throw new KafkaError('INVALID_REQUEST', `broker ${id} is not registered`);
    return id;
  }

  describeConfigs(
    resourceType: number,
    resourceName: string,
    keys: readonly string[] | null,
    includeSynonyms: boolean,
  ): ConfigEntryView[] {
    try {
      const options = {
        ...this.options.configs.describeOptions(),
        keys,
        includeSynonyms,
      };
      if (resourceType === ConfigResourceType.TOPIC)
        return this.state
          .describeTopicConfigs(resourceName, { ...options, brokerId: this.options.nodeId })
          .map(viewOfConfig);
      if (resourceType === ConfigResourceType.BROKER) {
        const target = this.brokerTarget(resourceName);
        const dynamic = this.state.describeBrokerConfigs(target, options).map(viewOfConfig);
        // This node's group configs are its own flags: shown for it, not for the cluster default.
        if (target !== this.options.nodeId) return dynamic;
        return [...dynamic, ...groupConfigEntries(this.options.broker, keys, includeSynonyms)];
      }
      if (resourceType === ConfigResourceType.BROKER_LOGGER) return [];
      throw new KafkaError('INVALID_REQUEST', `unsupported config resource type ${resourceType}`);
    } catch (e) {
      throw toKafkaError(e);
    }
  }

  async alterConfigs(
    resourceType: number,
    resourceName: string,
    alterations: readonly ConfigAlterationSpec[],
    replace: boolean,
    validateOnly: boolean,
  ): Promise<void> {
    const alts = alterations.map((a): ConfigAlteration => ({
      name: a.name,
      op: a.op as ConfigAlteration['op'],
      value: a.value,
    }));
    let prepared;
    if (resourceType === ConfigResourceType.TOPIC)
      prepared = prepareAlterTopicConfigs(this.state, { name: resourceName, alterations: alts, replace });
    else if (resourceType === ConfigResourceType.BROKER)
      prepared = prepareAlterBrokerConfigs(this.state, {
        brokerId: this.brokerTarget(resourceName),
        alterations: alts,
        replace,
      });
    else throw new KafkaError('INVALID_REQUEST', `config resource type ${resourceType} cannot be altered`);
    if (!prepared.ok) throw toKafkaError(prepared.error);
    if (!validateOnly) await this.apply(prepared.command);
  }
}
