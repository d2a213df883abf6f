// RaftMetadataStore on RaftHosts over simulated disks: a metadata group that stops (its Raft core
// broke an invariant) stops this node's metadata and the broker.
import { EntryType, MessageType, newMessage } from '@chronik/raft';
import { RaftHost } from '@chronik/raft-host';
import { MemFileSystem } from '@chronik/wal';
import { METADATA_GROUP_ID } from '../../src/cluster/group-ids.js';
import { RaftMetadataStore } from '../../src/cluster/raft-metadata-store.js';
import { silentLogger } from '../../src/logger.js';

jest.setTimeout(30_000);

async function until(what: string, pred: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a metadata group that stops (an invariant of the Raft core broken) stops the broker; commits are refused', async () => {
  const fs = new MemFileSystem();
  await fs.mkdir('/raft');
  const host = new RaftHost({ nodeId: 1, dataDir: '/raft', fs, tickMs: 10, electionTicks: 5 });
  const fatal: Error[] = [];
  try {
    const store = await RaftMetadataStore.open({
      host,
      voters: [1],
      bootstrap: true,
      timeoutMs: 5000,
      logger: silentLogger,
      fatal: (e) => fatal.push(e),
    });
    host.start();
    host.campaign(METADATA_GROUP_ID);
    expect((await store.commit({ type: 'initCluster', clusterId: 'c1' })).ok).toBe(true);
    const st = host.status(METADATA_GROUP_ID);
    // A newer leader's append carrying another entry for an index committed here.
    host.receive(
      METADATA_GROUP_ID,
      newMessage({
        type: MessageType.MsgApp,
        to: 1,
        from: 2,
        term: st.term + 1,
        index: st.lastIndex,
        logTerm: st.term,
        entries: [{ index: 2, term: st.term + 1, type: EntryType.Normal, data: new Uint8Array(0) }],
        commit: st.lastIndex,
      }),
    );
    await until('the broker told to stop', () => fatal.length > 0);
    expect(fatal[0]).toMatchObject({ code: 'InvariantViolated' });
    expect(store.leaderId()).toBe(-1);
    await expect(store.commit({ type: 'initCluster', clusterId: 'c1' })).rejects.toMatchObject({
      code: 'KAFKA_STORAGE_ERROR',
    });
  } finally {
    await host.close();
  }
});
