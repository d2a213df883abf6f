// The hot path of the transport: a `Batch` (proto/raft.proto) encoded straight from @chronik/raft
// messages and decoded straight into them, without the generated codec's intermediate objects.
//
// Why by hand (an exception to "generate everything the schema describes"): the generated encoder
// copies an entry's data once per nesting level (Entry, RaftMessage, GroupMessage, Batch) and once
// more into a Buffer; this one computes every length first and writes one buffer, copying entry
// data exactly once, and the decoder returns entry data as views of the received buffer. The bytes
// are the same protobuf the generated code reads and writes (proto3: fields at their default value
// are left out, repeated uint64 packed); test/batch-codec.test.ts checks both directions against
// the generated codec.
import { MessageType } from '@chronik/raft';
import type { ConfState, Entry, Message, Snapshot } from '@chronik/raft';
import { messageTypeFromWire, messageTypeToWire } from './codec.js';
import { TransportError } from './errors.js';

/** One queued message of one group. */
export interface BatchItem {
  groupId: number;
  message: Message;
}

/** What one flush of a peer's queue sends: messages in queue order (plain heartbeats travel compact). */
export interface OutgoingBatch {
  fromNode: number;
  toNode: number;
  items: readonly BatchItem[];
}

/** A received batch: every message in the order sent (heartbeats after the others, as encoded). */
export interface IncomingBatch {
  fromNode: number;
  toNode: number;
  /** A message that could not be decoded carries `error` instead (the rest of the batch still counts). */
  items: Array<{ groupId: number; message: Message } | { groupId: number; error: string }>;
}

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;
const empty = new Uint8Array(0);

/**
 * Whether a message travels in the compact `heartbeats` list, which carries term, commit, context and
 * index only. A quiesce heartbeat (`logTerm` set) and a rejecting response (a follower's "wake up")
 * travel as full messages (@chronik/raft's quiescence, docs/design/quiescence.md).
 */
export function isPlainHeartbeat(m: Message): boolean {
  return (
    (m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgHeartbeatResp) &&
    m.entries.length === 0 &&
    m.logTerm === 0 &&
    !m.reject
  );
}

// ---------------------------------------------------------------- sizes

// uint64 values are JS numbers up to 2^53 (ts-proto's forceLong=number): varints are built with
// arithmetic, not 32-bit bit operations.
function varintSize(v: number): number {
  if (v < 0 || !Number.isSafeInteger(v))
    throw new TransportError('InvalidMessage', `cannot encode ${v} as uint64`);
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Size of a varint field (tag + value), 0 when the value is the default. */
function uintField(v: number): number {
  return v === 0 ? 0 : 1 + varintSize(v);
}

function lenField(len: number, tagBytes = 1): number {
  return tagBytes + varintSize(len) + len;
}

function bytesField(b: Uint8Array): number {
  return b.length === 0 ? 0 : lenField(b.length);
}

function entrySize(e: Entry): number {
  return uintField(e.term) + uintField(e.index) + uintField(e.type) + bytesField(e.data);
}

function packedSize(vs: readonly number[]): number {
  if (vs.length === 0) return 0;
  let n = 0;
  for (const v of vs) n += varintSize(v);
  return lenField(n);
}

function confStateSize(c: ConfState): number {
  return (
    packedSize(c.voters) +
    packedSize(c.learners) +
    packedSize(c.votersOutgoing) +
    packedSize(c.learnersNext) +
    (c.autoLeave ? 2 : 0)
  );
}

function snapshotMetadataSize(s: Snapshot): number {
  return (
    uintField(s.metadata.index) + uintField(s.metadata.term) + lenField(confStateSize(s.metadata.confState))
  );
}

/** Sizes of a message's nested parts, computed once and reused by the writer. */
interface Sized {
  message: Message;
  entrySizes: number[];
  snapshotSize: number;
  size: number;
}

function sizeMessage(m: Message): Sized {
  const entrySizes: number[] = [];
  let size =
    uintField(messageTypeToWire(m.type)) +
    uintField(m.to) +
    uintField(m.from) +
    uintField(m.term) +
    uintField(m.logTerm) +
    uintField(m.index) +
    uintField(m.commit) +
    (m.reject ? 2 : 0) +
    uintField(m.rejectHint) +
    bytesField(m.context);
  for (const e of m.entries) {
    const s = entrySize(e);
    entrySizes.push(s);
    size += lenField(s);
  }
  let snapshotSize = 0;
  if (m.snapshot) {
    snapshotSize = snapshotMetadataSize(m.snapshot);
    size += lenField(snapshotSize);
  }
  return { message: m, entrySizes, snapshotSize, size };
}

function heartbeatSize(groupId: number, m: Message): number {
  return (
    uintField(groupId) +
    uintField(m.term) +
    uintField(m.commit) +
    bytesField(m.context) +
    (m.type === MessageType.MsgHeartbeatResp ? 2 : 0) +
    uintField(m.index)
  );
}

// ---------------------------------------------------------------- writer

class Writer {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  varint(v: number): void {
    const buf = this.buf;
    while (v >= 128) {
      buf[this.pos++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    buf[this.pos++] = v;
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  uint(field: number, v: number): void {
    if (v === 0) return;
    this.tag(field, WIRE_VARINT);
    this.varint(v);
  }

  bool(field: number, v: boolean): void {
    if (!v) return;
    this.tag(field, WIRE_VARINT);
    this.buf[this.pos++] = 1;
  }

  bytes(field: number, b: Uint8Array): void {
    if (b.length === 0) return;
    this.tag(field, WIRE_LEN);
    this.varint(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  len(field: number, n: number): void {
    this.tag(field, WIRE_LEN);
    this.varint(n);
  }

  packed(field: number, vs: readonly number[]): void {
    if (vs.length === 0) return;
    let n = 0;
    for (const v of vs) n += varintSize(v);
    this.len(field, n);
    for (const v of vs) this.varint(v);
  }
}

function writeMessage(w: Writer, s: Sized): void {
  const m = s.message;
  w.uint(1, messageTypeToWire(m.type));
  w.uint(2, m.to);
  w.uint(3, m.from);
  w.uint(4, m.term);
  w.uint(5, m.logTerm);
  w.uint(6, m.index);
  for (let k = 0; k < m.entries.length; k++) {
    const e = m.entries[k] as Entry;
    w.len(7, s.entrySizes[k] as number);
    w.uint(1, e.term);
    w.uint(2, e.index);
    w.uint(3, e.type);
    w.bytes(4, e.data);
  }
  w.uint(8, m.commit);
  if (m.snapshot) {
    const md = m.snapshot.metadata;
    w.len(9, s.snapshotSize);
    w.uint(1, md.index);
    w.uint(2, md.term);
    const c = md.confState;
    w.len(3, confStateSize(c));
    w.packed(1, c.voters);
    w.packed(2, c.learners);
    w.packed(3, c.votersOutgoing);
    w.packed(4, c.learnersNext);
    w.bool(5, c.autoLeave);
  }
  w.bool(10, m.reject);
  w.uint(11, m.rejectHint);
  w.bytes(12, m.context);
}

/**
 * Encodes a batch as the protobuf `Batch`: plain heartbeats in the compact `heartbeats` list, every
 * other message as a `GroupMessage`. One allocation; entry data is copied once.
 */
export function encodeBatch(b: OutgoingBatch): Buffer {
  const sized: Array<{ groupId: number; s: Sized; gmSize: number }> = [];
  const beats: Array<{ groupId: number; m: Message; size: number }> = [];
  let total = uintField(b.fromNode) + uintField(b.toNode);
  for (const { groupId, message } of b.items) {
    if (isPlainHeartbeat(message)) {
      const size = heartbeatSize(groupId, message);
      beats.push({ groupId, m: message, size });
      total += lenField(size);
    } else {
      const s = sizeMessage(message);
      const gmSize = uintField(groupId) + lenField(s.size);
      sized.push({ groupId, s, gmSize });
      total += lenField(gmSize);
    }
  }
  const w = new Writer(Buffer.allocUnsafe(total));
  w.uint(1, b.fromNode);
  w.uint(2, b.toNode);
  for (const { groupId, s, gmSize } of sized) {
    w.len(3, gmSize);
    w.uint(1, groupId);
    w.len(2, s.size);
    writeMessage(w, s);
  }
  for (const { groupId, m, size } of beats) {
    w.len(4, size);
    w.uint(1, groupId);
    w.uint(2, m.term);
    w.uint(3, m.commit);
    w.bytes(4, m.context);
    w.bool(5, m.type === MessageType.MsgHeartbeatResp);
    w.uint(6, m.index);
  }
  if (w.pos !== total)
    throw new TransportError('InvalidMessage', `batch encoded to ${w.pos} bytes, sized ${total}`);
  return w.buf;
}

// ---------------------------------------------------------------- reader

class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  varint(): number {
    const buf = this.buf;
    let v = 0;
    let mul = 1;
    for (let k = 0; k < 10; k++) {
      if (this.pos >= this.end) throw new TransportError('InvalidMessage', 'truncated varint');
      const b = buf[this.pos++] as number;
      v += (b & 127) * mul;
      if (b < 128) {
        if (!Number.isSafeInteger(v))
          throw new TransportError('InvalidMessage', 'uint64 value beyond Number.MAX_SAFE_INTEGER');
        return v;
      }
      mul *= 128;
    }
    throw new TransportError('InvalidMessage', 'varint longer than 10 bytes');
  }

  /** The bounds of a length-delimited field's contents. */
  sub(): { start: number; end: number } {
    const n = this.varint();
    const start = this.pos;
    const end = start + n;
    if (end > this.end)
      throw new TransportError('InvalidMessage', 'length-delimited field overruns its message');
    this.pos = end;
    return { start, end };
  }

  bytes(): Uint8Array {
    const { start, end } = this.sub();
    return this.buf.subarray(start, end);
  }

  skip(wire: number): void {
    if (wire === WIRE_VARINT) this.varint();
    else if (wire === WIRE_I64) this.pos += 8;
    else if (wire === WIRE_LEN) this.sub();
    else if (wire === WIRE_I32) this.pos += 4;
    else throw new TransportError('InvalidMessage', `unsupported wire type ${wire}`);
    if (this.pos > this.end) throw new TransportError('InvalidMessage', 'field overruns its message');
  }

  /** A repeated uint64, packed or not. */
  repeated(wire: number, out: number[]): void {
    if (wire === WIRE_LEN) {
      const { start, end } = this.sub();
      const r = new Reader(this.buf, start, end);
      while (r.pos < end) out.push(r.varint());
    } else {
      out.push(this.varint());
    }
  }
}

function readEntry(buf: Uint8Array, start: number, end: number): Entry {
  const r = new Reader(buf, start, end);
  let term = 0;
  let index = 0;
  let type = 0;
  let data: Uint8Array = empty;
  while (r.pos < end) {
    const t = r.varint();
    const field = Math.floor(t / 8);
    const wire = t & 7;
    if (field === 1 && wire === WIRE_VARINT) term = r.varint();
    else if (field === 2 && wire === WIRE_VARINT) index = r.varint();
    else if (field === 3 && wire === WIRE_VARINT) type = r.varint();
    else if (field === 4 && wire === WIRE_LEN) data = r.bytes();
    else r.skip(wire);
  }
  if (type !== 0 && type !== 1 && type !== 2)
    throw new TransportError('InvalidMessage', `unknown entry type ${type}`);
  return { term, index, type, data };
}

function readConfState(buf: Uint8Array, start: number, end: number): ConfState {
  const r = new Reader(buf, start, end);
  const voters: number[] = [];
  const learners: number[] = [];
  const votersOutgoing: number[] = [];
  const learnersNext: number[] = [];
  let autoLeave = false;
  while (r.pos < end) {
    const t = r.varint();
    const field = Math.floor(t / 8);
    const wire = t & 7;
    if (field === 1) r.repeated(wire, voters);
    else if (field === 2) r.repeated(wire, learners);
    else if (field === 3) r.repeated(wire, votersOutgoing);
    else if (field === 4) r.repeated(wire, learnersNext);
    else if (field === 5 && wire === WIRE_VARINT) autoLeave = r.varint() !== 0;
    else r.skip(wire);
  }
  return { voters, learners, votersOutgoing, learnersNext, autoLeave };
}

function readSnapshotMetadata(buf: Uint8Array, start: number, end: number): Snapshot {
  const r = new Reader(buf, start, end);
  let index = 0;
  let term = 0;
  let confState: ConfState | undefined;
  while (r.pos < end) {
    const t = r.varint();
    const field = Math.floor(t / 8);
    const wire = t & 7;
    if (field === 1 && wire === WIRE_VARINT) index = r.varint();
    else if (field === 2 && wire === WIRE_VARINT) term = r.varint();
    else if (field === 3 && wire === WIRE_LEN) {
      const s = r.sub();
      confState = readConfState(buf, s.start, s.end);
    } else r.skip(wire);
  }
  return {
    metadata: {
      index,
      term,
      confState: confState ?? {
        voters: [],
        learners: [],
        votersOutgoing: [],
        learnersNext: [],
        autoLeave: false,
      },
    },
    data: empty,
  };
}

function readMessage(buf: Uint8Array, start: number, end: number): Message {
  const r = new Reader(buf, start, end);
  let type = 0;
  let to = 0;
  let from = 0;
  let term = 0;
  let logTerm = 0;
  let index = 0;
  const entries: Entry[] = [];
  let commit = 0;
  let snapshot: Snapshot | null = null;
  let reject = false;
  let rejectHint = 0;
  let context: Uint8Array = empty;
  while (r.pos < end) {
    const t = r.varint();
    const field = Math.floor(t / 8);
    const wire = t & 7;
    if (wire === WIRE_VARINT) {
      const v = r.varint();
      if (field === 1) type = v;
      else if (field === 2) to = v;
      else if (field === 3) from = v;
      else if (field === 4) term = v;
      else if (field === 5) logTerm = v;
      else if (field === 6) index = v;
      else if (field === 8) commit = v;
      else if (field === 10) reject = v !== 0;
      else if (field === 11) rejectHint = v;
    } else if (wire === WIRE_LEN && field === 7) {
      const s = r.sub();
      entries.push(readEntry(buf, s.start, s.end));
    } else if (wire === WIRE_LEN && field === 9) {
      const s = r.sub();
      snapshot = readSnapshotMetadata(buf, s.start, s.end);
    } else if (wire === WIRE_LEN && field === 12) {
      context = r.bytes();
    } else {
      r.skip(wire);
    }
  }
  return {
    type: messageTypeFromWire(type),
    to,
    from,
    term,
    logTerm,
    index,
    entries,
    commit,
    snapshot,
    reject,
    rejectHint,
    context,
  };
}

/**
 * Decodes a protobuf `Batch`. Entry data and contexts are views of `buf` (which must not be
 * reused). A GroupMessage that does not decode becomes an `error` item; a malformed batch
 * framing throws TransportError InvalidMessage.
 */
export function decodeBatch(buf: Uint8Array): IncomingBatch {
  const r = new Reader(buf, 0, buf.length);
  let fromNode = 0;
  let toNode = 0;
  const items: IncomingBatch['items'] = [];
  const beats: Array<{ start: number; end: number }> = [];
  while (r.pos < buf.length) {
    const t = r.varint();
    const field = Math.floor(t / 8);
    const wire = t & 7;
    if (field === 1 && wire === WIRE_VARINT) fromNode = r.varint();
    else if (field === 2 && wire === WIRE_VARINT) toNode = r.varint();
    else if (field === 3 && wire === WIRE_LEN) {
      const gm = r.sub();
      const g = new Reader(buf, gm.start, gm.end);
      let groupId = 0;
      let msg: { start: number; end: number } | null = null;
      while (g.pos < gm.end) {
        const gt = g.varint();
        const gf = Math.floor(gt / 8);
        const gw = gt & 7;
        if (gf === 1 && gw === WIRE_VARINT) groupId = g.varint();
        else if (gf === 2 && gw === WIRE_LEN) msg = g.sub();
        else g.skip(gw);
      }
      if (msg === null) continue;
      try {
        items.push({ groupId, message: readMessage(buf, msg.start, msg.end) });
      } catch (e) {
        items.push({ groupId, error: (e as Error).message });
      }
    } else if (field === 4 && wire === WIRE_LEN) {
      beats.push(r.sub());
    } else r.skip(wire);
  }
  for (const hb of beats) {
    const h = new Reader(buf, hb.start, hb.end);
    let groupId = 0;
    let term = 0;
    let commit = 0;
    let context: Uint8Array = empty;
    let response = false;
    let index = 0;
    while (h.pos < hb.end) {
      const t = h.varint();
      const field = Math.floor(t / 8);
      const wire = t & 7;
      if (field === 1 && wire === WIRE_VARINT) groupId = h.varint();
      else if (field === 2 && wire === WIRE_VARINT) term = h.varint();
      else if (field === 3 && wire === WIRE_VARINT) commit = h.varint();
      else if (field === 4 && wire === WIRE_LEN) context = h.bytes();
      else if (field === 5 && wire === WIRE_VARINT) response = h.varint() !== 0;
      else if (field === 6 && wire === WIRE_VARINT) index = h.varint();
      else h.skip(wire);
    }
    items.push({
      groupId,
      message: {
        type: response ? MessageType.MsgHeartbeatResp : MessageType.MsgHeartbeat,
        to: toNode,
        from: fromNode,
        term,
        logTerm: 0,
        index,
        entries: [],
        commit,
        snapshot: null,
        reject: false,
        rejectHint: 0,
        context,
      },
    });
  }
  return { fromNode, toNode, items };
}
