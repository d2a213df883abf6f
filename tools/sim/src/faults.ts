// The nemesis: faults drawn per step with the run's probabilities (swarm testing: each seed draws
// which faults it uses and how often). A crashed or exited node comes back after a drawn delay; a
// partition heals after one. At most `maxDown` nodes are down (crashed, exited or starting) at once
// by the nemesis' own doing — a minority, so acks=all data must survive every crash.
//
// Faults: crash (power loss: unsynced writes lost, the last one torn), a power failure of every node
// at once (acknowledged data was fsync'd on a majority, so it must survive even that), restart,
// isolate a node, cut one link one way, heal, a disk error on a node's next fsync or write (EIO, or ENOSPC: a full
// disk) — the node must stop (ctx.fatal) rather than acknowledge what is not durable — and damage
// to a crashed node's copy of a partition (its group folder lost, or a bit flipped in its log):
// the replica must be rebuilt from the others (cluster/replica-repair.ts) without losing anything.
// And cluster operations: a reassignment of a partition of the main topic (through the production
// service, as AlterPartitionReassignments asks): one replica dropped (RF 3 → 2, the leader's too),
// one added back, one replaced by the node that has none, the replicas reordered, or the move in
// progress cancelled — moved by the partition mover while the other faults go on.
import path from 'node:path';
import { partitionGroupId } from '@chronik/server';
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
  /**
   * When the nemesis crashes a node: the probability that one of its partition replicas is damaged
   * while it is down (its group folder lost, or a bit flipped in its first log record). Drawn from
   * a stream of its own (see Nemesis.damageRng), so the other faults keep their draws.
   */
  damage?: number;
  /**
   * Per step, the probability of a reassignment request for a partition of the main topic (or of a
   * cancel of the one in progress). Drawn from a stream of its own (Nemesis.reassignRng).
   */
  reassign?: number;
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
  damage: 0,
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
    damage: 0,
    reassign: 0,
    cancel: 0,
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
    /** The damage fault's own draws (added after the others: the others keep theirs). */
    private readonly damageRng: Prng,
    /** A node's Raft data folder (`<dataDir>/raft`). */
    private readonly raftDir: (id: number) => string,
    /** The reassignment fault's own draws (added after the others: the others keep theirs). */
    private readonly reassignRng?: Prng,
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
    if (this.reassignRng !== undefined && this.reassignRng.chance(r.reassign ?? 0))
      this.reassign(this.reassignRng);
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
    if (this.damageRng.chance(this.rates.damage ?? 0)) this.damage(n.id);
    this.restartLater(n.id);
  }

  /**
   * Damages one partition replica on the disk of node `id` (down): its group folder is lost, or a
   * bit of its first log record flips where valid records follow (corruption, not a torn tail).
   */
  private damage(id: number): void {
    const disk = this.cluster.node(id).disk;
    const dir = this.raftDir(id);
    // Only a copy whose partition is whole elsewhere: every other replica online and not under
    // repair (two damaged copies of three leave no majority to repair from, and the partition
    // rightly waits for an operator).
    const others = this.cluster.up().filter((o) => o.id !== id);
    if (others.length !== this.cluster.nodes.size - 1) return;
    const whole = new Set<string>();
    const state = others[0]?.composed?.store.state;
    for (const s of others[0]?.composed?.partitions.statuses() ?? []) {
      const topicId = others[0]?.composed?.services.metadata.topic(s.topic)?.topicId;
      if (topicId === undefined) continue;
      // Only a partition on every node and not moving: a reassignment may be switching the group to
      // fewer replicas, whose majority the damaged copy would then be part of.
      const info = state?.partition(s.topic, s.partition);
      if (
        info === undefined ||
        info.replicas.length !== this.cluster.nodes.size ||
        info.addingReplicas.length > 0 ||
        info.removingReplicas.length > 0
      )
        continue;
      const fine = others.every((o) =>
        (o.composed?.partitions.statuses() ?? []).some(
          (x) =>
            x.topic === s.topic &&
            x.partition === s.partition &&
            x.state === 'online' &&
            x.repair === undefined,
        ),
      );
      if (fine) whole.add(`group-${partitionGroupId(topicId, s.partition)}`);
    }
    void disk.readdir(dir).then(async (names) => {
      const groups = names.filter((n) => whole.has(n)).sort();
      if (groups.length === 0) return;
      const g = this.damageRng.pick(groups);
      const logDir = path.posix.join(dir, g, 'log');
      const segments = (await disk.readdir(logDir).catch(() => [] as string[])).filter((f) =>
        f.endsWith('.log'),
      );
      const first = segments.sort()[0];
      const size = first === undefined ? 0 : disk.readFileNow(path.posix.join(logDir, first)).length;
      this.counts.damage++;
      if (this.damageRng.chance(0.5) && first !== undefined && (segments.length > 1 || size >= 4096)) {
        const file = path.posix.join(logDir, first);
        const bytes = Buffer.from(disk.readFileNow(file));
        bytes[40 + 32 + 1] = (bytes[40 + 32 + 1] as number) ^ 0x01;
        disk.writeFileNow(file, bytes);
        this.queue.note(this.owner.name, `damage n${id} ${g}: bit flip in ${first}`);
      } else {
        await disk.removeTree(path.posix.join(dir, g));
        this.queue.note(this.owner.name, `damage n${id} ${g}: folder lost`);
      }
    });
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

  /**
   * A reassignment of one partition of the main topic, asked on a node that is up (its metadata
   * store forwards it): drop a replica (RF 3 → 2), add the missing one back, replace one with the
   * node that holds none, reorder; or cancel the move in progress. Refusals (a move in progress, no
   * metadata leader) are fine: the request is an operator's, not a client's.
   */
  private reassign(rng: Prng): void {
    const up = this.cluster.up();
    if (up.length === 0) return;
    const n = rng.pick(up);
    const state = n.composed?.store.state;
    const topic = state?.topic(this.topic);
    if (state === undefined || topic === undefined) return;
    const info = rng.pick([...topic.partitions]);
    const all = [...this.cluster.nodes.keys()];
    let replicas: number[] | null;
    let what: string;
    if (info.addingReplicas.length > 0 || info.removingReplicas.length > 0) {
      if (!rng.chance(0.3)) return;
      replicas = null;
      what = 'cancel';
      this.counts.cancel++;
    } else {
      const current = [...info.replicas];
      const missing = all.filter((b) => !current.includes(b));
      const choice = rng.between(0, 9);
      if (choice === 0) {
        replicas = [...current].reverse();
        what = 'reorder';
      } else if (missing.length === 0) {
        const drop = rng.pick(current);
        replicas = current.filter((b) => b !== drop);
        what = `drop n${drop}`;
      } else if (choice < 6) {
        const add = rng.pick(missing);
        replicas = [...current];
        replicas.splice(rng.between(0, replicas.length), 0, add);
        what = `add n${add}`;
      } else {
        const add = rng.pick(missing);
        const out = rng.pick(current);
        replicas = current.map((b) => (b === out ? add : b));
        what = `replace n${out} by n${add}`;
      }
      this.counts.reassign++;
    }
    this.queue.note(
      this.owner.name,
      `reassign ${this.topic}-${info.partition} on n${n.id}: ${what} (${info.replicas.join(',')} -> ${replicas?.join(',') ?? 'back'})`,
    );
    void this.cluster
      .request(n, (c) =>
        c.services.reassignments.alter([{ topic: this.topic, partition: info.partition, replicas }]),
      )
      .then(
        (out) => this.queue.note(this.owner.name, `reassign answered: ${out[0]?.error?.code ?? 'ok'}`),
        (e: unknown) =>
          this.queue.note(this.owner.name, `reassign failed: ${e instanceof Error ? e.message : String(e)}`),
      );
  }

  /** The end of the run: no more faults; everything heals and every node comes back. */
  calm(): void {
    this.owner.alive = false;
    this.partitioned = true;
    this.heal();
    for (const n of this.cluster.nodes.values()) n.disk.clearFaults();
  }
}
