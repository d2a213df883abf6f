// SASL on the SASL_PLAINTEXT and SASL_SSL listeners: each connection's state (`SaslSession`), and
// the service the SASL handlers use (`SaslService`): mechanisms, credentials, the failure limiter.
//
// A connection on a SASL listener (Kafka's SaslServerAuthenticator, KIP-43/152/368):
// - Until it authenticated, only ApiVersions, SaslHandshake and SaslAuthenticate are served, and
//   frames are at most 512 KiB (Kafka's sasl.server.max.receive.size); any other request closes
//   the connection, as Kafka closes it.
// - SaslHandshake v1 names the mechanism; the tokens then come in SaslAuthenticate requests
//   (KIP-152). SaslHandshake v0 (clients before KIP-152): the tokens come next as bare
//   size-prefixed frames, answered likewise; a failure closes the connection without an answer.
// - A failed authentication is answered SASL_AUTHENTICATION_FAILED with a message that never says
//   whether the user exists, counted, and the connection is closed `failedAuthenticationDelayMs`
//   later (connection.failed.authentication.delay.ms). A remote address with
//   `maxFailuresPerAddress` failures in a minute has its next attempts refused unchecked until the
//   minute is over (and counted as `rate_limited`): no password is tried, no PBKDF2 spent.
// - Re-authentication (KIP-368): with connections.max.reauth.ms > 0 a session lasts that long
//   (SaslAuthenticate v1+ answers session_lifetime_ms); a request other than SaslHandshake on an
//   expired session closes the connection; a SaslHandshake on an authenticated connection starts a
//   re-authentication (at most one a second), which must use the same mechanism and end with the
//   same principal. With 0 sessions never expire and a SaslHandshake after authentication is
//   answered ILLEGAL_SASL_STATE, as Kafka's request handler answers it.
// - PLAIN checks the password against the user's SCRAM credentials (SCRAM-SHA-512 if it has one,
//   else SCRAM-SHA-256): there is no second password store, and none holds a password.
import { createHmac } from 'node:crypto';
import { ApiKey } from '@chronik/protocol';
import type { ScramCredential, ScramMechanismName } from '@chronik/metadata';
import type { Random } from '@chronik/env';
import type { SaslConfig, SaslMechanism } from './config.js';
import { AuthenticationError, AuthenticationErrorCode } from './errors.js';
import type { ListenerInfo } from './listeners.js';
import {
  DEFAULT_SCRAM_ITERATIONS,
  SaslFailure,
  ScramExchange,
  passwordMatches,
  saltedPassword,
} from './scram.js';
import { ANONYMOUS } from './session.js';

/** Largest frame a client that has not authenticated may send (Kafka's sasl.server.max.receive.size). */
export const MAX_UNAUTHENTICATED_FRAME_BYTES = 512 * 1024;
/** Kafka's minimum time between two re-authentications of one connection. */
const MIN_REAUTH_INTERVAL_MS = 1000;
/** Remote addresses the failure limiter remembers (the oldest forgotten first). */
const MAX_TRACKED_ADDRESSES = 10_000;

type State =
  /** Nothing yet: ApiVersions or SaslHandshake. */
  | 'start'
  /** Handshake v1 done: SaslAuthenticate requests carry the tokens. */
  | 'authenticate'
  /** Handshake v0 done: bare tokens. */
  | 'raw'
  | 'authenticated'
  | 'failed';

/** The SASL state of one connection on a SASL listener (the network layer's ConnectionSecurity). */
export class SaslSession {
  private state: State = 'start';
  private principalName = ANONYMOUS;
  /** The mechanism of the exchange in progress, or of the last completed one. */
  mechanism: SaslMechanism | undefined;
  /** The SCRAM exchange in progress. */
  exchange: ScramExchange | undefined;
  /** When the session ends (connections.max.reauth.ms), if it does. */
  expiresAtMs: number | undefined;
  private reauthStartedMs = 0;
  /** During a re-authentication: the principal it must end with; a mechanism change fails it. */
  reauth: { principal: string; badMechanism: SaslMechanism | undefined } | undefined;

  constructor(
    readonly listener: ListenerInfo,
    readonly remoteIp: string,
    /** The TLS principal (SASL_SSL with a client certificate); replaced by the SASL user. */
    tlsPrincipal: string | undefined = undefined,
  ) {
    if (tlsPrincipal !== undefined) this.principalName = tlsPrincipal;
  }

  get principal(): string {
    return this.principalName;
  }

  get authenticated(): boolean {
    return this.state === 'authenticated';
  }

  get isFailed(): boolean {
    return this.state === 'failed';
  }

  /** Whether a SaslAuthenticate (or bare token) is expected: a handshake named the mechanism. */
  get awaitingTokens(): boolean {
    return this.state === 'authenticate' || this.state === 'raw' || this.reauth !== undefined;
  }

  maxFrameBytes(): number | undefined {
    return this.state === 'authenticated' ? undefined : MAX_UNAUTHENTICATED_FRAME_BYTES;
  }

  expectsRawToken(): boolean {
    return this.state === 'raw';
  }

  /**
   * Whether a request of `apiKey` may be served now; throws AuthenticationError (the connection is
   * closed) when it may not.
   */
  check(apiKey: number, nowMs: number): void {
    if (this.state === 'failed')
      throw new AuthenticationError(
        AuthenticationErrorCode.AUTHENTICATION_FAILED,
        'a request after a failed authentication',
      );
    const sasl = apiKey === ApiKey.SaslHandshake || apiKey === ApiKey.SaslAuthenticate;
    if (this.state !== 'authenticated') {
      if (apiKey === ApiKey.ApiVersions || sasl) return;
      throw new AuthenticationError(
        AuthenticationErrorCode.UNAUTHENTICATED_REQUEST,
        `API key ${apiKey} before SASL authentication on listener ${this.listener.name}`,
      );
    }
    if (this.expiresAtMs !== undefined && nowMs >= this.expiresAtMs && !sasl)
      throw new AuthenticationError(
        AuthenticationErrorCode.SESSION_EXPIRED,
        'the SASL session expired (connections.max.reauth.ms) and the client did not re-authenticate',
      );
  }

  /** A handshake named `mechanism`: tokens follow (v1: in SaslAuthenticate; v0: bare). */
  handshake(mechanism: SaslMechanism, version: number): void {
    this.mechanism = mechanism;
    this.exchange = undefined;
    this.state = version >= 1 ? 'authenticate' : 'raw';
  }

  /**
   * A handshake on an authenticated connection: starts a re-authentication when sessions expire
   * and the last one started at least a second ago; false otherwise (ILLEGAL_SASL_STATE).
   */
  beginReauthentication(mechanism: SaslMechanism, nowMs: number): boolean {
    if (this.state !== 'authenticated' || this.expiresAtMs === undefined || this.reauth !== undefined)
      return false;
    if (this.reauthStartedMs !== 0 && nowMs - this.reauthStartedMs < MIN_REAUTH_INTERVAL_MS) return false;
    this.reauthStartedMs = nowMs;
    this.reauth = {
      principal: this.principalName,
      badMechanism: mechanism === this.mechanism ? undefined : mechanism,
    };
    this.exchange = undefined;
    return true;
  }

  /** The exchange succeeded for `user`; the session lasts `lifetimeMs` (0: forever). */
  succeeded(user: string, nowMs: number, lifetimeMs: number): void {
    this.state = 'authenticated';
    this.principalName = `User:${user}`;
    this.exchange = undefined;
    this.reauth = undefined;
    this.expiresAtMs = lifetimeMs > 0 ? nowMs + lifetimeMs : undefined;
  }

  failed(): void {
    this.state = 'failed';
    this.exchange = undefined;
    this.reauth = undefined;
  }
}

/** Failed authentications per remote address in fixed windows (bounded). */
export class FailureLimiter {
  private readonly byAddress = new Map<string, { windowStartMs: number; failures: number }>();

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs: number,
  ) {}

  /** Whether `ip` used up its failures in the current window. */
  blocked(ip: string, nowMs: number): boolean {
    const e = this.byAddress.get(ip);
    return e !== undefined && nowMs - e.windowStartMs < this.windowMs && e.failures >= this.maxFailures;
  }

  recordFailure(ip: string, nowMs: number): void {
    const e = this.byAddress.get(ip);
    if (e !== undefined && nowMs - e.windowStartMs < this.windowMs) {
      e.failures++;
      return;
    }
    this.byAddress.delete(ip);
    this.byAddress.set(ip, { windowStartMs: nowMs, failures: 1 });
    if (this.byAddress.size > MAX_TRACKED_ADDRESSES)
      this.byAddress.delete(this.byAddress.keys().next().value as string);
  }
}

/** The outcome of one token: the answer, and whether the exchange ended (and for whom). */
export type TokenOutcome =
  | { kind: 'continue'; token: Buffer }
  | { kind: 'success'; token: Buffer; user: string }
  | { kind: 'failure'; message: string; reason: string; rateLimited: boolean };

/** What the SASL handlers use: the enabled mechanisms, the credentials, the limiter. */
export class SaslService {
  private readonly limiter: FailureLimiter;
  private readonly fakeSecret: Buffer;

  constructor(
    readonly config: SaslConfig,
    /** A user's SCRAM credential (the metadata). */
    private readonly credential: (user: string, mechanism: ScramMechanismName) => ScramCredential | undefined,
    private readonly random: Random,
    /** Told every exchange that ended (metrics, log); never given a secret. */
    private readonly onOutcome: (session: SaslSession, outcome: TokenOutcome) => void = () => undefined,
  ) {
    this.limiter = new FailureLimiter(config.maxFailuresPerAddress, config.failureWindowMs);
    this.fakeSecret = Buffer.from(random.bytes(32));
  }

  enabled(mechanism: string): mechanism is SaslMechanism {
    return (this.config.mechanisms as readonly string[]).includes(mechanism);
  }

  /**
   * Moves the session on by an outcome of `evaluate`: authenticated (for connections.max.reauth.ms)
   * or failed (the failure counted against its address unless it was refused unchecked).
   */
  settle(session: SaslSession, outcome: TokenOutcome, nowMs: number): void {
    if (outcome.kind === 'continue') return;
    if (outcome.kind === 'success')
      session.succeeded(outcome.user, nowMs, this.config.connectionsMaxReauthMs);
    else {
      session.failed();
      if (!outcome.rateLimited) this.limiter.recordFailure(session.remoteIp, nowMs);
    }
    this.onOutcome(session, outcome);
  }

  /** Evaluates one client token of the session's exchange. */
  async evaluate(session: SaslSession, token: Buffer, nowMs: number): Promise<TokenOutcome> {
    const mechanism = session.mechanism as SaslMechanism;
    const generic = `Authentication failed during ${session.reauth === undefined ? 'authentication' : 're-authentication'} due to invalid credentials with SASL mechanism ${mechanism}`;
    if (session.reauth?.badMechanism !== undefined)
      return {
        kind: 'failure',
        message: `SASL mechanism '${session.reauth.badMechanism}' requested by client is not supported for re-authentication of mechanism '${mechanism}'`,
        reason: 'another mechanism on re-authentication',
        rateLimited: false,
      };
    if (this.limiter.blocked(session.remoteIp, nowMs))
      return {
        kind: 'failure',
        message: 'Authentication failed: too many failed authentications from this address; try again later',
        reason: 'rate limited',
        rateLimited: true,
      };
    try {
      const outcome = mechanism === 'PLAIN' ? await this.plain(token) : this.scram(session, mechanism, token);
      if (
        outcome.kind === 'success' &&
        session.reauth !== undefined &&
        `User:${outcome.user}` !== session.reauth.principal
      )
        return {
          kind: 'failure',
          message: `Cannot change principals during re-authentication from ${session.reauth.principal}: User:${outcome.user}`,
          reason: 'another principal on re-authentication',
          rateLimited: false,
        };
      return outcome;
    } catch (e) {
      if (!(e instanceof SaslFailure)) throw e;
      return {
        kind: 'failure',
        message: mechanism === 'PLAIN' ? 'Authentication failed: Invalid username or password' : generic,
        reason: e.reason,
        rateLimited: false,
      };
    }
  }

  private scram(session: SaslSession, mechanism: ScramMechanismName, token: Buffer): TokenOutcome {
    if (session.exchange === undefined) {
      // Alphanumeric, as Kafka's: librdkafka reads a nonce with '=' in it wrongly.
      const nonce = Buffer.from(this.random.bytes(24)).toString('hex');
      session.exchange = new ScramExchange(
        mechanism,
        (user) => this.credential(user, mechanism),
        nonce,
        this.fakeSecret,
      );
      return { kind: 'continue', token: session.exchange.first(token) };
    }
    const { serverFinal, user } = session.exchange.final(token);
    return { kind: 'success', token: serverFinal, user };
  }

  /** PLAIN (RFC 4616): authzid NUL authcid NUL passwd, checked against the user's SCRAM credential. */
  private async plain(token: Buffer): Promise<TokenOutcome> {
    const first = token.indexOf(0);
    const second = first < 0 ? -1 : token.indexOf(0, first + 1);
    if (first < 0 || second < 0 || token.indexOf(0, second + 1) >= 0 || token.length > 8192)
      throw new SaslFailure('malformed PLAIN message');
    const authzid = token.subarray(0, first).toString('utf8');
    const user = token.subarray(first + 1, second).toString('utf8');
    const password = token.subarray(second + 1);
    if (user.length === 0 || password.length === 0) throw new SaslFailure('empty user or password');
    if (authzid.length > 0 && authzid !== user)
      throw new SaslFailure('the authorization id differs from the user name');
    const credential = this.credential(user, 'SCRAM-SHA-512') ?? this.credential(user, 'SCRAM-SHA-256');
    if (credential === undefined) {
      // As long as a known user's check: the answer does not tell who exists.
      await saltedPassword(
        'SCRAM-SHA-512',
        password,
        createHmac('sha256', this.fakeSecret).update(user).digest(),
        DEFAULT_SCRAM_ITERATIONS,
      );
      throw new SaslFailure('unknown user');
    }
    if (!(await passwordMatches(credential, password))) throw new SaslFailure('wrong password');
    return { kind: 'success', token: Buffer.alloc(0), user };
  }
}
