// A deterministic cluster of RaftHosts for tests: one injected clock (ManualScheduler), an in-memory
// network with down nodes and cut links, and an in-memory file system; every host runs one KV group.
import { ManualScheduler, randomFromBytes, silentLogger } from '@chronik/env';
import type { Env } from '@chronik/env';
import { StateType } from '@chronik/raft';
import type { Message } from '@chronik/raft';
import { MemFileSystem } from '@chronik/wal';
import { RaftHost } from '../src/index.js';
import type { HostTransport, RaftHostOptions } from '../src/index.js';
import { KvStateMachine } from './kv.js';

export const TICK_MS = 10;
export const ELECTION_TICKS = 10;
export const GROUP = 7;

export class Cluster {
  readonly clock = new ManualScheduler(1_000);
  readonly fs = new MemFileSystem();
  readonly hosts = new Map<number, RaftHost>();
  readonly kvs = new Map<number, KvStateMachine>();
  readonly down = new Set<number>();
  /** "from-to" links that drop everything. */
  readonly cut = new Set<string>();
  /** Messages sent per group id (the liveness pings under LIVENESS_GROUP_ID). */
  readonly sent = new Map<number, number>();
  private deferred: Array<() => void> = [];
  private draws = 0;

  env(): Env {
    return {
      clock: this.clock,
      scheduler: { setTimer: (ms, fn) => this.clock.setTimer(ms, fn), defer: (fn) => this.deferred.push(fn) },
      // Every draw differs: a restarted host has a new incarnation.
      random: randomFromBytes((n) => Buffer.alloc(n, ++this.draws)),
      fs: this.fs,
      logger: silentLogger,
    };
  }

  transport(from: number): HostTransport {
    return {
      send: (groupId: number, m: Message) => {
        this.sent.set(groupId, (this.sent.get(groupId) ?? 0) + 1);
        const blocked = (): boolean =>
          this.down.has(from) || this.down.has(m.to) || this.cut.has(`${from}-${m.to}`);
        if (blocked()) return false;
        this.deferred.push(() => {
          if (!blocked()) this.hosts.get(m.to)?.receive(groupId, m);
        });
        return true;
      },
      forwardProposal: async (to: number, groupId: number, data: Uint8Array, timeoutMs: number) => {
        const o = await this.host(to).propose(groupId, data, timeoutMs);
        return { index: o.index, term: o.term };
      },
    };
  }

  async start(id: number, quiesce = true, options: Partial<RaftHostOptions> = {}): Promise<void> {
    await this.fs.mkdir(`/n${id}`);
    const host = new RaftHost({
      nodeId: id,
      dataDir: `/n${id}`,
      env: this.env(),
      transport: this.transport(id),
      tickMs: TICK_MS,
      electionTicks: ELECTION_TICKS,
      ...options,
    });
    const kv = new KvStateMachine();
    this.hosts.set(id, host);
    this.kvs.set(id, kv);
    const opening = host.openGroup({ groupId: GROUP, stateMachine: kv, bootstrapVoters: [1, 2, 3], quiesce });
    await this.drain();
    await opening;
    host.start();
  }

  /** Runs deferred work (cycles, group commits, deliveries) until none is left. */
  async drain(): Promise<void> {
    for (let i = 0; i < 100_000; i++) {
      await new Promise<void>((r) => setImmediate(r));
      const fn = this.deferred.shift();
      if (fn === undefined) return;
      fn();
    }
    throw new Error('deferred work never ends');
  }

  async ticks(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      this.clock.advance(TICK_MS);
      await this.drain();
    }
  }

  async until(pred: () => boolean, maxTicks = 500): Promise<number> {
    for (let t = 0; t <= maxTicks; t++) {
      if (pred()) return t;
      await this.ticks(1);
    }
    throw new Error(
      `condition not reached: ${JSON.stringify(
        this.up().map((id) => {
          const s = this.host(id).status(GROUP);
          return {
            id,
            role: s.role,
            leader: s.leaderId,
            term: s.term,
            commit: s.commitIndex,
            applied: s.appliedIndex,
            last: s.lastIndex,
            q: s.quiescent,
            progress: s.progress.map((p) => [p.nodeId, p.match, p.state, p.recentActive]),
          };
        }),
      )}`,
    );
  }

  up(): number[] {
    return [...this.hosts.keys()].filter((id) => !this.down.has(id));
  }

  leader(): number {
    for (const id of this.up()) {
      const s = this.host(id).status(GROUP);
      if (s.role === StateType.Leader) return id;
    }
    return 0;
  }

  host(id: number): RaftHost {
    const h = this.hosts.get(id);
    if (h === undefined) throw new Error(`no host ${id}`);
    return h;
  }

  quiescent(ids = this.up()): boolean {
    return ids.every((id) => this.host(id).status(GROUP).quiescent);
  }

  async put(key: string, value: string): Promise<void> {
    const leader = this.leader();
    const p = this.host(leader).propose(GROUP, Buffer.from(`${key}=${value}`), 5_000);
    let settled = false;
    p.then(
      () => (settled = true),
      () => (settled = true),
    );
    await this.until(() => settled, 300);
    await p;
  }

  async close(): Promise<void> {
    for (const h of this.hosts.values()) {
      const c = h.close();
      await this.drain();
      await c;
    }
  }
}
