// SaslAuthenticate (key 36), v0–v2 (KIP-152; v1 adds session_lifetime_ms, KIP-368). Carries the
// tokens of the mechanism a SaslHandshake v1 named: PLAIN (one token) or SCRAM-SHA-256/512
// (client-first, then client-final). Success authenticates the connection (principal User:<name>)
// for connections.max.reauth.ms (answered in session_lifetime_ms; 0 = no limit); failure is
// SASL_AUTHENTICATION_FAILED with Kafka's generic message, and the connection closes after
// --failed-authentication-delay-ms. Before a handshake the connection is closed (as Kafka closes
// it); after authentication, outside a re-authentication, or on a listener without SASL:
// ILLEGAL_SASL_STATE. The mechanics are in security/sasl.ts and security/scram.ts.
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { AuthenticationError, AuthenticationErrorCode } from '../security/errors.js';
import { SaslSession } from '../security/sasl.js';
import { defineHandler } from './types.js';

const EMPTY = Buffer.alloc(0);

export const saslAuthenticateHandler = defineHandler({
  apiKey: ApiKey.SaslAuthenticate,
  minVersion: 0,
  maxVersion: 2,
  uses: ['security'],
  async handle(req, ctx) {
    const sasl = ctx.deps.security;
    const session = ctx.conn.security;
    const refuse = (message: string) => ({
      errorCode: ErrorCode.ILLEGAL_SASL_STATE,
      errorMessage: message,
      authBytes: EMPTY,
      sessionLifetimeMs: 0n,
    });
    if (!(session instanceof SaslSession)) return refuse('this listener does not use SASL');
    if (!session.awaitingTokens) {
      if (session.authenticated)
        return refuse('SaslAuthenticate request received after successful authentication');
      throw new AuthenticationError(
        AuthenticationErrorCode.ILLEGAL_SASL_STATE,
        'SaslAuthenticate before SaslHandshake',
      );
    }
    const outcome = await sasl.evaluate(session, req.authBytes, ctx.deps.clock.nowMs());
    sasl.settle(session, outcome, ctx.deps.clock.nowMs());
    switch (outcome.kind) {
      case 'continue':
        return {
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          authBytes: outcome.token,
          sessionLifetimeMs: 0n,
        };
      case 'success':
        return {
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          authBytes: outcome.token,
          sessionLifetimeMs: BigInt(sasl.config.connectionsMaxReauthMs),
        };
      case 'failure':
        ctx.conn.closeAfter?.(sasl.config.failedAuthenticationDelayMs);
        return {
          errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED,
          errorMessage: outcome.message,
          authBytes: EMPTY,
          sessionLifetimeMs: 0n,
        };
    }
  },
});
