// Read access to a group's Raft log inside RaftHost.
//
// A partition's Raft log IS its Kafka log (DESIGN.md "A partition's log"), so Fetch reads record
// batches straight from the group's log through RaftHost.log() (synchronous reads, recent entries
// cached in memory).
import type { GroupLog, RaftHost } from '@chronik/raft-host';

/** The log of an open group, or undefined when the group is not open. */
export function groupLog(host: RaftHost, groupId: number): GroupLog | undefined {
  return host.log(groupId);
}
