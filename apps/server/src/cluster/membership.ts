// Membership of the metadata group — the nodes of the cluster — changed at run time (the cluster
// README, "Cluster membership"). The metadata records the change asked (addNode: a node started
// with --join, or admitted by an operator; removeNode: an operator), one node at a time; the
// metadata group's leader carries it out with Raft membership changes, each step decided from the
// metadata and the group's configuration, so a crash or a leader change resumes it:
// - add: the node joins as a learner (it receives a snapshot and the log; no vote, no weight in
//   commits), and once it caught up — acknowledged an entry after it was added, and holds everything
//   committed as of the previous check — it is promoted to a voter; then `membershipDone`.
// - remove: refused (`membershipDone` with the reason) when the voters left would not have a
//   majority answering this leader — the change would leave the group unable to commit; otherwise
//   the node leaves the group (a leader that removes itself hands over first: the Raft core), then
//   `membershipDone` unregisters its broker.
// Every node also watches itself: one that was a member and is no longer (it applied its own
// removal) stops after a short grace (so a leader that removed itself hands over), saying why.
import { every } from '@chronik/env';
import type { Scheduler, TimerHandle } from '@chronik/env';
import type { MembershipChange } from '@chronik/metadata';
import { ConfChangeType, StateType } from '@chronik/raft';
import type { RaftHost } from '@chronik/raft-host';
import { ServerError, ServerErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import type { MetadataStore } from '../services/metadata-store.js';
import { METADATA_GROUP_ID } from './group-ids.js';

const CHECK_MS = 500;
/** How long a removed node keeps running (a leader that removed itself hands over meanwhile). */
const REMOVED_GRACE_MS = 3000;
/** Longest refusal message recorded in the metadata (its string limit is 1024). */
const MAX_MESSAGE = 1000;
const NO_CONTEXT = new Uint8Array(0);

export interface MembershipManagerOptions {
  nodeId: number;
  host: RaftHost;
  store: MetadataStore;
  scheduler: Scheduler;
  logger: Logger;
  proposalTimeoutMs: number;
  /** This node was removed from the cluster: it stops. */
  fatal(error: Error): void;
  checkIntervalMs?: number;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class MembershipManager {
  private timer: TimerHandle | undefined;
  private busy = false;
  /** This node was seen in the group's configuration during this process. */
  private wasMember = false;
  private stopping = false;
  /** The joining node's sample: the leader's term and commit index at the previous check. */
  private sample: { nodeId: number; term: number; commit: number } | undefined;

  constructor(private readonly options: MembershipManagerOptions) {}

  start(): void {
    this.timer = every(
      this.options.scheduler,
      this.options.checkIntervalMs ?? CHECK_MS,
      () => this.check(),
      (e) => this.options.logger.warn({ err: errorText(e) }, 'membership check failed'),
    );
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  check(): void {
    const { host, store, nodeId } = this.options;
    if (!host.hasGroup(METADATA_GROUP_ID)) return;
    const st = host.status(METADATA_GROUP_ID);
    const member = st.voters.includes(nodeId) || st.learners.includes(nodeId);
    if (member) this.wasMember = true;
    else if (this.wasMember && !this.stopping) {
      this.stopping = true;
      this.options.logger.error(
        { nodeId },
        'this node was removed from the cluster (it is no longer a member of the metadata group): it stops',
      );
      this.options.scheduler.setTimer(REMOVED_GRACE_MS, () =>
        this.options.fatal(
          new ServerError(
            ServerErrorCode.NODE_REMOVED,
            `node ${nodeId} was removed from the cluster; to take part again, remove its data directory and add it anew (--join)`,
          ),
        ),
      );
    }
    if (st.role !== StateType.Leader || this.busy) return;
    const change = store.state.membershipChange();
    if (change === null) {
      this.sample = undefined;
      return;
    }
    this.busy = true;
    this.advance(change)
      .catch((e: unknown) =>
        this.options.logger.info(
          { node: change.nodeId, kind: change.kind, err: errorText(e) },
          'membership change step failed; tried again at the next check',
        ),
      )
      .finally(() => (this.busy = false));
  }

  private async done(change: MembershipChange, refused: string | null): Promise<void> {
    const r = await this.options.store.commit({
      type: 'membershipDone',
      nodeId: change.nodeId,
      requestIndex: change.requestIndex,
      refused: refused === null ? null : refused.slice(0, MAX_MESSAGE),
    });
    if (!r.ok) throw r.error;
    this.options.logger.info(
      { node: change.nodeId, kind: change.kind, refused },
      refused === null
        ? change.kind === 'add'
          ? 'node added to the cluster: a voter of the metadata group'
          : 'node removed from the cluster'
        : 'membership change refused',
    );
  }

  private async advance(change: MembershipChange): Promise<void> {
    const { host, proposalTimeoutMs, nodeId, logger } = this.options;
    const st = host.status(METADATA_GROUP_ID);
    if (st.votersOutgoing.length > 0) return;
    const n = change.nodeId;
    const voter = st.voters.includes(n);
    const learner = st.learners.includes(n);
    const conf = (type: ConfChangeType) =>
      host.proposeConfChange(METADATA_GROUP_ID, { type, nodeId: n, context: NO_CONTEXT }, proposalTimeoutMs);
    if (change.kind === 'add') {
      if (!voter && !learner) {
        await conf(ConfChangeType.AddLearnerNode);
        this.sample = undefined;
        logger.info(
          { node: n },
          'new node joined the metadata group as a learner: it catches up from this leader',
        );
        return;
      }
      if (voter) return this.done(change, null);
      // A learner: promoted once caught up (an acknowledgement after it was added, everything
      // committed as of the previous check).
      const p = st.progress.find((x) => x.nodeId === n);
      const before = this.sample?.nodeId === n ? this.sample : undefined;
      this.sample = { nodeId: n, term: st.term, commit: st.commitIndex };
      if (
        p === undefined ||
        !p.recentActive ||
        before === undefined ||
        before.term !== st.term ||
        p.match < 1 ||
        p.match < before.commit
      )
        return;
      await conf(ConfChangeType.AddNode);
      logger.info({ node: n, match: p.match }, 'new node caught up: a voter of the metadata group');
      return;
    }
    // Removal.
    if (!voter && !learner) return this.done(change, null);
    if (voter) {
      const remaining = st.voters.filter((v) => v !== n);
      const answering = remaining.filter(
        (v) => v === nodeId || st.progress.some((p) => p.nodeId === v && p.recentActive),
      );
      if (answering.length * 2 <= remaining.length)
        return this.done(
          change,
          `removing node ${n} would leave the voters [${remaining.join(', ')}] with ${answering.length} answering (${answering.join(', ') || 'none'}), not a majority of ${remaining.length}: the cluster could not commit anything. Bring the others back first (or remove a dead node instead)`,
        );
    }
    await conf(ConfChangeType.RemoveNode);
    logger.info({ node: n }, 'node left the metadata group');
  }
}
