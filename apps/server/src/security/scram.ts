// SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), the server side, and the credential
// derivation both sides share.
//
// Written by hand on Node's crypto (hash, HMAC, PBKDF2 — PBKDF2 with one block is RFC 5802's Hi):
// the exchange is two messages each way with a small grammar, and the npm packages that implement
// it are clients, or unmaintained, or bring a generic SASL framework; what matters here — constant
// time comparison, nonce and channel-binding checks, no user enumeration — is easier to check in
// a hundred lines than in a dependency.
//
// What the server checks, in order (any failure: `SaslFailure`, answered as Kafka does with
// SASL_AUTHENTICATION_FAILED and a message that never says whether the user exists):
// - client-first: a gs2 header `n,` or `y,` (channel binding `p=` is not supported), an optional
//   authzid that must equal the user (Kafka's rule), no reserved `m=`, `n=` a saslname (`=2C` and
//   `=3D` are the only escapes), `r=` a nonce of printable characters without commas, extensions
//   (none supported: Kafka's `tokenauth=true`, delegation tokens, is refused).
// - An unknown user gets a server-first message like a known one (a salt derived from the name
//   with a per-process secret, the default iteration count) and fails at the proof, so the
//   exchange does not tell who exists.
// - client-final: `c=` must be the base64 of the gs2 header sent first, `r=` the client
//   nonce followed by the server's (or, as Kafka accepts, anything ending with it: librdkafka 2.0
//   sends the client nonce twice), `p=` last and of the hash's length; ClientKey = proof XOR
//   HMAC(StoredKey, AuthMessage), and H(ClientKey) must equal StoredKey (timingSafeEqual).
// - Passwords and user names are taken as their UTF-8 bytes without SASLprep, as Kafka does.
import { createHash, createHmac, pbkdf2, timingSafeEqual } from 'node:crypto';
import type { ScramCredential, ScramMechanismName } from '@chronik/metadata';

/** A SASL exchange that failed: `reason` is for the log (never a secret), the client gets a generic message. */
export class SaslFailure extends Error {
  override readonly name = 'SaslFailure';
  constructor(readonly reason: string) {
    super(reason);
  }
}

type Hash = 'sha256' | 'sha512';

const HASH: Readonly<Record<ScramMechanismName, Hash>> = {
  'SCRAM-SHA-256': 'sha256',
  'SCRAM-SHA-512': 'sha512',
};
export const SCRAM_KEY_BYTES: Readonly<Record<ScramMechanismName, number>> = {
  'SCRAM-SHA-256': 32,
  'SCRAM-SHA-512': 64,
};
/** Iterations of the credentials this node makes (the bootstrap user), and of unknown users' fake ones. */
export const DEFAULT_SCRAM_ITERATIONS = 8192;
/** Longest client message accepted (SCRAM messages are a few hundred bytes). */
const MAX_MESSAGE_BYTES = 8192;

const hmac = (hash: Hash, key: Buffer, data: Buffer | string): Buffer =>
  createHmac(hash, key).update(data).digest();
const digest = (hash: Hash, data: Buffer): Buffer => createHash(hash).update(data).digest();

/** Hi(password, salt, i) of RFC 5802: PBKDF2 with the mechanism's HMAC, one block. Runs off the event loop. */
export function saltedPassword(
  mechanism: ScramMechanismName,
  password: Buffer,
  salt: Buffer,
  iterations: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    pbkdf2(password, salt, iterations, SCRAM_KEY_BYTES[mechanism], HASH[mechanism], (e, key) =>
      e === null ? resolve(key) : reject(e),
    ),
  );
}

/** StoredKey and ServerKey of a salted password. */
export function scramKeys(
  mechanism: ScramMechanismName,
  salted: Buffer,
): { storedKey: Buffer; serverKey: Buffer } {
  const hash = HASH[mechanism];
  return {
    storedKey: digest(hash, hmac(hash, salted, 'Client Key')),
    serverKey: hmac(hash, salted, 'Server Key'),
  };
}

/** The credential the metadata stores for a salted password (never the password). */
export function credentialOf(
  user: string,
  mechanism: ScramMechanismName,
  salt: Buffer,
  iterations: number,
  salted: Buffer,
): ScramCredential {
  const { storedKey, serverKey } = scramKeys(mechanism, salted);
  return {
    user,
    mechanism,
    salt: salt.toString('base64'),
    iterations,
    storedKey: storedKey.toString('base64'),
    serverKey: serverKey.toString('base64'),
  };
}

/** Whether `password` is the one `credential` was made from (PLAIN checked against SCRAM credentials). */
export async function passwordMatches(credential: ScramCredential, password: Buffer): Promise<boolean> {
  const salted = await saltedPassword(
    credential.mechanism,
    password,
    Buffer.from(credential.salt, 'base64'),
    credential.iterations,
  );
  const { storedKey } = scramKeys(credential.mechanism, salted);
  const expected = Buffer.from(credential.storedKey, 'base64');
  return expected.length === storedKey.length && timingSafeEqual(expected, storedKey);
}

/** A saslname of RFC 5802 (`=2C` is ',', `=3D` is '='); null when malformed. */
function decodeSaslName(s: string): string | null {
  if (s.length === 0) return null;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i] as string;
    if (ch === ',') return null;
    if (ch !== '=') {
      out += ch;
      continue;
    }
    const esc = s.slice(i + 1, i + 3);
    if (esc === '2C') out += ',';
    else if (esc === '3D') out += '=';
    else return null;
    i += 2;
  }
  return out;
}

const PRINTABLE_NONCE = /^[\x21-\x2b\x2d-\x7e]+$/;

/** Where the exchange is. */
type Step =
  | { kind: 'first' }
  | {
      kind: 'final';
      user: string;
      gs2Header: string;
      clientFirstBare: string;
      serverFirst: string;
      nonce: string;
      credential: ScramCredential | undefined;
    }
  | { kind: 'done' };

/** One SCRAM exchange, server side: `first` answers client-first, `final` answers client-final. */
export class ScramExchange {
  private step: Step = { kind: 'first' };

  constructor(
    readonly mechanism: ScramMechanismName,
    /** The user's credential for this mechanism, if any. */
    private readonly lookup: (user: string) => ScramCredential | undefined,
    /** This exchange's server nonce (alphanumeric: hex of random bytes). */
    private readonly serverNonce: string,
    /** A per-process secret from which unknown users' fake salts are derived. */
    private readonly fakeSecret: Buffer,
  ) {}

  get isComplete(): boolean {
    return this.step.kind === 'done';
  }

  /** client-first-message → server-first-message. */
  first(message: Buffer): Buffer {
    if (this.step.kind !== 'first') throw new SaslFailure('client-first-message received twice');
    const text = utf8(message);
    const m = /^([ny]),(a=[^,]*)?,(.*)$/s.exec(text);
    if (m === null)
      throw new SaslFailure(
        text.startsWith('p=') ? 'channel binding is not supported' : 'malformed gs2 header',
      );
    const gs2Header = `${m[1] as string},${m[2] ?? ''},`;
    const bare = m[3] as string;
    const fields = bare.split(',');
    if (fields[0]?.startsWith('m=') === true) throw new SaslFailure('mandatory extensions are not supported');
    const name = fields[0]?.startsWith('n=') === true ? decodeSaslName(fields[0].slice(2)) : null;
    if (name === null) throw new SaslFailure('malformed user name');
    const clientNonce = fields[1]?.startsWith('r=') === true ? fields[1].slice(2) : '';
    if (!PRINTABLE_NONCE.test(clientNonce) || clientNonce.length > 1024)
      throw new SaslFailure('malformed nonce');
    for (const ext of fields.slice(2)) {
      if (!/^[A-Za-z]+=/.test(ext)) throw new SaslFailure('malformed extension');
      if (ext.startsWith('tokenauth=')) throw new SaslFailure('delegation tokens are not supported');
    }
    if (m[2] !== undefined) {
      const authzid = decodeSaslName(m[2].slice(2));
      if (authzid !== name) throw new SaslFailure('the authorization id differs from the user name');
    }
    const credential = this.lookup(name);
    const salt =
      credential !== undefined
        ? credential.salt
        : hmac('sha256', this.fakeSecret, `${this.mechanism}\0${name}`).subarray(0, 16).toString('base64');
    const iterations = credential?.iterations ?? DEFAULT_SCRAM_ITERATIONS;
    const nonce = clientNonce + this.serverNonce;
    const serverFirst = `r=${nonce},s=${salt},i=${iterations}`;
    this.step = {
      kind: 'final',
      user: name,
      gs2Header,
      clientFirstBare: bare,
      serverFirst,
      nonce,
      credential,
    };
    return Buffer.from(serverFirst, 'utf8');
  }

  /** client-final-message → server-final-message and the authenticated user. */
  final(message: Buffer): { serverFinal: Buffer; user: string } {
    const step = this.step;
    if (step.kind !== 'final') throw new SaslFailure('client-final-message out of order');
    this.step = { kind: 'done' };
    const text = utf8(message);
    const proofAt = text.lastIndexOf(',p=');
    if (proofAt < 0) throw new SaslFailure('no proof');
    const withoutProof = text.slice(0, proofAt);
    const fields = withoutProof.split(',');
    if (fields[0] !== `c=${Buffer.from(step.gs2Header, 'utf8').toString('base64')}`)
      throw new SaslFailure('channel binding does not match the gs2 header');
    // Kafka accepts a nonce that ends with client + server nonce (librdkafka 2.0 sends the
    // client nonce twice); the server's fresh part is there either way, and in the AuthMessage.
    if (fields[1]?.startsWith('r=') !== true || !fields[1].endsWith(step.nonce))
      throw new SaslFailure('nonce mismatch');
    const proof = Buffer.from(text.slice(proofAt + 3), 'base64');
    const hash = HASH[this.mechanism];
    const credential = step.credential;
    if (credential === undefined) throw new SaslFailure(`unknown user`);
    if (proof.length !== SCRAM_KEY_BYTES[this.mechanism]) throw new SaslFailure('malformed proof');
    const authMessage = `${step.clientFirstBare},${step.serverFirst},${withoutProof}`;
    const storedKey = Buffer.from(credential.storedKey, 'base64');
    const signature = hmac(hash, storedKey, authMessage);
    const clientKey = Buffer.alloc(proof.length);
    for (let i = 0; i < proof.length; i++) clientKey[i] = (proof[i] as number) ^ (signature[i] as number);
    const computed = digest(hash, clientKey);
    if (computed.length !== storedKey.length || !timingSafeEqual(computed, storedKey))
      throw new SaslFailure('invalid proof');
    const serverSignature = hmac(hash, Buffer.from(credential.serverKey, 'base64'), authMessage);
    return { serverFinal: Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8'), user: step.user };
  }
}

function utf8(message: Buffer): string {
  if (message.length === 0 || message.length > MAX_MESSAGE_BYTES)
    throw new SaslFailure('empty or oversized message');
  const text = message.toString('utf8');
  if (Buffer.byteLength(text, 'utf8') !== message.length || text.includes('\0'))
    throw new SaslFailure('the message is not UTF-8 text');
  return text;
}
