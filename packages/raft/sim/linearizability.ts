/**
 * A linearizability checker in the style of Porcupine: the Wing–Gong algorithm with Lowe's
 * memoization (WGL), plus P-compositionality (a history over independent keys is checked one
 * key at a time).
 *
 * An operation has an invocation time and, when its outcome is known, a return time and output.
 * An operation whose outcome is unknown (a timeout: "info") has no return: it may have taken
 * effect at any point after its invocation, or never. Failed operations (known not to have taken
 * effect) are left out of the history by the caller.
 *
 * Times only need to be ordered: the simulation uses a global event sequence number, so no two
 * events share a time. When two events do share a time, the invocation is placed first (the two
 * operations count as concurrent, the permissive choice).
 */

export interface Operation<I, O> {
  readonly clientId: number;
  readonly input: I;
  /** Invocation time. */
  readonly call: number;
  /** Return time; absent when the outcome is unknown. */
  readonly return?: number;
  /** The observed output; absent when the outcome is unknown. */
  readonly output?: O;
}

export interface Model<S, I, O> {
  init(): S;
  /**
   * Apply `input` to `state`. `output` is the observed output, or undefined when unknown (then any
   * output is acceptable). Returns whether the observation is legal and the state after it.
   */
  step(state: S, input: I, output: O | undefined): { ok: boolean; state: S };
  /** A string that is equal for equal states (used to memoize visited configurations). */
  stateKey(state: S): string;
  /** Split a history into independent sub-histories (for example one per key). Optional. */
  partition?(ops: readonly Operation<I, O>[]): Operation<I, O>[][];
  describe?(op: Operation<I, O>): string;
}

export type CheckOutcome = 'ok' | 'illegal' | 'unknown';

export interface CheckResult<I, O> {
  outcome: CheckOutcome;
  /** For 'illegal': the partition (sub-history) that has no linearization. */
  failingPartition?: Operation<I, O>[];
  /** For 'illegal': the longest sequence of operations that could be linearized before getting stuck. */
  longestPrefix?: Operation<I, O>[];
  /** Search steps taken over all partitions. */
  steps: number;
}

export interface CheckOptions {
  /** Give up (outcome 'unknown') after this many search steps in one partition. */
  maxStepsPerPartition?: number;
}

interface Node {
  readonly opIndex: number;
  readonly isCall: boolean;
  prev: Node | null;
  next: Node | null;
  /** For a call: its return node, if the operation returned. */
  match: Node | null;
}

class BitSet {
  readonly words: Uint32Array;
  constructor(size: number) {
    this.words = new Uint32Array(Math.ceil(size / 32) || 1);
  }
  set(i: number): void {
    this.words[i >>> 5] = (this.words[i >>> 5] ?? 0) | (1 << (i & 31));
  }
  clear(i: number): void {
    this.words[i >>> 5] = (this.words[i >>> 5] ?? 0) & ~(1 << (i & 31));
  }
  equals(other: Uint32Array): boolean {
    for (let i = 0; i < this.words.length; i++) if (this.words[i] !== other[i]) return false;
    return true;
  }
}

/**
 * The set of visited (linearized operations, state) configurations. The operation set is keyed
 * by a Zobrist hash (XOR of a fixed random value per operation, updated incrementally) and
 * compared exactly on a hash match, so a collision never prunes the search wrongly.
 */
class VisitedCache {
  private readonly buckets = new Map<string, Uint32Array[]>();
  /** Returns true if the configuration was new (and records it). */
  add(hash: number, stateKey: string, bits: BitSet): boolean {
    const key = `${hash}|${stateKey}`;
    let list = this.buckets.get(key);
    if (!list) this.buckets.set(key, (list = []));
    for (const seen of list) if (bits.equals(seen)) return false;
    list.push(bits.words.slice());
    return true;
  }
}

/** Deterministic per-operation hash values (splitmix32 of the index). */
function zobrist(i: number): number {
  let z = (Math.imul(i + 1, 0x9e3779b9) ^ 0x5bd1e995) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

function checkPartition<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  maxSteps: number,
): { outcome: CheckOutcome; steps: number; longest: number[] } {
  // Build the event list sorted by time (invocations before returns on ties).
  const events: { time: number; isCall: boolean; opIndex: number }[] = [];
  ops.forEach((op, i) => {
    events.push({ time: op.call, isCall: true, opIndex: i });
    if (op.return !== undefined) {
      if (op.return < op.call) throw new RangeError(`operation ${i} returns before it is invoked`);
      events.push({ time: op.return, isCall: false, opIndex: i });
    }
  });
  events.sort(
    (a, b) => a.time - b.time || (a.isCall === b.isCall ? a.opIndex - b.opIndex : a.isCall ? -1 : 1),
  );

  const head: Node = { opIndex: -1, isCall: false, prev: null, next: null, match: null };
  const calls: (Node | undefined)[] = new Array<Node | undefined>(ops.length);
  let tail = head;
  let returnsLeft = 0;
  for (const e of events) {
    const node: Node = { opIndex: e.opIndex, isCall: e.isCall, prev: tail, next: null, match: null };
    tail.next = node;
    tail = node;
    if (e.isCall) calls[e.opIndex] = node;
    else {
      returnsLeft++;
      const call = calls[e.opIndex];
      if (call) call.match = node;
    }
  }

  const lift = (n: Node): void => {
    if (n.prev) n.prev.next = n.next;
    if (n.next) n.next.prev = n.prev;
    const m = n.match;
    if (m) {
      if (m.prev) m.prev.next = m.next;
      if (m.next) m.next.prev = m.prev;
    }
  };
  const unlift = (n: Node): void => {
    const m = n.match;
    if (m) {
      if (m.prev) m.prev.next = m;
      if (m.next) m.next.prev = m;
    }
    if (n.prev) n.prev.next = n;
    if (n.next) n.next.prev = n;
  };

  const linearized = new BitSet(ops.length);
  const hashes = ops.map((_, i) => zobrist(i));
  let hash = 0;
  const cache = new VisitedCache();
  const stack: { node: Node; state: S }[] = [];
  let state = model.init();
  let entry: Node | null = head.next;
  let steps = 0;
  let longest: number[] = [];

  while (returnsLeft > 0) {
    if (++steps > maxSteps) return { outcome: 'unknown', steps, longest };
    if (entry !== null && entry.isCall) {
      const op = ops[entry.opIndex] as Operation<I, O>;
      const r = model.step(state, op.input, op.return === undefined ? undefined : op.output);
      if (r.ok) {
        linearized.set(entry.opIndex);
        const newHash = (hash ^ (hashes[entry.opIndex] as number)) >>> 0;
        if (cache.add(newHash, model.stateKey(r.state), linearized)) {
          hash = newHash;
          stack.push({ node: entry, state });
          state = r.state;
          lift(entry);
          if (entry.match) returnsLeft--;
          entry = head.next;
          continue;
        }
        linearized.clear(entry.opIndex);
      }
      entry = entry.next;
    } else {
      // A return whose operation has not been linearized (or the end of the list): backtrack.
      if (stack.length > longest.length) longest = stack.map((s) => s.node.opIndex);
      const top = stack.pop();
      if (!top) return { outcome: 'illegal', steps, longest };
      state = top.state;
      linearized.clear(top.node.opIndex);
      hash = (hash ^ (hashes[top.node.opIndex] as number)) >>> 0;
      unlift(top.node);
      if (top.node.match) returnsLeft++;
      entry = top.node.next;
    }
  }
  return { outcome: 'ok', steps, longest };
}

/** Check that a history of operations is linearizable with respect to a sequential model. */
export function checkOperations<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  options: CheckOptions = {},
): CheckResult<I, O> {
  const maxSteps = options.maxStepsPerPartition ?? 5_000_000;
  const partitions = model.partition ? model.partition(ops) : [ops.slice()];
  let steps = 0;
  let unknown = false;
  for (const part of partitions) {
    const r = checkPartition(model, part, maxSteps);
    steps += r.steps;
    if (r.outcome === 'illegal') {
      return {
        outcome: 'illegal',
        failingPartition: part,
        longestPrefix: r.longest.map((i) => part[i] as Operation<I, O>),
        steps,
      };
    }
    if (r.outcome === 'unknown') unknown = true;
  }
  return { outcome: unknown ? 'unknown' : 'ok', steps };
}

// ---------------------------------------------------------------------------------------------
// A key-value model: registers with put, get and compare-and-set, partitioned by key.

export type KvInput =
  | { readonly kind: 'put'; readonly key: string; readonly value: string }
  | { readonly kind: 'get'; readonly key: string }
  | { readonly kind: 'cas'; readonly key: string; readonly expected: string | null; readonly value: string };

/** put → null; get → the value (null when absent); cas → whether it swapped. */
export type KvOutput = { readonly value: string | null } | { readonly swapped: boolean } | null;

export const kvModel: Model<string | null, KvInput, KvOutput> = {
  init: () => null,
  step(state, input, output) {
    switch (input.kind) {
      case 'put':
        return { ok: true, state: input.value };
      case 'get':
        if (output === undefined) return { ok: true, state };
        return { ok: output !== null && 'value' in output && output.value === state, state };
      case 'cas': {
        const swaps = state === input.expected;
        const next = swaps ? input.value : state;
        if (output === undefined) return { ok: true, state: next };
        return { ok: output !== null && 'swapped' in output && output.swapped === swaps, state: next };
      }
    }
  },
  stateKey: (s) => (s === null ? '\u0000' : `=${s}`),
  partition(ops) {
    const byKey = new Map<string, Operation<KvInput, KvOutput>[]>();
    for (const op of ops) {
      let list = byKey.get(op.input.key);
      if (!list) byKey.set(op.input.key, (list = []));
      list.push(op);
    }
    return [...byKey.keys()].sort().map((k) => byKey.get(k) as Operation<KvInput, KvOutput>[]);
  },
  describe(op) {
    const i = op.input;
    const what =
      i.kind === 'put'
        ? `put(${i.key}=${i.value})`
        : i.kind === 'get'
          ? `get(${i.key})`
          : `cas(${i.key}: ${String(i.expected)}→${i.value})`;
    const out = op.return === undefined ? '?' : JSON.stringify(op.output);
    return `c${op.clientId} ${what} -> ${out} [${op.call}, ${op.return ?? '∞'}]`;
  },
};

// ---------------------------------------------------------------------------------------------
// Recording a history as it happens.

export type HistoryEvent<I, O> =
  | {
      readonly type: 'invoke';
      readonly id: number;
      readonly clientId: number;
      readonly input: I;
      readonly seq: number;
      readonly timeMs: number;
    }
  | {
      readonly type: 'ok';
      readonly id: number;
      readonly output: O;
      readonly seq: number;
      readonly timeMs: number;
    }
  | { readonly type: 'fail'; readonly id: number; readonly seq: number; readonly timeMs: number }
  | { readonly type: 'info'; readonly id: number; readonly seq: number; readonly timeMs: number };

/**
 * Records client events (invoke, then exactly one of ok / fail / info) with a global sequence
 * number, and turns them into operations for the checker. An operation still pending at the end
 * counts as info (unknown outcome).
 */
export class HistoryRecorder<I, O> {
  readonly events: HistoryEvent<I, O>[] = [];
  private seq = 0;
  private nextId = 1;
  private readonly open = new Map<number, { clientId: number; input: I }>();

  constructor(private readonly maxEvents = 1_000_000) {}

  invoke(clientId: number, input: I, timeMs: number): number {
    const id = this.nextId++;
    this.open.set(id, { clientId, input });
    this.push({ type: 'invoke', id, clientId, input, seq: this.seq++, timeMs });
    return id;
  }

  ok(id: number, output: O, timeMs: number): void {
    this.close(id);
    this.push({ type: 'ok', id, output, seq: this.seq++, timeMs });
  }

  fail(id: number, timeMs: number): void {
    this.close(id);
    this.push({ type: 'fail', id, seq: this.seq++, timeMs });
  }

  info(id: number, timeMs: number): void {
    this.close(id);
    this.push({ type: 'info', id, seq: this.seq++, timeMs });
  }

  isOpen(id: number): boolean {
    return this.open.has(id);
  }

  get openCount(): number {
    return this.open.size;
  }

  operations(): Operation<I, O>[] {
    return historyToOperations(this.events);
  }

  private close(id: number): void {
    if (!this.open.delete(id)) throw new Error(`history: operation ${id} is not open`);
  }

  private push(e: HistoryEvent<I, O>): void {
    if (this.events.length >= this.maxEvents)
      throw new RangeError(`history: more than ${this.maxEvents} events`);
    this.events.push(e);
  }
}

/** Pair invocations with completions: ok → returned operation, fail → dropped, info/pending → no return. */
export function historyToOperations<I, O>(events: readonly HistoryEvent<I, O>[]): Operation<I, O>[] {
  const byId = new Map<
    number,
    { clientId: number; input: I; call: number; return?: number; output?: O; failed?: boolean }
  >();
  const order: number[] = [];
  for (const e of events) {
    if (e.type === 'invoke') {
      byId.set(e.id, { clientId: e.clientId, input: e.input, call: e.seq });
      order.push(e.id);
      continue;
    }
    const op = byId.get(e.id);
    if (!op) throw new Error(`history: completion of unknown operation ${e.id}`);
    if (op.return !== undefined || op.failed) throw new Error(`history: operation ${e.id} completed twice`);
    if (e.type === 'ok') {
      op.return = e.seq;
      op.output = e.output;
    } else if (e.type === 'fail') op.failed = true;
  }
  const out: Operation<I, O>[] = [];
  for (const id of order) {
    const op = byId.get(id);
    if (!op || op.failed) continue;
    out.push(
      op.return === undefined
        ? { clientId: op.clientId, input: op.input, call: op.call }
        : {
            clientId: op.clientId,
            input: op.input,
            call: op.call,
            return: op.return,
            output: op.output as O,
          },
    );
  }
  return out;
}
