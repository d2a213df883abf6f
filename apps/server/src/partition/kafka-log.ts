// The Kafka log of one partition as both replication strategies keep it: an index of the stored
// record batches (offset → position in the underlying log), the high watermark, the log start offset,
// the leader-epoch cache, the largest timestamp, the idempotent-producer state and the transactions
// (txn-state.ts: open ones, the last stable offset, the aborted-transaction index) — and the reads
// Kafka defines on them (Fetch, ListOffsets, OffsetForLeaderEpoch; read_committed up to the last
// stable offset) and retention's choice of a new log start. Where the batches live is the strategy's
// business, behind a BatchReader: the WAL of this node (positions = WAL entry indexes) or a Raft
// group's log (positions = Raft indexes).
//
// Log compaction (docs/design/compaction.md) reaches the index through relocation entries
// (relocation.ts, applyRelocation): a batch the cleaner rewrote is read from inside the relocation
// entry that holds it, a batch it removed leaves a gap in the offsets. Offsets never change.
//
// Invariants (checked where they change; a violation throws InvariantError and the partition stops):
// - appended batches are in offset order and contiguous: each starts where the previous ended, at
//   `nextOffset` (compaction may later remove some: the index keeps offset order, with gaps);
// - logStartOffset <= lastStableOffset <= highWatermark <= nextOffset;
// - every batch with an offset at or above the log start is indexed, unless the cleaner removed it.
import type { RecordBatchHeader } from '@chronik/protocol';
import { decodeRecordBatch, readRecordBatchHeader } from '@chronik/protocol';
import { KafkaError } from '../errors.js';
import { BatchIndex } from './batch-index.js';
import { LeaderEpochCache } from './leader-epochs.js';
import { ProducerStateTable } from './producer-state.js';
import { decodeRelocation } from './relocation.js';
import { TxnState, readMarker } from './txn-state.js';
import type {
  AbortedTransaction,
  EpochEndOffset,
  IsolationLevel,
  ListOffsetResult,
  ProducerStateView,
} from './types.js';
import { ListOffsetsTimestamp } from './types.js';

/** Reads stored batches by position (the strategy's storage). */
export interface BatchReader {
  /**
   * The batches stored at positions [from, to] (both inclusive; entries between them that are not
   * batches are skipped), in position order. `totalBytes` is the sum of their sizes as indexed.
   */
  readBatches(from: number, to: number, totalBytes: number): Promise<Buffer[]> | Buffer[];
  /**
   * Reads the batches at positions [from, to] from storage itself (no cache) to check them; throws
   * ReadDamage at damaged storage. The log scrubber's read.
   */
  verifyBatches(from: number, to: number, totalBytes: number): Promise<void> | void;
  /**
   * The whole entry at `position` (a relocation entry, whose batches the index addresses by byte
   * offset), or undefined when the log no longer holds it; `fromStorage`: past any cache (the log
   * scrubber). Throws ReadDamage at damaged storage.
   */
  readEntry(position: number, fromStorage: boolean): Promise<Buffer | undefined> | Buffer | undefined;
}

/**
 * A read that stopped at damaged storage (a corrupt record, an I/O error): the batches read before
 * the damage, in order, and the storage's error as `cause`. BatchReaders throw it.
 */
export class ReadDamage extends Error {
  constructor(
    readonly batches: Buffer[],
    cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'ReadDamage';
  }
}

/** A broken invariant of a partition's log: the partition must stop instead of serving on. */
export class InvariantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvariantError';
  }
}

/** The small state of a log, without its batch index (which is rebuilt from the stored batches). */
export interface LogState {
  /** Next offset (one past the last batch). */
  nextOffset: bigint;
  logStartOffset: bigint;
  epochs: Array<[number, string]>;
  maxTimestamp: [string, string];
  producers: unknown;
  /** The transactions (TxnState.toJSON); absent in state saved before transactions. */
  txns?: unknown;
  /** The cleaner's state (absent in state saved before compaction: nothing cleaned). */
  cleaner?: CleanerState;
}

/** What a log keeps of its cleaning (docs/design/compaction.md). */
export interface CleanerState {
  /** The offset the last finished cleaning pass cleaned up to: the first dirty offset. */
  dirty: string;
  /** The position of the last relocation entry applied (-1: none). */
  last: number;
}

/**
 * One read of readRows: entries [position, to] holding `rows` batches of `bytes` bytes, or (with
 * `slices`) the relocation entry at `position` and the [inner, bytes] of each batch wanted in it.
 */
interface ReadSpan {
  position: number;
  to: number;
  rows: number;
  bytes: number;
  slices?: Array<[number, number]>;
}

const NO_MAX_TIMESTAMP = { timestamp: -1n, baseOffset: -1n };

export class KafkaLog {
  private batches = new BatchIndex();
  private readonly epochs = new LeaderEpochCache();
  readonly txns = new TxnState();
  readonly producers = new ProducerStateTable(100_000, (id) => this.txns.isOpen(id));
  private maxTimestamp: { timestamp: bigint; baseOffset: bigint } = NO_MAX_TIMESTAMP;
  private start = 0n;
  private next = 0n;
  private hw = 0n;
  /** The first offset no cleaning pass has cleaned (below it every key appears at most once). */
  private cleanedTo = 0n;
  /** The position of the last relocation entry applied, -1 when none was. */
  private lastRelocation = -1;
  private readonly watchers = new Set<() => void>();

  /** `name` (topic-partition) appears in error messages. */
  constructor(
    private readonly reader: BatchReader,
    readonly name: string,
  ) {}

  get logStartOffset(): bigint {
    return this.start;
  }
  /** One past the last indexed batch. */
  get nextOffset(): bigint {
    return this.next;
  }
  get highWatermark(): bigint {
    return this.hw;
  }
  /**
   * The last stable offset: the first offset of the oldest open transaction (or one whose marker is
   * not yet below the high watermark), at most the high watermark, at least the log start.
   */
  get lastStableOffset(): bigint {
    const first = this.txns.firstUnstableOffset();
    if (first === undefined || first >= this.hw) return this.hw;
    return first < this.start ? this.start : first;
  }
  get batchCount(): number {
    return this.batches.liveCount;
  }
  /** The first dirty offset: where the next cleaning pass builds its key map from. */
  get firstDirtyOffset(): bigint {
    return this.cleanedTo > this.start ? this.cleanedTo : this.start;
  }
  /** The position of the last relocation entry applied (-1: none); a relocation names it as `prev`. */
  get lastRelocationPosition(): number {
    return this.lastRelocation;
  }
  /** The index itself, for the cleaner (partition/cleaner.ts), which reads it and never changes it. */
  get batchIndex(): BatchIndex {
    return this.batches;
  }
  /** Bytes of the indexed batches. */
  get sizeBytes(): number {
    return this.batches.totalBytes;
  }
  /**
   * The smallest position a live batch is stored at, or undefined when none is: the log may drop
   * every entry below it. Without relocations, the first batch's; otherwise a scan of the index.
   */
  minLivePosition(): number | undefined {
    return this.batches.minEntryIndex();
  }
  get latestEpoch(): number {
    return this.epochs.latest;
  }

  /** An empty log whose next offset (and log start, and high watermark) is `offset`. */
  startAt(offset: bigint): void {
    if (!(this.batches.length === 0))
      this.violated(`${this.name}: startAt(${offset}) on a log holding batches`);
    this.start = offset;
    this.next = offset;
    this.hw = offset;
  }

  /**
   * Indexes the batch `data` stored at `position` (its header `h` carries its assigned offsets) and
   * records it in the leader-epoch cache, the largest timestamp, the producer state and the
   * transactions (a transactional batch opens its producer's transaction, a marker closes it). Its
   * offsets must follow the previous batch's; a malformed marker throws before anything changes.
   */
  index(h: RecordBatchHeader, position: number, data: Buffer): void {
    if (!(h.baseOffset === this.next))
      this.violated(
        `${this.name}: batch at position ${position} starts at offset ${h.baseOffset}, expected ${this.next}`,
      );
    const marker = h.isControl ? readMarker(h, data) : undefined;
    const bytes = data.length;
    const lastOffset = h.baseOffset + BigInt(h.lastOffsetDelta);
    // After a snapshot restore, batches wholly below the log start are re-read for their state only.
    if (lastOffset >= this.start) {
      this.batches.push({
        entryIndex: position,
        inner: 0,
        baseOffset: h.baseOffset,
        lastOffset,
        maxTimestamp: h.maxTimestamp,
        epoch: h.partitionLeaderEpoch,
        bytes,
      });
    }
    this.next = lastOffset + 1n;
    this.epochs.record(h.partitionLeaderEpoch, h.baseOffset);
    if (h.maxTimestamp > this.maxTimestamp.timestamp)
      this.maxTimestamp = { timestamp: h.maxTimestamp, baseOffset: h.baseOffset };
    if (marker !== undefined) {
      this.producers.onMarker(h.producerId, h.producerEpoch, marker.coordinatorEpoch, h.maxTimestamp);
      this.txns.onMarker(h.producerId, marker.commit, h.baseOffset, this.start);
    } else if (!h.isControl) {
      if (h.isTransactional && h.producerId >= 0n) this.txns.onTransactionalBatch(h.producerId, h.baseOffset);
      this.producers.update(h, h.baseOffset);
    }
  }

  /** Moves the high watermark forward to `offset` (at most the next offset) and wakes watchers. */
  advanceHighWatermark(offset: bigint): void {
    if (!(offset <= this.next))
      this.violated(`${this.name}: high watermark ${offset} beyond the log end ${this.next}`);
    if (offset <= this.hw) return;
    this.hw = offset;
    this.txns.onHighWatermark(offset);
    this.wake();
  }

  /**
   * Moves the log start offset to `target` (at most the high watermark) and drops the batches wholly
   * below it, and the aborted transactions whose marker is below it. Returns the positions of the
   * dropped batches, or [] when the log start did not move.
   */
  moveLogStart(target: bigint): number[] {
    const bounded = target > this.hw ? this.hw : target;
    if (bounded <= this.start) return [];
    this.start = bounded;
    this.txns.dropBelow(bounded);
    return this.batches.dropFront(this.batches.findByOffset(bounded));
  }

  /**
   * Applies the relocation entry `entry`, stored at `position` (relocation.ts): when the last
   * relocation applied is the one it names (`prev`), each batch in it replaces the batch with its
   * base offset (added when the index has none: a replay after a restart), each removal removes
   * one (and the aborted transaction its marker ended), batches wholly below the log start are
   * skipped, and a pass's last entry moves the first dirty offset. Returns false, changing nothing,
   * for a stale entry (another relocation was applied since its view was taken). A malformed entry
   * throws InvariantError.
   */
  applyRelocation(entry: Buffer, position: number): boolean {
    let cmd;
    try {
      cmd = decodeRelocation(entry);
    } catch (e) {
      this.violated(`${this.name}: relocation entry at position ${position}: ${(e as Error).message}`);
    }
    if (cmd.prev !== this.lastRelocation) return false;
    const heads = cmd.batches.map((b) => {
      if (b.length === 0) return undefined;
      const h = readRecordBatchHeader(entry, b.inner);
      if (!(h.baseOffset === b.baseOffset && 12 + h.batchLength === b.length))
        this.violated(
          `${this.name}: relocation entry at position ${position} holds a batch at ${h.baseOffset} as ${b.baseOffset}`,
        );
      return h;
    });
    this.lastRelocation = position;
    for (let k = 0; k < cmd.batches.length; k++) {
      const b = cmd.batches[k] as (typeof cmd.batches)[number];
      const h = heads[k];
      if (h === undefined) {
        this.batches.remove(b.baseOffset);
        this.txns.dropAbortedMarker(b.baseOffset);
        continue;
      }
      const lastOffset = h.baseOffset + BigInt(h.lastOffsetDelta);
      if (lastOffset < this.start) continue;
      this.batches.upsert({
        entryIndex: position,
        inner: b.inner,
        baseOffset: h.baseOffset,
        lastOffset,
        maxTimestamp: h.maxTimestamp,
        epoch: h.partitionLeaderEpoch,
        bytes: b.length,
      });
    }
    if (cmd.passEnd >= 0n) this.cleanedTo = cmd.passEnd;
    return true;
  }

  /** DeleteRecords' new log start: `offset`, or the high watermark for -1; OFFSET_OUT_OF_RANGE beyond it. */
  deleteRecordsTarget(offset: bigint): bigint {
    const target = offset === -1n ? this.hw : offset;
    if (target < 0n || target > this.hw)
      throw new KafkaError(
        'OFFSET_OUT_OF_RANGE',
        `${this.name}: offset ${offset} is beyond the high watermark ${this.hw}`,
      );
    return target;
  }

  // ---------------------------------------------------------------- reads

  /** The offset reads of `isolationLevel` stop at: the high watermark, or the last stable offset. */
  readLimit(isolationLevel: IsolationLevel): bigint {
    return isolationLevel === 1 ? this.lastStableOffset : this.hw;
  }

  /**
   * See Partition.read: `logEndOffset` bounds the valid range, the high watermark (read_committed:
   * the last stable offset) what is returned.
   */
  async read(
    fetchOffset: bigint,
    maxBytes: number,
    minOneBatch: boolean,
    logEndOffset: bigint,
    isolationLevel: IsolationLevel = 0,
  ): Promise<Buffer[]> {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0)
      throw new KafkaError('INVALID_REQUEST', `${this.name}: read of ${maxBytes} bytes`);
    if (fetchOffset < this.start || fetchOffset > logEndOffset) {
      throw new KafkaError(
        'OFFSET_OUT_OF_RANGE',
        `${this.name}: offset ${fetchOffset} is outside [${this.start}, ${logEndOffset}]`,
      );
    }
    const limit = this.readLimit(isolationLevel);
    if (fetchOffset >= limit) return [];
    // The batch holding the offset, or the next one kept when the cleaner removed it.
    const b = this.batches;
    const from = b.nextLive(b.findByOffset(fetchOffset));
    // The limit is at a batch boundary (the high watermark, or the first batch of a transaction):
    // the batches before it are those ending below it.
    const to = b.findByOffset(limit);
    if (from >= to) return [];
    // As many whole batches as fit in maxBytes; the first one even when larger if minOneBatch
    // (Kafka's minOneMessage), otherwise nothing.
    let last = from;
    let bytes = b.bytesAt(from);
    if (bytes > maxBytes && !minOneBatch) return [];
    for (let k = b.nextLive(from + 1); k < to && bytes + b.bytesAt(k) <= maxBytes; k = b.nextLive(k + 1)) {
      last = k;
      bytes += b.bytesAt(k);
    }
    return this.readRows(from, last, false);
  }

  /**
   * The live batches of rows [from, last], in offset order: runs of batches stored at consecutive
   * positions in one read, batches inside a relocation entry sliced out of it. The reads are planned
   * before the first one starts (the index may change while they wait). Stops early (fewer batches)
   * where the log no longer holds a batch; `verify`: read from storage to check them, returning
   * nothing. A ReadDamage carries every batch read before the damage.
   */
  async readRows(from: number, last: number, verify: boolean): Promise<Buffer[]> {
    const spans = this.planReads(from, last);
    const out: Buffer[] = [];
    try {
      for (const s of spans) {
        if (s.slices === undefined) {
          if (verify) await this.reader.verifyBatches(s.position, s.to, s.bytes);
          else {
            const got = await this.reader.readBatches(s.position, s.to, s.bytes);
            for (const g of got) out.push(g);
            if (got.length < s.rows) return out;
          }
          continue;
        }
        const entry = await this.reader.readEntry(s.position, verify);
        if (entry === undefined) return out;
        if (!verify) for (const [inner, bytes] of s.slices) out.push(entry.subarray(inner, inner + bytes));
      }
    } catch (e) {
      if (e instanceof ReadDamage && out.length > 0) throw new ReadDamage([...out, ...e.batches], e.cause);
      throw e;
    }
    return out;
  }

  /** The reads that get the live batches of rows [from, last] (see readRows). */
  private planReads(from: number, last: number): ReadSpan[] {
    const b = this.batches;
    const end = Math.min(last + 1, b.length);
    const spans: ReadSpan[] = [];
    let i = b.nextLive(from);
    while (i < end) {
      const position = b.entryIndexAt(i);
      if (b.innerAt(i) === 0) {
        let to = position;
        let rows = 1;
        let bytes = b.bytesAt(i);
        let k = b.nextLive(i + 1);
        while (k < end && b.innerAt(k) === 0 && b.entryIndexAt(k) === to + 1) {
          to++;
          rows++;
          bytes += b.bytesAt(k);
          k = b.nextLive(k + 1);
        }
        spans.push({ position, to, rows, bytes });
        i = k;
        continue;
      }
      const slices: Array<[number, number]> = [];
      while (i < end && b.innerAt(i) > 0 && b.entryIndexAt(i) === position) {
        slices.push([b.innerAt(i), b.bytesAt(i)]);
        i = b.nextLive(i + 1);
      }
      spans.push({ position, to: position, rows: slices.length, bytes: 0, slices });
    }
    return spans;
  }

  /**
   * Checks the stored batches from `offset` (at least one, then as many as fit in `maxBytes`) below
   * the high watermark, reading them from storage; returns the offset after the last one checked
   * (`offset`, or the log start when it moved past it, once there is nothing to check) and the
   * bytes read. Throws ReadDamage at damaged storage.
   */
  async verify(offset: bigint, maxBytes: number): Promise<{ next: bigint; bytes: number }> {
    const at = offset < this.start ? this.start : offset;
    const b = this.batches;
    const from = b.nextLive(b.findByOffset(at));
    const to = b.findByOffset(this.hw);
    if (from >= to) return { next: at, bytes: 0 };
    let last = from;
    let bytes = b.bytesAt(from);
    for (let k = b.nextLive(from + 1); k < to && bytes + b.bytesAt(k) <= maxBytes; k = b.nextLive(k + 1)) {
      last = k;
      bytes += b.bytesAt(k);
    }
    const next = BigInt(b.lastOffsetAt(last)) + 1n;
    await this.readRows(from, last, true);
    return { next, bytes };
  }

  /**
   * The aborted transactions a read_committed read from `fetchOffset` answers with its batches
   * `chunks` (as stored): those overlapping [fetchOffset, the last batch's last offset], by first
   * offset. (Kafka answers them in the order of their markers; the Java client and librdkafka sort
   * them, but kafkajs 2.2.4 walks the list in order, expecting it sorted, and hands its reader the
   * records of an aborted transaction that began before one aborted earlier.)
   */
  abortedTransactions(fetchOffset: bigint, chunks: readonly Buffer[]): AbortedTransaction[] {
    const last = chunks[chunks.length - 1];
    if (last === undefined) return [];
    const h = readRecordBatchHeader(last, 0);
    return this.txns
      .abortedIn(fetchOffset, h.baseOffset + BigInt(h.lastOffsetDelta) + 1n)
      .sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
  }

  /** The producer state, with each producer's open transaction. */
  describeProducers(): ProducerStateView[] {
    return this.producers.describe((id) => this.txns.firstOffsetOf(id));
  }

  /**
   * ListOffsets at `timestamp` (or one of ListOffsetsTimestamp); `leaderEpoch` is the current one.
   * As Kafka: `latest` is the high watermark (read_committed: the last stable offset), and an offset
   * found at or past it is not answered.
   */
  async listOffset(
    timestamp: bigint,
    leaderEpoch: number,
    isolationLevel: IsolationLevel = 0,
  ): Promise<ListOffsetResult> {
    // At a batch boundary: a batch starting below it ends below it.
    const limit = this.readLimit(isolationLevel);
    if (timestamp === ListOffsetsTimestamp.LATEST) return { offset: limit, timestamp: -1n, leaderEpoch };
    if (timestamp === ListOffsetsTimestamp.EARLIEST || timestamp === ListOffsetsTimestamp.EARLIEST_LOCAL)
      return { offset: this.start, timestamp: -1n, leaderEpoch: this.epochs.epochAt(this.start) };
    if (timestamp === ListOffsetsTimestamp.MAX_TIMESTAMP) {
      const max = this.maxTimestamp;
      const none = { offset: -1n, timestamp: -1n, leaderEpoch: -1 };
      if (this.batches.length === 0 || max.baseOffset >= limit) return none;
      // The batch may start before the log start (DeleteRecords moves it inside a batch): its
      // record of the max timestamp still counts when it is at or after the log start.
      const found = await this.recordAtOrAfter(
        this.batches.findByOffset(max.baseOffset),
        max.timestamp,
        true,
      );
      if (found !== undefined) return found;
      if (max.baseOffset < this.start) return none;
      return {
        offset: max.baseOffset,
        timestamp: max.timestamp,
        leaderEpoch: this.epochs.epochAt(max.baseOffset),
      };
    }
    if (timestamp < 0n)
      throw new KafkaError('INVALID_REQUEST', `${this.name}: unsupported ListOffsets timestamp ${timestamp}`);
    const target = Number(timestamp);
    for (let i = 0; i < this.batches.length; i++) {
      if (this.batches.lastOffsetAt(i) >= Number(limit)) break;
      if (this.batches.isLive(i) && this.batches.maxTimestampAt(i) >= target) {
        const found = await this.recordAtOrAfter(i, timestamp, false);
        if (found) return found;
      }
    }
    return { offset: -1n, timestamp: -1n, leaderEpoch: -1 };
  }

  /** The first record of batch i, at or above the log start, with timestamp >= ts (== ts when exact). */
  private async recordAtOrAfter(
    i: number,
    ts: bigint,
    exact: boolean,
  ): Promise<ListOffsetResult | undefined> {
    if (i >= this.batches.length || !this.batches.isLive(i)) return undefined;
    const b = this.batches.at(i);
    const [data] = await this.readRows(i, i, false);
    if (data === undefined) return undefined;
    for (const r of decodeRecordBatch(data).records) {
      if (r.offset < this.start) continue;
      if (exact ? r.timestampMs === ts : r.timestampMs >= ts)
        return { offset: r.offset, timestamp: r.timestampMs, leaderEpoch: b.epoch };
    }
    return undefined;
  }

  /** OffsetForLeaderEpoch: see LeaderEpochCache.endOffsetFor. */
  offsetForLeaderEpoch(requested: number, currentEpoch: number, logEndOffset: bigint): EpochEndOffset {
    return this.epochs.endOffsetFor(requested, currentEpoch, logEndOffset);
  }

  /**
   * The log start offset retention asks for at `nowMs` (retention.ms: batches whose largest
   * timestamp is older; retention.bytes: the oldest batches beyond the size), whole batches from the
   * front and never past the high watermark, looking at no more than `maxBatches`; undefined when
   * nothing expires.
   */
  retentionTarget(
    nowMs: number,
    retentionMs: number,
    retentionBytes: number,
    maxBatches: number,
  ): bigint | undefined {
    if (retentionMs < 0 && retentionBytes < 0) return undefined;
    let total = this.batches.totalBytes;
    const hw = Number(this.hw);
    const limit = Math.min(this.batches.length, maxBatches);
    let n = 0;
    while (n < limit) {
      if (this.batches.lastOffsetAt(n) >= hw) break;
      if (!this.batches.isLive(n)) {
        n++; // removed by the cleaner: nothing to keep there
        continue;
      }
      const ts = this.batches.maxTimestampAt(n);
      const tooOld = retentionMs >= 0 && ts >= 0 && ts < nowMs - retentionMs;
      const tooBig = retentionBytes >= 0 && total > retentionBytes;
      if (!tooOld && !tooBig) break;
      total -= this.batches.bytesAt(n);
      n++;
    }
    if (n === 0) return undefined;
    const target = BigInt(this.batches.lastOffsetAt(n - 1)) + 1n;
    return target > this.start ? target : undefined;
  }

  // ---------------------------------------------------------------- watchers

  /** `onData` runs once, when the high watermark next moves (or wakeAll). Returns a cancel. */
  watch(onData: () => void): () => void {
    this.watchers.add(onData);
    return () => this.watchers.delete(onData);
  }

  /** Wakes every watcher (new data, or the partition is closing). */
  wake(): void {
    if (this.watchers.size === 0) return;
    const ws = [...this.watchers];
    this.watchers.clear();
    for (const w of ws) w();
  }

  // ---------------------------------------------------------------- state

  /** The small state (everything but the batch index). */
  state(): LogState {
    return {
      nextOffset: this.next,
      logStartOffset: this.start,
      epochs: this.epochs.toJSON(),
      maxTimestamp: [String(this.maxTimestamp.timestamp), String(this.maxTimestamp.baseOffset)],
      producers: this.producers.toJSON(),
      txns: this.txns.toJSON(),
      cleaner: { dirty: String(this.cleanedTo), last: this.lastRelocation },
    };
  }

  /**
   * Replaces everything with `s`; the batch index becomes `index` (a snapshot's) or empty (to be
   * rebuilt by indexing the batches from `s.nextOffset` on). The high watermark is the next offset.
   */
  restore(s: LogState, index: BatchIndex = new BatchIndex()): void {
    if (!(s.logStartOffset <= s.nextOffset))
      this.violated(`${this.name}: restored log start ${s.logStartOffset} > next ${s.nextOffset}`);
    this.batches = index;
    this.start = s.logStartOffset;
    this.next = s.nextOffset;
    this.hw = s.nextOffset;
    this.epochs.load(s.epochs);
    this.maxTimestamp = { timestamp: BigInt(s.maxTimestamp[0]), baseOffset: BigInt(s.maxTimestamp[1]) };
    this.txns.load(s.txns);
    this.txns.dropBelow(this.start);
    this.producers.load(s.producers);
    this.cleanedTo = s.cleaner === undefined ? 0n : BigInt(s.cleaner.dirty);
    this.lastRelocation = s.cleaner?.last ?? -1;
  }

  /** The batch index as bytes (standalone's clean-shutdown snapshot). */
  indexBytes(): Buffer {
    return this.batches.toBuffer();
  }

  /** A broken invariant: the partition must stop (the message is built only then: no cost otherwise). */
  private violated(message: string): never {
    throw new InvariantError(message);
  }
}
