import { RecordsError } from '../../src/records/errors.js';
import type { RecordsErrorCode } from '../../src/records/errors.js';

/** Runs `fn` and asserts it throws a RecordsError with the given code. */
export function expectRecordsError(fn: () => unknown, code: RecordsErrorCode): RecordsError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  if (!(caught instanceof RecordsError)) {
    throw new Error(
      `expected RecordsError ${code}, got ${caught === undefined ? 'no error' : String(caught)}`,
    );
  }
  expect(caught.code).toBe(code);
  return caught;
}
