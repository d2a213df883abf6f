// Test certificates made at run time (no `openssl` needed): a CA, a server certificate for
// localhost / 127.0.0.1 and client certificates, all signed by the CA, written as PEM files into a
// directory. Keys come from Node's own generator (fast); node-forge builds and signs the X.509
// certificates, which Node cannot do by itself.
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import forge from 'node-forge';

export interface TestCerts {
  dir: string;
  caFile: string;
  caPem: string;
  serverCertFile: string;
  serverKeyFile: string;
  /** A client certificate and key signed by the CA, subject CN=<cn>,O=Chronik Tests. */
  client(cn: string): { certFile: string; keyFile: string; certPem: string; keyPem: string };
  /** A self-signed client certificate the CA did not sign. */
  stranger(cn: string): { certFile: string; keyFile: string };
  /** Writes a new server certificate (another serial, same CA) over the server files; returns its serial. */
  renewServer(): string;
}

function keyPair(): { privatePem: string; publicKey: forge.pki.PublicKey; privateKey: forge.pki.PrivateKey } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    privatePem: privateKey,
    publicKey: forge.pki.publicKeyFromPem(publicKey),
    privateKey: forge.pki.privateKeyFromPem(privateKey),
  };
}

let serial = 1;

function certificate(options: {
  subject: forge.pki.CertificateField[];
  issuer: forge.pki.CertificateField[];
  publicKey: forge.pki.PublicKey;
  signingKey: forge.pki.PrivateKey;
  ca?: boolean;
  serverNames?: boolean;
}): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = options.publicKey;
  cert.serialNumber = (serial++).toString(16).padStart(2, '0');
  cert.validity.notBefore = new Date(Date.now() - 3600_000);
  cert.validity.notAfter = new Date(Date.now() + 24 * 3600_000);
  cert.setSubject(options.subject);
  cert.setIssuer(options.issuer);
  const extensions: object[] = [{ name: 'basicConstraints', cA: options.ca === true }];
  if (options.ca === true)
    extensions.push({ name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true });
  else {
    extensions.push({ name: 'keyUsage', digitalSignature: true, keyEncipherment: true });
    extensions.push({ name: 'extKeyUsage', serverAuth: true, clientAuth: true });
  }
  if (options.serverNames === true)
    extensions.push({
      name: 'subjectAltName',
      altNames: [
        { type: 2, value: 'localhost' },
        { type: 7, ip: '127.0.0.1' },
      ],
    });
  cert.setExtensions(extensions);
  cert.sign(options.signingKey as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return cert;
}

export function makeTestCerts(dir: string): TestCerts {
  fs.mkdirSync(dir, { recursive: true });
  const write = (name: string, text: string): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };
  const caKeys = keyPair();
  const caName = [
    { name: 'commonName', value: 'Chronik Test CA' },
    { name: 'organizationName', value: 'Chronik Tests' },
  ];
  const ca = certificate({
    subject: caName,
    issuer: caName,
    publicKey: caKeys.publicKey,
    signingKey: caKeys.privateKey,
    ca: true,
  });
  const caPem = forge.pki.certificateToPem(ca);
  const caFile = write('ca.pem', caPem);
  const leaf = (cn: string, serverNames: boolean) => {
    const keys = keyPair();
    const cert = certificate({
      subject: [
        { name: 'organizationName', value: 'Chronik Tests' },
        { name: 'commonName', value: cn },
      ],
      issuer: ca.subject.attributes as forge.pki.CertificateField[],
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      serverNames,
    });
    return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.privatePem, serial: cert.serialNumber };
  };
  const server = leaf('localhost', true);
  const serverCertFile = write('server.pem', server.certPem);
  const serverKeyFile = write('server.key', server.keyPem);
  return {
    dir,
    caFile,
    caPem,
    serverCertFile,
    serverKeyFile,
    client: (cn) => {
      const c = leaf(cn, false);
      return {
        certFile: write(`client-${cn}.pem`, c.certPem),
        keyFile: write(`client-${cn}.key`, c.keyPem),
        certPem: c.certPem,
        keyPem: c.keyPem,
      };
    },
    stranger: (cn) => {
      const keys = keyPair();
      const name = [{ name: 'commonName', value: cn }];
      const cert = certificate({
        subject: name,
        issuer: name,
        publicKey: keys.publicKey,
        signingKey: keys.privateKey,
      });
      return {
        certFile: write(`stranger-${cn}.pem`, forge.pki.certificateToPem(cert)),
        keyFile: write(`stranger-${cn}.key`, keys.privatePem),
      };
    },
    renewServer: () => {
      const s = leaf('localhost', true);
      fs.writeFileSync(serverCertFile, s.certPem);
      fs.writeFileSync(serverKeyFile, s.keyPem);
      return s.serial;
    },
  };
}
