// A partition of a single-node broker: the Kafka log (kafka-log.ts) on an EntryLog of this node
// (one WAL per partition, storage/wal-entry-log.ts), with the standalone durability contract:
// - acks=1 resolves once the entry log has written the batch, acks=all once it is synced (group
//   commit); flush.messages, flush.ms and the background flush threshold sync the rest;
// - the high watermark is the end of what has been written (one replica: written = replicated);
// - the log start offset is checkpointed in a small file beside the log before the log's prefix is
//   dropped, and a clean close leaves a snapshot of the index and the small state (producers, open
//   and aborted transactions) so the next start need not read the whole log (used once, then
//   removed, so a later crash never meets a stale one); without it, recovery re-reads the log, which
//   rebuilds the same state;
// - a transaction marker is appended like a batch, as durably as acks=all;
// - log compaction (docs/design/compaction.md): a cleaning pass's relocation entries are appended
//   to the same log and applied once written; once the log holds relocations, every drop of its
//   prefix first writes a compaction snapshot (the index and the small state, at a log position,
//   kept until the next one), so that a start after a crash restores it and replays the entries
//   after it — the entries a relocation replaced are gone, only the snapshot knows their offsets;
// - while it runs, each time enough new bytes are durable, an index checkpoint (the same snapshot,
//   at a log position every entry before which is synced) so that a start after a crash replays
//   only the entries after the newest usable snapshot (index-checkpoint.ts); every snapshot is
//   checksummed and checked against the log (its position inside the log, its last batch's offsets
//   at that position), and one that fails is ignored: the log is scanned instead.
// The node always leads its partitions; the leader epoch is the one the metadata gave it.
import { BatchField, RECORD_BATCH_CRC_START, readRecordBatchHeader } from '@chronik/protocol';
import { kafkaErrorName, toKafkaError } from '../error-map.js';
import { KafkaError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { BatchCache } from '../storage/batch-cache.js';
import { crc32cCombine, crc32cOf } from '../storage/crc32c.js';
import type { EntryInput, EntryLog } from '../storage/entry-log.js';
import { BatchIndex } from './batch-index.js';
import {
  CHECKPOINT_MIN_INTERVAL_BYTES,
  checkpointDue,
  decodeSnapshot,
  encodeSnapshot,
} from './index-checkpoint.js';
import type { DecodedSnapshot } from './index-checkpoint.js';
import { InvariantError, ReadDamage } from './kafka-log.js';
import type { CleanerState, LogState } from './kafka-log.js';
import { isRelocation } from './relocation.js';
import { KafkaPartition, errorText } from './kafka-partition.js';
import type { AssignedBatch, IncomingBatch, InflightBatch } from './prepare.js';
import {
  assignOffsets,
  decideBatches,
  markerBatch,
  recordCountOf,
  splitAndValidate,
  txnOf,
} from './prepare.js';
import type { Acks, AppendResult, LogConfig, PartitionEvents, TxnMarker } from './types.js';

export interface LocalPartitionOptions {
  topic: string;
  topicId: string;
  partition: number;
  nodeId: number;
  /** The partition's leader epoch in the metadata (never below 0). */
  leaderEpoch: number;
  /** Opens the partition's entry log (on open()). */
  openLog(): Promise<EntryLog>;
  /** Recent batches of every partition, under one budget. */
  cache: BatchCache;
  config: LogConfig;
  /** Largest batch the log stores. */
  maxEntryBytes: number;
  /** How often retention is evaluated (maintain() runs more often, for the flush policy). */
  retentionCheckIntervalMs: number;
  logger: Logger;
  nowMs: () => number;
  events: PartitionEvents;
  /** New bytes between index checkpoints, at least (default CHECKPOINT_MIN_INTERVAL_BYTES). */
  checkpointIntervalBytes?: number;
}

const CHECKPOINT_FILE = 'log-start-offset';
/** Written by a clean close, used once by the next open (it describes exactly the log it closed). */
const SNAPSHOT_FILE = 'index.snapshot';
/** Written before the log's prefix is dropped once it holds relocations; replayed from, kept. */
const COMPACTION_SNAPSHOT_FILE = 'compaction.snapshot';
/** Written while the partition runs, once enough new bytes are durable; replayed from, kept. */
const INDEX_CHECKPOINT_FILE = 'index.checkpoint';
/** Entries read per step during recovery. */
const RECOVERY_READ_BYTES = 1024 * 1024;
const NO_INFLIGHT: readonly InflightBatch[] = [];

/** The state part of an index snapshot (snapshotBytes). */
interface SnapshotMeta {
  nextIndex: number;
  nextOffset: string;
  logStartOffset?: string;
  epochs: Array<[number, string]>;
  maxTs: [string, string];
  producers: unknown;
  txns?: unknown;
  cleaner?: CleanerState;
}

interface ParsedSnapshot {
  decoded: DecodedSnapshot;
  meta: SnapshotMeta;
}

/**
 * The CRC-32C of a whole (assigned) batch, as its log entry's checksum: the CRC of the bytes the
 * batch's own CRC does not cover (base offset, batch length, partition leader epoch, magic, crc)
 * combined with the batch's own CRC, which was verified on arrival (or recomputed when the
 * broker stamped log-append time) — the batch's bytes are not read a second time.
 */
function entryCrcOf(batch: Buffer): number {
  return crc32cCombine(
    crc32cOf(batch, 0, RECORD_BATCH_CRC_START),
    batch.readUInt32BE(BatchField.crc),
    batch.length - RECORD_BATCH_CRC_START,
  );
}

export class LocalPartition extends KafkaPartition {
  readonly leaderEpoch: number;
  /** Set by open(). */
  private log!: EntryLog;
  private opened = false;
  private readonly cacheOwner: number;
  private unflushedMessages = 0;
  private unflushedBytes = 0;
  private backgroundSync: Promise<void> | null = null;
  private lastSyncMs = 0;
  private lastRetentionMs = 0;
  /** Serializes appends: offsets are assigned in the order writes complete. */
  private tail: Promise<unknown> = Promise.resolve();
  /** Serializes moves of the log start (checkpoint file, then the log's prefix). */
  private logStartMoves: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Bytes appended since the last index checkpoint, and that checkpoint's size. */
  private bytesSinceCheckpoint = 0;
  private lastCheckpointBytes = 0;
  private checkpointing = false;

  constructor(private readonly options: LocalPartitionOptions) {
    super(options);
    this.leaderEpoch = options.leaderEpoch;
    this.replicas = [options.nodeId];
    this.cacheOwner = options.cache.owner();
  }

  /** Recovers the log and reports leadership (a single node leads every partition it has). */
  async open(): Promise<void> {
    this.log = await this.options.openLog();
    await this.recover();
    this.opened = true;
    this.lastSyncMs = this.options.nowMs();
    this.lastRetentionMs = this.options.nowMs();
    this.events.leaderReady(this);
  }

  isLeader(): boolean {
    return this.opened && !this.closed && this.failure === null;
  }
  isLeaderReady(): boolean {
    return this.isLeader();
  }
  inSyncReplicas(): readonly number[] {
    return [this.options.nodeId];
  }
  leaderId(): number {
    return this.isLeader() ? this.options.nodeId : -1;
  }
  get logEndOffset(): bigint {
    return this.kafka.nextOffset;
  }

  // ---------------------------------------------------------------- recovery

  private async recover(): Promise<void> {
    const checkpoint = await this.readCheckpoint();
    const fromSnapshot = await this.loadSnapshot();
    let started = fromSnapshot !== undefined;
    let i = fromSnapshot ?? this.log.firstIndex();
    const end = this.log.nextIndex();
    while (i < end) {
      const entries = await this.log.read(i, end, RECOVERY_READ_BYTES);
      if (entries.length === 0)
        throw new InvariantError(`${this.topic}-${this.partition}: entry ${i} unreadable`);
      for (const data of entries) {
        if (isRelocation(data)) {
          // The batches it replaced may be gone from the log: only a compaction snapshot (written
          // before any prefix of a log holding relocations is dropped) can come before it.
          if (!started)
            throw new InvariantError(
              `${this.topic}-${this.partition}: the log starts with a relocation entry (${i}) and ${COMPACTION_SNAPSHOT_FILE} is missing or unreadable`,
            );
          this.kafka.applyRelocation(data, i);
          i++;
          continue;
        }
        const h = readRecordBatchHeader(data, 0);
        if (!started) {
          this.kafka.startAt(h.baseOffset);
          started = true;
        }
        this.kafka.index(h, i, data);
        i++;
      }
    }
    if (!started) this.kafka.startAt(checkpoint);
    this.kafka.advanceHighWatermark(this.kafka.nextOffset);
    this.kafka.moveLogStart(checkpoint);
    this.kafka.batchIndex.removeEntriesBelow(this.log.firstIndex());
    if (this.kafka.batchCount > 0) {
      this.logger.info(
        {
          topic: this.topic,
          partition: this.partition,
          batches: this.kafka.batchCount,
          logStartOffset: String(this.kafka.logStartOffset),
          logEndOffset: String(this.kafka.nextOffset),
          from: fromSnapshot ? 'snapshot' : 'log',
        },
        'partition recovered',
      );
    }
  }

  private async readCheckpoint(): Promise<bigint> {
    const raw = await this.log.readFile(CHECKPOINT_FILE);
    const text = raw?.toString('utf8').trim() ?? '';
    return /^\d+$/.test(text) ? BigInt(text) : 0n;
  }

  /**
   * Restores a snapshot of the index and the small state; returns the log position to replay
   * from, or undefined when there is none to use (the log is then read from its start). First the
   * clean-close snapshot, when it describes exactly this log (same next entry index), removed once
   * read; else the newer of the index checkpoint and the compaction snapshot that the log still
   * holds every entry after. Each is checked against the log before it is used.
   */
  private async loadSnapshot(): Promise<number | undefined> {
    const clean = await this.log.readFile(SNAPSHOT_FILE);
    if (clean !== undefined) {
      await this.log.removeFile(SNAPSHOT_FILE);
      const parsed = this.parseSnapshot(clean, SNAPSHOT_FILE);
      const at =
        parsed && (await this.restoreSnapshot(parsed, SNAPSHOT_FILE, (n) => n === this.log.nextIndex()));
      if (at !== undefined) return at;
    }
    const inLog = (n: number): boolean => n >= this.log.firstIndex() && n <= this.log.nextIndex();
    const candidates: Array<{ name: string; parsed: ParsedSnapshot }> = [];
    for (const name of [INDEX_CHECKPOINT_FILE, COMPACTION_SNAPSHOT_FILE]) {
      const raw = await this.log.readFile(name);
      const parsed = raw && this.parseSnapshot(raw, name);
      if (parsed !== undefined) candidates.push({ name, parsed });
    }
    candidates.sort((x, y) => y.parsed.meta.nextIndex - x.parsed.meta.nextIndex);
    for (const c of candidates) {
      const at = await this.restoreSnapshot(c.parsed, c.name, inLog);
      if (at !== undefined) return at;
    }
    return undefined;
  }

  /** A snapshot's checked bytes and state, or undefined (logged) when it cannot be read. */
  private parseSnapshot(raw: Buffer, name: string): ParsedSnapshot | undefined {
    try {
      const decoded = decodeSnapshot(raw);
      const meta = JSON.parse(decoded.json) as SnapshotMeta;
      if (!Number.isSafeInteger(meta.nextIndex)) throw new Error('no next entry index');
      return { decoded, meta };
    } catch (e) {
      this.ignoredSnapshot(name, e);
      return undefined;
    }
  }

  private ignoredSnapshot(name: string, e: unknown): void {
    this.logger.warn(
      { topic: this.topic, partition: this.partition, file: name, err: errorText(e) },
      'ignoring unreadable index snapshot',
    );
  }

  /**
   * Restores a parsed snapshot (snapshotBytes' format) when `usable(its next entry index)` and it
   * agrees with the log: its last batch row stored whole in an entry is that entry's batch (same
   * base and last offset). Returns that next entry index, or undefined (nothing restored).
   */
  private async restoreSnapshot(
    { decoded, meta }: ParsedSnapshot,
    name: string,
    usable: (nextIndex: number) => boolean,
  ): Promise<number | undefined> {
    try {
      if (!usable(meta.nextIndex)) return undefined;
      const index = BatchIndex.fromBuffer(decoded.rows, decoded.v1);
      index.removeEntriesBelow(this.log.firstIndex());
      if (index.length > 0 && index.at(index.length - 1).entryIndex >= meta.nextIndex)
        throw new Error(`a batch row past its position ${meta.nextIndex}`);
      for (let k = index.length - 1; k >= 0; k--) {
        if (!index.isLive(k) || index.innerAt(k) !== 0) continue;
        const row = index.at(k);
        const [entry] = await this.log.read(row.entryIndex, row.entryIndex + 1, Number.MAX_SAFE_INTEGER);
        if (entry === undefined || isRelocation(entry))
          throw new Error(`entry ${row.entryIndex} is not the batch it indexes`);
        const h = readRecordBatchHeader(entry, 0);
        if (h.baseOffset !== row.baseOffset || h.baseOffset + BigInt(h.lastOffsetDelta) !== row.lastOffset)
          throw new Error(
            `entry ${row.entryIndex} holds offsets ${h.baseOffset}.., the snapshot says ${row.baseOffset}..${row.lastOffset}`,
          );
        break;
      }
      // The batch right after its position, if any, continues where it ends.
      if (meta.nextIndex < this.log.nextIndex()) {
        const [next] = await this.log.read(meta.nextIndex, meta.nextIndex + 1, Number.MAX_SAFE_INTEGER);
        if (next === undefined) throw new Error(`entry ${meta.nextIndex} unreadable`);
        if (!isRelocation(next) && readRecordBatchHeader(next, 0).baseOffset !== BigInt(meta.nextOffset))
          throw new Error(`entry ${meta.nextIndex} does not continue at offset ${meta.nextOffset}`);
      }
      const state: LogState = {
        nextOffset: BigInt(meta.nextOffset),
        // Before compaction the first batch kept was where the log started.
        logStartOffset:
          meta.logStartOffset !== undefined
            ? BigInt(meta.logStartOffset)
            : index.length > 0
              ? index.at(0).baseOffset
              : BigInt(meta.nextOffset),
        epochs: meta.epochs,
        maxTimestamp: meta.maxTs,
        producers: meta.producers,
        txns: meta.txns,
        ...(meta.cleaner !== undefined ? { cleaner: meta.cleaner } : {}),
      };
      this.kafka.restore(state, index);
      return meta.nextIndex;
    } catch (e) {
      this.ignoredSnapshot(name, e);
      return undefined;
    }
  }

  private snapshotBytes(): Buffer {
    const s = this.kafka.state();
    const json = Buffer.from(
      JSON.stringify({
        nextIndex: this.log.nextIndex(),
        nextOffset: String(s.nextOffset),
        logStartOffset: String(s.logStartOffset),
        epochs: s.epochs,
        maxTs: s.maxTimestamp,
        producers: s.producers,
        txns: s.txns,
        cleaner: s.cleaner,
      }),
    );
    return encodeSnapshot(json, this.kafka.indexBytes());
  }

  /**
   * Once enough new bytes were appended, an index checkpoint: the state as of now, written once
   * every entry before its position is synced (in the log-start chain: never beside a relocation
   * being written or a prefix being dropped). A failure is logged: the next start scans more.
   */
  private maybeCheckpoint(): void {
    const min = this.options.checkpointIntervalBytes ?? CHECKPOINT_MIN_INTERVAL_BYTES;
    if (this.checkpointing || !checkpointDue(this.bytesSinceCheckpoint, this.lastCheckpointBytes, min))
      return;
    this.checkpointing = true;
    const run = this.logStartMoves
      .then(async () => {
        if (this.closed || this.failure !== null) return;
        const snapshot = this.snapshotBytes();
        this.bytesSinceCheckpoint = 0;
        this.lastCheckpointBytes = snapshot.length;
        await this.log.sync();
        await this.log.writeFile(INDEX_CHECKPOINT_FILE, snapshot);
      })
      .catch((e: unknown) => {
        this.logger.warn(
          { topic: this.topic, partition: this.partition, err: errorText(e) },
          'could not write the index checkpoint',
        );
      })
      .finally(() => {
        this.checkpointing = false;
      });
    this.logStartMoves = run;
  }

  // ---------------------------------------------------------------- append

  append(records: Buffer, acks: Acks, _timeoutMs: number): Promise<AppendResult> {
    try {
      return this.appendNow(records, acks);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private appendNow(records: Buffer, acks: Acks): Promise<AppendResult> {
    this.checkServing();
    this.checkMinInsync(acks);
    const batches = splitAndValidate(records, {
      maxMessageBytes: this.config.maxMessageBytes,
      maxEntryBytes: this.options.maxEntryBytes,
      requireKeys: this.config.compact,
      name: `${this.topic}-${this.partition}`,
    });
    return this.appendBatches(batches, acks);
  }

  /** Appends a transaction marker (acks=all) and resolves with its offset. */
  writeTxnMarker(m: TxnMarker, _timeoutMs: number): Promise<bigint> {
    try {
      this.checkServing();
      this.checkMinInsync(-1);
      return this.appendBatches([markerBatch(m, this.options.nowMs())], -1).then((r) => r.baseOffset);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Every batch is indexed as its write starts: the indexed state is the whole story. */
  hasOngoingTxn(producerId: bigint, producerEpoch: number): boolean {
    const t = txnOf(producerId, this.kafka, NO_INFLIGHT);
    return t.open && t.epoch === producerEpoch;
  }

  /** Decides, indexes and writes validated batches (a Produce partition's, or a marker). */
  private appendBatches(batches: readonly IncomingBatch[], acks: Acks): Promise<AppendResult> {
    const recordCount = recordCountOf(batches);
    // Idempotence and transactions: decide every batch before changing anything (a request's later
    // batches follow its earlier ones).
    const checks = decideBatches(batches, this.kafka, NO_INFLIGHT).map((d) => d.check);
    const appendTime = this.config.logAppendTime ? BigInt(this.options.nowMs()) : undefined;
    const assigned: AssignedBatch[] = [];
    const entries: EntryInput[] = [];
    let firstOffset: bigint | undefined;
    let next = this.kafka.nextOffset;
    let bytes = 0;
    for (let k = 0; k < batches.length; k++) {
      const c = checks[k] as (typeof checks)[number];
      if (c.kind === 'duplicate') {
        firstOffset ??= c.baseOffset;
        continue;
      }
      const a = assignOffsets(batches[k] as (typeof batches)[number], next, this.leaderEpoch, appendTime);
      firstOffset ??= next;
      assigned.push(a);
      entries.push({
        data: a.data,
        timestampMs: a.header.maxTimestamp >= 0n ? Number(a.header.maxTimestamp) : -1,
        crc: entryCrcOf(a.data),
      });
      next += BigInt(a.header.lastOffsetDelta) + 1n;
      bytes += a.data.length;
    }
    const result = (): AppendResult => ({
      baseOffset: firstOffset ?? -1n,
      logAppendTimeMs: appendTime ?? -1n,
      logStartOffset: this.kafka.logStartOffset,
      recordCount,
    });
    // Only duplicates: answered once the originals are as durable as these acks promise.
    if (entries.length === 0)
      return this.tail.then(() => (acks === -1 ? this.sync() : undefined)).then(result);
    // The log assigns entry indexes synchronously; only when it accepted the entries does the
    // partition state change (a rejected append — overload, closed log — leaves it untouched).
    const firstEntry = this.log.nextIndex();
    const written = this.log.append(entries);
    if (this.log.nextIndex() !== firstEntry + entries.length) {
      return written.then(
        () => {
          throw new KafkaError('NOT_ENOUGH_REPLICAS', 'the log did not accept the append');
        },
        (e: unknown) => {
          // Nothing was written: overloaded (REQUEST_TIMED_OUT), closing, or the log has failed.
          throw toKafkaError(e, `${this.topic}-${this.partition}: the log refused the append`);
        },
      );
    }
    try {
      for (let k = 0; k < assigned.length; k++) {
        const a = assigned[k] as AssignedBatch;
        this.kafka.index(a.header, firstEntry + k, a.data);
        this.options.cache.set(this.cacheOwner, firstEntry + k, a.data);
      }
    } catch (e) {
      this.fail(e);
      throw new KafkaError('KAFKA_STORAGE_ERROR', `${this.topic}-${this.partition} stopped: ${errorText(e)}`);
    }
    const end = this.kafka.nextOffset;
    const count = recordCount;
    const step = this.tail.then(() => written);
    this.tail = step.catch(() => undefined);
    return step.then(
      async () => {
        this.kafka.advanceHighWatermark(end);
        this.unflushedMessages += count;
        if (count > 0) this.events.maintenanceDue?.(this);
        this.unflushedBytes += bytes;
        this.bytesSinceCheckpoint += bytes;
        this.maybeCheckpoint();
        const flushMessages = this.config.flushMessages;
        if (acks === -1 || (flushMessages !== undefined && this.unflushedMessages >= flushMessages))
          await this.sync();
        else this.maybeBackgroundSync();
        return result();
      },
      (e: unknown) => {
        // The write failed: the batches are indexed but never readable. Stop the partition.
        this.fail(e);
        throw new KafkaError(
          'KAFKA_STORAGE_ERROR',
          `writing ${this.topic}-${this.partition} failed: ${errorText(e)}`,
          {
            cause: e,
          },
        );
      },
    );
  }

  protected checkServing(): void {
    if (this.failure !== null)
      throw new KafkaError(
        'KAFKA_STORAGE_ERROR',
        `${this.topic}-${this.partition} stopped: ${this.failure.message}`,
      );
    if (this.closed || !this.opened)
      throw new KafkaError('NOT_LEADER_OR_FOLLOWER', `${this.topic}-${this.partition} is not open`);
  }

  // ---------------------------------------------------------------- flush policy

  /**
   * Makes everything written durable (shares the fsync with concurrent callers). A failed sync
   * stops the partition: the log accepts nothing more (an fsync is never retried).
   */
  async sync(): Promise<void> {
    const pending = this.unflushedMessages;
    const pendingBytes = this.unflushedBytes;
    this.lastSyncMs = this.options.nowMs();
    try {
      await this.log.sync();
    } catch (e) {
      if (kafkaErrorName(e) === 'KAFKA_STORAGE_ERROR') this.fail(e);
      throw e;
    }
    this.unflushedMessages = Math.max(0, this.unflushedMessages - pending);
    this.unflushedBytes = Math.max(0, this.unflushedBytes - pendingBytes);
  }

  /** One background sync at a time once flushBackgroundBytes are unflushed; failures are logged (the log then refuses appends). */
  private maybeBackgroundSync(): void {
    const limit = this.config.flushBackgroundBytes;
    if (limit === undefined || this.unflushedBytes < limit || this.backgroundSync !== null) return;
    this.backgroundSync = this.sync()
      .catch((e: unknown) => {
        this.logger.warn(
          { topic: this.topic, partition: this.partition, err: errorText(e) },
          'background flush failed',
        );
      })
      .finally(() => {
        this.backgroundSync = null;
      });
  }

  maintenanceIdle(): boolean {
    return this.closed || this.failure !== null || this.unflushedMessages === 0;
  }

  maintain(nowMs: number): void {
    if (this.closed || this.failure !== null) return;
    if (this.unflushedMessages > 0 && nowMs - this.lastSyncMs >= this.config.flushMs) {
      this.sync().catch((e: unknown) =>
        this.logger.error(
          { topic: this.topic, partition: this.partition, err: errorText(e) },
          'flush failed',
        ),
      );
    }
    if (nowMs - this.lastRetentionMs >= this.options.retentionCheckIntervalMs) {
      this.lastRetentionMs = nowMs;
      this.enforceRetention(nowMs).catch((e: unknown) =>
        this.logger.error(
          { topic: this.topic, partition: this.partition, err: errorText(e) },
          'retention failed',
        ),
      );
    }
  }

  /** Retention by time and size: drops whole batches from the front. Resolves with the new log start. */
  async enforceRetention(nowMs: number): Promise<bigint> {
    const { retentionMs, retentionBytes } = this.config;
    const target = this.kafka.retentionTarget(nowMs, retentionMs, retentionBytes, Number.MAX_SAFE_INTEGER);
    if (target === undefined) return this.kafka.logStartOffset;
    const start = await this.moveLogStart(target);
    this.logger.info(
      { topic: this.topic, partition: this.partition, logStartOffset: String(start) },
      'retention moved the log start offset',
    );
    return start;
  }

  // ---------------------------------------------------------------- reads

  /** Reads entries [from, to] from the log itself, past the cache (the log scrubber). */
  protected async verifyBatches(from: number, to: number, totalBytes: number): Promise<void> {
    let i = from;
    while (i <= to) {
      let got: Buffer[];
      try {
        got = await this.log.read(i, to + 1, totalBytes);
      } catch (e) {
        throw new ReadDamage([], e);
      }
      if (got.length === 0) return;
      i += got.length;
    }
  }

  /** The whole entry at `position` (a relocation entry), from the cache unless `fromStorage`. */
  protected async readEntry(position: number, fromStorage: boolean): Promise<Buffer | undefined> {
    if (!fromStorage) {
      const cached = this.options.cache.get(this.cacheOwner, position);
      if (cached !== undefined) return cached;
    }
    let entry: Buffer | undefined;
    try {
      [entry] = await this.log.read(position, position + 1, Number.MAX_SAFE_INTEGER);
    } catch (e) {
      throw new ReadDamage([], e);
    }
    // Readers of a compacted head take a few batches of it at a time: keep it for the next read.
    if (entry !== undefined && !fromStorage) this.options.cache.set(this.cacheOwner, position, entry);
    return entry;
  }

  /** The batches at entry indexes [from, to]: from the shared cache, runs of misses from the log. */
  protected async readBatches(from: number, to: number, totalBytes: number): Promise<Buffer[]> {
    const out: Buffer[] = [];
    let i = from;
    while (i <= to) {
      const cached = this.options.cache.get(this.cacheOwner, i);
      if (cached !== undefined) {
        out.push(cached);
        i++;
        continue;
      }
      let j = i + 1;
      while (j <= to && !this.options.cache.has(this.cacheOwner, j)) j++;
      let got: Buffer[];
      try {
        got = await this.log.read(i, j, totalBytes);
      } catch {
        // Damaged storage in this run: read it entry by entry, keeping the batches before the damage.
        for (let k = i; k < j; k++) {
          try {
            for (const g of await this.log.read(k, k + 1, totalBytes)) out.push(g);
          } catch (e) {
            throw new ReadDamage(out, e);
          }
        }
        i = j;
        continue;
      }
      for (const g of got) out.push(g);
      if (got.length < j - i) break;
      i = j;
    }
    return out;
  }

  // ---------------------------------------------------------------- log start

  /** DeleteRecords: moves the log start offset to `offset` (-1: the high watermark). */
  async deleteRecords(offset: bigint, _timeoutMs: number): Promise<bigint> {
    this.checkServing();
    return this.moveLogStart(this.kafka.deleteRecordsTarget(offset));
  }

  /**
   * Moves the log start to `target`: checkpointed durably first, then the batches below it leave the
   * index, the cache and the log (whole segments: the log may keep some). One move at a time.
   */
  private moveLogStart(target: bigint): Promise<bigint> {
    const run = this.logStartMoves.then(async () => {
      if (target <= this.kafka.logStartOffset) return this.kafka.logStartOffset;
      await this.log.writeFile(CHECKPOINT_FILE, Buffer.from(`${target}\n`));
      for (const entryIndex of this.kafka.moveLogStart(target))
        this.options.cache.delete(this.cacheOwner, entryIndex);
      await this.dropUnusedPrefix();
      return this.kafka.logStartOffset;
    });
    this.logStartMoves = run.catch(() => undefined);
    return run;
  }

  /**
   * Drops the entries below the first one a live batch is stored in (whole segments: the log may
   * keep some). Once the log holds relocations, a compaction snapshot is written first: the state
   * as of now, synced with every entry before it, so a start replays only what follows it. Runs in
   * the log-start chain (one at a time, never while a relocation is being written).
   */
  private async dropUnusedPrefix(): Promise<void> {
    if (this.kafka.lastRelocationPosition >= 0) {
      const snapshot = this.snapshotBytes();
      await this.log.sync();
      await this.log.writeFile(COMPACTION_SNAPSHOT_FILE, snapshot);
    }
    await this.log.truncatePrefix(this.kafka.minLivePosition() ?? this.log.nextIndex());
  }

  // ---------------------------------------------------------------- log compaction

  protected mayClean(): boolean {
    return this.isLeader();
  }

  protected maxRelocationBytes(): number {
    return this.options.maxEntryBytes;
  }

  /**
   * Appends a relocation entry and applies it once written (its batches are read from the log, not
   * from where a batch write in flight is indexed). In the log-start chain, so that no compaction
   * snapshot is taken while one is being written.
   */
  protected relocate(entry: Buffer): Promise<number | undefined> {
    const run = this.logStartMoves.then(async () => {
      this.checkServing();
      const position = this.log.nextIndex();
      const written = this.log.append([{ data: entry, timestampMs: -1 }]);
      if (this.log.nextIndex() !== position + 1) {
        await written.catch(() => undefined);
        throw new KafkaError(
          'REQUEST_TIMED_OUT',
          `${this.topic}-${this.partition}: the log refused a relocation`,
        );
      }
      try {
        await written;
      } catch (e) {
        this.fail(e);
        throw toKafkaError(e, `${this.topic}-${this.partition}: writing a relocation failed`);
      }
      try {
        return this.kafka.applyRelocation(entry, position) ? position : undefined;
      } catch (e) {
        this.fail(e);
        throw e;
      }
    });
    this.logStartMoves = run.catch(() => undefined);
    return run;
  }

  /** After a pass: the entries it freed leave the log (a compaction snapshot first). */
  protected override afterCleaningPass(): Promise<void> {
    const run = this.logStartMoves.then(() => this.dropUnusedPrefix());
    this.logStartMoves = run.catch(() => undefined);
    return run;
  }

  // ---------------------------------------------------------------- close

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.opened) return;
    await this.tail;
    await this.logStartMoves;
    try {
      await this.log.sync();
      if (this.failure === null) await this.log.writeFile(SNAPSHOT_FILE, this.snapshotBytes());
    } catch (e) {
      this.logger.warn(
        { topic: this.topic, partition: this.partition, err: errorText(e) },
        'could not write the index snapshot',
      );
    }
    await this.log.close();
    this.kafka.wake();
  }
}
