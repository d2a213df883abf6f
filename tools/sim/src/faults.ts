// The nemesis: faults drawn per step with the run's probabilities (swarm testing: each seed draws
// which faults it uses and how often). A crashed or exited node comes back after a drawn delay; a
// partition heals after one. At most `maxDown` nodes are down (crashed, exited or starting) at once
// by the nemesis' own doing — a minority, so acks=all data must survive every crash.
//
// Faults: crash (power loss: unsynced writes lost, the last one torn), a power failure of every node
// at once (acknowledged data was fsync'd on a majority, so it must survive even that), restart,
// isolate a node, cut one link one way, heal, a disk error on a node's next fsync or write (EIO, or ENOSPC: a full
// disk) — the node must stop (ctx.fatal) rather than acknowledge what is not durable.
import type { SimCluster } from './cluster.js';
import type { EventQueue } from './event-queue.js';
import { Owner } from './event-queue.js';
import type { SimNetwork } from './network.js';
import type { Prng } from './prng.js';

export interface FaultRates {
  /** Per step, the probability of each fault. */
  crash: number;
  /** Every node loses power at once. */
  crashAll: number;
  isolate: number;
  cutOneWay: number;
  /**
   * A partition leader hands its leadership to another replica (as the replication supervisor does
   * for preferred leaders), sometimes without the supervisor's quiet window: Raft then refuses the
   * proposals that arrive during the transfer, after the leader assigned their offsets.
   */
  transfer: number;
  diskError: number;
  /** How long a crashed node stays down, and a partition lasts (ms, inclusive range). */
  downMs: [number, number];
  partitionMs: [number, number];
  maxDown: number;
}

/** What the nemesis needs of a replicated partition to move its leadership. */
interface Transferable {
  topic: string;
  partition: number;
  replicas: readonly number[];
  transferLeadership?(to: number, windowMs: number): void;
}

export const NO_FAULTS: FaultRates = {
  crash: 0,
  crashAll: 0,
  isolate: 0,
  cutOneWay: 0,
  transfer: 0,
  diskError: 0,
  downMs: [1000, 1000],
  partitionMs: [1000, 1000],
  maxDown: 0,
};

export class Nemesis {
  readonly owner = new Owner('nemesis');
  counts = {
    crash: 0,
    crashAll: 0,
    restart: 0,
    isolate: 0,
    cutOneWay: 0,
    heal: 0,
    diskError: 0,
    transfer: 0,
  };
  private partitioned = false;

  constructor(
    private readonly queue: EventQueue,
    private readonly cluster: SimCluster,
    private readonly net: SimNetwork,
    private readonly rng: Prng,
    readonly rates: FaultRates,
    private readonly topic: string,
    /** The supervisor's quiet window around a transfer (raft-cluster.ts: transferWindowMs). */
    private readonly transferWindowMs: number,
  ) {}

  private down(): number {
    return [...this.cluster.nodes.values()].filter((n) => n.state !== 'up').length;
  }

  /** Draws this step's faults. */
  step(): void {
    const r = this.rates;
    if (this.rng.chance(r.crash) && this.down() < r.maxDown) this.crash();
    if (this.rng.chance(r.crashAll)) this.crashAll();
    if (!this.partitioned && this.rng.chance(r.isolate)) this.isolate();
    if (!this.partitioned && this.rng.chance(r.cutOneWay)) this.cutOneWay();
    if (this.rng.chance(r.diskError) && this.down() < r.maxDown) this.diskError();
    if (this.rng.chance(r.transfer)) this.transfer();
    // A node that stopped by itself (ctx.fatal) is restarted as an operator or supervisor would.
    for (const n of this.cluster.nodes.values())
      if (n.state === 'down' && !this.restarting.has(n.id)) this.restartLater(n.id);
  }

  private readonly restarting = new Set<number>();

  private restartLater(id: number): void {
    this.restarting.add(id);
    const delay = this.rng.between(this.rates.downMs[0], this.rates.downMs[1]);
    this.queue.schedule(this.owner, delay, `restart n${id}`, () => {
      this.restarting.delete(id);
      this.counts.restart++;
      void this.cluster.start(id);
    });
  }

  private crash(): void {
    const up = this.cluster.up();
    if (up.length === 0) return;
    const n = this.rng.pick(up);
    this.counts.crash++;
    this.cluster.crash(n.id);
    this.restartLater(n.id);
  }

  private crashAll(): void {
    this.counts.crashAll++;
    this.queue.note(this.owner.name, 'power failure of every node');
    for (const n of this.cluster.nodes.values()) {
      if (n.state === 'down') continue;
      this.cluster.crash(n.id);
      if (!this.restarting.has(n.id)) this.restartLater(n.id);
    }
  }

  private isolate(): void {
    const ids = [...this.cluster.nodes.keys()];
    const victim = this.rng.pick(ids);
    this.counts.isolate++;
    this.queue.note(this.owner.name, `isolate n${victim}`);
    this.net.partition([[victim], ids.filter((i) => i !== victim)]);
    this.healLater();
  }

  private cutOneWay(): void {
    const ids = [...this.cluster.nodes.keys()];
    const from = this.rng.pick(ids);
    const to = this.rng.pick(ids.filter((i) => i !== from));
    this.counts.cutOneWay++;
    this.queue.note(this.owner.name, `cut n${from}>n${to}`);
    this.net.cutOneWay(from, to);
    this.healLater();
  }

  private healLater(): void {
    this.partitioned = true;
    const delay = this.rng.between(this.rates.partitionMs[0], this.rates.partitionMs[1]);
    this.queue.schedule(this.owner, delay, 'heal', () => this.heal());
  }

  heal(): void {
    if (!this.partitioned) return;
    this.partitioned = false;
    this.counts.heal++;
    this.net.heal();
  }

  private diskError(): void {
    const up = this.cluster.up();
    if (up.length === 0) return;
    const n = this.rng.pick(up);
    const op = this.rng.chance(0.5) ? 'datasync' : 'write';
    const code = this.rng.chance(0.5) ? 'EIO' : 'ENOSPC';
    const nth = this.rng.between(1, 20);
    this.counts.diskError++;
    this.queue.note(this.owner.name, `disk n${n.id} ${op} #${nth} ${code}`);
    n.disk.failNext(op, nth, code);
  }

  private transfer(): void {
    const leaders: Array<{ node: number; p: Transferable }> = [];
    for (const n of this.cluster.up())
      for (const p of n.composed?.partitions.replicas() ?? [])
        if (p.isLeader() && p.topic === this.topic)
          leaders.push({ node: n.id, p: p as unknown as Transferable });
    if (leaders.length === 0) return;
    const { node, p } = this.rng.pick(leaders);
    const others = p.replicas.filter((r) => r !== node);
    if (others.length === 0 || typeof p.transferLeadership !== 'function') return;
    const to = this.rng.pick(others);
    const windowMs = this.rng.pick([0, this.transferWindowMs]);
    this.counts.transfer++;
    this.queue.note(
      this.owner.name,
      `transfer ${p.topic}-${p.partition} n${node}>n${to} window ${windowMs}ms`,
    );
    try {
      p.transferLeadership(to, windowMs);
    } catch (e) {
      // The replica's Raft group no longer leads (its view lagged): nothing to transfer.
      this.queue.note(this.owner.name, `transfer refused: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** The end of the run: no more faults; everything heals and every node comes back. */
  calm(): void {
    this.owner.alive = false;
    this.partitioned = true;
    this.heal();
    for (const n of this.cluster.nodes.values()) n.disk.clearFaults();
  }
}
