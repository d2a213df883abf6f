// State-machine-chosen snapshot points (snapshotPolicy 'stateMachine'), as a Kafka partition uses
// them: the log is the data, the state machine holds only small state plus an index into the log,
// and the log is compacted exactly to a checkpoint below the first record still wanted.
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfChangeType, StateType } from '@chronik/raft';
import type { ConfState, Entry, SnapshotMetadata } from '@chronik/raft';
import { RaftHost } from '../src/index.js';
import type { SnapshotPoint, StateMachine } from '../src/index.js';
import { MemNet, until } from './mem-net.js';

const GROUP = 7;

/**
 * A miniature partition: entries `rec:<payload>` get consecutive offsets; `trim:<offset>` moves the
 * log start. State: next offset, log start, an offset → raft index map of the records at or above
 * the log start (rebuilt from the log on restore), and a ring of checkpoints of the small state.
 */
class MiniPartition implements StateMachine {
  next = 0;
  logStart = 0;
  /** raft index of offset `indexBase + k`, for the records applied here at or above the log start. */
  index: number[] = [];
  indexBase = 0;
  applied = 0;
  restores = 0;
  private checkpoints: SnapshotPoint[] = [];
  private sinceCheckpoint = 0;
  private compactBelow = 0;

  constructor(private readonly host: () => RaftHost) {}

  apply(e: Entry): unknown {
    this.applied = e.index;
    const text = Buffer.from(e.data).toString();
    let result: unknown;
    if (text.startsWith('rec:')) {
      if (this.index.length === 0) this.indexBase = this.next;
      this.index.push(e.index);
      result = this.next++;
    } else if (text.startsWith('trim:')) {
      const to = Math.min(Number(text.slice(5)), this.next);
      if (to > this.logStart) {
        const drop = Math.min(this.index.length, Math.max(0, to - this.indexBase));
        this.index.splice(0, drop);
        this.indexBase += drop;
        this.logStart = to;
        this.compactBelow = this.index[0] ?? e.index + 1;
      }
      result = this.logStart;
    }
    if (++this.sinceCheckpoint >= 10) {
      this.sinceCheckpoint = 0;
      this.checkpoints.push({ index: e.index, data: this.state() });
      if (this.checkpoints.length > 50) this.checkpoints.shift();
    }
    return result;
  }

  private state(): Uint8Array {
    return Buffer.from(JSON.stringify({ next: this.next, logStart: this.logStart }));
  }

  snapshot(): Uint8Array {
    return this.state();
  }

  snapshotPoint(): SnapshotPoint | undefined {
    let best: SnapshotPoint | undefined;
    for (const c of this.checkpoints) if (c.index < this.compactBelow) best = c;
    if (best === undefined) return undefined;
    const at = best.index;
    this.checkpoints = this.checkpoints.filter((c) => c.index > at);
    return best;
  }

  restore(data: Uint8Array, md: SnapshotMetadata): void {
    this.restores++;
    const s =
      data.length > 0
        ? (JSON.parse(Buffer.from(data).toString()) as { next: number; logStart: number })
        : { next: 0, logStart: 0 };
    this.next = s.next;
    this.logStart = s.logStart;
    this.index = [];
    this.indexBase = s.next;
    this.applied = md.index;
    this.checkpoints = [];
    this.compactBelow = 0;
  }

  /** The payloads of offsets [from, next), read from the Raft log through the index. */
  read(from: number): string[] {
    if (from < this.logStart) throw new Error(`offset ${from} is below the log start ${this.logStart}`);
    const log = this.host().log(GROUP)!;
    return this.index.slice(from - this.indexBase).map((i) => {
      const [e] = log.entries(i, i + 1, 1 << 20);
      return Buffer.from(e!.data).toString().slice(4);
    });
  }
}

interface Node {
  id: number;
  host: RaftHost;
  sm: MiniPartition;
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return total;
}

/** The membership recorded in a group folder's snapshot file (header: u32 meta length at 32; meta JSON at 56). */
function snapshotConfState(groupDir: string): { index: number; confState: ConfState } {
  // The newest one (the previous file is removed only after the new one is in place).
  const name = readdirSync(groupDir)
    .filter((f) => /^snapshot-\d+-\d+\.snap$/.test(f))
    .sort()
    .pop()!;
  const b = readFileSync(path.join(groupDir, name));
  const metaBytes = b.readUInt32LE(32);
  return {
    index: Number(/^snapshot-(\d+)-/.exec(name)![1]),
    confState: JSON.parse(b.subarray(56, 56 + metaBytes).toString()) as ConfState,
  };
}

describe('RaftHost with state-machine snapshot points', () => {
  let root: string;
  let net: MemNet;
  let nodes: Node[];

  async function startNode(id: number): Promise<Node> {
    const host = new RaftHost({
      nodeId: id,
      dataDir: path.join(root, `n${id}`),
      tickMs: 10,
      transport: net.transport(id),
    });
    const sm = new MiniPartition(() => host);
    net.hosts.set(id, host);
    await host.openGroup({
      groupId: GROUP,
      stateMachine: sm,
      bootstrapVoters: [1, 2, 3],
      snapshotPolicy: 'stateMachine',
      maxSegmentBytes: 32 * 1024,
    });
    host.start();
    return { id, host, sm };
  }

  async function leader(): Promise<Node> {
    let found: Node | undefined;
    await until(() => {
      found = nodes.find((n) => !net.down.has(n.id) && n.host.status(GROUP).role === StateType.Leader);
      return found !== undefined;
    }, 15_000);
    return found!;
  }

  const payload = (i: number): string => `${i}:${'v'.repeat(500)}`;

  beforeEach(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'chronik-snappoint-'));
    net = new MemNet();
    nodes = [];
    for (const id of [1, 2, 3]) nodes.push(await startNode(id));
  });

  afterEach(async () => {
    await Promise.all(nodes.map((n) => n.host.close()));
    rmSync(root, { recursive: true, force: true });
  });

  it('compacts exactly to the offered point, brings a lagging follower back by snapshot, and restarts', async () => {
    const l = await leader();
    const lagging = nodes.find((n) => n !== l)!;
    await l.host.propose(GROUP, Buffer.from(`rec:${payload(0)}`));
    await until(() => lagging.sm.next === 1, 15_000);
    net.down.add(lagging.id);
    for (let i = 1; i < 300; i++) await l.host.propose(GROUP, Buffer.from(`rec:${payload(i)}`));
    const sizeBefore = dirBytes(path.join(root, `n${l.id}`));
    // Nothing is compacted while every record is wanted.
    expect(l.host.status(GROUP).snapshotIndex).toBeLessThanOrEqual(1);
    await l.host.propose(GROUP, Buffer.from('trim:250'));
    const keepFrom = l.sm.index[0]!;
    await until(() => l.host.status(GROUP).snapshotIndex > 1, 15_000);
    const st = l.host.status(GROUP);
    // Aligned: the snapshot is the compaction point, below the first record kept, and close to it.
    expect(st.firstIndex).toBe(st.snapshotIndex + 1);
    expect(st.snapshotIndex).toBeLessThan(keepFrom);
    expect(keepFrom - st.snapshotIndex).toBeLessThanOrEqual(10);
    expect(l.sm.read(250)).toEqual(Array.from({ length: 50 }, (_, k) => payload(250 + k)));
    // Compaction reaches the disk asynchronously (whole WAL segments are deleted after the state).
    await until(() => dirBytes(path.join(root, `n${l.id}`)) < sizeBefore / 2, 15_000);
    // The lagging follower's next entry is gone from the leader's log: it installs the snapshot and
    // receives every entry after it by normal replication.
    expect(st.firstIndex).toBeGreaterThan(lagging.host.status(GROUP).lastIndex + 1);
    net.down.delete(lagging.id);
    await until(() => lagging.sm.next === 300 && lagging.sm.logStart === 250, 15_000);
    expect(lagging.sm.restores).toBeGreaterThan(0);
    expect(lagging.sm.read(250)).toEqual(l.sm.read(250));
    expect(lagging.host.status(GROUP).firstIndex).toBe(st.firstIndex);
    expect(() => lagging.sm.read(249)).toThrow(/below the log start/);
    // Restart every node: snapshot restore, then the entries after it are re-applied from the log.
    await Promise.all(nodes.map((n) => n.host.close()));
    net = new MemNet();
    nodes = [];
    for (const id of [1, 2, 3]) nodes.push(await startNode(id));
    for (const n of nodes) {
      expect(n.sm.restores).toBe(1);
      await until(() => n.sm.next === 300, 15_000);
      expect(n.sm.logStart).toBe(250);
      expect(n.sm.read(250)).toEqual(Array.from({ length: 50 }, (_, k) => payload(250 + k)));
    }
    const l2 = await leader();
    await l2.host.propose(GROUP, Buffer.from(`rec:${payload(300)}`));
    await until(() => nodes.every((n) => n.sm.next === 301), 15_000);
    for (const n of nodes) expect(n.sm.read(299)).toEqual([payload(299), payload(300)]);
  });

  it('exposes per-follower progress on the leader and refuses entries its segments cannot hold', async () => {
    const l = await leader();
    for (let i = 0; i < 5; i++) await l.host.propose(GROUP, Buffer.from(`rec:${payload(i)}`));
    const f = nodes.find((n) => n !== l)!;
    await until(
      () => l.host.status(GROUP).progress.every((p) => p.match === l.host.status(GROUP).lastIndex),
      15_000,
    );
    expect(
      l.host
        .status(GROUP)
        .progress.map((p) => p.nodeId)
        .sort(),
    ).toEqual([1, 2, 3]);
    expect(f.host.status(GROUP).progress).toEqual([]);
    net.down.add(f.id);
    for (let i = 5; i < 10; i++) await l.host.propose(GROUP, Buffer.from(`rec:${payload(i)}`));
    const p = l.host.status(GROUP).progress.find((x) => x.nodeId === f.id)!;
    expect(p.match).toBeLessThan(l.host.status(GROUP).lastIndex);
    // recentActive drops within an election timeout or two (checkQuorum).
    await until(() => !l.host.status(GROUP).progress.find((x) => x.nodeId === f.id)!.recentActive, 15_000);
    const max = l.host.status(GROUP).maxEntryBytes;
    expect(max).toBeLessThan(32 * 1024);
    await expect(l.host.propose(GROUP, Buffer.alloc(max + 1))).rejects.toMatchObject({ code: 'TooLarge' });
  });

  it('records the membership as of the snapshot point, not as of the applied index', async () => {
    const l = await leader();
    for (let i = 0; i < 25; i++) await l.host.propose(GROUP, Buffer.from(`rec:${i}`));
    const changeAt = (
      await l.host.proposeConfChange(GROUP, {
        type: ConfChangeType.AddLearnerNode,
        nodeId: 4,
        context: new Uint8Array(0),
      })
    ).index;
    for (let i = 25; i < 50; i++) await l.host.propose(GROUP, Buffer.from(`rec:${i}`));
    expect(l.host.status(GROUP).learners).toEqual([4]);
    const groupDir = path.join(root, `n${l.id}`, `group-${GROUP}`);
    // A point before the learner was added: the snapshot must not name it.
    await l.host.propose(GROUP, Buffer.from('trim:12'));
    await until(() => l.host.status(GROUP).snapshotIndex > 1, 15_000);
    await until(() => snapshotConfState(groupDir).index > 1, 15_000);
    const early = snapshotConfState(groupDir);
    expect(early.index).toBeLessThan(changeAt);
    expect(early.confState.voters).toEqual([1, 2, 3]);
    expect(early.confState.learners).toEqual([]);
    // A point after it: now it does.
    await l.host.propose(GROUP, Buffer.from('trim:45'));
    await until(() => snapshotConfState(groupDir).index > changeAt, 15_000);
    expect(snapshotConfState(groupDir).confState.learners).toEqual([4]);
    expect(l.host.status(GROUP).firstIndex).toBe(l.host.status(GROUP).snapshotIndex + 1);
  });
});
