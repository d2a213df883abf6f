// Small conversions the transaction handlers share.
import { ErrorCode } from '@chronik/protocol';
import type { Logger } from '../logger.js';
import type { TxnKafkaError } from '../txn/errors.js';

const codes = ErrorCode as Readonly<Record<string, number>>;

/**
 * The wire code of a coordinator answer. Versions before `fencedFrom` do not know PRODUCER_FENCED
 * (KIP-588): those clients are told INVALID_PRODUCER_EPOCH, as Kafka tells them.
 */
export function txnErrorCode(name: TxnKafkaError | string, apiVersion: number, fencedFrom: number): number {
  const n = name === 'PRODUCER_FENCED' && apiVersion < fencedFrom ? 'INVALID_PRODUCER_EPOCH' : name;
  const code = codes[n];
  if (code === undefined) throw new Error(`Kafka error ${n} is missing from the protocol error table`);
  return code;
}

/** The coordinator's answer, or UNKNOWN_SERVER_ERROR (logged) when it failed on a bug of ours. */
export async function orServerError<T>(
  answer: () => Promise<T> | T,
  onError: T,
  logger: Logger,
  what: string,
): Promise<T> {
  try {
    return await answer();
  } catch (e) {
    logger.error({ err: e }, `${what} failed`);
    return onError;
  }
}
