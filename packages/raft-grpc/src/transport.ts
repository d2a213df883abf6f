// GrpcTransport: carries the messages of every Raft group between chronik-server nodes.
//
// Behaviour:
// - one long-lived bidirectional gRPC stream per destination node, opened lazily on the first send
//   and reopened with exponential backoff after a failure; every message is tagged with its group id;
// - sends are queued per peer and flushed once per event-loop turn as one Batch, so all heartbeats a
//   host produces in one tick travel together in the batch's compact `heartbeats` list;
// - queues are bounded in messages and bytes: when a peer is slow or dead, new messages are dropped
//   (Raft retransmits) and memory stays bounded; in-flight batches are bounded by the peer's acks;
// - snapshots travel on their own client stream in CRC-checked chunks of bounded size, one at a time
//   per (peer, group); the outcome is reported through onSnapshotStatus;
// - received garbage (undecodable frames, unknown types, batches for another node) ends that stream
//   only; nothing a peer sends can stop the process or block other peers;
// - with `tls`, every call runs over mutually authenticated TLS: a peer (either direction) must
//   present a certificate that chains to the cluster CA, and with `nodeIdOf` its certificate must
//   name the node it is (TransportTls).
import { crc32c } from '@node-rs/crc32';
import {
  Metadata,
  Server,
  ServerCredentials,
  credentials,
  makeGenericClientConstructor,
  status,
} from '@grpc/grpc-js';
import { isIP } from 'node:net';
import { checkServerIdentity } from 'node:tls';
import type { PeerCertificate } from 'node:tls';
import type {
  CallOptions,
  ChannelCredentials,
  ClientDuplexStream,
  ClientOptions,
  ServerDuplexStream,
  ServerReadableStream,
  UntypedServiceImplementation,
  handleBidiStreamingCall,
  sendUnaryData,
} from '@grpc/grpc-js';
import type { Timers } from '@chronik/env';
import { MessageType, silentLogger } from '@chronik/raft';
import type { Logger, Message } from '@chronik/raft';
import { decodeBatch, encodeBatch } from './batch-codec.js';
import type { BatchItem, IncomingBatch, OutgoingBatch } from './batch-codec.js';
import { messageFromWire, messageToWire } from './codec.js';
import { TransportError } from './errors.js';
import { RaftTransportClient, RaftTransportService } from './generated/raft.js';
import type { BatchAck, RaftTransportServer, SnapshotChunk, SnapshotResult } from './generated/raft.js';

/**
 * The RaftTransport service with the Stream method's Batch encoded and decoded by batch-codec.ts
 * (the same protobuf bytes as the generated codec, without its copies); the other methods use the
 * generated codec.
 */
const FastTransportService = {
  ...RaftTransportService,
  stream: {
    ...RaftTransportService.stream,
    requestSerialize: (value: OutgoingBatch): Buffer => encodeBatch(value),
    requestDeserialize: (value: Buffer): IncomingBatch => decodeBatch(value),
  },
} as const;

/** The generated client, with `stream()` taking OutgoingBatch. */
type FastTransportClient = Omit<RaftTransportClient, 'stream'> & {
  stream(metadata?: Metadata, options?: Partial<CallOptions>): ClientDuplexStream<OutgoingBatch, BatchAck>;
};
const FastTransportClient = makeGenericClientConstructor(
  FastTransportService,
  'chronik.raft.v1.RaftTransport',
) as unknown as new (
  address: string,
  credentials: ChannelCredentials,
  options?: Partial<ClientOptions>,
) => FastTransportClient;

interface FastTransportServer {
  stream: handleBidiStreamingCall<IncomingBatch, BatchAck>;
  installSnapshot: RaftTransportServer['installSnapshot'];
  propose: RaftTransportServer['propose'];
  identify: RaftTransportServer['identify'];
  join: RaftTransportServer['join'];
}

/** Who asks (Identify): a node whose data directory is new. */
export interface IdentityQuestion {
  nodeId: number;
  directoryId: string;
}

/** What a node knows of the asker (Identify). */
export interface IdentityAnswer {
  /** The cluster id the answering node has applied; '' while it knows none. */
  clusterId: string;
  /** The answering node's metadata holds a registration of the asker's node id. */
  askerRegistered: boolean;
  /** The metadata log index the answering node has applied (0: none yet). */
  metadataApplied: number;
}

/** A node asking to be admitted (Join): started with --join and a member's address. */
export interface JoinQuestion {
  nodeId: number;
  raftAddress: string;
  /** The cluster id the joining node knows; '' for a new node. */
  clusterId: string;
  directoryId: string;
}

/** The answer to a Join: admitted (errorCode '') or refused, and whom the new node can reach. */
export interface JoinAnswer {
  /** '' when admitted; else a Kafka error name. */
  errorCode: string;
  errorMessage: string;
  clusterId: string;
  members: Array<{ nodeId: number; raftAddress: string }>;
}

export interface TransportHandler {
  /** A message for one of this node's groups, in the order the peer sent it. Must not throw. */
  onMessage(groupId: number, message: Message): void;
  /** The stream to a peer failed; the host reports the peer unreachable to the groups that use it. */
  onPeerUnreachable?(nodeId: number): void;
  /** The outcome of a snapshot this node sent (the host calls RawNode.reportSnapshot). */
  onSnapshotStatus?(groupId: number, to: number, ok: boolean): void;
  /**
   * What this node knows of a node asking before it takes part in Raft (its data directory is new).
   * Without a handler the answer is "nothing" (no cluster id, not registered, nothing applied);
   * undefined means this node cannot answer yet (the asker gets Unreachable and asks again).
   */
  onIdentify?(question: IdentityQuestion): IdentityAnswer | undefined;
  /** A node asking to join the cluster. Without a handler it is refused (INVALID_REQUEST). */
  onJoin?(question: JoinQuestion): Promise<JoinAnswer>;
  /**
   * A proposal forwarded by another node. Resolves with where the entry was applied on this node;
   * rejects with an error carrying `code` (and `leaderId` for NotLeader), which the caller receives.
   */
  onPropose?(groupId: number, data: Uint8Array, timeoutMs: number): Promise<{ index: number; term: number }>;
}

/** A forwarded proposal that failed on the remote node: `code` is the remote error's code. */
export class ForwardedProposalError extends Error {
  override readonly name = 'ForwardedProposalError';
  constructor(
    readonly code: string,
    message: string,
    /**
     * For NotLeader, the leader the remote node knows of, a hint; -1 when unknown. The wire's
     * `leader_id` says "unknown" with 0, as nodes always have, so a leader that is node 0 arrives
     * as unknown (docs/design/node-ids.md): the forwarder retries after a tick, as for no leader.
     */
    readonly leaderId: number,
  ) {
    super(message);
  }
}

export interface TransportLimits {
  /** Messages queued for one peer before new ones are dropped. */
  maxQueuedMessages: number;
  /** Bytes (entry payloads plus a fixed overhead per message) queued for one peer before new ones are dropped. */
  maxQueuedBytes: number;
  /** Upper bound of one Batch's payload bytes (a single larger message still goes alone). */
  maxBatchBytes: number;
  /** Batches written to one peer and not yet acknowledged. */
  maxInflightBatches: number;
  /** Size of one snapshot chunk. */
  snapshotChunkBytes: number;
  /** Largest snapshot this node accepts. */
  maxSnapshotBytes: number;
  /** Snapshot transfers in flight to one peer. */
  maxInflightSnapshotsPerPeer: number;
  reconnectBackoffMinMs: number;
  reconnectBackoffMaxMs: number;
  /** Forwarded proposals waiting for their answer. */
  maxForwardsInFlight: number;
  /** HTTP/2 receive window (connection and stream) of incoming Raft streams. */
  receiveWindowBytes: number;
  /**
   * A stream with batches unacknowledged (or writes not draining) and no progress for this long is
   * reset and reopened: a connection that stalls without failing (a half-open link, a peer that
   * stopped reading) must not silence a peer for good. Checked whenever a message is sent to it.
   */
  stallTimeoutMs: number;
}

export const defaultTransportLimits: TransportLimits = {
  maxQueuedMessages: 8192,
  maxQueuedBytes: 64 * 1024 * 1024,
  maxBatchBytes: 4 * 1024 * 1024,
  maxInflightBatches: 64,
  snapshotChunkBytes: 1024 * 1024,
  maxSnapshotBytes: 1024 * 1024 * 1024,
  maxInflightSnapshotsPerPeer: 2,
  reconnectBackoffMinMs: 50,
  reconnectBackoffMaxMs: 2000,
  maxForwardsInFlight: 10_000,
  receiveWindowBytes: 16 * 1024 * 1024,
  stallTimeoutMs: 5000,
};

/** What widenReceiveWindow needs of a Node Http2Session. */
interface Http2SessionLike {
  setLocalWindowSize(bytes: number): void;
  settings(s: { initialWindowSize: number }): void;
}

/**
 * Mutual TLS between nodes (PEM bytes). Both directions present `cert` and accept only a peer whose
 * certificate chains to `ca`: a process without such a certificate cannot open a stream, install a
 * snapshot, forward a proposal or ask Identify.
 */
export interface TransportTls {
  /** This node's certificate (chain): its server certificate and its client certificate. */
  readonly cert: Buffer;
  readonly key: Buffer;
  /** The cluster CA(s) a peer's certificate must chain to. */
  readonly ca: Buffer;
  /**
   * The node id a certificate names, or undefined when it names none. Given, identities are
   * checked: a server's certificate must name the node dialled (instead of a host-name check), a
   * client's the node it speaks for (the sender of a batch or snapshot and of the messages in it,
   * the asker of Identify), and a forwarded proposal needs a certificate that names a node; anything
   * else is refused. Absent: any certificate of the CA is a node, and servers are checked by the
   * host name dialled.
   */
  readonly nodeIdOf?: (cert: PeerCertificate) => number | undefined;
}

/** What a server call tells of its client's TLS (grpc-js's AuthContext). */
interface AuthContext {
  sslPeerCertificate?: PeerCertificate;
}

/** Who a call's client is: no identity check (undefined), a node id, or why it is refused. */
type Caller = { nodeId: number | undefined } | { refused: string };

export interface GrpcTransportOptions {
  nodeId: number;
  /** host:port to listen on, e.g. "0.0.0.0:9192"; port 0 picks a free port. */
  listenAddress: string;
  /** The address of a peer (host:port), or undefined when unknown. Asked on every (re)connect. */
  peerAddress(nodeId: number): string | undefined;
  handler: TransportHandler;
  logger?: Logger;
  limits?: Partial<TransportLimits>;
  /** Reconnect backoff and shutdown deadlines (`@chronik/env`'s `Timers`). Default: Node's. */
  timers?: Timers;
  /** Wall clock for reconnect backoff; injectable for tests. */
  nowMs?: () => number;
  /** Mutual TLS with the other nodes (default: plaintext). */
  tls?: TransportTls;
}

export interface PeerStats {
  nodeId: number;
  connected: boolean;
  queuedMessages: number;
  queuedBytes: number;
  /** Batches sent and acknowledged on the current stream (both restart at 0 with a new stream). */
  sentBatches: number;
  ackedBatches: number;
  /** Batches acknowledged by this peer over every stream so far: only grows (liveness checks). */
  totalAckedBatches: number;
  droppedMessages: number;
  /** Streams reset because they stopped making progress (stallTimeoutMs). */
  stalls: number;
}

/** The host of "host:port" or "[v6]:port". */
function hostOf(address: string): string {
  const colon = address.lastIndexOf(':');
  const host = colon > 0 ? address.slice(0, colon) : address;
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

const MESSAGE_OVERHEAD_BYTES = 64;
const GRPC_MAX_MESSAGE_BYTES = 128 * 1024 * 1024;

interface Queued extends BatchItem {
  bytes: number;
}

function messageBytes(m: Message): number {
  let n = MESSAGE_OVERHEAD_BYTES + m.context.length;
  for (const e of m.entries) n += e.data.length + 24;
  return n;
}

class Peer {
  queue: Queued[] = [];
  queueHead = 0;
  queuedBytes = 0;
  client: FastTransportClient | null = null;
  call: ClientDuplexStream<OutgoingBatch, BatchAck> | null = null;
  writable = true;
  sentBatches = 0;
  ackedBatches = 0;
  totalAckedBatches = 0;
  /** When the stream last made progress: opened, an ack, a drain, or a batch sent with none outstanding. */
  progressAtMs = 0;
  stalls = 0;
  droppedMessages = 0;
  flushScheduled = false;
  failures = 0;
  retryAtMs = 0;
  retryTimer: unknown = null;
  snapshotsInFlight = new Set<number>();

  constructor(readonly nodeId: number) {}

  get queuedMessages(): number {
    return this.queue.length - this.queueHead;
  }
}

export class GrpcTransport {
  private readonly nodeId: number;
  private readonly limits: TransportLimits;
  private readonly logger: Logger;
  private readonly timers: Timers;
  private readonly handler: TransportHandler;
  private readonly nowMs: () => number;
  private readonly server = new Server({
    'grpc.max_receive_message_length': GRPC_MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': GRPC_MAX_MESSAGE_BYTES,
  });
  private readonly peers = new Map<number, Peer>();
  private readonly inbound = new Set<ServerDuplexStream<IncomingBatch, BatchAck>>();
  private inboundBatches = 0;
  private inboundAcks = 0;
  private readonly forwardClients = new Map<number, { address: string; client: RaftTransportClient }>();
  private forwardsInFlight = 0;
  private readonly widened = new WeakSet<object>();
  /** Client credentials per peer and address (TLS: the server identity checked is the peer's). */
  private readonly channelCredentials = new Map<string, ChannelCredentials>();
  private closed = false;
  private boundPort = 0;

  constructor(private readonly opts: GrpcTransportOptions) {
    this.nodeId = opts.nodeId;
    this.limits = { ...defaultTransportLimits, ...opts.limits };
    this.logger = opts.logger ?? silentLogger;
    this.handler = opts.handler;
    this.nowMs = opts.nowMs ?? Date.now;
    this.timers = opts.timers ?? {
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
    };
    const impl: FastTransportServer = {
      stream: (call) => this.serveStream(call),
      installSnapshot: (call, callback) => this.serveSnapshot(call, callback),
      identify: (call, callback) => {
        const q = { nodeId: call.request.nodeId, directoryId: call.request.directoryId };
        const refusal = this.refusal(this.callerOf(call), q.nodeId);
        if (refusal !== undefined) {
          callback({ code: status.PERMISSION_DENIED, details: refusal });
          return;
        }
        const onIdentify = this.handler.onIdentify;
        const a =
          onIdentify === undefined
            ? { clusterId: '', askerRegistered: false, metadataApplied: 0 }
            : onIdentify(q);
        if (a === undefined) {
          callback({ code: status.UNAVAILABLE, details: `node ${this.nodeId} cannot answer yet` });
          return;
        }
        callback(null, {
          nodeId: this.nodeId,
          clusterId: a.clusterId,
          askerRegistered: a.askerRegistered,
          metadataApplied: a.metadataApplied,
        });
      },
      join: (call, callback) => {
        const q: JoinQuestion = {
          nodeId: call.request.nodeId,
          raftAddress: call.request.raftAddress,
          clusterId: call.request.clusterId,
          directoryId: call.request.directoryId,
        };
        const onJoin = this.handler.onJoin;
        const answer =
          onJoin === undefined
            ? Promise.resolve<JoinAnswer>({
                errorCode: 'INVALID_REQUEST',
                errorMessage: `node ${this.nodeId} does not admit nodes`,
                clusterId: '',
                members: [],
              })
            : onJoin(q);
        answer.then(
          (a) => callback(null, a),
          (e: unknown) =>
            callback({ code: status.UNAVAILABLE, details: e instanceof Error ? e.message : String(e) }),
        );
      },
      propose: (call, callback) => {
        const { groupId, data, timeoutMs } = call.request;
        const caller = this.callerOf(call);
        if ('refused' in caller) {
          this.logger.warn('raft forwarded proposal refused', { error: caller.refused });
          callback({ code: status.PERMISSION_DENIED, details: caller.refused });
          return;
        }
        const onPropose = this.handler.onPropose;
        if (!onPropose) {
          callback(null, {
            index: 0,
            term: 0,
            errorCode: 'Unsupported',
            errorMessage: 'this node takes no forwarded proposals',
            leaderId: 0,
          });
          return;
        }
        onPropose(groupId, data, Math.min(timeoutMs || 10_000, 60_000)).then(
          (r) =>
            callback(null, { index: r.index, term: r.term, errorCode: '', errorMessage: '', leaderId: 0 }),
          (e: unknown) => {
            const err = e as { code?: unknown; message?: unknown; leaderId?: unknown };
            callback(null, {
              index: 0,
              term: 0,
              errorCode: typeof err.code === 'string' ? err.code : 'Internal',
              errorMessage: typeof err.message === 'string' ? err.message : String(e),
              leaderId: typeof err.leaderId === 'number' && err.leaderId > 0 ? err.leaderId : 0,
            });
          },
        );
      },
    };
    this.server.addService(FastTransportService, impl as unknown as UntypedServiceImplementation);
  }

  /** Binds the listener; resolves with the bound port. */
  start(): Promise<number> {
    return new Promise((resolve, reject) => {
      const t = this.opts.tls;
      const serverCredentials =
        t === undefined
          ? ServerCredentials.createInsecure()
          : ServerCredentials.createSsl(t.ca, [{ private_key: t.key, cert_chain: t.cert }], true);
      this.server.bindAsync(this.opts.listenAddress, serverCredentials, (err, port) => {
        if (err) {
          reject(
            new TransportError('Listen', `cannot listen on ${this.opts.listenAddress}: ${err.message}`, {
              cause: err,
            }),
          );
          return;
        }
        this.boundPort = port;
        resolve(port);
      });
    });
  }

  get port(): number {
    return this.boundPort;
  }

  /**
   * Queues a message for its destination (message.to). Returns false when it was dropped because the
   * peer's queue is full or its address is unknown; Raft recovers from dropped messages by retrying.
   * A MsgSnap with snapshot data goes through the snapshot stream.
   */
  send(groupId: number, message: Message): boolean {
    if (this.closed) return false;
    if (message.to === this.nodeId)
      throw new TransportError('InvalidMessage', 'a node does not send messages to itself');
    if (message.type === MessageType.MsgSnap && message.snapshot) {
      return this.sendSnapshot(groupId, message);
    }
    const peer = this.peer(message.to);
    this.checkStall(peer);
    const bytes = messageBytes(message);
    if (
      peer.queuedMessages >= this.limits.maxQueuedMessages ||
      peer.queuedBytes + bytes > this.limits.maxQueuedBytes
    ) {
      peer.droppedMessages++;
      return false;
    }
    peer.queue.push({ groupId, message, bytes });
    peer.queuedBytes += bytes;
    this.scheduleFlush(peer);
    return true;
  }

  /**
   * Forwards a proposal to another node (normally the group's leader) and resolves once it was
   * applied there. Fails with ForwardedProposalError (the remote error's code and leader hint) or
   * TransportError (unknown peer, too many forwards in flight, the call failed).
   */
  forwardProposal(
    toNode: number,
    groupId: number,
    data: Uint8Array,
    timeoutMs: number,
  ): Promise<{ index: number; term: number }> {
    if (this.closed) return Promise.reject(new TransportError('Closed', 'transport is closed'));
    if (this.forwardsInFlight >= this.limits.maxForwardsInFlight) {
      return Promise.reject(
        new TransportError('QueueFull', `${this.forwardsInFlight} forwarded proposals in flight`),
      );
    }
    const address = this.opts.peerAddress(toNode);
    if (address === undefined)
      return Promise.reject(new TransportError('UnknownPeer', `no address for node ${toNode}`));
    const client = this.unaryClient(toNode, address);
    this.forwardsInFlight++;
    return new Promise<{ index: number; term: number }>((resolve, reject) => {
      client.propose(
        { groupId, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength), timeoutMs },
        new Metadata(),
        { deadline: new Date(this.nowMs() + timeoutMs + 1000) },
        (err, res) => {
          this.forwardsInFlight--;
          if (err)
            reject(
              new TransportError('Unreachable', `forward to node ${toNode} failed: ${err.message}`, {
                cause: err,
              }),
            );
          else if (res.errorCode !== '')
            reject(
              new ForwardedProposalError(
                res.errorCode,
                res.errorMessage,
                res.leaderId > 0 ? res.leaderId : -1,
              ),
            );
          else resolve({ index: res.index, term: res.term });
        },
      );
    });
  }

  /** The unary-call client for a peer (forwarded proposals, Identify), kept while its address holds. */
  private unaryClient(toNode: number, address: string): RaftTransportClient {
    let entry = this.forwardClients.get(toNode);
    if (!entry || entry.address !== address) {
      entry?.client.close();
      entry = {
        address,
        client: new RaftTransportClient(address, this.credentialsFor(toNode, address), {
          'grpc.max_send_message_length': GRPC_MAX_MESSAGE_BYTES,
          ...this.nameOverride(toNode, address),
        }),
      };
      this.forwardClients.set(toNode, entry);
    }
    return entry.client;
  }

  /**
   * Asks node `toNode` what it knows of this node (see TransportHandler.onIdentify). Fails with
   * TransportError UnknownPeer, or Unreachable when the call fails or takes longer than `timeoutMs`.
   */
  identify(toNode: number, question: IdentityQuestion, timeoutMs: number): Promise<IdentityAnswer> {
    if (this.closed) return Promise.reject(new TransportError('Closed', 'transport is closed'));
    const address = this.opts.peerAddress(toNode);
    if (address === undefined)
      return Promise.reject(new TransportError('UnknownPeer', `no address for node ${toNode}`));
    const client = this.unaryClient(toNode, address);
    return new Promise<IdentityAnswer>((resolve, reject) => {
      client.identify(
        question,
        new Metadata(),
        { deadline: new Date(this.nowMs() + timeoutMs) },
        (err, res) => {
          if (err)
            reject(
              new TransportError('Unreachable', `identify with node ${toNode} failed: ${err.message}`, {
                cause: err,
              }),
            );
          else
            resolve({
              clusterId: res.clusterId,
              askerRegistered: res.askerRegistered,
              metadataApplied: res.metadataApplied,
            });
        },
      );
    });
  }

  /**
   * Asks the node listening at `address` (any member: the joining node knows no id yet) to admit
   * this node. Fails with TransportError Unreachable when the call fails or takes longer than
   * `timeoutMs`; a refusal is an answer (JoinAnswer.errorCode).
   */
  join(address: string, question: JoinQuestion, timeoutMs: number): Promise<JoinAnswer> {
    if (this.closed) return Promise.reject(new TransportError('Closed', 'transport is closed'));
    const client = new RaftTransportClient(address, credentials.createInsecure());
    return new Promise<JoinAnswer>((resolve, reject) => {
      client.join(question, new Metadata(), { deadline: new Date(this.nowMs() + timeoutMs) }, (err, res) => {
        client.close();
        if (err)
          reject(
            new TransportError('Unreachable', `join through ${address} failed: ${err.message}`, {
              cause: err,
            }),
          );
        else
          resolve({
            errorCode: res.errorCode,
            errorMessage: res.errorMessage,
            clusterId: res.clusterId,
            members: res.members.map((m) => ({ nodeId: m.nodeId, raftAddress: m.raftAddress })),
          });
      });
    });
  }

  stats(): PeerStats[] {
    return [...this.peers.values()].map((p) => ({
      nodeId: p.nodeId,
      connected: p.call !== null,
      queuedMessages: p.queuedMessages,
      queuedBytes: p.queuedBytes,
      sentBatches: p.sentBatches,
      ackedBatches: p.ackedBatches,
      totalAckedBatches: p.totalAckedBatches,
      droppedMessages: p.droppedMessages,
      stalls: p.stalls,
    }));
  }

  /** Batches received from peers and acknowledgements sent for them (one ack may cover several). */
  inboundStats(): { batches: number; acks: number } {
    return { batches: this.inboundBatches, acks: this.inboundAcks };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const peer of this.peers.values()) {
      if (peer.retryTimer !== null) this.timers.clearTimeout(peer.retryTimer);
      peer.call?.cancel();
      peer.client?.close();
      peer.queue = [];
      peer.queueHead = 0;
      peer.queuedBytes = 0;
    }
    for (const call of this.inbound) call.end();
    for (const { client } of this.forwardClients.values()) client.close();
    this.forwardClients.clear();
    await new Promise<void>((resolve) => {
      const force = this.timers.setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 1000);
      this.server.tryShutdown(() => {
        this.timers.clearTimeout(force);
        resolve();
      });
    });
  }

  /**
   * The client credentials for calls to `toNode` at `address`: plaintext, or TLS checking the
   * server's certificate names `toNode` (node identities) or the host dialled.
   */
  private credentialsFor(toNode: number, address: string): ChannelCredentials {
    const t = this.opts.tls;
    if (t === undefined) return credentials.createInsecure();
    const key = `${toNode}@${address}`;
    let c = this.channelCredentials.get(key);
    if (c === undefined) {
      const nodeIdOf = t.nodeIdOf;
      const host = hostOf(address);
      c = credentials.createSsl(t.ca, t.key, t.cert, {
        checkServerIdentity:
          nodeIdOf === undefined
            ? (_name, cert) => checkServerIdentity(host, cert)
            : (_name, cert) => {
                const named = nodeIdOf(cert);
                return named === toNode
                  ? undefined
                  : new Error(`the certificate of node ${toNode}'s address names node ${named ?? 'none'}`);
              },
      });
      this.channelCredentials.set(key, c);
    }
    return c;
  }

  /**
   * The server name sent (SNI): `node-<id>` with node identities, else the host dialled — or, for
   * an IP address (which is no server name), a fixed one; the certificate is checked as above.
   */
  private nameOverride(toNode: number, address: string): Partial<ClientOptions> {
    const t = this.opts.tls;
    if (t === undefined) return {};
    if (t.nodeIdOf !== undefined) return { 'grpc.ssl_target_name_override': `node-${toNode}` };
    return isIP(hostOf(address)) === 0 ? {} : { 'grpc.ssl_target_name_override': 'chronik-node' };
  }

  /** Who a call's client is, by its certificate (with node identities); no check otherwise. */
  private callerOf(call: { getAuthContext(): AuthContext }): Caller {
    const nodeIdOf = this.opts.tls?.nodeIdOf;
    if (nodeIdOf === undefined) return { nodeId: undefined };
    const cert = call.getAuthContext().sslPeerCertificate;
    if (cert === undefined) return { refused: 'no verified client certificate' };
    const nodeId = nodeIdOf(cert);
    return nodeId === undefined ? { refused: 'the client certificate names no node' } : { nodeId };
  }

  /** Why a caller may not speak for `claimed`, or undefined. */
  private refusal(caller: Caller, claimed: number): string | undefined {
    if ('refused' in caller) return caller.refused;
    if (caller.nodeId !== undefined && caller.nodeId !== claimed)
      return `a client certificate of node ${caller.nodeId} speaking for node ${claimed}`;
    return undefined;
  }

  private peer(nodeId: number): Peer {
    let p = this.peers.get(nodeId);
    if (!p) {
      p = new Peer(nodeId);
      this.peers.set(nodeId, p);
    }
    return p;
  }

  private scheduleFlush(peer: Peer): void {
    if (peer.flushScheduled) return;
    peer.flushScheduled = true;
    setImmediate(() => {
      peer.flushScheduled = false;
      this.flush(peer);
    });
  }

  private connect(peer: Peer, nowMs: number): boolean {
    if (peer.call) return true;
    if (nowMs < peer.retryAtMs) {
      if (peer.retryTimer === null) {
        peer.retryTimer = this.timers.setTimeout(() => {
          peer.retryTimer = null;
          this.flush(peer);
        }, peer.retryAtMs - nowMs);
      }
      return false;
    }
    const address = this.opts.peerAddress(peer.nodeId);
    if (address === undefined) {
      this.dropQueue(peer);
      return false;
    }
    if (!peer.client) {
      peer.client = new FastTransportClient(address, this.credentialsFor(peer.nodeId, address), {
        ...this.nameOverride(peer.nodeId, address),
        'grpc.max_receive_message_length': GRPC_MAX_MESSAGE_BYTES,
        'grpc.max_send_message_length': GRPC_MAX_MESSAGE_BYTES,
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
        'grpc.initial_reconnect_backoff_ms': this.limits.reconnectBackoffMinMs,
        'grpc.max_reconnect_backoff_ms': this.limits.reconnectBackoffMaxMs,
      });
    }
    const call = peer.client.stream();
    peer.call = call;
    peer.writable = true;
    peer.sentBatches = 0;
    peer.ackedBatches = 0;
    peer.progressAtMs = nowMs;
    call.on('data', (ack: BatchAck) => {
      if (peer.call !== call) return;
      if (ack.received > peer.ackedBatches) peer.totalAckedBatches += ack.received - peer.ackedBatches;
      peer.ackedBatches = ack.received;
      peer.progressAtMs = this.nowMs();
      if (peer.failures > 0) peer.failures = 0;
      this.flush(peer);
    });
    call.on('error', (err: Error) => this.fail(peer, call, err));
    call.on('end', () => this.fail(peer, call, new Error('stream ended by peer')));
    return true;
  }

  private fail(peer: Peer, call: ClientDuplexStream<OutgoingBatch, BatchAck>, err: Error): void {
    if (peer.call !== call) return;
    peer.call = null;
    peer.failures++;
    const backoffMs = Math.min(
      this.limits.reconnectBackoffMaxMs,
      this.limits.reconnectBackoffMinMs * 2 ** Math.min(peer.failures - 1, 16),
    );
    peer.retryAtMs = this.nowMs() + backoffMs;
    // A dead peer gets no backlog: what was queued is stale by the time it returns, and Raft resends.
    this.dropQueue(peer);
    // Reset the channel too, so that the next connect resolves the peer's address afresh.
    peer.client?.close();
    peer.client = null;
    if (!this.closed) {
      this.logger.debug('raft peer stream failed', { peer: peer.nodeId, error: err.message, backoffMs });
      this.handler.onPeerUnreachable?.(peer.nodeId);
    }
  }

  /** Resets a stream that has work outstanding and made no progress for stallTimeoutMs. */
  private checkStall(peer: Peer): void {
    const call = peer.call;
    if (call === null || (peer.sentBatches === peer.ackedBatches && peer.writable)) return;
    const idleMs = this.nowMs() - peer.progressAtMs;
    if (idleMs < this.limits.stallTimeoutMs) return;
    peer.stalls++;
    this.logger.warn('raft peer stream stalled; reopening it', {
      peer: peer.nodeId,
      unacked: peer.sentBatches - peer.ackedBatches,
      writable: peer.writable,
      idleMs,
    });
    this.fail(peer, call, new Error(`stream stalled for ${idleMs} ms`));
    call.cancel();
  }

  private dropQueue(peer: Peer): void {
    peer.droppedMessages += peer.queuedMessages;
    peer.queue = [];
    peer.queueHead = 0;
    peer.queuedBytes = 0;
  }

  private flush(peer: Peer): void {
    if (this.closed || peer.queuedMessages === 0) return;
    if (!this.connect(peer, this.nowMs())) return;
    const call = peer.call;
    while (
      call &&
      peer.queuedMessages > 0 &&
      peer.writable &&
      peer.sentBatches - peer.ackedBatches < this.limits.maxInflightBatches
    ) {
      const start = peer.queueHead;
      let bytes = 0;
      while (peer.queueHead < peer.queue.length) {
        const q = peer.queue[peer.queueHead]!;
        if (bytes > 0 && bytes + q.bytes > this.limits.maxBatchBytes) break;
        peer.queueHead++;
        peer.queuedBytes -= q.bytes;
        bytes += q.bytes;
      }
      const items: BatchItem[] =
        start === 0 && peer.queueHead === peer.queue.length
          ? peer.queue
          : peer.queue.slice(start, peer.queueHead);
      if (peer.queueHead === peer.queue.length) {
        peer.queue = [];
        peer.queueHead = 0;
      }
      if (peer.sentBatches === peer.ackedBatches) peer.progressAtMs = this.nowMs();
      peer.sentBatches++;
      // Encoded synchronously by write() (batch-codec.ts): the messages are not kept.
      const ok = call.write({ fromNode: this.nodeId, toNode: peer.nodeId, items });
      if (!ok) {
        peer.writable = false;
        call.once('drain', () => {
          peer.writable = true;
          peer.progressAtMs = this.nowMs();
          this.flush(peer);
        });
      }
    }
  }

  private sendSnapshot(groupId: number, message: Message): boolean {
    const snapshot = message.snapshot!;
    const peer = this.peer(message.to);
    if (
      peer.snapshotsInFlight.has(groupId) ||
      peer.snapshotsInFlight.size >= this.limits.maxInflightSnapshotsPerPeer
    ) {
      return false;
    }
    const address = this.opts.peerAddress(peer.nodeId);
    if (address === undefined) return false;
    peer.snapshotsInFlight.add(groupId);
    const report = (ok: boolean, why?: string): void => {
      peer.snapshotsInFlight.delete(groupId);
      if (!ok)
        this.logger.warn('raft snapshot send failed', { peer: peer.nodeId, group: groupId, error: why });
      if (!this.closed) this.handler.onSnapshotStatus?.(groupId, peer.nodeId, ok);
    };
    const client = new RaftTransportClient(address, this.credentialsFor(peer.nodeId, address), {
      'grpc.max_send_message_length': GRPC_MAX_MESSAGE_BYTES,
      ...this.nameOverride(peer.nodeId, address),
    });
    const call = client.installSnapshot((err, result) => {
      client.close();
      if (err) report(false, err.message);
      else report(result?.accepted === true, result?.error);
    });
    const data = Buffer.from(snapshot.data.buffer, snapshot.data.byteOffset, snapshot.data.byteLength);
    const crc = crc32c(data);
    const wire = messageToWire(message);
    const chunkBytes = this.limits.snapshotChunkBytes;
    let offset = 0;
    const writeChunks = (): void => {
      while (true) {
        const end = Math.min(offset + chunkBytes, data.length);
        const last = end === data.length;
        const chunk: SnapshotChunk = {
          groupId,
          fromNode: this.nodeId,
          toNode: peer.nodeId,
          message: offset === 0 ? wire : undefined,
          offset,
          data: data.subarray(offset, end),
          last,
          crc32c: last ? crc : 0,
        };
        offset = end;
        const ok = call.write(chunk);
        if (last) {
          call.end();
          return;
        }
        if (!ok) {
          call.once('drain', writeChunks);
          return;
        }
      }
    };
    call.on('error', () => undefined); // reported through the callback
    writeChunks();
    return true;
  }

  private serveStream(call: ServerDuplexStream<IncomingBatch, BatchAck>): void {
    const caller = this.callerOf(call);
    if ('refused' in caller) {
      this.logger.warn('raft stream refused', { error: caller.refused });
      call.destroy(new Error(caller.refused));
      return;
    }
    this.inbound.add(call);
    this.widenReceiveWindow(call);
    let received = 0;
    let acked = 0;
    let ackScheduled = false;
    // One acknowledgement per turn of the event loop covers every batch that arrived in it: under
    // load several batches land together, and an ack each was a gRPC message (and an HTTP/2 frame
    // to encode, send and decode) per batch for nothing.
    const ack = (): void => {
      ackScheduled = false;
      if (received === acked || call.destroyed) return;
      acked = received;
      this.inboundAcks++;
      call.write({ received });
    };
    call.on('data', (batch: IncomingBatch) => {
      if (batch.toNode !== this.nodeId) {
        this.logger.warn('raft batch for another node refused', { to: batch.toNode, from: batch.fromNode });
        call.destroy(new Error(`this is node ${this.nodeId}, not ${batch.toNode}`));
        return;
      }
      const refusal = this.refusal(caller, batch.fromNode);
      if (refusal !== undefined) {
        this.logger.warn('raft batch refused', { from: batch.fromNode, error: refusal });
        call.destroy(new Error(refusal));
        return;
      }
      received++;
      this.inboundBatches++;
      for (const item of batch.items) {
        if ('error' in item) {
          this.logger.warn('raft message refused', { from: batch.fromNode, error: item.error });
          continue;
        }
        if (item.message.to !== this.nodeId) continue;
        // A node speaks for itself only (checked when certificates name nodes).
        if (caller.nodeId !== undefined && item.message.from !== caller.nodeId) continue;
        this.deliver(item.groupId, item.message);
      }
      if (!ackScheduled) {
        ackScheduled = true;
        setImmediate(ack);
      }
    });
    const done = (): void => {
      this.inbound.delete(call);
    };
    call.on('end', () => {
      done();
      call.end();
    });
    call.on('error', done);
    call.on('close', done);
  }

  /**
   * HTTP/2 flow control: grpc-js servers keep Node's default 64 KiB receive windows, so a peer
   * streaming entries at several MB/s waits for a WINDOW_UPDATE (one turn of this node's event
   * loop) every 64 KiB, and heartbeats queue behind that. The connection and stream windows are
   * widened to `receiveWindowBytes` once per connection (what is in flight stays bounded by the
   * sender's maxInflightBatches × maxBatchBytes). grpc-js exposes no option for it on the server,
   * so the session is reached through the call's internals; when that fails, defaults stay.
   */
  private widenReceiveWindow(call: ServerDuplexStream<IncomingBatch, BatchAck>): void {
    const bytes = this.limits.receiveWindowBytes;
    if (bytes <= 65_535) return;
    try {
      let c: unknown = (call as unknown as { call?: unknown }).call;
      for (let depth = 0; depth < 4 && c !== null && typeof c === 'object'; depth++) {
        const stream = (c as { stream?: { session?: Http2SessionLike } }).stream;
        const session = stream?.session;
        if (session !== undefined) {
          if (this.widened.has(session)) return;
          this.widened.add(session);
          session.setLocalWindowSize(bytes);
          session.settings({ initialWindowSize: Math.min(bytes, 2 ** 31 - 1) });
          return;
        }
        c = (c as { nextCall?: unknown }).nextCall;
      }
    } catch (e) {
      this.logger.debug('raft stream receive window left at the default', { error: (e as Error).message });
    }
  }

  private deliver(groupId: number, m: Message): void {
    try {
      this.handler.onMessage(groupId, m);
    } catch (e) {
      this.logger.error('raft message handler threw', { group: groupId, error: (e as Error).message });
    }
  }

  private serveSnapshot(
    call: ServerReadableStream<SnapshotChunk, SnapshotResult>,
    callback: sendUnaryData<SnapshotResult>,
  ): void {
    const caller = this.callerOf(call);
    const parts: Buffer[] = [];
    let size = 0;
    let first: SnapshotChunk | null = null;
    let finished = false;
    const finish = (result: SnapshotResult): void => {
      if (finished) return;
      finished = true;
      callback(null, result);
    };
    call.on('data', (chunk: SnapshotChunk) => {
      if (finished) return;
      if (first === null) {
        if (!chunk.message || chunk.offset !== 0 || chunk.toNode !== this.nodeId) {
          finish({
            accepted: false,
            error: 'first snapshot chunk must carry the message at offset 0 for this node',
          });
          call.destroy();
          return;
        }
        const refusal =
          this.refusal(caller, chunk.fromNode) ??
          ('nodeId' in caller && caller.nodeId !== undefined && chunk.message.from !== caller.nodeId
            ? 'a snapshot message from another node'
            : undefined);
        if (refusal !== undefined) {
          this.logger.warn('raft snapshot refused', { from: chunk.fromNode, error: refusal });
          finish({ accepted: false, error: refusal });
          call.destroy();
          return;
        }
        first = chunk;
      } else if (chunk.groupId !== first.groupId || chunk.offset !== size) {
        finish({
          accepted: false,
          error: `snapshot chunk out of order at offset ${chunk.offset}, expected ${size}`,
        });
        call.destroy();
        return;
      }
      size += chunk.data.length;
      if (size > this.limits.maxSnapshotBytes) {
        finish({ accepted: false, error: `snapshot larger than ${this.limits.maxSnapshotBytes} bytes` });
        call.destroy();
        return;
      }
      parts.push(chunk.data);
      if (!chunk.last) return;
      const data = Buffer.concat(parts, size);
      if (crc32c(data) !== chunk.crc32c) {
        finish({ accepted: false, error: 'snapshot checksum mismatch' });
        return;
      }
      let m: Message;
      try {
        m = messageFromWire(first.message!, data);
      } catch (e) {
        finish({ accepted: false, error: (e as Error).message });
        return;
      }
      this.deliver(first.groupId, m);
      finish({ accepted: true, error: '' });
    });
    call.on('end', () => finish({ accepted: false, error: 'snapshot stream ended before its last chunk' }));
    call.on('error', () => finish({ accepted: false, error: 'snapshot stream failed' }));
  }
}
