// The scenario-test environment: a handful of RawNodes over MemoryStorage, with every step of the
// Ready cycle and every message delivery under the script's control.
import {
  ConfChangeTransition,
  ConfChangeType,
  MemoryStorage,
  RaftError,
  RawNode,
  EntryType,
  confChangeOfEntry,
  emptyConfState,
  newMessage,
} from '../../src/index.js';
import type { ConfChangeSingle, ConfState, Entry, Message, MessageType, Ready } from '../../src/index.js';
import { fmtConfState, fmtData, fmtEntry, fmtHardState, fmtMessage, fmtReady } from './format.js';

export interface Command {
  readonly name: string;
  readonly args: readonly string[];
  readonly kv: ReadonlyMap<string, string>;
}

export function parseCommand(line: string): Command {
  const tokens = line.trim().split(/\s+/);
  const name = tokens[0] ?? '';
  const args: string[] = [];
  const kv = new Map<string, string>();
  for (const t of tokens.slice(1)) {
    const eq = t.indexOf('=');
    if (eq > 0) kv.set(t.slice(0, eq), t.slice(eq + 1));
    else args.push(t);
  }
  return { name, args, kv };
}

const ids = (s: string | undefined): number[] =>
  s === undefined || s === '' ? [] : s.split(',').map(Number);

class EnvNode {
  node: RawNode | null;
  readonly storage: MemoryStorage;
  applied = 0;
  pending: Ready | null = null;
  confState: ConfState;
  data: string[] = [];
  constructor(
    readonly id: number,
    storage: MemoryStorage,
    readonly make: (applied: number) => RawNode,
  ) {
    this.storage = storage;
    this.confState = storage.initialState().confState;
    this.applied = storage.firstIndex() - 1;
    this.node = make(this.applied);
  }
  get raw(): RawNode {
    if (this.node === null) throw new Error(`node ${this.id} is down`);
    return this.node;
  }
}

export class InteractionEnv {
  readonly nodes = new Map<number, EnvNode>();
  /** Undelivered messages per recipient, in send order. */
  readonly inbox = new Map<number, Message[]>();
  readonly stash = new Map<number, Message[]>();
  readonly cut = new Set<string>();
  out: string[] = [];

  handle(c: Command): string {
    this.out = [];
    try {
      this.dispatch(c);
    } catch (e) {
      if (e instanceof RaftError)
        this.out.push(
          `error: ${e.code}${e.code === 'NotLeader' ? ` (leader ${e.leaderId})` : ''}: ${e.message}`,
        );
      else throw e;
    }
    return this.out.join('\n');
  }

  private node(id: number): EnvNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  private targets(c: Command): number[] {
    return c.args.length > 0 ? c.args.map(Number) : [...this.nodes.keys()];
  }

  private dispatch(c: Command): void {
    switch (c.name) {
      case 'add-nodes':
        return this.addNodes(c);
      case 'campaign':
        return this.node(Number(c.args[0])).raw.campaign();
      case 'tick': {
        const times = Number(c.kv.get('times') ?? '1');
        for (const id of this.targets(c)) for (let i = 0; i < times; i++) this.node(id).raw.tick();
        return;
      }
      case 'tick-heartbeat':
        for (const id of this.targets(c)) this.node(id).raw.tick();
        return;
      case 'tick-election':
        for (const id of this.targets(c)) for (let i = 0; i < 10; i++) this.node(id).raw.tick();
        return;
      case 'stabilize':
        return this.stabilize(this.targets(c));
      case 'process-ready':
        for (const id of this.targets(c)) this.processReady(id);
        return;
      case 'ready': {
        const n = this.node(Number(c.args[0]));
        if (!n.raw.hasReady()) {
          this.out.push('no Ready');
          return;
        }
        n.pending = n.raw.ready();
        this.out.push(...fmtReady(n.pending).map((l, i) => (i === 0 ? l : `  ${l}`)));
        return;
      }
      case 'advance': {
        const n = this.node(Number(c.args[0]));
        n.pending = null;
        n.raw.advance();
        this.out.push('ok');
        return;
      }
      case 'deliver-msgs':
        for (const id of this.targets(c)) this.deliver(id, c.kv.get('type'), c.kv.get('drop') === 'true');
        return;
      case 'stash-msgs':
        for (const id of this.targets(c)) {
          const msgs = this.inbox.get(id) ?? [];
          this.inbox.set(id, []);
          this.stash.set(id, [...(this.stash.get(id) ?? []), ...msgs]);
          for (const m of msgs) this.out.push(`stashed ${fmtMessage(m)}`);
        }
        return;
      case 'deliver-stashed':
        for (const id of this.targets(c)) {
          const msgs = this.stash.get(id) ?? [];
          if (c.kv.get('keep') !== 'true') this.stash.set(id, []);
          const order = c.kv.get('order') === 'reverse' ? [...msgs].reverse() : msgs;
          for (const m of order) this.stepOne(id, m);
        }
        return;
      case 'propose': {
        const n = this.node(Number(c.args[0]));
        const r = n.raw.propose(Buffer.from(c.args[1] ?? ''));
        this.out.push(`ok: index ${r.index} term ${r.term}`);
        return;
      }
      case 'propose-conf-change':
        return this.proposeConfChange(c);
      case 'read-index':
        this.node(Number(c.args[0])).raw.readIndex(Buffer.from(c.args[1] ?? ''));
        return;
      case 'transfer-leadership':
        this.node(Number(c.kv.get('from'))).raw.transferLeadership(Number(c.kv.get('to')));
        return;
      case 'forget-leader':
        for (const id of c.args.map(Number))
          this.out.push(`${id}: forgetLeader ${this.node(id).raw.forgetLeader() ? 'ok' : 'refused'}`);
        return;
      case 'report-unreachable':
        this.node(Number(c.args[0])).raw.reportUnreachable(Number(c.args[1]));
        return;
      case 'report-snapshot':
        this.node(Number(c.args[0])).raw.reportSnapshot(Number(c.args[1]), c.kv.get('ok') !== 'false');
        return;
      case 'step-msg': {
        // A hand-crafted message, for cases a live cluster produces only by rare timing.
        const entries = (c.kv.get('entries') ?? '')
          .split(',')
          .filter((x) => x !== '')
          .map((x) => {
            const [t, i] = x.split('/').map(Number);
            return { term: t as number, index: i as number, type: EntryType.Normal, data: new Uint8Array(0) };
          });
        const m = newMessage({
          type: (c.kv.get('type') ?? 'MsgApp') as MessageType,
          to: Number(c.kv.get('to')),
          from: Number(c.kv.get('from')),
          term: Number(c.kv.get('term') ?? '0'),
          logTerm: Number(c.kv.get('logterm') ?? '0'),
          index: Number(c.kv.get('index') ?? '0'),
          commit: Number(c.kv.get('commit') ?? '0'),
          entries,
        });
        this.stepOne(m.to, m);
        return;
      }
      case 'raft-log':
        return this.raftLog(Number(c.args[0]));
      case 'raft-state':
        for (const [id, n] of this.nodes) {
          if (n.node === null) {
            this.out.push(`${id}: down`);
            continue;
          }
          const st = n.node.status();
          const role =
            st.config.voters.includes(id) || st.config.votersOutgoing.includes(id)
              ? 'Voter'
              : st.config.learners.includes(id)
                ? 'Learner'
                : 'None';
          this.out.push(
            `${id}: ${st.softState.raftState} (${role}) Term:${st.hardState.term} Lead:${st.softState.lead} Commit:${st.hardState.commit} Applied:${st.applied}`,
          );
        }
        return;
      case 'status': {
        const st = this.node(Number(c.args[0])).raw.status();
        this.out.push(`config ${fmtConfState(st.config)} leadTransferee:${st.leadTransferee}`);
        if (st.progress === null) {
          this.out.push('not a leader');
          return;
        }
        for (const [id, p] of [...st.progress].sort((a, b) => a[0] - b[0])) {
          this.out.push(
            `${id}: ${p.state} match=${p.match} next=${p.next}${p.isLearner ? ' learner' : ''}${p.pendingSnapshot > 0 ? ` pendingSnapshot=${p.pendingSnapshot}` : ''} inflight=${p.inflightMsgs}/${p.inflightBytes}B${p.recentActive ? '' : ' inactive'}`,
          );
        }
        return;
      }
      case 'applied': {
        const n = this.node(Number(c.args[0]));
        this.out.push(`applied ${n.applied}: [${n.data.join(' ')}] ${fmtConfState(n.confState)}`);
        return;
      }
      case 'crash': {
        const n = this.node(Number(c.args[0]));
        n.node = null;
        n.pending = null;
        this.inbox.set(n.id, []);
        this.out.push(
          `${n.id} crashed: unpersisted state lost; persisted ${fmtHardState(n.storage.initialState().hardState)} last index ${n.storage.lastIndex()}`,
        );
        return;
      }
      case 'restart': {
        const n = this.node(Number(c.args[0]));
        // The state machine is rebuilt from scratch: everything after the snapshot is applied again.
        n.applied = n.storage.firstIndex() - 1;
        n.data = [];
        n.confState = n.storage.initialState().confState;
        n.node = n.make(n.applied);
        const st = n.node.status();
        this.out.push(`${n.id} restarted: ${fmtHardState(st.hardState)} ${st.softState.raftState}`);
        return;
      }
      case 'isolate':
        for (const id of c.args.map(Number)) {
          for (const other of this.nodes.keys()) {
            if (other === id) continue;
            this.cut.add(`${id}-${other}`);
            this.cut.add(`${other}-${id}`);
          }
        }
        return;
      case 'heal':
        this.cut.clear();
        return;
      case 'snapshot': {
        const n = this.node(Number(c.args[0]));
        const s = n.storage.createSnapshot(n.applied, n.confState, Buffer.from(n.data.join(',')));
        this.out.push(`snapshot at ${s.metadata.index} term ${s.metadata.term}`);
        return;
      }
      case 'compact': {
        const n = this.node(Number(c.args[0]));
        n.storage.compact(Number(c.args[1]));
        this.out.push(
          `first index ${n.storage.firstIndex()}, term(${n.storage.firstIndex() - 1}) = ${n.storage.term(n.storage.firstIndex() - 1)}`,
        );
        return;
      }
      default:
        throw new Error(`unknown command ${c.name}`);
    }
  }

  private addNodes(c: Command): void {
    const count = Number(c.args[0]);
    const cs: ConfState = {
      ...emptyConfState(),
      voters: ids(c.kv.get('voters')),
      learners: ids(c.kv.get('learners')),
    };
    const empty = c.kv.get('empty') === 'true';
    // jitter=3:0.5 makes node 3's randomized election timeout electionTick * 1.5; the default 0 makes it electionTick.
    const jitter = new Map<number, number>();
    for (const j of (c.kv.get('jitter') ?? '').split(',').filter((x) => x !== '')) {
      const [k, v] = j.split(':');
      jitter.set(Number(k), Number(v));
    }
    for (let i = 0; i < count; i++) {
      const id = this.nodes.size + 1;
      const r = jitter.get(id) ?? 0;
      const storage = empty ? new MemoryStorage() : new MemoryStorage({ confState: cs });
      const make = (applied: number): RawNode =>
        new RawNode({
          id,
          storage,
          electionTick: 10,
          heartbeatTick: 1,
          rng: () => r, // fixed: scripts control elections explicitly
          preVote: c.kv.get('prevote') === 'true',
          checkQuorum: c.kv.get('checkquorum') === 'true',
          readOnlyOption: c.kv.get('read-only') === 'lease' ? 'LeaseBased' : 'Safe',
          maxInflightMsgs: Number(c.kv.get('max-inflight') ?? '256'),
          maxSizePerMsgBytes: Number(c.kv.get('max-size') ?? String(1 << 20)),
          maxInflightBytes: Number(c.kv.get('max-inflight-bytes') ?? '0'),
          maxUncommittedEntriesBytes: Number(c.kv.get('max-uncommitted') ?? String(1 << 26)),
          applied,
        });
      const n = new EnvNode(id, storage, make);
      this.nodes.set(id, n);
      this.inbox.set(id, []);
      this.out.push(`${id}: ${empty ? 'empty log' : `bootstrapped ${fmtConfState(cs)} at index 1`}`);
    }
  }

  private proposeConfChange(c: Command): void {
    const n = this.node(Number(c.args[0]));
    const changes: ConfChangeSingle[] = [];
    for (const [k, v] of c.kv) {
      const type =
        k === 'add'
          ? ConfChangeType.AddNode
          : k === 'remove'
            ? ConfChangeType.RemoveNode
            : k === 'learner'
              ? ConfChangeType.AddLearnerNode
              : null;
      if (type === null) continue;
      for (const id of ids(v)) changes.push({ type, nodeId: id });
    }
    let r;
    if (c.kv.get('v1') === 'true') {
      const one = changes[0];
      if (one === undefined) throw new Error('v1 needs one change');
      r = n.raw.proposeConfChange({ type: one.type, nodeId: one.nodeId, context: new Uint8Array(0) });
    } else {
      const t = c.kv.get('transition') ?? 'Auto';
      const transition =
        t === 'JointExplicit'
          ? ConfChangeTransition.JointExplicit
          : t === 'JointImplicit'
            ? ConfChangeTransition.JointImplicit
            : ConfChangeTransition.Auto;
      r = n.raw.proposeConfChange({ transition, changes, context: new Uint8Array(0) });
    }
    this.out.push(`ok: index ${r.index} term ${r.term}`);
  }

  private raftLog(id: number): void {
    const n = this.node(id);
    const s = n.storage;
    const first = s.firstIndex();
    const last = s.lastIndex();
    this.out.push(
      `stored: first ${first} last ${last}, term(${first - 1}) = ${s.term(first - 1)}, ${fmtHardState(s.initialState().hardState)}`,
    );
    if (last >= first)
      for (const e of s.entries(first, last + 1, Number.MAX_SAFE_INTEGER)) this.out.push(fmtEntry(e));
  }

  /** Handles node id's Ready completely, in the documented order. */
  processReady(id: number): boolean {
    const n = this.node(id);
    if (n.node === null || !n.node.hasReady()) return false;
    const rd = n.node.ready();
    this.out.push(`> ${id} handling Ready`);
    for (const l of fmtReady(rd)) this.out.push(`  ${l}`);
    // 1. persist
    if (rd.snapshot !== null) n.storage.applySnapshot(rd.snapshot);
    n.storage.append(rd.entries);
    if (rd.hardState !== null) n.storage.setHardState(rd.hardState);
    // 2. send
    for (const m of rd.messages) {
      const box = this.inbox.get(m.to);
      if (box !== undefined && !this.cut.has(`${m.from}-${m.to}`)) box.push(m);
    }
    // 3. apply
    if (rd.snapshot !== null) {
      n.applied = rd.snapshot.metadata.index;
      n.confState = rd.snapshot.metadata.confState;
      const text = Buffer.from(rd.snapshot.data).toString();
      n.data = text === '' ? [] : text.split(',');
    }
    for (const e of rd.committedEntries) this.apply(n, e);
    // 4. advance
    n.node.advance();
    return true;
  }

  private apply(n: EnvNode, e: Entry): void {
    n.applied = e.index;
    const cc = confChangeOfEntry(e);
    if (cc !== null) {
      n.confState = n.raw.applyConfChange(cc);
      this.out.push(`  INFO ${n.id} applied ${fmtEntry(e)}: now ${fmtConfState(n.confState)}`);
    } else if (e.data.byteLength > 0) {
      n.data.push(Buffer.from(e.data).toString());
    }
  }

  private deliver(id: number, type: string | undefined, drop: boolean): void {
    const box = this.inbox.get(id) ?? [];
    const take = box.filter((m) => type === undefined || m.type === type);
    this.inbox.set(
      id,
      box.filter((m) => !take.includes(m)),
    );
    for (const m of take) {
      if (drop) this.out.push(`dropped: ${fmtMessage(m)}`);
      else this.stepOne(id, m);
    }
  }

  private stepOne(id: number, m: Message): void {
    const n = this.node(id);
    if (n.node === null) {
      this.out.push(`lost (node down): ${fmtMessage(m)}`);
      return;
    }
    this.out.push(fmtMessage(m));
    try {
      n.node.step(m);
    } catch (e) {
      if (e instanceof RaftError) this.out.push(`  error: ${e.code}: ${e.message}`);
      else throw e;
    }
  }

  private stabilize(targets: number[]): void {
    for (let round = 0; round < 200; round++) {
      let progress = false;
      for (const id of targets) if (this.processReady(id)) progress = true;
      for (const id of targets) {
        const box = this.inbox.get(id) ?? [];
        if (box.length === 0 || this.node(id).node === null) continue;
        this.out.push(`> ${id} receiving messages`);
        this.inbox.set(id, []);
        for (const m of box) {
          this.out.push(`  ${fmtMessage(m)}`);
          try {
            this.node(id).raw.step(m);
          } catch (e) {
            if (e instanceof RaftError) this.out.push(`    error: ${e.code}: ${e.message}`);
            else throw e;
          }
        }
        progress = true;
      }
      if (!progress) return;
    }
    throw new Error('stabilize: no quiescence after 200 rounds');
  }
}

export { fmtData };
