// Conversion between @chronik/raft's in-memory types and the protobuf wire types.
import { MessageType } from '@chronik/raft';
import type { ConfState, Entry, Message, MessageType as MessageTypeT, SnapshotMetadata } from '@chronik/raft';
import type {
  ConfState as WireConfState,
  Entry as WireEntry,
  RaftMessage,
  SnapshotMetadata as WireSnapshotMetadata,
} from './generated/raft.js';
import { TransportError } from './errors.js';

/** Stable wire codes, numbered as etcd numbers raftpb.MessageType. Never renumber. */
const wireCodes: Readonly<Record<MessageTypeT, number>> = {
  [MessageType.MsgHup]: 0,
  [MessageType.MsgBeat]: 1,
  [MessageType.MsgProp]: 2,
  [MessageType.MsgApp]: 3,
  [MessageType.MsgAppResp]: 4,
  [MessageType.MsgVote]: 5,
  [MessageType.MsgVoteResp]: 6,
  [MessageType.MsgSnap]: 7,
  [MessageType.MsgHeartbeat]: 8,
  [MessageType.MsgHeartbeatResp]: 9,
  [MessageType.MsgUnreachable]: 10,
  [MessageType.MsgSnapStatus]: 11,
  [MessageType.MsgCheckQuorum]: 12,
  [MessageType.MsgTransferLeader]: 13,
  [MessageType.MsgTimeoutNow]: 14,
  [MessageType.MsgReadIndex]: 15,
  [MessageType.MsgReadIndexResp]: 16,
  [MessageType.MsgPreVote]: 17,
  [MessageType.MsgPreVoteResp]: 18,
};
const typesByCode: MessageTypeT[] = [];
for (const [name, code] of Object.entries(wireCodes)) typesByCode[code] = name as MessageTypeT;

export function messageTypeToWire(t: MessageTypeT): number {
  return wireCodes[t];
}

export function messageTypeFromWire(code: number): MessageTypeT {
  const t = typesByCode[code];
  if (t === undefined) throw new TransportError('InvalidMessage', `unknown raft message type code ${code}`);
  return t;
}

const empty = new Uint8Array(0);

function confStateToWire(c: ConfState): WireConfState {
  return {
    voters: [...c.voters],
    learners: [...c.learners],
    votersOutgoing: [...c.votersOutgoing],
    learnersNext: [...c.learnersNext],
    autoLeave: c.autoLeave,
  };
}

function confStateFromWire(c: WireConfState | undefined): ConfState {
  return {
    voters: c?.voters ?? [],
    learners: c?.learners ?? [],
    votersOutgoing: c?.votersOutgoing ?? [],
    learnersNext: c?.learnersNext ?? [],
    autoLeave: c?.autoLeave ?? false,
  };
}

export function snapshotMetadataToWire(m: SnapshotMetadata): WireSnapshotMetadata {
  return { index: m.index, term: m.term, confState: confStateToWire(m.confState) };
}

export function snapshotMetadataFromWire(m: WireSnapshotMetadata): SnapshotMetadata {
  return { index: m.index, term: m.term, confState: confStateFromWire(m.confState) };
}

function entryToWire(e: Entry): WireEntry {
  return { term: e.term, index: e.index, type: e.type, data: e.data as Buffer };
}

function entryFromWire(e: WireEntry): Entry {
  if (e.type !== 0 && e.type !== 1 && e.type !== 2) {
    throw new TransportError('InvalidMessage', `unknown entry type ${e.type}`);
  }
  return { term: e.term, index: e.index, type: e.type, data: e.data };
}

/** Converts a message for the wire. A MsgSnap carries only its snapshot's metadata; the data goes on the snapshot stream. */
export function messageToWire(m: Message): RaftMessage {
  return {
    type: messageTypeToWire(m.type),
    to: m.to,
    from: m.from,
    term: m.term,
    logTerm: m.logTerm,
    index: m.index,
    entries: m.entries.map(entryToWire),
    commit: m.commit,
    snapshot: m.snapshot ? snapshotMetadataToWire(m.snapshot.metadata) : undefined,
    reject: m.reject,
    rejectHint: m.rejectHint,
    context: m.context as Buffer,
  };
}

/** Converts a received message; `snapshotData` completes a MsgSnap assembled from the snapshot stream. */
export function messageFromWire(m: RaftMessage, snapshotData?: Uint8Array): Message {
  return {
    type: messageTypeFromWire(m.type),
    to: m.to,
    from: m.from,
    term: m.term,
    logTerm: m.logTerm,
    index: m.index,
    entries: m.entries.map(entryFromWire),
    commit: m.commit,
    snapshot: m.snapshot
      ? { metadata: snapshotMetadataFromWire(m.snapshot), data: snapshotData ?? empty }
      : null,
    reject: m.reject,
    rejectHint: m.rejectHint,
    context: m.context.length === 0 ? empty : m.context,
  };
}
