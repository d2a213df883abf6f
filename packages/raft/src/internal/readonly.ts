// Pending ReadIndex requests on a leader (Raft thesis section 6.4): a read at index i is served
// once a quorum has acknowledged a heartbeat sent after the request arrived.
import type { Message } from '../types.js';

export interface ReadIndexStatus {
  readonly req: Message;
  readonly index: number;
  readonly acks: Map<number, boolean>;
}

/** Request contexts are compared as strings (latin1 of the bytes). */
export function contextKey(ctx: Uint8Array): string {
  let s = '';
  for (let i = 0; i < ctx.byteLength; i++) s += String.fromCharCode(ctx[i] as number);
  return s;
}

export class ReadOnly {
  /** Invariant: pending.size === queue.length; queue is in arrival order. */
  readonly pending = new Map<string, ReadIndexStatus>();
  queue: string[] = [];

  /** Records a read request at the leader's commit index. Returns false for a duplicate context. */
  addRequest(index: number, m: Message): boolean {
    const key = contextKey(m.context);
    if (this.pending.has(key)) return false;
    this.pending.set(key, { req: m, index, acks: new Map() });
    this.queue.push(key);
    return true;
  }

  /** Records a heartbeat acknowledgement carrying a request context; returns the acks so far, or null. */
  recvAck(id: number, context: Uint8Array): Map<number, boolean> | null {
    const rs = this.pending.get(contextKey(context));
    if (rs === undefined) return null;
    rs.acks.set(id, true);
    return rs.acks;
  }

  /** Removes and returns every request up to and including the one with `context` (all of them are confirmed). */
  advance(context: Uint8Array): ReadIndexStatus[] {
    const key = contextKey(context);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const done = this.queue.slice(0, at + 1);
    this.queue = this.queue.slice(at + 1);
    const out: ReadIndexStatus[] = [];
    for (const k of done) {
      const rs = this.pending.get(k);
      if (rs !== undefined) out.push(rs);
      this.pending.delete(k);
    }
    return out;
  }

  lastPendingRequestCtx(): Uint8Array | null {
    const k = this.queue[this.queue.length - 1];
    if (k === undefined) return null;
    return (this.pending.get(k) as ReadIndexStatus).req.context;
  }
}
