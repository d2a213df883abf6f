// The commit index is held back from storage (commitPersistTicks): a crash image taken while
// commits were not stored recovers with a lower commit index, and every node still ends up with
// every committed entry once a leader is elected. Per-group election timeouts.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { StateType } from '@chronik/raft';
import { MemNet, startKvNode, until } from './mem-net.js';
import type { KvNode } from './mem-net.js';

const GROUP = 1;
const enc = (s: string): Uint8Array => Buffer.from(s);

type Node = KvNode;

describe('RaftHost commit index and election timeouts', () => {
  let root: string;
  let net: MemNet;
  let nodes: Node[];

  function startNode(
    id: number,
    dir: string,
    opts: { commitPersistTicks?: number; groupCommitPersistTicks?: number; electionTicks?: number } = {},
  ): Promise<Node> {
    return startKvNode(
      net,
      dir,
      id,
      GROUP,
      opts.commitPersistTicks !== undefined ? { commitPersistTicks: opts.commitPersistTicks } : {},
      {
        ...(opts.electionTicks !== undefined ? { electionTicks: opts.electionTicks } : {}),
        ...(opts.groupCommitPersistTicks !== undefined
          ? { commitPersistTicks: opts.groupCommitPersistTicks }
          : {}),
      },
    );
  }

  function leader(): Node | undefined {
    return nodes.find((n) => n.host.status(GROUP).role === StateType.Leader);
  }

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'chronik-commit-'));
    net = new MemNet();
    nodes = [];
  });

  afterEach(async () => {
    await Promise.all(nodes.map((n) => n.host.close()));
    rmSync(root, { recursive: true, force: true });
  });

  it('recovers every committed entry from a crash image whose stored commit index lags', async () => {
    const live = path.join(root, 'live');
    for (const id of [1, 2, 3]) nodes.push(await startNode(id, live, { commitPersistTicks: 1_000_000 }));
    await until(() => leader() !== undefined);
    const l = leader()!;
    for (let i = 0; i < 30; i++) await l.host.propose(GROUP, enc(`k${i}=${i}`));
    await until(() => nodes.every((n) => n.kv.log.length === 30));
    const lastIndex = l.host.status(GROUP).lastIndex;
    // The crash image: every fsync'd entry is in it; the commit index was held back.
    const image = path.join(root, 'image');
    cpSync(live, image, { recursive: true });
    await Promise.all(nodes.map((n) => n.host.close()));
    net = new MemNet();
    nodes = [];
    for (const id of [1, 2, 3]) nodes.push(await startNode(id, image));
    const recovered = nodes.map((n) => {
      const line = n.logs.find((s) => s.startsWith('recovered raft group=1 '));
      return Number(/commit=(\d+)/.exec(line ?? '')?.[1] ?? -1);
    });
    expect(recovered.every((c) => c >= 0 && c < lastIndex)).toBe(true);
    await until(() => leader() !== undefined);
    await until(() => nodes.every((n) => n.kv.log.length === 30));
    for (const n of nodes) expect(n.kv.log).toEqual(l.kv.log);
  });

  it('stores every commit of a group with commitPersistTicks 0', async () => {
    const live = path.join(root, 'live');
    for (const id of [1, 2, 3])
      nodes.push(await startNode(id, live, { commitPersistTicks: 1_000_000, groupCommitPersistTicks: 0 }));
    await until(() => leader() !== undefined);
    const l = leader()!;
    for (let i = 0; i < 30; i++) await l.host.propose(GROUP, enc(`k${i}=${i}`));
    const commit = l.host.status(GROUP).commitIndex;
    await until(() => nodes.every((n) => n.kv.log.length === 30));
    await new Promise((r) => setTimeout(r, 200));
    const image = path.join(root, 'image');
    cpSync(live, image, { recursive: true });
    await Promise.all(nodes.map((n) => n.host.close()));
    net = new MemNet();
    nodes = [];
    for (const id of [1, 2, 3]) nodes.push(await startNode(id, image, { electionTicks: 1000 }));
    // No leader can be elected (1000 ticks): what is applied came from the stored commit alone.
    await until(() => nodes.every((n) => n.kv.log.length === 30), 3000);
    expect(leader()).toBeUndefined();
    expect(nodes.every((n) => n.host.status(GROUP).commitIndex >= commit)).toBe(true);
  });

  it('stores the commit index at the latest when a group closes', async () => {
    const live = path.join(root, 'live');
    for (const id of [1, 2, 3]) nodes.push(await startNode(id, live, { commitPersistTicks: 1_000_000 }));
    await until(() => leader() !== undefined);
    const l = leader()!;
    for (let i = 0; i < 10; i++) await l.host.propose(GROUP, enc(`k${i}=${i}`));
    await until(() =>
      nodes.every((n) => n.host.status(GROUP).commitIndex === l.host.status(GROUP).lastIndex),
    );
    const commit = l.host.status(GROUP).commitIndex;
    await Promise.all(nodes.map((n) => n.host.close()));
    net = new MemNet();
    nodes = [];
    for (const id of [1, 2, 3]) nodes.push(await startNode(id, live));
    for (const n of nodes) {
      const line = n.logs.find((s) => s.startsWith('recovered raft group=1 '));
      expect(line).toContain(`commit=${commit}`);
    }
  });

  it('uses a group’s own election timeout', async () => {
    // 10 ms ticks: a group with 300 election ticks cannot elect within a second, one with 5 can.
    const live = path.join(root, 'live');
    for (const id of [1, 2, 3]) nodes.push(await startNode(id, live, { electionTicks: 300 }));
    await new Promise((r) => setTimeout(r, 1000));
    expect(leader()).toBeUndefined();
    await Promise.all(nodes.map((n) => n.host.close()));
    net = new MemNet();
    nodes = [];
    for (const id of [1, 2, 3]) nodes.push(await startNode(id, live, { electionTicks: 5 }));
    await until(() => leader() !== undefined, 3000);
  });
});
