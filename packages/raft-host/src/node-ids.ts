// Node ids (Kafka broker ids, 0 … 2^31 − 1) and the Raft ids the core runs under
// (docs/design/node-ids.md). @chronik/raft reserves id 0 for "no node", so node 0 runs as
// RAFT_ID_OF_NODE_ZERO, outside the broker range; every other node id is its own Raft id, so logs
// and snapshots written by clusters of nodes 1…N read the same. RaftHost applies this mapping at its
// boundary and nowhere else: the core and the storage see Raft ids, everything else node ids.
import type { ConfChange, ConfChangeV2, ConfState, Message } from '@chronik/raft';

/** "No node" (no leader, no vote) on the host's API, as Kafka says it. */
export const NO_NODE = -1;
/** The largest node id: Kafka's broker ids are int32s, never negative. */
export const MAX_NODE_ID = 2 ** 31 - 1;
/** The Raft id node 0 runs under. */
export const RAFT_ID_OF_NODE_ZERO = 2 ** 31;

/** Whether `id` can name a node (0 … 2^31 − 1). */
export function isNodeId(id: number): boolean {
  return Number.isInteger(id) && id >= 0 && id <= MAX_NODE_ID;
}

/** The Raft id of node `nodeId`; NO_NODE gives Raft's "no node", 0. */
export function raftIdOf(nodeId: number): number {
  if (nodeId === 0) return RAFT_ID_OF_NODE_ZERO;
  return nodeId === NO_NODE ? 0 : nodeId;
}

/** The node of Raft id `raftId`; Raft's 0 ("no node") gives NO_NODE. */
export function nodeIdOfRaft(raftId: number): number {
  if (raftId === RAFT_ID_OF_NODE_ZERO) return 0;
  return raftId === 0 ? NO_NODE : raftId;
}

/** Raft ids as node ids, in ascending order when node 0 is among them (the core sorts by Raft id). */
export function nodeIdsOfRaft(ids: readonly number[]): number[] {
  const out = ids.map(nodeIdOfRaft);
  return ids.includes(RAFT_ID_OF_NODE_ZERO) ? out.sort((x, y) => x - y) : out;
}
const nodeIdsOf = nodeIdsOfRaft;

/** A conf state in node ids. */
export function confStateOfRaft(cs: ConfState): ConfState {
  return {
    ...cs,
    voters: nodeIdsOf(cs.voters),
    learners: nodeIdsOf(cs.learners),
    votersOutgoing: nodeIdsOf(cs.votersOutgoing),
    learnersNext: nodeIdsOf(cs.learnersNext),
  };
}

/** A caller's membership change (node ids) in Raft ids. */
export function confChangeToRaft(cc: ConfChange | ConfChangeV2): ConfChange | ConfChangeV2 {
  if ('changes' in cc)
    return { ...cc, changes: cc.changes.map((c) => ({ ...c, nodeId: raftIdOf(c.nodeId) })) };
  return { ...cc, nodeId: raftIdOf(cc.nodeId) };
}

/**
 * A message's sender and receiver mapped by `f` (a copy when that changes them, else the message
 * itself: for nodes other than 0 this costs two comparisons). Only `from` and `to` name nodes in
 * the transport's view; what the message carries (entries, a snapshot's conf state) stays the core's.
 */
function mapEnds(m: Message, f: (id: number) => number): Message {
  const from = f(m.from);
  const to = f(m.to);
  return from === m.from && to === m.to ? m : { ...m, from, to };
}

/** A message of the core, addressed in node ids for the transport. */
export function messageOfRaft(m: Message): Message {
  return mapEnds(m, (id) => (id === RAFT_ID_OF_NODE_ZERO ? 0 : id));
}

/** A message from the transport (node ids), addressed in Raft ids for the core. */
export function messageToRaft(m: Message): Message {
  return mapEnds(m, (id) => (id === 0 ? RAFT_ID_OF_NODE_ZERO : id));
}
