// The security service the handlers use: SASL (sasl.ts) and the SCRAM credentials in the
// replicated metadata — DescribeUserScramCredentials, AlterUserScramCredentials and the bootstrap
// user — written once for both modes over the MetadataStore.
//
// - AlterUserScramCredentials sends salt and salted password (the client ran PBKDF2); the service
//   keeps only StoredKey and ServerKey (RFC 5802), as Kafka's controller does. Each user is
//   checked as Kafka checks it (UNACCEPTABLE_CREDENTIAL, UNSUPPORTED_SASL_MECHANISM,
//   DUPLICATE_RESOURCE, RESOURCE_NOT_FOUND); the valid changes of a request are one metadata
//   command, applied whole.
// - Answers never carry keys or salts: Describe gives the mechanisms and iteration counts.
import type { Random } from '@chronik/env';
import type { ScramCredential, ScramMechanismName } from '@chronik/metadata';
import { METADATA_LIMITS } from '@chronik/metadata';
import { KafkaError } from '../errors.js';
import type { MetadataStore } from '../services/metadata-store.js';
import type { SaslConfig } from './config.js';
import type { SaslSession, TokenOutcome } from './sasl.js';
import { SaslService } from './sasl.js';
import { DEFAULT_SCRAM_ITERATIONS, SCRAM_KEY_BYTES, credentialOf, saltedPassword } from './scram.js';

/** The SCRAM mechanisms by their number in the SCRAM admin APIs (Kafka's ScramMechanism). */
const MECHANISM_BY_TYPE: ReadonlyMap<number, ScramMechanismName> = new Map([
  [1, 'SCRAM-SHA-256'],
  [2, 'SCRAM-SHA-512'],
]);
const TYPE_BY_MECHANISM: Readonly<Record<ScramMechanismName, number>> = {
  'SCRAM-SHA-256': 1,
  'SCRAM-SHA-512': 2,
};

export interface UserResult {
  user: string;
  errorCode: string | null;
  errorMessage: string | null;
}

export interface DescribedUser extends UserResult {
  credentials: Array<{ mechanism: number; iterations: number }>;
}

export class SecurityService extends SaslService {
  constructor(
    config: SaslConfig,
    private readonly store: MetadataStore,
    private readonly rng: Random,
    onOutcome?: (session: SaslSession, outcome: TokenOutcome) => void,
  ) {
    super(config, (user, mechanism) => store.state.scramCredential(user, mechanism), rng, onOutcome);
  }

  /** DescribeUserScramCredentials: every user (null or empty list) or the ones named. */
  describeScram(users: readonly string[] | null): DescribedUser[] {
    const known = this.store.state.scramUsers();
    const toResult = (u: (typeof known)[number]): DescribedUser => ({
      user: u.user,
      errorCode: null,
      errorMessage: null,
      credentials: u.credentials.map((c) => ({
        mechanism: TYPE_BY_MECHANISM[c.mechanism],
        iterations: c.iterations,
      })),
    });
    if (users === null || users.length === 0) return known.map(toResult);
    const counts = new Map<string, number>();
    for (const u of users) counts.set(u, (counts.get(u) ?? 0) + 1);
    return [...counts].map(([user, n]) => {
      if (n > 1)
        return {
          user,
          errorCode: 'DUPLICATE_RESOURCE',
          errorMessage: 'Cannot describe SCRAM credentials for the same user twice in a single request',
          credentials: [],
        };
      const found = known.find((k) => k.user === user);
      return found !== undefined
        ? toResult(found)
        : {
            user,
            errorCode: 'RESOURCE_NOT_FOUND',
            errorMessage: 'Attempt to describe a user credential that does not exist',
            credentials: [],
          };
    });
  }

  /** AlterUserScramCredentials: per user, NONE or the error Kafka answers. */
  async alterScram(
    deletions: ReadonlyArray<{ name: string; mechanism: number }>,
    upsertions: ReadonlyArray<{
      name: string;
      mechanism: number;
      iterations: number;
      salt: Buffer;
      saltedPassword: Buffer;
    }>,
  ): Promise<UserResult[]> {
    const errors = new Map<string, [string, string]>();
    const seen = new Set<string>();
    const fail = (user: string, code: string, message: string): void => {
      if (!errors.has(user)) errors.set(user, [code, message]);
    };
    const mechanismOf = (user: string, type: number): ScramMechanismName | undefined => {
      if (user.length === 0) fail(user, 'UNACCEPTABLE_CREDENTIAL', 'Username must not be empty');
      const m = MECHANISM_BY_TYPE.get(type);
      if (m === undefined) fail(user, 'UNSUPPORTED_SASL_MECHANISM', 'Unknown SCRAM mechanism');
      return m;
    };
    const twice = (user: string): boolean => {
      if (!seen.has(user)) {
        seen.add(user);
        return false;
      }
      fail(user, 'DUPLICATE_RESOURCE', 'A user credential cannot be altered twice in the same request');
      return true;
    };
    const dels: Array<{ user: string; mechanism: ScramMechanismName }> = [];
    for (const d of deletions) {
      if (twice(d.name)) continue;
      const mechanism = mechanismOf(d.name, d.mechanism);
      if (mechanism === undefined || errors.has(d.name)) continue;
      if (this.store.state.scramCredential(d.name, mechanism) === undefined)
        fail(d.name, 'RESOURCE_NOT_FOUND', 'Attempt to delete a user credential that does not exist');
      else dels.push({ user: d.name, mechanism });
    }
    const ups: ScramCredential[] = [];
    for (const u of upsertions) {
      if (twice(u.name)) continue;
      const mechanism = mechanismOf(u.name, u.mechanism);
      if (mechanism === undefined || errors.has(u.name)) continue;
      if (u.iterations < METADATA_LIMITS.minScramIterations)
        fail(u.name, 'UNACCEPTABLE_CREDENTIAL', 'Too few iterations');
      else if (u.iterations > METADATA_LIMITS.maxScramIterations)
        fail(u.name, 'UNACCEPTABLE_CREDENTIAL', 'Too many iterations');
      else if (u.salt.length === 0 || u.salt.length > METADATA_LIMITS.maxScramSaltBytes)
        fail(
          u.name,
          'UNACCEPTABLE_CREDENTIAL',
          `The salt must be 1 to ${METADATA_LIMITS.maxScramSaltBytes} bytes`,
        );
      else if (u.saltedPassword.length !== SCRAM_KEY_BYTES[mechanism])
        fail(
          u.name,
          'UNACCEPTABLE_CREDENTIAL',
          `A ${mechanism} salted password has ${SCRAM_KEY_BYTES[mechanism]} bytes`,
        );
      else ups.push(credentialOf(u.name, mechanism, u.salt, u.iterations, u.saltedPassword));
    }
    // A user that failed anywhere in the request changes nothing.
    const deletionsOk = dels.filter((d) => !errors.has(d.user));
    const upsertionsOk = ups.filter((u) => !errors.has(u.user));
    const changed = [...deletionsOk.map((d) => d.user), ...upsertionsOk.map((u) => u.user)];
    if (changed.length > 0) {
      try {
        const r = await this.store.commit({
          type: 'alterScramCredentials',
          deletions: deletionsOk,
          upsertions: upsertionsOk,
        });
        if (!r.ok) for (const user of changed) fail(user, r.error.code, r.error.message);
      } catch (e) {
        const code = e instanceof KafkaError ? e.code : 'UNKNOWN_SERVER_ERROR';
        for (const user of changed) fail(user, code, e instanceof Error ? e.message : String(e));
      }
    }
    const users = [...new Set([...deletions.map((d) => d.name), ...upsertions.map((u) => u.name)])];
    return users.map((user) => {
      const e = errors.get(user);
      return { user, errorCode: e?.[0] ?? null, errorMessage: e?.[1] ?? null };
    });
  }

  /**
   * Creates the bootstrap user's SCRAM-SHA-256 and SCRAM-SHA-512 credentials unless it has any;
   * resolves true when it created them. The password is used here and dropped.
   */
  async ensureUser(user: string, password: Buffer): Promise<boolean> {
    const state = this.store.state;
    if (
      state.scramCredential(user, 'SCRAM-SHA-256') !== undefined ||
      state.scramCredential(user, 'SCRAM-SHA-512') !== undefined
    )
      return false;
    const upsertions: ScramCredential[] = [];
    for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
      const salt = Buffer.from(this.rng.bytes(32));
      const salted = await saltedPassword(mechanism, password, salt, DEFAULT_SCRAM_ITERATIONS);
      upsertions.push(credentialOf(user, mechanism, salt, DEFAULT_SCRAM_ITERATIONS, salted));
    }
    const r = await this.store.commit({ type: 'alterScramCredentials', deletions: [], upsertions });
    if (!r.ok) throw new KafkaError(r.error.code, r.error.message, { cause: r.error });
    return true;
  }
}
