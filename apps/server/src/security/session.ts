// The security state of one connection: the listener it came in on, and who the client is (its
// principal). The network layer creates one per connection (`net/server.ts`); handlers read it
// through their request context (`ctx.conn.security`).
//
// - PLAINTEXT: the principal is User:ANONYMOUS (Kafka's), from the first byte.
// - SSL: User:<subject DN of the client certificate> when the client presented one that chains to
//   --ssl-ca-file, else User:ANONYMOUS.
// - SASL_PLAINTEXT, SASL_SSL: nothing but ApiVersions, SaslHandshake and SaslAuthenticate until
//   the client authenticated (`sasl-session.ts`); then User:<the SASL user>.
import type { ListenerInfo } from './listeners.js';

/** Kafka's principal of an unauthenticated client. */
export const ANONYMOUS = 'User:ANONYMOUS';

/** Where the connection came from and who its client is. */
export interface ConnectionSecurityInfo {
  readonly listener: ListenerInfo;
  /** `User:<name>` (Kafka's principal string). */
  readonly principal: string;
}

/** The security of a connection on a listener without SASL: fixed at accept time. */
export class StaticSecurity implements ConnectionSecurityInfo {
  readonly principal: string;
  constructor(
    readonly listener: ListenerInfo,
    principal: string | undefined = undefined,
  ) {
    this.principal = principal ?? ANONYMOUS;
  }
}
