// Behaviour beyond the paper's core rules: configuration, the RawNode contract, membership,
// reads, transfer, flow control, restarts.
import {
  ConfChangeTransition,
  ConfChangeType,
  MemoryStorage,
  MessageType,
  RaftError,
  RawNode,
  decodeConfChange,
  encodeConfChange,
  newMessage,
  validateConfig,
} from '../src/index.js';
import type { Config, Message } from '../src/index.js';
import { Cluster } from './support/network.js';
import { drain, msg, state, storageWith, term, unitNode } from './support/node.js';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof RaftError) return e.code;
    throw e;
  }
  return 'none';
}

describe('configuration', () => {
  const base: Config = { id: 1, storage: new MemoryStorage(), electionTick: 10, heartbeatTick: 1 };
  it.each<[string, Partial<Config>]>([
    ['id 0', { id: 0 }],
    ['a fractional id', { id: 1.5 }],
    ['electionTick <= heartbeatTick', { electionTick: 2, heartbeatTick: 2 }],
    ['heartbeatTick 0', { heartbeatTick: 0 }],
    ['maxInflightMsgs 0', { maxInflightMsgs: 0 }],
    ['maxSizePerMsgBytes -1', { maxSizePerMsgBytes: -1 }],
    ['maxInflightBytes below maxSizePerMsgBytes', { maxInflightBytes: 10, maxSizePerMsgBytes: 100 }],
    ['lease-based reads without checkQuorum', { readOnlyOption: 'LeaseBased' }],
    ['an unknown readOnlyOption', { readOnlyOption: 'Fast' as never }],
    ['a negative applied index', { applied: -1 }],
    ['maxUncommittedEntriesBytes 0', { maxUncommittedEntriesBytes: 0 }],
  ])('rejects %s with a typed InvalidConfig error', (_name, patch) => {
    expect(code(() => validateConfig({ ...base, ...patch }))).toBe('InvalidConfig');
    expect(code(() => new RawNode({ ...base, ...patch }))).toBe('InvalidConfig');
  });

  it('fills in defaults with a limit on everything', () => {
    const c = validateConfig(base);
    expect(c.maxInflightMsgs).toBeGreaterThan(0);
    expect(c.maxSizePerMsgBytes).toBeGreaterThan(0);
    expect(c.maxUncommittedEntriesBytes).toBeGreaterThan(0);
    expect(c.maxCommittedSizePerReadyBytes).toBeGreaterThan(0);
    expect(c.maxPendingReadIndex).toBeGreaterThan(0);
    expect(c.preVote).toBe(false);
    expect(c.readOnlyOption).toBe('Safe');
  });

  it('accepts lease-based reads with checkQuorum', () => {
    expect(validateConfig({ ...base, readOnlyOption: 'LeaseBased', checkQuorum: true }).readOnlyOption).toBe(
      'LeaseBased',
    );
  });
});

describe('the RawNode contract', () => {
  it('step() refuses local message kinds, proposals and messages for another node', () => {
    const n = unitNode(1, storageWith([1, 2, 3]));
    for (const t of [
      MessageType.MsgHup,
      MessageType.MsgBeat,
      MessageType.MsgUnreachable,
      MessageType.MsgSnapStatus,
      MessageType.MsgCheckQuorum,
      MessageType.MsgProp,
    ]) {
      expect(code(() => n.raw.step(newMessage({ type: t, from: 2, to: 1, term: 1 })))).toBe('InvalidMessage');
    }
    expect(code(() => n.raw.step(msg(MessageType.MsgHeartbeat, { from: 2, to: 3, term: 1 })))).toBe(
      'InvalidMessage',
    );
    expect(code(() => n.raw.step(msg(MessageType.MsgApp, { from: 2, to: 1, term: 0, entries: [] })))).toBe(
      'InvalidMessage',
    );
    expect(code(() => n.raw.step(msg('MsgBogus' as MessageType, { from: 2, to: 1, term: 1 })))).toBe(
      'InvalidMessage',
    );
    expect(state(n)).toBe('Follower');
  });

  it('ready() twice without advance(), and advance() without ready(), are refused', () => {
    const n = unitNode(1, storageWith([1, 2, 3]));
    n.raw.campaign();
    const rd = n.raw.ready();
    expect(n.raw.hasReady()).toBe(false);
    expect(code(() => n.raw.ready())).toBe('InvariantViolated');
    if (rd.hardState !== null) n.storage.setHardState(rd.hardState);
    n.raw.advance();
    expect(code(() => n.raw.advance())).toBe('InvariantViolated');
  });

  it('readIndex() needs a non-empty context', () => {
    const n = unitNode(1, storageWith([1]));
    expect(code(() => n.raw.readIndex(new Uint8Array(0)))).toBe('InvalidMessage');
  });

  it('hasReady() is false for an idle follower between messages', () => {
    const n = unitNode(2, storageWith([1, 2, 3]));
    drain(n);
    n.raw.step(msg(MessageType.MsgHeartbeat, { from: 1, to: 2, term: 1, commit: 1 }));
    drain(n);
    for (let i = 0; i < 5; i++) n.raw.tick();
    expect(n.raw.hasReady()).toBe(false);
  });

  it('propose() returns the index and term of the new entry', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    expect(c.get(1).node.propose(Buffer.from('x'))).toEqual({ index: 3, term: 1 });
  });

  it('status() reports progress on the leader only', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    const st = c.get(1).node.status();
    expect(st.progress?.get(2)).toMatchObject({ match: 2, next: 3, state: 'Replicate' });
    expect(c.get(2).node.status().progress).toBeNull();
    expect(c.get(2).node.status().softState).toEqual({ lead: 1, raftState: 'Follower' });
  });
});

describe('restart', () => {
  it('re-delivers committed entries after the applied index given in the config, and none before', () => {
    const s = storageWith([1], [1, 1, 1, 1], { term: 1, vote: 1, commit: 5 });
    const n = unitNode(1, s, { applied: 3 });
    drain(n);
    expect(n.applied.map((e) => e.index)).toEqual([4, 5]);
  });

  it('refuses a hard state whose commit index is beyond the log (lost entries)', () => {
    const s = storageWith([1], [1], { term: 1, vote: 1, commit: 9 });
    expect(code(() => unitNode(1, s))).toBe('InvariantViolated');
  });
});

describe('single-node group', () => {
  it('elects itself, commits proposals in the same Ready that persists them, and answers reads at once', () => {
    const n = unitNode(1, storageWith([1]));
    n.raw.campaign();
    drain(n);
    expect(state(n)).toBe('Leader');
    n.raw.propose(Buffer.from('x'));
    const rd = n.raw.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([3]);
    expect(rd.committedEntries.map((e) => e.index)).toEqual([3]);
    expect(rd.mustSync).toBe(true);
    n.storage.append(rd.entries);
    if (rd.hardState !== null) n.storage.setHardState(rd.hardState);
    n.raw.advance();
    n.raw.readIndex(Buffer.from('r'));
    const rd2 = n.raw.ready();
    expect(rd2.readStates.map((r) => [r.index, Buffer.from(r.requestCtx).toString()])).toEqual([[3, 'r']]);
    n.raw.advance();
  });
});

describe('Ready size limits', () => {
  it('splits committed entries across Readies by maxCommittedSizePerReadyBytes', () => {
    const s = storageWith([1], [1, 1, 1, 1, 1, 1], { term: 1, vote: 1, commit: 7 });
    const n = unitNode(1, s, { maxCommittedSizePerReadyBytes: 40 });
    const sizes: number[] = [];
    while (n.raw.hasReady()) {
      const rd = n.raw.ready();
      sizes.push(rd.committedEntries.length);
      n.raw.advance();
    }
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(6);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(2);
  });

  it('bounds the entries of one MsgApp by maxSizePerMsgBytes', () => {
    const c = new Cluster([1, 2], { maxSizePerMsgBytes: 64 });
    c.elect(1);
    c.isolate(2);
    for (let i = 0; i < 10; i++) c.get(1).node.propose(Buffer.alloc(20, i));
    c.settle();
    c.heal();
    c.get(1).node.tick();
    const sizes: number[] = [];
    for (let round = 0; round < 30; round++) {
      c.collect();
      const batch = c.queue;
      c.queue = [];
      if (batch.length === 0) break;
      for (const m of batch) {
        if (m.type === 'MsgApp') sizes.push(m.entries.reduce((a, e) => a + e.data.byteLength + 16, 0));
        c.deliver(m);
      }
    }
    expect(Math.max(...sizes)).toBeLessThanOrEqual(72);
    expect(c.get(2).appliedData()).toHaveLength(10);
  });
});

describe('membership changes', () => {
  it('one change at a time: a second proposal is dropped until the first is applied', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    c.get(1).node.proposeConfChange({
      type: ConfChangeType.AddLearnerNode,
      nodeId: 4,
      context: new Uint8Array(0),
    });
    expect(
      code(() =>
        c
          .get(1)
          .node.proposeConfChange({ type: ConfChangeType.AddNode, nodeId: 5, context: new Uint8Array(0) }),
      ),
    ).toBe('ProposalDropped');
    c.settle();
    expect(c.get(1).confState?.learners).toEqual([4]);
    c.get(1).node.proposeConfChange({ type: ConfChangeType.AddNode, nodeId: 5, context: new Uint8Array(0) });
  });

  it('an explicit joint configuration stays joint until an empty ConfChangeV2 leaves it; other changes are refused meanwhile', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    c.get(1).node.proposeConfChange({
      transition: ConfChangeTransition.JointExplicit,
      changes: [{ type: ConfChangeType.RemoveNode, nodeId: 3 }],
      context: new Uint8Array(0),
    });
    c.settle();
    expect(c.get(1).confState).toMatchObject({ voters: [1, 2], votersOutgoing: [1, 2, 3], autoLeave: false });
    expect(
      code(() =>
        c
          .get(1)
          .node.proposeConfChange({ type: ConfChangeType.AddNode, nodeId: 4, context: new Uint8Array(0) }),
      ),
    ).toBe('ProposalDropped');
    c.get(1).node.proposeConfChange({
      transition: ConfChangeTransition.Auto,
      changes: [],
      context: new Uint8Array(0),
    });
    c.settle();
    expect(c.get(1).confState).toMatchObject({ voters: [1, 2], votersOutgoing: [] });
    expect(c.get(2).confState).toMatchObject({ voters: [1, 2], votersOutgoing: [] });
  });

  it('leaving a joint configuration that does not exist is refused', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    expect(
      code(() =>
        c.get(1).node.proposeConfChange({
          transition: ConfChangeTransition.Auto,
          changes: [],
          context: new Uint8Array(0),
        }),
      ),
    ).toBe('ProposalDropped');
  });

  it('a simple change of more than one voter is refused when applied', () => {
    const n = unitNode(1, storageWith([1, 2, 3]));
    expect(
      code(() =>
        n.raw.applyConfChange({
          transition: ConfChangeTransition.Auto,
          changes: [{ type: ConfChangeType.AddNode, nodeId: 4 }],
          context: new Uint8Array(0),
        }),
      ),
    ).toBe('none');
    // Two voters at once need joint consensus; the Auto transition picks it.
    const cs = n.raw.applyConfChange({
      transition: ConfChangeTransition.Auto,
      changes: [
        { type: ConfChangeType.AddNode, nodeId: 5 },
        { type: ConfChangeType.RemoveNode, nodeId: 2 },
      ],
      context: new Uint8Array(0),
    });
    expect(cs.votersOutgoing).toEqual([1, 2, 3, 4]);
    expect(cs.autoLeave).toBe(true);
  });

  it('demoting a voter in a joint change makes it a learner only when the joint configuration is left', () => {
    const n = unitNode(1, storageWith([1, 2, 3]));
    const cs = n.raw.applyConfChange({
      transition: ConfChangeTransition.JointExplicit,
      changes: [{ type: ConfChangeType.AddLearnerNode, nodeId: 3 }],
      context: new Uint8Array(0),
    });
    expect(cs).toMatchObject({ voters: [1, 2], votersOutgoing: [1, 2, 3], learnersNext: [3], learners: [] });
    const after = n.raw.applyConfChange({
      transition: ConfChangeTransition.Auto,
      changes: [],
      context: new Uint8Array(0),
    });
    expect(after).toMatchObject({ voters: [1, 2], votersOutgoing: [], learners: [3], learnersNext: [] });
  });

  it('removing every voter is refused', () => {
    const n = unitNode(1, storageWith([1]));
    expect(
      code(() =>
        n.raw.applyConfChange({ type: ConfChangeType.RemoveNode, nodeId: 1, context: new Uint8Array(0) }),
      ),
    ).toBe('InvalidMessage');
  });

  it('a learner never campaigns and is never asked for its vote', () => {
    const c = new Cluster([1, 2], {}, [3]);
    c.get(3).node.campaign();
    c.settle();
    expect(c.get(3).node.status().softState.raftState).toBe('Follower');
    c.elect(1);
    expect(c.queue.filter((m: Message) => m.type === 'MsgVote' && m.to === 3)).toEqual([]);
  });

  it('a removed follower stops campaigning', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    c.get(1).node.proposeConfChange({
      type: ConfChangeType.RemoveNode,
      nodeId: 3,
      context: new Uint8Array(0),
    });
    c.settle();
    expect(c.get(3).confState?.voters).toEqual([1, 2]);
    c.isolate(3);
    c.tick([3], 30);
    expect(c.get(3).node.status().hardState.term).toBe(1);
  });
});

describe('conf change encoding', () => {
  it('round-trips one-at-a-time and V2 changes', () => {
    const v1 = { type: ConfChangeType.AddLearnerNode, nodeId: 7, context: Buffer.from('addr:7') };
    const e1 = encodeConfChange(v1);
    expect(e1.type).toBe(1);
    expect(decodeConfChange(e1.data)).toEqual({
      type: 'AddLearnerNode',
      nodeId: 7,
      context: new Uint8Array(Buffer.from('addr:7')),
    });
    const v2 = {
      transition: ConfChangeTransition.JointImplicit,
      changes: [
        { type: ConfChangeType.AddNode, nodeId: 4 },
        { type: ConfChangeType.RemoveNode, nodeId: 2 ** 40 },
      ],
      context: new Uint8Array(0),
    };
    const e2 = encodeConfChange(v2);
    expect(e2.type).toBe(2);
    expect(decodeConfChange(e2.data)).toEqual(v2);
  });

  it.each([
    ['empty', []],
    ['unknown kind', [9]],
    ['truncated', [2, 0, 0, 0, 0, 1]],
    ['trailing bytes', [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]],
  ])('rejects malformed data (%s) with InvalidMessage', (_name, bytes) => {
    expect(code(() => decodeConfChange(new Uint8Array(bytes)))).toBe('InvalidMessage');
  });
});

describe('leadership transfer', () => {
  it('is ignored for a learner', () => {
    const c = new Cluster([1, 2], {}, [3]);
    c.elect(1);
    c.get(1).node.transferLeadership(3);
    expect(c.get(1).node.status().leadTransferee).toBe(0);
  });

  it('is abandoned after an election timeout if the transferee does not take over; proposals resume', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    c.isolate(3);
    c.get(1).node.transferLeadership(3);
    expect(code(() => c.get(1).node.propose(Buffer.from('x')))).toBe('ProposalDropped');
    c.tick([1], 10);
    expect(c.get(1).node.status().leadTransferee).toBe(0);
    expect(code(() => c.get(1).node.propose(Buffer.from('x')))).toBe('none');
  });

  it('a follower forwards the request to its leader', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    c.get(2).node.transferLeadership(2);
    c.settle();
    expect(c.leader()).toBe(2);
  });
});

describe('replication flow control and failure reports', () => {
  it('an unreachable follower drops from pipelining back to probing', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    expect(c.get(1).node.status().progress?.get(2)?.state).toBe('Replicate');
    c.get(1).node.reportUnreachable(2);
    expect(c.get(1).node.status().progress?.get(2)?.state).toBe('Probe');
  });

  it('a failed snapshot is retried after the follower answers again', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    c.isolate(3);
    for (let i = 0; i < 5; i++) c.propose(1, `e${i}`);
    const leader = c.get(1);
    leader.storage.createSnapshot(
      leader.storage.lastIndex(),
      leader.confState ?? undefined,
      new Uint8Array(0),
    );
    leader.storage.compact(leader.storage.lastIndex());
    c.heal();
    const sent: Message[] = [];
    // First attempt: the snapshot is lost and reported as failed.
    c.get(1).node.tick();
    for (let round = 0; round < 10; round++) {
      c.collect();
      const batch = c.queue;
      c.queue = [];
      for (const m of batch) {
        if (m.type === 'MsgSnap') {
          sent.push(m);
          if (sent.length === 1) {
            c.get(1).node.reportSnapshot(3, false);
            continue;
          }
        }
        c.deliver(m);
      }
    }
    expect(sent).toHaveLength(1);
    expect(c.get(1).node.status().progress?.get(3)?.state).not.toBe('Snapshot');
    expect(c.get(3).storage.snapshot().metadata.index).toBe(1);
    // The follower answers the next heartbeat; the leader probes and sends the snapshot again.
    c.tick([1], 3);
    expect(c.get(3).storage.snapshot().metadata.index).toBe(leader.storage.snapshot().metadata.index);
    expect(c.get(3).node.status().hardState.commit).toBe(c.get(1).node.status().hardState.commit);
  });

  it('an idle group sends only heartbeats and their responses', () => {
    const c = new Cluster([1, 2, 3], { heartbeatTick: 3 });
    c.elect(1);
    c.propose(1, 'x');
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      for (const id of [1, 2, 3]) c.get(id).node.tick();
      for (let round = 0; round < 10; round++) {
        c.collect();
        const batch = c.queue;
        c.queue = [];
        for (const m of batch) {
          seen.add(m.type);
          c.deliver(m);
        }
      }
    }
    expect([...seen].sort()).toEqual(['MsgHeartbeat', 'MsgHeartbeatResp']);
  });
});

describe('check-quorum leases', () => {
  it('a follower that hears from its leader ignores a vote request of a higher term', () => {
    const c = new Cluster([1, 2, 3], { checkQuorum: true });
    c.elect(1);
    const n = c.get(2);
    n.node.step(msg(MessageType.MsgVote, { from: 3, to: 2, term: 5, index: 10, logTerm: 5 }));
    expect(n.drain()).toEqual([]);
    expect(n.node.status().hardState.term).toBe(1);
  });

  it('without check-quorum the same request deposes the leader term', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    const n = c.get(2);
    n.node.step(msg(MessageType.MsgVote, { from: 3, to: 2, term: 5, index: 10, logTerm: 5 }));
    expect(n.drain().map((m) => [m.type, m.reject])).toEqual([['MsgVoteResp', false]]);
    expect(n.node.status().hardState.term).toBe(5);
  });
});

describe('stale vote requests', () => {
  it('a MsgVote of a lower term is rejected with the current term, and the candidate adopts it', () => {
    // Node 2 is at term 5 and ignores nothing else: the candidate must learn the term from the reply,
    // or it campaigns forever at terms nobody answers (a livelock without pre-vote).
    const n = unitNode(2, storageWith([1, 2, 3], [], { term: 5, vote: 0, commit: 1 }));
    n.raw.step(msg(MessageType.MsgVote, { from: 1, to: 2, term: 3, index: 1, logTerm: 1 }));
    const out = drain(n);
    expect(out.map((m) => [m.type, m.to, m.term, m.reject])).toEqual([['MsgVoteResp', 1, 5, true]]);
    expect(term(n)).toBe(5);
    expect(n.raw.status().hardState.vote).toBe(0);

    const cand = unitNode(1, storageWith([1, 2, 3], [], { term: 2, vote: 0, commit: 1 }));
    cand.raw.campaign();
    drain(cand);
    expect(state(cand)).toBe('Candidate');
    cand.raw.step(out[0] as Message);
    expect(state(cand)).toBe('Follower');
    expect(term(cand)).toBe(5);
  });

  it('does not disturb a leader under check-quorum and pre-vote', () => {
    const c = new Cluster([1, 2, 3], { checkQuorum: true, preVote: true });
    c.elect(1);
    c.get(1).node.transferLeadership(2);
    c.settle();
    expect(c.get(2).node.status().softState.raftState).toBe('Leader');
    expect(c.get(2).node.status().hardState.term).toBe(2);
    const replies: Message[] = [];
    for (const id of [1, 2]) {
      c.get(id).node.step(msg(MessageType.MsgVote, { from: 3, to: id, term: 1, index: 1, logTerm: 1 }));
      c.get(id).node.step(msg(MessageType.MsgPreVote, { from: 3, to: id, term: 2, index: 1, logTerm: 1 }));
      replies.push(
        ...c
          .get(id)
          .drain()
          .filter((m) => m.type === 'MsgVoteResp'),
      );
    }
    expect(replies.map((m) => [m.from, m.term, m.reject])).toEqual([
      [1, 2, true],
      [2, 2, true],
    ]);
    c.queue.push(...replies);
    c.settle();
    c.tick(undefined, 3);
    for (const id of [1, 2, 3]) expect(c.get(id).node.status().hardState.term).toBe(2);
    expect(c.get(2).node.status().softState.raftState).toBe('Leader');
  });
});

describe('lease-based reads', () => {
  const lease = { checkQuorum: true, readOnlyOption: 'LeaseBased' as const };
  const heartbeats = (out: Message[]): number => out.filter((m) => m.type === 'MsgHeartbeat').length;

  function leaderWithLease(): Cluster {
    const c = new Cluster([1, 2, 3], lease);
    c.elect(1);
    c.tick([1]); // a heartbeat round, acknowledged by both followers
    return c;
  }

  it('are answered at once while a quorum acknowledged a heartbeat sent fewer than electionTick - 1 ticks ago', () => {
    const c = leaderWithLease();
    const l = c.get(1);
    l.node.readIndex(Buffer.from('a'));
    expect(heartbeats(l.drain())).toBe(0);
    expect(l.readStates.map((r) => Buffer.from(r.requestCtx).toString())).toEqual(['a']);
  });

  it('fall back to a heartbeat round once the lease has run out', () => {
    const c = leaderWithLease();
    c.isolate(1);
    const l = c.get(1);
    c.tick([1], 8);
    l.node.readIndex(Buffer.from('in'));
    l.drain();
    expect(l.readStates.length).toBe(1);
    c.tick([1], 1);
    l.node.readIndex(Buffer.from('out'));
    const out = l.drain();
    expect(l.readStates.length).toBe(1);
    expect(
      out.filter((m) => m.type === 'MsgHeartbeat' && Buffer.from(m.context).toString() === 'out').length,
    ).toBe(2);
    // The heartbeat round answers it once the followers are reachable again.
    c.heal();
    c.queue.push(...out);
    c.settle();
    expect(l.readStates.map((r) => Buffer.from(r.requestCtx).toString())).toEqual(['in', 'out']);
  });

  it('date an acknowledgement from when its heartbeat was sent, not from when the answer arrived', () => {
    const c = leaderWithLease();
    const l = c.get(1);
    l.node.tick();
    const hbs = l.drain().filter((m) => m.type === 'MsgHeartbeat');
    expect(hbs.length).toBe(2);
    for (let i = 0; i < 9; i++) {
      l.node.tick();
      l.drain(); // these heartbeats are lost
    }
    // The followers answer the old heartbeat only now: 9 ticks after it was sent, no lease.
    for (const hb of hbs) c.deliver(hb);
    for (const id of [2, 3]) for (const m of c.get(id).drain()) c.deliver(m);
    l.node.readIndex(Buffer.from('late'));
    l.drain();
    expect(l.readStates).toEqual([]);
  });

  it('are not served from the lease once a leadership transfer started', () => {
    const c = leaderWithLease();
    const l = c.get(1);
    c.isolate(3);
    l.node.transferLeadership(2);
    const out = l.drain();
    expect(out.map((m) => [m.type, m.to])).toContainEqual(['MsgTimeoutNow', 2]);
    l.node.readIndex(Buffer.from('x'));
    expect(heartbeats(l.drain())).toBe(2);
    expect(l.readStates).toEqual([]);
    // Even after the transfer is abandoned the MsgTimeoutNow may still arrive: no lease for the rest of the term.
    c.cut.add('1-2');
    c.tick([1], 10);
    expect(l.node.status().softState.raftState).toBe('Leader');
    c.heal();
    c.tick([1], 1);
    l.node.readIndex(Buffer.from('y'));
    expect(heartbeats(l.drain())).toBe(2);
  });
});

describe('ReadIndex', () => {
  it('a new leader answers reads only after committing an entry of its term', () => {
    const n = unitNode(1, storageWith([1, 2, 3], [], { term: 1, vote: 0, commit: 1 }));
    n.raw.campaign();
    drain(n);
    n.raw.step(msg(MessageType.MsgVoteResp, { from: 2, to: 1, term: 2 }));
    drain(n);
    n.raw.readIndex(Buffer.from('r'));
    expect(drain(n).filter((m) => m.type === 'MsgHeartbeat')).toEqual([]);
    n.raw.step(msg(MessageType.MsgAppResp, { from: 2, to: 1, term: term(n), index: 2 }));
    const out = drain(n);
    expect(out.filter((m) => m.type === 'MsgHeartbeat').length).toBe(2);
    n.raw.step(
      msg(MessageType.MsgHeartbeatResp, { from: 2, to: 1, term: term(n), context: Buffer.from('r') }),
    );
    const rd = n.raw.ready();
    expect(rd.readStates.map((r) => r.index)).toEqual([2]);
    expect(rd.committedEntries.map((e) => e.index)).toEqual([]);
    n.raw.advance();
  });

  it('limits pending reads', () => {
    const c = new Cluster([1, 2, 3], { maxPendingReadIndex: 2 });
    c.elect(1);
    c.isolate(1);
    c.get(1).node.readIndex(Buffer.from('a'));
    c.get(1).node.readIndex(Buffer.from('b'));
    expect(code(() => c.get(1).node.readIndex(Buffer.from('c')))).toBe('ProposalDropped');
    // A request forwarded by a follower beyond the limit is dropped, not thrown at the transport.
    const fwd = msg(MessageType.MsgReadIndex, { from: 2, to: 1, term: 0, context: Buffer.from('d') });
    expect(code(() => c.get(1).node.step(fwd))).toBe('none');
  });
});

describe('more flow control', () => {
  it('limits in-flight bytes per follower (maxInflightBytes)', () => {
    const c = new Cluster([1, 2], { maxSizePerMsgBytes: 100, maxInflightBytes: 200, maxInflightMsgs: 100 });
    c.elect(1);
    const leader = c.get(1);
    // Each proposal leaves in its own append (one Ready each); 84 bytes per entry (68 data + 16).
    for (let i = 0; i < 5; i++) {
      leader.node.propose(Buffer.alloc(68, i));
      c.collect();
    }
    const pr = leader.node.status().progress?.get(2);
    expect(pr?.inflightMsgs).toBe(3); // 84 + 84 < 200, the third reaches 252 >= 200: full
    expect(pr?.inflightBytes).toBe(252);
    c.settle();
    expect(c.get(2).appliedData()).toHaveLength(5);
  });
});

describe('snapshots that are temporarily unavailable', () => {
  it('the leader retries later instead of failing', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    c.isolate(3);
    for (let i = 0; i < 3; i++) c.propose(1, `e${i}`);
    const leader = c.get(1);
    leader.storage.createSnapshot(
      leader.storage.lastIndex(),
      leader.confState ?? undefined,
      new Uint8Array(0),
    );
    leader.storage.compact(leader.storage.lastIndex());
    let unavailable = 2;
    const original = leader.storage.snapshot.bind(leader.storage);
    leader.storage.snapshot = () => {
      if (unavailable > 0) {
        unavailable--;
        throw new RaftError('SnapshotTemporarilyUnavailable', 'building');
      }
      return original();
    };
    c.heal();
    c.tick([1], 6);
    expect(unavailable).toBe(0);
    expect(c.get(3).storage.snapshot().metadata.index).toBe(leader.storage.snapshot().metadata.index);
    expect(c.get(3).node.status().hardState.commit).toBe(leader.node.status().hardState.commit);
  });
});

describe('a removed leader', () => {
  it('hands over, and refuses proposals and reads while it does', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    c.get(1).node.proposeConfChange({
      type: ConfChangeType.RemoveNode,
      nodeId: 1,
      context: new Uint8Array(0),
    });
    c.settle();
    expect(c.leader()).not.toBe(0);
    expect(c.get(2).node.status().softState.raftState).toBe('Leader');
    expect(c.get(2).node.status().hardState.term).toBe(2);
    if (c.get(1).node.status().softState.raftState === 'Leader') {
      expect(code(() => c.get(1).node.readIndex(Buffer.from('r')))).toBe('ProposalDropped');
      expect(code(() => c.get(1).node.propose(Buffer.from('p')))).toBe('ProposalDropped');
    }
    c.tick([1, 2, 3], 3);
    expect(c.get(1).node.status().softState.raftState).toBe('Follower');
    expect(code(() => c.get(1).node.propose(Buffer.from('p')))).toBe('NotLeader');
  });
});
