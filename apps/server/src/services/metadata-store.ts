// Where the broker's metadata (topics, partitions, configs, brokers, producer-id blocks) lives: one
// @chronik/metadata state machine per node, changed only by committing commands. Every metadata
// service (topic-admin.ts, producer-ids.ts, coordinators.ts, metadata-cache.ts, the partition
// manager) is written once over this seam:
// - standalone: LocalMetadataStore (below) applies commands here and persists the state;
// - raft-cluster: RaftMetadataStore (src/cluster/raft-metadata-store.ts) proposes them to the
//   metadata Raft group, from any node.
import path from 'node:path';
import type { FileSystem } from '@chronik/env';
import type { ApplyResult, MetadataChange, MetadataCommand } from '@chronik/metadata';
import { MetadataStateMachine } from '@chronik/metadata';
import { crc32c } from '@chronik/wal';
import { KafkaError, ServerError, ServerErrorCode, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { readWholeFile, writeFileAtomic } from '../storage/files.js';

/** The metadata group as the admin API reports it. */
export interface MetadataGroupStatus {
  leaderId: number;
  term: number;
  commitIndex: number;
  appliedIndex: number;
  voters: readonly number[];
  /** Members that do not vote yet (a node being added catches up as a learner). */
  learners?: readonly number[];
}

export interface MetadataStore {
  /** This node's applied state (read it; change it only through commit). */
  readonly state: MetadataStateMachine;
  /**
   * Commits a command and resolves with this node's result of applying it, once applied here (and
   * as durable as the store makes metadata: persisted, or committed by a majority). Failures to
   * reach the store are KafkaErrors (NOT_CONTROLLER, REQUEST_TIMED_OUT, KAFKA_STORAGE_ERROR); a
   * command the state machine rejects resolves with `ok: false`.
   */
  commit(command: MetadataCommand): Promise<ApplyResult>;
  /** The node that applies metadata changes first (the controller), -1 when none is known. */
  leaderId(): number;
  status(): MetadataGroupStatus;
}

/** Commits a command and returns its changes; a rejected command throws its MetadataError as a KafkaError. */
export async function commitOk(
  store: MetadataStore,
  command: MetadataCommand,
): Promise<ApplyResult & { ok: true }> {
  const r = await store.commit(command);
  if (!r.ok) throw new KafkaError(r.error.code, r.error.message, { cause: r.error });
  return r;
}

export const SNAPSHOT_FILE = 'snapshot.bin';

/**
 * The snapshot file (envelope version 1), all integers little-endian:
 *
 * | bytes | field                                   |
 * | ----- | --------------------------------------- |
 * | 0–3   | magic `CKMS`                            |
 * | 4–7   | envelope version, 1                     |
 * | 8–11  | payload length                          |
 * | 12–15 | CRC-32C of bytes 0–11                   |
 * | 16–19 | CRC-32C of the payload                  |
 * | 20–   | the state machine's snapshot (msgpack)  |
 *
 * Builds before the envelope wrote the bare msgpack snapshot, without a checksum. Such a file is
 * read once for the upgrade (there is nothing to check it against; the state machine's decoder
 * still refuses what it cannot parse), logged at warn, and rewritten in the envelope at once. The
 * data format is pre-1.0: this fallback goes once every data directory has been upgraded.
 */
const SNAPSHOT_MAGIC = 0x534d4b43; // 'CKMS' read as a little-endian u32
const SNAPSHOT_ENVELOPE_VERSION = 1;
const SNAPSHOT_HEADER_BYTES = 20;

/** The snapshot file's bytes: the envelope around the state machine's snapshot. */
export function encodeSnapshotFile(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(SNAPSHOT_HEADER_BYTES + payload.length);
  out.writeUInt32LE(SNAPSHOT_MAGIC, 0);
  out.writeUInt32LE(SNAPSHOT_ENVELOPE_VERSION, 4);
  out.writeUInt32LE(payload.length, 8);
  out.writeUInt32LE(crc32c(out.subarray(0, 12)), 12);
  out.writeUInt32LE(crc32c(payload), 16);
  out.set(payload, SNAPSHOT_HEADER_BYTES);
  return out;
}

/** The refusal of a damaged snapshot file: names the file and what is wrong with it. */
function damaged(file: string, what: string, cause?: unknown): ServerError {
  return new ServerError(
    ServerErrorCode.DATA_DIR_CORRUPT,
    `metadata snapshot ${file} is damaged: ${what}; refusing to start (restore the file from a backup)`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * The state machine's snapshot inside a snapshot file (`legacy` when the file has no envelope: an
 * older build's). Throws ServerError DATA_DIR_CORRUPT naming `file` and what is wrong with it.
 */
export function decodeSnapshotFile(file: string, raw: Buffer): { payload: Uint8Array; legacy: boolean } {
  if (raw.length === 0) throw damaged(file, 'the file is empty');
  if (raw.length < 4 || raw.readUInt32LE(0) !== SNAPSHOT_MAGIC) return { payload: raw, legacy: true };
  if (raw.length < SNAPSHOT_HEADER_BYTES)
    throw damaged(file, `${raw.length} bytes, shorter than its ${SNAPSHOT_HEADER_BYTES}-byte header`);
  if (raw.readUInt32LE(12) !== crc32c(raw.subarray(0, 12))) throw damaged(file, 'header checksum mismatch');
  const version = raw.readUInt32LE(4);
  if (version !== SNAPSHOT_ENVELOPE_VERSION)
    throw new ServerError(
      ServerErrorCode.DATA_DIR_CORRUPT,
      `metadata snapshot ${file} has envelope version ${version}; this build reads ${SNAPSHOT_ENVELOPE_VERSION} (written by a newer build?)`,
    );
  const length = raw.readUInt32LE(8);
  if (raw.length !== SNAPSHOT_HEADER_BYTES + length)
    throw damaged(
      file,
      `${raw.length - SNAPSHOT_HEADER_BYTES} payload bytes where the header says ${length}`,
    );
  const payload = raw.subarray(SNAPSHOT_HEADER_BYTES);
  if (raw.readUInt32LE(16) !== crc32c(payload)) throw damaged(file, 'payload checksum mismatch');
  return { payload, legacy: false };
}

/** The state in a snapshot file (see decodeSnapshotFile). */
function readSnapshotFile(file: string, raw: Buffer): { sm: MetadataStateMachine; legacy: boolean } {
  const { payload, legacy } = decodeSnapshotFile(file, raw);
  try {
    return { sm: MetadataStateMachine.fromSnapshot(payload), legacy };
  } catch (e) {
    throw damaged(
      file,
      legacy
        ? `no checksummed header, and not readable as an older build's unchecksummed snapshot either (${errorMessage(e)})`
        : `its checksums match but the state cannot be read (${errorMessage(e)})`,
      e,
    );
  }
}

/**
 * The metadata of a single node: commands apply to the state machine at once, and the whole state
 * is then written as an atomic snapshot (`<dir>/snapshot.bin`) before the commit resolves.
 * Commands committed while a snapshot is being written are applied together and persisted with one
 * write (group commit), so creating a topic of many partitions does not write the file per partition.
 *
 * The state never stays ahead of the file: when the write fails (a full disk), the batch's commits
 * are answered KAFKA_STORAGE_ERROR and the state goes back to the last one written (subscribers get
 * a resync). `durable()` tells those who act on applied changes (removing a deleted topic's data)
 * when the changes are on disk.
 */
export class LocalMetadataStore implements MetadataStore {
  private queue: Array<{
    command: MetadataCommand;
    resolve(r: ApplyResult): void;
    reject(e: unknown): void;
  }> = [];
  private draining = false;
  /** The write of the batch applied last: settles once it is durable, or failed and was undone. */
  private persisting: Promise<void> = Promise.resolve();

  private constructor(
    readonly state: MetadataStateMachine,
    /** The state machine's snapshot as the file holds it: what the state goes back to. */
    private persisted: Uint8Array,
    private readonly nodeId: number,
    private readonly fs: FileSystem,
    private readonly dir: string,
    private readonly logger: Logger,
    private readonly beforeDurable: ((changes: readonly MetadataChange[]) => Promise<void>) | undefined,
  ) {}

  /**
   * Loads `<dir>/snapshot.bin` when there is one. A damaged file (checksum, length, or a state the
   * state machine cannot read) is refused with ServerError DATA_DIR_CORRUPT naming it; a legacy
   * file without a checksum is read and rewritten with one.
   */
  static async open(options: {
    nodeId: number;
    fs: FileSystem;
    dir: string;
    logger: Logger;
    /**
     * Called with a batch's changes before the snapshot holding them is written (standalone: the
     * directories of new partitions are created, so that a partition the file names always has
     * one). A failure fails the batch like a failed write.
     */
    beforeDurable?: (changes: readonly MetadataChange[]) => Promise<void>;
  }): Promise<LocalMetadataStore> {
    await options.fs.mkdir(options.dir);
    const file = path.join(options.dir, SNAPSHOT_FILE);
    const raw = await readWholeFile(options.fs, file);
    let sm = new MetadataStateMachine();
    if (raw !== undefined) {
      const read = readSnapshotFile(file, raw);
      sm = read.sm;
      if (read.legacy) {
        options.logger.warn(
          { file },
          'metadata snapshot written by an older build (no checksum): rewriting it with one',
        );
        await writeFileAtomic(options.fs, file, encodeSnapshotFile(sm.snapshot()));
      }
    }
    return new LocalMetadataStore(
      sm,
      sm.snapshot(),
      options.nodeId,
      options.fs,
      options.dir,
      options.logger,
      options.beforeDurable,
    );
  }

  /**
   * Resolves once every change applied so far is in the snapshot on disk; rejects when writing it
   * failed (the state then went back to the last snapshot written, without those changes).
   */
  durable(): Promise<void> {
    return this.persisting;
  }

  commit(command: MetadataCommand): Promise<ApplyResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ command, resolve, reject });
      if (!this.draining) {
        this.draining = true;
        queueMicrotask(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0);
      const results: Array<{ ok: true; r: ApplyResult } | { ok: false; e: unknown }> = batch.map(
        ({ command }) => {
          try {
            return { ok: true, r: this.state.applyCommand(this.state.appliedIndex + 1, command) };
          } catch (e) {
            return { ok: false, e };
          }
        },
      );
      let persisted: unknown = null;
      let settle: ((e: unknown) => void) | undefined;
      const changes = results.flatMap((x) => (x.ok && x.r.ok ? x.r.changes : []));
      if (results.some((x) => x.ok && x.r.ok)) {
        const persisting = new Promise<void>((resolve, reject) => {
          settle = (e) => (e === null ? resolve() : reject(e));
        });
        persisting.catch(() => undefined);
        this.persisting = persisting;
        try {
          await this.beforeDurable?.(changes);
          const snapshot = this.state.snapshot();
          await writeFileAtomic(this.fs, path.join(this.dir, SNAPSHOT_FILE), encodeSnapshotFile(snapshot));
          this.persisted = snapshot;
        } catch (e) {
          persisted = e;
          this.logger.error(
            { err: errorMessage(e) },
            'writing the metadata snapshot failed: the changes are undone and their commits fail',
          );
          this.state.restore(this.persisted);
          this.persisting = Promise.resolve();
        }
      }
      batch.forEach((c, i) => {
        const x = results[i] as (typeof results)[number];
        if (!x.ok) c.reject(x.e);
        else if (persisted !== null)
          c.reject(
            new KafkaError('KAFKA_STORAGE_ERROR', `the metadata could not be written: ${String(persisted)}`, {
              cause: persisted,
            }),
          );
        else c.resolve(x.r);
      });
      settle?.(persisted);
    }
    this.draining = false;
  }

  leaderId(): number {
    return this.nodeId;
  }

  status(): MetadataGroupStatus {
    const applied = this.state.appliedIndex;
    return {
      leaderId: this.nodeId,
      term: 1,
      commitIndex: applied,
      appliedIndex: applied,
      voters: [this.nodeId],
    };
  }
}
