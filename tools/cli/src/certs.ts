// A local certificate authority and the certificates of a test or development cluster, as
// `chronik certs create` writes them (PEM files in one directory):
//
// - `ca.pem` / `ca.key`: the cluster CA (kept, so that later runs sign more certificates with it;
//   the key never leaves the directory, which is made private to its owner).
// - `node-<id>.pem` / `node-<id>.key`: a node's certificate, subject `CN=node-<id>,O=<org>` — the
//   name chronik-server checks between nodes (`--raft-tls-node-identity cn`) and the principal
//   `User:CN=node-<id>,O=<org>` on an SSL inter-broker listener — valid for the host names and
//   addresses given (Kafka SSL listeners, the inter-broker and admin TLS) and for TLS clients.
// - `client-<name>.pem` / `client-<name>.key`: a client certificate, subject `CN=<name>,O=<org>`
//   (principal `User:CN=<name>,O=<org>` under `--ssl-client-auth`).
//
// Keys are RSA 2048 from Node's own generator; node-forge builds and signs the X.509 certificates
// (Node cannot make one). A file that exists is left alone unless `force`: a CA is reused, never
// replaced behind the certificates it signed.
import { X509Certificate, generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import forge from 'node-forge';

export interface CertsRequest {
  dir: string;
  nodes: readonly number[];
  clients: readonly string[];
  /** Host names and IP addresses the node certificates are valid for. */
  hosts: readonly string[];
  organization: string;
  days: number;
  /** Replace node and client files that exist (never the CA). */
  force: boolean;
}

export interface WrittenCert {
  kind: 'ca' | 'node' | 'client';
  name: string;
  certFile: string;
  keyFile: string;
  /** The Kafka principal of the certificate (`User:<subject DN>`, RFC 2253 order). */
  principal: string;
  /** Made now (false: it existed and was kept). */
  created: boolean;
}

interface KeyPair {
  pem: string;
  publicKey: forge.pki.PublicKey;
  privateKey: forge.pki.PrivateKey;
}

function newKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    pem: privateKey,
    publicKey: forge.pki.publicKeyFromPem(publicKey),
    privateKey: forge.pki.privateKeyFromPem(privateKey),
  };
}

/** The principal of a PEM certificate: `User:` and its subject, most specific part first. */
export function principalOf(certPem: string): string {
  const subject = new X509Certificate(certPem).subject;
  return `User:${subject
    .split('\n')
    .filter((rdn) => rdn !== '')
    .reverse()
    .join(',')}`;
}

function sign(options: {
  subject: forge.pki.CertificateField[];
  issuer: forge.pki.CertificateField[];
  publicKey: forge.pki.PublicKey;
  signingKey: forge.pki.PrivateKey;
  days: number;
  extensions: object[];
}): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = options.publicKey;
  // A positive serial of 16 random bytes (the top bit cleared).
  const serial = randomBytes(16);
  serial[0] = (serial[0] as number) & 0x7f;
  cert.serialNumber = serial.toString('hex');
  cert.validity.notBefore = new Date(Date.now() - 5 * 60_000);
  cert.validity.notAfter = new Date(Date.now() + options.days * 24 * 3600_000);
  cert.setSubject(options.subject);
  cert.setIssuer(options.issuer);
  cert.setExtensions(options.extensions);
  cert.sign(options.signingKey as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

/** Writes a file readable by its owner only (keys), or world-readable (certificates). */
function write(file: string, text: string, secret: boolean): void {
  fs.writeFileSync(file, text, { mode: secret ? 0o600 : 0o644 });
  fs.chmodSync(file, secret ? 0o600 : 0o644);
}

/** Makes (or reuses) the CA and makes the node and client certificates asked for. */
export function createCerts(req: CertsRequest): WrittenCert[] {
  fs.mkdirSync(req.dir, { recursive: true, mode: 0o700 });
  const out: WrittenCert[] = [];
  const caCertFile = path.join(req.dir, 'ca.pem');
  const caKeyFile = path.join(req.dir, 'ca.key');
  let caCertPem: string;
  let caKey: forge.pki.PrivateKey;
  if (fs.existsSync(caCertFile) && fs.existsSync(caKeyFile)) {
    caCertPem = fs.readFileSync(caCertFile, 'utf8');
    caKey = forge.pki.privateKeyFromPem(fs.readFileSync(caKeyFile, 'utf8'));
    out.push({
      kind: 'ca',
      name: 'ca',
      certFile: caCertFile,
      keyFile: caKeyFile,
      principal: principalOf(caCertPem),
      created: false,
    });
  } else {
    if (fs.existsSync(caCertFile) || fs.existsSync(caKeyFile))
      throw new Error(
        `${req.dir} has one of ca.pem and ca.key without the other: restore it or choose another directory`,
      );
    const keys = newKeyPair();
    const name = [
      { name: 'organizationName', value: req.organization },
      { name: 'commonName', value: `${req.organization} cluster CA` },
    ];
    caCertPem = sign({
      subject: name,
      issuer: name,
      publicKey: keys.publicKey,
      signingKey: keys.privateKey,
      days: req.days,
      extensions: [
        { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
        { name: 'subjectKeyIdentifier' },
      ],
    });
    caKey = keys.privateKey;
    write(caKeyFile, keys.pem, true);
    write(caCertFile, caCertPem, false);
    out.push({
      kind: 'ca',
      name: 'ca',
      certFile: caCertFile,
      keyFile: caKeyFile,
      principal: principalOf(caCertPem),
      created: true,
    });
  }
  const ca = forge.pki.certificateFromPem(caCertPem);
  const leaf = (kind: 'node' | 'client', name: string, cn: string, extensions: object[]): void => {
    const certFile = path.join(req.dir, `${kind}-${name}.pem`);
    const keyFile = path.join(req.dir, `${kind}-${name}.key`);
    if (!req.force && (fs.existsSync(certFile) || fs.existsSync(keyFile))) {
      out.push({
        kind,
        name,
        certFile,
        keyFile,
        principal: principalOf(fs.readFileSync(certFile, 'utf8')),
        created: false,
      });
      return;
    }
    const keys = newKeyPair();
    const pem = sign({
      subject: [
        { name: 'organizationName', value: req.organization },
        { name: 'commonName', value: cn },
      ],
      issuer: ca.subject.attributes as forge.pki.CertificateField[],
      publicKey: keys.publicKey,
      signingKey: caKey,
      days: req.days,
      extensions: [
        { name: 'basicConstraints', cA: false, critical: true },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'authorityKeyIdentifier', keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
        ...extensions,
      ],
    });
    write(keyFile, keys.pem, true);
    write(certFile, pem, false);
    out.push({ kind, name, certFile, keyFile, principal: principalOf(pem), created: true });
  };
  const altNames = req.hosts.map((h) => (isIP(h) === 0 ? { type: 2, value: h } : { type: 7, ip: h }));
  for (const id of req.nodes)
    leaf('node', String(id), `node-${id}`, [
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      ...(altNames.length > 0 ? [{ name: 'subjectAltName', altNames }] : []),
    ]);
  for (const c of req.clients) leaf('client', c, c, [{ name: 'extKeyUsage', clientAuth: true }]);
  return out;
}
