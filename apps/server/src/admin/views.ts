// The admin API's read-only views for the web console (apps/console): topics, one topic with its
// partitions and configs, a partition's records, consumer groups with their lag, this node's Raft
// groups and the leader changes it saw. Routes are in routes.ts; the README's "Admin HTTP API"
// lists them.
//
// - Cluster-wide where the data is: topics, partitions, leaders, replicas and ISR come from the
//   replicated metadata every node holds. Offsets and records live on each partition's leader and
//   groups on their coordinator: this node's services answer for what it leads, and another node
//   is asked with Kafka requests over the inter-broker client (node-reader.ts) — in parallel, each
//   with a deadline, so one node down costs its partitions an `error`, not the whole answer.
// - Bounded: records by count and bytes (MAX_RECORDS, MAX_READ_BYTES), each key, value and header
//   value cut at MAX_FIELD_BYTES and an answer ended once it carries MAX_ANSWER_FIELD_BYTES of them;
//   Raft groups by count; leader changes kept in a ring.
// - Never long on the event loop: the only synchronous work on data is decoding at most
//   MAX_READ_BYTES of batches, each decompressed to at most MAX_DECOMPRESSED_BYTES, and no more
//   batches once MAX_DECODED_BYTES of records were decoded for one answer.
import type { Clock } from '@chronik/env';
import type { FeedEvent, MetadataStateMachine, PartitionInfo, TopicInfo } from '@chronik/metadata';
import {
  Reader,
  decodeConsumerProtocolAssignment,
  decodeRecordBatch,
  splitRecordBatches,
} from '@chronik/protocol';
import type { DecodedRecord } from '@chronik/protocol';
import { KafkaError } from '../errors.js';
import type { TopicPartition } from '../partition/types.js';
import type { CommittedOffset, NodeReader, OffsetRange } from './node-reader.js';

/** Most records one answer holds (the `limit` query parameter: 1..MAX_RECORDS, default DEFAULT_RECORDS). */
export const MAX_RECORDS = 500;
export const DEFAULT_RECORDS = 50;
/** Batch bytes read for one answer (the `maxBytes` parameter: 1 KiB..MAX_READ_BYTES, default 1 MiB). */
export const MAX_READ_BYTES = 4 * 1024 * 1024;
export const DEFAULT_READ_BYTES = 1024 * 1024;
/** A key, value or header value longer than this is cut (the answer says how long it was). */
export const MAX_FIELD_BYTES = 64 * 1024;
/** Decompressed size of one batch the browser decodes. */
const MAX_DECOMPRESSED_BYTES = 16 * 1024 * 1024;
/** Record bytes (keys, values, headers) decoded for one answer, after which no batch is decoded. */
const MAX_DECODED_BYTES = 32 * 1024 * 1024;
/** Key, value and header bytes one answer carries (before base64), after which it ends. */
export const MAX_ANSWER_FIELD_BYTES = 8 * 1024 * 1024;
/** Leader changes kept. */
const MAX_LEADER_CHANGES = 200;
/** Raft groups listed in one answer. */
export const MAX_RAFT_GROUPS = 2000;

/** One Raft group of this node, as the admin API reports it (raft-cluster only). */
export interface RaftGroupView {
  groupId: number;
  /** `metadata`, or the partition (`topic-partition`) the group replicates; '' when unknown. */
  name: string;
  role: string;
  leaderId: number;
  term: number;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
  snapshotIndex: number;
  voters: readonly number[];
  learners: readonly number[];
  /** On the leader: each other replica's match index and lag (last index − match, never below 0). */
  followers: ReadonlyArray<{
    nodeId: number;
    match: number;
    lag: number;
    state: string;
    recentActive: boolean;
  }>;
  /** The group is idle and quiescent here: not ticked, no heartbeats (docs/design/quiescence.md). */
  quiescent: boolean;
  /** Why the group stopped, when it did. */
  failure?: string;
}

/** What this node knows of the links to its peers (raft-cluster only). */
export interface PeerView {
  nodeId: number;
  connected: boolean;
}

export interface AdminViewsOptions {
  nodeId: number;
  mode: string;
  /** The replicated metadata as this node applied it. */
  state: Pick<
    MetadataStateMachine,
    'topic' | 'topics' | 'broker' | 'liveBrokers' | 'subscribe' | 'appliedIndex'
  >;
  /** The topic's configs as DescribeConfigs reports them on this node. */
  topicConfigs(name: string): ReadonlyArray<{
    name: string;
    value: string | null;
    source: number;
    isDefault: boolean;
    readOnly: boolean;
    isSensitive: boolean;
  }>;
  /** The node coordinating a group (-1 when none is known). */
  groupCoordinator(groupId: string): number;
  /** This node. */
  local: NodeReader;
  /** Another node (raft-cluster); absent on a single node, where every answer is local. */
  remote?: (nodeId: number) => NodeReader;
  /** This node's Raft groups (raft-cluster). */
  raftGroups?: () => RaftGroupView[];
  /** This node's peers (raft-cluster). */
  peers?: () => PeerView[];
  /** Whether records may be read (--admin-records), and why not. */
  records: { allowed: true } | { allowed: false; reason: string };
  clock: Clock;
}

/** A view this node was told not to serve (answered 403). */
export class ViewRefused extends Error {}

/**
 * --admin-records: `on`, `off`, or `auto` — on unless a Kafka listener authenticates its clients
 * (SASL, or TLS client certificates required), since the admin port authenticates no one.
 */
export function recordsPolicy(
  setting: 'auto' | 'on' | 'off',
  listeners: ReadonlyArray<{ name: string; authenticates: boolean }>,
  adminAuthenticates = false,
): AdminViewsOptions['records'] {
  // The admin port itself authenticates (a bearer token, or client certificates): records are
  // served to whom it lets in.
  if (setting === 'on' || (setting === 'auto' && adminAuthenticates)) return { allowed: true };
  if (setting === 'off')
    return { allowed: false, reason: 'this node serves no records on its admin port (--admin-records off)' };
  const guarded = listeners.filter((l) => l.authenticates).map((l) => l.name);
  return guarded.length === 0
    ? { allowed: true }
    : {
        allowed: false,
        reason: `listener ${guarded.join(', ')} authenticates its clients and the admin port does not, so it serves no records: protect the admin port (--admin-token-file, or --admin-tls-client-auth required) or start the node with --admin-records on`,
      };
}

/** A failed part of an answer: the Kafka error name and a sentence. */
interface PartError {
  error: string;
  message: string;
}

function partError(e: unknown): PartError {
  return e instanceof KafkaError
    ? { error: e.code, message: e.message }
    : { error: 'UNKNOWN_SERVER_ERROR', message: e instanceof Error ? e.message : String(e) };
}

/** DescribeConfigs' config_source numbers, by name. */
const CONFIG_SOURCES = [
  'UNKNOWN',
  'DYNAMIC_TOPIC_CONFIG',
  'DYNAMIC_BROKER_CONFIG',
  'DYNAMIC_DEFAULT_BROKER_CONFIG',
  'STATIC_BROKER_CONFIG',
  'DEFAULT_CONFIG',
  'DYNAMIC_BROKER_LOGGER_CONFIG',
] as const;

export interface RecordsQuery {
  /** Start here; absent (and no timestamp): the last `limit` records below the high watermark. */
  offset?: bigint;
  /** Start at the first record at or after this time (ms since the epoch). */
  timestampMs?: bigint;
  limit: number;
  maxBytes: number;
}

/** A record's key, value or header value in an answer: base64, cut at MAX_FIELD_BYTES. */
interface Bytes {
  base64: string;
  size: number;
  truncated: boolean;
}

function bytesOf(b: Buffer | null): Bytes | null {
  if (b === null) return null;
  const cut = b.length > MAX_FIELD_BYTES;
  return {
    base64: (cut ? b.subarray(0, MAX_FIELD_BYTES) : b).toString('base64'),
    size: b.length,
    truncated: cut,
  };
}

function recordBytes(r: DecodedRecord): number {
  let n = (r.key?.length ?? 0) + (r.value?.length ?? 0);
  for (const h of r.headers) n += h.key.length + (h.value?.length ?? 0);
  return n;
}

/** The key, value and header bytes an answer carries of a record (each cut at MAX_FIELD_BYTES). */
function carriedBytes(r: DecodedRecord): number {
  const cut = (b: Buffer | null): number => Math.min(b?.length ?? 0, MAX_FIELD_BYTES);
  let n = cut(r.key) + cut(r.value);
  for (const h of r.headers) n += h.key.length + cut(h.value);
  return n;
}

function recordView(r: DecodedRecord): unknown {
  return {
    offset: r.offset,
    timestampMs: r.timestampMs,
    key: bytesOf(r.key),
    value: bytesOf(r.value),
    headers: r.headers.map((h) => ({ key: h.key, value: bytesOf(h.value) })),
  };
}

/** The partitions of a consumer-protocol assignment; anything else (another protocol type, bad bytes) is none. */
function assignedPartitions(protocolType: string, bytes: Uint8Array): TopicPartition[] {
  if (protocolType !== 'consumer' || bytes.length < 2) return [];
  try {
    const r = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    const version = Math.min(r.int16(), 3);
    return decodeConsumerProtocolAssignment(r, version).assignedPartitions.flatMap((t) =>
      t.partitions.map((partition) => ({ topic: t.topic, partition })),
    );
  } catch {
    return [];
  }
}

/** One partition of a group (GET /v1/groups/:id). */
export interface GroupPartitionView {
  topic: string;
  partition: number;
  committedOffset: bigint | null;
  metadata: string | null;
  highWatermark: bigint | null;
  /** High watermark − committed offset (never below 0); null when either is unknown. */
  lag: bigint | null;
  memberId: string | null;
  error?: string;
  message?: string;
}

/** A consumer group as GET /v1/groups/:id answers it. */
export interface GroupView {
  groupId: string;
  /** `classic`, or `consumer` for KIP-848's protocol. */
  groupType: 'classic' | 'consumer';
  coordinator: number;
  state: string;
  protocolType: string;
  protocol: string;
  members: Array<{
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    assignment: TopicPartition[];
  }>;
  partitions: GroupPartitionView[];
  totalLag: bigint;
  atMs: number;
}

export class AdminViews {
  private readonly leaderChanges: unknown[] = [];
  private readonly unsubscribe: () => void;
  /** Partition leader changes applied here since the start (chronik_partition_leader_changes_total). */
  leaderChangesSeen = 0;

  constructor(private readonly options: AdminViewsOptions) {
    this.unsubscribe = options.state.subscribe(options.state.appliedIndex, (e) => this.onChanges(e));
  }

  close(): void {
    this.unsubscribe();
  }

  private onChanges(e: FeedEvent): void {
    if (e.type !== 'changes') return;
    for (const c of e.changes) {
      if (c.type !== 'partitionChanged' || c.reason !== 'leader') continue;
      this.leaderChangesSeen++;
      this.leaderChanges.push({
        atMs: this.options.clock.nowMs(),
        metadataIndex: c.index,
        topic: c.name,
        partition: c.partition.partition,
        previousLeader: c.previous.leader,
        leader: c.partition.leader,
        leaderEpoch: c.partition.leaderEpoch,
      });
      if (this.leaderChanges.length > MAX_LEADER_CHANGES) this.leaderChanges.shift();
    }
  }

  private reader(nodeId: number): NodeReader {
    if (nodeId === this.options.nodeId) return this.options.local;
    const remote = this.options.remote;
    if (remote === undefined)
      throw new KafkaError('LEADER_NOT_AVAILABLE', `node ${nodeId} is not this node and cannot be asked`);
    return remote(nodeId);
  }

  private isOffline(p: PartitionInfo): boolean {
    if (p.leader < 0) return true;
    const b = this.options.state.broker(p.leader);
    return b === undefined || b.fenced;
  }

  private topicOrThrow(name: string): TopicInfo {
    const t = this.options.state.topic(name);
    if (t === undefined) throw new KafkaError('UNKNOWN_TOPIC_OR_PARTITION', `no topic ${name}`);
    return t;
  }

  /** GET /v1/topics: every topic from the metadata, with partition counts by state. */
  topics(): {
    topics: unknown[];
    partitions: { total: number; online: number; underReplicated: number; offline: number };
  } {
    const totals = { total: 0, online: 0, underReplicated: 0, offline: 0 };
    const topics = [...this.options.state.topics()]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((t) => {
        let offline = 0;
        let underReplicated = 0;
        for (const p of t.partitions) {
          if (this.isOffline(p)) offline++;
          else if (p.isr.length < p.replicas.length) underReplicated++;
        }
        totals.total += t.partitions.length;
        totals.offline += offline;
        totals.underReplicated += underReplicated;
        totals.online += t.partitions.length - offline;
        return {
          name: t.name,
          topicId: t.topicId,
          internal: t.internal,
          partitions: t.partitions.length,
          replicationFactor: t.partitions[0]?.replicas.length ?? 0,
          underReplicated,
          offline,
          configOverrides: Object.keys(t.configs).length,
        };
      });
    return { topics, partitions: totals };
  }

  /** Each partition's offsets, asked of its leader (grouped by leader, in parallel). */
  private async offsetsOf(
    topic: string,
    partitions: readonly PartitionInfo[],
    withSizes: boolean,
  ): Promise<Map<number, (OffsetRange & { sizeBytes?: number }) | PartError>> {
    const byLeader = new Map<number, number[]>();
    const out = new Map<number, (OffsetRange & { sizeBytes?: number }) | PartError>();
    for (const p of partitions) {
      if (p.leader < 0) {
        out.set(p.partition, { error: 'LEADER_NOT_AVAILABLE', message: 'no leader' });
        continue;
      }
      byLeader.set(p.leader, [...(byLeader.get(p.leader) ?? []), p.partition]);
    }
    await Promise.all(
      [...byLeader].map(async ([leader, ps]) => {
        try {
          const reader = this.reader(leader);
          const [offsets, sizes] = await Promise.all([
            reader.offsets(topic, ps),
            withSizes ? reader.sizes(topic, ps).catch(() => new Map<number, number>()) : undefined,
          ]);
          for (const p of ps) {
            const o = offsets.get(p);
            const size = sizes?.get(p);
            out.set(
              p,
              o === undefined
                ? { error: 'UNKNOWN_SERVER_ERROR', message: `node ${leader} did not answer for it` }
                : o instanceof KafkaError
                  ? partError(o)
                  : { ...o, ...(size !== undefined ? { sizeBytes: size } : {}) },
            );
          }
        } catch (e) {
          for (const p of ps) out.set(p, partError(e));
        }
      }),
    );
    return out;
  }

  /** GET /v1/topics/:name: partitions (leader, replicas, ISR, offsets and size from the leader) and configs. */
  async topic(name: string): Promise<unknown> {
    const t = this.topicOrThrow(name);
    const offsets = await this.offsetsOf(name, t.partitions, true);
    return {
      name: t.name,
      topicId: t.topicId,
      internal: t.internal,
      partitions: t.partitions.map((p) => ({
        partition: p.partition,
        leader: p.leader,
        leaderEpoch: p.leaderEpoch,
        replicas: p.replicas,
        isr: p.isr,
        offline: this.isOffline(p),
        underReplicated: p.isr.length < p.replicas.length,
        ...offsets.get(p.partition),
      })),
      configs: this.options.topicConfigs(name).map((c) => ({
        name: c.name,
        value: c.isSensitive ? null : c.value,
        source: CONFIG_SOURCES[c.source] ?? 'UNKNOWN',
        isDefault: c.isDefault,
        readOnly: c.readOnly,
        sensitive: c.isSensitive,
      })),
    };
  }

  /**
   * GET /v1/topics/:name/partitions/:p/records: up to `limit` records from the partition's leader,
   * read_uncommitted (control batches left out), from `offset`, from the first at or after
   * `timestampMs`, or else the last `limit` below the high watermark.
   */
  async records(name: string, partition: number, q: RecordsQuery): Promise<unknown> {
    if (!this.options.records.allowed) throw new ViewRefused(this.options.records.reason);
    const t = this.topicOrThrow(name);
    const info = t.partitions[partition];
    if (info === undefined)
      throw new KafkaError('UNKNOWN_TOPIC_OR_PARTITION', `no partition ${name}-${partition}`);
    if (info.leader < 0) throw new KafkaError('LEADER_NOT_AVAILABLE', `${name}-${partition} has no leader`);
    const reader = this.reader(info.leader);
    const tp = { topic: name, partition };
    const range = (await reader.offsets(name, [partition])).get(partition);
    if (range === undefined)
      throw new KafkaError('UNKNOWN_SERVER_ERROR', `no offsets for ${name}-${partition}`);
    if (range instanceof KafkaError) throw range;
    let start: bigint;
    if (q.offset !== undefined) start = q.offset;
    else if (q.timestampMs !== undefined) {
      const found = await reader.offsetForTime(tp, q.timestampMs);
      start = found < 0n ? range.highWatermark : found;
    } else {
      start = range.highWatermark - BigInt(q.limit);
    }
    if (start < range.logStartOffset) start = range.logStartOffset;
    if (start > range.highWatermark) start = range.highWatermark;
    const records: unknown[] = [];
    let next = start;
    let bytesRead = 0;
    let highWatermark = range.highWatermark;
    let logStartOffset = range.logStartOffset;
    let decoded = 0;
    let carried = 0;
    read: while (records.length < q.limit && next < highWatermark && bytesRead < q.maxBytes) {
      const r = await reader.read(tp, next, q.maxBytes - bytesRead);
      highWatermark = r.highWatermark;
      logStartOffset = r.logStartOffset;
      if (r.bytes === 0) break;
      bytesRead += r.bytes;
      const before = next;
      for (const chunk of r.chunks) {
        for (const slice of splitRecordBatches(chunk, { allowPartialTail: true })) {
          const h = slice.header;
          const last = h.baseOffset + BigInt(h.lastOffsetDelta);
          if (last < next) continue;
          if (!h.isControl) {
            const batch = decodeRecordBatch(slice.bytes, {
              checkCrc: false,
              maxDecompressedBytes: MAX_DECOMPRESSED_BYTES,
            });
            for (const rec of batch.records) decoded += recordBytes(rec);
            for (const rec of batch.records) {
              if (rec.offset < next) continue;
              records.push(recordView(rec));
              carried += carriedBytes(rec);
              if (records.length >= q.limit || carried >= MAX_ANSWER_FIELD_BYTES) {
                next = rec.offset + 1n;
                break read;
              }
            }
          }
          next = last + 1n;
          if (decoded >= MAX_DECODED_BYTES) break read;
        }
      }
      if (next === before) break; // nothing whole came back: do not ask again for the same offset
    }
    return {
      topic: name,
      partition,
      leader: info.leader,
      logStartOffset,
      highWatermark,
      startOffset: start,
      nextOffset: next,
      records,
    };
  }

  private liveBrokerIds(): number[] {
    return this.options.state
      .liveBrokers()
      .map((b) => b.brokerId)
      .sort((a, b) => a - b);
  }

  /** GET /v1/groups: the groups of every live node's coordinator (ListGroups to each, in parallel). */
  async groups(): Promise<unknown> {
    const ids = new Set(this.liveBrokerIds());
    ids.add(this.options.nodeId);
    const errors: Array<{ nodeId: number } & PartError> = [];
    const seen = new Map<string, unknown>();
    await Promise.all(
      [...ids].map(async (nodeId) => {
        try {
          for (const g of await this.reader(nodeId).listGroups())
            seen.set(g.groupId, { ...g, coordinator: nodeId });
        } catch (e) {
          errors.push({ nodeId, ...partError(e) });
        }
      }),
    );
    const groups = [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, g]) => g);
    return { groups, errors: errors.sort((a, b) => a.nodeId - b.nodeId) };
  }

  /**
   * GET /v1/groups/:id: state, members with their assignments (consumer protocol), and per
   * partition the committed offset, the high watermark and the lag (high watermark − committed).
   */
  async group(groupId: string): Promise<GroupView> {
    const coordinator = this.options.groupCoordinator(groupId);
    if (coordinator < 0)
      throw new KafkaError('COORDINATOR_NOT_AVAILABLE', `no coordinator for group ${groupId}`);
    const reader = this.reader(coordinator);
    const [description, committed] = await Promise.all([
      reader.describeGroup(groupId),
      reader.committedOffsets(groupId),
    ]);
    const members = description.members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      assignment: m.partitions ?? assignedPartitions(description.protocolType, m.assignment),
    }));
    // Every partition the group committed to or has assigned, by topic.
    const owner = new Map<string, string>();
    const byTopic = new Map<string, Set<number>>();
    const add = (topic: string, partition: number): void => {
      const set = byTopic.get(topic) ?? new Set<number>();
      set.add(partition);
      byTopic.set(topic, set);
    };
    for (const m of members)
      for (const tp of m.assignment) {
        owner.set(`${tp.topic}\0${tp.partition}`, m.memberId);
        add(tp.topic, tp.partition);
      }
    const committedBy = new Map<string, CommittedOffset>();
    for (const c of committed) {
      committedBy.set(`${c.topic}\0${c.partition}`, c);
      add(c.topic, c.partition);
    }
    const partitions: GroupPartitionView[] = [];
    let totalLag = 0n;
    const topics = [...byTopic.keys()].sort();
    const offsets = await Promise.all(
      topics.map(async (topic) => {
        const t = this.options.state.topic(topic);
        const infos = t === undefined ? [] : t.partitions.filter((p) => byTopic.get(topic)?.has(p.partition));
        return this.offsetsOf(topic, infos, false);
      }),
    );
    topics.forEach((topic, i) => {
      for (const partition of [...(byTopic.get(topic) ?? [])].sort((a, b) => a - b)) {
        const key = `${topic}\0${partition}`;
        const c = committedBy.get(key);
        const o = offsets[i]?.get(partition);
        const hw = o !== undefined && 'highWatermark' in o ? o.highWatermark : undefined;
        const lag = c !== undefined && hw !== undefined ? (hw > c.offset ? hw - c.offset : 0n) : undefined;
        if (lag !== undefined) totalLag += lag;
        partitions.push({
          topic,
          partition,
          committedOffset: c?.offset ?? null,
          metadata: c?.metadata ?? null,
          highWatermark: hw ?? null,
          lag: lag ?? null,
          memberId: owner.get(key) ?? null,
          ...(o !== undefined && 'error' in o ? o : {}),
        });
      }
    });
    return {
      groupId,
      groupType: description.groupType,
      coordinator,
      state: description.state,
      protocolType: description.protocolType,
      protocol: description.protocol,
      members,
      partitions,
      totalLag,
      atMs: this.options.clock.nowMs(),
    };
  }

  /** This node's Raft groups (raft-cluster; none on a single node). */
  raftGroups(): RaftGroupView[] {
    return this.options.raftGroups?.() ?? [];
  }

  /** GET /v1/raft: this node's Raft groups (the first `limit`: metadata, then by partition name) and peers. */
  raft(limit: number): unknown {
    const all = this.raftGroups();
    // The metadata group first, then partitions by topic and number.
    const rank = (g: RaftGroupView): number => (g.name === 'metadata' ? 0 : 1);
    all.sort(
      (a, b) =>
        rank(a) - rank(b) || a.name.localeCompare(b.name, 'en', { numeric: true }) || a.groupId - b.groupId,
    );
    return {
      nodeId: this.options.nodeId,
      mode: this.options.mode,
      total: all.length,
      groups: all.slice(0, limit),
      peers: this.options.peers?.() ?? [],
    };
  }

  /** GET /v1/leader-changes: partition leader changes this node applied since it started (the last 200). */
  leaderChangesView(): unknown {
    return { nodeId: this.options.nodeId, changes: [...this.leaderChanges].reverse() };
  }
}
