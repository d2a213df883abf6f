// A replicated key-value store on @chronik/raft: three nodes in one process, messages passed in memory.
import { EntryType, MemoryStorage, RawNode } from '@chronik/raft';
import type { Message } from '@chronik/raft';

const [enc, dec] = [new TextEncoder(), new TextDecoder()];
const confState = { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
const nodes = confState.voters.map((id) => {
  const storage = new MemoryStorage({ confState }); // founding members share the initial configuration
  const raw = new RawNode({ id, storage, electionTick: 10, heartbeatTick: 1 });
  return { storage, raw, kv: new Map<string, string>(), applied: 0, reads: new Map<string, number>() };
});
const network: Message[] = [];

/** Handles every Ready in the order the contract requires: persist, send, apply, advance. */
function drive(): void {
  for (let busy = true; busy;) {
    busy = false;
    for (const n of nodes.filter((n) => n.raw.hasReady())) {
      busy = true;
      const rd = n.raw.ready();
      if (rd.snapshot) n.storage.applySnapshot(rd.snapshot); // 1. persist (a disk-backed storage fsyncs)
      n.storage.append(rd.entries);
      if (rd.hardState) n.storage.setHardState(rd.hardState);
      network.push(...rd.messages); // 2. send, only once step 1 is durable
      for (const e of rd.committedEntries) {
        n.applied = e.index; // 3. apply committed commands (skipping no-op and conf change entries)
        if (e.type === EntryType.Normal && e.data.byteLength > 0)
          n.kv.set(...(JSON.parse(dec.decode(e.data)) as [string, string]));
      }
      for (const rs of rd.readStates) n.reads.set(dec.decode(rs.requestCtx), rs.index);
      n.raw.advance(); // 4. advance
    }
    for (const m of network.splice(0)) nodes[m.to - 1]?.raw.step(m);
  }
}

const leader = nodes[0]!;
leader.raw.campaign(); // a real program calls tick() on a timer and lets an election timeout fire
drive();
export function put(key: string, value: string): void {
  leader.raw.propose(enc.encode(JSON.stringify([key, value]))); // on a follower: throws NotLeader
  drive();
}
/** A linearizable read on any node: ReadIndex, then read once that index is applied. */
export function get(node: number, key: string): string | undefined {
  const n = nodes[node]!;
  n.raw.readIndex(enc.encode(key));
  drive();
  const index = n.reads.get(key);
  return index !== undefined && n.applied >= index ? n.kv.get(key) : undefined;
}

put('greeting', 'hello');
put('answer', '42');
console.log(
  JSON.stringify({ readOnFollower: get(2, 'answer'), stores: nodes.map((n) => Object.fromEntries(n.kv)) }),
);
