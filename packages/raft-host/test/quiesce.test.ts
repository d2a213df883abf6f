// Quiescent groups in the host (docs/design/quiescence.md), on one injected clock and an in-memory
// network and file system: runs are deterministic. Idle groups stop ticking and heartbeating, node
// liveness pings stand in, and a dead leader is replaced within the liveness timeout plus an
// election timeout.
import { LIVENESS_GROUP_ID } from '../src/index.js';
import { Cluster, ELECTION_TICKS, GROUP } from './det-cluster.js';
import { KvStateMachine } from './kv.js';

async function quiescedCluster(): Promise<Cluster> {
  const c = new Cluster();
  for (const id of [1, 2, 3]) await c.start(id);
  await c.until(() => c.leader() !== 0);
  await c.put('a', '1');
  await c.until(() => c.quiescent());
  return c;
}

describe('quiescent groups in the host', () => {
  it('an idle group quiesces on every node: no group messages and no ticks while idle, only liveness pings', async () => {
    const c = await quiescedCluster();
    const leader = c.leader();
    const groupSent = c.sent.get(GROUP) ?? 0;
    const pings = c.sent.get(LIVENESS_GROUP_ID) ?? 0;
    await c.ticks(200); // 20 election timeouts
    expect(c.sent.get(GROUP) ?? 0).toBe(groupSent);
    // One ping per peer per tick from each of the 3 nodes.
    expect((c.sent.get(LIVENESS_GROUP_ID) ?? 0) - pings).toBe(200 * 3 * 2);
    expect(c.leader()).toBe(leader);
    // The quiescent leader reports its live followers active (node liveness).
    expect(
      c
        .host(leader)
        .status(GROUP)
        .progress.map((p) => p.recentActive),
    ).toEqual([true, true, true]);
    await c.close();
  });

  it('a proposal wakes the group, commits everywhere, and the group quiesces again', async () => {
    const c = await quiescedCluster();
    await c.put('b', '2');
    expect(c.quiescent()).toBe(false);
    await c.until(() => [1, 2, 3].every((id) => c.kvs.get(id)?.data.get('b') === '2'));
    const ticks = await c.until(() => c.quiescent());
    expect(ticks).toBeLessThanOrEqual(3 * ELECTION_TICKS);
    await c.close();
  });

  it('a proposal forwarded by a quiescent follower wakes the group', async () => {
    const c = await quiescedCluster();
    const follower = [1, 2, 3].find((id) => id !== c.leader()) as number;
    const p = c.host(follower).proposeOrForward(GROUP, Buffer.from('c=3'), 5_000);
    let done = false;
    p.then(
      () => (done = true),
      () => (done = true),
    );
    await c.until(() => done, 300);
    await expect(p).resolves.toMatchObject({ result: 2 });
    await c.close();
  });

  it('leader death: a new leader within the liveness timeout plus an election timeout, and nothing committed is lost', async () => {
    const c = await quiescedCluster();
    const old = c.leader();
    c.down.add(old);
    const ticks = await c.until(() => c.leader() !== 0 && c.leader() !== old, 200);
    // Liveness timeout (10 ticks) + the randomized rest of the election timeout (< 10) + votes.
    expect(ticks).toBeLessThanOrEqual(2 * ELECTION_TICKS + 3);
    await c.put('b', '2');
    for (const id of c.up()) await c.until(() => c.kvs.get(id)?.data.get('b') === '2');
    for (const id of c.up()) expect(c.kvs.get(id)?.log).toEqual(['a=1', 'b=2']);
    // The survivors quiesce again with the dead node left behind.
    await c.until(() => c.quiescent(), 100);
    await c.close();
  });

  it('a dead follower leaves the quiescent leader’s active set; a live one stays', async () => {
    const c = await quiescedCluster();
    const leader = c.leader();
    const [f1, f2] = [1, 2, 3].filter((id) => id !== leader) as [number, number];
    c.down.add(f1);
    await c.ticks(ELECTION_TICKS + 2);
    await c.until(() => c.quiescent([leader, f2]), 100);
    const active = new Map(
      c
        .host(leader)
        .status(GROUP)
        .progress.map((p) => [p.nodeId, p.recentActive]),
    );
    expect(active.get(f1)).toBe(false);
    expect(active.get(f2)).toBe(true);
    expect(c.leader()).toBe(leader);
    await c.close();
  });

  it('a follower whose group closes on a live node stops counting as active', async () => {
    const c = await quiescedCluster();
    const leader = c.leader();
    const f = [1, 2, 3].find((id) => id !== leader) as number;
    // Another quiescing group keeps node f pinging: only the closed group's goodbye tells the leader.
    for (const id of [1, 2, 3]) {
      const opening = c.host(id).openGroup({
        groupId: GROUP + 1,
        stateMachine: new KvStateMachine(),
        bootstrapVoters: [1, 2, 3],
        quiesce: true,
      });
      await c.drain();
      await opening;
    }
    await c.ticks(3 * ELECTION_TICKS);
    const closing = c.host(f).closeGroup(GROUP);
    await c.drain();
    await closing;
    await c.ticks(3 * ELECTION_TICKS);
    const st = c.host(leader).status(GROUP);
    expect(st.quiescent).toBe(false); // its heartbeats to f go unanswered
    expect(st.progress.find((p) => p.nodeId === f)?.recentActive).toBe(false);
    expect(c.leader()).toBe(leader);
    await c.close();
  });

  it('a follower cut off from the leader only does not depose it', async () => {
    const c = await quiescedCluster();
    const leader = c.leader();
    const term = c.host(leader).status(GROUP).term;
    const [f1, f2] = [1, 2, 3].filter((id) => id !== leader) as [number, number];
    c.cut.add(`${leader}-${f1}`);
    c.cut.add(`${f1}-${leader}`);
    await c.ticks(10 * ELECTION_TICKS);
    expect(c.leader()).toBe(leader);
    expect(c.host(leader).status(GROUP).term).toBe(term);
    await c.put('b', '2');
    await c.until(() => c.kvs.get(f2)?.data.get('b') === '2');
    c.cut.clear();
    await c.until(() => c.kvs.get(f1)?.data.get('b') === '2');
    await c.until(() => c.quiescent(), 200);
    expect(c.host(leader).status(GROUP).term).toBe(term);
    await c.close();
  });

  it('a restarted follower is taken back without an election and quiesces again', async () => {
    const c = await quiescedCluster();
    const leader = c.leader();
    const term = c.host(leader).status(GROUP).term;
    const f = [1, 2, 3].find((id) => id !== leader) as number;
    const closing = c.host(f).close();
    await c.drain();
    await closing;
    c.hosts.delete(f);
    await c.ticks(3);
    await c.start(f);
    await c.until(() => c.host(f).status(GROUP).leaderId === leader, 50);
    await c.until(() => c.quiescent(), 200);
    expect(c.host(leader).status(GROUP).term).toBe(term);
    expect(c.kvs.get(f)?.data.get('a')).toBe('1');
    await c.close();
  });

  it('groups without quiesce behave as before: ticked and heartbeated, no liveness pings', async () => {
    const c = new Cluster();
    for (const id of [1, 2, 3]) await c.start(id, false);
    await c.until(() => c.leader() !== 0);
    await c.put('a', '1');
    const before = c.sent.get(GROUP) ?? 0;
    await c.ticks(50);
    expect((c.sent.get(GROUP) ?? 0) - before).toBeGreaterThanOrEqual(50 * 2 * 2);
    expect(c.sent.get(LIVENESS_GROUP_ID) ?? 0).toBe(0);
    expect(c.quiescent()).toBe(false);
    await c.close();
  });
});
