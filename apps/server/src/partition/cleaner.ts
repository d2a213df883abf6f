// One cleaning pass over a compacted partition (compaction.ts has the rules; the design and why it
// is built this way are in docs/design/compaction.md). Strategy-neutral: the partition stores the
// pass's output through `CleanerTarget.relocate` — an entry of its WAL (standalone) or a Raft entry
// proposed by the leader (cluster) — and every replica applies it the same way
// (KafkaLog.applyRelocation).
//
// A pass, in bounded steps (each reads at most STEP_BYTES, then waits as the I/O rate asks and
// gives the event loop back, so produce and fetch are never held for long):
// 1. builds the key map over the dirty part [first dirty, first uncleanable), stopping early (at a
//    batch boundary) when the map's memory budget is reached: the pass then ends there;
// 2. walks every batch from the log start to the map's end, decides each (cleanBatch) and writes
//    them — changed or not, so that the entries holding them before may leave the log — as
//    relocation entries of at most MAX_RELOCATION_BYTES (a larger batch alone in its entry, up to
//    the log's entry limit), one at a time, each applied before the next is built; the last one
//    carries the new first dirty offset. A relocation found stale
//    (another one was applied meanwhile: a new leader's cleaner) ends the pass.
// The walk follows offsets, not index rows: the index may change between steps (appends, a moved
// log start), and batches below a moved log start are skipped when the relocation applies.
import type { RecordBatchHeader } from '@chronik/protocol';
import { readRecordBatchHeader } from '@chronik/protocol';
import type { CleaningPlan, CompactionConfig } from './compaction.js';
import { OffsetMap, PassTransactions, cleanBatch, keyedRecords, markerKind } from './compaction.js';
import type { KafkaLog } from './kafka-log.js';
import type { RelocatedBatch } from './relocation.js';
import { encodeRelocation, relocationSize } from './relocation.js';

/** Bytes of batches read per step. */
const STEP_BYTES = 256 * 1024;
/** Largest relocation entry written (smaller when the log's entries must be). */
const MAX_RELOCATION_BYTES = 1024 * 1024;

/** What a pass needs of the partition it cleans. */
export interface CleanerTarget {
  readonly log: KafkaLog;
  /** Largest entry the partition's log stores. */
  readonly maxEntryBytes: number;
  /** Whether the partition may still be cleaned here (open, serving, leading). */
  active(): boolean;
  /**
   * Stores the relocation entry and resolves once it is applied here: with its position, or
   * undefined when it was stale (nothing changed). Rejects when it could not be stored.
   */
  relocate(entry: Buffer): Promise<number | undefined>;
}

/** What the log cleaner service gives a pass. */
export interface CleanerIo {
  /** Waits as long as the I/O rate limit asks after `bytes` were read or written. */
  throttle(bytes: number): Promise<void>;
  /** Gives the event loop back between steps. */
  pause(): Promise<void>;
  /** The key map's memory budget (log.cleaner.dedupe.buffer.size). */
  mapBytes: number;
}

export interface PassResult {
  /** Whether the pass ran to its end (its last relocation applied). */
  completed: boolean;
  /** Why it stopped early. */
  stopped?: string;
  /** The first dirty offset it leaves (the map's end), when completed. */
  endOffset: bigint;
  bytesRead: number;
  bytesWritten: number;
  batchesRead: number;
  batchesRemoved: number;
  batchesRewritten: number;
}

/** The batches from offset `from` (live ones, base offset below `end`), up to about STEP_BYTES. */
async function readStep(
  log: KafkaLog,
  from: bigint,
  end: bigint,
): Promise<Array<{ data: Buffer; header: RecordBatchHeader }>> {
  const b = log.batchIndex;
  const first = b.nextLive(b.findByOffset(from));
  let last = first - 1;
  let bytes = 0;
  for (let k = first; k < b.length && BigInt(b.baseOffsetAt(k)) < end; k = b.nextLive(k + 1)) {
    if (last >= first && bytes + b.bytesAt(k) > STEP_BYTES) break;
    last = k;
    bytes += b.bytesAt(k);
  }
  if (last < first) return [];
  const got = await log.readRows(first, last, false);
  return got.map((data) => ({ data, header: readRecordBatchHeader(data, 0) }));
}

export async function runCleaningPass(
  target: CleanerTarget,
  cfg: CompactionConfig,
  plan: CleaningPlan,
  nowMs: number,
  io: CleanerIo,
): Promise<PassResult> {
  const log = target.log;
  const result: PassResult = {
    completed: false,
    endOffset: plan.firstDirty,
    bytesRead: 0,
    bytesWritten: 0,
    batchesRead: 0,
    batchesRemoved: 0,
    batchesRewritten: 0,
  };
  const stop = (why: string): PassResult => ({ ...result, stopped: why });

  const startedOn = log.lastRelocationPosition;
  // 1. The key map over the dirty part.
  const map = new OffsetMap(io.mapBytes);
  const mapTxns = new PassTransactions(log.txns.abortedTxns());
  let cursor = plan.firstDirty;
  let mapEnd = plan.firstUncleanable;
  mapping: while (cursor < plan.firstUncleanable) {
    if (!target.active()) return stop('no longer cleanable here');
    const step = await readStep(log, cursor, plan.firstUncleanable);
    if (step.length === 0) break;
    let bytes = 0;
    for (const { data, header: h } of step) {
      if (h.isControl) mapTxns.onMarker(h, markerKind(data, h));
      else if (!mapTxns.onBatch(h)) {
        const keys = keyedRecords(data, h);
        if (map.size > 0 && map.usedBytes + map.costOf(keys) > map.budgetBytes) {
          mapEnd = h.baseOffset;
          break mapping;
        }
        for (const k of keys) map.put(k.key, k.offset);
      }
      bytes += data.length;
      cursor = h.baseOffset + BigInt(h.lastOffsetDelta) + 1n;
    }
    result.bytesRead += bytes;
    await io.throttle(bytes);
    await io.pause();
  }
  if (mapEnd <= plan.firstDirty) return stop('nothing mapped');

  // 2. Every batch from the log start to the map's end, relocated.
  const ctx = {
    nowMs,
    deleteRetentionMs: cfg.deleteRetentionMs,
    map,
    txns: new PassTransactions(log.txns.abortedTxns()),
    isProducersLast: (h: RecordBatchHeader) =>
      log.producers.lastOffsetOf(h.producerId) === h.baseOffset + BigInt(h.lastOffsetDelta),
  };
  // Entries of about MAX_RELOCATION_BYTES; one batch alone may take up to the log's entry limit.
  const limit = Math.min(MAX_RELOCATION_BYTES, target.maxEntryBytes);
  let items: RelocatedBatch[] = [];
  let itemBytes = 0;
  // The chain this pass builds on: what it read was the log as of this relocation (and its own).
  let prev = startedOn;
  const flush = async (passEnd: bigint): Promise<boolean> => {
    const entry = encodeRelocation({ prev, passEnd, batches: items });
    items = [];
    itemBytes = 0;
    if (!target.active()) return false;
    const at = await target.relocate(entry);
    result.bytesWritten += entry.length;
    await io.throttle(entry.length);
    if (at === undefined) return false;
    prev = at;
    return true;
  };
  cursor = log.logStartOffset;
  while (cursor < mapEnd) {
    if (!target.active()) return stop('no longer cleanable here');
    if (cursor < log.logStartOffset) cursor = log.logStartOffset;
    const step = await readStep(log, cursor, mapEnd);
    if (step.length === 0) break;
    let bytes = 0;
    for (const { data, header: h } of step) {
      bytes += data.length;
      result.batchesRead++;
      cursor = h.baseOffset + BigInt(h.lastOffsetDelta) + 1n;
      const c = cleanBatch(data, h, ctx);
      const out = c.kind === 'keep' ? data : c.kind === 'rewrite' ? c.data : null;
      if (c.kind === 'drop') result.batchesRemoved++;
      if (c.kind === 'rewrite') result.batchesRewritten++;
      const size = out?.length ?? 0;
      if (relocationSize(1, size) > target.maxEntryBytes)
        return stop(
          `the batch at ${h.baseOffset} does not fit in a relocation entry of ${target.maxEntryBytes} bytes`,
        );
      if (items.length > 0 && relocationSize(items.length + 1, itemBytes + size) > limit) {
        if (!(await flush(-1n))) return stop('a relocation was stale or the partition stopped leading');
      }
      items.push({ baseOffset: h.baseOffset, data: out });
      itemBytes += size;
    }
    result.bytesRead += bytes;
    await io.throttle(bytes);
    await io.pause();
  }
  if (!(await flush(mapEnd))) return stop('a relocation was stale or the partition stopped leading');
  return { ...result, completed: true, endOffset: mapEnd };
}
