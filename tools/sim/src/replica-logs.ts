// After a clean stop: every Raft group a node holds (metadata, partitions, __consumer_offsets) must
// have the same entries on every replica up to the smallest commit index its replicas stored —
// term, type and bytes. The logs are opened from the nodes' simulated disks with the production
// RaftLogStorage (what a restarted node would read).
import { RaftLogStorage } from '@chronik/raft-host';
import type { MemFileSystem } from '@chronik/wal';

export interface ReplicaLogReport {
  groups: number;
  entriesCompared: number;
  mismatches: string[];
}

const PAGE_ENTRIES = 256;
const PAGE_BYTES = 8 << 20;

/** `disks`: node id → [its disk, its Raft directory]. */
export async function compareReplicaLogs(
  disks: ReadonlyMap<number, readonly [MemFileSystem, string]>,
): Promise<ReplicaLogReport> {
  const report: ReplicaLogReport = { groups: 0, entriesCompared: 0, mismatches: [] };
  const holders = new Map<string, number[]>();
  for (const [node, [disk, dir]] of disks) {
    const names = await disk.readdir(dir).catch(() => [] as string[]);
    for (const g of names.filter((x) => x.startsWith('group-')).sort())
      holders.set(g, [...(holders.get(g) ?? []), node]);
  }
  for (const [group, nodes] of [...holders].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (nodes.length < 2) continue;
    report.groups++;
    const open: Array<{ node: number; s: RaftLogStorage }> = [];
    try {
      for (const node of nodes) {
        const [disk, dir] = disks.get(node) as readonly [MemFileSystem, string];
        try {
          open.push({
            node,
            s: await RaftLogStorage.open({
              dir: `${dir}/${group}`,
              fs: disk,
              syncPolicy: { kind: 'unsafe-none' },
            }),
          });
        } catch (e) {
          report.mismatches.push(
            `${group} on node ${node} does not open: ${e instanceof Error ? e.message : String(e)}`,
          );
        }
      }
      if (open.length < 2) continue;
      const commit = Math.min(
        ...open.map((o) => Math.min(o.s.initialState().hardState.commit, o.s.lastIndex())),
      );
      let lo = Math.max(...open.map((o) => o.s.firstIndex()));
      while (lo <= commit && report.mismatches.length < 20) {
        const hi = Math.min(commit + 1, lo + PAGE_ENTRIES);
        const pages = open.map((o) => o.s.entries(lo, hi, PAGE_BYTES));
        const n = Math.min(...pages.map((p) => p.length));
        if (n === 0) break;
        const ref = pages[0] ?? [];
        for (let i = 0; i < n; i++) {
          const a = ref[i];
          if (a === undefined) break;
          for (let k = 1; k < pages.length; k++) {
            const b = pages[k]?.[i];
            if (b === undefined) continue;
            if (
              a.term !== b.term ||
              a.type !== b.type ||
              Buffer.compare(Buffer.from(a.data), Buffer.from(b.data)) !== 0
            )
              report.mismatches.push(
                `${group} index ${a.index}: node ${open[0]?.node} has term ${a.term} (${a.data.length} B), node ${open[k]?.node} term ${b.term} (${b.data.length} B)`,
              );
          }
          report.entriesCompared++;
        }
        lo += n;
      }
    } finally {
      for (const o of open) await o.s.close().catch(() => undefined);
    }
  }
  return report;
}
