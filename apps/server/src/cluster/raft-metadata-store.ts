// The metadata of a raft-cluster: @chronik/metadata's state machine replicated by the metadata Raft
// group (group 1, on the initial voters). A commit is proposed on the metadata leader from any node
// (RaftHost.proposeOrForward) and answered once applied on this node, with this node's result:
// read-your-writes on every node. No reachable leader: NOT_CONTROLLER (Kafka's retriable answer to
// admin requests that cannot reach the controller).
// Every commit carries a request id, `<node id>-<16 hex digits drawn once per process>-<sequence>`:
// proposeOrForward may propose a command again after a forward whose answer was lost had committed
// it, and the state machine answers such a retry with the first outcome instead of applying it
// twice (a retried CreateTopics would otherwise get TOPIC_ALREADY_EXISTS for its own topic).
import type { Random } from '@chronik/env';
import type { ApplyResult, MetadataCommand } from '@chronik/metadata';
import { MetadataStateMachine, encodeCommand } from '@chronik/metadata';
import type { ConfState, Entry } from '@chronik/raft';
import type { RaftHost } from '@chronik/raft-host';
import { KafkaError } from '../errors.js';
import type { Logger } from '../logger.js';
import { toKafkaError } from '../error-map.js';
import type { MetadataGroupStatus, MetadataStore } from '../services/metadata-store.js';
import { METADATA_GROUP_ID } from './group-ids.js';

export interface RaftMetadataStoreOptions {
  host: RaftHost;
  /** The initial voters (this node included), used only when the group has no state yet. */
  voters: readonly number[];
  /** Whether this node may create the group from nothing (`--bootstrap`). */
  bootstrap: boolean;
  /** Time a commit may take, forwarding included. */
  timeoutMs: number;
  /** Draws the per-process part of the request ids (unique across restarts of this node). */
  random: Random;
  logger: Logger;
  /**
   * The metadata log holds an entry this node cannot apply (written by newer code), or the metadata
   * group stopped (RaftHost: a broken invariant of the Raft core, a failed disk): this node must
   * stop rather than serve a state that diverges from the others'.
   */
  fatal(error: Error): void;
}

/** The members of the metadata group in a Raft configuration (both halves of a joint one). */
function membershipOf(c: ConfState): { voters: number[]; learners: number[] } {
  return { voters: [...new Set([...c.voters, ...c.votersOutgoing])], learners: [...c.learners] };
}

export class RaftMetadataStore implements MetadataStore {
  readonly state = new MetadataStateMachine();
  private stopped: Error | null = null;
  /** `<node id>-<16 hex digits>-`: every request id of this process starts with it. */
  private readonly requestIdPrefix: string;
  private requestSeq = 0;

  private constructor(private readonly options: RaftMetadataStoreOptions) {
    this.requestIdPrefix = `${options.host.nodeId}-${options.random.bytes(8).toString('hex')}-`;
  }

  /** Opens (recovers) the metadata group; never waits for a leader. */
  static async open(options: RaftMetadataStoreOptions): Promise<RaftMetadataStore> {
    const store = new RaftMetadataStore(options);
    await options.host.openGroup({
      groupId: METADATA_GROUP_ID,
      stateMachine: {
        apply: (e: Entry) => store.apply(e),
        snapshot: () => store.state.snapshot(),
        // The bootstrap snapshot (index 1, the initial voters) carries no state machine data. The
        // group's configuration as of the snapshot is the members' (not in the state machine's
        // own snapshot); later membership changes follow in log order (onConfChange).
        restore: (data, metadata) => {
          store.state.restore(data.length > 0 ? data : new MetadataStateMachine().snapshot());
          store.state.setMembership(membershipOf(metadata.confState));
        },
        onConfChange: (confState) => store.state.setMembership(membershipOf(confState)),
        onStopped: (e) => store.stop(e, 'the metadata group stopped: this node stops applying metadata'),
      },
      bootstrapVoters: options.bootstrap ? [...options.voters].sort((a, b) => a - b) : [],
      snapshotEveryEntries: 10_000,
      keepEntriesAfterSnapshot: 1_000,
      // Metadata is small and rare: every commit is stored, so a restarted node knows every topic
      // and broker at once, before a leader is elected (partition groups store theirs lazily).
      commitPersistTicks: 0,
    });
    return store;
  }

  private apply(e: Entry): ApplyResult | undefined {
    if (this.stopped !== null) return undefined;
    let r: ApplyResult;
    try {
      r = this.state.apply(e.index, e.data);
    } catch (err) {
      this.stop(err, 'metadata entry cannot be applied: this node stops applying metadata', e.index);
      return undefined;
    }
    if (!r.ok)
      this.options.logger.debug(
        { index: e.index, code: r.error.code, err: r.error.message },
        'metadata command rejected',
      );
    return r;
  }

  /** Stops applying and serving metadata for good, and stops the broker (after this call stack). */
  private stop(err: unknown, why: string, index?: number): void {
    if (this.stopped !== null) return;
    const stopped = err instanceof Error ? err : new Error(String(err));
    this.stopped = stopped;
    this.options.logger.error({ ...(index !== undefined ? { index } : {}), err: stopped.message }, why);
    queueMicrotask(() => this.options.fatal(stopped));
  }

  async commit(command: MetadataCommand): Promise<ApplyResult> {
    if (this.stopped !== null)
      throw new KafkaError(
        'KAFKA_STORAGE_ERROR',
        `this node stopped applying metadata: ${this.stopped.message}`,
      );
    let out;
    try {
      // One id per commit; proposeOrForward's retries carry the same bytes, so the same id.
      const requestId = `${this.requestIdPrefix}${++this.requestSeq}`;
      out = await this.options.host.proposeOrForward(
        METADATA_GROUP_ID,
        encodeCommand(command, { requestId }),
        this.options.timeoutMs,
      );
    } catch (e) {
      const k = toKafkaError(e, 'metadata proposal');
      throw k.code === 'NOT_LEADER_OR_FOLLOWER'
        ? new KafkaError('NOT_CONTROLLER', k.message, { cause: e })
        : k;
    }
    const r = out.result as ApplyResult | undefined;
    if (r === undefined)
      throw new KafkaError('UNKNOWN_SERVER_ERROR', 'metadata entry applied without a result');
    return r;
  }

  leaderId(): number {
    const s = this.options.host.hasGroup(METADATA_GROUP_ID)
      ? this.options.host.status(METADATA_GROUP_ID)
      : undefined;
    return s?.leaderId ?? -1;
  }

  status(): MetadataGroupStatus {
    const s = this.options.host.hasGroup(METADATA_GROUP_ID)
      ? this.options.host.status(METADATA_GROUP_ID)
      : undefined;
    return {
      leaderId: s?.leaderId ?? -1,
      term: s?.term ?? 0,
      commitIndex: s?.commitIndex ?? 0,
      appliedIndex: s?.appliedIndex ?? 0,
      voters: s?.voters ?? [],
      learners: s?.learners ?? [],
    };
  }
}
