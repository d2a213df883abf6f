// The log of connections closed for what a client sent: one line per remote address and interval
// at the level asked, the rest at debug, and a bounded map of addresses.
import type { Logger } from '../src/logger.js';
import { CloseLog } from '../src/net/close-log.js';

interface Line {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string | undefined;
}

function capture(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const at =
    (level: Line['level']) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, obj: obj as Record<string, unknown>, msg });
    };
  const logger: Logger = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  };
  return { logger, lines };
}

describe('CloseLog', () => {
  test('one line per address per interval at the level asked, the rest at debug, with the count held back', () => {
    const { logger, lines } = capture();
    let now = 0;
    const log = new CloseLog(logger, { intervalMs: 1000, maxAddresses: 10 }, () => now);
    for (let i = 0; i < 5; i++)
      log.log('10.0.0.1', 'info', 'malformed frame: closing connection', { conn: i });
    log.log('10.0.0.2', 'warn', 'cannot answer request: closing connection', { conn: 9 });
    expect(lines.map((l) => [l.level, l.obj['address']])).toEqual([
      ['info', '10.0.0.1'],
      ['debug', '10.0.0.1'],
      ['debug', '10.0.0.1'],
      ['debug', '10.0.0.1'],
      ['debug', '10.0.0.1'],
      ['warn', '10.0.0.2'],
    ]);
    now = 1000;
    log.log('10.0.0.1', 'info', 'malformed frame: closing connection', { conn: 10 });
    expect(lines.at(-1)).toMatchObject({ level: 'info', obj: { conn: 10, heldBackSinceLast: 4 } });
    log.log('10.0.0.1', 'info', 'malformed frame: closing connection', { conn: 11 });
    expect(lines.at(-1)?.level).toBe('debug');
  });

  test('an interval of 0 logs every one', () => {
    const { logger, lines } = capture();
    const log = new CloseLog(logger, { intervalMs: 0, maxAddresses: 10 }, () => 0);
    for (let i = 0; i < 3; i++) log.log('10.0.0.1', 'info', 'x', {});
    expect(lines.map((l) => l.level)).toEqual(['info', 'info', 'info']);
  });

  test('the addresses remembered are bounded: the one logged longest ago is forgotten first', () => {
    const { logger, lines } = capture();
    let now = 0;
    const log = new CloseLog(logger, { intervalMs: 60_000, maxAddresses: 3 }, () => now);
    for (const a of ['a', 'b', 'c', 'd']) {
      now++;
      log.log(a, 'info', 'x', {});
    }
    expect(log.size).toBe(3);
    // 'a' was forgotten: it gets a line at info again; 'd' is still remembered.
    log.log('a', 'info', 'x', {});
    log.log('d', 'info', 'x', {});
    expect(lines.slice(-2).map((l) => l.level)).toEqual(['info', 'debug']);
    expect(log.size).toBe(3);
  });
});
