// Test helpers shared by the in-process RaftHost tests: an in-memory transport that can cut nodes
// off, a polling wait, and a logger that keeps its lines.
import type { Logger, Message } from '@chronik/raft';
import type { HostTransport, RaftHost } from '../src/index.js';

/** Hosts joined in memory; a node in `down` neither sends nor receives. Delivery is asynchronous. */
export class MemNet {
  readonly hosts = new Map<number, RaftHost>();
  readonly down = new Set<number>();

  transport(from: number): HostTransport {
    return {
      send: (groupId: number, m: Message) => {
        if (this.down.has(from) || this.down.has(m.to)) return false;
        const to = this.hosts.get(m.to);
        if (!to) return false;
        setImmediate(() => {
          if (!this.down.has(from) && !this.down.has(m.to)) to.receive(groupId, m);
        });
        return true;
      },
    };
  }
}

/** Polls `pred` every 20 ms until it holds; fails after `timeoutMs`. */
export async function until(pred: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A logger that appends every message above debug to `lines`. */
export function linesLogger(lines: string[]): Logger {
  return {
    debug() {},
    info: (msg) => lines.push(msg),
    warn: (msg) => lines.push(msg),
    error: (msg) => lines.push(msg),
  };
}
