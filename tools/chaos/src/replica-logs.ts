// Offline comparison of the replicas' Raft logs, once the cluster is stopped: for every Raft group
// (metadata, partitions, __consumer_offsets) stored on two or more nodes, the entries up to the
// smallest persisted commit index must be identical (term, type, bytes) on every node. This is the
// record-by-record "replicas identical" check the admin API cannot give (it has no per-replica read).
// The logs are copied first, so opening them cannot change the kept data directories.
import fs from 'node:fs';
import path from 'node:path';
import { RaftLogStorage } from '@chronik/raft-host';
import { errorMessage } from './errors.js';

export interface ReplicaLogComparison {
  /** Groups found on at least two nodes. */
  groups: number;
  entriesCompared: number;
  /** Up to 20 descriptions of differing committed entries. */
  mismatches: string[];
  mismatchCount: number;
  /** Logs that could not be opened or read. */
  errors: string[];
}

const PAGE_ENTRIES = 512;
const PAGE_BYTES = 16 << 20;
const MAX_DETAILS = 20;

type Storage = Awaited<ReturnType<typeof RaftLogStorage.open>>;

type Opened = { node: number | string; s: Storage };

/**
 * Compares `logs` entry by entry from the largest first index up to the smallest persisted commit
 * index (term, type, bytes); the number of entries compared.
 */
function compareSpan(logs: readonly Opened[], mismatch: (d: string) => void): number {
  const commit = Math.min(...logs.map((o) => Math.min(o.s.initialState().hardState.commit, o.s.lastIndex())));
  const first = Math.max(...logs.map((o) => o.s.firstIndex()));
  let compared = 0;
  for (let lo = first; lo <= commit;) {
    const hi = Math.min(commit + 1, lo + PAGE_ENTRIES);
    const pages = logs.map((o) => o.s.entries(lo, hi, PAGE_BYTES));
    const n = Math.min(...pages.map((p) => p.length));
    if (n === 0) break;
    for (let i = 0; i < n; i++) {
      const ref = pages[0]![i]!;
      for (let k = 1; k < pages.length; k++) {
        const e = pages[k]![i]!;
        if (
          e.term !== ref.term ||
          e.type !== ref.type ||
          Buffer.compare(Buffer.from(e.data), Buffer.from(ref.data)) !== 0
        )
          mismatch(
            `index ${ref.index}: node ${logs[0]!.node} has term ${ref.term} (${ref.data.length} bytes), node ${logs[k]!.node} term ${e.term} (${e.data.length} bytes)`,
          );
      }
      compared++;
    }
    lo += n;
  }
  return compared;
}

/**
 * `dataDirs`: node → that node's --data-dir (the node stopped), keyed by its id or a label (a node's
 * directory from before it left the cluster and joined anew with an empty one: its committed entries
 * must match too, over what the others still hold); `scratch`: an empty directory to copy into.
 */
export async function compareReplicaLogs(
  dataDirs: ReadonlyMap<number | string, string>,
  scratch: string,
): Promise<ReplicaLogComparison> {
  const out: ReplicaLogComparison = {
    groups: 0,
    entriesCompared: 0,
    mismatches: [],
    mismatchCount: 0,
    errors: [],
  };
  const byGroup = new Map<string, Array<number | string>>();
  for (const [node, dir] of dataDirs) {
    const raft = path.join(dir, 'raft');
    if (!fs.existsSync(raft)) continue;
    for (const g of fs.readdirSync(raft)) {
      if (!g.startsWith('group-')) continue;
      const list = byGroup.get(g) ?? [];
      list.push(node);
      byGroup.set(g, list);
    }
  }
  const mismatch = (d: string): void => {
    out.mismatchCount++;
    if (out.mismatches.length < MAX_DETAILS) out.mismatches.push(d);
  };
  for (const [group, nodes] of [...byGroup].sort()) {
    if (nodes.length < 2) continue;
    out.groups++;
    const open: Opened[] = [];
    try {
      for (const node of nodes) {
        const src = path.join(dataDirs.get(node) as string, 'raft', group);
        const copy = path.join(scratch, `node${String(node).replace(/[^\w-]/g, '_')}`, group);
        fs.cpSync(src, copy, { recursive: true });
        try {
          open.push({
            node,
            s: await RaftLogStorage.open({ dir: copy, syncPolicy: { kind: 'unsafe-none' } }),
          });
        } catch (e) {
          out.errors.push(`${group} on node ${node}: ${errorMessage(e)}`);
        }
      }
      if (open.length < 2) continue;
      // The nodes' current logs among themselves; a departed node's old log (a label) against the
      // first of them, over what both hold committed — so that its older commit index does not
      // narrow the comparison of the others.
      const current = open.filter((o) => typeof o.node === 'number');
      const departed = open.filter((o) => typeof o.node !== 'number');
      const inGroup = (d: string): void => mismatch(`${group} ${d}`);
      if (current.length >= 2) out.entriesCompared += compareSpan(current, inGroup);
      const ref = current[0] ?? departed[0];
      for (const d of departed)
        if (ref !== undefined && d !== ref) out.entriesCompared += compareSpan([ref, d], inGroup);
    } catch (e) {
      out.errors.push(`${group}: ${errorMessage(e)}`);
    } finally {
      for (const o of open) await o.s.close().catch(() => undefined);
    }
  }
  return out;
}
