/**
 * Opening a log: the recovery decision table (see README "Recovery"), implemented case by case.
 * Every case that changes the disk logs one line, and the whole recovery ends with one summary.
 */
import * as path from 'node:path';
import type { FileSystem, Logger, WalFile } from '@chronik/env';
import { WalError, WalErrorCode } from '../errors.js';
import {
  RECORD_HEADER_BYTES,
  SEGMENT_HEADER_BYTES,
  crc,
  decodeIndexFile,
  decodeMeta,
  encodeMeta,
  decodeRecordHeader,
  decodeSegmentHeader,
  encodeIndexFile,
  indexFileName,
  isZero,
  parseIndexName,
  parseSegmentName,
} from './format.js';
import type { IndexFile } from './format.js';
import { Segment, SharedFile } from './segment.js';

export interface RecoveryOptions {
  readonly fs: FileSystem;
  readonly dir: string;
  readonly logger: Logger;
  readonly maxRecordBytes: number;
  readonly indexIntervalBytes: number;
  readonly verify: 'all' | 'tail';
  readonly onCorruption: 'fail' | 'truncate';
  readonly initialIndex: number;
  /** Upper bound on the bytes copied into one `.broken` file. */
  readonly maxBrokenCopyBytes: number;
}

/** What recovery found and did; logged as one line (`wal recovered`) and kept on the Wal. */
export interface RecoverySummary {
  readonly dir: string;
  readonly segments: number;
  readonly records: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  /** Bytes removed from the tail (torn records) or at a repaired corruption. */
  readonly bytesCut: number;
  /** `.broken` files written this time (paths). */
  readonly brokenFiles: readonly string[];
  /** Segments removed: empty/headerless last segments, segments below the first index. */
  readonly segmentsRemoved: number;
  readonly tempFilesRemoved: number;
  readonly indexesRebuilt: number;
  /**
   * Bytes at the start of the last segment taken from its prefix index (written while it was
   * active, covering durable records only) instead of being checked again; 0 when it was scanned whole.
   */
  readonly tailIndexedBytes: number;
  /** True when the operator option onCorruption='truncate' cut the log at a corruption. */
  readonly corruptionTruncated: boolean;
  /** One human-readable line per decision-table case that applied. */
  readonly actions: readonly string[];
}

export interface Recovered {
  readonly segments: Segment[];
  /** The logical first index (from wal.meta, or the first segment, or initialIndex). */
  readonly startIndex: number;
  readonly summary: RecoverySummary;
}

const SCAN_CHUNK_BYTES = 1 << 20;
/** How far past a bad record we look for a valid one (telling corruption from a torn tail). */
const FOLLOW_SEARCH_BYTES = 8 << 20;

type BadReason =
  | 'short-header'
  | 'zero'
  | 'bad-header-crc'
  | 'bad-length'
  | 'short-payload'
  | 'bad-payload-crc'
  | 'bad-index';

interface ScanResult {
  /** Position just after the last good record. */
  readonly end: number;
  readonly bad?: { readonly position: number; readonly reason: BadReason };
}

/** Reads `file` through a sliding buffer. */
class ChunkReader {
  private buf = Buffer.alloc(0);
  private bufPos = 0;
  constructor(
    private readonly file: WalFile,
    readonly fileSize: number,
  ) {}

  /** Returns a buffer and the offset in it of file position `pos`, holding at least min(n, fileSize - pos) bytes. */
  async at(pos: number, n: number): Promise<{ buf: Buffer; off: number; avail: number }> {
    const want = Math.min(n, this.fileSize - pos);
    if (pos >= this.bufPos && pos + want <= this.bufPos + this.buf.length) {
      return { buf: this.buf, off: pos - this.bufPos, avail: this.bufPos + this.buf.length - pos };
    }
    const len = Math.max(want, Math.min(SCAN_CHUNK_BYTES, this.fileSize - pos));
    const b = Buffer.allocUnsafe(len);
    const got = await this.file.read(b, 0, len, pos);
    this.buf = b.subarray(0, got);
    this.bufPos = pos;
    return { buf: this.buf, off: 0, avail: got };
  }
}

async function scanRecords(
  file: WalFile,
  fileSize: number,
  seg: Segment,
  opts: RecoveryOptions,
  from = SEGMENT_HEADER_BYTES,
): Promise<ScanResult> {
  const r = new ChunkReader(file, fileSize);
  let pos = from;
  while (pos < fileSize) {
    const h = await r.at(pos, RECORD_HEADER_BYTES);
    const dec = decodeRecordHeader(h.buf, h.off, fileSize - pos, opts.maxRecordBytes);
    if (!dec.ok) return { end: pos, bad: { position: pos, reason: dec.reason } };
    const { header } = dec;
    const total = RECORD_HEADER_BYTES + header.payloadBytes;
    if (pos + total > fileSize) return { end: pos, bad: { position: pos, reason: 'short-payload' } };
    if (header.index !== seg.lastIndex + 1) return { end: pos, bad: { position: pos, reason: 'bad-index' } };
    const p = await r.at(pos, total);
    const payload = p.buf.subarray(p.off + RECORD_HEADER_BYTES, p.off + total);
    if (crc(payload) !== header.payloadCrc)
      return { end: pos, bad: { position: pos, reason: 'bad-payload-crc' } };
    seg.noteRecord(header.index, pos, header.timestampMs, opts.indexIntervalBytes);
    pos += total;
  }
  return { end: pos };
}

/**
 * Is there a complete, valid record (both CRCs good, index after `afterIndex`) somewhere after
 * `from`? If so, the bad record at `from` is not a torn tail but damage in the middle.
 */
async function validRecordFollows(
  file: WalFile,
  fileSize: number,
  from: number,
  afterIndex: number,
  maxRecordBytes: number,
): Promise<boolean> {
  const len = Math.min(fileSize - from, FOLLOW_SEARCH_BYTES);
  if (len <= RECORD_HEADER_BYTES) return false;
  const buf = Buffer.allocUnsafe(len);
  const got = await file.read(buf, 0, len, from);
  for (let o = 1; o + RECORD_HEADER_BYTES <= got; o++) {
    // Cheap filters before any CRC: flags <= 1 and the reserved bytes are zero in every valid header.
    if (buf[o + 5]! > 1 || buf[o + 6] !== 0 || buf[o + 7] !== 0) continue;
    if (buf[o] === 0 && buf[o + 28] === 0 && isZero(buf.subarray(o, o + RECORD_HEADER_BYTES))) continue;
    const dec = decodeRecordHeader(buf, o, fileSize - from - o, maxRecordBytes);
    if (!dec.ok || dec.header.index <= afterIndex) continue;
    const end = o + RECORD_HEADER_BYTES + dec.header.payloadBytes;
    if (end > got) continue;
    if (crc(buf.subarray(o + RECORD_HEADER_BYTES, end)) === dec.header.payloadCrc) return true;
  }
  return false;
}

export const META_FILE = 'wal.meta';

/**
 * Replaces `wal.meta`: a temp file, fdatasync'd, renamed over it. With `durable` the directory is
 * then fsync'd, so the new meta is durable on return; without, a crash may leave the previous one,
 * and the caller must be sure the previous one is as safe to find (see Wal.roll).
 */
export async function writeMetaFile(
  fsys: FileSystem,
  dir: string,
  meta: { firstIndex: number; newestSegment: number },
  durable: boolean,
): Promise<void> {
  const p = path.join(dir, META_FILE);
  const tmp = `${p}.tmp`;
  const f = await fsys.open(tmp, 'w');
  try {
    await f.write(encodeMeta(meta.firstIndex, meta.newestSegment), 0);
    await f.datasync();
  } finally {
    await f.close();
  }
  await fsys.rename(tmp, p);
  if (durable) await fsys.fsyncDir(dir);
}

/** The active segment as of one moment: what a prefix index of it records. */
export interface TailView {
  readonly size: number;
  readonly lastIndex: number;
  readonly maxTimestampMs: number;
  /** Sparse entries in use at that moment (later ones are appended after them). */
  readonly sparseCount: number;
}

export function tailView(seg: Segment): TailView {
  return {
    size: seg.size,
    lastIndex: seg.lastIndex,
    maxTimestampMs: seg.maxTimestampMs,
    sparseCount: seg.sparse.length,
  };
}

/**
 * Writes the index file of `seg`: whole (a sealed segment), or of its first `view.size` bytes (a
 * prefix index of the active segment, written only once those bytes are durable).
 */
export async function writeIndexFile(fsys: FileSystem, seg: Segment, view?: TailView): Promise<void> {
  const data = encodeIndexFile({
    segmentBytes: view?.size ?? seg.size,
    lastIndex: view?.lastIndex ?? seg.lastIndex,
    maxTimestampMs: view?.maxTimestampMs ?? seg.maxTimestampMs,
    recordCount: (view?.lastIndex ?? seg.lastIndex) - seg.firstIndex + 1,
    entries: view !== undefined ? seg.sparse.slice(0, view.sparseCount) : seg.sparse,
  });
  // The index is a cache, validated by CRC and the segment size on load: no fsync needed.
  const tmp = `${seg.indexPath}.tmp`;
  const f = await fsys.open(tmp, 'w');
  try {
    await f.write(data, 0);
  } finally {
    await f.close();
  }
  await fsys.rename(tmp, seg.indexPath);
}

/** The segment's index file decoded, or undefined when it is missing, too large or not valid. */
async function readIndexFile(fsys: FileSystem, seg: Segment): Promise<IndexFile | undefined> {
  const st = await fsys.stat(seg.indexPath);
  if (!st || st.size > 64 << 20) return undefined;
  const f = await fsys.open(seg.indexPath, 'r');
  let data: Buffer;
  try {
    data = Buffer.allocUnsafe(st.size);
    const got = await f.read(data, 0, st.size, 0);
    data = data.subarray(0, got);
  } finally {
    await f.close();
  }
  return decodeIndexFile(data);
}

/**
 * Loads the last segment's prefix index (written while it was active, over durable bytes only):
 * the position to check records from, or undefined when there is none usable (scan it whole). It
 * must cover part of the file as it is, its first and last entries must be where it says, and
 * the record at its last entry must decode with that index.
 */
async function tryLoadTailIndex(
  fsys: FileSystem,
  file: WalFile,
  seg: Segment,
  fileSize: number,
  maxRecordBytes: number,
): Promise<number | undefined> {
  const idx = await readIndexFile(fsys, seg);
  if (
    !idx ||
    idx.segmentBytes > fileSize ||
    idx.segmentBytes <= SEGMENT_HEADER_BYTES ||
    idx.recordCount !== idx.lastIndex - seg.firstIndex + 1 ||
    idx.recordCount <= 0
  )
    return undefined;
  const first = idx.entries[0];
  const lastEntry = idx.entries[idx.entries.length - 1];
  if (!first || !lastEntry || first.index !== seg.firstIndex || first.position !== SEGMENT_HEADER_BYTES)
    return undefined;
  if (lastEntry.position >= idx.segmentBytes || lastEntry.index > idx.lastIndex) return undefined;
  const hb = Buffer.allocUnsafe(RECORD_HEADER_BYTES);
  const got = await file.read(hb, 0, RECORD_HEADER_BYTES, lastEntry.position);
  const dec = decodeRecordHeader(
    hb.subarray(0, got),
    0,
    idx.segmentBytes - lastEntry.position,
    maxRecordBytes,
  );
  if (!dec.ok || dec.header.index !== lastEntry.index) return undefined;
  seg.sparse = idx.entries;
  seg.lastIndexedPosition = lastEntry.position;
  seg.maxTimestampMs = idx.maxTimestampMs;
  seg.lastIndex = idx.lastIndex;
  return idx.segmentBytes;
}

async function tryLoadIndex(
  fsys: FileSystem,
  seg: Segment,
  fileSize: number,
  expectedLast: number | undefined,
): Promise<boolean> {
  const idx = await readIndexFile(fsys, seg);
  if (!idx || idx.segmentBytes !== fileSize || idx.recordCount !== idx.lastIndex - seg.firstIndex + 1)
    return false;
  if (expectedLast !== undefined && idx.lastIndex !== expectedLast) return false;
  const first = idx.entries[0];
  if (!first || first.index !== seg.firstIndex || first.position !== SEGMENT_HEADER_BYTES) return false;
  seg.sparse = idx.entries;
  seg.lastIndexedPosition = idx.entries[idx.entries.length - 1]!.position;
  seg.maxTimestampMs = idx.maxTimestampMs;
  seg.lastIndex = idx.lastIndex;
  return true;
}

async function indexIsCurrent(fsys: FileSystem, seg: Segment, fileSize: number): Promise<boolean> {
  const probe = new Segment(seg.firstIndex, seg.createdAtMs, seg.path, seg.indexPath, fileSize);
  return (
    (await tryLoadIndex(fsys, probe, fileSize, seg.lastIndex)) && probe.sparse.length === seg.sparse.length
  );
}

export async function unlinkIfExists(fsys: FileSystem, p: string): Promise<boolean> {
  try {
    await fsys.unlink(p);
    return true;
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return false;
    throw e;
  }
}

export async function recover(opts: RecoveryOptions): Promise<Recovered> {
  const { fs: fsys, dir, logger } = opts;
  const actions: string[] = [];
  const brokenFiles: string[] = [];
  let bytesCut = 0;
  let segmentsRemoved = 0;
  let tempFilesRemoved = 0;
  let indexesRebuilt = 0;
  let tailIndexedBytes = 0;
  let corruptionTruncated = false;
  let dirDirty = false;

  const corruption = (file: string, position: number, what: string): WalError =>
    new WalError(
      WalErrorCode.Corruption,
      `${what} in ${file} at byte ${position}: this is not a torn write at the tail; refusing to open ` +
        `(the operator option onCorruption='truncate' cuts the log here instead)`,
      { file, position },
    );

  await fsys.mkdir(dir);
  // A newly created directory is durable only once its parent is synced.
  await fsys.fsyncDir(path.dirname(dir));
  const names = await fsys.readdir(dir);

  // Case: leftover temp files from an interrupted rotation, truncation or meta write → remove.
  for (const name of names) {
    if (name.endsWith('.tmp')) {
      await fsys.unlink(path.join(dir, name));
      tempFilesRemoved++;
      dirDirty = true;
      actions.push(`removed temp file ${name}`);
      logger.warn('wal: removed leftover temp file', { dir, file: name });
    }
  }

  // The durable first index, written by truncatePrefix/reset before they delete anything, and the
  // newest segment, written when a segment is created and before the newest one is removed.
  let metaStart: number | undefined;
  /** What wal.meta on disk says of the newest segment (undefined: no meta, or a version-1 one). */
  let metaNewest: number | undefined;
  const metaPath = path.join(dir, META_FILE);
  if (names.includes(META_FILE)) {
    const f = await fsys.open(metaPath, 'r');
    const b = Buffer.alloc(64);
    let got: number;
    try {
      got = await f.read(b, 0, 64, 0);
    } finally {
      await f.close();
    }
    const meta = decodeMeta(b.subarray(0, got));
    if (!meta) {
      if (opts.onCorruption !== 'truncate') throw corruption(metaPath, 0, 'unreadable meta file');
      actions.push('ignored an unreadable wal.meta (onCorruption=truncate)');
    } else {
      metaStart = meta.firstIndex;
      metaNewest = meta.newestSegment;
    }
  }
  const metaFound = { start: metaStart, newest: metaNewest };

  const segFirsts = names
    .map((n) => parseSegmentName(n))
    .filter((n): n is number => n !== undefined)
    .sort((a, b) => a - b);
  const segSet = new Set(segFirsts);

  // Case: the newest segment recorded in wal.meta is missing (deleted, or the log's only segment
  // deleted) → corruption: records are lost, where an older build would have started the log anew.
  const newestOnDisk = segFirsts[segFirsts.length - 1];
  if (
    metaNewest !== undefined &&
    metaNewest > 0 &&
    (newestOnDisk === undefined || newestOnDisk < metaNewest)
  ) {
    const msg =
      `the newest segment recorded in wal.meta, ${segmentFileName(metaNewest)}, is missing ` +
      `(${newestOnDisk === undefined ? 'no segment is left' : `the newest left is ${segmentFileName(newestOnDisk)}`}): ` +
      `the records from index ${metaNewest} on are lost`;
    if (opts.onCorruption !== 'truncate') throw corruption(metaPath, 24, msg);
    corruptionTruncated = true;
    actions.push(msg);
    logger.error('wal: corruption accepted (onCorruption=truncate)', { dir, reason: msg });
  }

  /**
   * Before the newest segment is removed, wal.meta stops naming it (durably), so that a crash
   * between the two never leaves a meta naming a segment that is gone.
   */
  const unrecordNewest = async (removedFirst: number, newestLeft: number): Promise<void> => {
    if (metaStart === undefined || metaNewest === undefined || metaNewest < removedFirst) return;
    await writeMetaFile(fsys, dir, { firstIndex: metaStart, newestSegment: newestLeft }, true);
    metaNewest = newestLeft;
  };

  // Index files without a segment → remove.
  for (const name of names) {
    const first = parseIndexName(name);
    if (first !== undefined && !segSet.has(first)) {
      await fsys.unlink(path.join(dir, name));
      dirDirty = true;
    }
  }

  const mkSeg = (first: number, createdAtMs: number, size: number): Segment =>
    new Segment(
      first,
      createdAtMs,
      path.join(dir, segmentFileName(first)),
      path.join(dir, indexFileName(first)),
      size,
    );

  const removeSegmentFiles = async (first: number, why: string): Promise<void> => {
    await fsys.unlink(path.join(dir, segmentFileName(first)));
    await unlinkIfExists(fsys, path.join(dir, indexFileName(first)));
    segmentsRemoved++;
    dirDirty = true;
    actions.push(`removed segment ${segmentFileName(first)}: ${why}`);
    logger.warn('wal: removed segment', { dir, file: segmentFileName(first), reason: why });
  };

  /** Copies bytes [from, size) of a file into a `.broken` file beside it (bounded), durably. */
  const copyBroken = async (file: WalFile, filePath: string, from: number, size: number): Promise<void> => {
    const brokenPath = `${filePath}.at-${from}.broken`;
    const n = Math.min(size - from, opts.maxBrokenCopyBytes);
    const out = await fsys.open(brokenPath, 'w');
    try {
      const chunk = Buffer.allocUnsafe(Math.min(Math.max(n, 1), SCAN_CHUNK_BYTES));
      for (let done = 0; done < n;) {
        const got = await file.read(chunk, 0, Math.min(chunk.length, n - done), from + done);
        if (got === 0) break;
        await out.write(chunk.subarray(0, got), done);
        done += got;
      }
      await out.datasync();
    } finally {
      await out.close();
    }
    await fsys.fsyncDir(dir);
    brokenFiles.push(brokenPath);
  };

  /** The segments recovered so far, oldest first. */
  const segments: Segment[] = [];

  /** Moves whole segments aside as `.broken` (operator-requested repair of a corruption). */
  const setAside = async (firsts: readonly number[]): Promise<void> => {
    if (firsts.length > 0) await unrecordNewest(firsts[0]!, segments[segments.length - 1]?.firstIndex ?? 0);
    for (const first of firsts) {
      const p = path.join(dir, segmentFileName(first));
      const st = await fsys.stat(p);
      await fsys.rename(p, `${p}.broken`);
      await unlinkIfExists(fsys, path.join(dir, indexFileName(first)));
      brokenFiles.push(`${p}.broken`);
      bytesCut += st?.size ?? 0;
      segmentsRemoved++;
    }
    if (firsts.length > 0) {
      await fsys.fsyncDir(dir);
      actions.push(
        `set aside ${firsts.length} later segment(s) as .broken after a corruption (onCorruption=truncate)`,
      );
    }
  };

  // Segments wholly below the durable first index (a prefix truncation was interrupted) → remove.
  let firsts = segFirsts;
  if (metaStart !== undefined) {
    const start = metaStart;
    const below = firsts.filter((f, i) => i + 1 < firsts.length && firsts[i + 1]! <= start);
    for (const f of below) await removeSegmentFiles(f, `below the first index ${start}`);
    firsts = firsts.filter((f) => !below.includes(f));
  }

  for (let i = 0; i < firsts.length; i++) {
    const first = firsts[i]!;
    const isLast = i === firsts.length - 1;
    const segPath = path.join(dir, segmentFileName(first));
    const prev = segments[segments.length - 1];

    // Case: a segment missing from the sequence → corruption.
    if (prev && prev.lastIndex + 1 !== first) {
      const msg = `missing segment: ${segmentFileName(prev.firstIndex)} ends at index ${prev.lastIndex} but the next segment starts at ${first}`;
      if (opts.onCorruption !== 'truncate') throw corruption(segPath, 0, msg);
      corruptionTruncated = true;
      actions.push(msg);
      logger.error('wal: corruption repaired by truncation', { dir, file: segPath, reason: msg });
      await setAside(firsts.slice(i));
      break;
    }

    const file = await fsys.open(segPath, isLast ? 'r+' : 'r');
    let keepOpen = false;
    try {
      const fileSize = await file.size();
      const hb = Buffer.alloc(SEGMENT_HEADER_BYTES);
      const hgot = await file.read(hb, 0, SEGMENT_HEADER_BYTES, 0);
      const hdr = decodeSegmentHeader(hb.subarray(0, hgot));
      if (!hdr.ok) {
        // Case: the last segment is shorter than its header or its header was never written → remove it.
        if (isLast && (hdr.reason === 'short' || (hdr.reason === 'zero' && isZeroFile(fileSize)))) {
          await file.close().catch(() => {});
          await unrecordNewest(first, segments[segments.length - 1]?.firstIndex ?? 0);
          await removeSegmentFiles(
            first,
            `last segment shorter than its header or never written (${fileSize} bytes)`,
          );
          keepOpen = true; // already closed
          break;
        }
        if (isLast && hdr.reason === 'zero') {
          const rest = Buffer.alloc(Math.min(fileSize, FOLLOW_SEARCH_BYTES));
          const got = await file.read(rest, 0, rest.length, 0);
          if (isZero(rest.subarray(0, got)) && got === fileSize) {
            await file.close().catch(() => {});
            await unrecordNewest(first, segments[segments.length - 1]?.firstIndex ?? 0);
            await removeSegmentFiles(
              first,
              `last segment is all zeros (${fileSize} bytes): created, never written`,
            );
            keepOpen = true;
            break;
          }
        }
        // Case: a damaged segment header anywhere else → corruption.
        const msg = `bad segment header (${hdr.reason})`;
        if (opts.onCorruption !== 'truncate') throw corruption(segPath, 0, msg);
        corruptionTruncated = true;
        actions.push(`${msg} in ${segPath}`);
        await file.close().catch(() => {});
        keepOpen = true;
        await setAside(firsts.slice(i));
        break;
      }
      if (hdr.header.firstIndex !== first) {
        const msg = `segment header says first index ${hdr.header.firstIndex} but the file name says ${first}`;
        if (opts.onCorruption !== 'truncate') throw corruption(segPath, 16, msg);
        corruptionTruncated = true;
        actions.push(msg);
        await file.close().catch(() => {});
        keepOpen = true;
        await setAside(firsts.slice(i));
        break;
      }

      const seg = mkSeg(first, hdr.header.createdAtMs, fileSize);
      const nextFirst = firsts[i + 1];
      const loaded =
        !isLast &&
        opts.verify === 'tail' &&
        (await tryLoadIndex(fsys, seg, fileSize, nextFirst === undefined ? undefined : nextFirst - 1));
      // The last segment: checked from the end of its prefix index on, when it has a usable one.
      const scanFrom =
        !loaded && isLast && opts.verify === 'tail'
          ? await tryLoadTailIndex(fsys, file, seg, fileSize, opts.maxRecordBytes)
          : undefined;
      if (scanFrom !== undefined) tailIndexedBytes = scanFrom;
      if (!loaded) {
        const scan = await scanRecords(file, fileSize, seg, opts, scanFrom);
        if (scan.bad) {
          const { position, reason } = scan.bad;
          const follows =
            isLast &&
            (await validRecordFollows(file, fileSize, position, seg.lastIndex, opts.maxRecordBytes));
          if (isLast && !follows) {
            // Case: torn tail of the last segment (short header, short payload, bad CRC, zeros) → cut it.
            await copyBroken(file, segPath, position, fileSize);
            await file.truncate(position);
            await file.datasync();
            bytesCut += fileSize - position;
            actions.push(
              `cut torn tail of ${segmentFileName(first)} at byte ${position} (${reason}, ${fileSize - position} bytes)`,
            );
            logger.warn('wal: cut torn tail', {
              dir,
              file: segPath,
              position,
              reason,
              bytesCut: fileSize - position,
              lastGoodIndex: seg.lastIndex,
              broken: brokenFiles[brokenFiles.length - 1],
            });
          } else {
            // Case: a bad record anywhere else (or followed by valid records) → corruption.
            const msg = `bad record (${reason}) after index ${seg.lastIndex}${follows ? ', followed by valid records' : ''}`;
            if (opts.onCorruption !== 'truncate') throw corruption(segPath, position, msg);
            corruptionTruncated = true;
            // A middle segment was opened read only; it becomes the last one, open for writing.
            const wf = isLast ? file : await fsys.open(segPath, 'r+');
            await copyBroken(wf, segPath, position, fileSize);
            await wf.truncate(position);
            await wf.datasync();
            bytesCut += fileSize - position;
            actions.push(`${msg} in ${segPath}: cut at byte ${position} (onCorruption=truncate)`);
            logger.error('wal: corruption repaired by truncation', { dir, file: segPath, position, reason });
            if (!isLast) {
              seg.size = position;
              segments.push(seg);
              await setAside(firsts.slice(i + 1));
              await file.close();
              keepOpen = true;
              seg.writer = new SharedFile(wf);
              await unlinkIfExists(fsys, seg.indexPath);
              break;
            }
          }
          seg.size = position;
        } else if (!isLast && !(await indexIsCurrent(fsys, seg, fileSize))) {
          await writeIndexFile(fsys, seg);
          indexesRebuilt++;
        }
      }
      segments.push(seg);
      if (isLast) {
        seg.writer = new SharedFile(file);
        keepOpen = true;
        // The active segment's index lives in memory; an index file for it is stale unless it was
        // used as its prefix index (it still describes the start of the segment).
        if (scanFrom === undefined && (await unlinkIfExists(fsys, seg.indexPath))) dirDirty = true;
      }
    } finally {
      if (!keepOpen) await file.close();
    }
  }

  // Case: the last segment is empty (only a header, or everything was torn) → remove it.
  let last = segments[segments.length - 1];
  if (last && last.recordCount === 0) {
    last.writer?.retire();
    segments.pop();
    await unrecordNewest(last.firstIndex, segments[segments.length - 1]?.firstIndex ?? 0);
    await removeSegmentFiles(last.firstIndex, 'last segment holds no records');
    last = segments[segments.length - 1];
    if (last) {
      // The previous segment becomes the active one.
      last.writer = new SharedFile(await fsys.open(last.path, 'r+'));
      await unlinkIfExists(fsys, last.indexPath);
    }
  }

  // Case: the last segment(s) wholly below the durable first index → remove.
  let startIndex = metaStart ?? segments[0]?.firstIndex ?? opts.initialIndex;
  while (
    metaStart !== undefined &&
    segments.length > 0 &&
    segments[segments.length - 1]!.lastIndex < metaStart
  ) {
    const s = segments.pop()!;
    s.writer?.retire();
    await unrecordNewest(s.firstIndex, segments[segments.length - 1]?.firstIndex ?? 0);
    await removeSegmentFiles(s.firstIndex, `below the first index ${metaStart}`);
  }
  while (metaStart !== undefined && segments.length > 0 && segments[0]!.lastIndex < metaStart) {
    const s = segments.shift()!;
    await removeSegmentFiles(s.firstIndex, `below the first index ${metaStart}`);
  }
  // Case: the first segment starts after the durable first index → records are missing.
  const head = segments[0];
  if (head && head.firstIndex > startIndex) {
    const msg = `the log should start at index ${startIndex} but its first segment starts at ${head.firstIndex}`;
    if (opts.onCorruption !== 'truncate') {
      for (const s of segments) s.writer?.retire();
      throw corruption(head.path, 0, msg);
    }
    corruptionTruncated = true;
    actions.push(msg);
    startIndex = head.firstIndex;
  }

  // wal.meta records where the log starts and its newest segment from its first segment on: write
  // it when it is missing (a log of an older build), of version 1, or behind what is on disk (a
  // crash lost the rename of a roll's meta). A log that never had a segment has none.
  const newest = segments[segments.length - 1]?.firstIndex ?? 0;
  if (
    (segments.length > 0 || metaStart !== undefined) &&
    (metaNewest !== newest || metaStart !== startIndex)
  ) {
    await writeMetaFile(fsys, dir, { firstIndex: startIndex, newestSegment: newest }, true);
    if (metaFound.start === undefined || metaFound.newest === undefined)
      actions.push(
        `recorded the first index ${startIndex} and the newest segment in wal.meta (${metaFound.start === undefined ? 'it had none' : 'version 1'})`,
      );
  }

  if (dirDirty) await fsys.fsyncDir(dir);
  const lastIndex = segments.length > 0 ? segments[segments.length - 1]!.lastIndex : startIndex - 1;
  const records = segments.reduce((n, s) => n + s.lastIndex - Math.max(s.firstIndex, startIndex) + 1, 0);
  const summary: RecoverySummary = {
    dir,
    segments: segments.length,
    records,
    firstIndex: startIndex,
    lastIndex,
    bytesCut,
    brokenFiles,
    segmentsRemoved,
    tempFilesRemoved,
    indexesRebuilt,
    tailIndexedBytes,
    corruptionTruncated,
    actions,
  };
  logger.info('wal recovered', {
    ...summary,
    brokenFiles: brokenFiles.join(','),
    actions: actions.join('; '),
  });
  return { segments, startIndex, summary };

  function isZeroFile(size: number): boolean {
    return size <= SEGMENT_HEADER_BYTES;
  }
}

function segmentFileName(first: number): string {
  return `${String(first).padStart(20, '0')}.log`;
}
