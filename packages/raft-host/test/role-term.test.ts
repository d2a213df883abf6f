// onRoleChange reports role, leader and term as of one Ready. A node becomes leader of term 1; while
// the fsync of that Ready (its no-op entry) is pending, a leader of term 2 reaches it and the core
// steps down. The held Ready still says "leader": it must be reported with term 1, never as the
// leader of term 2 (two replicas would then claim one leader epoch; tools/sim seed 222).
import { MessageType, StateType, newMessage } from '@chronik/raft';
import type { Message } from '@chronik/raft';
import { MemFileSystem } from '@chronik/wal';
import type { FileSystem, WalFile } from '@chronik/wal';
import { RaftHost } from '../src/index.js';
import { KvStateMachine } from './kv.js';
import { until } from './mem-net.js';

/** A disk whose fsyncs wait while `held` is true. */
function gatedDisk(): { fs: FileSystem; hold(): void; release(): void } {
  const disk = new MemFileSystem();
  let held = false;
  let waiting: Array<() => void> = [];
  const gate = (): Promise<void> => (held ? new Promise((r) => waiting.push(r)) : Promise.resolve());
  const wrap = (f: WalFile): WalFile =>
    new Proxy(f, {
      get(t, k, r) {
        if (k === 'datasync' || k === 'sync') return () => gate().then(() => t.datasync());
        const v: unknown = Reflect.get(t, k, r);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    });
  const fs = new Proxy(disk, {
    get(t, k, r) {
      if (k === 'open') return (p: string, flags: 'r' | 'w' | 'a') => t.open(p, flags as never).then(wrap);
      const v: unknown = Reflect.get(t, k, r);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  }) as FileSystem;
  return {
    fs,
    hold: () => (held = true),
    release: () => {
      held = false;
      const w = waiting;
      waiting = [];
      for (const r of w) r();
    },
  };
}

class RoleLog extends KvStateMachine {
  roles: Array<[StateType, number, number]> = [];
  onRoleChange(role: StateType, leaderId: number, term: number): void {
    this.roles.push([role, leaderId, term]);
  }
}

test('a leader whose Ready is being persisted when a later term arrives is not reported as leader of that term', async () => {
  const disk = gatedDisk();
  await disk.fs.mkdir('/raft');
  const sent: Message[] = [];
  const host = new RaftHost({
    nodeId: 1,
    dataDir: '/raft',
    fs: disk.fs,
    tickMs: 1_000_000,
    transport: { send: (_g, m) => (sent.push(m), true) },
  });
  const sm = new RoleLog();
  await host.openGroup({
    groupId: 9,
    stateMachine: sm,
    bootstrapVoters: [1, 2, 3],
    preVote: false,
    checkQuorum: false,
  });
  try {
    host.campaign(9);
    await until(() => sent.some((m) => m.type === MessageType.MsgVote));
    // Node 2 grants its vote: node 1 leads term 1, and the fsync of that Ready (its no-op) waits.
    disk.hold();
    host.receive(9, newMessage({ type: MessageType.MsgVoteResp, to: 1, from: 2, term: 1 }));
    await until(() => host.status(9).role === StateType.Leader);
    await new Promise((r) => setImmediate(r));
    // Meanwhile node 3 leads term 2 and says so; the core steps down at once.
    host.receive(9, newMessage({ type: MessageType.MsgHeartbeat, to: 1, from: 3, term: 2 }));
    expect(host.status(9).term).toBe(2);
    disk.release();
    await until(() => sm.roles.some(([role]) => role === StateType.Follower));
    expect(sm.roles).not.toContainEqual([StateType.Leader, 1, 2]);
    expect(sm.roles[sm.roles.length - 1]).toEqual([StateType.Follower, 3, 2]);
  } finally {
    disk.release();
    await host.close();
  }
});
