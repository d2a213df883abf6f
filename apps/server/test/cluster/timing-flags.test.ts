// raft-cluster timing flags: --raft-tick-ms, --raft-election-ticks, --raft-partition-election-ticks;
// --raft-partition-uncommitted-bytes; --balancer-max-concurrent-moves.
import { parseCommandLine } from '../../src/cli.js';

const base = [
  '--node-id',
  '1',
  'raft-cluster',
  '--raft-addr',
  '127.0.0.1:9192',
  '--peers',
  '2@127.0.0.1:9193',
];

function run(extra: string[]): ReturnType<typeof parseCommandLine> {
  return parseCommandLine([...base, ...extra]);
}

describe('raft-cluster timing flags', () => {
  it('leaves the defaults to the cluster when absent', () => {
    const r = run([]);
    if (r.kind !== 'run') throw new Error(r.stderr);
    expect(r.config.raft?.tickMs).toBeUndefined();
    expect(r.config.raft?.electionTicks).toBeUndefined();
    expect(r.config.raft?.partitionElectionTicks).toBeUndefined();
  });

  it('takes valid values', () => {
    const r = run([
      '--raft-tick-ms',
      '50',
      '--raft-election-ticks',
      '20',
      '--raft-partition-election-ticks',
      '12',
      '--raft-partition-uncommitted-bytes',
      '1048576',
      '--balancer-max-concurrent-moves',
      '5',
    ]);
    if (r.kind !== 'run') throw new Error(r.stderr);
    expect(r.config.raft).toMatchObject({
      tickMs: 50,
      electionTicks: 20,
      partitionElectionTicks: 12,
      partitionUncommittedBytes: 1048576,
      balancerMaxConcurrentMoves: 5,
    });
  });

  it.each([
    [['--raft-tick-ms', '5'], /raft-tick-ms: 5 is out of range/],
    [['--raft-tick-ms', 'fast'], /raft-tick-ms: "fast" is not an integer/],
    [['--raft-election-ticks', '2'], /raft-election-ticks: 2 is out of range/],
    [['--balancer-max-concurrent-moves', '0'], /balancer-max-concurrent-moves: 0 is out of range/],
    [
      ['--raft-partition-uncommitted-bytes', '60000000'],
      /raft-partition-uncommitted-bytes: 60000000 is out of range/,
    ],
    [['--raft-partition-election-ticks', '4', '--raft-tick-ms', '50'], /election timeout under 300 ms/],
    [
      ['--raft-tick-ms', '40', '--raft-election-ticks', '10'],
      /raft-partition-election-ticks: 7 ticks of 40 ms/,
    ],
  ])('refuses %j', (extra, message) => {
    const r = run(extra);
    expect(r.kind).toBe('exit');
    if (r.kind === 'exit') {
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});
