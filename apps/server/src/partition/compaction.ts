// Kafka's log compaction rules (cleanup.policy=compact), as pure functions over a partition's Kafka
// log and its batches; partition/cleaner.ts runs them in bounded steps and the strategies store the
// result (docs/design/compaction.md).
//
// - What may be cleaned (planCleaning): from the log start to the first uncleanable offset — the
//   last stable offset (every transaction below it is decided), the newest batch (as Kafka's active
//   segment, never cleaned: here the batches within segment.bytes and segment.ms of the end, and
//   always the last one), and the first batch younger than min.compaction.lag.ms. A partition is
//   worth a pass when its dirty part (from the first dirty offset, where the last pass ended) is at
//   least min.cleanable.dirty.ratio of what may be cleaned, or when its oldest dirty batch is older
//   than max.compaction.lag.ms (KIP-354).
// - The key map (OffsetMap): for every key in the dirty part, the offset of its last record;
//   records of aborted transactions do not count.
// - Each batch from the log start to the map's end (cleanBatch): a record stays when no later record
//   has its key; a tombstone (null value) stays until its batch's delete horizon (KIP-534: set to
//   now + delete.retention.ms the first time a pass keeps it, carried in the batch header's base
//   timestamp with the hasDeleteHorizon attribute, so every replica reads the same bytes); records
//   of aborted transactions and records without a key go. A batch keeps its base and last offset,
//   producer, sequence and leader epoch; a batch with nothing left goes, unless it holds its
//   producer's last sequence (kept empty, as Kafka keeps it, so an idempotent producer's next batch
//   is still in sequence). A transaction marker goes once no batch of its transaction is left and
//   its delete horizon has passed.
import type { RecordBatchHeader } from '@chronik/protocol';
import {
  BatchAttribute,
  BatchField,
  CompressionType,
  ControlRecordType,
  LOG_OVERHEAD_BYTES,
  RECORD_BATCH_HEADER_BYTES,
  compressRecords,
  computeRecordBatchCrc,
  decodeControlRecordKey,
  decompressRecords,
  readVarint,
  readVarlongAsNumber,
  sizeOfVarint,
  sizeOfVarlongNumber,
  writeVarint,
  writeVarlongNumber,
} from '@chronik/protocol';
import type { VarintCursor } from '@chronik/protocol';
import type { KafkaLog } from './kafka-log.js';
import type { AbortedTxn } from './txn-state.js';

/** The compaction settings of a topic (LogConfig). */
export interface CompactionConfig {
  /** delete.retention.ms */
  deleteRetentionMs: number;
  /** min.compaction.lag.ms */
  minCompactionLagMs: number;
  /** max.compaction.lag.ms */
  maxCompactionLagMs: number;
  /** min.cleanable.dirty.ratio */
  minCleanableDirtyRatio: number;
  /** segment.bytes: the newest batches within it are the "active segment", never cleaned. */
  segmentBytes: number;
  /** segment.ms: so are the batches younger than it. */
  segmentMs: number;
}

/** What planCleaning found: the offsets of a pass and how dirty the partition is. */
export interface CleaningPlan {
  logStart: bigint;
  firstDirty: bigint;
  firstUncleanable: bigint;
  /** Bytes of live batches in [firstDirty, firstUncleanable). */
  dirtyBytes: number;
  /** Bytes of live batches in [logStart, firstUncleanable). */
  cleanableBytes: number;
  /** dirtyBytes / cleanableBytes. */
  dirtyRatio: number;
  /** The oldest dirty batch is older than max.compaction.lag.ms: clean whatever the ratio. */
  overdue: boolean;
}

/** Rows looked at from the end for the active segment; beyond, the rest counts as active (no cleaning). */
const MAX_ACTIVE_SCAN_ROWS = 2_000_000;

/**
 * Where a cleaning pass of `log` could run at `nowMs` and how dirty it is; undefined when there is
 * nothing dirty that may be cleaned. Looks at the index only.
 */
export function planCleaning(log: KafkaLog, cfg: CompactionConfig, nowMs: number): CleaningPlan | undefined {
  const b = log.batchIndex;
  const n = b.length;
  const logStart = log.logStartOffset;
  const firstDirty = log.firstDirtyOffset;
  // The newest batch is never cleaned (Kafka's active segment is never empty), nor anything at or
  // past the last stable offset.
  let limit = log.lastStableOffset;
  let lastLive = n - 1;
  while (lastLive >= 0 && !b.isLive(lastLive)) lastLive--;
  if (lastLive < 0) return undefined;
  const lastBase = BigInt(b.baseOffsetAt(lastLive));
  if (lastBase < limit) limit = lastBase;
  // The active segment: the batches at the end within segment.bytes, unless older than segment.ms
  // (capped at max.compaction.lag.ms: Kafka rolls an overdue active segment).
  const rollMs = Math.min(cfg.segmentMs, cfg.maxCompactionLagMs);
  const oldestActiveTs = nowMs - rollMs;
  let bytes = 0;
  let activeStart = lastLive;
  for (let i = lastLive, seen = 0; i >= 0; i--, seen++) {
    if (seen >= MAX_ACTIVE_SCAN_ROWS) return undefined;
    if (!b.isLive(i)) continue;
    bytes += b.bytesAt(i);
    if (bytes > cfg.segmentBytes) break;
    if (b.maxTimestampAt(i) < oldestActiveTs) break;
    activeStart = i;
  }
  const activeBase = BigInt(b.baseOffsetAt(activeStart));
  if (activeBase < limit) limit = activeBase;
  // min.compaction.lag.ms: the first dirty batch too young to clean.
  const youngest = nowMs - cfg.minCompactionLagMs;
  const from = b.findByOffset(firstDirty);
  let dirtyBytes = 0;
  let overdue = false;
  let sawDirty = false;
  for (let i = from; i < n; i++) {
    if (!b.isLive(i)) continue;
    const base = BigInt(b.baseOffsetAt(i));
    if (base >= limit) break;
    const ts = b.maxTimestampAt(i);
    if (cfg.minCompactionLagMs > 0 && ts > youngest) {
      limit = base;
      break;
    }
    if (!sawDirty) {
      sawDirty = true;
      overdue = ts >= 0 && ts < nowMs - cfg.maxCompactionLagMs;
    }
    dirtyBytes += b.bytesAt(i);
  }
  if (limit <= firstDirty || dirtyBytes === 0) return undefined;
  let cleanableBytes = dirtyBytes;
  for (let i = b.findByOffset(logStart); i < from; i++) if (b.isLive(i)) cleanableBytes += b.bytesAt(i);
  return {
    logStart,
    firstDirty,
    firstUncleanable: limit,
    dirtyBytes,
    cleanableBytes,
    dirtyRatio: dirtyBytes / cleanableBytes,
    overdue,
  };
}

// ------------------------------------------------------------------ records

/** One record of a batch's (decompressed) records section, located without copying. */
interface RawRecord {
  /** Where the record starts (its length varint) and ends. */
  start: number;
  end: number;
  attributes: number;
  timestampDelta: number;
  /** Where the bytes after the timestamp delta start (offset delta, key, value, headers). */
  rest: number;
  offsetDelta: number;
  key: Buffer | null;
  valueIsNull: boolean;
}

function readLength(buf: Buffer, c: VarintCursor, end: number): number {
  const n = readVarint(buf, c);
  if (n < -1 || n > end - c.offset)
    throw new Error(`record field of ${n} bytes at ${c.offset} runs past its record`);
  return n;
}

/** The records of a batch body (decompressed), exactly `count` of them. */
function scanRecords(body: Buffer, count: number): RawRecord[] {
  const out: RawRecord[] = [];
  const c: VarintCursor = { offset: 0 };
  for (let i = 0; i < count; i++) {
    const start = c.offset;
    const length = readVarint(body, c);
    const end = c.offset + length;
    if (length <= 0 || end > body.length)
      throw new Error(`record ${i} of ${length} bytes runs past the batch`);
    const attributes = body.readInt8(c.offset);
    c.offset += 1;
    const timestampDelta = readVarlongAsNumber(body, c);
    const rest = c.offset;
    const offsetDelta = readVarint(body, c);
    const keyLength = readLength(body, c, end);
    const key = keyLength < 0 ? null : body.subarray(c.offset, c.offset + keyLength);
    if (keyLength > 0) c.offset += keyLength;
    const valueLength = readLength(body, c, end);
    out.push({
      start,
      end,
      attributes,
      timestampDelta,
      rest,
      offsetDelta,
      key,
      valueIsNull: valueLength < 0,
    });
    c.offset = end;
  }
  if (c.offset !== body.length)
    throw new Error(`${body.length - c.offset} bytes after the batch's last record`);
  return out;
}

/** The records section of `batch`, decompressed. */
function recordsOf(batch: Buffer, h: RecordBatchHeader): Buffer {
  const stored = batch.subarray(RECORD_BATCH_HEADER_BYTES, LOG_OVERHEAD_BYTES + h.batchLength);
  return h.compression === CompressionType.None ? stored : decompressRecords(h.compression, stored);
}

/** The records of a batch, for the key map: offset and key of each (keyless ones skipped). */
export function keyedRecords(batch: Buffer, h: RecordBatchHeader): Array<{ offset: number; key: Buffer }> {
  const out: Array<{ offset: number; key: Buffer }> = [];
  const base = Number(h.baseOffset);
  for (const r of scanRecords(recordsOf(batch, h), h.recordCount))
    if (r.key !== null) out.push({ offset: base + r.offsetDelta, key: r.key });
  return out;
}

/** Whether every record of the batch has a key (a compacted topic refuses keyless records). */
export function allRecordsKeyed(batch: Buffer, h: RecordBatchHeader): boolean {
  if (h.isControl) return true;
  for (const r of scanRecords(recordsOf(batch, h), h.recordCount)) if (r.key === null) return false;
  return true;
}

// ------------------------------------------------------------------ the key map

/** Map overhead charged per key besides its bytes (a JS Map entry and its string). */
const MAP_ENTRY_OVERHEAD_BYTES = 64;

/**
 * Key → offset of its last record, within a memory budget (Kafka's dedupe buffer,
 * log.cleaner.dedupe.buffer.size). Keys are kept whole (no hashing: no collision can drop a
 * record that should stay).
 */
export class OffsetMap {
  private readonly map = new Map<string, number>();
  private bytes = 0;

  constructor(readonly budgetBytes: number) {}

  get size(): number {
    return this.map.size;
  }

  /** Bytes the keys of `keys` would add; used to stop before the budget. */
  costOf(keys: ReadonlyArray<{ key: Buffer }>): number {
    let n = 0;
    for (const k of keys) n += k.key.length + MAP_ENTRY_OVERHEAD_BYTES;
    return n;
  }

  get usedBytes(): number {
    return this.bytes;
  }

  put(key: Buffer, offset: number): void {
    const k = key.toString('latin1');
    if (!this.map.has(k)) this.bytes += key.length + MAP_ENTRY_OVERHEAD_BYTES;
    this.map.set(k, offset);
  }

  get(key: Buffer): number | undefined {
    return this.map.get(key.toString('latin1'));
  }
}

// ------------------------------------------------------------------ transactions during a pass

/**
 * The transactions met by a pass, walking batches in offset order (Kafka's
 * CleanedTransactionMetadata): which batches belong to aborted transactions, and whether a marker
 * still has batches of its transaction behind it in this pass.
 */
export class PassTransactions {
  private readonly pending: AbortedTxn[];
  private next = 0;
  /** Aborted transactions begun, by producer: whether a batch of theirs was met in this pass. */
  private readonly ongoingAborted = new Map<bigint, { met: boolean }>();
  /** Producers whose (committed) transactional batches were met since their last marker. */
  private readonly ongoingCommitted = new Set<bigint>();

  constructor(aborted: readonly AbortedTxn[]) {
    this.pending = [...aborted].sort((a, b) =>
      a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0,
    );
  }

  private beginUpTo(offset: bigint): void {
    while (this.next < this.pending.length && (this.pending[this.next] as AbortedTxn).firstOffset <= offset) {
      const a = this.pending[this.next++] as AbortedTxn;
      this.ongoingAborted.set(a.producerId, { met: false });
    }
  }

  /** A data batch: whether it belongs to an aborted transaction (its records all go). */
  onBatch(h: RecordBatchHeader): boolean {
    this.beginUpTo(h.baseOffset + BigInt(h.lastOffsetDelta));
    if (!h.isTransactional) return false;
    const aborted = this.ongoingAborted.get(h.producerId);
    if (aborted !== undefined) {
      aborted.met = true;
      return true;
    }
    this.ongoingCommitted.add(h.producerId);
    return false;
  }

  /**
   * A control batch (`commit`: a commit marker, false an abort, undefined another control record):
   * whether it may go once its delete horizon passed (no batch of its transaction met in this pass).
   */
  onMarker(h: RecordBatchHeader, commit: boolean | undefined): boolean {
    this.beginUpTo(h.baseOffset + BigInt(h.lastOffsetDelta));
    if (commit === undefined) return false;
    if (commit) return !this.ongoingCommitted.delete(h.producerId);
    const aborted = this.ongoingAborted.get(h.producerId);
    this.ongoingAborted.delete(h.producerId);
    return aborted === undefined || !aborted.met;
  }
}

/** The marker type of a control batch: true commit, false abort, undefined another control record. */
export function markerKind(batch: Buffer, h: RecordBatchHeader): boolean | undefined {
  const [r] = scanRecords(recordsOf(batch, h), h.recordCount);
  if (r === undefined || r.key === null) return undefined;
  const { type } = decodeControlRecordKey(r.key);
  if (type === ControlRecordType.Commit) return true;
  if (type === ControlRecordType.Abort) return false;
  return undefined;
}

// ------------------------------------------------------------------ one batch

export interface CleanBatchContext {
  nowMs: number;
  deleteRetentionMs: number;
  map: OffsetMap;
  txns: PassTransactions;
  /** Whether the batch holds its producer's last sequence (kept, empty if need be). */
  isProducersLast(h: RecordBatchHeader): boolean;
}

export type CleanedBatch =
  { kind: 'keep' } | { kind: 'rewrite'; data: Buffer; records: number } | { kind: 'drop' };

/** The delete horizon a batch carries, or undefined when it has none. */
function horizonOf(h: RecordBatchHeader): number | undefined {
  return h.hasDeleteHorizon ? Number(h.baseTimestamp) : undefined;
}

/**
 * What a pass does with one batch (see the header): keep it as it is, rewrite it (records removed,
 * or a delete horizon set), or drop it.
 */
export function cleanBatch(batch: Buffer, h: RecordBatchHeader, ctx: CleanBatchContext): CleanedBatch {
  const horizon = horizonOf(h);
  const horizonPassed = horizon !== undefined && ctx.nowMs >= horizon;
  const newHorizon = ctx.nowMs + ctx.deleteRetentionMs;
  if (h.isControl) {
    const discardable = ctx.txns.onMarker(h, markerKind(batch, h));
    if (!discardable) return { kind: 'keep' };
    if (horizonPassed) return { kind: 'drop' };
    if (horizon !== undefined) return { kind: 'keep' };
    // The first pass that could remove it starts its delete horizon.
    return { kind: 'rewrite', data: rebuildBatch(batch, h, null, newHorizon), records: h.recordCount };
  }
  const aborted = ctx.txns.onBatch(h);
  const records = scanRecords(recordsOf(batch, h), h.recordCount);
  const base = Number(h.baseOffset);
  const kept: RawRecord[] = [];
  let tombstones = 0;
  if (!aborted) {
    for (const r of records) {
      if (r.key === null) continue;
      const offset = base + r.offsetDelta;
      const latest = ctx.map.get(r.key);
      if (latest !== undefined && offset < latest) continue;
      if (r.valueIsNull) {
        if (horizonPassed) continue;
        tombstones++;
      }
      kept.push(r);
    }
  }
  const needsHorizon = tombstones > 0 && horizon === undefined;
  if (kept.length === records.length && !needsHorizon) return { kind: 'keep' };
  if (kept.length === 0) {
    if (h.producerId >= 0n && ctx.isProducersLast(h))
      return { kind: 'rewrite', data: rebuildBatch(batch, h, [], horizon), records: 0 };
    return { kind: 'drop' };
  }
  return {
    kind: 'rewrite',
    data: rebuildBatch(batch, h, kept, needsHorizon ? newHorizon : horizon),
    records: kept.length,
  };
}

/**
 * `batch` with only the records `kept` (null: all of them), its base timestamp set to `horizon`
 * with the hasDeleteHorizon attribute when given; every other header field as it was (base and last
 * offset, max timestamp, producer, sequence, leader epoch), compressed with the same codec (none
 * when no record is left), the CRC computed again.
 */
function rebuildBatch(
  batch: Buffer,
  h: RecordBatchHeader,
  kept: readonly RawRecord[] | null,
  horizon: number | undefined,
): Buffer {
  const body = recordsOf(batch, h);
  const records = kept ?? scanRecords(body, h.recordCount);
  const oldBase = Number(h.baseTimestamp);
  const newBase = horizon ?? oldBase;
  const shift = oldBase - newBase;
  const parts: Buffer[] = [];
  let size = 0;
  for (const r of records) {
    if (shift === 0) {
      parts.push(body.subarray(r.start, r.end));
      size += r.end - r.start;
      continue;
    }
    // The timestamp stays what it was: its delta from the new base changes size.
    const delta = r.timestampDelta + shift;
    const restBytes = r.end - r.rest;
    const bodyLength = 1 + sizeOfVarlongNumber(delta) + restBytes;
    const out = Buffer.allocUnsafe(sizeOfVarint(bodyLength) + bodyLength);
    let at = writeVarint(out, 0, bodyLength);
    out.writeInt8(r.attributes, at);
    at = writeVarlongNumber(out, at + 1, delta);
    body.copy(out, at, r.rest, r.end);
    parts.push(out);
    size += out.length;
  }
  let recordsBytes: Buffer = Buffer.concat(parts, size);
  const compression = records.length === 0 ? CompressionType.None : h.compression;
  if (compression !== CompressionType.None) recordsBytes = compressRecords(compression, recordsBytes);
  const out = Buffer.allocUnsafe(RECORD_BATCH_HEADER_BYTES + recordsBytes.length);
  batch.copy(out, 0, 0, RECORD_BATCH_HEADER_BYTES);
  recordsBytes.copy(out, RECORD_BATCH_HEADER_BYTES);
  out.writeInt32BE(out.length - LOG_OVERHEAD_BYTES, BatchField.batchLength);
  let attributes = (h.attributes & ~BatchAttribute.compressionMask) | compression;
  if (horizon !== undefined) attributes |= BatchAttribute.deleteHorizon;
  out.writeInt16BE(attributes, BatchField.attributes);
  out.writeBigInt64BE(BigInt(newBase), BatchField.baseTimestamp);
  out.writeInt32BE(records.length, BatchField.recordCount);
  out.writeUInt32BE(computeRecordBatchCrc(out), BatchField.crc);
  return out;
}
