// Hosts joined in memory instead of over gRPC: a transport per node with the same surface as
// @chronik/raft-grpc's GrpcTransport (send, forwardProposal, stats, start, close), so that a whole
// cluster of hosts — and the programs built on them — runs inside one process. Messages are
// delivered asynchronously through `deliver` (setImmediate by default; a simulation passes its own
// scheduler, which is told the link and may delay, drop or repeat a delivery), in the order they were
// sent; a node in `down` neither sends nor receives, nor does a link that `connected` says is cut.
// Faults for tests: `loseForwardAnswers` drops the answer of a forwarded proposal that was proposed
// anyway. A snapshot's outcome is reported to the sending node (`onSnapshotStatus`) as a gRPC call's
// end would: ok once delivered, failed when the delivery is lost — without it the leader's progress
// for that follower would wait in Snapshot state for good (etcd's ReportSnapshot contract).
import { MessageType } from '@chronik/raft';
import type { Message } from '@chronik/raft';
import { HostError } from './errors.js';
import type { HostTransport } from './host.js';

/** What a node's transport delivers into (a RaftHost, usually; GrpcTransport's TransportHandler shape). */
export interface MemoryTransportHandler {
  onMessage(groupId: number, message: Message): void;
  /** As TransportHandler.onSnapshotStatus in raft-grpc: how a snapshot this node sent ended. */
  onSnapshotStatus?(groupId: number, to: number, ok: boolean): void;
  /**
   * As TransportHandler.onPeerUnreachable in raft-grpc: this node's connection to `nodeId` failed (a
   * host's `peerUnreachable`). MemoryNetwork never calls it on its own; a simulation that models
   * connections (a killed process's close at once) does.
   */
  onPeerUnreachable?(nodeId: number): void;
  onPropose?(groupId: number, data: Uint8Array, timeoutMs: number): Promise<{ index: number; term: number }>;
  /** GrpcTransport's Identify: what this node knows of a node whose data directory is new. */
  /** As TransportHandler.onIdentify in raft-grpc: undefined while this node cannot answer yet. */
  onIdentify?(question: {
    nodeId: number;
    directoryId: string;
  }): { clusterId: string; askerRegistered: boolean; metadataApplied: number } | undefined;
  /** As TransportHandler.onJoin in raft-grpc: a node asking to be admitted. */
  onJoin?(question: MemoryJoinQuestion): Promise<MemoryJoinAnswer>;
}

/** GrpcTransport's JoinQuestion (raft-grpc), the same shape. */
export interface MemoryJoinQuestion {
  nodeId: number;
  raftAddress: string;
  clusterId: string;
  directoryId: string;
}

/** GrpcTransport's JoinAnswer (raft-grpc), the same shape. */
export interface MemoryJoinAnswer {
  errorCode: string;
  errorMessage: string;
  clusterId: string;
  members: Array<{ nodeId: number; raftAddress: string }>;
}

export interface MemoryNetworkOptions {
  /**
   * Runs a delivery from node `from` to node `to` later (default: setImmediate). A simulation may
   * run it after a delay, more than once, or not at all — then it runs `lost` later instead, when
   * given (the sender of a snapshot learns that it failed).
   */
  deliver?(fn: () => void, from: number, to: number, lost?: () => void): void;
  /**
   * Whether `from` can reach `to` now (default: always). Checked when a message is sent and again
   * when it is delivered, and for forwarded proposals and Identify calls (a network partition).
   */
  connected?(from: number, to: number): boolean;
}

export class MemoryNetwork {
  /** Nodes cut off: nothing they send is delivered, nothing is delivered to them. */
  readonly down = new Set<number>();
  private readonly handlers = new Map<number, MemoryTransportHandler>();
  /** A node's address (its transport's, when given) → its id: Join is asked by address. */
  private readonly addresses = new Map<string, number>();
  private readonly deliver: (fn: () => void, from: number, to: number, lost?: () => void) => void;
  private readonly connected: (from: number, to: number) => boolean;
  /** Destination node → answers of forwarded proposals still to lose. */
  private readonly lostAnswers = new Map<number, number>();

  constructor(options: MemoryNetworkOptions = {}) {
    this.deliver = options.deliver ?? ((fn) => setImmediate(fn));
    this.connected = options.connected ?? (() => true);
  }

  /**
   * The transport of `nodeId`, delivering into `handler` once started; `address` (optional) is the
   * address other nodes ask Join at.
   */
  transport(nodeId: number, handler: MemoryTransportHandler, address?: string): MemoryTransport {
    if (address !== undefined) this.addresses.set(address, nodeId);
    return new MemoryTransport(this, nodeId, handler);
  }

  /** @internal The node at `address`, or undefined. */
  nodeAt(address: string): number | undefined {
    return this.addresses.get(address);
  }

  /**
   * Loses the answers of the next `count` proposals forwarded to `toNode`: each is proposed there as
   * usual, and once it settled there the sender gets HostError Unreachable — as when a gRPC call's
   * connection drops after the remote node applied the entry. The sender cannot tell whether the
   * entry committed; a retry must be recognized by the state machine.
   */
  loseForwardAnswers(toNode: number, count = 1): void {
    if (!Number.isSafeInteger(count) || count < 0)
      throw new HostError('InvalidArgument', `count must be a non-negative integer, got ${count}`);
    if (count === 0) this.lostAnswers.delete(toNode);
    else this.lostAnswers.set(toNode, count);
  }

  /** @internal Whether the answer of a proposal forwarded to `toNode` now is to be lost (counts it). */
  takeLostAnswer(toNode: number): boolean {
    const n = this.lostAnswers.get(toNode);
    if (n === undefined) return false;
    if (n <= 1) this.lostAnswers.delete(toNode);
    else this.lostAnswers.set(toNode, n - 1);
    return true;
  }

  /** @internal */
  attach(nodeId: number, handler: MemoryTransportHandler): void {
    if (this.handlers.has(nodeId))
      throw new HostError('InvalidArgument', `node ${nodeId} is already on the network`);
    this.handlers.set(nodeId, handler);
  }

  /** @internal */
  detach(nodeId: number, handler: MemoryTransportHandler): void {
    if (this.handlers.get(nodeId) === handler) this.handlers.delete(nodeId);
  }

  /** @internal Schedules a delivery from `from` to `to`; false when either is down or `to` is absent. */
  post(from: number, to: number, fn: (h: MemoryTransportHandler) => void, lost?: () => void): boolean {
    if (!this.reachable(from, to) || !this.handlers.has(to)) return false;
    this.deliver(
      () => {
        const h = this.handlers.get(to);
        if (h !== undefined && this.reachable(from, to)) fn(h);
        else lost?.();
      },
      from,
      to,
      lost,
    );
    return true;
  }

  /** @internal Neither node is down and the link between them is not cut. */
  reachable(from: number, to: number): boolean {
    return !this.down.has(from) && !this.down.has(to) && this.connected(from, to);
  }

  /** @internal The handler of `nodeId` as `from` reaches it now, or undefined. */
  handler(nodeId: number, from?: number): MemoryTransportHandler | undefined {
    if (this.down.has(nodeId) || (from !== undefined && !this.reachable(from, nodeId))) return undefined;
    return this.handlers.get(nodeId);
  }
}

export class MemoryTransport implements HostTransport {
  private readonly acked = new Map<number, number>();
  private started = false;

  constructor(
    private readonly net: MemoryNetwork,
    readonly nodeId: number,
    private readonly handler: MemoryTransportHandler,
  ) {}

  /** Joins the network; resolves with 0 (there is no port). */
  start(): Promise<number> {
    try {
      this.net.attach(this.nodeId, this.handler);
    } catch (e) {
      return Promise.reject(e);
    }
    this.started = true;
    return Promise.resolve(0);
  }

  send(groupId: number, message: Message): boolean {
    if (!this.started) return false;
    const to = message.to;
    if (message.type !== MessageType.MsgSnap)
      return this.net.post(this.nodeId, to, (h) => {
        this.acked.set(to, (this.acked.get(to) ?? 0) + 1);
        h.onMessage(groupId, message);
      });
    // One outcome per snapshot, as a gRPC call's end (a repeated delivery reports nothing more).
    let reported = false;
    const report = (ok: boolean): void => {
      if (reported) return;
      reported = true;
      this.handler.onSnapshotStatus?.(groupId, to, ok);
    };
    return this.net.post(
      this.nodeId,
      to,
      (h) => {
        this.acked.set(to, (this.acked.get(to) ?? 0) + 1);
        h.onMessage(groupId, message);
        report(true);
      },
      () => report(false),
    );
  }

  forwardProposal(
    toNode: number,
    groupId: number,
    data: Uint8Array,
    timeoutMs: number,
  ): Promise<{ index: number; term: number }> {
    const h = this.started ? this.net.handler(toNode, this.nodeId) : undefined;
    if (h?.onPropose === undefined)
      return Promise.reject(new HostError('Unreachable', `node ${toNode} is not reachable in memory`));
    const answer = h.onPropose(groupId, data, timeoutMs);
    if (!this.net.takeLostAnswer(toNode)) return answer;
    const lost = (): Promise<never> =>
      Promise.reject(
        new HostError('Unreachable', `the answer of a proposal forwarded to node ${toNode} was lost`),
      );
    return answer.then(lost, lost);
  }

  /** GrpcTransport.identify: what `toNode` knows of this node; HostError Unreachable when it is down. */
  identify(
    toNode: number,
    question: { nodeId: number; directoryId: string },
    _timeoutMs: number,
  ): Promise<{ clusterId: string; askerRegistered: boolean; metadataApplied: number }> {
    const h = this.started ? this.net.handler(toNode, this.nodeId) : undefined;
    if (h === undefined)
      return Promise.reject(new HostError('Unreachable', `node ${toNode} is not reachable in memory`));
    if (h.onIdentify === undefined)
      return Promise.resolve({ clusterId: '', askerRegistered: false, metadataApplied: 0 });
    const answer = h.onIdentify(question);
    if (answer === undefined)
      return Promise.reject(new HostError('Unreachable', `node ${toNode} cannot answer yet`));
    return Promise.resolve(answer);
  }

  /** GrpcTransport.join: asks the node at `address` to admit this node; HostError Unreachable when it cannot be reached. */
  join(address: string, question: MemoryJoinQuestion, _timeoutMs: number): Promise<MemoryJoinAnswer> {
    const to = this.net.nodeAt(address);
    const h = this.started && to !== undefined ? this.net.handler(to, this.nodeId) : undefined;
    if (h === undefined)
      return Promise.reject(new HostError('Unreachable', `no node at ${address} is reachable in memory`));
    if (h.onJoin === undefined)
      return Promise.resolve({
        errorCode: 'INVALID_REQUEST',
        errorMessage: `node ${to} does not admit nodes`,
        clusterId: '',
        members: [],
      });
    return h.onJoin(question);
  }

  /** Per peer, the messages it received from this node (monotonic, as GrpcTransport's totalAckedBatches). */
  stats(): Array<{ nodeId: number; totalAckedBatches: number }> {
    return [...this.acked].map(([nodeId, totalAckedBatches]) => ({ nodeId, totalAckedBatches }));
  }

  close(): Promise<void> {
    this.started = false;
    this.net.detach(this.nodeId, this.handler);
    return Promise.resolve();
  }
}
