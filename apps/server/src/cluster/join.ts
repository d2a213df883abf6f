// Joining a running cluster (the cluster README, "Cluster membership"): a node whose Raft directory
// is new, started with --join and the Raft address of any member, asks that member (the transport's
// Join call) to admit it. The member records the join in the metadata (`addNode`: its node id, Raft
// address, the cluster id it knows — --cluster-id — and its data directory id), which refuses a node
// id already in use, another cluster's node, or a second change at once; and it answers with the
// cluster id and the members' Raft addresses, so that the new node can answer the metadata leader,
// which then adds it as a learner and, once caught up, a voter (membership.ts). The new node opens
// the metadata group empty, with no membership of its own: it cannot campaign, and learns
// everything from the leader's snapshot and log. It registers as a broker once it is a member.
import type { Clock, Scheduler } from '@chronik/env';
import type { JoinAnswer, JoinQuestion } from '@chronik/raft-grpc';
import { ServerError, ServerErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import type { MetadataStore } from '../services/metadata-store.js';

const ASK_TIMEOUT_MS = 15_000;
const RETRY_MS = 1000;
const REPORT_EVERY_MS = 10_000;

export interface JoinOptions {
  /** The member's Raft address (--join). */
  address: string;
  question: JoinQuestion;
  join(address: string, question: JoinQuestion, timeoutMs: number): Promise<JoinAnswer>;
  clock: Clock;
  scheduler: Scheduler;
  logger: Logger;
}

/**
 * Asks until the member answers (it may be starting, or the metadata may have no leader: retried);
 * resolves with the admission, throws ServerError JOIN_REFUSED with the cluster's reason.
 */
export async function joinCluster(o: JoinOptions): Promise<JoinAnswer> {
  const startMs = o.clock.nowMs();
  let lastReportMs = startMs;
  for (;;) {
    let why: string;
    try {
      const a = await o.join(o.address, o.question, ASK_TIMEOUT_MS);
      if (a.errorCode === '') {
        o.logger.info(
          { via: o.address, clusterId: a.clusterId, members: a.members.map((m) => m.nodeId) },
          'admitted into the cluster: joining the metadata group as a learner',
        );
        return a;
      }
      // Retriable: no metadata leader right now, or the answer was a timeout.
      if (a.errorCode !== 'NOT_CONTROLLER' && a.errorCode !== 'REQUEST_TIMED_OUT')
        throw new ServerError(
          ServerErrorCode.JOIN_REFUSED,
          `the cluster at ${o.address} refused node ${o.question.nodeId}: ${a.errorCode}: ${a.errorMessage}`,
        );
      why = `${a.errorCode}: ${a.errorMessage}`;
    } catch (e) {
      if (e instanceof ServerError) throw e;
      why = e instanceof Error ? e.message : String(e);
    }
    const now = o.clock.nowMs();
    if (now - lastReportMs >= REPORT_EVERY_MS) {
      lastReportMs = now;
      o.logger.warn(
        { via: o.address, waitedMs: now - startMs, err: why },
        'joining the cluster: asking again',
      );
    }
    await new Promise<void>((resolve) => o.scheduler.setTimer(RETRY_MS, resolve));
  }
}

export interface AnswerJoinOptions {
  store: MetadataStore;
  /** The members of the metadata group now (voters and learners). */
  members(): readonly number[];
  /** A member's Raft address, if known. */
  addressOf(nodeId: number): string | undefined;
}

/** The member's side of Join: the admission committed in the metadata, or its refusal. */
export async function answerJoin(o: AnswerJoinOptions, q: JoinQuestion): Promise<JoinAnswer> {
  const refuse = (errorCode: string, errorMessage: string): JoinAnswer => ({
    errorCode,
    errorMessage,
    clusterId: o.store.state.clusterId() ?? '',
    members: [],
  });
  try {
    const r = await o.store.commit({
      type: 'addNode',
      nodeId: q.nodeId,
      raftAddress: q.raftAddress,
      clusterId: q.clusterId,
      directoryId: q.directoryId,
    });
    if (!r.ok) return refuse(r.error.code, r.error.message);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    return refuse(
      typeof code === 'string' ? code : 'UNKNOWN_SERVER_ERROR',
      e instanceof Error ? e.message : String(e),
    );
  }
  const members: Array<{ nodeId: number; raftAddress: string }> = [];
  for (const id of o.members()) {
    const address = o.addressOf(id);
    if (address !== undefined) members.push({ nodeId: id, raftAddress: address });
  }
  return { errorCode: '', errorMessage: '', clusterId: o.store.state.clusterId() ?? '', members };
}
