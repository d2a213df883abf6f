// One partition of each strategy on an in-memory disk (@chronik/wal's MemFileSystem), behind the same
// test surface, so that one suite of cases runs against both (partition-suite.test.ts):
// - local: a LocalPartition on a WAL, as standalone mode opens it;
// - replicated: a ReplicatedPartition on a one-voter Raft group, as cluster/partition-groups.ts opens
//   it on a RaftHost.
// `restart()` closes the partition and opens it again from its storage with a new leader epoch (the
// local one is given the next epoch; the replicated one is elected in a new term). Also the helpers
// of the transaction cases: transactional batches, markers, and a read_committed consumer's view.
import { systemClock, systemScheduler } from '@chronik/env';
import type { Clock } from '@chronik/env';
import type { DecodedRecord } from '@chronik/protocol';
import {
  ControlRecordType,
  buildRecordBatch,
  decodeControlRecordKey,
  decodeRecordBatch,
  readRecordBatchHeader,
} from '@chronik/protocol';
import { RaftHost } from '@chronik/raft-host';
import { MemFileSystem } from '@chronik/wal';
import { GroupManifest } from '../../src/cluster/group-manifest.js';
import { PartitionGroups } from '../../src/cluster/partition-groups.js';
import { silentLogger } from '../../src/logger.js';
import type { KafkaLog } from '../../src/partition/kafka-log.js';
import { LocalPartition } from '../../src/partition/local-partition.js';
import type { AbortedTxn } from '../../src/partition/txn-state.js';
import type {
  AbortedTransaction,
  LogConfig,
  ManagedPartition,
  PartitionEvents,
  ReadResult,
  TxnMarker,
} from '../../src/partition/types.js';
import { BatchCache } from '../../src/storage/batch-cache.js';
import { WalEntryLogFactory } from '../../src/storage/wal-entry-log.js';

export const TOPIC_ID = '7b0e6c3a-7a43-4e0e-9a43-2a8e1f0c1d11';

export const LOG_CONFIG: LogConfig = {
  logAppendTime: false,
  maxMessageBytes: 1 << 20,
  retentionMs: -1,
  retentionBytes: -1,
  segmentBytes: 1 << 20,
  flushMessages: undefined,
  flushMs: 1000,
  flushBackgroundBytes: undefined,
  minInsyncReplicas: 1,
  compact: false,
  segmentMs: 604_800_000,
  deleteRetentionMs: 86_400_000,
  minCompactionLagMs: 0,
  maxCompactionLagMs: Number.MAX_SAFE_INTEGER,
  minCleanableDirtyRatio: 0.5,
};

export interface PartitionHarness {
  readonly kind: 'local' | 'replicated';
  /** The partition, open and leading. */
  readonly p: ManagedPartition;
  /** The clock the partition reads (ms). */
  now: number;
  /** Closes and reopens the partition from its storage, with a new leader epoch. */
  restart(): Promise<ManagedPartition>;
  close(): Promise<void>;
}

/** Events that resolve `ready` when the partition leads with a complete view. */
function readiness(): { events: PartitionEvents; ready: Promise<void> } {
  let resolve!: () => void;
  const ready = new Promise<void>((r) => (resolve = r));
  return {
    events: {
      leaderReady: () => resolve(),
      leaderLost: () => undefined,
      failed: () => undefined,
      damaged: () => undefined,
    },
    ready,
  };
}

class LocalHarness implements PartitionHarness {
  readonly kind = 'local' as const;
  now = 1_700_000_000_000;
  p!: ManagedPartition;
  private epoch = 0;
  private readonly fs = new MemFileSystem();
  private readonly wal = new WalEntryLogFactory({
    fs: this.fs,
    maxSegmentBytes: 64 * 1024,
    maxRecordBytes: 1 << 20,
    maxPendingBytes: 1 << 26,
    logger: silentLogger,
    clock: systemClock,
    scheduler: systemScheduler,
  });

  constructor(
    private readonly config: LogConfig,
    private readonly cache: BatchCache,
  ) {}

  async open(): Promise<ManagedPartition> {
    const { events, ready } = readiness();
    const p = new LocalPartition({
      topic: 't',
      topicId: TOPIC_ID,
      partition: 0,
      nodeId: 1,
      leaderEpoch: this.epoch,
      openLog: () => this.wal.open('/data/partitions/t/0'),
      cache: this.cache,
      config: this.config,
      maxEntryBytes: 1 << 20,
      retentionCheckIntervalMs: 0,
      logger: silentLogger,
      nowMs: () => this.now,
      events,
    });
    await p.open();
    await ready;
    this.p = p;
    return p;
  }

  async restart(): Promise<ManagedPartition> {
    await this.p.close();
    this.epoch++;
    return this.open();
  }

  async close(): Promise<void> {
    await this.p.close();
    this.wal.close();
  }
}

class ReplicatedHarness implements PartitionHarness {
  readonly kind = 'replicated' as const;
  now = 1_700_000_000_000;
  p!: ManagedPartition;
  private host!: RaftHost;
  private readonly fs = new MemFileSystem();
  private readonly clock: Clock = { nowMs: () => this.now, monotonicMs: () => this.now };

  constructor(
    private readonly config: LogConfig,
    private readonly segmentBytes: number,
  ) {}

  async open(): Promise<ManagedPartition> {
    await this.fs.mkdir('/raft');
    this.host = new RaftHost({
      nodeId: 1,
      dataDir: '/raft',
      env: { fs: this.fs },
      tickMs: 10,
      electionTicks: 5,
    });
    const groups = await partitionGroupsOn(this.host, this.fs, 1, { clock: this.clock });
    const { events, ready } = readiness();
    const p = groups.create(
      {
        topic: 't',
        topicId: TOPIC_ID,
        internal: false,
        partition: 0,
        replicas: [1],
        isr: [1],
        leaderEpoch: -1,
        config: { ...this.config, segmentBytes: this.segmentBytes },
      },
      events,
    );
    p.replicas = [1];
    await p.open();
    this.host.start();
    await ready;
    this.p = p;
    return p;
  }

  async restart(): Promise<ManagedPartition> {
    await this.close();
    return this.open();
  }

  async close(): Promise<void> {
    await this.p.close();
    await this.host.close();
  }
}

export interface HarnessOptions {
  config?: Partial<LogConfig>;
  /** Local: the shared batch cache (default 8 MiB). */
  cache?: BatchCache;
  /** Replicated: the group's WAL segment size (compaction frees whole segments). */
  segmentBytes?: number;
}

export type HarnessKind = 'local' | 'replicated';

export async function openPartition(kind: HarnessKind, o: HarnessOptions = {}): Promise<PartitionHarness> {
  const config = { ...LOG_CONFIG, ...o.config };
  if (kind === 'local') {
    const h = new LocalHarness(config, o.cache ?? new BatchCache(8 * 1024 * 1024));
    await h.open();
    return h;
  }
  const h = new ReplicatedHarness(config, o.segmentBytes ?? 1 << 20);
  await h.open();
  return h;
}

/** Polls `pred` every 10 ms until it holds; fails after `timeoutMs`. */
export async function until(pred: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * PartitionGroups of node `nodeId` on `host`, its Raft data in `/raft` of `fs` (the manifest opened
 * there unless given), with the tests' usual options: no retention checks, 5 s proposals, the system scheduler.
 */
export async function partitionGroupsOn(
  host: RaftHost,
  fs: MemFileSystem,
  nodeId: number,
  options: { electionTicks?: number; clock?: Clock; manifest?: GroupManifest } = {},
): Promise<PartitionGroups> {
  return new PartitionGroups({
    host,
    fs,
    raftDir: '/raft',
    manifest: options.manifest ?? (await GroupManifest.open(fs, '/raft')),
    nodeId,
    electionTicks: options.electionTicks ?? 5,
    retentionCheckIntervalMs: 0,
    proposalTimeoutMs: 5000,
    clock: options.clock ?? systemClock,
    scheduler: systemScheduler,
    logger: silentLogger,
  });
}

/** A transactional batch of `n` records `<prefix>0..` of a producer (epoch, first sequence). */
export function txnBatch(
  n: number,
  o: { producerId: bigint; epoch?: number; seq: number; prefix?: string; ts?: bigint },
): Buffer {
  return buildRecordBatch({
    records: Array.from({ length: n }, (_, i) => ({
      value: Buffer.from(`${o.prefix ?? 't'}${i}`),
      timestampMs: (o.ts ?? 1000n) + BigInt(i),
    })),
    isTransactional: true,
    producerId: o.producerId,
    producerEpoch: o.epoch ?? 0,
    baseSequence: o.seq,
  });
}

/** A marker of producer `producerId` (epoch and coordinator epoch 0 unless given). */
export function marker(
  producerId: bigint,
  commit: boolean,
  o: { epoch?: number; coordinatorEpoch?: number } = {},
): TxnMarker {
  return { producerId, producerEpoch: o.epoch ?? 0, commit, coordinatorEpoch: o.coordinatorEpoch ?? 0 };
}

/**
 * What a read_committed consumer delivers from a read, as Kafka's consumer does it: control batches
 * skipped; a producer's transactional batches dropped from the first offset of one of its aborted
 * transactions (answered with the read) until its abort marker.
 */
export function committedValues(r: ReadResult): string[] {
  const aborted = [...(r.abortedTransactions ?? [])].sort((a, b) =>
    a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0,
  );
  const abortedProducers = new Set<bigint>();
  const out: string[] = [];
  for (const c of r.chunks) {
    const { header, records } = decodeRecordBatch(c);
    const last = header.baseOffset + BigInt(header.lastOffsetDelta);
    while (aborted.length > 0 && (aborted[0] as AbortedTransaction).firstOffset <= last)
      abortedProducers.add((aborted.shift() as AbortedTransaction).producerId);
    if (header.isControl) {
      const key = decodeControlRecordKey((records[0] as DecodedRecord).key);
      if (key.type === ControlRecordType.Abort) abortedProducers.delete(header.producerId);
      continue;
    }
    if (header.isTransactional && abortedProducers.has(header.producerId)) continue;
    for (const rec of records) out.push(rec.value?.toString() ?? '');
  }
  return out;
}

/**
 * A read_committed read of everything from `from`, checked as every such read must hold: the last
 * stable offset within [log start, high watermark], no batch at or past it.
 */
export async function readCommitted(
  p: ManagedPartition,
  from: bigint,
  maxBytes = 1 << 20,
): Promise<ReadResult> {
  const r = await p.read(from, maxBytes, true, 1);
  if (r.lastStableOffset > r.highWatermark || r.lastStableOffset < r.logStartOffset)
    throw new Error(
      `last stable offset ${r.lastStableOffset} outside [${r.logStartOffset}, ${r.highWatermark}]`,
    );
  for (const c of r.chunks) {
    const h = readRecordBatchHeader(c, 0);
    if (h.baseOffset + BigInt(h.lastOffsetDelta) >= r.lastStableOffset)
      throw new Error(
        `read_committed returned the batch at ${h.baseOffset}, at or past the LSO ${r.lastStableOffset}`,
      );
  }
  return r;
}

/** The partition's aborted-transaction index (white box: its Kafka log, which both strategies keep). */
export function abortedIndexOf(p: ManagedPartition): AbortedTxn[] {
  return (p as unknown as { kafka: KafkaLog }).kafka.txns.abortedTxns();
}
