// Membership of the cluster as the metadata records it (apps/server's cluster README, "Cluster
// membership"). Who is a member is the metadata Raft group's configuration, which the group hands
// the state machine as it applies it (setMembership); what is being changed is a command in the
// log — addNode, removeNode — carried out by the metadata group's leader, one node at a time, and
// ended with membershipDone. These are the pure checks of those commands; the state machine applies
// what they allow.
import { MetadataError } from './errors.js';
import type {
  AddNodeCommand,
  BrokerInfo,
  GroupMembership,
  MembershipChange,
  RemoveNodeCommand,
  TopicInfo,
} from './types.js';

function fail(code: ConstructorParameters<typeof MetadataError>[0], message: string): never {
  throw new MetadataError(code, message);
}

/** Whether `nodeId` is a voter or a learner of the group. */
export function isMember(m: GroupMembership, nodeId: number): boolean {
  return m.voters.includes(nodeId) || m.learners.includes(nodeId);
}

/** What the checks read of the state. */
export interface MembershipView {
  readonly clusterId: string | null;
  /** The group's configuration, or null where no Raft group gives it (a single node). */
  readonly membership: GroupMembership | null;
  readonly change: MembershipChange | null;
  readonly brokers: readonly BrokerInfo[];
  readonly topics: readonly TopicInfo[];
}

/**
 * The change an addNode starts, or null for a retry of the add in progress (same node, same data
 * directory). Refused: another change in progress, a node already a member or registered (a node
 * that lost its data must be removed first), a Raft address in use, another cluster id.
 */
export function checkAddNode(v: MembershipView, c: AddNodeCommand, index: number): MembershipChange | null {
  if (c.raftAddress.length === 0) fail('INVALID_REQUEST', 'The Raft address of a new node must not be empty');
  if (c.clusterId !== '' && v.clusterId !== null && c.clusterId !== v.clusterId)
    fail(
      'INCONSISTENT_CLUSTER_ID',
      `Node ${c.nodeId} belongs to cluster ${c.clusterId}, not to this cluster (${v.clusterId}): it cannot join`,
    );
  if (v.change !== null) {
    // The same join again (the node asked twice, or an operator admitted it before it started).
    if (
      v.change.kind === 'add' &&
      v.change.nodeId === c.nodeId &&
      (v.change.directoryId === c.directoryId || v.change.directoryId === '') &&
      v.change.raftAddress === c.raftAddress
    )
      return null;
    fail(
      'INVALID_REQUEST',
      `Another membership change is in progress (${v.change.kind === 'add' ? 'adding' : 'removing'} node ${v.change.nodeId}); one node at a time`,
    );
  }
  if (v.membership !== null && isMember(v.membership, c.nodeId))
    fail(
      'INVALID_REQUEST',
      `Node ${c.nodeId} is already a member of the cluster; a node whose data was lost must be removed first (cluster remove-node), then added again`,
    );
  if (v.brokers.some((b) => b.brokerId === c.nodeId))
    fail(
      'INVALID_REQUEST',
      `Node ${c.nodeId} is registered as a broker of this cluster (it ran here before); remove it first`,
    );
  const other = v.brokers.find((b) => b.raftAddress === c.raftAddress);
  if (other !== undefined)
    fail(
      'DUPLICATE_BROKER_REGISTRATION',
      `Broker ${other.brokerId} already uses the Raft address ${c.raftAddress}`,
    );
  return {
    nodeId: c.nodeId,
    kind: 'add',
    raftAddress: c.raftAddress,
    directoryId: c.directoryId,
    requestIndex: index,
  };
}

/**
 * The change a removeNode starts, or null for a retry of the removal in progress. Refused: another
 * change in progress, a node that is not a member, the last voter, a node that still holds
 * partition replicas (they move first: a reassignment, or a decommission). The removal of a node
 * being added replaces its add (a node that never came: the leader takes it out again).
 */
export function checkRemoveNode(
  v: MembershipView,
  c: RemoveNodeCommand,
  index: number,
): MembershipChange | null {
  const adding = v.change?.kind === 'add' && v.change.nodeId === c.nodeId;
  if (v.change !== null && !adding) {
    if (v.change.kind === 'remove' && v.change.nodeId === c.nodeId) return null;
    fail(
      'INVALID_REQUEST',
      `Another membership change is in progress (${v.change.kind === 'add' ? 'adding' : 'removing'} node ${v.change.nodeId}); one node at a time`,
    );
  }
  const broker = v.brokers.find((b) => b.brokerId === c.nodeId);
  const member = adding || (v.membership === null ? broker !== undefined : isMember(v.membership, c.nodeId));
  if (!member) fail('BROKER_ID_NOT_REGISTERED', `Node ${c.nodeId} is not a member of the cluster`);
  if (v.membership !== null && v.membership.voters.length === 1 && v.membership.voters[0] === c.nodeId)
    fail('INVALID_REQUEST', `Node ${c.nodeId} is the only voter of the cluster; it cannot be removed`);
  const held: string[] = [];
  for (const t of v.topics)
    for (const p of t.partitions) if (p.replicas.includes(c.nodeId)) held.push(`${t.name}-${p.partition}`);
  if (held.length > 0)
    fail(
      'INVALID_REQUEST',
      `Node ${c.nodeId} still holds ${held.length} partition replica(s) (${held.slice(0, 5).join(', ')}${held.length > 5 ? ', …' : ''}): move them to other nodes first (partition reassignment, or decommission the node)`,
    );
  return {
    nodeId: c.nodeId,
    kind: 'remove',
    raftAddress: broker?.raftAddress ?? '',
    directoryId: '',
    requestIndex: index,
  };
}
