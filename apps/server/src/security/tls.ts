// TLS of the SSL and SASL_SSL listeners, on Node's own `tls` (no other library): the certificate,
// key and CA files, client certificates (Kafka's ssl.client.auth), the principal of a client
// certificate, and reading the files again for a reload (SIGHUP, `Broker.reloadTls`).
//
// - The files are read through the function the broker passes (the layers below the modes read no
//   files themselves); a reload reads all of them and builds the new context before anything
//   changes, so a bad file leaves the old certificate in use.
// - A client certificate that chains to --ssl-ca-file makes the principal `User:<subject DN>`, the
//   DN written as RFC 2253 orders it (most specific first: `CN=app,OU=eng,O=Example,C=US`), which is
//   what Kafka's default principal builder gives; without one (requested / none) it is
//   User:ANONYMOUS.
import { X509Certificate } from 'node:crypto';
import type tls from 'node:tls';
import type { TlsConfig } from './config.js';
import { ANONYMOUS } from './session.js';

/** What a TLS endpoint of the network layer needs (net/server.ts). */
export interface TlsEndpointSettings {
  /** Certificate, key and CA, read from their files (again on every call). */
  context(): Promise<tls.SecureContextOptions>;
  requestCert: boolean;
  rejectUnauthorized: boolean;
  handshakeTimeoutMs: number;
}

/** The TLS settings of the endpoints from the config; `readFile` reads a file whole. */
export function tlsEndpointSettings(
  config: TlsConfig,
  readFile: (path: string) => Promise<Buffer>,
): TlsEndpointSettings {
  return {
    context: async () => {
      const [cert, key, ca] = await Promise.all([
        readFile(config.certFile),
        readFile(config.keyFile),
        config.caFile === undefined ? Promise.resolve(undefined) : readFile(config.caFile),
      ]);
      return { cert, key, ...(ca === undefined ? {} : { ca }) };
    },
    requestCert: config.clientAuth !== 'none',
    rejectUnauthorized: config.clientAuth === 'required',
    handshakeTimeoutMs: config.handshakeTimeoutMs,
  };
}

/** RFC 2253 form of a subject as Node prints it ("C=US\nO=Example\nCN=app" → "CN=app,O=Example,C=US"). */
export function rfc2253(subject: string): string {
  return subject
    .split('\n')
    .filter((rdn) => rdn !== '')
    .reverse()
    .join(',');
}

/** The principal of a TLS client: User:<subject DN> of a verified certificate, else User:ANONYMOUS. */
export function tlsPrincipal(socket: tls.TLSSocket): string {
  if (!socket.authorized) return ANONYMOUS;
  const cert = socket.getPeerX509Certificate();
  if (cert === undefined || !(cert instanceof X509Certificate)) return ANONYMOUS;
  return `User:${rfc2253(cert.subject)}`;
}
