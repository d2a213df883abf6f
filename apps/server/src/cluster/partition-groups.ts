// The raft-cluster's PartitionFactory: every partition replica set is its own Raft group on this
// node's RaftHost (group id: group-ids.ts), whose voters are the assigned replicas and whose log is
// the partition's log (partition/replicated-partition.ts). Its data is `<raftDir>/group-<id>/`.
//
// A new replica (no group folder here yet) founds the group with the replicas it was created with
// only while the partition never had a leader; otherwise — a replica a reassignment adds
// (partition-mover.ts), or one whose node was away when the group formed — it joins: it opens empty
// with no membership of its own, cannot campaign, and learns the membership from the leader's
// snapshot and log (the leader adds it as a learner first when it is new to the group). A replica
// opened to rebuild (PartitionSpec.rebuild, replica-repair.ts) discards its damaged or lost copy and
// starts empty the same way: the leader made it a learner first, and sends it a snapshot and the log. `<raftDir>/group-<id>.rebuild-<request>` marks a folder as
// the rebuild of that request (durable after the old folder's removal is), so that a restart during
// the rebuild goes on from what was received instead of discarding it again — and never takes the
// damaged copy for a rebuilt one.
import path from 'node:path';
import type { Clock, FileSystem, Scheduler } from '@chronik/env';
import { StateType } from '@chronik/raft';
import { NO_NODE } from '@chronik/raft-host';
import type { RaftHost } from '@chronik/raft-host';
import { isWalError, WalErrorCode } from '@chronik/wal';
import { KafkaError, ServerError, ServerErrorCode, isServerError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { PartitionGroup } from '../partition/replicated-partition.js';
import { ReplicatedPartition } from '../partition/replicated-partition.js';
import type { ManagedPartition, PartitionEvents } from '../partition/types.js';
import type { PartitionFactory, PartitionSpec } from '../services/partition-manager.js';
import type { GroupManifest } from './group-manifest.js';
import { partitionGroupId } from './group-ids.js';

/** Partition WAL segments: bounds around the topic's segment.bytes (see segmentBytesOf). */
const MIN_PARTITION_SEGMENT_BYTES = 256 * 1024;
const MAX_PARTITION_SEGMENT_BYTES = 64 * 1024 * 1024;
/** RaftHost's largest entry (a batch is one entry). */
const MAX_ENTRY_BYTES = 16 * 1024 * 1024;
/**
 * A new group's preferred replica campaigns this long after opening it, and again as often while no
 * leader is known, at most FIRST_CAMPAIGN_TRIES times: its peers open the group when they apply the
 * same metadata change, possibly later (a loaded node, thousands of groups opening), and drop its
 * vote requests until then. Retrying well inside their election timeout (electionTicks ticks, 1-2 s
 * by default) lets the preferred replica win once they have opened it, instead of whichever replica's
 * timer fires first (about a third of a new topic's leaders landed elsewhere with one try).
 */
const FIRST_CAMPAIGN_DELAY_MS = 300;
const FIRST_CAMPAIGN_TRIES = 20;

export interface PartitionGroupsOptions {
  host: RaftHost;
  fs: FileSystem;
  /** The host's data directory (one `group-<id>` folder per group). */
  raftDir: string;
  /** The groups this node held (a lost folder is refused, not re-created empty). */
  manifest: GroupManifest;
  nodeId: number;
  /** Election timeout of partition groups, in ticks. */
  electionTicks: number;
  retentionCheckIntervalMs: number;
  proposalTimeoutMs: number;
  /** Bytes a partition leader has proposed and not applied before a Produce waits (admission.ts). */
  maxUncommittedBytes?: number;
  /** The partitions' wall clock (LogAppendTime, retention, leader readiness). */
  clock: Clock;
  scheduler: Scheduler;
  logger: Logger;
}

/**
 * WAL segment size of a partition group: the topic's segment.bytes (compaction frees whole
 * segments, so retention frees disk at that granularity), at least what one batch of
 * max.message.bytes needs plus room, at least MIN_PARTITION_SEGMENT_BYTES, at most
 * MAX_PARTITION_SEGMENT_BYTES. Fixed when the group opens (a later segment.bytes change applies
 * when the node restarts).
 */
function segmentBytesOf(spec: PartitionSpec): number {
  const { segmentBytes, maxMessageBytes } = spec.config;
  return Math.min(
    MAX_PARTITION_SEGMENT_BYTES,
    Math.max(
      segmentBytes,
      MIN_PARTITION_SEGMENT_BYTES,
      Math.min(maxMessageBytes, MAX_ENTRY_BYTES) + 64 * 1024,
    ),
  );
}

export class PartitionGroups implements PartitionFactory {
  /** Group id → the partition using it (hash collisions are refused, never mixed). */
  private readonly owners = new Map<number, ReplicatedPartition>();

  constructor(private readonly options: PartitionGroupsOptions) {}

  /** The replicas created here and not closed (the supervisor looks at them). */
  replicas(): IterableIterator<ReplicatedPartition> {
    return this.owners.values();
  }

  create(spec: PartitionSpec, events: PartitionEvents): ManagedPartition {
    const { host, fs, nodeId } = this.options;
    const gid = partitionGroupId(spec.topicId, spec.partition);
    const owner = this.owners.get(gid);
    if (owner !== undefined)
      throw new KafkaError(
        'UNKNOWN_SERVER_ERROR',
        `partition group id ${gid} of ${spec.topic}-${spec.partition} collides with ${owner.topic}-${owner.partition}`,
      );
    const segmentBytes = segmentBytesOf(spec);
    const group: PartitionGroup = {
      groupId: gid,
      open: async (stateMachine) => {
        if (spec.rebuild !== undefined) {
          await this.prepareRebuild(gid, spec.rebuild, `${spec.topic}-${spec.partition}`);
          // No membership of its own: it learns the group's from the leader's snapshot and log.
          await host.openGroup({
            groupId: gid,
            stateMachine,
            snapshotPolicy: 'stateMachine',
            maxSegmentBytes: segmentBytes,
            electionTicks: this.options.electionTicks,
            // Idle partitions stop ticking and heartbeating (docs/design/quiescence.md).
            quiesce: true,
          });
          return;
        }
        // A stat, not a listing of the Raft directory: with thousands of groups opening at once,
        // listing it for each was quadratic.
        const fresh = (await fs.stat(path.join(this.options.raftDir, `group-${gid}`))) === undefined;
        if (fresh) {
          if (this.options.manifest.has(gid))
            throw new ServerError(
              ServerErrorCode.REPLICA_STATE_LOST,
              `the Raft data of ${spec.topic}-${spec.partition} (${path.join(this.options.raftDir, `group-${gid}`)}) is gone, though node ${nodeId} held this replica: a replica that forgot its log must not vote (it could help elect a leader missing committed records), so it stays out. Restore the folder, or replace the node (remove it from the cluster, add a new one)`,
            );
        }
        // Founding the membership is only for the group's first replicas; any other new copy joins.
        const founding = fresh && spec.join !== true;
        try {
          if (fresh) await this.options.manifest.hold(gid);
          await host.openGroup({
            groupId: gid,
            stateMachine,
            ...(founding
              ? { bootstrapVoters: [...(spec.bootstrapVoters ?? spec.replicas)].sort((a, b) => a - b) }
              : {}),
            // The log is the partition's data: the replica chooses the snapshot points (checkpoints
            // below its log start offset) and the log is compacted exactly to them.
            snapshotPolicy: 'stateMachine',
            maxSegmentBytes: segmentBytes,
            electionTicks: this.options.electionTicks,
            // Idle partitions stop ticking and heartbeating (docs/design/quiescence.md).
            quiesce: true,
          });
        } catch (e) {
          // A new group that failed to open (a disk error while claiming it or creating its folder)
          // never ran here: openGroup registers it after its last await, so it voted and
          // acknowledged nothing. Its claim goes again, in remove()'s order, or every later open
          // would take it for a replica that lost its log and keep it out for good.
          if (fresh) {
            await this.options.manifest.release(gid).catch(() => undefined);
            await fs.removeTree(path.join(this.options.raftDir, `group-${gid}`)).catch(() => undefined);
          }
          throw e;
        }
        // A rebuilt replica back in normal service: its rebuild marks have served.
        if (!fresh) await this.removeRebuildMarks(gid, undefined);
        // The preferred replica (first in the list) campaigns at once for a new group, so leaders
        // start spread as the assignment intended; the election timeout covers the rest.
        if (founding && spec.replicas[0] === nodeId) {
          // Pre-vote keeps a try that finds no quorum from raising the term.
          const attempt = (left: number): void => {
            this.options.scheduler.setTimer(FIRST_CAMPAIGN_DELAY_MS, () => {
              if (!host.hasGroup(gid)) return;
              const st = host.status(gid);
              if (st.leaderId !== NO_NODE) return;
              // A candidate's election is under way (its pre-vote passed): a new one would only
              // raise the term again.
              if (st.role !== StateType.Candidate) host.campaign(gid);
              if (left > 1) attempt(left - 1);
            });
          };
          attempt(FIRST_CAMPAIGN_TRIES);
        }
      },
      propose: (data, timeoutMs, options) => host.propose(gid, data, timeoutMs, options),
      proposeConfChange: (cc, timeoutMs) => host.proposeConfChange(gid, cc, timeoutMs),
      status: () => host.status(gid),
      log: () => host.log(gid),
      transferLeadership: (to) => host.transferLeadership(gid, to),
      close: async () => {
        if (this.owners.get(gid) === replica) this.owners.delete(gid);
        if (host.hasGroup(gid)) await host.closeGroup(gid);
      },
    };
    const replica = new ReplicatedPartition({
      topic: spec.topic,
      topicId: spec.topicId,
      partition: spec.partition,
      nodeId,
      group,
      config: spec.config,
      retentionCheckIntervalMs: this.options.retentionCheckIntervalMs,
      proposalTimeoutMs: this.options.proposalTimeoutMs,
      ...(this.options.maxUncommittedBytes !== undefined
        ? { maxUncommittedBytes: this.options.maxUncommittedBytes }
        : {}),
      logger: this.options.logger,
      nowMs: () => this.options.clock.nowMs(),
      events,
      // A few checkpoints per WAL segment, so compaction can free each segment soon after
      // retention passes it.
      checkpointEveryBytes: Math.max(64 * 1024, Math.floor(segmentBytes / 4)),
      ...(spec.rebuild !== undefined ? { rebuild: spec.rebuild } : {}),
    });
    this.owners.set(gid, replica);
    return replica;
  }

  async remove(topicId: string, partition: number): Promise<void> {
    const gid = partitionGroupId(topicId, partition);
    // Released first: a crash before the folder is gone leaves data nobody claims, never a claim
    // without data.
    if (this.options.manifest.has(gid)) await this.options.manifest.release(gid);
    await this.options.fs.removeTree(path.join(this.options.raftDir, `group-${gid}`));
    await this.removeRebuildMarks(gid, undefined);
  }

  /**
   * A replica whose copy is damaged (corrupt files) or lost (its folder gone): it can be rebuilt
   * from the other replicas (replica-repair.ts). A broken invariant, an I/O error or a full disk
   * cannot: they are not the copy's fault, and discarding it would hide them.
   */
  repairable(error: Error): boolean {
    for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
      if (isWalError(e) && e.code === WalErrorCode.Corruption) return true;
      if (isServerError(e, ServerErrorCode.REPLICA_STATE_LOST)) return true;
    }
    return false;
  }

  private rebuildMark(gid: number, request: number): string {
    return `group-${gid}.rebuild-${request}`;
  }

  /** Removes the rebuild marks of group `gid` but `keep`'s. */
  private async removeRebuildMarks(gid: number, keep: number | undefined): Promise<void> {
    const { fs, raftDir } = this.options;
    const prefix = `group-${gid}.rebuild-`;
    const names = (await fs.readdir(raftDir).catch(() => [] as string[])).filter(
      (n) => n.startsWith(prefix) && (keep === undefined || n !== this.rebuildMark(gid, keep)),
    );
    for (const n of names) await fs.unlink(path.join(raftDir, n));
    if (names.length > 0) await fs.fsyncDir(raftDir);
  }

  /**
   * Before a rebuild for `request`: discards the replica's folder unless it is already that
   * rebuild's, and marks it. The old folder's removal is durable before the mark is written. A
   * marked rebuild whose folder is gone is refused (REPLICA_STATE_LOST).
   */
  private async prepareRebuild(gid: number, request: number, name: string): Promise<void> {
    const { fs, raftDir, manifest } = this.options;
    const names = await fs.readdir(raftDir).catch(() => [] as string[]);
    if (names.includes(this.rebuildMark(gid, request))) {
      // What it received so far is gone: the leader's record of what it holds is wrong now, and
      // only a new request (removed and added again: a fresh start there) may rebuild it.
      if (!names.includes(`group-${gid}`))
        throw new ServerError(
          ServerErrorCode.REPLICA_STATE_LOST,
          `the copy of ${name} rebuilt so far for repair request ${request} (${path.join(raftDir, `group-${gid}`)}) is gone: it asks for a new repair`,
        );
      return;
    }
    await fs.removeTree(path.join(raftDir, `group-${gid}`));
    await fs.fsyncDir(raftDir);
    await this.removeRebuildMarks(gid, undefined);
    if (!manifest.has(gid)) await manifest.hold(gid);
    const mark = await fs.open(path.join(raftDir, this.rebuildMark(gid, request)), 'wx');
    await mark.close();
    await fs.fsyncDir(raftDir);
  }
}
