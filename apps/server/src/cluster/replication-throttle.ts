// The catch-up throttle of reassignments, Kafka's leader.replication.throttled.rate: the log a
// partition leader sends to the replicas a reassignment adds (learners catching up) goes out at
// most at this many bytes a second, all such replicas of this node together, so that moving a
// partition of gigabytes does not starve the produce traffic sharing the node's disk and links.
//
// It sits between the Raft host and the transport and holds back only MsgApp messages of the
// (group, node) pairs the partition mover names (partition-mover.ts): in arrival order, through one
// token bucket. Everything else — heartbeats, votes, snapshots, the voters' replication — passes at
// once. Holding a MsgApp back is what a slow link does; Raft's own limits on messages in flight to
// a follower (256, 32 MiB) bound the queue, and past maxQueuedBytes it drops (as a lossy link
// does: the leader probes again). A learner has no vote and counts in no commit, so its pace
// changes no acknowledgement.
//
// Limit: a follower's own rate (Kafka's follower.replication.throttled.rate) is not throttled; the
// leader's is the one that bounds what one node sends.
import type { Clock, Scheduler, TimerHandle } from '@chronik/env';
import { MessageType } from '@chronik/raft';
import type { Message } from '@chronik/raft';

export interface ReplicationThrottleOptions {
  /** Bytes a second (entry data) this node sends to throttled replicas, all together. */
  bytesPerSec: number;
  clock: Clock;
  scheduler: Scheduler;
  /** Bytes held back at most; a MsgApp beyond is dropped. Default 64 MiB. */
  maxQueuedBytes?: number;
}

/** What the throttle sends through (the host's transport). */
export interface ThrottledSend {
  send(groupId: number, message: Message): boolean;
}

interface Held {
  groupId: number;
  message: Message;
  bytes: number;
}

function entryBytes(m: Message): number {
  let n = 0;
  for (const e of m.entries) n += e.data.length;
  return n;
}

export class ReplicationThrottle {
  /** Group id → nodes whose replication from this leader is throttled. */
  private readonly pairs = new Map<number, ReadonlySet<number>>();
  private readonly queue: Held[] = [];
  private queuedBytes = 0;
  /** Bytes that may go now; refilled at bytesPerSec, at most one second's worth. */
  private tokens: number;
  private lastRefillMs: number;
  private timer: TimerHandle | undefined;
  private sentBytes = 0;
  private droppedMessages = 0;

  constructor(
    private readonly options: ReplicationThrottleOptions,
    private readonly inner: ThrottledSend,
  ) {
    this.tokens = options.bytesPerSec;
    this.lastRefillMs = options.clock.monotonicMs();
  }

  /** The nodes of group `groupId` whose catch-up is throttled now (none: the group is not). */
  setThrottled(groupId: number, nodes: readonly number[]): void {
    if (nodes.length === 0) this.pairs.delete(groupId);
    else this.pairs.set(groupId, new Set(nodes));
  }

  /** Throttled bytes sent so far, and MsgApps dropped because the queue was full. */
  stats(): { sentBytes: number; queuedBytes: number; droppedMessages: number } {
    return {
      sentBytes: this.sentBytes,
      queuedBytes: this.queuedBytes,
      droppedMessages: this.droppedMessages,
    };
  }

  send(groupId: number, message: Message): boolean {
    if (message.type !== MessageType.MsgApp || this.pairs.get(groupId)?.has(message.to) !== true)
      return this.inner.send(groupId, message);
    const bytes = entryBytes(message);
    if (this.queuedBytes + bytes > (this.options.maxQueuedBytes ?? 64 * 1024 * 1024)) {
      this.droppedMessages++;
      return false;
    }
    this.queue.push({ groupId, message, bytes });
    this.queuedBytes += bytes;
    this.drain();
    return true;
  }

  /** Stops the drain timer (queued messages are dropped: the transport is closing). */
  close(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.queue.length = 0;
    this.queuedBytes = 0;
  }

  private refill(): void {
    const now = this.options.clock.monotonicMs();
    const rate = this.options.bytesPerSec;
    this.tokens = Math.min(rate, this.tokens + ((now - this.lastRefillMs) * rate) / 1000);
    this.lastRefillMs = now;
  }

  /** Sends what the tokens allow, in order; a message goes once tokens are positive (they may go below 0). */
  private drain(): void {
    if (this.timer !== undefined) return;
    this.refill();
    while (this.queue.length > 0 && this.tokens > 0) {
      const h = this.queue.shift() as Held;
      this.queuedBytes -= h.bytes;
      this.tokens -= h.bytes;
      this.sentBytes += h.bytes;
      this.inner.send(h.groupId, h.message);
    }
    if (this.queue.length === 0) return;
    const waitMs = Math.max(1, Math.ceil((-this.tokens * 1000) / this.options.bytesPerSec) + 1);
    this.timer = this.options.scheduler.setTimer(waitMs, () => {
      this.timer = undefined;
      this.drain();
    });
  }
}
