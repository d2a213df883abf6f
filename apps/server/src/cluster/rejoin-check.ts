// A Raft voter must never forget its log or its vote: a node whose disk was wiped or replaced,
// rejoining under its old id with an empty log, can grant its vote to a candidate that lacks
// entries the cluster committed with that node's help — and the candidate wins. So a node whose
// Raft directory is new asks its peers first (the transport's Identify call) whether the cluster
// already knows its id:
// - a peer's metadata holds a registration of this node id: the node ran in this cluster and lost
//   its state. It refuses to start, naming the remedy.
// - a majority of the voters (this node included) answered, none knowing this node: either the
//   cluster is being formed (every voter is new) or this is the node's first start in a cluster
//   formed without it. Both are safe — a node that never acknowledged an entry was in no commit's
//   majority — and it takes part.
// Until then it waits (a cluster cannot form without a majority anyway), saying so every 10 s.
// Limit: a node that acknowledged entries but was wiped before its registration committed (its
// first seconds) is not recognized.
import type { Clock, Scheduler } from '@chronik/env';
import type { IdentityAnswer } from '@chronik/raft-grpc';
import { ServerError, ServerErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';

export interface RejoinCheckOptions {
  nodeId: number;
  /** This node's data directory id (written when the directory was formatted). */
  directoryId: string;
  /** The initial voters of the metadata group, this node included. */
  voters: readonly number[];
  identify(
    toNode: number,
    question: { nodeId: number; directoryId: string },
    timeoutMs: number,
  ): Promise<IdentityAnswer>;
  clock: Clock;
  scheduler: Scheduler;
  logger: Logger;
  /** Between rounds of questions. Default 500 ms. */
  retryMs?: number;
}

const ASK_TIMEOUT_MS = 1000;
const REPORT_EVERY_MS = 10_000;

/** Resolves once this node (its Raft directory new) may take part; throws NODE_STATE_LOST when it must not. */
export async function checkNewNodeMayJoin(o: RejoinCheckOptions): Promise<void> {
  const peers = o.voters.filter((v) => v !== o.nodeId);
  const retryMs = o.retryMs ?? 500;
  const startMs = o.clock.nowMs();
  let lastReportMs = startMs;
  for (;;) {
    const answers = await Promise.all(
      peers.map((p) =>
        o.identify(p, { nodeId: o.nodeId, directoryId: o.directoryId }, ASK_TIMEOUT_MS).then(
          (a) => ({ peer: p, answer: a }),
          () => undefined,
        ),
      ),
    );
    const heard = answers.filter((a): a is { peer: number; answer: IdentityAnswer } => a !== undefined);
    const knows = heard.find((a) => a.answer.askerRegistered);
    if (knows !== undefined)
      throw new ServerError(
        ServerErrorCode.NODE_STATE_LOST,
        `node ${o.nodeId}'s Raft data is new, but cluster ${knows.answer.clusterId} (node ${knows.peer}) knows node ${o.nodeId} as a member that ran before: its data directory was wiped or replaced. A voter that forgot its log could help elect a leader missing committed records, so it does not rejoin under its old id. Restore its data directory, or replace the node: remove it from the cluster and add a new node in its place`,
      );
    if ((heard.length + 1) * 2 > o.voters.length) {
      o.logger.info(
        { answered: heard.map((a) => a.peer), voters: o.voters },
        'new node: no peer knows this node id; taking part in Raft',
      );
      return;
    }
    const now = o.clock.nowMs();
    if (now - lastReportMs >= REPORT_EVERY_MS) {
      lastReportMs = now;
      o.logger.warn(
        { answered: heard.map((a) => a.peer), voters: o.voters, waitedMs: now - startMs },
        'new node: waiting to hear from a majority of the voters before taking part in Raft',
      );
    }
    await new Promise<void>((resolve) => o.scheduler.setTimer(retryMs, resolve));
  }
}
