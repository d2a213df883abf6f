// The message browser's renderings and the overview's counters: pure functions.
import { decodeBase64, formatBytes, formatCount, guessRendering, hexDump, render } from '../src/format.js';
import { parseMetrics, rates } from '../src/metrics.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

test('base64 decodes to bytes', () => {
  expect([...decodeBase64(Buffer.from([0, 1, 254, 255]).toString('base64'))]).toEqual([0, 1, 254, 255]);
});

test('text, JSON and hex renderings, with fallbacks that say so', () => {
  expect(render(bytes('héllo'), 'text')).toEqual({ text: 'héllo' });
  expect(render(bytes('{"a":[1,2]}'), 'json')).toEqual({ text: '{\n  "a": [\n    1,\n    2\n  ]\n}' });
  expect(render(bytes('not json'), 'json')).toEqual({ text: 'not json', fellBackTo: 'text' });
  const binary = new Uint8Array([0, 159, 146, 150]);
  expect(render(binary, 'text').fellBackTo).toBe('hex');
  expect(render(binary, 'json').fellBackTo).toBe('hex');
  expect(render(bytes('ab'), 'hex')).toEqual({ text: hexDump(bytes('ab')) });
});

test('a hex dump: offset, 16 bytes a line in two groups, printable ASCII', () => {
  const dump = hexDump(bytes('0123456789abcdefXY\n'));
  const lines = dump.split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[0]).toBe('00000000  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  |0123456789abcdef|');
  expect(lines[1]).toBe('00000010  58 59 0a                                          |XY.|');
});

test('automatic rendering: JSON objects and arrays, else text, else hex', () => {
  expect(guessRendering(bytes(' {"k": 1} '))).toBe('json');
  expect(guessRendering(bytes('[1,2'))).toBe('text');
  expect(guessRendering(bytes('42'))).toBe('text');
  expect(guessRendering(new Uint8Array([1, 2, 3]))).toBe('hex');
});

test('numbers: bytes with binary units, counts with separators and every digit of an int64', () => {
  expect(formatBytes(0)).toBe('0 B');
  expect(formatBytes(1536)).toBe('1.50 KiB');
  expect(formatBytes(300 * 1024 * 1024)).toBe('300 MiB');
  expect(formatBytes(undefined)).toBe('—');
  expect(formatCount(1234567)).toBe('1,234,567');
  expect(formatCount('9223372036854775807')).toBe('9,223,372,036,854,775,807');
  expect(formatCount(null)).toBe('—');
});

test('metrics: samples summed over labels, rates between scrapes, a restarted counter from zero', () => {
  const text = [
    '# HELP chronik_requests_total Kafka requests',
    '# TYPE chronik_requests_total counter',
    'chronik_requests_total{api="Produce",outcome="ok"} 10',
    'chronik_requests_total{api="Fetch",outcome="ok"} 5',
    'chronik_network_in_bytes_total 2048',
    'chronik_label_with_space{a="x y"} 3',
  ].join('\n');
  const m = parseMetrics(text);
  expect(m.get('chronik_requests_total')).toBe(15);
  expect(m.get('chronik_network_in_bytes_total')).toBe(2048);
  expect(m.get('chronik_label_with_space')).toBe(3);
  const a = {
    atMs: 1000,
    values: new Map([
      ['x', 100],
      ['y', 50],
    ]),
  };
  const b = {
    atMs: 3000,
    values: new Map([
      ['x', 300],
      ['y', 10],
    ]),
  };
  const r = rates(a, b, ['x', 'y', 'z']);
  expect(r.get('x')).toBe(100);
  expect(r.get('y')).toBe(5);
  expect(r.get('z')).toBe(0);
});
