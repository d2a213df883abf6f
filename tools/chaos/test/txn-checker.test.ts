// The transactional checks against small hand-made histories: a clean run passes, and each check
// finds what it is named after.
import type { FaultOp, Op, PollOp, RewindOp, TxnOp } from '../src/history.js';
import type { TxnCheckInput, TxnRead } from '../src/txn-checker.js';
import { checkTxn, txnUnavailability } from '../src/txn-checker.js';
import { outputValue, parseOutputValue } from '../src/txn-workload.js';

const A = 'in';
const B = 'out';

type Status = 'committed' | 'unknown' | 'aborted' | 'failed';

/** A transaction; `writes`: [topic, partition, values, acknowledged base offset]. */
function txn(
  process: string,
  n: number,
  status: Status,
  writes: Array<[string, number, string[], number?]>,
  input?: TxnOp['input'],
): TxnOp {
  const end =
    status === 'committed' || status === 'unknown' ? 'commit' : status === 'aborted' ? 'abort' : 'none';
  return {
    f: 'txn',
    process,
    transactionalId: `id-${process}`,
    txn: n,
    intent: status === 'aborted' ? 'abort' : 'commit',
    end,
    writes: writes.map(([topic, partition, values, offset]) => ({
      topic,
      partition,
      values,
      acked: status !== 'failed' || offset !== undefined,
      ...(offset !== undefined ? { offset } : {}),
    })),
    ...(input !== undefined ? { input } : {}),
    invokeMs: n * 10,
    completeMs: n * 10 + 5,
    outcome: status === 'committed' || status === 'aborted' ? 'ok' : status === 'unknown' ? 'info' : 'fail',
  };
}

function read(
  topic: string,
  partition: number,
  isolation: TxnRead['isolation'],
  records: Array<[number, string]>,
  via = 'b1',
): TxnRead {
  return {
    topic,
    partition,
    isolation,
    via,
    complete: true,
    records: records.map(([offset, value]) => ({ offset, value })),
  };
}

function poll(process: string, partition: number, records: Array<[number, string]>, at = 100): PollOp {
  return {
    f: 'poll',
    process,
    topic: A,
    partition,
    offsets: records.map(([o]) => o),
    values: records.map(([, v]) => v),
    invokeMs: at,
    completeMs: at,
    outcome: 'ok',
  };
}

// Input partitions 0 and 1: tp1's transaction 0 committed (one record each, markers at 1), its
// transaction 1 aborted (offsets 2, markers at 3). The worker transforms each committed input
// record in its own transaction and commits offset 4 on both.
const ops: Op[] = [
  txn('tp1', 0, 'committed', [
    [A, 0, ['tp1-0-0'], 0],
    [A, 1, ['tp1-0-1'], 0],
  ]),
  txn('tp1', 1, 'aborted', [
    [A, 0, ['tp1-1-0'], 2],
    [A, 1, ['tp1-1-1'], 2],
  ]),
  poll('ctp#0', 0, [[0, 'tp1-0-0']]),
  txn('ctp', 0, 'committed', [[B, 0, [outputValue('tp1-0-0', 0)], 0]], {
    topic: A,
    partition: 0,
    offsets: [0],
    values: ['tp1-0-0'],
    next: 4,
    consumer: 'ctp#0',
  }),
  poll('ctp#0', 1, [[0, 'tp1-0-1']]),
  txn('ctp', 1, 'committed', [[B, 1, [outputValue('tp1-0-1', 1)], 0]], {
    topic: A,
    partition: 1,
    offsets: [0],
    values: ['tp1-0-1'],
    next: 4,
    consumer: 'ctp#0',
  }),
];

function reads(over: Partial<Record<string, Array<[number, string]>>> = {}): TxnRead[] {
  const logs: Record<string, Array<[number, string]>> = {
    'in/0/rc': [[0, 'tp1-0-0']],
    'in/1/rc': [[0, 'tp1-0-1']],
    'in/0/ru': [
      [0, 'tp1-0-0'],
      [2, 'tp1-1-0'],
    ],
    'in/1/ru': [
      [0, 'tp1-0-1'],
      [2, 'tp1-1-1'],
    ],
    'out/0/rc': [[0, 'tp1-0-0>c0']],
    'out/1/rc': [[0, 'tp1-0-1>c1']],
    'out/0/ru': [[0, 'tp1-0-0>c0']],
    'out/1/ru': [[0, 'tp1-0-1>c1']],
    ...over,
  };
  const out: TxnRead[] = [];
  for (const [k, records] of Object.entries(logs)) {
    const [topic, p, iso] = k.split('/') as [string, string, string];
    const isolation = iso === 'rc' ? 'read_committed' : 'read_uncommitted';
    out.push(read(topic, Number(p), isolation, records ?? []));
    if (isolation === 'read_committed') out.push(read(topic, Number(p), isolation, records ?? [], 'b2'));
  }
  return out;
}

function input(over: Partial<TxnCheckInput> = {}): TxnCheckInput {
  return {
    ops,
    input: A,
    output: B,
    partitions: 2,
    reads: reads(),
    committedOffsets: { '0': 4, '1': 4 },
    unstable: [],
    closeOutFailed: [],
    ...over,
  };
}

const count = (r: ReturnType<typeof checkTxn>, name: string): number =>
  r.checks.find((c) => c.name === name)?.count ?? -1;
const failing = (r: ReturnType<typeof checkTxn>): Record<string, number> =>
  Object.fromEntries(r.checks.filter((c) => c.count > 0).map((c) => [c.name, c.count]));

describe('checkTxn', () => {
  test('a clean history is valid, with its counts', () => {
    const r = checkTxn(input());
    expect(failing(r)).toEqual({});
    expect(r.valid).toBe(true);
    expect(r.stats.producers).toMatchObject({ committed: 1, aborted: 1, unknown: 0, recordsAcked: 4 });
    expect(r.stats.worker).toMatchObject({ committed: 2, polls: 2, restarts: 0 });
    expect(r.stats).toMatchObject({
      abortedAcked: 2,
      abortedInLog: 2,
      pipelineInput: 2,
      pipelineExactlyOnce: 2,
      backlog: 0,
    });
    expect(r.stats.reads).toEqual({
      in: { read_committed: 2, read_uncommitted: 4 },
      out: { read_committed: 2, read_uncommitted: 2 },
    });
  });

  test('aborted read: a record of an aborted transaction visible, polled, or transformed', () => {
    const visible = checkTxn(
      input({
        reads: reads({
          'in/0/rc': [
            [0, 'tp1-0-0'],
            [2, 'tp1-1-0'],
          ],
        }),
      }),
    );
    expect(count(visible, 'txn-aborted-read')).toBe(1);
    expect(visible.valid).toBe(false);
    const polled = checkTxn(input({ ops: [...ops, poll('ctp#0', 0, [[2, 'tp1-1-0']], 200)] }));
    expect(count(polled, 'txn-aborted-read')).toBe(1);
    // The worker transformed it: the output is visible, its input is not.
    const transformed = checkTxn(
      input({
        ops: [
          ...ops,
          txn('ctp', 2, 'committed', [[B, 0, ['tp1-1-0>c2'], 1]], {
            topic: A,
            partition: 0,
            offsets: [2],
            values: ['tp1-1-0'],
            next: 4,
            consumer: 'ctp#0',
          }),
        ],
        reads: reads({
          'out/0/rc': [
            [0, 'tp1-0-0>c0'],
            [1, 'tp1-1-0>c2'],
          ],
          'out/0/ru': [
            [0, 'tp1-0-0>c0'],
            [1, 'tp1-1-0>c2'],
          ],
        }),
      }),
    );
    expect(failing(transformed)).toEqual({ 'txn-aborted-read': 1 });
  });

  test('a transaction that failed before its EndTxn is never committed', () => {
    const failed = txn('tp2', 0, 'failed', [[A, 0, ['tp2-0-0'], 5]]);
    const ru: Array<[number, string]> = [
      [0, 'tp1-0-0'],
      [2, 'tp1-1-0'],
      [5, 'tp2-0-0'],
    ];
    expect(failing(checkTxn(input({ ops: [...ops, failed], reads: reads({ 'in/0/ru': ru }) })))).toEqual({});
    const r = checkTxn(
      input({
        ops: [...ops, failed],
        reads: reads({
          'in/0/ru': ru,
          'in/0/rc': [
            [0, 'tp1-0-0'],
            [5, 'tp2-0-0'],
          ],
        }),
      }),
    );
    expect(count(r, 'txn-aborted-read')).toBe(1);
  });

  test('lost write: a record of a transaction whose commit was acknowledged is missing', () => {
    const r = checkTxn(input({ reads: reads({ 'in/1/rc': [] }) }));
    expect(count(r, 'txn-lost-write')).toBe(1);
    expect(r.checks.find((c) => c.name === 'txn-lost-write')?.details[0]).toContain('tp1-0-1');
    // The worker's output of it is still there: that is not an aborted read (its input was committed).
    expect(count(r, 'txn-aborted-read')).toBe(0);
    expect(r.valid).toBe(false);
  });

  test('all or nothing: a transaction whose commit got no answer is visible entirely or not at all', () => {
    const unknown = txn('tp2', 0, 'unknown', [
      [A, 0, ['tp2-0-0'], 4],
      [A, 1, ['tp2-0-1'], 4],
    ]);
    const ru = (p: number): Array<[number, string]> => [
      [0, `tp1-0-${p}`],
      [2, `tp1-1-${p}`],
      [4, `tp2-0-${p}`],
    ];
    const rc = (p: number, shown: boolean): Array<[number, string]> => [
      [0, `tp1-0-${p}`],
      ...(shown ? ([[4, `tp2-0-${p}`]] as Array<[number, string]>) : []),
    ];
    const run = (shown0: boolean, shown1: boolean) =>
      checkTxn(
        input({
          ops: [...ops, unknown],
          committedOffsets: { '0': 5, '1': 5 },
          reads: reads({
            'in/0/ru': ru(0),
            'in/1/ru': ru(1),
            'in/0/rc': rc(0, shown0),
            'in/1/rc': rc(1, shown1),
          }),
        }),
      );
    const none = run(false, false);
    expect(count(none, 'txn-all-or-nothing')).toBe(0);
    expect(none.stats.producers).toMatchObject({ unknown: 1, unknownInvisible: 1, unknownVisible: 0 });
    const all = run(true, true);
    expect(count(all, 'txn-all-or-nothing')).toBe(0);
    expect(all.stats.producers.unknownVisible).toBe(1);
    const half = run(true, false);
    expect(count(half, 'txn-all-or-nothing')).toBe(1);
    expect(half.valid).toBe(false);
  });

  test('duplicate: a value twice in one topic', () => {
    const r = checkTxn(
      input({
        reads: reads({
          'in/0/rc': [
            [0, 'tp1-0-0'],
            [5, 'tp1-0-0'],
          ],
          'in/0/ru': [
            [0, 'tp1-0-0'],
            [2, 'tp1-1-0'],
            [5, 'tp1-0-0'],
          ],
        }),
      }),
    );
    expect(count(r, 'txn-duplicate')).toBe(1);
  });

  test('the pipeline: lost below the committed offset, transformed twice, or output ahead of the offsets', () => {
    const lost = checkTxn(input({ reads: reads({ 'out/0/rc': [], 'out/0/ru': [] }) }));
    expect(count(lost, 'txn-pipeline-lost')).toBe(1);
    expect(count(lost, 'txn-lost-write')).toBe(1); // the worker's committed output too

    const again = txn('ctp', 2, 'committed', [[B, 0, ['tp1-0-0>c2'], 1]], {
      topic: A,
      partition: 0,
      offsets: [0],
      values: ['tp1-0-0'],
      next: 4,
      consumer: 'ctp#0',
    });
    const out0: Array<[number, string]> = [
      [0, 'tp1-0-0>c0'],
      [1, 'tp1-0-0>c2'],
    ];
    const twice = checkTxn(
      input({ ops: [...ops, again], reads: reads({ 'out/0/rc': out0, 'out/0/ru': out0 }) }),
    );
    expect(failing(twice)).toEqual({ 'txn-pipeline-duplicate': 1 });

    const ahead = checkTxn(input({ committedOffsets: { '0': 0, '1': 4 } }));
    expect(failing(ahead)).toEqual({ 'txn-pipeline-offsets': 1 });

    // Not processed by the end: reported only.
    const behind = checkTxn(
      input({ committedOffsets: { '0': 4 }, reads: reads({ 'out/1/rc': [], 'out/1/ru': [] }) }),
    );
    expect(count(behind, 'txn-worker-backlog')).toBe(1);
    expect(behind.stats.backlog).toBe(1);
  });

  test("rewinds: reported after a rejoin, a violation on a fresh start (the group's offset went back)", () => {
    const rewind = (fresh: boolean): RewindOp => ({
      f: 'rewind',
      process: 'ctp#1',
      topic: A,
      partition: 0,
      from: 0,
      committed: 4,
      fresh,
      invokeMs: 50,
      completeMs: 50,
      outcome: 'ok',
    });
    const rejoin = checkTxn(input({ ops: [...ops, rewind(false)] }));
    expect(failing(rejoin)).toEqual({ 'txn-worker-rewinds': 1 });
    expect(rejoin.valid).toBe(true);
    const fresh = checkTxn(input({ ops: [...ops, rewind(true)] }));
    expect(count(fresh, 'txn-pipeline-offsets')).toBe(1);
    expect(fresh.valid).toBe(false);
  });

  test('order: offsets increase, each producer in the order of its transactions, polls between joins', () => {
    const late = [
      txn('tp2', 0, 'committed', [[A, 0, ['tp2-0-0']]]),
      txn('tp2', 1, 'committed', [[A, 0, ['tp2-1-0']]]),
    ];
    const ru: Array<[number, string]> = [
      [0, 'tp1-0-0'],
      [2, 'tp1-1-0'],
      [4, 'tp2-1-0'],
      [6, 'tp2-0-0'],
    ];
    const r = checkTxn(
      input({
        ops: [...ops, ...late],
        committedOffsets: { '0': 8, '1': 4 },
        reads: reads({
          'in/0/ru': ru,
          'in/0/rc': [
            [0, 'tp1-0-0'],
            [4, 'tp2-1-0'],
            [6, 'tp2-0-0'],
          ],
        }),
      }),
    );
    expect(count(r, 'txn-nonmonotonic')).toBe(1);
    const back = checkTxn(input({ ops: [...ops, poll('ctp#0', 0, [[0, 'tp1-0-0']], 300)] }));
    expect(count(back, 'txn-nonmonotonic')).toBe(1);
    // A fetch handed over again before the worker processed it (it stopped in the middle): fine.
    const again = checkTxn(input({ ops: [poll('ctp#0', 0, [[0, 'tp1-0-0']], 50), ...ops] }));
    expect(count(again, 'txn-nonmonotonic')).toBe(0);
    const afterJoin = checkTxn(
      input({
        ops: [
          ...ops,
          {
            f: 'assign',
            process: 'ctp#0',
            topic: A,
            partitions: [0, 1],
            invokeMs: 200,
            completeMs: 200,
            outcome: 'ok',
          },
          poll('ctp#0', 0, [[0, 'tp1-0-0']], 300),
        ],
      }),
    );
    expect(count(afterJoin, 'txn-nonmonotonic')).toBe(0);
  });

  test('inconsistent offsets: an acknowledged offset, a poll or the two isolation levels disagree', () => {
    const r = checkTxn(input({ ops: [...ops, poll('ctp#0', 1, [[2, 'tp1-0-1']], 300)] }));
    expect(count(r, 'txn-inconsistent-offsets')).toBeGreaterThanOrEqual(1);
    const levels = checkTxn(input({ reads: reads({ 'out/1/ru': [[0, 'something else']] }) }));
    expect(count(levels, 'txn-inconsistent-offsets')).toBeGreaterThanOrEqual(1);
  });

  test('the aborted records are in the log (read_uncommitted), or the aborted-read check proved nothing', () => {
    const missing = checkTxn(input({ reads: reads({ 'in/1/ru': [[0, 'tp1-0-1']] }) }));
    expect(failing(missing)).toEqual({ 'txn-aborted-in-log': 1 });
    const vacuous = checkTxn(
      input({
        ops: ops.filter((o) => !(o.f === 'txn' && o.txn === 1 && o.process === 'tp1')),
        reads: reads({ 'in/0/ru': [[0, 'tp1-0-0']], 'in/1/ru': [[0, 'tp1-0-1']] }),
      }),
    );
    expect(failing(vacuous)).toEqual({ 'txn-aborted-in-log': 1 });
    expect(vacuous.checks.find((c) => c.name === 'txn-aborted-in-log')?.details[0]).toContain(
      'proved nothing',
    );
  });

  test('final reads: incomplete, two read_committed reads differing, a last stable offset stuck', () => {
    const rs = reads().map((r) =>
      r.topic === A && r.partition === 0 && r.isolation === 'read_uncommitted'
        ? { ...r, complete: false, error: 'timed out' }
        : r,
    );
    expect(count(checkTxn(input({ reads: rs })), 'txn-final-reads')).toBe(1);
    const differ = [...reads(), read(B, 0, 'read_committed', [], 'b3')];
    expect(count(checkTxn(input({ reads: differ })), 'txn-final-reads')).toBe(1);
    const stuck = checkTxn(input({ unstable: ['in-0: last stable offset 2, high watermark 4'] }));
    expect(failing(stuck)).toEqual({ 'txn-final-reads': 1 });
    const noOffsets = checkTxn(input({ committedOffsets: undefined }));
    expect(count(noOffsets, 'txn-final-reads')).toBe(1);
    expect(count(checkTxn(input({ closeOutFailed: ['id-tp1'] })), 'txn-close-out')).toBe(1);
  });

  test('unexpected value: a record no transaction wrote', () => {
    const r = checkTxn(
      input({
        reads: reads({
          'in/0/rc': [
            [0, 'tp1-0-0'],
            [7, 'ghost'],
          ],
          'in/0/ru': [
            [0, 'tp1-0-0'],
            [2, 'tp1-1-0'],
            [7, 'ghost'],
          ],
        }),
      }),
    );
    expect(count(r, 'txn-unexpected-value')).toBe(1);
  });
});

test('output values name their input and the transaction that wrote them', () => {
  expect(parseOutputValue(outputValue('tp1-3-2', 17))).toEqual({ input: 'tp1-3-2', txn: 17 });
  expect(parseOutputValue('tp1-3-2')).toBeUndefined();
});

test('txnUnavailability: the longest run of bad transactions of a producer after each fault', () => {
  const fault: FaultOp = {
    f: 'fault',
    process: 'nemesis',
    index: 0,
    kind: 'kill',
    nodes: [1],
    description: 'kill',
    invokeMs: 100,
    completeMs: 110,
    outcome: 'ok',
  };
  const t = (n: number, from: number, to: number, status: Status): TxnOp => ({
    ...txn('tp1', n, status, []),
    invokeMs: from,
    completeMs: to,
  });
  const ops2: Op[] = [
    fault,
    t(0, 50, 60, 'committed'),
    t(1, 120, 2_000, 'unknown'),
    t(2, 2_100, 2_200, 'failed'),
    t(3, 2_300, 2_400, 'committed'),
  ];
  const [u] = txnUnavailability(ops2, 3_000);
  expect(u?.windowMs).toBe(2_400 - 120);
});
