// Replica repair: a partition replica whose copy on this node is damaged (corrupt files) or lost
// (its group folder gone) is rebuilt from the other replicas, without an operator.
//
// Raft's safety rests on a voter never forgetting its log or its vote: a voter that came back empty
// could help elect a leader missing committed records, and the leader's record of what it holds
// (its match index) would count it toward commits it no longer has. So the damaged replica is never
// a voter while it has less than it acknowledged. The steps, each durable in the metadata
// (PartitionInfo.repairs) so that any node may take over after a crash or a leader change:
//   1. requested — the node with the damaged copy asks (it stops serving the replica and waits);
//   2. the partition's leader removes it from the group's configuration (committed by the other
//      voters, which therefore hold every committed entry) and adds it back as a learner: a fresh
//      start in the leader's progress (match 0), with no vote and no weight in commits;
//   3. rebuilding — the node discards its copy and opens the replica empty, without a membership
//      of its own (cluster/partition-groups.ts); the leader sends it a snapshot and the log;
//   4. the leader promotes it to a voter once it acknowledged an entry after the learner was added
//      (no answer of its discarded copy can count) and holds everything committed as of the
//      previous check; then the repair is done (removed from the metadata).
// A repair needs the other replicas to be a working majority: with two of three copies damaged,
// step 2 cannot commit and the partition waits for the operator, as it must.
import { every } from '@chronik/env';
import type { Scheduler, TimerHandle } from '@chronik/env';
import type { ReplicaRepair } from '@chronik/metadata';
import { ConfChangeType } from '@chronik/raft';
import type { Logger } from '../logger.js';
import type { ReplicatedPartition } from '../partition/replicated-partition.js';
import type { MetadataStore } from '../services/metadata-store.js';
import type { PartitionManager } from '../services/partition-manager.js';

/** Period of the repair check. */
const CHECK_MS = 1000;
const NO_CONTEXT = new Uint8Array(0);

export interface ReplicaRepairOptions {
  nodeId: number;
  store: MetadataStore;
  /** This node's replicas and their problems. */
  partitions: Pick<PartitionManager, 'repairsWanted'>;
  /** The partition replicas of this node (its Raft groups). */
  replicas(): Iterable<ReplicatedPartition>;
  scheduler: Scheduler;
  logger: Logger;
  /** Time a membership change may take. */
  proposalTimeoutMs: number;
  /** Period of the check. Default 1 s. */
  checkIntervalMs?: number;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class ReplicaRepairer {
  private timer: TimerHandle | undefined;
  /** Partition groups with a repair step running here (one membership change at a time per group). */
  private readonly busy = new Set<number>();
  /** Requests this node sent that are not in the metadata yet, by replica key. */
  private readonly asking = new Set<string>();
  /** Per group and learner: the request whose learner this leader added (step 2 done). */
  private readonly learnerAdded = new Map<string, number>();
  /** Per group and learner: the leader's commit index at the previous check (step 4). */
  private readonly samples = new Map<string, { term: number; commit: number }>();

  constructor(private readonly options: ReplicaRepairOptions) {}

  start(): void {
    this.timer = every(
      this.options.scheduler,
      this.options.checkIntervalMs ?? CHECK_MS,
      () => this.check(),
      (e) => this.options.logger.warn({ err: errorText(e) }, 'replica repair check failed'),
    );
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  check(): void {
    this.ask();
    this.lead();
  }

  /** Step 1: asks for the repair of every damaged or lost replica of this node not under repair. */
  private ask(): void {
    const { nodeId, store, logger } = this.options;
    for (const want of this.options.partitions.repairsWanted()) {
      const key = `${want.topicId}/${want.partition}`;
      if (this.asking.has(key)) continue;
      this.asking.add(key);
      logger.warn(
        { topic: want.topic, partition: want.partition, err: want.error },
        'asking the partition leader to rebuild this replica from the others',
      );
      store
        .commit({
          type: 'replicaRepair',
          topicId: want.topicId,
          partition: want.partition,
          brokerId: nodeId,
          phase: 'requested',
          requestIndex: -1,
        })
        .then(
          (r) => {
            if (!r.ok) logger.warn({ topic: want.topic, err: r.error.message }, 'repair request refused');
          },
          (e: unknown) => logger.debug({ err: errorText(e) }, 'repair request failed; asked again later'),
        )
        .finally(() => this.asking.delete(key));
    }
  }

  /** Steps 2 and 4 on the partitions this node leads. */
  private lead(): void {
    const active = new Set<string>();
    for (const r of this.options.replicas()) {
      if (!r.isLeaderReady()) continue;
      const gid = r.group.groupId;
      const info = this.options.store.state.topicById(r.topicId)?.partitions[r.partition];
      const repair = info?.repairs.find((x) => x.brokerId !== this.options.nodeId);
      if (repair === undefined) continue;
      active.add(`${gid}/${repair.brokerId}`);
      if (this.busy.has(gid)) continue;
      this.busy.add(gid);
      this.advance(r, repair)
        .catch((e: unknown) =>
          this.options.logger.info(
            { topic: r.topic, partition: r.partition, replica: repair.brokerId, err: errorText(e) },
            'replica repair step failed; tried again at the next check',
          ),
        )
        .finally(() => this.busy.delete(gid));
    }
    // What this node tracked for repairs it no longer leads (or that ended elsewhere) goes.
    for (const m of [this.learnerAdded, this.samples])
      for (const key of [...m.keys()]) if (!active.has(key)) m.delete(key);
  }

  private async advance(r: ReplicatedPartition, repair: ReplicaRepair): Promise<void> {
    const { logger, proposalTimeoutMs } = this.options;
    const b = repair.brokerId;
    const key = `${r.group.groupId}/${b}`;
    const base = { type: 'replicaRepair' as const, topicId: r.topicId, partition: r.partition, brokerId: b };
    const member = (): { voter: boolean; learner: boolean } => {
      const st = r.group.status();
      return { voter: st.voters.includes(b), learner: st.learners.includes(b) };
    };
    if (repair.phase === 'requested') {
      if (this.learnerAdded.get(key) !== repair.requestIndex) {
        // A fresh start in this leader's progress, whatever it was (a voter, or a learner of an
        // earlier request): out of the configuration, then in as a learner.
        if (member().voter || member().learner)
          await r.group.proposeConfChange(
            { type: ConfChangeType.RemoveNode, nodeId: b, context: NO_CONTEXT },
            proposalTimeoutMs,
          );
        await r.group.proposeConfChange(
          { type: ConfChangeType.AddLearnerNode, nodeId: b, context: NO_CONTEXT },
          proposalTimeoutMs,
        );
        if (!member().learner) throw new Error(`node ${b} is not a learner after the change`);
        this.learnerAdded.set(key, repair.requestIndex);
        this.samples.delete(key);
        logger.info(
          { topic: r.topic, partition: r.partition, replica: b, request: repair.requestIndex },
          'replica under repair is a learner now: it discards its copy and rebuilds from this leader',
        );
      }
      await this.commit({ ...base, phase: 'rebuilding', requestIndex: repair.requestIndex });
      return;
    }
    if (member().voter) {
      await this.commit({ ...base, phase: 'done', requestIndex: repair.requestIndex });
      this.learnerAdded.delete(key);
      this.samples.delete(key);
      return;
    }
    if (!member().learner) {
      // Out of the configuration (a change undone by a leader change): a learner again.
      await r.group.proposeConfChange(
        { type: ConfChangeType.AddLearnerNode, nodeId: b, context: NO_CONTEXT },
        proposalTimeoutMs,
      );
      return;
    }
    const st = r.group.status();
    const p = st.progress.find((x) => x.nodeId === b);
    const before = this.samples.get(key);
    this.samples.set(key, { term: st.term, commit: st.commitIndex });
    // Caught up: an acknowledgement after it became a learner (none from its discarded copy), and
    // everything committed as of the previous check (under writes it always trails the newest).
    if (
      p === undefined ||
      !p.recentActive ||
      before === undefined ||
      before.term !== st.term ||
      p.match < Math.max(1, r.learnerSince(b)) ||
      p.match < before.commit
    )
      return;
    await r.group.proposeConfChange(
      { type: ConfChangeType.AddNode, nodeId: b, context: NO_CONTEXT },
      proposalTimeoutMs,
    );
    logger.info(
      { topic: r.topic, partition: r.partition, replica: b, match: p.match },
      'rebuilt replica caught up: a voter again',
    );
    await this.commit({ ...base, phase: 'done', requestIndex: repair.requestIndex });
    this.learnerAdded.delete(key);
    this.samples.delete(key);
  }

  private async commit(c: Parameters<MetadataStore['commit']>[0]): Promise<void> {
    const res = await this.options.store.commit(c);
    if (!res.ok) throw res.error;
  }
}
