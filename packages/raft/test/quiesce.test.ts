// Quiescence (docs/design/quiescence.md): an idle group stops ticking and heartbeating; any input
// that needs the group wakes it; the runtime wakes it when a member's node may be down.
import { MessageType, StateType } from '../src/index.js';
import type { Message } from '../src/index.js';
import { Cluster } from './support/network.js';

const opts = { preVote: true, checkQuorum: true } as const;

function propose(c: Cluster, id: number, data: string): void {
  c.get(id).node.propose(Buffer.from(data));
  c.settle();
}

/** A 3-node cluster led by 1 with one entry committed everywhere. */
function idleCluster(): Cluster {
  const c = new Cluster([1, 2, 3], opts);
  c.elect(1);
  propose(c, 1, 'a');
  c.tick(undefined, 1); // the followers learn the last commit index
  return c;
}

function quiescent(c: Cluster, ids = [1, 2, 3]): boolean[] {
  return ids.map((id) => c.get(id).node.quiescent);
}

describe('quiescence', () => {
  it('an idle leader quiesces its followers with one heartbeat each, and nothing is sent after', () => {
    const c = idleCluster();
    expect(c.get(1).node.canQuiesce()).toBe(true);
    expect(c.get(1).node.quiesce()).toBe(true);
    const sent = c.get(1).drain();
    expect(sent.map((m) => [m.type, m.to, m.logTerm > 0])).toEqual([
      [MessageType.MsgHeartbeat, 2, true],
      [MessageType.MsgHeartbeat, 3, true],
    ]);
    for (const m of sent) c.deliver(m);
    c.settle();
    expect(quiescent(c)).toEqual([true, true, true]);
    expect(c.get(1).node.status().quiescent).toBe(true);
    // Ticks far beyond an election timeout: no heartbeat, no election, no check-quorum step-down.
    for (let i = 0; i < 100; i++) {
      for (const id of [1, 2, 3]) c.get(id).node.tick();
      c.collect();
      expect(c.queue).toEqual([]);
    }
    expect(c.get(1).node.status().softState.raftState).toBe(StateType.Leader);
  });

  it('refuses while anything is pending: an uncommitted entry, a lagging follower, a read, a transfer', () => {
    const c = idleCluster();
    c.get(1).node.propose(Buffer.from('b'));
    expect(c.get(1).node.quiesce()).toBe(false); // not even persisted
    c.cut.add('1-3'); // node 3 misses the append
    c.settle();
    expect(c.get(1).node.canQuiesce()).toBe(false); // node 3 lags
    // Node 3 reported down: the rest (a quorum) is caught up, so the leader may quiesce.
    expect(c.get(1).node.canQuiesce((id) => id === 3)).toBe(true);
    c.get(1).node.readIndex(Buffer.from('r'));
    expect(c.get(1).node.canQuiesce((id) => id === 3)).toBe(false);
    c.settle();
    c.get(1).node.transferLeadership(2);
    expect(c.get(1).node.canQuiesce((id) => id === 3)).toBe(false);
    expect(c.get(2).node.quiesce()).toBe(false); // a follower never quiesces on its own
  });

  it('refuses while a caught-up follower has not answered since the last check-quorum round', () => {
    const c = idleCluster();
    c.cut.add('3-1'); // node 3 gets everything, answers nothing (its group closed, say)
    c.tick(undefined, 10); // a check-quorum round clears recentActive; node 2 answers again
    expect(c.get(1).node.canQuiesce()).toBe(false);
    expect(c.get(1).node.canQuiesce((id) => id === 3)).toBe(true);
    c.cut.clear();
    c.tick(undefined, 1);
    expect(c.get(1).node.canQuiesce()).toBe(true);
  });

  it('a proposal wakes the leader; its append wakes the followers; everything commits', () => {
    const c = idleCluster();
    c.get(1).node.quiesce();
    c.settle();
    expect(quiescent(c)).toEqual([true, true, true]);
    propose(c, 1, 'b');
    expect(quiescent(c)).toEqual([false, false, false]);
    c.tick(undefined, 1);
    for (const id of [1, 2, 3]) expect(c.get(id).appliedData()).toEqual(['a', 'b']);
    expect(c.get(1).node.quiesce()).toBe(true);
  });

  it('a quiescent follower that is woken (a campaign, a pre-vote) tells its leader, which heartbeats again', () => {
    const c = idleCluster();
    c.get(1).node.quiesce();
    c.settle();
    c.get(3).node.wake();
    const out = c.get(3).drain();
    expect(out.map((m) => [m.type, m.to, m.reject])).toEqual([[MessageType.MsgHeartbeatResp, 1, true]]);
    for (const m of out) c.deliver(m);
    expect(c.get(1).node.quiescent).toBe(false);
    c.tick([1], 1); // the leader heartbeats on its next tick, which wakes node 2 as well
    expect(quiescent(c)).toEqual([false, false, false]);
    expect(c.get(1).node.status().hardState.term).toBe(1);
  });

  it('a follower whose log does not end at the leader’s last entry stays awake and wakes the leader', () => {
    const c = idleCluster();
    c.get(1).node.quiesce();
    const hbs = c.get(1).drain();
    // The heartbeat to node 3 claims a last entry node 3 does not have (as if it were reordered).
    const to3 = hbs.find((m) => m.to === 3) as Message;
    c.deliver({ ...to3, commit: to3.commit, logTerm: to3.logTerm + 1 });
    for (const m of hbs) if (m.to !== 3) c.deliver(m);
    c.settle();
    expect(c.get(3).node.quiescent).toBe(false);
    expect(c.get(1).node.quiescent).toBe(false);
  });

  it('leader death: the runtime wakes the followers with the silence it saw; one is elected in an election timeout', () => {
    const c = idleCluster();
    c.get(1).node.quiesce();
    c.settle();
    c.down.add(1);
    for (const id of [2, 3]) c.get(id).node.wake({ leaderSilentTicks: 10 });
    let ticks = 0;
    while (c.leader() === 0 || c.leader() === 1) {
      c.tick([2, 3], 1);
      ticks++;
      if (ticks > 30) throw new Error('no new leader');
    }
    // The silence counts as the election timer's first electionTick ticks: what is left is the
    // randomized part (< electionTick), plus a tick for the votes.
    expect(ticks).toBeLessThanOrEqual(11);
    expect(c.get(c.leader()).node.status().hardState.term).toBe(2);
    propose(c, c.leader(), 'b');
    for (const id of [2, 3]) expect(c.get(id).appliedData()).toEqual(['a', 'b']);
  });

  it('a quiescent follower woken by a pre-vote refuses it while its leader may live (check-quorum lease)', () => {
    const c = idleCluster();
    c.get(1).node.quiesce();
    c.settle();
    // Node 3 alone lost the leader: its runtime wakes it; nodes 1 and 2 still hear each other.
    c.cut.add('1-3');
    c.cut.add('3-1');
    c.get(3).node.wake({ leaderSilentTicks: 10 });
    for (let i = 0; i < 40; i++) c.tick([1, 2, 3], 1);
    expect(c.get(1).node.status().softState.raftState).toBe(StateType.Leader);
    expect(c.get(1).node.status().hardState.term).toBe(1);
    propose(c, 1, 'b');
    expect(c.get(2).appliedData()).toEqual(['a', 'b']);
  });

  it('leader death seen by the runtime: the followers forget it and one campaigns, elected with no tick', () => {
    const c = idleCluster();
    c.get(1).node.quiesce();
    c.settle();
    c.down.add(1);
    // forgetLeader wakes a quiescent follower (its wake-up call to the dead leader is lost).
    for (const id of [2, 3]) expect(c.get(id).node.forgetLeader()).toBe(true);
    expect(quiescent(c, [2, 3])).toEqual([false, false]);
    c.get(2).node.campaign();
    c.settle();
    expect(c.leader()).toBe(2);
    expect(c.get(2).node.status().hardState.term).toBe(2);
    propose(c, 2, 'b');
    expect(c.get(3).appliedData()).toEqual(['a', 'b']);
  });

  it('a quiescent follower that forgets a live leader wakes it and follows it again', () => {
    const c = idleCluster();
    c.get(1).node.quiesce();
    c.settle();
    expect(c.get(3).node.forgetLeader()).toBe(true);
    expect(c.get(3).node.status().softState.lead).toBe(0);
    c.get(3).node.campaign(); // its pre-vote: node 2 holds its lease, node 1 leads
    c.settle();
    c.tick([1], 1); // the woken leader heartbeats
    c.settle();
    expect(c.get(3).node.status().softState.lead).toBe(1);
    expect(c.get(1).node.status().softState.raftState).toBe(StateType.Leader);
    expect(c.get(1).node.status().hardState.term).toBe(1);
  });

  it('a message of a newer term ends a quiescent leader’s leadership as usual', () => {
    const c = idleCluster();
    c.get(1).node.quiesce();
    c.settle();
    c.get(1).node.step({
      ...(c.get(1).drain()[0] ?? {}),
      type: MessageType.MsgAppResp,
      from: 2,
      to: 1,
      term: 5,
      logTerm: 0,
      index: 0,
      entries: [],
      commit: 0,
      snapshot: null,
      reject: false,
      rejectHint: 0,
      context: new Uint8Array(0),
    });
    expect(c.get(1).node.status().softState.raftState).toBe(StateType.Follower);
    expect(c.get(1).node.quiescent).toBe(false);
  });

  it('after waking, a lease-based leader serves no lease read from before the quiescence', () => {
    const c = new Cluster([1, 2, 3], { ...opts, readOnlyOption: 'LeaseBased' });
    c.elect(1);
    propose(c, 1, 'a');
    c.tick(undefined, 1);
    c.get(1).node.quiesce();
    c.settle();
    c.get(1).node.readIndex(Buffer.from('r1'));
    // Not answered at once from the lease: a heartbeat round confirms it first.
    expect(c.get(1).readStates).toEqual([]);
    const out = c.get(1).drain();
    expect(out.some((m) => m.type === MessageType.MsgHeartbeat)).toBe(true);
    for (const m of out) c.deliver(m);
    c.settle();
    expect(c.get(1).readStates.map((r) => Buffer.from(r.requestCtx).toString())).toEqual(['r1']);
  });
});
