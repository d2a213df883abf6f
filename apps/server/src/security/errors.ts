// Why the security layer closes a connection: a request a client may not send before it
// authenticated, a SASL exchange that broke its rules, or a session past its lifetime. The network
// layer closes the connection on these (logged at info, rate-limited per address, counted by reason).

export const AuthenticationErrorCode = {
  /** A request other than ApiVersions / SaslHandshake / SaslAuthenticate before authenticating (Kafka closes). */
  UNAUTHENTICATED_REQUEST: 'unauthenticated_request',
  /** A SASL exchange out of order or malformed beyond answering (Kafka's IllegalSaslState / invalid request). */
  ILLEGAL_SASL_STATE: 'illegal_sasl_state',
  /** A request on a connection whose session lifetime (connections.max.reauth.ms) is over. */
  SESSION_EXPIRED: 'session_expired',
  /** A request after a failed authentication (the connection is being closed). */
  AUTHENTICATION_FAILED: 'authentication_failed',
} as const;
export type AuthenticationErrorCode = (typeof AuthenticationErrorCode)[keyof typeof AuthenticationErrorCode];

export class AuthenticationError extends Error {
  override readonly name = 'AuthenticationError';
  constructor(
    readonly code: AuthenticationErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isAuthenticationError(e: unknown): e is AuthenticationError {
  return e instanceof AuthenticationError;
}
