// The `chronik` program as a shell runs it (bin/chronik → dist): help, version, completion,
// exit codes, and a produce | consume round trip through pipes.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { TestBroker } from './helpers/broker.js';
import { startBroker } from './helpers/broker.js';

const BIN = path.resolve(__dirname, '..', 'bin', 'chronik');

function chronik(args: string[], input = '', env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    input,
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let broker: TestBroker;
beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => {
  await broker.stop();
});

describe('bin/chronik', () => {
  test('--help lists the commands; every command has its own help', () => {
    const help = chronik(['--help']);
    expect(help.code).toBe(0);
    for (const c of [
      'chronik topic',
      'chronik produce <topic>',
      'chronik consume <topic>',
      'chronik group',
      'chronik cluster',
      'chronik certs',
      'chronik completion',
    ])
      expect(help.stdout).toContain(c);
    expect(help.stdout).toContain('--brokers');
    const topicHelp = chronik(['topic', 'create', '--help']);
    expect(topicHelp.code).toBe(0);
    expect(topicHelp.stdout).toContain('--replication-factor');
    expect(chronik(['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  test('bad usage exits 2 with one line and a hint', () => {
    const none = chronik([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('which command?');
    const unknown = chronik(['topik', 'list']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Run "chronik --help"');
    const missing = chronik(['produce']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('Not enough non-option arguments');
  });

  test('bash and zsh completion', () => {
    const bash = chronik(['completion'], '', { SHELL: '/bin/bash' });
    expect(bash.code).toBe(0);
    expect(bash.stdout).toContain('complete -o bashdefault -o default -F _chronik_yargs_completions chronik');
    const zsh = chronik(['completion'], '', { SHELL: '/usr/bin/zsh' });
    expect(zsh.stdout).toContain('compdef _chronik_yargs_completions chronik');
    const words = chronik(['--get-yargs-completions', 'chronik', 'group', '']);
    expect(words.stdout.split('\n')).toEqual(
      expect.arrayContaining(['list', 'describe', 'delete', 'reset-offsets']),
    );
  });

  test('produce | consume through pipes; an unknown topic exits 1; CHRONIK_BROKERS', () => {
    const env = { CHRONIK_BROKERS: broker.bootstrap };
    expect(chronik(['topic', 'create', 'piped'], '', env).code).toBe(0);
    const produced = chronik(['produce', 'piped', '-k', ','], 'a,1\nb,2\n', env);
    expect(produced).toMatchObject({ code: 0, stdout: '' });
    expect(produced.stderr).toBe('Produced 2 records to topic "piped" (partition 0: offsets 0-1).\n');
    expect(chronik(['consume', 'piped', '--format', 'kv'], '', env)).toEqual({
      code: 0,
      stdout: 'a\t1\nb\t2\n',
      stderr: '',
    });
    const unknown = chronik(['consume', 'missing'], '', env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(
      'chronik: UNKNOWN_TOPIC_OR_PARTITION: topic "missing": This server does not host this topic-partition.\n',
    );
  });
});
