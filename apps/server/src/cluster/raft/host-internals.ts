// Read access to a group's Raft log inside RaftHost.
//
// A partition's Raft log IS its Kafka log (DESIGN.md "A partition's log"), so Fetch reads record
// batches straight from the group's RaftLogStorage (synchronous reads, recent entries cached in
// memory). RaftHost does not expose its groups' storage yet; this is the one place that reaches into
// it, read-only. Reported to the raft-host owner: a public `RaftHost.entries(groupId, lo, hi, maxBytes)`
// and `lastIndex(groupId)` would replace it.
import type { Entry } from '@chronik/raft';
import type { RaftHost } from '@chronik/raft-host';

interface GroupStorageView {
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  firstIndex(): number;
  lastIndex(): number;
}

interface HostWithGroups {
  groups: Map<number, { storage: GroupStorageView }>;
}

/** The storage of an open group, or undefined when the group is not open. */
export function groupLog(host: RaftHost, groupId: number): GroupStorageView | undefined {
  const groups = (host as unknown as HostWithGroups).groups;
  if (!(groups instanceof Map)) return undefined;
  return groups.get(groupId)?.storage;
}
