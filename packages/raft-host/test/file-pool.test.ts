// Many groups on a few descriptors (docs/design/file-handles.md): a host whose file system is a
// FilePool of 4 descriptors runs 30 groups — their logs' segments and state files are closed and
// reopened under it — and everything it acknowledged survives a simulated power loss.
import { StateType, seededRng } from '@chronik/raft';
import { FilePool, MemFileSystem } from '@chronik/wal';
import { RaftHost } from '../src/index.js';
import { KvStateMachine } from './kv.js';

const GROUPS = 30;

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function openHost(
  pool: FilePool,
  bootstrap: boolean,
): Promise<{ host: RaftHost; machines: KvStateMachine[] }> {
  const host = new RaftHost({ nodeId: 1, dataDir: '/raft', env: { fs: pool }, tickMs: 10, electionTicks: 3 });
  const machines: KvStateMachine[] = [];
  for (let g = 1; g <= GROUPS; g++) {
    const sm = new KvStateMachine();
    machines.push(sm);
    await host.openGroup({ groupId: g, stateMachine: sm, ...(bootstrap ? { bootstrapVoters: [1] } : {}) });
  }
  host.start();
  await waitFor(
    () =>
      Array.from({ length: GROUPS }, (_, k) => host.status(k + 1).role).every((r) => r === StateType.Leader),
    'every group to elect its single voter',
  );
  return { host, machines };
}

test('thirty groups on four descriptors: they commit, stay within the pool, and survive a crash', async () => {
  const mem = new MemFileSystem();
  await mem.mkdir('/raft');
  const pool = new FilePool(mem, { maxOpenFiles: 4 });
  const { host } = await openHost(pool, true);
  for (let round = 0; round < 3; round++)
    await Promise.all(
      Array.from({ length: GROUPS }, (_, k) =>
        host.propose(k + 1, Buffer.from(`k${round}=g${k + 1}r${round}`), 5000),
      ),
    );
  const s = pool.stats();
  // 60 files open (a segment and a state file per group), few descriptors: the idle ones were closed.
  expect(s.files).toBeGreaterThanOrEqual(2 * GROUPS);
  expect(s.open).toBeLessThanOrEqual(4 + s.pinned);
  expect(s.evictions).toBeGreaterThan(0);
  expect(s.reopens).toBeGreaterThan(0);
  // Everything acknowledged is durable: a power loss keeps it.
  const after = mem.crash(seededRng(7));
  await host.close().catch(() => undefined);
  const again = await openHost(new FilePool(after, { maxOpenFiles: 4 }), false);
  try {
    for (let k = 0; k < GROUPS; k++) {
      const sm = again.machines[k]!;
      await waitFor(() => sm.data.get('k2') === `g${k + 1}r2`, `group ${k + 1} to apply its entries again`);
      expect(sm.data.get('k0')).toBe(`g${k + 1}r0`);
    }
  } finally {
    await again.host.close();
  }
});
