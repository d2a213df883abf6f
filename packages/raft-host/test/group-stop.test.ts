// What the host does with errors out of a group's Raft core (README, "When a group stops"): a
// message the core refuses (invalid, not for this node) is dropped and the group goes on; an
// invariant violation — here an append that conflicts with a committed entry — stops the group for
// good, logged at error with its terms and indexes, its state machine told, every request refused;
// a failed fsync stops the whole host, and every group with it.
import { EntryType, MessageType, StateType, newMessage } from '@chronik/raft';
import type { Entry, Logger, Message } from '@chronik/raft';
import { MemFileSystem } from '@chronik/wal';
import { HostError, RaftHost } from '../src/index.js';
import { KvStateMachine } from './kv.js';
import { until } from './mem-net.js';

const GROUP = 5;
const enc = (s: string): Uint8Array => Buffer.from(s);

interface Line {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  fields: Record<string, unknown>;
}

function recordingLogger(lines: Line[]): Logger {
  const at =
    (level: Line['level']) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      lines.push({ level, msg, fields: fields ?? {} });
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A KV state machine that records what the host tells it. */
class WatchedKv extends KvStateMachine {
  roles: { role: StateType; leaderId: number; term: number }[] = [];
  stopped: Error[] = [];
  onRoleChange(role: StateType, leaderId: number, term: number): void {
    this.roles.push({ role, leaderId, term });
  }
  onStopped(error: Error): void {
    this.stopped.push(error);
  }
}

function entry(index: number, term: number, data: string): Entry {
  return { index, term, type: EntryType.Normal, data: enc(data) };
}

/** A MsgApp to node 1 from `from` at `term`, after (index, logTerm). */
function append(
  from: number,
  term: number,
  index: number,
  logTerm: number,
  entries: Entry[],
  commit: number,
): Message {
  return newMessage({ type: MessageType.MsgApp, to: 1, from, term, index, logTerm, entries, commit });
}

interface Fixture {
  host: RaftHost;
  fs: MemFileSystem;
  lines: Line[];
  kv: WatchedKv;
}

/** Node 1 of a group of voters 1–3 whose peers are played by the test (no transport, no ticks). */
async function follower(): Promise<Fixture> {
  const fs = new MemFileSystem();
  await fs.mkdir('/raft');
  const lines: Line[] = [];
  const host = new RaftHost({ nodeId: 1, dataDir: '/raft', fs, tickMs: 10, logger: recordingLogger(lines) });
  const kv = new WatchedKv();
  await host.openGroup({ groupId: GROUP, stateMachine: kv, bootstrapVoters: [1, 2, 3] });
  return { host, fs, lines, kv };
}

describe('RaftHost: errors out of the Raft core', () => {
  let f: Fixture;

  beforeEach(async () => {
    f = await follower();
    // Leader 2 at term 2 replicates and commits entries 2 and 3 (the bootstrap snapshot is index 1, term 1).
    f.host.receive(GROUP, append(2, 2, 1, 1, [entry(2, 2, 'a=1'), entry(3, 2, 'b=2')], 3));
    await until(() => f.host.status(GROUP).appliedIndex === 3);
    expect(f.kv.log).toEqual(['a=1', 'b=2']);
  });

  afterEach(async () => {
    await f.host.close();
  });

  test('an append that conflicts with a committed entry stops the group, logged at error, and every request is refused', async () => {
    // An append after (3, 2) that carries another entry for index 2, committed here: the core
    // finds the conflict with a committed entry (etcd panics on it).
    const bad = append(2, 2, 3, 2, [entry(2, 3, 'x=9')], 3);
    expect(() => f.host.receive(GROUP, bad)).not.toThrow();

    const st = f.host.status(GROUP);
    expect(st.failure).toMatchObject({ name: 'RaftError', code: 'InvariantViolated' });
    expect(st.failure?.message).toMatch(/conflicts with committed entry/);
    expect(st.role).toBe(StateType.Follower);
    expect(st.leaderId).toBe(-1);

    // Logged at error, with the group, the indexes and the terms on both sides.
    const line = f.lines.find((l) => l.level === 'error');
    expect(line?.msg).toMatch(/raft group 5 stopped: entry 2 conflicts with committed entry/);
    expect(line?.fields).toMatchObject({
      group: GROUP,
      code: 'InvariantViolated',
      commit: 3,
      applied: 3,
      lastIndex: 3,
      lastTerm: 2,
      message: {
        type: MessageType.MsgApp,
        from: 2,
        term: 2,
        index: 3,
        logTerm: 2,
        entries: [
          { index: 2, term: 3 },
          { index: 2, term: 3 },
        ],
      },
    });
    expect(f.lines.some((l) => l.level === 'debug' && /refused/.test(l.msg))).toBe(false);

    // The state machine was told once, with the core's error; it had never led, so no role change.
    expect(f.kv.stopped).toHaveLength(1);
    expect(f.kv.stopped[0]).toBe(st.failure);

    // Every request is refused with HostError Stopped, naming the cause.
    const stopped = { name: 'HostError', code: 'Stopped' };
    await expect(f.host.propose(GROUP, enc('c=3'))).rejects.toMatchObject(stopped);
    await expect(f.host.proposeOrForward(GROUP, enc('c=3'), 1000)).rejects.toMatchObject(stopped);
    await expect(f.host.readIndex(GROUP)).rejects.toMatchObject(stopped);
    expect(() => f.host.transferLeadership(GROUP, 2)).toThrow(HostError);
    await expect(f.host.propose(GROUP, enc('c=3'))).rejects.toThrow(/conflicts with committed entry/);

    // Nothing is stepped into it any more: a good append from the real leader changes nothing.
    f.host.receive(GROUP, append(2, 2, 3, 2, [entry(4, 2, 'c=3')], 4));
    f.host.campaign(GROUP);
    await new Promise((r) => setTimeout(r, 50));
    expect(f.host.status(GROUP).appliedIndex).toBe(3);
    expect(f.kv.log).toEqual(['a=1', 'b=2']);
    expect(f.kv.stopped).toHaveLength(1);
  });

  test('a message the core refuses is dropped, logged at debug, and the group goes on', async () => {
    // Addressed to another node; a proposal from a peer: both InvalidMessage.
    f.host.receive(GROUP, { ...append(2, 2, 3, 2, [entry(4, 2, 'c=3')], 4), to: 3 });
    f.host.receive(
      GROUP,
      newMessage({ type: MessageType.MsgProp, to: 1, from: 2, term: 2, entries: [entry(0, 0, 'p=1')] }),
    );
    const refused = f.lines.filter((l) => l.level === 'debug' && l.msg === 'raft message refused');
    expect(refused).toHaveLength(2);
    expect(refused.map((l) => l.fields['type'])).toEqual([MessageType.MsgApp, MessageType.MsgProp]);
    expect(f.lines.some((l) => l.level === 'error')).toBe(false);
    expect(f.host.status(GROUP).failure).toBeNull();
    expect(f.kv.stopped).toHaveLength(0);

    f.host.receive(GROUP, append(2, 2, 3, 2, [entry(4, 2, 'c=3')], 4));
    await until(() => f.host.status(GROUP).appliedIndex === 4);
    expect(f.kv.log).toEqual(['a=1', 'b=2', 'c=3']);
  });
});

test('a leader whose group stops is told it no longer leads before it hears onStopped', async () => {
  const fs = new MemFileSystem();
  await fs.mkdir('/raft');
  const lines: Line[] = [];
  const host = new RaftHost({ nodeId: 1, dataDir: '/raft', fs, tickMs: 10, logger: recordingLogger(lines) });
  const kv = new WatchedKv();
  try {
    await host.openGroup({ groupId: GROUP, stateMachine: kv, bootstrapVoters: [1] });
    host.campaign(GROUP);
    await host.propose(GROUP, enc('a=1'), 5000);
    expect(host.status(GROUP).role).toBe(StateType.Leader);
    const term = host.status(GROUP).term;
    // A newer leader's append that carries another entry for our committed index 2.
    const last = host.status(GROUP).lastIndex;
    host.receive(GROUP, append(2, term + 1, last, term, [entry(2, term + 1, 'x=9')], last));
    expect(host.status(GROUP).failure).toMatchObject({ code: 'InvariantViolated' });
    expect(kv.roles.at(-1)).toEqual({ role: StateType.Follower, leaderId: -1, term });
    expect(kv.stopped).toHaveLength(1);
    expect(host.status(GROUP)).toMatchObject({ role: StateType.Follower, leaderId: -1, progress: [] });
  } finally {
    await host.close();
  }
});

test('a failed fsync stops the host and every group: proposals are refused at once, state machines told', async () => {
  const fs = new MemFileSystem();
  await fs.mkdir('/raft');
  const lines: Line[] = [];
  const host = new RaftHost({ nodeId: 1, dataDir: '/raft', fs, tickMs: 10, logger: recordingLogger(lines) });
  const kvs = [new WatchedKv(), new WatchedKv()];
  try {
    for (const [i, kv] of kvs.entries()) {
      await host.openGroup({ groupId: 10 + i, stateMachine: kv, bootstrapVoters: [1] });
      host.campaign(10 + i);
      await host.propose(10 + i, enc('a=1'), 5000);
    }
    fs.failNext('datasync');
    const started = Date.now();
    // The proposal waits for the fsync that fails: it is refused then, not left to its timeout.
    await expect(host.propose(10, enc('b=2'), 30_000)).rejects.toMatchObject({
      name: 'HostError',
      code: 'Stopped',
    });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(host.failure).toBeInstanceOf(Error);
    for (const [i, kv] of kvs.entries()) {
      expect(kv.stopped).toHaveLength(1);
      expect(kv.stopped[0]?.message).toMatch(/fdatasync failed/);
      expect(kv.roles.at(-1)).toMatchObject({ role: StateType.Follower, leaderId: -1 });
      expect(host.status(10 + i).failure).toBe(host.failure);
      await expect(host.propose(10 + i, enc('c=3'))).rejects.toMatchObject({ code: 'Stopped' });
    }
    // The host logs its failure once (the storage layers log theirs), not once per group.
    const errors = lines.filter((l) => l.level === 'error').map((l) => l.msg);
    expect(errors.filter((m) => m === 'raft host cycle failed; the host stops processing')).toHaveLength(1);
    expect(errors.filter((m) => /raft group .* stopped/.test(m))).toEqual([]);
    await expect(host.openGroup({ groupId: 12, stateMachine: new KvStateMachine() })).rejects.toMatchObject({
      code: 'Stopped',
    });
  } finally {
    await host.close().catch(() => undefined);
  }
});
