// Leader loss (README, "Leader loss"): when the transport reports a peer unreachable — a killed
// process's connections close at once — the followers whose leader it was forget it and one survivor
// per group campaigns, so a new leader comes long before an election timeout. A follower whose
// stream to a live leader fails must not disrupt it. On one injected clock: deterministic.
import { MessageType, StateType, newMessage } from '@chronik/raft';
import { Cluster, ELECTION_TICKS, GROUP } from './det-cluster.js';

async function cluster(quiesce: boolean, options = {}): Promise<Cluster> {
  const c = new Cluster();
  for (const id of [1, 2, 3]) await c.start(id, quiesce, options);
  await c.until(() => c.leader() !== 0);
  await c.put('a', '1');
  if (quiesce) await c.until(() => c.quiescent());
  return c;
}

/** Node `dead` dies: every survivor's transport sees its stream to it fail. */
function kill(c: Cluster, dead: number): void {
  c.down.add(dead);
  for (const id of c.up()) c.host(id).peerUnreachable(dead);
}

/** The survivor that campaigns first in GROUP (sorted ids, rotated by the group id). */
function firstSurvivor(dead: number): number {
  const survivors = [1, 2, 3].filter((id) => id !== dead);
  return survivors[GROUP % survivors.length] as number;
}

describe('leader loss', () => {
  for (const quiesce of [false, true])
    it(`${quiesce ? 'a quiescent' : 'an active'} group: the followers forget a dead leader and the first survivor is elected at once`, async () => {
      const c = await cluster(quiesce);
      const old = c.leader();
      const term = c.host(old).status(GROUP).term;
      kill(c, old);
      await c.drain();
      // Elected without a single tick: no election timeout, no liveness timeout.
      expect(c.leader()).toBe(firstSurvivor(old));
      expect(c.host(c.leader()).status(GROUP).term).toBe(term + 1);
      for (const id of c.up()) {
        expect(c.host(id).stats.leadersForgotten).toBe(1);
        expect(c.host(id).stats.leaderLossCampaigns).toBe(id === firstSurvivor(old) ? 1 : 0);
      }
      await c.put('b', '2');
      for (const id of c.up()) await c.until(() => c.kvs.get(id)?.data.get('b') === '2');
      await c.close();
    });

  it('when the first survivor cannot win (its log is behind), the next one campaigns a few ticks later', async () => {
    const c = await cluster(false);
    const old = c.leader();
    const first = firstSurvivor(old);
    const second = [1, 2, 3].find((id) => id !== old && id !== first) as number;
    // The first survivor misses the last entry: its pre-vote is refused by the second.
    c.cut.add(`${old}-${first}`);
    await c.put('b', '2');
    kill(c, old);
    c.cut.clear();
    await c.drain();
    expect(c.leader()).toBe(0);
    const ticks = await c.until(() => c.leader() !== 0, ELECTION_TICKS);
    expect(c.leader()).toBe(second);
    expect(ticks).toBeLessThanOrEqual(3);
    await c.until(() => c.kvs.get(first)?.data.get('b') === '2');
    await c.close();
  });

  it('a message the dead leader sent before dying, delivered after its connection failed, is forgotten again', async () => {
    const c = await cluster(false);
    const old = c.leader();
    const term = c.host(old).status(GROUP).term;
    // Its heartbeats are still on their way when the survivors see its connections close.
    c.host(old)
      .propose(GROUP, Buffer.from('b=2'))
      .catch(() => undefined);
    c.down.add(old);
    const late: Array<() => void> = [];
    for (const id of c.up()) {
      c.host(id).peerUnreachable(old);
      late.push(() =>
        c.host(id).receive(GROUP, newMessage({ type: MessageType.MsgHeartbeat, from: old, to: id, term })),
      );
    }
    for (const deliver of late) deliver();
    await c.drain();
    expect(c.leader()).toBe(firstSurvivor(old));
    expect(c.host(c.leader()).status(GROUP).term).toBe(term + 1);
    await c.close();
  });

  for (const quiesce of [false, true])
    it(`${quiesce ? 'a quiescent' : 'an active'} group: a follower whose stream to a live leader fails does not disrupt it`, async () => {
      const c = await cluster(quiesce);
      const leader = c.leader();
      const term = c.host(leader).status(GROUP).term;
      for (const f of [1, 2, 3].filter((id) => id !== leader)) {
        c.host(f).peerUnreachable(leader);
        await c.drain();
        // Whichever follower it is (the one that campaigns or not): the other holds its lease.
        // Late messages from a leader just lost are forgotten again until the plan ends (5 ticks).
        await c.until(() => c.host(f).status(GROUP).leaderId === leader, 10);
        await c.ticks(2 * ELECTION_TICKS);
        expect(c.leader()).toBe(leader);
        expect(c.host(leader).status(GROUP).term).toBe(term);
      }
      await c.put('b', '2');
      await c.close();
    });

  it('a flapping link makes followers forget a leader at most once per election timeout, and only after hearing it again', async () => {
    const c = await cluster(false);
    const leader = c.leader();
    const f = [1, 2, 3].find((id) => id !== leader) as number;
    const forgotten = (): number => c.host(f).stats.leadersForgotten;
    c.host(f).peerUnreachable(leader);
    expect(forgotten()).toBe(1);
    // A dead peer's reconnect attempts fail again and again: nothing heard since, nothing more.
    c.host(f).peerUnreachable(leader);
    await c.drain();
    c.host(f).peerUnreachable(leader);
    expect(forgotten()).toBe(1);
    await c.ticks(ELECTION_TICKS - 1);
    c.host(f).peerUnreachable(leader);
    expect(forgotten()).toBe(1);
    await c.ticks(1);
    c.host(f).peerUnreachable(leader);
    expect(forgotten()).toBe(2);
    expect(c.leader()).toBe(leader);
    await c.close();
  });

  it('off with forgetUnreachableLeaders: false — the followers wait for their election timeout', async () => {
    const c = await cluster(false, { forgetUnreachableLeaders: false });
    const old = c.leader();
    kill(c, old);
    await c.drain();
    expect(c.leader()).toBe(0);
    const ticks = await c.until(() => c.leader() !== 0 && c.leader() !== old, 5 * ELECTION_TICKS);
    expect(ticks).toBeGreaterThanOrEqual(ELECTION_TICKS - 1);
    for (const id of c.up()) expect(c.host(id).stats.leadersForgotten).toBe(0);
    expect(c.host(c.leader()).status(GROUP).role).toBe(StateType.Leader);
    await c.close();
  });
});
