// The simulated network: @chronik/raft-host's MemoryNetwork with its deliveries on the simulator's
// queue. Each Raft message is dropped, delayed, repeated or reordered as the run's faults say; a
// partition cuts links (MemoryNetwork's `connected` filter, checked at send and at delivery).
// Forwarded proposals (the gRPC ForwardProposal RPC between processes) travel the same links: the
// request and its answer each take a delivery delay, and a cut link loses them (Unreachable — the
// sender cannot tell whether the proposal committed).
import { HostError, MemoryNetwork } from '@chronik/raft-host';
import type { MemoryTransport, MemoryTransportHandler } from '@chronik/raft-host';
import type { ClusterTransport } from '@chronik/server';
import { Owner } from './event-queue.js';
import type { EventQueue } from './event-queue.js';
import type { Prng } from './prng.js';

/** How the network misbehaves in a run (drawn per seed: swarm testing). */
export interface NetworkFaults {
  /** Probability that a message is lost. */
  dropProbability: number;
  /** Probability that a message is delivered twice. */
  duplicateProbability: number;
  /** Probability that a message ignores its link's order (overtakes or is overtaken). */
  reorderProbability: number;
  minDelayMs: number;
  maxDelayMs: number;
}

export const CALM_NETWORK: NetworkFaults = {
  dropProbability: 0,
  duplicateProbability: 0,
  reorderProbability: 0,
  minDelayMs: 1,
  maxDelayMs: 2,
};

export class SimNetwork {
  readonly memory: MemoryNetwork;
  readonly owner = new Owner('net');
  /** Links cut in one direction, as "from>to". */
  private readonly cut = new Set<string>();
  /** Per link, when its last in-order delivery is due (deliveries keep their link's order). */
  private readonly lastDue = new Map<string, number>();
  /** Faults in force (the final phase calms the network). */
  faults: NetworkFaults;
  delivered = 0;
  dropped = 0;
  duplicated = 0;

  constructor(
    private readonly queue: EventQueue,
    private readonly rng: Prng,
    faults: NetworkFaults,
  ) {
    this.faults = faults;
    this.memory = new MemoryNetwork({
      deliver: (fn, from, to, lost) => this.deliver(fn, from, to, lost),
      connected: (from, to) => this.connected(from, to),
    });
  }

  connected(from: number, to: number): boolean {
    return !this.cut.has(`${from}>${to}`);
  }

  /** Cuts every link between nodes of different sides (each side a list of node ids). */
  partition(sides: ReadonlyArray<readonly number[]>): void {
    for (const a of sides)
      for (const b of sides) {
        if (a === b) continue;
        for (const x of a) for (const y of b) this.cut.add(`${x}>${y}`);
      }
  }

  /** Cuts one direction only: `from` can no longer reach `to` (an asymmetric fault). */
  cutOneWay(from: number, to: number): void {
    this.cut.add(`${from}>${to}`);
  }

  heal(): void {
    this.cut.clear();
  }

  /** Cut links, "from>to", sorted (for the trace). */
  cutLinks(): string[] {
    return [...this.cut].sort();
  }

  /** A delay for one delivery from `from` to `to`, keeping the link's order unless it reorders. */
  private due(from: number, to: number): number {
    const f = this.faults;
    const delay = this.rng.between(f.minDelayMs, f.maxDelayMs);
    if (this.rng.chance(f.reorderProbability)) return delay;
    const link = `${from}>${to}`;
    const at = Math.max(this.queue.now() + delay, this.lastDue.get(link) ?? 0);
    this.lastDue.set(link, at);
    return at - this.queue.now();
  }

  private deliver(fn: () => void, from: number, to: number, lost?: () => void): void {
    if (this.rng.chance(this.faults.dropProbability)) {
      this.dropped++;
      // The sender learns of it when it would have arrived (a snapshot's gRPC call failing).
      if (lost !== undefined)
        this.queue.schedule(this.owner, this.due(from, to), `msg ${from}>${to} lost`, lost);
      return;
    }
    const label = `msg ${from}>${to}`;
    const run = (): void => {
      this.delivered++;
      fn();
    };
    this.queue.schedule(this.owner, this.due(from, to), label, run);
    if (this.rng.chance(this.faults.duplicateProbability)) {
      this.duplicated++;
      this.queue.schedule(this.owner, this.due(from, to), `${label} again`, run);
    }
  }

  /**
   * A node's transport: MemoryNetwork's, with forwarded proposals carried over the simulated links
   * and given up at their deadline (on the sender's clock) or when the node they went to dies.
   */
  transport(nodeId: number, handler: MemoryTransportHandler, sender: Owner): SimTransport {
    return new SimTransport(this, this.memory.transport(nodeId, handler), nodeId, sender, handler);
  }

  /** @internal Runs `fn` after a link delay if `from` reaches `to` then; else `lost`. */
  hop(from: number, to: number, label: string, fn: () => void, lost: () => void): void {
    if (!this.connected(from, to) || this.rng.chance(this.faults.dropProbability)) {
      this.queue.schedule(this.owner, this.due(from, to), `${label} lost`, lost);
      return;
    }
    this.queue.schedule(this.owner, this.due(from, to), label, () =>
      this.connected(from, to) && !this.memory.down.has(from) && !this.memory.down.has(to) ? fn() : lost(),
    );
  }

  /** @internal */
  get eventQueue(): EventQueue {
    return this.queue;
  }
}

interface PendingForward {
  to: number;
  fail(e: Error): void;
}

export class SimTransport implements ClusterTransport {
  private readonly forwards = new Set<PendingForward>();

  constructor(
    private readonly net: SimNetwork,
    private readonly inner: MemoryTransport,
    readonly nodeId: number,
    private readonly owner: Owner,
    private readonly handler: MemoryTransportHandler,
  ) {}

  start(): Promise<number> {
    return this.inner.start();
  }

  send(groupId: number, message: Parameters<MemoryTransport['send']>[1]): boolean {
    return this.inner.send(groupId, message);
  }

  identify(
    toNode: number,
    question: { nodeId: number; directoryId: string },
    timeoutMs: number,
  ): Promise<{ clusterId: string; askerRegistered: boolean; metadataApplied: number }> {
    if (!this.net.connected(this.nodeId, toNode) || !this.net.connected(toNode, this.nodeId))
      return Promise.reject(new HostError('Unreachable', `node ${toNode} is cut off from ${this.nodeId}`));
    return this.inner.identify(toNode, question, timeoutMs);
  }

  forwardProposal(
    toNode: number,
    groupId: number,
    data: Uint8Array,
    timeoutMs: number,
  ): Promise<{ index: number; term: number }> {
    const queue = this.net.eventQueue;
    return new Promise((resolve, reject) => {
      let settled = false;
      const pending: PendingForward = {
        to: toNode,
        fail: (e) => finish(() => reject(e)),
      };
      const deadline = queue.schedule(
        this.owner,
        timeoutMs,
        `forward ${this.nodeId}>${toNode} deadline`,
        () => pending.fail(new HostError('Unreachable', `forward to node ${toNode} timed out`)),
      );
      const finish = (f: () => void): void => {
        if (settled) return;
        settled = true;
        deadline.cancel();
        this.forwards.delete(pending);
        f();
      };
      this.forwards.add(pending);
      const unreachable = (): void =>
        pending.fail(new HostError('Unreachable', `forward to node ${toNode}: the link was lost`));
      this.net.hop(
        this.nodeId,
        toNode,
        `forward ${this.nodeId}>${toNode}`,
        () => {
          // The remote handler may throw at once (a group not open yet there): an error answer.
          let answer: Promise<{ index: number; term: number }>;
          try {
            answer = this.inner.forwardProposal(toNode, groupId, data, timeoutMs);
          } catch (e) {
            answer = Promise.reject(e);
          }
          answer.then(
            (at) =>
              this.net.hop(
                toNode,
                this.nodeId,
                `forward-answer ${toNode}>${this.nodeId}`,
                () => finish(() => resolve(at)),
                unreachable,
              ),
            (e: unknown) =>
              this.net.hop(
                toNode,
                this.nodeId,
                `forward-error ${toNode}>${this.nodeId}`,
                () => finish(() => reject(e)),
                unreachable,
              ),
          );
        },
        unreachable,
      );
    });
  }

  /**
   * Node `nodeId` died: the calls waiting on it fail as a dropped gRPC connection does, and a moment
   * later this node's transport reports the peer unreachable (its stream to the dead process closed:
   * GrpcTransport's onPeerUnreachable), on which the host forgets it as a leader.
   */
  peerDied(nodeId: number): void {
    for (const f of [...this.forwards])
      if (f.to === nodeId) f.fail(new HostError('Unreachable', `node ${nodeId} died`));
    this.net.eventQueue.schedule(this.owner, 1, `stream ${this.nodeId}>${nodeId} closed`, () =>
      this.handler.onPeerUnreachable?.(nodeId),
    );
  }

  stats(): Array<{ nodeId: number; totalAckedBatches: number }> {
    return this.inner.stats();
  }

  close(): Promise<void> {
    for (const f of [...this.forwards]) f.fail(new HostError('Closed', 'transport closed'));
    return this.inner.close();
  }
}
