// SaslHandshake (key 17), v0–v1 (KIP-43, KIP-152). On a SASL listener, before authentication: the
// mechanism the client names must be enabled (--sasl-enabled-mechanisms), else
// UNSUPPORTED_SASL_MECHANISM with the enabled ones and the connection closes; v1: the tokens follow in
// SaslAuthenticate requests, v0: as bare frames. On an authenticated connection: a re-authentication
// (KIP-368) when sessions expire (connections.max.reauth.ms > 0), else ILLEGAL_SASL_STATE, as
// Kafka's request handler answers; a second handshake during an exchange closes the connection. On a
// listener without SASL: ILLEGAL_SASL_STATE. The mechanics are in security/sasl.ts.
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { AuthenticationError, AuthenticationErrorCode } from '../security/errors.js';
import { SaslSession } from '../security/sasl.js';
import { defineHandler } from './types.js';

export const saslHandshakeHandler = defineHandler({
  apiKey: ApiKey.SaslHandshake,
  minVersion: 0,
  maxVersion: 1,
  uses: ['security'],
  handle(req, ctx) {
    const sasl = ctx.deps.security;
    const session = ctx.conn.security;
    if (!(session instanceof SaslSession)) return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] };
    const mechanisms = [...sasl.config.mechanisms];
    if (!sasl.enabled(req.mechanism)) {
      session.failed();
      ctx.conn.closeAfter?.(sasl.config.failedAuthenticationDelayMs);
      ctx.deps.metrics.authentications.inc({
        listener: session.listener.name,
        mechanism: 'unsupported',
        outcome: 'failed',
      });
      return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms };
    }
    if (session.authenticated) {
      if (session.beginReauthentication(req.mechanism, ctx.deps.clock.nowMs()))
        return { errorCode: ErrorCode.NONE, mechanisms };
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] };
    }
    if (session.awaitingTokens)
      throw new AuthenticationError(
        AuthenticationErrorCode.ILLEGAL_SASL_STATE,
        'a second SaslHandshake during an exchange',
      );
    session.handshake(req.mechanism, ctx.apiVersion);
    return { errorCode: ErrorCode.NONE, mechanisms };
  },
});
