// Who may use the admin HTTP API (docs/design/security.md, "The admin HTTP API"): TLS with the
// node's certificate, client certificates of a CA (mTLS), and/or a bearer token — all off unless
// configured, as before.
//
// - The token is read from a file (never the command line, never an answer or a log line); a request
//   proves it with `Authorization: Bearer <token>`, compared in constant time (both sides hashed
//   first, so the comparison does not depend on the lengths either).
// - With mTLS the TLS handshake refuses a client without a certificate of the CA: it never reaches a
//   route.
// - `/health` answers without credentials, with its status and node id only (a load balancer's
//   probe); with them, also the replicas that do not serve. Every other route needs them: 401 and
//   `WWW-Authenticate: Bearer` without.
import { createHash, timingSafeEqual } from 'node:crypto';

/** The admin API's security settings (--admin-tls-*, --admin-token-file). */
export interface AdminSecurityConfig {
  readonly tls:
    | {
        readonly certFile: string;
        readonly keyFile: string;
        /** Client certificates must chain to it (--admin-tls-ca-file with --admin-tls-client-auth required). */
        readonly caFile: string | undefined;
        readonly clientAuth: 'none' | 'required';
      }
    | undefined;
  /** A file holding the bearer token (one trailing newline ignored). */
  readonly tokenFile: string | undefined;
}

/** The token of a token file's bytes: one trailing newline dropped; at least 16 characters. */
export function tokenOf(raw: Buffer, file: string): Buffer {
  const text = raw.toString('utf8').replace(/\r?\n$/, '');
  if (text.length < 16) throw new Error(`the admin token in ${file} is shorter than 16 characters`);
  if (/\s/.test(text)) throw new Error(`the admin token in ${file} has white space in it`);
  return Buffer.from(text, 'utf8');
}

const digest = (b: Buffer): Buffer => createHash('sha256').update(b).digest();

/** Checks the Authorization header against the token, in constant time. */
export class BearerToken {
  private readonly expected: Buffer;
  constructor(token: Buffer) {
    this.expected = digest(token);
  }

  accepts(authorization: string | undefined): boolean {
    const m = /^Bearer ([^\s]+)$/i.exec(authorization?.trim() ?? '');
    const given = digest(Buffer.from(m?.[1] ?? '', 'utf8'));
    return timingSafeEqual(given, this.expected) && m !== null;
  }
}
