/**
 * Throughput benchmark: three RawNodes in one process on MemoryStorage, messages handed directly
 * from one node to another (no network, no serialization, no fsync), N concurrent proposers that
 * each keep one proposal in flight and propose again as soon as the leader applies it.
 *
 *   pnpm --filter @chronik/raft bench [-- --duration-ms 3000 --levels 1,64,1024]
 *
 * Prints committed proposals per second next to openraft's published in-memory figures
 * (openraft benchmark, M1 Max: 33 k/s with 1 client, 1.8 M/s with 256 clients). The comparison is
 * indicative only: different machines, languages and harnesses.
 */
import { performance } from 'node:perf_hooks';
import { MemoryStorage, RawNode, StateType } from '../src/index.js';
import type { ConfState, Message } from '../src/index.js';

interface Args {
  durationMs: number;
  warmupMs: number;
  levels: number[];
  payloadBytes: number;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { durationMs: 3000, warmupMs: 500, levels: [1, 64, 1024], payloadBytes: 16 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    if (k === '--') continue;
    if (k === '--duration-ms' && v !== undefined) a.durationMs = Number(v);
    else if (k === '--warmup-ms' && v !== undefined) a.warmupMs = Number(v);
    else if (k === '--payload-bytes' && v !== undefined) a.payloadBytes = Number(v);
    else if (k === '--levels' && v !== undefined) a.levels = v.split(',').map(Number);
    else {
      process.stderr.write(
        `bench: unknown argument ${String(k)}\nusage: bench [--duration-ms N] [--warmup-ms N] [--levels 1,64,1024] [--payload-bytes N]\n`,
      );
      process.exit(2);
    }
    i++;
  }
  if (
    !(a.durationMs > 0) ||
    !(a.warmupMs >= 0) ||
    a.levels.some((l) => !Number.isSafeInteger(l) || l < 1) ||
    !(a.payloadBytes >= 8)
  ) {
    process.stderr.write('bench: bad arguments\n');
    process.exit(2);
  }
  return a;
}

interface Node {
  readonly id: number;
  readonly raw: RawNode;
  readonly storage: MemoryStorage;
  applied: number;
}

/** A three-node group driven to quiescence in a loop; counts proposals applied on the leader. */
class Cluster {
  readonly nodes: Node[] = [];
  private inbox: Message[] = [];
  committedProposals = 0;
  /** Proposers whose proposal was applied and who propose again. */
  private ready: number[] = [];
  private stopped = false;
  private readonly payloads: Uint8Array[] = [];

  constructor(private readonly payloadBytes: number) {
    const confState: ConfState = {
      voters: [1, 2, 3],
      learners: [],
      votersOutgoing: [],
      learnersNext: [],
      autoLeave: false,
    };
    for (const id of [1, 2, 3]) {
      const storage = new MemoryStorage({ confState });
      let seed = id * 7919;
      const rng = (): number => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return seed / 4294967296;
      };
      const raw = new RawNode({
        id,
        storage,
        electionTick: 10,
        heartbeatTick: 1,
        rng,
        applied: storage.snapshot().metadata.index,
      });
      this.nodes.push({ id, raw, storage, applied: storage.snapshot().metadata.index });
    }
    const first = this.nodes[0] as Node;
    first.raw.campaign();
    this.settle();
    if (first.raw.status().softState.raftState !== StateType.Leader)
      throw new Error('bench: node 1 did not become leader');
  }

  get leader(): Node {
    return this.nodes[0] as Node;
  }

  /** Handles every Ready and delivers every message until nothing is left to do (no proposers running). */
  settle(): void {
    for (let rounds = 0; rounds < 100_000; rounds++) if (!this.round()) return;
    throw new Error('bench: the cluster did not settle');
  }

  /**
   * One round: every node handles its Readies (persist to MemoryStorage, collect messages, apply,
   * advance), proposers whose proposal was applied propose again, then every message is delivered.
   * Returns whether there was any work.
   */
  round(): boolean {
    {
      let work = false;
      for (const n of this.nodes) {
        while (n.raw.hasReady()) {
          work = true;
          const rd = n.raw.ready();
          if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
          if (rd.entries.length > 0) n.storage.append(rd.entries);
          if (rd.hardState) n.storage.setHardState(rd.hardState);
          for (const m of rd.messages) this.inbox.push(m);
          for (const e of rd.committedEntries) {
            n.applied = e.index;
            if (n === this.leader && e.data.byteLength >= 8) {
              this.committedProposals++;
              const d = e.data;
              this.ready.push(
                (((d[0] ?? 0) << 24) | ((d[1] ?? 0) << 16) | ((d[2] ?? 0) << 8) | (d[3] ?? 0)) >>> 0,
              );
            }
          }
          n.raw.advance();
        }
      }
      if (this.ready.length > 0) {
        const again = this.ready;
        this.ready = [];
        for (const p of again) this.propose(p);
        work = true;
      }
      if (this.inbox.length > 0) {
        const msgs = this.inbox;
        this.inbox = [];
        for (const m of msgs) (this.nodes[m.to - 1] as Node).raw.step(m);
        work = true;
      }
      if (work) this.compact();
      return work;
    }
  }

  stopProposers(): void {
    this.stopped = true;
  }

  propose(proposer: number): void {
    if (this.stopped) return;
    // One payload per proposer, reused: entry data is never mutated once proposed.
    let data = this.payloads[proposer];
    if (data === undefined) {
      data = new Uint8Array(this.payloadBytes);
      new DataView(data.buffer).setUint32(0, proposer);
      this.payloads[proposer] = data;
    }
    this.leader.raw.propose(data);
  }

  /** Keeps memory bounded: drop log entries every node has applied, keeping a tail. */
  private compact(): void {
    const minApplied = Math.min(...this.nodes.map((n) => n.applied));
    for (const n of this.nodes) {
      const to = minApplied - 1000;
      if (to - n.storage.firstIndex() > 50_000) n.storage.compact(to);
    }
  }

  /** Heartbeats keep the group healthy between runs (no elections happen: nodes tick together). */
  tick(): void {
    for (const n of this.nodes) n.raw.tick();
  }
}

function measure(proposers: number, args: Args): { perSecond: number; committed: number; seconds: number } {
  const c = new Cluster(args.payloadBytes);
  for (let p = 0; p < proposers; p++) c.propose(p);
  const loop = (ms: number): { committed: number; seconds: number } => {
    const start = performance.now();
    const startCount = c.committedProposals;
    let ticks = 0;
    while (performance.now() - start < ms) {
      c.round();
      if (++ticks % 256 === 0) c.tick();
    }
    return { committed: c.committedProposals - startCount, seconds: (performance.now() - start) / 1000 };
  };
  loop(args.warmupMs);
  const r = loop(args.durationMs);
  // Sanity: once the proposers stop, followers apply what the leader applied.
  c.stopProposers();
  c.settle();
  const applied = c.nodes.map((n) => n.applied);
  if (new Set(applied).size !== 1)
    throw new Error(`bench: nodes disagree on the applied index: ${applied.join(', ')}`);
  return { perSecond: r.committed / r.seconds, committed: r.committed, seconds: r.seconds };
}

const OPENRAFT = [
  { clients: 1, perSecond: 33_000 },
  { clients: 256, perSecond: 1_800_000 },
];

function reference(proposers: number): { clients: number; perSecond: number } {
  // Compare 1 proposer with openraft's 1 client, any higher concurrency with its 256 clients.
  return proposers <= 1 ? (OPENRAFT[0] as (typeof OPENRAFT)[0]) : (OPENRAFT[1] as (typeof OPENRAFT)[0]);
}

function fmt(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(0);
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  process.stdout.write(
    `@chronik/raft bench: 3 nodes in one process, MemoryStorage, direct message delivery, ${args.payloadBytes}-byte proposals, ${args.durationMs} ms per level\n` +
      `node ${process.version} on ${process.platform}/${process.arch}\n\n`,
  );
  const rows: string[][] = [['proposers', 'commits/s', 'committed', 'openraft (M1 Max, in-memory)', 'ratio']];
  for (const level of args.levels) {
    const r = measure(level, args);
    const ref = reference(level);
    rows.push([
      String(level),
      fmt(r.perSecond),
      String(r.committed),
      `${fmt(ref.perSecond)}/s @ ${ref.clients} client${ref.clients === 1 ? '' : 's'}`,
      `${(r.perSecond / ref.perSecond).toFixed(2)}×`,
    ]);
  }
  const widths = (rows[0] as string[]).map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  for (const [i, row] of rows.entries()) {
    process.stdout.write(
      row
        .map((cell, j) => (j === 0 ? cell.padEnd(widths[j] ?? 0) : cell.padStart(widths[j] ?? 0)))
        .join('  ') + '\n',
    );
    if (i === 0) process.stdout.write(widths.map((w) => '-'.repeat(w)).join('  ') + '\n');
  }
  process.stdout.write(
    '\nopenraft figures: its published in-memory benchmark (33 k/s with 1 client, 1.8 M/s with 256 clients on an M1 Max);\n' +
      'higher concurrency here is compared with its 256-client figure. Different hardware and harness: indicative only.\n',
  );
}

main();
