// The recorded history of a run: every client operation with its invocation and completion time
// (ms since the run started) and outcome, and every fault. Written as JSON lines as it happens and
// kept in memory for the checker.
import fs from 'node:fs';

/** ok: it happened; fail: it certainly did not; info: unknown (it may or may not have happened). */
export type Outcome = 'ok' | 'fail' | 'info';

interface Timed {
  invokeMs: number;
  completeMs: number;
  outcome: Outcome;
  error?: string;
}

export interface SendOp extends Timed {
  f: 'send';
  process: string;
  topic: string;
  partition: number;
  value: string;
  acks: 'all' | '1';
  idempotent: boolean;
  /** The offset the broker acknowledged (ok only). */
  offset?: number;
}

export interface PollOp extends Timed {
  f: 'poll';
  process: string;
  topic: string;
  partition: number;
  offsets: number[];
  values: string[];
}

export interface CommitOp extends Timed {
  f: 'commit';
  process: string;
  group: string;
  topic: string;
  partition: number;
  /** The committed offset: the next one to read. */
  offset: number;
}

/** A consumer (re)joined its group and got these partitions. */
export interface AssignOp extends Timed {
  f: 'assign';
  process: string;
  topic: string;
  partitions: number[];
}

/** An observation of the group's committed offsets (OffsetFetch). */
export interface CommittedOp extends Timed {
  f: 'committed';
  process: string;
  group: string;
  topic: string;
  offsets: Record<string, number>;
}

export interface TopicOp extends Timed {
  f: 'create-topic' | 'delete-topic';
  process: string;
  topic: string;
}

export interface FaultOp extends Timed {
  f: 'fault';
  process: 'nemesis';
  /** Index of the fault in the schedule. */
  index: number;
  kind: string;
  /** Nodes the fault was applied to (resolved at run time). */
  nodes: number[];
  description: string;
  /** When the fault was healed (ms since start; completeMs is when it was applied). */
  healedMs?: number;
  /**
   * What the node under the fault had to do (wipe: refuse to rejoin; disk-full: exit naming the
   * disk error), and whether it did: a `met: false` fails the run (check `fault-expectations`).
   */
  expectation?: { what: string; met: boolean; detail: string };
}

/** Records one transaction wrote to one partition, in one send (one batch). */
export interface TxnWrite {
  topic: string;
  partition: number;
  values: string[];
  /** The send was acknowledged (acks=all); its records are at `offset`, `offset + 1`, ... */
  acked: boolean;
  /** The acknowledged base offset. */
  offset?: number;
}

/**
 * One transaction of the transactional workload (a producer's, or the consume-transform-produce
 * stage's). `end` is the EndTxn the client asked for — `none` when the transaction stopped before
 * it (a send failed: the producer is replaced, and the next one's InitProducerId aborts it) — and
 * `outcome` is that EndTxn's: ok (acknowledged), info (sent, answer lost: unknown), fail (never
 * sent). So a transaction is committed for certain when `end` is commit and `outcome` ok, may be
 * committed when `end` is commit and `outcome` info, and is never committed otherwise.
 */
export interface TxnOp extends Timed {
  f: 'txn';
  process: string;
  transactionalId: string;
  /** The transaction's number, unique per process. */
  txn: number;
  intent: 'commit' | 'abort';
  end: 'commit' | 'abort' | 'none';
  writes: TxnWrite[];
  /**
   * consume-transform-produce: the input records transformed, the offset sent with sendOffsets, and
   * the worker instance whose consumer delivered them (its polls' `process`).
   */
  input?: {
    topic: string;
    partition: number;
    offsets: number[];
    values: string[];
    next: number;
    consumer: string;
  };
}

/** A worker of the transactional workload replaced: its producer and consumer are created again. */
export interface RestartOp extends Timed {
  f: 'restart';
  process: string;
  reason: string;
}

/**
 * The consume-transform-produce consumer was positioned below the next offset of a transaction
 * acknowledged as committed (its input offsets). Without `fresh` the worker is restarted (kafkajs
 * fetches committed offsets without `require_stable`, so a rejoin while that transaction's markers
 * were being written reads the offsets before it). `fresh`: on the first assignment after the
 * worker's InitProducerId — which waits for its previous transaction to complete — so nothing was
 * pending: the group's committed offset went back. The worker then reads on from there.
 */
export interface RewindOp extends Timed {
  f: 'rewind';
  process: string;
  topic: string;
  partition: number;
  /** The first offset the consumer was given. */
  from: number;
  /** The next offset sent by the last transaction acknowledged as committed. */
  committed: number;
  fresh: boolean;
}

/**
 * One step of a membership fault (the nemesis): the node's decommission asked (`decommission`), its
 * removal by the balancer seen (`removed`: invoked at the first decommission asked, completed when
 * it was no longer a member), its drain cancelled (`recommission`), its join anew with an empty
 * data directory (`join`), a rebalance asked (`rebalance`). `fail`: the cluster refused it (the
 * reason in `error`) — a refusal the server is meant to give is not a failure of the run; `info`:
 * no answer or not done in time.
 */
export interface MembershipOp extends Timed {
  f: 'membership';
  process: 'nemesis';
  /** The fault's index in the schedule. */
  fault: number;
  action: 'decommission' | 'removed' | 'recommission' | 'join' | 'rebalance';
  node: number;
  detail: string;
}

export type Op =
  | SendOp
  | PollOp
  | CommitOp
  | AssignOp
  | CommittedOp
  | TopicOp
  | FaultOp
  | TxnOp
  | RestartOp
  | RewindOp
  | MembershipOp;

export class History {
  readonly ops: Op[] = [];
  private fd: number | undefined;
  readonly startMs: number;

  constructor(
    file: string | undefined,
    private readonly clock: () => number = Date.now,
  ) {
    this.startMs = clock();
    if (file !== undefined) {
      this.fd = fs.openSync(file, 'w');
      fs.writeSync(
        this.fd,
        `${JSON.stringify({ f: 'start', wallClock: new Date(this.startMs).toISOString() })}\n`,
      );
    }
  }

  /** Milliseconds since the run started. */
  now(): number {
    return this.clock() - this.startMs;
  }

  add<T extends Op>(op: T): T {
    this.ops.push(op);
    if (this.fd !== undefined) fs.writeSync(this.fd, `${JSON.stringify(op)}\n`);
    return op;
  }

  /** Rewrites an op already added (e.g. a fault's heal time) by appending its final form. */
  update(op: Op): void {
    if (this.fd !== undefined) fs.writeSync(this.fd, `${JSON.stringify({ ...op, update: true })}\n`);
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Reads a history file back (later versions of an updated op replace earlier ones). */
export function readHistory(file: string): Op[] {
  const ops: Op[] = [];
  const faults = new Map<number, number>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const o = JSON.parse(line) as Op | { f: 'start' } | (FaultOp & { update: true });
    if (o.f === 'start') continue;
    if ('update' in o && o.f === 'fault') {
      const i = faults.get(o.index);
      const { update: _u, ...rest } = o;
      if (i !== undefined) ops[i] = rest;
      continue;
    }
    if (o.f === 'fault') faults.set(o.index, ops.length);
    ops.push(o);
  }
  return ops;
}
