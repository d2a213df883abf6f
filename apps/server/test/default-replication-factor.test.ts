// default.replication.factor: an explicit flag (or CHRONIK_DEFAULT_REPLICATION_FACTOR) as given,
// otherwise min(3, live brokers) — 1 on a single node.
import { parseCommandLine } from '../src/cli.js';
import { defaultReplicationFactor } from '../src/services/topic-admin.js';
import { DEFAULT_BROKER } from '../src/config.js';

function run(argv: string[]) {
  const r = parseCommandLine(argv);
  if (r.kind !== 'run') throw new Error(`expected a config, got exit ${r.exitCode}: ${r.stderr}`);
  return r.config;
}

const CLUSTER = ['raft-cluster', '--raft-addr', '127.0.0.1:9192', '--peers', '2@127.0.0.1:9193'];

describe('default replication factor', () => {
  test('absent: 1, not explicit (standalone and raft-cluster)', () => {
    for (const argv of [[], ['standalone'], CLUSTER]) {
      const b = run(argv).broker;
      expect(b.defaultReplicationFactor).toBe(1);
      expect(b.defaultReplicationFactorExplicit).toBe(false);
    }
  });

  test('the flag or its environment variable makes it explicit (the flag wins)', () => {
    const flag = run(['--default-replication-factor', '2', ...CLUSTER]).broker;
    expect(flag).toMatchObject({ defaultReplicationFactor: 2, defaultReplicationFactorExplicit: true });
    const one = run(['--default-replication-factor', '1', ...CLUSTER]).broker;
    expect(one).toMatchObject({ defaultReplicationFactor: 1, defaultReplicationFactorExplicit: true });
    const saved = process.env['CHRONIK_DEFAULT_REPLICATION_FACTOR'];
    process.env['CHRONIK_DEFAULT_REPLICATION_FACTOR'] = '3';
    try {
      expect(run(CLUSTER).broker).toMatchObject({
        defaultReplicationFactor: 3,
        defaultReplicationFactorExplicit: true,
      });
      expect(run(['--default-replication-factor', '2', ...CLUSTER]).broker.defaultReplicationFactor).toBe(2);
    } finally {
      if (saved === undefined) delete process.env['CHRONIK_DEFAULT_REPLICATION_FACTOR'];
      else process.env['CHRONIK_DEFAULT_REPLICATION_FACTOR'] = saved;
    }
  });

  test('bad values are refused naming the flag', () => {
    for (const v of ['0', '33', 'x']) {
      const r = parseCommandLine(['--default-replication-factor', v]);
      expect(r.kind).toBe('exit');
      if (r.kind === 'exit') {
        expect(r.exitCode).toBe(2);
        expect(r.stderr).toContain('--default-replication-factor');
      }
    }
  });

  test('raft-cluster: min(3, live brokers) unless explicit', () => {
    const implicit = DEFAULT_BROKER;
    expect([0, 1, 2, 3, 4, 7].map((n) => defaultReplicationFactor(implicit, n))).toEqual([1, 1, 2, 3, 3, 3]);
    const explicit1 = {
      ...DEFAULT_BROKER,
      defaultReplicationFactor: 1,
      defaultReplicationFactorExplicit: true,
    };
    expect([1, 3, 5].map((n) => defaultReplicationFactor(explicit1, n))).toEqual([1, 1, 1]);
    const explicit5 = {
      ...DEFAULT_BROKER,
      defaultReplicationFactor: 5,
      defaultReplicationFactorExplicit: true,
    };
    expect(defaultReplicationFactor(explicit5, 3)).toBe(5);
  });
});
