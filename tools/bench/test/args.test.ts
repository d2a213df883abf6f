import { BenchError, USAGE, parseArgs } from '../src/index.js';

describe('parseArgs', () => {
  it('defaults to the full plan with every part on', () => {
    const r = parseArgs([]);
    expect(r).toEqual({
      kind: 'run',
      options: {
        quick: false,
        outDir: undefined,
        dataDir: undefined,
        scale: 1,
        inFlight: undefined,
        requestBytes: undefined,
        pairs: undefined,
        jetstream: true,
        cluster: true,
        kcat: true,
        hardware: true,
        transactions: true,
        tls: true,
        only: undefined,
        reportName: undefined,
        render: undefined,
      },
    });
  });

  it('reads flags in both --flag value and --flag=value forms, and skips a bare --', () => {
    const r = parseArgs([
      '--',
      '--quick',
      '--out',
      '/tmp/x',
      '--scale=0.5',
      '--in-flight',
      '4',
      '--request-bytes=65536',
      '--no-jetstream',
      '--no-cluster',
      '--no-kcat',
      '--no-hardware',
      '--no-transactions',
      '--no-tls',
      '--data-dir=/d',
      '--report-name',
      'a.md',
      '--render',
      'r.json',
    ]);
    if (r.kind !== 'run') throw new Error('expected run');
    expect(r.options).toEqual({
      quick: true,
      outDir: '/tmp/x',
      dataDir: '/d',
      scale: 0.5,
      inFlight: 4,
      requestBytes: 65536,
      jetstream: false,
      cluster: false,
      kcat: false,
      hardware: false,
      transactions: false,
      tls: false,
      only: undefined,
      reportName: 'a.md',
      render: 'r.json',
    });
  });

  it('reads --only as a set of known parts', () => {
    const r = parseArgs(['--quick', '--only', 'transactions,transactions']);
    if (r.kind !== 'run') throw new Error('expected run');
    expect(r.options.only).toEqual(['transactions']);
    expect(r.options.quick).toBe(true);
    expect(USAGE).toContain('--only PART[,PART]');
    const both = parseArgs(['--only', 'tls,transactions']);
    if (both.kind !== 'run') throw new Error('expected run');
    expect(both.options.only).toEqual(['tls', 'transactions']);
    expect(USAGE).toContain('--no-tls');
  });

  it('answers --help and -h with the usage text', () => {
    expect(parseArgs(['--quick', '--help'])).toEqual({ kind: 'help', text: USAGE });
    expect(parseArgs(['-h']).kind).toBe('help');
  });

  it.each([
    [['--bogus'], /unknown argument/],
    [['--scale'], /needs a value/],
    [['--scale', 'abc'], /not a number/],
    [['--scale', '0'], /not a number in/],
    [['--in-flight', '2.5'], /not an integer/],
    [['--in-flight', '0'], /not an integer in 1\.\.1024/],
    [['--quick=yes'], /takes no value/],
    [['--out'], /needs a directory/],
    [['--render'], /results\.json/],
    [['--report-name', '../x.md'], /file name/],
    [['--only'], /--only needs parts from: transactions, tls/],
    [['--only', 'tls', '--no-tls'], /--only tls and --no-tls leave nothing to run/],
    [['--no-tls=1'], /takes no value/],
    [['--only', 'jetstream'], /not "jetstream"/],
    [['--only', 'transactions', '--render', 'r.json'], /use one of them/],
    [['--only=transactions', '--no-transactions'], /nothing to run/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(message);
    try {
      parseArgs(argv);
    } catch (e) {
      expect(e).toBeInstanceOf(BenchError);
      expect((e as BenchError).code).toBe('BadArgument');
    }
  });
});
