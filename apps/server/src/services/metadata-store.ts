// Where the broker's metadata (topics, partitions, configs, brokers, producer-id blocks) lives: one
// @chronik/metadata state machine per node, changed only by committing commands. Every metadata
// service (topic-admin.ts, producer-ids.ts, coordinators.ts, metadata-cache.ts, the partition
// manager) is written once over this seam:
// - standalone: LocalMetadataStore (below) applies commands here and persists the state;
// - raft-cluster: RaftMetadataStore (src/cluster/raft-metadata-store.ts) proposes them to the
//   metadata Raft group, from any node.
import path from 'node:path';
import type { ApplyResult, MetadataCommand } from '@chronik/metadata';
import { MetadataStateMachine } from '@chronik/metadata';
import type { FileSystem } from '@chronik/wal';
import { KafkaError } from '../errors.js';
import type { Logger } from '../logger.js';
import { readWholeFile, writeFileAtomic } from '../storage/files.js';

/** The metadata group as the admin API reports it. */
export interface MetadataGroupStatus {
  leaderId: number;
  term: number;
  commitIndex: number;
  appliedIndex: number;
  voters: readonly number[];
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

const SNAPSHOT_FILE = 'snapshot.bin';

/**
 * The metadata of a single node: commands apply to the state machine at once, and the whole state
 * is then written as an atomic snapshot (`<dir>/snapshot.bin`) before the commit resolves.
 * Commands committed while a snapshot is being written are applied together and persisted with one
 * write (group commit), so creating a topic of many partitions does not write the file per partition.
 */
export class LocalMetadataStore implements MetadataStore {
  private queue: Array<{
    command: MetadataCommand;
    resolve(r: ApplyResult): void;
    reject(e: unknown): void;
  }> = [];
  private draining = false;

  private constructor(
    readonly state: MetadataStateMachine,
    private readonly nodeId: number,
    private readonly fs: FileSystem,
    private readonly dir: string,
    private readonly logger: Logger,
  ) {}

  /** Loads `<dir>/snapshot.bin` when there is one. */
  static async open(options: {
    nodeId: number;
    fs: FileSystem;
    dir: string;
    logger: Logger;
  }): Promise<LocalMetadataStore> {
    await options.fs.mkdir(options.dir);
    const raw = await readWholeFile(options.fs, path.join(options.dir, SNAPSHOT_FILE));
    const sm = raw === undefined ? new MetadataStateMachine() : MetadataStateMachine.fromSnapshot(raw);
    return new LocalMetadataStore(sm, options.nodeId, options.fs, options.dir, options.logger);
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
      if (results.some((x) => x.ok && x.r.ok)) {
        try {
          await writeFileAtomic(this.fs, path.join(this.dir, SNAPSHOT_FILE), this.state.snapshot());
        } catch (e) {
          persisted = e;
          this.logger.error(
            { err: e instanceof Error ? e.message : String(e) },
            'writing the metadata snapshot failed: metadata changes are not durable',
          );
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
