// Conf change entries carry their change encoded in Entry.data. The format is private to this
// library but stable: [kind u8 (1 = ConfChange, 2 = ConfChangeV2)] then the fields, big-endian.
import { RaftError, RaftErrorCode } from './errors.js';
import { ConfChangeTransition, ConfChangeType, EntryType } from './types.js';
import type { ConfChange, ConfChangeSingle, ConfChangeV2, Entry } from './types.js';

const typeCodes: readonly ConfChangeType[] = [
  ConfChangeType.AddNode,
  ConfChangeType.RemoveNode,
  ConfChangeType.UpdateNode,
  ConfChangeType.AddLearnerNode,
];
const transitionCodes: readonly ConfChangeTransition[] = [
  ConfChangeTransition.Auto,
  ConfChangeTransition.JointImplicit,
  ConfChangeTransition.JointExplicit,
];
/** Maximum number of single changes in one ConfChangeV2. */
export const MAX_CONF_CHANGES = 1024;

export function isConfChangeV2(cc: ConfChange | ConfChangeV2): cc is ConfChangeV2 {
  return (cc as ConfChangeV2).changes !== undefined;
}

/** The V2 form of a one-at-a-time change. */
export function confChangeAsV2(cc: ConfChange | ConfChangeV2): ConfChangeV2 {
  if (isConfChangeV2(cc)) return cc;
  return {
    transition: ConfChangeTransition.Auto,
    changes: [{ type: cc.type, nodeId: cc.nodeId }],
    context: cc.context,
  };
}

function code<T>(list: readonly T[], v: T, what: string): number {
  const i = list.indexOf(v);
  if (i < 0) throw new RaftError(RaftErrorCode.InvalidMessage, `unknown ${what} ${String(v)}`);
  return i;
}

function checkNodeId(id: number): void {
  if (!Number.isSafeInteger(id) || id < 0)
    throw new RaftError(RaftErrorCode.InvalidMessage, `invalid node id ${String(id)}`);
}

/** Encodes a conf change as entry data; returns the entry type to use with it. */
export function encodeConfChange(cc: ConfChange | ConfChangeV2): { type: EntryType; data: Uint8Array } {
  const changes: readonly ConfChangeSingle[] = isConfChangeV2(cc)
    ? cc.changes
    : [{ type: cc.type, nodeId: cc.nodeId }];
  if (changes.length > MAX_CONF_CHANGES)
    throw new RaftError(RaftErrorCode.InvalidMessage, `more than ${MAX_CONF_CHANGES} changes`);
  const v2 = isConfChangeV2(cc);
  const size = 1 + (v2 ? 1 + 4 : 0) + changes.length * 9 + 4 + cc.context.byteLength;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let o = 0;
  dv.setUint8(o++, v2 ? 2 : 1);
  if (v2) {
    dv.setUint8(o++, code(transitionCodes, cc.transition, 'transition'));
    dv.setUint32(o, changes.length);
    o += 4;
  }
  for (const c of changes) {
    checkNodeId(c.nodeId);
    dv.setUint8(o++, code(typeCodes, c.type, 'conf change type'));
    dv.setFloat64(o, c.nodeId);
    o += 8;
  }
  dv.setUint32(o, cc.context.byteLength);
  o += 4;
  out.set(cc.context, o);
  return { type: v2 ? EntryType.ConfChangeV2 : EntryType.ConfChange, data: out };
}

/** Decodes the data of a ConfChange / ConfChangeV2 entry. Throws RaftError InvalidMessage on malformed data. */
export function decodeConfChange(data: Uint8Array): ConfChange | ConfChangeV2 {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const malformed = (): RaftError =>
    new RaftError(RaftErrorCode.InvalidMessage, 'malformed conf change entry');
  try {
    let o = 0;
    const kind = dv.getUint8(o++);
    if (kind !== 1 && kind !== 2) throw malformed();
    let transition: ConfChangeTransition = ConfChangeTransition.Auto;
    let n = 1;
    if (kind === 2) {
      const t = transitionCodes[dv.getUint8(o++)];
      if (t === undefined) throw malformed();
      transition = t;
      n = dv.getUint32(o);
      o += 4;
      if (n > MAX_CONF_CHANGES) throw malformed();
    }
    const changes: ConfChangeSingle[] = [];
    for (let i = 0; i < n; i++) {
      const type = typeCodes[dv.getUint8(o++)];
      const nodeId = dv.getFloat64(o);
      o += 8;
      if (type === undefined || !Number.isSafeInteger(nodeId) || nodeId < 0) throw malformed();
      changes.push({ type, nodeId });
    }
    const len = dv.getUint32(o);
    o += 4;
    if (o + len !== data.byteLength) throw malformed();
    const context = data.slice(o, o + len);
    if (kind === 1) {
      const c = changes[0] as ConfChangeSingle;
      return { type: c.type, nodeId: c.nodeId, context };
    }
    return { transition, changes, context };
  } catch (e) {
    if (e instanceof RaftError) throw e;
    throw new RaftError(RaftErrorCode.InvalidMessage, 'malformed conf change entry', { cause: e });
  }
}

/** Decodes the conf change carried by a committed entry, or null for a normal entry. */
export function confChangeOfEntry(e: Entry): ConfChange | ConfChangeV2 | null {
  if (e.type === EntryType.Normal) return null;
  return decodeConfChange(e.data);
}

/**
 * For a V2 change: whether it enters a joint configuration and whether that is left automatically.
 * A single change with transition Auto is a simple change; more changes, or an explicit joint
 * transition, use joint consensus.
 */
export function enterJointOf(cc: ConfChangeV2): { useJoint: boolean; autoLeave: boolean } {
  if (cc.transition !== ConfChangeTransition.Auto || cc.changes.length > 1) {
    return { useJoint: true, autoLeave: cc.transition !== ConfChangeTransition.JointExplicit };
  }
  return { useJoint: false, autoLeave: false };
}

/** Whether a V2 change is the empty change that leaves a joint configuration. */
export function leaveJointOf(cc: ConfChangeV2): boolean {
  return cc.changes.length === 0;
}
