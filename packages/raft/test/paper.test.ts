// Unit tests tied to the rules of the Raft paper ("In Search of an Understandable Consensus
// Algorithm", extended version), each named after the rule it checks.
import { MessageType, seededRng } from '../src/index.js';
import type { Message } from '../src/index.js';
import { drain, ent, logOf, msg, state, storageWith, term, unitNode } from './support/node.js';
import type { UnitNode } from './support/node.js';

/** Campaigns and collects the votes of `voters` by hand; the node becomes leader. */
function makeLeader(n: UnitNode, others: number[]): Message[] {
  n.raw.campaign();
  drain(n);
  const t = term(n);
  for (const id of others) n.raw.step(msg(MessageType.MsgVoteResp, { from: id, to: n.raw.id, term: t }));
  expect(state(n)).toBe('Leader');
  return drain(n);
}

function types(ms: readonly Message[]): string[] {
  return ms.map((m) => `${m.type}->${m.to}`);
}

/** A minimal network of unit nodes with per-delivery filters, for multi-node paper scenarios. */
class Net {
  readonly nodes = new Map<number, UnitNode>();
  queue: Message[] = [];
  constructor(ids: number[], options: Parameters<typeof unitNode>[2] = {}) {
    for (const id of ids) this.nodes.set(id, unitNode(id, storageWith(ids), options));
  }
  n(id: number): UnitNode {
    return this.nodes.get(id) as UnitNode;
  }
  /** Delivers until quiet; messages from or to nodes outside `up`, or rejected by `allow`, are dropped. */
  run(
    up: number[],
    allow: (m: Message) => boolean = () => true,
    rewrite: (m: Message) => Message = (m) => m,
  ): void {
    for (let round = 0; round < 200; round++) {
      for (const id of up) this.queue.push(...drain(this.n(id)));
      if (this.queue.length === 0) return;
      const batch = this.queue;
      this.queue = [];
      for (const m of batch)
        if (up.includes(m.to) && up.includes(m.from) && allow(m)) this.n(m.to).raw.step(rewrite(m));
    }
    throw new Error('no quiescence');
  }
  /** Crash-restart: a new RawNode from what was persisted. */
  restart(id: number): void {
    const old = this.n(id);
    const applied = old.applied.length > 0 ? (old.applied[old.applied.length - 1]?.index ?? 0) : 0;
    const fresh = unitNode(id, old.storage, {
      applied: Math.max(applied, old.storage.firstIndex() - 1),
      maxSizePerMsgBytes: 1,
    });
    fresh.applied = old.applied;
    this.nodes.set(id, fresh);
  }
}

describe('Figure 2, rules for all servers (Reference: section 5.1)', () => {
  it.each(['Follower', 'Candidate', 'Leader'])(
    'a %s that sees a higher term adopts it and becomes a follower',
    (role) => {
      const n = unitNode(1, storageWith([1, 2, 3]));
      if (role === 'Candidate') n.raw.campaign();
      if (role === 'Leader') makeLeader(n, [2, 3]);
      drain(n);
      expect(state(n)).toBe(role);
      const t = term(n);
      n.raw.step(msg(MessageType.MsgApp, { from: 2, to: 1, term: t + 1, index: 1, logTerm: 1 }));
      drain(n);
      expect(term(n)).toBe(t + 1);
      expect(state(n)).toBe('Follower');
      expect(n.raw.status().softState.lead).toBe(2);
    },
  );

  it('a request with a stale term is rejected: nothing changes and the answer carries the newer term', () => {
    const n = unitNode(1, storageWith([1, 2, 3], [], { term: 2, vote: 0, commit: 1 }));
    n.raw.step(
      msg(MessageType.MsgApp, {
        from: 2,
        to: 1,
        term: 1,
        index: 1,
        logTerm: 1,
        entries: [ent(1, 2, 'x')],
        commit: 2,
      }),
    );
    const out = drain(n);
    // The stale leader learns the current term from the answer and steps down.
    expect(out.map((m) => [m.type, m.to, m.term, m.reject, m.index])).toEqual([
      ['MsgAppResp', 2, 2, false, 0],
    ]);
    expect(logOf(n)).toEqual([]);
    expect(term(n)).toBe(2);
  });
});

describe('leader election (Reference: section 5.2)', () => {
  it('a follower that hears from no leader for an election timeout becomes candidate, votes for itself and requests votes', () => {
    const n = unitNode(1, storageWith([1, 2, 3]));
    for (let i = 0; i < 9; i++) n.raw.tick();
    expect(drain(n)).toEqual([]);
    n.raw.tick();
    const out = drain(n);
    expect(state(n)).toBe('Candidate');
    expect(n.raw.status().hardState).toEqual({ term: 1, vote: 1, commit: 1 });
    expect(out.map((m) => [m.type, m.to, m.term, m.index, m.logTerm])).toEqual([
      ['MsgVote', 2, 1, 1, 1],
      ['MsgVote', 3, 1, 1, 1],
    ]);
  });

  it('election timeouts are randomized in [electionTick, 2 * electionTick)', () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 60; seed++) {
      const n = unitNode(1, storageWith([1, 2, 3]), { rng: seededRng(seed) });
      let ticks = 0;
      while (state(n) === 'Follower' && ticks < 100) {
        n.raw.tick();
        ticks++;
      }
      expect(ticks).toBeGreaterThanOrEqual(10);
      expect(ticks).toBeLessThan(20);
      seen.add(ticks);
    }
    expect(seen.size).toBeGreaterThan(5);
  });

  it.each<[number, Record<number, boolean>, string]>([
    [1, {}, 'Leader'],
    [3, { 2: true, 3: true }, 'Leader'],
    [3, { 2: true }, 'Leader'],
    [5, { 2: true, 3: true, 4: true, 5: true }, 'Leader'],
    [5, { 2: true, 3: true }, 'Leader'],
    [5, { 2: true }, 'Candidate'],
    [5, {}, 'Candidate'],
    [3, { 2: false, 3: false }, 'Follower'],
    [5, { 2: false, 3: false, 4: false }, 'Follower'],
    [5, { 2: true, 3: false, 4: false, 5: false }, 'Follower'],
  ])(
    'election safety: a candidate of a %i-node cluster with votes %j ends as %s (majority wins, at most one leader per term)',
    (size, votes, want) => {
      const ids = Array.from({ length: size }, (_, i) => i + 1);
      const n = unitNode(1, storageWith(ids));
      n.raw.campaign();
      drain(n);
      for (const [id, granted] of Object.entries(votes)) {
        n.raw.step(msg(MessageType.MsgVoteResp, { from: Number(id), to: 1, term: 1, reject: !granted }));
      }
      drain(n);
      expect(state(n)).toBe(want);
    },
  );

  it.each<[number, number, boolean]>([
    [0, 2, true],
    [0, 3, true],
    [2, 2, true],
    [3, 3, true],
    [2, 3, false],
    [3, 2, false],
  ])(
    'each server votes for at most one candidate per term, first come first served (voted for %i, candidate %i, granted %s)',
    (vote, candidate, granted) => {
      const n = unitNode(1, storageWith([1, 2, 3], [], { term: 1, vote, commit: 1 }));
      n.raw.step(msg(MessageType.MsgVote, { from: candidate, to: 1, term: 1, index: 1, logTerm: 1 }));
      const out = drain(n);
      expect(out.map((m) => [m.type, m.to, m.reject])).toEqual([['MsgVoteResp', candidate, !granted]]);
      expect(n.storage.initialState().hardState.vote).toBe(granted ? candidate : vote);
    },
  );

  it.each([1, 2])(
    'a candidate receiving AppendEntries from a leader of term >= its own (+%i - 1) returns to follower',
    (delta) => {
      const n = unitNode(1, storageWith([1, 2, 3]));
      n.raw.campaign();
      drain(n);
      n.raw.step(
        msg(MessageType.MsgApp, { from: 2, to: 1, term: term(n) + delta - 1, index: 1, logTerm: 1 }),
      );
      drain(n);
      expect(state(n)).toBe('Follower');
      expect(n.raw.status().softState.lead).toBe(2);
    },
  );

  it('a candidate without a winner starts a new election (new term) after another timeout', () => {
    const n = unitNode(1, storageWith([1, 2, 3]));
    n.raw.campaign();
    drain(n);
    expect(term(n)).toBe(1);
    for (let i = 0; i < 10; i++) n.raw.tick();
    const out = drain(n);
    expect(state(n)).toBe('Candidate');
    expect(term(n)).toBe(2);
    expect(types(out)).toEqual(['MsgVote->2', 'MsgVote->3']);
  });

  it('a leader sends heartbeats every heartbeat interval to maintain its authority', () => {
    const n = unitNode(1, storageWith([1, 2, 3]), { heartbeatTick: 2 });
    makeLeader(n, [2, 3]);
    n.raw.tick();
    expect(drain(n)).toEqual([]);
    n.raw.tick();
    expect(types(drain(n))).toEqual(['MsgHeartbeat->2', 'MsgHeartbeat->3']);
  });
});

describe('log replication (Reference: section 5.3)', () => {
  function leaderWithFollowersInSync(): UnitNode {
    const n = unitNode(1, storageWith([1, 2, 3]));
    makeLeader(n, [2, 3]);
    for (const id of [2, 3]) n.raw.step(msg(MessageType.MsgAppResp, { from: id, to: 1, term: 1, index: 2 }));
    drain(n);
    return n;
  }

  it('the leader appends a proposal to its log and sends it in AppendEntries to every follower', () => {
    const n = leaderWithFollowersInSync();
    n.raw.propose(Buffer.from('x'));
    const rd = n.raw.ready();
    expect(rd.entries.map((e) => `${e.term}/${e.index}`)).toEqual(['1/3']);
    expect(rd.messages.map((m) => [m.type, m.to, m.index, m.logTerm, m.entries.length, m.commit])).toEqual([
      ['MsgApp', 2, 2, 1, 1, 2],
      ['MsgApp', 3, 2, 1, 1, 2],
    ]);
    n.storage.append(rd.entries);
    n.raw.advance();
  });

  it('an entry is committed once the leader has replicated it on a majority, and then applied', () => {
    const n = leaderWithFollowersInSync();
    n.raw.propose(Buffer.from('x'));
    drain(n);
    expect(n.raw.status().hardState.commit).toBe(2);
    n.raw.step(msg(MessageType.MsgAppResp, { from: 2, to: 1, term: 1, index: 3 }));
    drain(n);
    expect(n.raw.status().hardState.commit).toBe(3);
    expect(n.applied.map((e) => Buffer.from(e.data).toString())).toContain('x');
  });

  it('committing an entry also commits all preceding entries, including those of earlier terms', () => {
    // Log: 1/1 (bootstrap), 2/2, 2/3; the new leader of term 3 appends its no-op at 4.
    const n = unitNode(1, storageWith([1, 2, 3], [2, 2], { term: 2, vote: 0, commit: 1 }));
    makeLeader(n, [2, 3]);
    expect(n.raw.status().hardState.commit).toBe(1);
    n.raw.step(msg(MessageType.MsgAppResp, { from: 2, to: 1, term: 3, index: 4 }));
    drain(n);
    expect(n.raw.status().hardState.commit).toBe(4);
    expect(n.applied.map((e) => `${e.term}/${e.index}`)).toEqual(['2/2', '2/3', '3/4']);
  });

  it('a follower applies entries once the leader commit index it learns covers them', () => {
    const n = unitNode(2, storageWith([1, 2, 3]));
    n.raw.step(
      msg(MessageType.MsgApp, {
        from: 1,
        to: 2,
        term: 1,
        index: 1,
        logTerm: 1,
        entries: [ent(1, 2, 'a'), ent(1, 3, 'b')],
        commit: 2,
      }),
    );
    drain(n);
    expect(n.applied.map((e) => e.index)).toEqual([2]);
    n.raw.step(msg(MessageType.MsgHeartbeat, { from: 1, to: 2, term: 1, commit: 3 }));
    drain(n);
    expect(n.applied.map((e) => e.index)).toEqual([2, 3]);
  });

  it.each<[number, number, boolean, number]>([
    // follower log: 1/1, 1/2, 2/3
    [2, 3, false, 3],
    [1, 2, false, 3],
    [1, 1, false, 3],
    [3, 3, true, 3],
    [3, 4, true, 3],
    [2, 4, true, 3],
  ])(
    'log matching: AppendEntries with previous entry (term %i, index %i) is rejected=%s when the follower lacks that entry',
    (logTerm, index, reject, hint) => {
      const n = unitNode(2, storageWith([1, 2, 3], [1, 2], { term: 2, vote: 0, commit: 1 }));
      n.raw.step(msg(MessageType.MsgApp, { from: 1, to: 2, term: 2, index, logTerm, commit: 1 }));
      const out = drain(n);
      expect(out).toHaveLength(1);
      const m = out[0] as Message;
      expect([m.type, m.reject]).toEqual(['MsgAppResp', reject]);
      if (reject) expect(m.rejectHint).toBeLessThanOrEqual(hint);
    },
  );

  it.each<[string, number, number, [number, number][], string[]]>([
    ['appends after a matching prefix', 3, 2, [[3, 4]], ['1/2', '2/3', '3/4']],
    ['replaces a conflicting entry and everything after it', 2, 1, [[3, 3]], ['1/2', '3/3']],
    [
      'replaces from the first conflict only',
      1,
      1,
      [
        [1, 2],
        [3, 3],
        [3, 4],
      ],
      ['1/2', '3/3', '3/4'],
    ],
    ['keeps entries the message repeats, and later ones it does not mention', 1, 1, [[1, 2]], ['1/2', '2/3']],
  ])('a follower %s (Figure 2, AppendEntries rules 3 and 4)', (_name, index, logTerm, entries, want) => {
    const n = unitNode(2, storageWith([1, 2, 3], [1, 2], { term: 3, vote: 0, commit: 1 }));
    const leaderTerm = 3;
    const lt = index === 3 ? 2 : logTerm;
    n.raw.step(
      msg(MessageType.MsgApp, {
        from: 1,
        to: 2,
        term: leaderTerm,
        index,
        logTerm: lt,
        entries: entries.map(([t, i]) => ent(t, i)),
        commit: 1,
      }),
    );
    drain(n);
    expect(logOf(n)).toEqual(want);
  });

  // Figure 7: the leader of term 8 and six possible follower logs (index 1 is our bootstrap entry, term 1).
  const leaderLog = [1, 1, 4, 4, 5, 5, 6, 6, 6];
  it.each<[string, number[]]>([
    ['a (missing entries)', [1, 1, 4, 4, 5, 5, 6, 6]],
    ['b (missing many entries)', [1, 1, 4]],
    ['c (an extra entry of the current leader term 6)', [1, 1, 4, 4, 5, 5, 6, 6, 6, 6]],
    ['d (extra entries of term 7)', [1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7]],
    ['e (extra term-4 entries, missing others)', [1, 1, 4, 4, 4, 4]],
    ['f (entries of terms 2 and 3 only it has)', [1, 1, 2, 2, 2, 3, 3, 3, 3, 3]],
  ])('the leader brings the Figure 7 follower log %s in line with its own', (_name, followerLog) => {
    const leader = unitNode(1, storageWith([1, 2, 3], leaderLog, { term: 7, vote: 0, commit: 1 }));
    const follower = unitNode(2, storageWith([1, 2, 3], followerLog, { term: 7, vote: 0, commit: 1 }));
    let queue: Message[] = makeLeader(leader, [3]);
    const nodes = new Map([
      [1, leader],
      [2, follower],
    ]);
    for (let round = 0; round < 50; round++) {
      for (const n of nodes.values()) queue.push(...drain(n));
      if (queue.length === 0) break;
      const batch = queue;
      queue = [];
      for (const m of batch) nodes.get(m.to)?.raw.step(m);
    }
    expect(logOf(follower)).toEqual(logOf(leader));
    expect(logOf(leader).slice(-1)).toEqual(['8/11']);
  });
});

describe('safety (Reference: section 5.4)', () => {
  it.each<[number[], number, number, boolean]>([
    // voter log terms after the bootstrap entry, candidate (last log term, last index), granted
    [[1], 1, 2, true],
    [[1], 1, 3, true],
    [[1], 1, 1, false],
    [[1], 2, 1, true],
    [[1, 2], 1, 3, false],
    [[1, 2], 2, 2, false],
    [[1, 2], 2, 3, true],
    [[1, 2], 3, 1, true],
  ])(
    'election restriction (5.4.1): a voter with log %j grants a candidate at (term %i, index %i): %s',
    (log, logTerm, index, granted) => {
      const n = unitNode(1, storageWith([1, 2, 3], log, { term: 3, vote: 0, commit: 1 }));
      n.raw.step(msg(MessageType.MsgVote, { from: 2, to: 1, term: 4, index, logTerm }));
      const out = drain(n);
      expect(out.map((m) => [m.type, m.reject])).toEqual([['MsgVoteResp', !granted]]);
    },
  );

  it('leader completeness: a node missing committed entries cannot be elected; the new leader holds every committed entry', () => {
    const net = new Net([1, 2, 3, 4, 5]);
    net.n(1).raw.campaign();
    net.run([1, 2, 3, 4, 5]);
    for (const d of ['a', 'b', 'c']) net.n(1).raw.propose(Buffer.from(d));
    net.run([1, 2, 3]); // committed on 1, 2, 3; nodes 4 and 5 miss them
    const committed = logOf(net.n(1));
    expect(net.n(1).raw.status().hardState.commit).toBe(5);
    // The leader is gone. Node 4 campaigns: 2 and 3 refuse (their logs are more up-to-date), so it loses.
    net.n(4).raw.campaign();
    net.run([2, 3, 4, 5]);
    expect(state(net.n(4))).not.toBe('Leader');
    net.n(2).raw.campaign();
    net.run([2, 3, 4, 5]);
    expect(state(net.n(2))).toBe('Leader');
    expect(logOf(net.n(2)).slice(0, committed.length)).toEqual(committed);
  });

  it('Figure 8: a leader never commits an entry of an earlier term by counting replicas', () => {
    // Our logs start with the bootstrap entry 1/1, so the paper's index 2 is our index 3.
    const net = new Net([1, 2, 3, 4, 5], { maxSizePerMsgBytes: 1 });
    net.n(1).raw.campaign();
    net.run([1, 2, 3, 4, 5]); // S1 leads term 1; its no-op 1/2 is committed everywhere
    // (a) S1 replicates entry 1/3 to S2 only.
    net.n(1).raw.propose(Buffer.from('a'));
    net.run([1, 2]);
    expect(logOf(net.n(2)).slice(-1)).toEqual(['1/3']);
    // (b) S1 crashes; S5 is elected for term 2 by S3 and S4 and appends 2/3, which nobody else receives.
    net.n(5).raw.campaign();
    net.run([3, 4, 5], (m) => m.type === 'MsgVote' || m.type === 'MsgVoteResp');
    expect(state(net.n(5))).toBe('Leader');
    expect(logOf(net.n(5)).slice(-1)).toEqual(['2/3']);
    // (c) S5 crashes; S1 restarts and is elected for term 3 by S2, S3, S4 (after losing term 2, where they voted for S5).
    net.restart(1);
    net.n(1).raw.campaign();
    net.run([1, 2, 3, 4], (m) => m.type === 'MsgVote' || m.type === 'MsgVoteResp');
    if (state(net.n(1)) !== 'Leader') {
      net.n(1).raw.campaign();
      net.run([1, 2, 3, 4], (m) => m.type === 'MsgVote' || m.type === 'MsgVoteResp');
    }
    expect(state(net.n(1))).toBe('Leader');
    expect(term(net.n(1))).toBe(3);
    // S1 replicates its term-1 entry at index 3 to S3 (and learns that S2 has it) but its own term-3
    // no-op at index 4 reaches nobody: the network strips it from every append.
    net.n(1).raw.tick();
    net.run(
      [1, 2, 3],
      () => true,
      (m) => (m.type === 'MsgApp' ? { ...m, entries: m.entries.filter((e) => e.index <= 3) } : m),
    );
    expect(logOf(net.n(3)).slice(-1)).toEqual(['1/3']);
    expect(net.n(1).raw.status().progress?.get(2)?.match).toBe(3);
    expect(net.n(1).raw.status().progress?.get(3)?.match).toBe(3);
    // 1/3 is now on S1, S2 and S3, a majority, but it is from an earlier term: not committed.
    expect(net.n(1).raw.status().hardState.commit).toBe(2);
    expect([1, 2, 3, 4, 5].some((id) => net.n(id).applied.some((e) => e.index === 3))).toBe(false);
    // (d) S1 crashes; S5 restarts and can be elected (its last entry 2/3 is newer than 1/3), overwriting index 3.
    net.restart(5);
    for (let attempt = 0; attempt < 3 && state(net.n(5)) !== 'Leader'; attempt++) {
      net.n(5).raw.campaign();
      net.run([2, 3, 4, 5]);
    }
    expect(state(net.n(5))).toBe('Leader');
    net.run([2, 3, 4, 5]);
    for (const id of [2, 3, 4, 5]) expect(logOf(net.n(id))[1]).toBe('2/3');
    // Had S1 counted replicas of 1/3 as committed, state machine safety would now be broken.
    const applied3 = [2, 3, 4, 5]
      .map((id) => net.n(id).applied.find((e) => e.index === 3))
      .map((e) => (e === undefined ? null : `${e.term}/${e.index}`));
    expect(applied3.every((x) => x === '2/3')).toBe(true);
  });

  it('state machine safety: across leader changes every server applies the same entry at each index', () => {
    const net = new Net([1, 2, 3, 4, 5]);
    const all = [1, 2, 3, 4, 5];
    let k = 0;
    for (const [leader, reach] of [
      [1, [1, 2, 3, 4, 5]],
      [1, [1, 2]],
      [3, [3, 4, 5]],
      [3, [3, 4, 5, 1]],
      [2, [1, 2, 3, 4, 5]],
    ] as [number, number[]][]) {
      if (state(net.n(leader)) !== 'Leader') {
        net.n(leader).raw.campaign();
        net.run(reach);
      }
      if (state(net.n(leader)) !== 'Leader') continue;
      for (let i = 0; i < 3; i++) net.n(leader).raw.propose(Buffer.from(`v${k++}`));
      net.run(reach);
    }
    for (let i = 0; i < 3; i++) {
      for (const id of all) for (let t = 0; t < 2; t++) net.n(id).raw.tick();
      net.run(all);
    }
    const seqs = all.map((id) =>
      net.n(id).applied.map((e) => `${e.term}/${e.index}/${Buffer.from(e.data).toString()}`),
    );
    const longest = seqs.reduce((a, b) => (a.length >= b.length ? a : b));
    for (const s of seqs) expect(longest.slice(0, s.length)).toEqual(s);
    expect(longest.length).toBeGreaterThan(5);
  });

  it('log matching property: logs that share an entry (same index and term) are identical up to it', () => {
    const net = new Net([1, 2, 3]);
    net.n(1).raw.campaign();
    net.run([1, 2, 3]);
    net.n(1).raw.propose(Buffer.from('a'));
    net.run([1, 2]);
    net.n(3).raw.campaign();
    net.run([2, 3]);
    net.n(3).raw.campaign();
    net.run([1, 2, 3]);
    for (const a of [1, 2, 3]) {
      for (const b of [1, 2, 3]) {
        const la = logOf(net.n(a));
        const lb = logOf(net.n(b));
        for (let i = 0; i < Math.min(la.length, lb.length); i++) {
          if (la[i] === lb[i]) expect(la.slice(0, i + 1)).toEqual(lb.slice(0, i + 1));
        }
      }
    }
  });
});
