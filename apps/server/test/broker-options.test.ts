// Broker options checked before anything starts.
import { randomUUID } from 'node:crypto';
import { Broker } from '../src/broker.js';
import { DEFAULT_CONFIG } from '../src/config.js';
import { isServerError } from '../src/errors.js';
import { standaloneMode } from '../src/modes/standalone.js';

describe('Broker heapGrowingPercent', () => {
  test.each([-1, 1.5, 1001, Number.NaN])('%p is refused with INVALID_CONFIG', (heapGrowingPercent) => {
    let err: unknown;
    try {
      new Broker(DEFAULT_CONFIG, { randomId: randomUUID, heapGrowingPercent }, standaloneMode());
    } catch (e) {
      err = e;
    }
    expect(isServerError(err, 'INVALID_CONFIG')).toBe(true);
  });

  test.each([undefined, 0, 400, 1000])('%p is accepted', (heapGrowingPercent) => {
    const deps = heapGrowingPercent === undefined ? {} : { heapGrowingPercent };
    expect(
      () => new Broker(DEFAULT_CONFIG, { randomId: randomUUID, ...deps }, standaloneMode()),
    ).not.toThrow();
  });
});
