// Small conversions the consumer-group handlers share.
import { ErrorCode } from '@chronik/protocol';
import type { GroupKafkaError } from '../groups/errors.js';

const codes = ErrorCode as Readonly<Record<string, number>>;

/** The wire error code of a coordinator answer. */
export function groupErrorCode(name: GroupKafkaError): number {
  const code = codes[name];
  if (code === undefined) throw new Error(`Kafka error ${name} is missing from the protocol error table`);
  return code;
}

/** A Buffer view of the bytes (no copy). */
export function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * A private copy of request bytes the coordinator keeps (protocol metadata, assignments): decoded
 * fields may be views into the whole request frame, which must not stay alive with them.
 */
export function ownedBytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}

/** Kafka's client host: "/" and the peer address without its port. */
export function clientHostOf(remoteAddress: string): string {
  const i = remoteAddress.lastIndexOf(':');
  return `/${i > 0 ? remoteAddress.slice(0, i) : remoteAddress}`;
}

/**
 * The coordinator's answer, or `onShutdown()` as soon as the broker begins shutting down: a
 * JoinGroup or SyncGroup may wait for a whole rebalance, and must not hold the shutdown up. The
 * client looks the coordinator up again (NOT_COORDINATOR) and rejoins after the restart.
 */
export function untilShutdown<T>(answer: Promise<T>, signal: AbortSignal, onShutdown: () => T): Promise<T> {
  if (signal.aborted) return Promise.resolve(onShutdown());
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => resolve(onShutdown());
    signal.addEventListener('abort', abort, { once: true });
    answer.then(
      (v) => {
        signal.removeEventListener('abort', abort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
