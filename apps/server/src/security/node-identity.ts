// Which node a certificate belongs to, between nodes (the Raft transport's mutual TLS,
// docs/design/security.md "Between nodes"): a node certificate's subject common name is
// `node-<id>` (the id in decimal, as `--node-id`), e.g. `CN=node-2,O=Example`. The certificates
// `chronik certs` makes are named so.
//
// - A node dialling node N accepts only a server certificate that names N; a node accepts a stream,
//   a snapshot or an Identify only from a client certificate naming the node the request speaks
//   for, and a forwarded proposal only from a certificate that names a node. The CA check comes
//   first (a certificate the cluster CA did not sign is refused in the TLS handshake).
// - At start a node checks its own certificate names its own id: a node would otherwise be refused
//   by every peer.
import type { PeerCertificate } from 'node:tls';

/** The common name a node certificate has. */
export function nodeCommonName(nodeId: number): string {
  return `node-${nodeId}`;
}

/** The node id a common name names (`node-<id>`), or undefined. */
export function nodeIdOfCommonName(cn: string): number | undefined {
  const m = /^node-(0|[1-9][0-9]{0,9})$/.exec(cn);
  if (m === null) return undefined;
  const id = Number(m[1]);
  return id <= 2_147_483_647 ? id : undefined;
}

/** The node id a peer certificate names by its subject's CN (one CN; several is none). */
export function nodeIdOfCertificate(cert: PeerCertificate): number | undefined {
  const cn = (cert.subject as Partial<Record<string, string | string[]>> | undefined)?.['CN'];
  return typeof cn === 'string' ? nodeIdOfCommonName(cn) : undefined;
}

/** The CN of a subject as node:crypto's X509Certificate prints it ("C=US\nO=Example\nCN=node-1"). */
export function commonNameOfSubject(subject: string): string | undefined {
  const cns = subject
    .split('\n')
    .filter((rdn) => rdn.startsWith('CN='))
    .map((rdn) => rdn.slice(3));
  return cns.length === 1 ? cns[0] : undefined;
}
