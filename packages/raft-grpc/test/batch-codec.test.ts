// batch-codec.ts writes and reads the same protobuf `Batch` as the generated codec.
import fc from 'fast-check';
import { MessageType, newMessage } from '@chronik/raft';
import type { Entry, Message } from '@chronik/raft';
import { decodeBatch, encodeBatch, isPlainHeartbeat } from '../src/batch-codec.js';
import type { BatchItem } from '../src/batch-codec.js';
import { messageFromWire, messageToWire } from '../src/codec.js';
import { Batch } from '../src/generated/raft.js';

const types = Object.values(MessageType) as MessageType[];
const uint = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 0, max: 300 }),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
);
const bytes = fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ maxLength: 300 }));
const entry: fc.Arbitrary<Entry> = fc.record({
  term: uint,
  index: uint,
  type: fc.constantFrom(0, 1, 2) as fc.Arbitrary<Entry['type']>,
  data: bytes,
});
const ids = fc.array(uint, { maxLength: 4 });
const message: fc.Arbitrary<Message> = fc.record({
  type: fc.constantFrom(...types),
  to: uint,
  from: uint,
  term: uint,
  logTerm: uint,
  index: uint,
  entries: fc.array(entry, { maxLength: 4 }),
  commit: uint,
  snapshot: fc.option(
    fc.record({
      metadata: fc.record({
        index: uint,
        term: uint,
        confState: fc.record({
          voters: ids,
          learners: ids,
          votersOutgoing: ids,
          learnersNext: ids,
          autoLeave: fc.boolean(),
        }),
      }),
      data: fc.constant(new Uint8Array(0)),
    }),
    { nil: null },
  ),
  reject: fc.boolean(),
  rejectHint: uint,
  context: bytes,
});
const items = fc.array(fc.record({ groupId: uint, message }), { maxLength: 8 });

/** What the old transport put on the wire for the same queue: the generated Batch. */
function generatedBatch(fromNode: number, toNode: number, list: readonly BatchItem[]): Batch {
  const plain = list.filter((i) => isPlainHeartbeat(i.message));
  return {
    fromNode,
    toNode,
    messages: list
      .filter((i) => !isPlainHeartbeat(i.message))
      .map((i) => ({ groupId: i.groupId, message: messageToWire(i.message) })),
    heartbeats: plain.map(({ groupId, message: m }) => ({
      groupId,
      term: m.term,
      commit: m.commit,
      context: Buffer.from(m.context),
      response: m.type === MessageType.MsgHeartbeatResp,
      index: m.index,
    })),
  };
}

/** The order decodeBatch delivers: messages first, then heartbeats (as encoded). */
function expectedOrder(list: readonly BatchItem[]): BatchItem[] {
  return [
    ...list.filter((i) => !isPlainHeartbeat(i.message)),
    ...list.filter((i) => isPlainHeartbeat(i.message)),
  ];
}

function normalize(m: Message, fromNode: number, toNode: number): unknown {
  const plain = isPlainHeartbeat(m);
  return {
    ...m,
    // Plain heartbeats travel compact: addressing comes from the batch, other fields are defaults.
    to: plain ? toNode : m.to,
    from: plain ? fromNode : m.from,
    logTerm: plain ? 0 : m.logTerm,
    reject: plain ? false : m.reject,
    rejectHint: plain ? 0 : m.rejectHint,
    snapshot: plain ? null : m.snapshot,
    entries: m.entries.map((e) => ({ ...e, data: Buffer.from(e.data) })),
    context: Buffer.from(m.context),
  };
}

describe('batch codec', () => {
  it('encodes the same bytes as the generated codec', () => {
    fc.assert(
      fc.property(uint, uint, items, (from, to, list) => {
        const ours = encodeBatch({ fromNode: from, toNode: to, items: list });
        const theirs = Buffer.from(Batch.encode(generatedBatch(from, to, list)).finish());
        expect(ours.equals(theirs)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('decodes what the generated codec encodes, entry data as views of the buffer', () => {
    fc.assert(
      fc.property(uint, uint, items, (from, to, list) => {
        const wire = Buffer.from(Batch.encode(generatedBatch(from, to, list)).finish());
        const got = decodeBatch(wire);
        expect(got.fromNode).toBe(from);
        expect(got.toNode).toBe(to);
        const want = expectedOrder(list);
        expect(got.items.length).toBe(want.length);
        got.items.forEach((item, k) => {
          const w = want[k]!;
          expect(item.groupId).toBe(w.groupId);
          if ('error' in item) throw new Error(item.error);
          expect(normalize(item.message, from, to)).toEqual(normalize(w.message, from, to));
          for (const e of item.message.entries)
            if (e.data.length > 0) expect(e.data.buffer).toBe(wire.buffer);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('decodes unpacked repeated fields and skips unknown fields', () => {
    const m: Message = {
      type: MessageType.MsgSnap,
      to: 2,
      from: 1,
      term: 3,
      logTerm: 0,
      index: 0,
      entries: [],
      commit: 0,
      snapshot: {
        metadata: {
          index: 9,
          term: 3,
          confState: {
            voters: [1, 2, 3],
            learners: [],
            votersOutgoing: [],
            learnersNext: [],
            autoLeave: false,
          },
        },
        data: new Uint8Array(0),
      },
      reject: false,
      rejectHint: 0,
      context: new Uint8Array(0),
    };
    const wire = messageToWire(m);
    // confState with voters unpacked (tag 1 varint each), plus an unknown fixed64 field 15.
    const conf = Buffer.from([0x08, 1, 0x08, 2, 0x08, 3, 0x79, 1, 2, 3, 4, 5, 6, 7, 8]);
    const snap = Buffer.concat([Buffer.from([0x08, 9, 0x10, 3, 0x1a, conf.length]), conf]);
    const raftMsg = Buffer.from(
      Batch.encode({
        fromNode: 1,
        toNode: 2,
        messages: [{ groupId: 5, message: { ...wire, snapshot: undefined } }],
        heartbeats: [],
      }).finish(),
    );
    const decodedPlain = decodeBatch(raftMsg);
    expect(decodedPlain.items).toHaveLength(1);
    // Rebuild by hand: GroupMessage{1:5, 2:RaftMessage{type 7, to 2, from 1, term 3, snapshot}}.
    const rm = Buffer.concat([Buffer.from([0x08, 7, 0x10, 2, 0x18, 1, 0x20, 3, 0x4a, snap.length]), snap]);
    const gm = Buffer.concat([Buffer.from([0x08, 5, 0x12, rm.length]), rm]);
    const batch = Buffer.concat([
      Buffer.from([0x08, 1, 0x10, 2, 0x1a, gm.length]),
      gm,
      Buffer.from([0xf8, 0x07, 42]),
    ]);
    const got = decodeBatch(batch);
    const item = got.items[0]!;
    if ('error' in item) throw new Error(item.error);
    expect(item.message.snapshot?.metadata).toEqual(m.snapshot?.metadata);
    expect(messageFromWire(messageToWire(item.message)).snapshot?.metadata.confState.voters).toEqual([
      1, 2, 3,
    ]);
  });

  it('reports an undecodable message as an item error and refuses truncated framing', () => {
    // GroupMessage with a RaftMessage of unknown type 99.
    const rm = Buffer.from([0x08, 99]);
    const gm = Buffer.concat([Buffer.from([0x08, 5, 0x12, rm.length]), rm]);
    const batch = Buffer.concat([Buffer.from([0x08, 1, 0x10, 2, 0x1a, gm.length]), gm]);
    const got = decodeBatch(batch);
    expect(got.items).toEqual([{ groupId: 5, error: expect.stringMatching(/unknown raft message type/) }]);
    expect(() => decodeBatch(batch.subarray(0, batch.length - 1))).toThrow(/overruns/);
    expect(() => decodeBatch(Buffer.from([0x08, 0xff]))).toThrow(/truncated varint/);
  });

  it('refuses numbers it cannot encode', () => {
    const m: Message = {
      type: MessageType.MsgApp,
      to: 2,
      from: 1,
      term: -1,
      logTerm: 0,
      index: 0,
      entries: [],
      commit: 0,
      snapshot: null,
      reject: false,
      rejectHint: 0,
      context: new Uint8Array(0),
    };
    expect(() => encodeBatch({ fromNode: 1, toNode: 2, items: [{ groupId: 1, message: m }] })).toThrow(
      /cannot encode -1/,
    );
  });
});

describe('quiescence on the wire (docs/design/quiescence.md)', () => {
  it('a quiesce heartbeat keeps its logTerm and a wake-up response its reject', () => {
    const base = newMessage({ type: MessageType.MsgHeartbeat, from: 1, to: 2, term: 3, commit: 9 });
    const quiesce = { ...base, logTerm: 3 };
    const wakeUp = newMessage({ type: MessageType.MsgHeartbeatResp, from: 2, to: 1, term: 3, reject: true });
    const got = decodeBatch(
      encodeBatch({
        fromNode: 1,
        toNode: 2,
        items: [
          { groupId: 7, message: base },
          { groupId: 7, message: quiesce },
          { groupId: 8, message: wakeUp },
        ],
      }),
    ).items.map((i) =>
      'error' in i ? i.error : [i.groupId, i.message.type, i.message.logTerm, i.message.reject],
    );
    // Full messages first, then the compact heartbeat list.
    expect(got).toEqual([
      [7, MessageType.MsgHeartbeat, 3, false],
      [8, MessageType.MsgHeartbeatResp, 0, true],
      [7, MessageType.MsgHeartbeat, 0, false],
    ]);
  });
});
