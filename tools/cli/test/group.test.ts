// chronik consume --group and chronik group … against a real chronik-server process. A new group
// waits the broker's initial rebalance delay (3 s) once, so the tests share few groups.
import net from 'node:net';
import type {
  ApiRequestByKey,
  ApiResponseByKey,
  ConsumerGroupHeartbeatRequest,
  KnownApiKey,
} from '@chronik/protocol';
import { ApiKey, decodeResponseFrame, encodeRequestFrame } from '@chronik/protocol';
import type { TestBroker } from './helpers/broker.js';
import { startBroker } from './helpers/broker.js';
import { jsonOf, runner } from './helpers/run.js';

let broker: TestBroker;
let chronik: ReturnType<typeof runner>;

beforeAll(async () => {
  broker = await startBroker();
  chronik = runner(broker.bootstrap);
  expect((await chronik(['topic', 'create', 'jobs', '-p', '3'])).code).toBe(0);
  for (const p of [0, 1, 2]) {
    const lines = Array.from({ length: 4 + p }, (_, i) => `p${p}-${i}`).join('\n');
    expect((await chronik(['produce', 'jobs', '-p', String(p)], { stdin: lines })).code).toBe(0);
  }
});
afterAll(async () => {
  await broker.stop();
});

interface OffsetRow {
  topic: string;
  partition: number;
  currentOffset: number | null;
  logEndOffset: number | null;
  lag: number | null;
  memberId: string | null;
}
interface GroupDoc {
  group: string;
  state: string;
  members: Array<{
    memberId: string;
    clientId: string;
    assignment: Array<{ topic: string; partition: number }>;
  }>;
  offsets: OffsetRow[];
}

describe('group', () => {
  test('a group consumer reads everything once, commits, and describe shows the lag', async () => {
    const first = await chronik(['consume', 'jobs', '-g', 'workers', '-n', '5']);
    expect(first.code).toBe(0);
    expect(first.stdout.split('\n').filter(Boolean)).toHaveLength(5);
    const rest = await chronik(['consume', 'jobs', '-g', 'workers']);
    expect(rest.stdout.split('\n').filter(Boolean)).toHaveLength(15 - 5);
    expect([...first.stdout.split('\n'), ...rest.stdout.split('\n')].filter(Boolean).sort()).toEqual(
      [0, 1, 2].flatMap((p) => Array.from({ length: 4 + p }, (_, i) => `p${p}-${i}`)).sort(),
    );
    expect((await chronik(['produce', 'jobs', '-p', '2'], { stdin: 'more1\nmore2\n' })).code).toBe(0);

    const text = await chronik(['group', 'describe', 'workers']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^Group: workers {2}State: Empty {2}Protocol: - {2}Members: 0$/m);
    expect(text.stdout).toMatch(
      /^TOPIC\s+PARTITION\s+CURRENT-OFFSET\s+LOG-END-OFFSET\s+LAG\s+CONSUMER-ID\s+HOST\s+CLIENT-ID$/m,
    );
    expect(text.stdout).toMatch(/^jobs\s+0\s+4\s+4\s+0\s+-\s+-\s+-$/m);
    expect(text.stdout).toMatch(/^jobs\s+2\s+6\s+8\s+2\s+-\s+-\s+-$/m);
    const [doc] = jsonOf<GroupDoc[]>(await chronik(['group', 'describe', 'workers', '--format', 'json']));
    expect(doc?.offsets.map((o) => [o.partition, o.currentOffset, o.logEndOffset, o.lag])).toEqual([
      [0, 4, 4, 0],
      [1, 5, 5, 0],
      [2, 6, 8, 2],
    ]);

    const list = await chronik(['group', 'list']);
    expect(list.stdout).toMatch(/^GROUP\s+STATE\s+PROTOCOL-TYPE\s+COORDINATOR$/m);
    expect(list.stdout).toMatch(/^workers\s+Empty\s+consumer\s+1$/m);
    expect(jsonOf(await chronik(['group', 'list', '--format', 'json']))).toEqual([
      { groupId: 'workers', state: 'Empty', protocolType: 'consumer', coordinator: 1 },
    ]);
  });

  test('reset-offsets: a dry run by default, then --execute; refused while the group has members', async () => {
    const dry = await chronik(['group', 'reset-offsets', 'workers', '--topic', 'jobs', '--to', 'earliest']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^GROUP\s+TOPIC\s+PARTITION\s+CURRENT-OFFSET\s+NEW-OFFSET$/m);
    expect(dry.stdout).toMatch(/^workers\s+jobs\s+2\s+6\s+0$/m);
    expect(dry.stderr).toBe(
      'Dry run: nothing was changed. Run again with --execute to commit these offsets.\n',
    );
    const unchanged = jsonOf<GroupDoc[]>(await chronik(['group', 'describe', 'workers', '--format', 'json']));
    expect(unchanged[0]?.offsets[2]?.currentOffset).toBe(6);

    const executed = jsonOf<{ executed: boolean; offsets: Array<{ partition: number; newOffset: number }> }>(
      await chronik([
        'group',
        'reset-offsets',
        'workers',
        '--topic',
        'jobs:1,2',
        '--to',
        '3',
        '--execute',
        '--format',
        'json',
      ]),
    );
    expect(executed.executed).toBe(true);
    expect(executed.offsets.map((o) => [o.partition, o.newOffset])).toEqual([
      [1, 3],
      [2, 3],
    ]);
    // On a terminal a progress bar counts the partitions committed.
    const latest = await chronik(
      ['group', 'reset-offsets', 'workers', '--all-topics', '--to', 'latest', '--execute'],
      { tty: true },
    );
    expect(latest.stdout).toMatch(/^workers\s+jobs\s+2\s+3\s+8$/m);
    expect(latest.stderr).toContain('resetting workers [');
    const byTime = jsonOf<{ offsets: Array<{ newOffset: number }> }>(
      await chronik([
        'group',
        'reset-offsets',
        'workers',
        '--all-topics',
        '--to',
        `@${Date.now() + 60_000}`,
        '--format',
        'json',
      ]),
    );
    expect(byTime.offsets.map((o) => o.newOffset)).toEqual([4, 5, 8]);
    const after = jsonOf<GroupDoc[]>(await chronik(['group', 'describe', 'workers', '--format', 'json']));
    expect(after[0]?.offsets.map((o) => o.lag)).toEqual([0, 0, 0]);

    const stop = new AbortController();
    const member = chronik(['consume', 'jobs', '-g', 'workers', '--follow'], { signal: stop.signal });
    try {
      let described: GroupDoc | undefined;
      for (let i = 0; i < 100; i++) {
        [described] = jsonOf<GroupDoc[]>(await chronik(['group', 'describe', 'workers', '--format', 'json']));
        if (described?.state === 'Stable') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(described?.members).toHaveLength(1);
      expect(described?.members[0]?.assignment).toHaveLength(3);
      expect(described?.offsets[0]?.memberId).toBe(described?.members[0]?.memberId);
      const refused = await chronik([
        'group',
        'reset-offsets',
        'workers',
        '--all-topics',
        '--to',
        'earliest',
        '--execute',
      ]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toBe(
        'chronik: NON_EMPTY_GROUP: group "workers": Offsets can only be reset while the group has no members; it is Stable with 1 member: stop its consumers first.\n',
      );
      const deleteBusy = await chronik(['group', 'delete', 'workers']);
      expect(deleteBusy.code).toBe(1);
      expect(deleteBusy.stderr).toMatch(/^chronik: NON_EMPTY_GROUP: group "workers": /);
    } finally {
      stop.abort();
    }
    expect((await member).code).toBe(0);

    const usage = await chronik(['group', 'reset-offsets', 'workers', '--to', 'earliest']);
    expect(usage).toMatchObject({
      code: 2,
      stderr: 'chronik: USAGE: reset-offsets: give either --topic or --all-topics\n',
    });
    expect((await chronik(['group', 'reset-offsets', 'workers', '--all-topics', '--to', 'soon'])).code).toBe(
      2,
    );
  });

  test('two members of one group split the partitions (range assignor) and leave cleanly', async () => {
    const stops = [new AbortController(), new AbortController()];
    const members = stops.map((s) =>
      chronik(['consume', 'jobs', '-g', 'pair', '--follow', '--from', 'end'], { signal: s.signal }),
    );
    try {
      let doc: GroupDoc | undefined;
      for (let i = 0; i < 150; i++) {
        // Until the first join completes the group is unknown (GROUP_ID_NOT_FOUND, exit 1).
        const r = await chronik(['group', 'describe', 'pair', '--format', 'json']);
        doc = r.code === 0 ? (JSON.parse(r.stdout) as GroupDoc[])[0] : undefined;
        if (
          doc?.state === 'Stable' &&
          doc.members.length === 2 &&
          doc.members.every((m) => m.assignment.length > 0)
        )
          break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const sizes = (doc?.members ?? []).map((m) => m.assignment.length).sort();
      expect(sizes).toEqual([1, 2]);
      expect((await chronik(['produce', 'jobs', '-p', '0'], { stdin: 'split\n' })).code).toBe(0);
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      for (const s of stops) s.abort();
    }
    const outputs = await Promise.all(members);
    expect(outputs.map((o) => o.code)).toEqual([0, 0]);
    expect(outputs.map((o) => o.stdout).join('')).toBe('split\n');
    const [after] = jsonOf<GroupDoc[]>(await chronik(['group', 'describe', 'pair', '--format', 'json']));
    expect(after?.state).toBe('Empty');
  });

  test('delete, and errors for a group that does not exist', async () => {
    expect(await chronik(['group', 'delete', 'pair'])).toEqual({
      code: 0,
      stdout: 'Deleted group "pair".\n',
      stderr: '',
    });
    const gone = await chronik(['group', 'describe', 'pair']);
    expect(gone).toEqual({
      code: 1,
      stdout: '',
      stderr: 'chronik: GROUP_ID_NOT_FOUND: group "pair": The group does not exist.\n',
    });
    const never = await chronik(['group', 'delete', 'never-was']);
    expect(never.code).toBe(1);
    expect(never.stderr).toMatch(/^chronik: GROUP_ID_NOT_FOUND: group "never-was": /);
  });

  test('describe shows a group of the consumer protocol (KIP-848) with its members and assignment', async () => {
    // One member joins by ConsumerGroupHeartbeat (the standalone broker coordinates every group).
    const [host, port] = broker.bootstrap.split(':');
    const answer = await heartbeat(host as string, Number(port), {
      groupId: 'kip848',
      memberId: 'member-a',
      memberEpoch: 0,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: 30_000,
      subscribedTopicNames: ['jobs'],
      subscribedTopicRegex: null,
      serverAssignor: 'uniform',
      topicPartitions: [],
    });
    expect(answer.errorCode).toBe(0);

    const r = await chronik(['group', 'describe', 'kip848', '--format', 'json']);
    expect(r.code).toBe(0);
    const [doc] = jsonOf<GroupDoc[]>(r);
    expect(doc?.state).not.toBe('Dead');
    expect(doc?.members).toHaveLength(1);
    expect(doc?.members[0]?.memberId).toBe(answer.memberId);
    expect(doc?.members[0]?.assignment.map((a) => `${a.topic}-${a.partition}`).sort()).toEqual([
      'jobs-0',
      'jobs-1',
      'jobs-2',
    ]);
    const text = await chronik(['group', 'describe', 'kip848']);
    expect(text.stdout).toMatch(/Protocol: uniform {2}Members: 1/);
  });
});

/**
 * One ConsumerGroupHeartbeat v0 on a connection of its own (the CLI does not speak the protocol),
 * repeated while the coordinator is not ready (the offsets topic is created by the first
 * FindCoordinator, which the heartbeat does not send).
 */
async function heartbeat(
  host: string,
  port: number,
  body: ConsumerGroupHeartbeatRequest,
): Promise<{ errorCode: number; memberId: string | null }> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    await call(host, port, ApiKey.FindCoordinator, 0, { key: body.groupId, keyType: 0, coordinatorKeys: [] });
    const res = await call(host, port, ApiKey.ConsumerGroupHeartbeat, 0, body);
    // COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR: try again.
    if (![14, 15, 16].includes(res.errorCode) || Date.now() > deadline)
      return { errorCode: res.errorCode, memberId: res.memberId };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function call<K extends KnownApiKey>(
  host: string,
  port: number,
  apiKey: K,
  version: number,
  body: ApiRequestByKey[K],
): Promise<ApiResponseByKey[K]> {
  const socket = net.connect(port, host);
  try {
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    socket.write(
      Buffer.concat(
        encodeRequestFrame(
          { requestApiKey: apiKey, requestApiVersion: version, correlationId: 1, clientId: 'kip848-test' },
          body,
        ),
      ),
    );
    let received = Buffer.alloc(0);
    for await (const chunk of socket) {
      received = Buffer.concat([received, chunk as Buffer]);
      if (received.length >= 4 && received.length >= 4 + received.readInt32BE(0)) break;
    }
    return decodeResponseFrame(apiKey, version, received.subarray(4, 4 + received.readInt32BE(0))).body;
  } finally {
    socket.destroy();
  }
}
