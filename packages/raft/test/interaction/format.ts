// Text renderings of Raft values for the scenario tests (testdata/*.txt). Stable and compact:
// a behaviour change shows up as a readable diff.
import { EntryType, confChangeOfEntry, isConfChangeV2 } from '../../src/index.js';
import type { ConfState, Entry, HardState, Message, Ready, Snapshot } from '../../src/index.js';

export function fmtData(d: Uint8Array): string {
  return JSON.stringify(Buffer.from(d).toString('latin1'));
}

export function fmtEntry(e: Entry): string {
  if (e.type === EntryType.Normal)
    return `${e.term}/${e.index} Normal${e.data.byteLength > 0 ? ` ${fmtData(e.data)}` : ''}`;
  const cc = confChangeOfEntry(e);
  if (cc === null) return `${e.term}/${e.index} ?`;
  if (isConfChangeV2(cc)) {
    const changes = cc.changes.map((c) => `${c.type}(${c.nodeId})`).join(' ');
    return `${e.term}/${e.index} ConfChangeV2 ${cc.transition}${changes === '' ? ' (leave joint)' : ` ${changes}`}`;
  }
  return `${e.term}/${e.index} ConfChange ${cc.type}(${cc.nodeId})`;
}

export function fmtConfState(cs: ConfState): string {
  let s = `voters=(${cs.voters.join(' ')})`;
  if (cs.votersOutgoing.length > 0) s += `&&(${cs.votersOutgoing.join(' ')})`;
  if (cs.learners.length > 0) s += ` learners=(${cs.learners.join(' ')})`;
  if (cs.learnersNext.length > 0) s += ` learners_next=(${cs.learnersNext.join(' ')})`;
  if (cs.autoLeave) s += ' autoleave';
  return s;
}

export function fmtSnapshot(s: Snapshot): string {
  return `Index:${s.metadata.index} Term:${s.metadata.term} ConfState:${fmtConfState(s.metadata.confState)}`;
}

export function fmtHardState(hs: HardState): string {
  return `Term:${hs.term} Vote:${hs.vote} Commit:${hs.commit}`;
}

export function fmtMessage(m: Message): string {
  let s = `${m.from}->${m.to} ${m.type} Term:${m.term}`;
  switch (m.type) {
    case 'MsgApp':
      s += ` Log:${m.logTerm}/${m.index} Commit:${m.commit}`;
      if (m.entries.length > 0) s += ` Entries:[${m.entries.map(fmtEntry).join(', ')}]`;
      break;
    case 'MsgAppResp':
      s += ` Index:${m.index}`;
      if (m.reject) s += ` Rejected (Hint: ${m.rejectHint}${m.logTerm > 0 ? `, LogTerm: ${m.logTerm}` : ''})`;
      break;
    case 'MsgVote':
    case 'MsgPreVote':
      s += ` Log:${m.logTerm}/${m.index}`;
      break;
    case 'MsgVoteResp':
    case 'MsgPreVoteResp':
      if (m.reject) s += ' Rejected';
      break;
    case 'MsgHeartbeat':
      s += ` Commit:${m.commit}`;
      if (m.index > 0) s += ` Tick:${m.index}`; // LeaseBased: the leader's tick when it was sent
      break;
    case 'MsgHeartbeatResp':
      if (m.index > 0) s += ` Tick:${m.index}`;
      break;
    case 'MsgSnap':
      if (m.snapshot !== null) s += ` Snapshot: ${fmtSnapshot(m.snapshot)}`;
      break;
    case 'MsgReadIndexResp':
      s += ` Index:${m.index}`;
      break;
    default:
      break;
  }
  if (m.context.byteLength > 0) s += ` Context:${fmtData(m.context)}`;
  return s;
}

export function fmtReady(rd: Ready): string[] {
  const out: string[] = [`Ready MustSync=${String(rd.mustSync)}:`];
  if (rd.softState !== null) out.push(`Lead:${rd.softState.lead} State:${rd.softState.raftState}`);
  if (rd.hardState !== null) out.push(`HardState ${fmtHardState(rd.hardState)}`);
  if (rd.entries.length > 0) out.push('Entries:', ...rd.entries.map(fmtEntry));
  if (rd.snapshot !== null) out.push(`Snapshot ${fmtSnapshot(rd.snapshot)}`);
  if (rd.committedEntries.length > 0) out.push('CommittedEntries:', ...rd.committedEntries.map(fmtEntry));
  if (rd.messages.length > 0) out.push('Messages:', ...rd.messages.map(fmtMessage));
  if (rd.readStates.length > 0)
    out.push('ReadStates:', ...rd.readStates.map((r) => `Index:${r.index} Context:${fmtData(r.requestCtx)}`));
  return out;
}
