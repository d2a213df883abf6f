// One partition's log: Kafka record batches stored as the producer sent them (offsets assigned by
// rewriting the base offset, partition leader epoch set, log-append time when the topic asks), an
// in-memory offset → entry index so Fetch and ListOffsets never scan, the high watermark, the log
// start offset, the leader-epoch cache and the idempotent-producer state.
//
// Durability: acks=1 resolves once the entry log has written the batch; acks=all once it is
// synced (group commit). flush.messages / flush.ms trigger syncs for the rest (LogManager's timer).
// In one node the high watermark is the log end offset of what has been written.
import fs from 'node:fs';
import path from 'node:path';
import type {
  Acks,
  AppendResult,
  ListOffsetResult,
  ProducerStateView,
  ReadResult,
} from '../cluster/cluster.js';
import { ListOffsetsTimestamp } from '../cluster/cluster.js';
import { writeFileAtomic } from '../datadir.js';
import type { Logger } from '../logger.js';
import type { RecordBatchHeader } from '../protocol.js';
import {
  assignRecordBatch,
  decodeRecordBatch,
  readRecordBatchHeader,
  splitRecordBatches,
  TimestampType,
  validateRecordBatch,
} from '../protocol.js';
import type { EntryInput, EntryLog } from './entry-log.js';
import { BatchCache } from './batch-cache.js';
import { crc32cCombine, crc32cOf } from './crc32c.js';
import { BatchIndex } from './batch-index.js';
import { ProducerStateTable } from './producer-state.js';
import { KafkaError } from '../errors.js';

export interface PartitionLogConfig {
  logAppendTime: boolean;
  maxMessageBytes: number;
  /** -1: no limit. */
  retentionMs: number;
  /** -1: no limit. */
  retentionBytes: number;
  /** Sync after this many unflushed messages; undefined: never by count. */
  flushMessages: number | undefined;
  /** Sync unflushed data at least this often. */
  flushMs: number;
  /**
   * Start a background sync (not awaited by the produce) once this many bytes are unflushed;
   * undefined: never by size. Keeps each fdatasync small: appends that meet a large one in
   * progress wait for it, so flushing a second of data at once stalls producers for tens of ms.
   */
  flushBackgroundBytes?: number | undefined;
}

const CHECKPOINT_FILE = 'log-start-offset';
/** Written on clean shutdown; lets the next start skip reading the whole log. */
const SNAPSHOT_FILE = 'index.snapshot';
const SNAPSHOT_MAGIC = 'CHRKIDX1';
/**
 * A record batch's Kafka CRC covers its bytes from `attributes` (offset 21) to the end; the 21
 * bytes before (base offset, batch length, partition leader epoch, magic, crc) are not covered.
 */
const BATCH_CRC_START = 21;

/**
 * The CRC-32C of a whole (assigned) batch, as its log entry's checksum: the CRC of the 21-byte
 * prefix combined with the batch's own CRC, which was verified on arrival (or recomputed when the
 * broker stamped log-append time) — the batch's bytes are not read a second time.
 */
function entryCrcOf(batch: Buffer): number {
  return crc32cCombine(
    crc32cOf(batch, 0, BATCH_CRC_START),
    batch.readUInt32BE(17),
    batch.length - BATCH_CRC_START,
  );
}

/** Entries read per step during recovery. */
const RECOVERY_READ_BYTES = 4 * 1024 * 1024;

export class PartitionLog {
  private batches = new BatchIndex();
  private nextOffset = 0n;
  private hw = 0n;
  private logStart = 0n;
  private readonly epochs: Array<{ epoch: number; startOffset: bigint }> = [];
  readonly producers = new ProducerStateTable();
  private readonly cacheOwner: number;
  private unflushedMessages = 0;
  private unflushedBytes = 0;
  private backgroundSync: Promise<void> | null = null;
  private lastSyncMs = 0;
  private readonly watchers = new Set<() => void>();
  /** Serializes appends: offsets are assigned in the order writes complete. */
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  private maxTimestampSeen: { timestamp: bigint; baseOffset: bigint } = { timestamp: -1n, baseOffset: -1n };

  private constructor(
    readonly topic: string,
    readonly partition: number,
    readonly dir: string,
    private readonly log: EntryLog,
    public config: PartitionLogConfig,
    private readonly logger: Logger,
    private readonly nowMs: () => number,
    private readonly cache: BatchCache,
  ) {
    this.cacheOwner = cache.owner();
  }

  static async open(args: {
    topic: string;
    partition: number;
    dir: string;
    log: EntryLog;
    config: PartitionLogConfig;
    logger: Logger;
    nowMs: () => number;
    /** Shared cache of recent batches (default: a private 8 MiB one). */
    cache?: BatchCache;
  }): Promise<PartitionLog> {
    const p = new PartitionLog(
      args.topic,
      args.partition,
      args.dir,
      args.log,
      args.config,
      args.logger,
      args.nowMs,
      args.cache ?? new BatchCache(8 * 1024 * 1024),
    );
    await p.recover();
    return p;
  }

  get highWatermark(): bigint {
    return this.hw;
  }
  get logEndOffset(): bigint {
    return this.nextOffset;
  }
  get logStartOffset(): bigint {
    return this.logStart;
  }
  get latestEpoch(): number {
    return this.epochs[this.epochs.length - 1]?.epoch ?? -1;
  }
  /** Bytes of the batches in the log (what retention.bytes counts). */
  sizeBytes(): number {
    return this.batches.totalBytes;
  }

  /**
   * Loads the clean-shutdown snapshot when it describes exactly this log (same next entry index;
   * entries dropped from the front since are dropped from the index too), then removes it, so a
   * later crash never meets a stale one. Anything else: the log is read from the start.
   */
  private loadSnapshot(): boolean {
    const file = path.join(this.dir, SNAPSHOT_FILE);
    let raw: Buffer;
    try {
      raw = fs.readFileSync(file);
    } catch {
      return false;
    }
    try {
      fs.rmSync(file, { force: true });
      if (raw.subarray(0, 8).toString('latin1') !== SNAPSHOT_MAGIC) throw new Error('bad magic');
      const jsonBytes = raw.readUInt32BE(8);
      const meta = JSON.parse(raw.subarray(12, 12 + jsonBytes).toString('utf8')) as {
        nextIndex: number;
        nextOffset: string;
        epochs: Array<[number, string]>;
        maxTs: [string, string];
        producers: unknown;
      };
      if (meta.nextIndex !== this.log.nextIndex()) return false;
      const batches = BatchIndex.fromBuffer(raw.subarray(12 + jsonBytes));
      let stale = 0;
      while (stale < batches.length && batches.entryIndexAt(stale) < this.log.firstIndex()) stale++;
      batches.dropFront(stale);
      this.producers.load(meta.producers);
      this.batches = batches;
      this.nextOffset = BigInt(meta.nextOffset);
      this.epochs.length = 0;
      for (const [epoch, start] of meta.epochs) this.epochs.push({ epoch, startOffset: BigInt(start) });
      this.maxTimestampSeen = { timestamp: BigInt(meta.maxTs[0]), baseOffset: BigInt(meta.maxTs[1]) };
      return true;
    } catch (e) {
      this.logger.warn(
        { topic: this.topic, partition: this.partition, err: e instanceof Error ? e.message : String(e) },
        'ignoring unreadable index snapshot',
      );
      this.batches = new BatchIndex();
      this.producers.load([]);
      this.epochs.length = 0;
      this.nextOffset = 0n;
      return false;
    }
  }

  private writeSnapshot(): void {
    const json = Buffer.from(
      JSON.stringify({
        nextIndex: this.log.nextIndex(),
        nextOffset: String(this.nextOffset),
        epochs: this.epochs.map((e) => [e.epoch, String(e.startOffset)]),
        maxTs: [String(this.maxTimestampSeen.timestamp), String(this.maxTimestampSeen.baseOffset)],
        producers: this.producers.toJSON(),
      }),
    );
    const head = Buffer.alloc(12);
    head.write(SNAPSHOT_MAGIC, 0, 'latin1');
    head.writeUInt32BE(json.length, 8);
    writeFileAtomic(path.join(this.dir, SNAPSHOT_FILE), Buffer.concat([head, json, this.batches.toBuffer()]));
  }

  private async recover(): Promise<void> {
    const checkpoint = this.readCheckpoint();
    const fromSnapshot = this.loadSnapshot();
    let i = fromSnapshot ? this.log.nextIndex() : this.log.firstIndex();
    const end = this.log.nextIndex();
    while (i < end) {
      const entries = await this.log.read(i, end, RECOVERY_READ_BYTES);
      if (entries.length === 0) break;
      for (const data of entries) {
        const h = readRecordBatchHeader(data, 0);
        this.index(h, i, data.length);
        this.producers.update(h, h.baseOffset);
        i++;
      }
    }
    const first = this.batches.length > 0 ? this.batches.at(0) : undefined;
    this.logStart = first ? (checkpoint > first.baseOffset ? checkpoint : first.baseOffset) : checkpoint;
    if (this.batches.length === 0) this.nextOffset = checkpoint;
    this.hw = this.nextOffset;
    this.lastSyncMs = this.nowMs();
    if (this.batches.length > 0) {
      this.logger.info(
        {
          topic: this.topic,
          partition: this.partition,
          batches: this.batches.length,
          logStartOffset: String(this.logStart),
          logEndOffset: String(this.nextOffset),
          from: fromSnapshot ? 'snapshot' : 'log',
        },
        'partition recovered',
      );
    }
  }

  private readCheckpoint(): bigint {
    try {
      const text = fs.readFileSync(path.join(this.dir, CHECKPOINT_FILE), 'utf8').trim();
      return /^\d+$/.test(text) ? BigInt(text) : 0n;
    } catch {
      return 0n;
    }
  }

  private writeCheckpoint(): void {
    fs.mkdirSync(this.dir, { recursive: true });
    writeFileAtomic(path.join(this.dir, CHECKPOINT_FILE), `${this.logStart}\n`);
  }

  private index(h: RecordBatchHeader, entryIndex: number, bytes: number): void {
    const lastOffset = h.baseOffset + BigInt(h.lastOffsetDelta);
    this.batches.push({
      entryIndex,
      baseOffset: h.baseOffset,
      lastOffset,
      maxTimestamp: h.maxTimestamp,
      epoch: h.partitionLeaderEpoch,
      bytes,
    });
    this.nextOffset = lastOffset + 1n;
    const lastEpoch = this.epochs[this.epochs.length - 1];
    if (lastEpoch === undefined || h.partitionLeaderEpoch > lastEpoch.epoch)
      this.epochs.push({ epoch: h.partitionLeaderEpoch, startOffset: h.baseOffset });
    if (h.maxTimestamp > this.maxTimestampSeen.timestamp)
      this.maxTimestampSeen = { timestamp: h.maxTimestamp, baseOffset: h.baseOffset };
  }

  /**
   * Validates and appends the batches of one Produce partition. Duplicates of recent batches of an
   * idempotent producer are answered with the original offsets and not appended again.
   */
  append(records: Buffer, acks: Acks, leaderEpoch: number): Promise<AppendResult> {
    try {
      return this.appendNow(records, acks, leaderEpoch);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private appendNow(records: Buffer, acks: Acks, leaderEpoch: number): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new KafkaError('NOT_LEADER_OR_FOLLOWER', 'partition is closed'));
    const slices = splitRecordBatches(records);
    if (slices.length === 0)
      return Promise.reject(new KafkaError('CORRUPT_MESSAGE', 'produce request without record batches'));
    const headers: RecordBatchHeader[] = [];
    for (const s of slices) {
      if (s.bytes.length > this.config.maxMessageBytes) {
        return Promise.reject(
          new KafkaError(
            'MESSAGE_TOO_LARGE',
            `record batch of ${s.bytes.length} bytes exceeds max.message.bytes ${this.config.maxMessageBytes}`,
          ),
        );
      }
      headers.push(validateRecordBatch(s.bytes));
    }
    // Idempotence: decide for every batch before changing anything.
    const checks = headers.map((h) => this.producers.check(h));
    const firstCheck = checks[0];
    if (firstCheck !== undefined && firstCheck.kind === 'duplicate' && checks.length === 1) {
      return Promise.resolve({
        baseOffset: firstCheck.baseOffset,
        logAppendTimeMs: -1n,
        logStartOffset: this.logStart,
      });
    }
    const now = BigInt(this.nowMs());
    const entries: EntryInput[] = [];
    const assigned: RecordBatchHeader[] = [];
    let next = this.nextOffset;
    let count = 0;
    let bytes = 0;
    for (let k = 0; k < slices.length; k++) {
      const s = slices[k] as (typeof slices)[number];
      const h = headers[k] as RecordBatchHeader;
      if ((checks[k] as { kind: string }).kind === 'duplicate') continue;
      const data = assignRecordBatch(s.bytes, {
        baseOffset: next,
        partitionLeaderEpoch: leaderEpoch,
        ...(this.config.logAppendTime ? { logAppendTimeMs: now } : {}),
      });
      const a: RecordBatchHeader = {
        ...h,
        baseOffset: next,
        partitionLeaderEpoch: leaderEpoch,
        ...(this.config.logAppendTime
          ? { maxTimestamp: now, timestampType: TimestampType.LogAppendTime }
          : {}),
      };
      assigned.push(a);
      entries.push({
        data,
        timestampMs: a.maxTimestamp >= 0n ? Number(a.maxTimestamp) : -1,
        crc: entryCrcOf(data),
      });
      next += BigInt(h.lastOffsetDelta) + 1n;
      count += h.recordCount;
      bytes += data.length;
    }
    if (entries.length === 0) {
      const dup = checks.find((c) => c.kind === 'duplicate');
      return Promise.resolve({
        baseOffset: dup?.kind === 'duplicate' ? dup.baseOffset : -1n,
        logAppendTimeMs: -1n,
        logStartOffset: this.logStart,
      });
    }
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
          throw new KafkaError(
            'REQUEST_TIMED_OUT',
            `the log rejected the append: ${e instanceof Error ? e.message : String(e)}`,
            { cause: e },
          );
        },
      );
    }
    for (let k = 0; k < assigned.length; k++) {
      const a = assigned[k] as RecordBatchHeader;
      const e = entries[k] as { data: Buffer };
      this.index(a, firstEntry + k, e.data.length);
      this.producers.update(a, a.baseOffset);
      this.cache.set(this.cacheOwner, firstEntry + k, e.data);
    }
    const baseOffset = (assigned[0] as RecordBatchHeader).baseOffset;
    const lastOffset = this.nextOffset;
    const step = this.tail.then(() => written);
    this.tail = step.catch(() => undefined);
    return step.then(async () => {
      if (lastOffset > this.hw) this.hw = lastOffset;
      this.unflushedMessages += count;
      this.unflushedBytes += bytes;
      this.wake();
      const flushMessages = this.config.flushMessages;
      if (acks === -1 || (flushMessages !== undefined && this.unflushedMessages >= flushMessages))
        await this.sync();
      else this.maybeBackgroundSync();
      return {
        baseOffset,
        logAppendTimeMs: this.config.logAppendTime ? now : -1n,
        logStartOffset: this.logStart,
      };
    });
  }

  /** Makes everything written durable (shares the fsync with concurrent callers). */
  async sync(): Promise<void> {
    const pending = this.unflushedMessages;
    const pendingBytes = this.unflushedBytes;
    this.lastSyncMs = this.nowMs();
    await this.log.sync();
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
          { topic: this.topic, partition: this.partition, err: e instanceof Error ? e.message : String(e) },
          'background flush failed',
        );
      })
      .finally(() => {
        this.backgroundSync = null;
      });
  }

  /** Syncs when flush.ms has passed with unflushed data. Called by the LogManager timer. */
  async maybeFlush(nowMs: number): Promise<void> {
    if (this.unflushedMessages > 0 && nowMs - this.lastSyncMs >= this.config.flushMs) await this.sync();
  }

  private wake(): void {
    if (this.watchers.size === 0) return;
    const ws = [...this.watchers];
    this.watchers.clear();
    for (const w of ws) w();
  }

  /** `onData` runs once, at the next append (or close). Returns a cancel function. */
  watch(onData: () => void): () => void {
    this.watchers.add(onData);
    return () => this.watchers.delete(onData);
  }

  private findBatch(offset: bigint): number {
    return this.batches.findByOffset(offset);
  }

  private async entries(from: number, to: number, maxBytes: number): Promise<Buffer[]> {
    const out: Buffer[] = [];
    let bytes = 0;
    let i = from;
    while (i < to) {
      const metaBytes = this.batches.bytesAt(i);
      if (out.length > 0 && bytes + metaBytes > maxBytes) break;
      const cached = this.cache.get(this.cacheOwner, this.batches.entryIndexAt(i));
      if (cached !== undefined) {
        out.push(cached);
        bytes += cached.length;
        i++;
        continue;
      }
      // Read a run of uncached batches from the log in one call.
      let j = i;
      let runBytes = 0;
      while (
        j < to &&
        !this.cache.has(this.cacheOwner, this.batches.entryIndexAt(j)) &&
        (j === i || bytes + runBytes + this.batches.bytesAt(j) <= maxBytes)
      ) {
        runBytes += this.batches.bytesAt(j);
        j++;
      }
      const first = this.batches.entryIndexAt(i);
      const got = await this.log.read(
        first,
        this.batches.entryIndexAt(j - 1) + 1,
        Math.max(1, maxBytes - bytes),
      );
      if (got.length === 0) break;
      for (const g of got) {
        out.push(g);
        bytes += g.length;
      }
      i += got.length;
      if (got.length < j - i + got.length) break;
    }
    return out;
  }

  /** Whole batches from fetchOffset up to the high watermark, within maxBytes (first batch always whole). */
  async read(fetchOffset: bigint, maxBytes: number): Promise<ReadResult> {
    const base = {
      highWatermark: this.hw,
      lastStableOffset: this.hw,
      logStartOffset: this.logStart,
      leaderEpoch: this.latestEpoch,
    };
    if (fetchOffset < this.logStart || fetchOffset > this.hw) {
      throw new KafkaError(
        'OFFSET_OUT_OF_RANGE',
        `offset ${fetchOffset} is outside [${this.logStart}, ${this.hw}]`,
      );
    }
    if (fetchOffset === this.hw) return { ...base, chunks: [], bytes: 0 };
    const from = this.findBatch(fetchOffset);
    // The high watermark is always at a batch boundary: the batches before it are those whose last offset is below it.
    const to = this.findBatch(this.hw);
    const chunks = await this.entries(from, to, maxBytes);
    let bytes = 0;
    for (const c of chunks) bytes += c.length;
    return { ...base, chunks, bytes };
  }

  async listOffset(timestamp: bigint): Promise<ListOffsetResult> {
    const epoch = this.latestEpoch;
    if (timestamp === ListOffsetsTimestamp.LATEST)
      return { offset: this.hw, timestamp: -1n, leaderEpoch: epoch };
    if (timestamp === ListOffsetsTimestamp.EARLIEST || timestamp === ListOffsetsTimestamp.EARLIEST_LOCAL) {
      return { offset: this.logStart, timestamp: -1n, leaderEpoch: this.epochAt(this.logStart) };
    }
    if (timestamp === ListOffsetsTimestamp.MAX_TIMESTAMP) {
      if (this.batches.length === 0 || this.maxTimestampSeen.baseOffset < this.logStart)
        return { offset: -1n, timestamp: -1n, leaderEpoch: -1 };
      const i = this.findBatch(this.maxTimestampSeen.baseOffset);
      const found = await this.recordAtOrAfter(i, this.maxTimestampSeen.timestamp, true);
      return (
        found ?? {
          offset: this.maxTimestampSeen.baseOffset,
          timestamp: this.maxTimestampSeen.timestamp,
          leaderEpoch: this.epochAt(this.maxTimestampSeen.baseOffset),
        }
      );
    }
    if (timestamp < 0n)
      throw new KafkaError('INVALID_REQUEST', `unsupported ListOffsets timestamp ${timestamp}`);
    for (let i = this.findBatch(this.logStart); i < this.batches.length; i++) {
      const b = this.batches.at(i);
      if (b.baseOffset >= this.hw) break;
      if (b.maxTimestamp >= timestamp) {
        const found = await this.recordAtOrAfter(i, timestamp, false);
        if (found) return found;
      }
    }
    return { offset: -1n, timestamp: -1n, leaderEpoch: -1 };
  }

  /** The first record of batch i with timestamp >= ts (or == ts when exact). */
  private async recordAtOrAfter(
    i: number,
    ts: bigint,
    exact: boolean,
  ): Promise<ListOffsetResult | undefined> {
    const b = this.batches.at(i);
    const [data] = await this.entries(i, i + 1, b.bytes);
    if (data === undefined) return undefined;
    const decoded = decodeRecordBatch(data);
    for (const r of decoded.records) {
      const offset = r.offset;
      const t = r.timestampMs;
      if (offset < this.logStart) continue;
      if (exact ? t === ts : t >= ts) return { offset, timestamp: t, leaderEpoch: b.epoch };
    }
    return undefined;
  }

  private epochAt(offset: bigint): number {
    let e = -1;
    for (const x of this.epochs) if (x.startOffset <= offset) e = x.epoch;
    return e;
  }

  /** Kafka's OffsetForLeaderEpoch: the end offset of `epoch` (start of the next one, or the LEO). */
  offsetForLeaderEpoch(epoch: number): { leaderEpoch: number; endOffset: bigint } {
    const latest = this.epochs[this.epochs.length - 1];
    if (latest === undefined) return { leaderEpoch: epoch, endOffset: this.nextOffset };
    if (epoch >= latest.epoch) return { leaderEpoch: latest.epoch, endOffset: this.nextOffset };
    let found = -1;
    for (let k = 0; k < this.epochs.length; k++)
      if ((this.epochs[k] as { epoch: number }).epoch <= epoch) found = k;
    if (found < 0) return { leaderEpoch: -1, endOffset: -1n };
    const next = this.epochs[found + 1] as { startOffset: bigint };
    return { leaderEpoch: (this.epochs[found] as { epoch: number }).epoch, endOffset: next.startOffset };
  }

  /** DeleteRecords: moves the log start offset to `offset` (-1: the high watermark). */
  async deleteRecords(offset: bigint): Promise<bigint> {
    const target = offset === -1n ? this.hw : offset;
    if (target < 0n || target > this.hw)
      throw new KafkaError('OFFSET_OUT_OF_RANGE', `offset ${offset} is beyond the high watermark ${this.hw}`);
    if (target > this.logStart) {
      this.logStart = target;
      this.writeCheckpoint();
      await this.dropBatchesBelow(target);
    }
    return this.logStart;
  }

  private async dropBatchesBelow(offset: bigint): Promise<void> {
    const n = this.findBatch(offset);
    if (n === 0) return;
    for (const entryIndex of this.batches.dropFront(n)) this.cache.delete(this.cacheOwner, entryIndex);
    const firstKept = this.batches.length > 0 ? this.batches.entryIndexAt(0) : this.log.nextIndex();
    await this.log.truncatePrefix(firstKept);
  }

  /** Retention by time and size: drops whole batches from the front. Returns how many were dropped. */
  async enforceRetention(nowMs: number): Promise<number> {
    const { retentionMs, retentionBytes } = this.config;
    let n = 0;
    let total = this.batches.totalBytes;
    const hw = Number(this.hw);
    while (n < this.batches.length) {
      if (this.batches.lastOffsetAt(n) >= hw) break;
      const ts = this.batches.maxTimestampAt(n);
      const tooOld = retentionMs >= 0 && ts >= 0 && ts < nowMs - retentionMs;
      const tooBig = retentionBytes >= 0 && total > retentionBytes;
      if (!tooOld && !tooBig) break;
      total -= this.batches.bytesAt(n);
      n++;
    }
    if (n === 0) return 0;
    const newStart = BigInt(this.batches.lastOffsetAt(n - 1)) + 1n;
    if (newStart > this.logStart) {
      this.logStart = newStart;
      this.writeCheckpoint();
    }
    await this.dropBatchesBelow(newStart);
    this.logger.info(
      { topic: this.topic, partition: this.partition, batches: n, logStartOffset: String(this.logStart) },
      'retention dropped batches',
    );
    return n;
  }

  describeProducers(): ProducerStateView[] {
    return this.producers.describe();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail;
    await this.log.sync();
    try {
      fs.mkdirSync(this.dir, { recursive: true });
      this.writeSnapshot();
    } catch (e) {
      this.logger.warn(
        { topic: this.topic, partition: this.partition, err: e instanceof Error ? e.message : String(e) },
        'could not write the index snapshot',
      );
    }
    await this.log.close();
    this.wake();
  }
}
