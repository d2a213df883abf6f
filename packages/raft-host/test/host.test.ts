// Three RaftHosts in one process on real WAL files, joined by an in-memory transport that can cut nodes off.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfChangeType, RaftErrorCode, StateType, isRaftError } from '@chronik/raft';
import { RaftHost } from '../src/index.js';
import type { StateMachine } from '../src/index.js';
import { KvStateMachine } from './kv.js';
import { MemNet, startKvNode, until } from './mem-net.js';
import type { KvNode } from './mem-net.js';

const GROUP = 1;
const enc = (s: string): Uint8Array => Buffer.from(s);

type Node = KvNode;

describe('RaftHost', () => {
  let root: string;
  let net: MemNet;
  let nodes: Node[];

  function startNode(
    id: number,
    opts: {
      snapshotEveryEntries?: number;
      bootstrapVoters?: number[];
      electionTicks?: number;
      inlineWrites?: boolean;
    } = {},
  ): Promise<Node> {
    return startKvNode(
      net,
      root,
      id,
      GROUP,
      opts.inlineWrites !== undefined ? { inlineWrites: opts.inlineWrites } : {},
      {
        bootstrapVoters: opts.bootstrapVoters ?? [1, 2, 3],
        snapshotEveryEntries: opts.snapshotEveryEntries ?? 10_000,
        keepEntriesAfterSnapshot: 5,
        ...(opts.electionTicks !== undefined ? { electionTicks: opts.electionTicks } : {}),
      },
    );
  }

  async function leader(timeoutMs = 10_000): Promise<Node> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const l = nodes.find(
        (n) =>
          !net.down.has(n.id) && n.host.hasGroup(GROUP) && n.host.status(GROUP).role === StateType.Leader,
      );
      if (l) return l;
      if (Date.now() > deadline) throw new Error('no leader elected');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  beforeEach(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'chronik-host-'));
    net = new MemNet();
    nodes = [];
    for (const id of [1, 2, 3]) nodes.push(await startNode(id));
  });

  afterEach(async () => {
    await Promise.all(nodes.map((n) => n.host.close()));
    rmSync(root, { recursive: true, force: true });
  });

  it('elects a leader, replicates proposals to every node, and applies them in order', async () => {
    const l = await leader();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => l.host.propose(GROUP, enc(`k${i}=v${i}`))),
    );
    expect(results.map((r) => r.result)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    await until(() => nodes.every((n) => n.kv.log.length === 50));
    for (const n of nodes) expect(n.kv.log).toEqual(l.kv.log);
  });

  it("tells a follower's state machine of a new term when the leader and its role stay the same", async () => {
    const l = await leader();
    await l.host.propose(GROUP, enc('a=1'));
    const [old, m] = nodes.filter((n) => n !== l) as [Node, Node];
    // x never times out here (so it never changes role on its own) and misses an election.
    await old.host.close();
    const x = await startNode(old.id, { electionTicks: 1000 });
    nodes = nodes.map((n) => (n === old ? x : n));
    await until(() => x.host.status(GROUP).leaderId === l.id && m.host.status(GROUP).leaderId === l.id);
    const terms: number[] = [];
    (x.kv as StateMachine).onRoleChange = (_role, _leaderId, term) => {
      terms.push(term);
    };
    const t0 = l.host.status(GROUP).term;
    // Leadership goes to m and back to l while x hears nothing; x then hears l again at a newer
    // term, still a follower of the same leader: its Ready has a new hard state but no soft state.
    net.down.add(x.id);
    l.host.transferLeadership(GROUP, m.id);
    await until(() => m.host.status(GROUP).role === StateType.Leader);
    m.host.transferLeadership(GROUP, l.id);
    await until(() => l.host.status(GROUP).role === StateType.Leader && l.host.status(GROUP).term >= t0 + 2);
    const t2 = l.host.status(GROUP).term;
    net.down.delete(x.id);
    await until(() => x.host.status(GROUP).term === t2);
    expect(x.host.status(GROUP).leaderId).toBe(l.id);
    await until(() => terms.includes(t2), 2_000);
  });

  it('answers a proposal on a follower with NotLeader carrying the leader, without crashing', async () => {
    const l = await leader();
    await l.host.propose(GROUP, enc('a=1'));
    const f = nodes.find((n) => n !== l)!;
    await until(() => f.host.status(GROUP).leaderId === l.id);
    const err = await f.host.propose(GROUP, enc('b=2')).catch((e: unknown) => e);
    expect(isRaftError(err, RaftErrorCode.NotLeader)).toBe(true);
    expect((err as { leaderId: number }).leaderId).toBe(l.id);
    await l.host.propose(GROUP, enc('c=3'));
  });

  it.each([false, true])(
    'restarts every node from disk with terms, votes and committed entries intact (inline writes: %s)',
    async (inlineWrites) => {
      if (inlineWrites) {
        await Promise.all(nodes.map((n) => n.host.close()));
        net = new MemNet();
        nodes = [];
        for (const id of [1, 2, 3]) nodes.push(await startNode(id, { inlineWrites }));
      }
      const l = await leader();
      for (let i = 0; i < 20; i++) await l.host.propose(GROUP, enc(`k${i}=${i}`));
      await until(() => nodes.every((n) => n.kv.log.length === 20));
      const before = nodes.map((n) => n.host.status(GROUP));
      await Promise.all(nodes.map((n) => n.host.close()));
      net = new MemNet();
      nodes = [];
      for (const id of [1, 2, 3]) nodes.push(await startNode(id, { inlineWrites }));
      for (const [i, n] of nodes.entries()) {
        const s = n.host.status(GROUP);
        expect(s.term).toBeGreaterThanOrEqual(before[i]!.term);
        expect(
          n.logs.some((line) =>
            /^recovered raft group=1 entries=\d+ term=\d+ vote=\d+ commit=\d+ snapshot=\d+$/.test(line),
          ),
        ).toBe(true);
      }
      const l2 = await leader();
      await l2.host.propose(GROUP, enc('after=restart'));
      await until(() => nodes.every((n) => n.kv.log.length === 21));
      for (const n of nodes)
        expect(n.kv.log.slice(0, 20)).toEqual(Array.from({ length: 20 }, (_, i) => `k${i}=${i}`));
    },
  );

  it('brings a follower that fell behind a compaction back by snapshot', async () => {
    await Promise.all(nodes.map((n) => n.host.close()));
    net = new MemNet();
    rmSync(root, { recursive: true, force: true });
    nodes = [];
    for (const id of [1, 2, 3]) nodes.push(await startNode(id, { snapshotEveryEntries: 20 }));
    const l = await leader();
    const lagging = nodes.find((n) => n !== l)!;
    net.down.add(lagging.id);
    for (let i = 0; i < 100; i++) await l.host.propose(GROUP, enc(`k${i}=${i}`));
    expect(l.host.status(GROUP).firstIndex).toBeGreaterThan(lagging.host.status(GROUP).lastIndex + 1);
    net.down.delete(lagging.id);
    await until(() => lagging.kv.log.length === 100, 15_000);
    expect(lagging.kv.restores).toBeGreaterThan(0);
    expect(lagging.kv.data.get('k99')).toBe('99');
    // The counters an operator sees: the snapshot went out from the leader and was installed.
    expect(l.host.stats.snapshotsSent).toBeGreaterThan(0);
    // (kv.restores counts the restore at open too.)
    expect(lagging.host.stats.snapshotsInstalled).toBeGreaterThan(0);
  });

  it('sends a snapshot again when the transport refused to send it (its in-flight limit)', async () => {
    // GrpcTransport drops a MsgSnap past its in-flight snapshots per peer (2) and returns false; the
    // core waited in Snapshot state for an outcome no one reported, so the follower never caught up
    // (found by the chaos suite's membership fault: a rejoined node given 6 replicas at once).
    await Promise.all(nodes.map((n) => n.host.close()));
    net = new MemNet();
    rmSync(root, { recursive: true, force: true });
    nodes = [];
    for (const id of [1, 2, 3]) nodes.push(await startNode(id, { snapshotEveryEntries: 20 }));
    const l = await leader();
    const lagging = nodes.find((n) => n !== l)!;
    net.down.add(lagging.id);
    for (let i = 0; i < 100; i++) await l.host.propose(GROUP, enc(`k${i}=${i}`));
    expect(l.host.status(GROUP).firstIndex).toBeGreaterThan(lagging.host.status(GROUP).lastIndex + 1);
    net.refuseSnapshots = 1;
    net.down.delete(lagging.id);
    await until(() => lagging.kv.log.length === 100, 15_000);
    expect(net.refuseSnapshots).toBe(0);
    expect(lagging.kv.data.get('k99')).toBe('99');
  });

  it('counts its work for the operator (stats) and tells an observer how long cycles and fsyncs took', async () => {
    await Promise.all(nodes.map((n) => n.host.close()));
    net = new MemNet();
    rmSync(root, { recursive: true, force: true });
    const cycles: number[] = [];
    const flushes: Array<{ durationMs: number; logs: number }> = [];
    const observer = {
      onCycle: (ms: number) => cycles.push(ms),
      onFlushCycle: (durationMs: number, logs: number) => flushes.push({ durationMs, logs }),
    };
    nodes = [];
    for (const id of [1, 2, 3])
      nodes.push(await startKvNode(net, root, id, GROUP, id === 1 ? { observer } : {}));
    const l = await leader();
    for (let i = 0; i < 20; i++) await l.host.propose(GROUP, enc(`k${i}=${i}`));
    await until(() => nodes.every((n) => n.kv.log.length === 20));
    expect(l.host.stats.proposals).toBe(20);
    expect(l.host.stats.leadershipsWon).toBe(1);
    for (const n of nodes) {
      expect(n.host.stats.leaderChanges).toBe(1);
      expect(n.host.stats.cycles).toBeGreaterThan(0);
      expect(n.host.stats.groupsStopped).toBe(0);
      expect(n.host.walStats.bytesWritten).toBeGreaterThan(20 * 4);
      expect(n.host.walStats.fsyncs).toBeGreaterThan(0);
      expect(n.host.walStats.recovery.logsOpened).toBe(1);
    }
    const n1 = nodes[0]!;
    expect(cycles.length).toBe(n1.host.stats.cycles);
    expect(cycles.every((ms) => ms >= 0)).toBe(true);
    expect(flushes.length).toBe(n1.host.walStats.flushCycles);
    expect(flushes.every((f) => f.durationMs >= 0 && f.logs >= 1)).toBe(true);
  });

  it('adds a node and removes another at run time through configuration changes', async () => {
    const l = await leader();
    for (let i = 0; i < 10; i++) await l.host.propose(GROUP, enc(`k${i}=${i}`));
    // A new node starts with an empty folder and no configuration: it waits to be contacted.
    const n4 = await startNode(4, { bootstrapVoters: [] });
    nodes.push(n4);
    await l.host.proposeConfChange(GROUP, {
      type: ConfChangeType.AddNode,
      nodeId: 4,
      context: new Uint8Array(0),
    });
    await until(() => n4.kv.log.length === 10);
    expect(n4.host.status(GROUP).voters).toEqual([1, 2, 3, 4]);
    // Remove a follower; the three that remain keep committing.
    const victim = nodes.find((n) => n !== l && n !== n4)!;
    await l.host.proposeConfChange(GROUP, {
      type: ConfChangeType.RemoveNode,
      nodeId: victim.id,
      context: new Uint8Array(0),
    });
    await until(() => l.host.status(GROUP).voters.length === 3);
    net.down.add(victim.id);
    const l2 = await leader();
    await l2.host.propose(GROUP, enc('after=membership'));
    const remaining = nodes.filter((n) => n !== victim);
    await until(() => remaining.every((n) => n.kv.log.length === 11));
    for (const n of remaining) expect(n.host.status(GROUP).voters).not.toContain(victim.id);
  });

  it('tells a proposer when its entry is durable in the leader log, before and without a commit', async () => {
    const l = await leader();
    const order: string[] = [];
    await l.host
      .propose(GROUP, enc('a=1'), 5000, { onPersisted: () => order.push('persisted') })
      .then(() => order.push('applied'));
    expect(order).toEqual(['persisted', 'applied']);
    // With both followers cut off the entry cannot commit, but it is durable on the leader.
    for (const n of nodes) if (n !== l) net.down.add(n.id);
    let persisted = false;
    const outcome = l.host
      .propose(GROUP, enc('b=2'), 500, { onPersisted: () => (persisted = true) })
      .catch((e: unknown) => e);
    await until(() => persisted);
    expect(await outcome).toMatchObject({ code: 'Timeout' });
    expect(l.kv.log).toEqual(['a=1']);
  });

  it("tells the leader's state machine when followers acknowledge, after the commit too", async () => {
    const l = await leader();
    await l.host.propose(GROUP, enc('a=1'));
    const all = (index: number): boolean => l.host.status(GROUP).progress.every((p) => p.match >= index);
    let replicatedCalls = 0;
    let allHeldSeen = false;
    (l.kv as StateMachine).onReplicated = () => {
      replicatedCalls++;
      if (all(l.host.status(GROUP).commitIndex)) allHeldSeen = true;
    };
    const { index } = await l.host.propose(GROUP, enc('b=2'));
    // Committed with a majority; the third copy is reported by a later acknowledgement.
    await until(() => all(index) && allHeldSeen);
    expect(replicatedCalls).toBeGreaterThan(0);
  });

  it('tells a proposer synchronously whether its entry was appended, and never for a refused one', async () => {
    const l = await leader();
    let appended: { index: number; term: number } | undefined;
    const applied = l.host.propose(GROUP, enc('c=3'), 5000, { onAppended: (at) => (appended = at) });
    expect(appended).toBeDefined();
    expect(await applied).toMatchObject({ index: appended?.index, term: appended?.term });
    // A follower refuses (NotLeader): nothing was appended, so no call.
    const follower = nodes.find((n) => n !== l) as Node;
    let called = false;
    const refused = follower.host.propose(GROUP, enc('d=4'), 5000, { onAppended: () => (called = true) });
    expect(called).toBe(false);
    await expect(refused).rejects.toMatchObject({ code: 'NotLeader' });
    // Too large: refused before the core sees it.
    const big = new Uint8Array(l.host.status(GROUP).maxEntryBytes + 1);
    const tooLarge = l.host.propose(GROUP, big, 5000, { onAppended: () => (called = true) });
    expect(called).toBe(false);
    await expect(tooLarge).rejects.toMatchObject({ code: 'TooLarge' });
  });

  it('keeps disk use bounded while writes go on: snapshots compact the log and drop whole segments', async () => {
    await Promise.all(nodes.map((n) => n.host.close()));
    rmSync(root, { recursive: true, force: true });
    net = new MemNet();
    nodes = [];
    const small = async (id: number): Promise<Node> => {
      const host = new RaftHost({
        nodeId: id,
        dataDir: path.join(root, `n${id}`),
        tickMs: 10,
        transport: net.transport(id),
        maxSegmentBytes: 64 * 1024,
      });
      // A state that does not grow with the writes (a counter), so disk use is the log's alone.
      let count = 0;
      const counter: StateMachine = {
        apply: () => ++count,
        snapshot: () => Buffer.from(String(count)),
        restore: (d) => {
          count = d.length > 0 ? Number(Buffer.from(d).toString()) : 0;
        },
      };
      const kv = new KvStateMachine();
      net.hosts.set(id, host);
      await host.openGroup({
        groupId: GROUP,
        stateMachine: counter,
        bootstrapVoters: [1, 2, 3],
        snapshotEveryEntries: 100,
        keepEntriesAfterSnapshot: 10,
      });
      host.start();
      return { id, host, kv, logs: [] };
    };
    for (const id of [1, 2, 3]) nodes.push(await small(id));
    // On a loaded machine (10 ms ticks) leadership may move during a burst: retry what was dropped.
    const proposeRetrying = async (data: Uint8Array): Promise<void> => {
      for (let attempt = 0; ; attempt++) {
        try {
          await (await leader()).host.propose(GROUP, data);
          return;
        } catch (e) {
          const code = (e as { code?: unknown }).code;
          if (attempt >= 20 || (code !== RaftErrorCode.ProposalDropped && code !== RaftErrorCode.NotLeader))
            throw e;
        }
      }
    };
    const value = 'x'.repeat(1024);
    const sizes: number[] = [];
    const ROUNDS = 8;
    for (let round = 0; round < ROUNDS; round++) {
      await Promise.all(
        Array.from({ length: 250 }, (_, i) => proposeRetrying(enc(`k${round}-${i}=${value}`))),
      );
      // Snapshots follow the applied index within a cycle or two; measure once the leader's log
      // start has caught up with the writes (at most one snapshot interval plus the kept tail behind).
      const l = await leader();
      const deadline = Date.now() + 5_000;
      for (;;) {
        const st = l.host.status(GROUP);
        if (st.lastIndex - st.firstIndex <= 100 + 10 + 50 || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      sizes.push(dirBytes(path.join(root, `n${l.id}`)));
    }
    const l = await leader();
    // 2000 entries of ~1 KiB were written, about 2 MiB; the log keeps only the tail after the last
    // snapshot, in 64 KiB segments: every measurement stays far below what was written.
    expect(l.host.status(GROUP).firstIndex).toBeGreaterThan(ROUNDS * 250 - 200);
    expect(Math.max(...sizes)).toBeLessThan(600 * 1024);
  });
});

function dirBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return total;
}
