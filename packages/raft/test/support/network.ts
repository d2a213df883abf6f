// A tiny in-process cluster for unit tests: RawNodes over MemoryStorage, messages delivered by
// hand, every Ready handled in the documented order (persist, then send, then apply, then advance).
import { EntryType, MemoryStorage, RawNode, confChangeOfEntry, seededRng } from '../../src/index.js';
import type { Config, ConfState, Entry, Message, ReadState } from '../../src/index.js';

export type NodeOptions = Partial<Omit<Config, 'id' | 'storage'>>;

export class TestNode {
  readonly id: number;
  storage: MemoryStorage;
  node: RawNode;
  applied: Entry[] = [];
  readStates: ReadState[] = [];
  confState: ConfState | null = null;
  readonly options: NodeOptions;

  constructor(id: number, storage: MemoryStorage, options: NodeOptions) {
    this.id = id;
    this.storage = storage;
    this.options = options;
    this.node = this.makeNode();
  }

  makeNode(): RawNode {
    return new RawNode({
      id: this.id,
      storage: this.storage,
      electionTick: 10,
      heartbeatTick: 1,
      rng: seededRng(this.id),
      ...this.options,
      applied:
        this.applied.length > 0
          ? (this.applied[this.applied.length - 1] as Entry).index
          : Math.max(0, this.storage.firstIndex() - 1),
    });
  }

  /** Handles every pending Ready; returns the messages to send. */
  drain(): Message[] {
    const out: Message[] = [];
    while (this.node.hasReady()) {
      const rd = this.node.ready();
      if (rd.snapshot !== null) this.storage.applySnapshot(rd.snapshot);
      this.storage.append(rd.entries);
      if (rd.hardState !== null) this.storage.setHardState(rd.hardState);
      out.push(...rd.messages);
      if (rd.snapshot !== null) {
        this.applied = [];
        this.confState = rd.snapshot.metadata.confState;
      }
      for (const e of rd.committedEntries) {
        const cc = confChangeOfEntry(e);
        if (cc !== null) this.confState = this.node.applyConfChange(cc);
        if (e.type === EntryType.Normal && e.data.byteLength > 0) this.applied.push(e);
        else this.applied.push(e);
      }
      this.readStates.push(...rd.readStates);
      this.node.advance();
    }
    return out;
  }

  appliedData(): string[] {
    return this.applied
      .filter((e) => e.type === EntryType.Normal && e.data.byteLength > 0)
      .map((e) => Buffer.from(e.data).toString());
  }
}

export class Cluster {
  readonly nodes = new Map<number, TestNode>();
  /** Messages sent and not yet delivered. */
  queue: Message[] = [];
  /** Pairs "from-to" whose messages are dropped. */
  readonly cut = new Set<string>();
  readonly down = new Set<number>();

  constructor(voters: number[], options: NodeOptions = {}, learners: number[] = []) {
    const cs: ConfState = { voters, learners, votersOutgoing: [], learnersNext: [], autoLeave: false };
    for (const id of [...voters, ...learners])
      this.nodes.set(id, new TestNode(id, new MemoryStorage({ confState: cs }), options));
  }

  get(id: number): TestNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  isolate(id: number): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}-${other}`);
      this.cut.add(`${other}-${id}`);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  /** Collects every node's Ready output into the queue. */
  collect(): void {
    for (const [id, n] of this.nodes) {
      if (this.down.has(id)) continue;
      this.queue.push(...n.drain());
    }
  }

  /** Delivers messages until the network is quiet (bounded). */
  settle(maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      this.collect();
      if (this.queue.length === 0) return;
      const batch = this.queue;
      this.queue = [];
      for (const m of batch) this.deliver(m);
    }
    throw new Error('cluster did not settle');
  }

  deliver(m: Message): void {
    if (this.cut.has(`${m.from}-${m.to}`) || this.down.has(m.to)) return;
    const n = this.nodes.get(m.to);
    if (n === undefined) return;
    n.node.step(m);
  }

  tick(ids: number[] = [...this.nodes.keys()], times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const id of ids) if (!this.down.has(id)) this.get(id).node.tick();
      this.settle();
    }
  }

  elect(id: number): void {
    this.get(id).node.campaign();
    this.settle();
    const st = this.get(id).node.status();
    if (st.softState.raftState !== 'Leader')
      throw new Error(`node ${id} did not become leader (${st.softState.raftState})`);
  }

  leader(): number {
    for (const [id, n] of this.nodes)
      if (!this.down.has(id) && n.node.status().softState.raftState === 'Leader') return id;
    return 0;
  }

  propose(id: number, data: string): number {
    const r = this.get(id).node.propose(Buffer.from(data));
    this.settle();
    return r.index;
  }

  /** Simulates a crash: unpersisted state is lost (MemoryStorage holds only what was persisted), then restart. */
  restart(id: number): void {
    const n = this.get(id);
    n.node = n.makeNode();
    this.down.delete(id);
  }
}
