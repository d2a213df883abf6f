// Low-level helpers for unit tests: one RawNode over a MemoryStorage, driven message by message.
import { EntryType, MemoryStorage, RawNode, confChangeOfEntry, newMessage } from '../../src/index.js';
import type { Config, ConfState, Entry, HardState, Message, MessageType } from '../../src/index.js';

export function conf(voters: number[], learners: number[] = []): ConfState {
  return { voters, learners, votersOutgoing: [], learnersNext: [], autoLeave: false };
}

export function ent(term: number, index: number, data = ''): Entry {
  return { term, index, type: EntryType.Normal, data: Buffer.from(data) };
}

/** A storage bootstrapped with `voters` (index 1, term 1) followed by entries of the given terms at 2, 3, ... */
export function storageWith(voters: number[], terms: number[] = [], hs?: HardState): MemoryStorage {
  const s = new MemoryStorage({ confState: conf(voters) });
  s.append(terms.map((t, i) => ent(t, i + 2)));
  if (hs !== undefined) s.setHardState(hs);
  return s;
}

export interface UnitNode {
  raw: RawNode;
  storage: MemoryStorage;
  applied: Entry[];
}

export function unitNode(
  id: number,
  storage: MemoryStorage,
  options: Partial<Omit<Config, 'id' | 'storage'>> = {},
): UnitNode {
  const raw = new RawNode({ id, storage, electionTick: 10, heartbeatTick: 1, rng: () => 0, ...options });
  return { raw, storage, applied: [] };
}

/** Handles every pending Ready in order (persist, send, apply, advance) and returns the messages. */
export function drain(n: UnitNode): Message[] {
  const out: Message[] = [];
  while (n.raw.hasReady()) {
    const rd = n.raw.ready();
    if (rd.snapshot !== null) n.storage.applySnapshot(rd.snapshot);
    n.storage.append(rd.entries);
    if (rd.hardState !== null) n.storage.setHardState(rd.hardState);
    out.push(...rd.messages);
    for (const e of rd.committedEntries) {
      const cc = confChangeOfEntry(e);
      if (cc !== null) n.raw.applyConfChange(cc);
      n.applied.push(e);
    }
    n.raw.advance();
  }
  return out;
}

export function msg(type: MessageType, fields: Partial<Message> & { from: number; to: number }): Message {
  return newMessage({ ...fields, type });
}

export function logOf(n: UnitNode): string[] {
  const s = n.storage;
  if (s.lastIndex() < s.firstIndex()) return [];
  return s
    .entries(s.firstIndex(), s.lastIndex() + 1, Number.MAX_SAFE_INTEGER)
    .map((e) => `${e.term}/${e.index}`);
}

export function state(n: UnitNode): string {
  return n.raw.status().softState.raftState;
}

export function term(n: UnitNode): number {
  return n.raw.status().hardState.term;
}
