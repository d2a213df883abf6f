// Test helpers shared by the in-process RaftHost tests: an in-memory transport that can cut nodes
// off, a polling wait, a logger that keeps its lines, and a KV node on real WAL files.
import path from 'node:path';
import { MessageType } from '@chronik/raft';
import type { Logger, Message } from '@chronik/raft';
import { RaftHost } from '../src/index.js';
import type { GroupOptions, HostTransport, RaftHostOptions } from '../src/index.js';
import { KvStateMachine } from './kv.js';

/** A RaftHost with one KV group, its state machine and its log lines. */
export interface KvNode {
  id: number;
  host: RaftHost;
  kv: KvStateMachine;
  logs: string[];
}

/**
 * Starts node `id` on `net` with its data in `root/n<id>`: one KV group `groupId` (voters 1–3 unless
 * given), tick 10 ms; `host` and `group` options are added to those.
 */
export async function startKvNode(
  net: MemNet,
  root: string,
  id: number,
  groupId: number,
  host: Partial<RaftHostOptions> = {},
  group: Partial<Omit<GroupOptions, 'groupId' | 'stateMachine'>> = {},
): Promise<KvNode> {
  const logs: string[] = [];
  const h = new RaftHost({
    nodeId: id,
    dataDir: path.join(root, `n${id}`),
    tickMs: 10,
    logger: linesLogger(logs),
    transport: net.transport(id),
    ...host,
  });
  const kv = new KvStateMachine();
  net.hosts.set(id, h);
  await h.openGroup({ groupId, stateMachine: kv, bootstrapVoters: [1, 2, 3], ...group });
  h.start();
  return { id, host: h, kv, logs };
}

/** Hosts joined in memory; a node in `down` neither sends nor receives. Delivery is asynchronous. */
export class MemNet {
  readonly hosts = new Map<number, RaftHost>();
  readonly down = new Set<number>();
  /** How many snapshot messages to refuse to send (as GrpcTransport does past its in-flight limit). */
  refuseSnapshots = 0;

  transport(from: number): HostTransport {
    return {
      send: (groupId: number, m: Message) => {
        if (this.down.has(from) || this.down.has(m.to)) return false;
        if (m.type === MessageType.MsgSnap && this.refuseSnapshots > 0) {
          this.refuseSnapshots--;
          return false;
        }
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
