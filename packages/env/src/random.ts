// Randomness. Two shapes, for two kinds of user: `Random` for ids that must not repeat (topic,
// cluster and member ids, incarnations, a request id's per-process part) and for seeding; `Rng`,
// a float source, for draws such as the Raft election jitter (`@chronik/raft` declares the same
// shape itself, since the Raft core depends on nothing).
import { randomBytes, randomUUID } from 'node:crypto';

export interface Random {
  /** `n` random bytes. */
  bytes(n: number): Buffer;
  /** A random RFC 4122 version-4 UUID, lower case. */
  uuid(): string;
}

/** A uniformly distributed float in [0, 1). Seed it for determinism. */
export type Rng = () => number;

/** `node:crypto`'s randomness. */
export const systemRandom: Random = {
  bytes: (n) => randomBytes(n),
  uuid: () => randomUUID(),
};

/**
 * A `Random` over a byte source (a seeded generator's): `uuid` is 16 of its bytes with the version
 * and variant bits set.
 */
export function randomFromBytes(bytes: (n: number) => Buffer): Random {
  return { bytes, uuid: () => uuidOfBytes(bytes(16)) };
}

/** A version-4 UUID from 16 random bytes (overwrites the version and variant bits of `b`). */
export function uuidOfBytes(b: Buffer): string {
  if (b.length !== 16) throw new RangeError(`a UUID takes 16 bytes, got ${b.length}`);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
