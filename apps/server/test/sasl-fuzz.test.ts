// A fuzz run of the SASL exchange (issue 22): random and mutated SCRAM and PLAIN messages — garbage,
// truncations, wrong nonces, altered proofs, replays of a valid proof on a new exchange, other
// users — fed to the broker's SASL service. It never throws (every bad token is a clean failure)
// and never authenticates anyone but a client that knows the password; a correct exchange built
// the same way still succeeds, so the properties are not vacuous.
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { systemRandom } from '@chronik/env';
import type { ScramCredential, ScramMechanismName } from '@chronik/metadata';
import fc from 'fast-check';
import { DEFAULT_SASL } from '../src/security/config.js';
import { SaslService, SaslSession } from '../src/security/sasl.js';
import { credentialOf } from '../src/security/scram.js';

const PASSWORD = Buffer.from('correct horse battery staple');
const ITERATIONS = 4096;
const MECHANISMS: ScramMechanismName[] = ['SCRAM-SHA-256', 'SCRAM-SHA-512'];
const HASH = { 'SCRAM-SHA-256': 'sha256', 'SCRAM-SHA-512': 'sha512' } as const;
const BYTES = { 'SCRAM-SHA-256': 32, 'SCRAM-SHA-512': 64 } as const;

const credentials = new Map<string, ScramCredential>();
for (const m of MECHANISMS) {
  const salt = Buffer.from(`salt-of-alice-${m}`);
  const salted = pbkdf2Sync(PASSWORD, salt, ITERATIONS, BYTES[m], HASH[m]);
  credentials.set(m, credentialOf('alice', m, salt, ITERATIONS, salted));
}

function service(): SaslService {
  return new SaslService(
    { ...DEFAULT_SASL, mechanisms: ['PLAIN', ...MECHANISMS], maxFailuresPerAddress: 1_000_000 },
    (user, mechanism) => (user === 'alice' ? credentials.get(mechanism) : undefined),
    systemRandom,
  );
}

function session(mechanism: 'PLAIN' | ScramMechanismName): SaslSession {
  const s = new SaslSession({ name: 'SASL', securityProtocol: 'SASL_PLAINTEXT' }, '10.0.0.1');
  s.handshake(mechanism, 1);
  return s;
}

/** A client's final message for a server-first answer, with the password (a correct proof). */
function clientFinal(m: ScramMechanismName, bare: string, serverFirst: string, password = PASSWORD): string {
  const fields = Object.fromEntries(serverFirst.split(',').map((f) => [f[0], f.slice(2)]));
  const salted = pbkdf2Sync(
    password,
    Buffer.from(fields['s'] ?? '', 'base64'),
    Number(fields['i']),
    BYTES[m],
    HASH[m],
  );
  const clientKey = createHmac(HASH[m], salted).update('Client Key').digest();
  const storedKey = createHash(HASH[m]).update(clientKey).digest();
  const withoutProof = `c=biws,r=${fields['r'] ?? ''}`;
  const signature = createHmac(HASH[m], storedKey).update(`${bare},${serverFirst},${withoutProof}`).digest();
  const proof = Buffer.from(clientKey.map((b, i) => b ^ (signature[i] as number)));
  return `${withoutProof},p=${proof.toString('base64')}`;
}

const mechanism = fc.constantFrom(...MECHANISMS);
/** Printable fragments SCRAM messages are made of, and raw bytes. */
const fragment = fc.oneof(
  fc.constantFrom(
    'n,,',
    'y,,',
    'p=tls,,',
    'n=',
    'r=',
    'c=biws',
    'p=',
    's=',
    'i=',
    ',',
    '=',
    '=2C',
    '=3D',
    'alice',
    'a=alice,',
  ),
  fc.string({ maxLength: 40 }),
  fc.base64String({ maxLength: 120 }),
);
const garbage = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  fc.array(fragment, { maxLength: 12 }).map((parts) => Buffer.from(parts.join(''))),
);

test('random SCRAM first and final messages fail cleanly and never authenticate', async () => {
  await fc.assert(
    fc.asyncProperty(mechanism, garbage, garbage, async (m, first, final) => {
      const sasl = service();
      const s = session(m);
      const a = await sasl.evaluate(s, first, 0);
      expect(a.kind).not.toBe('success');
      if (a.kind === 'continue') {
        const b = await sasl.evaluate(s, final, 0);
        expect(b.kind).toBe('failure');
      }
    }),
    { numRuns: 300 },
  );
});

test('a valid exchange with its final message mutated, its nonce changed, or replayed later fails; unmutated it succeeds', async () => {
  await fc.assert(
    fc.asyncProperty(
      mechanism,
      fc.base64String({ minLength: 8, maxLength: 40 }).filter((n) => !n.includes(',')),
      fc.nat(),
      fc.integer({ min: 0, max: 255 }),
      fc.constantFrom('flip', 'nonce', 'truncate', 'replay', 'password', 'user', 'none'),
      async (m, clientNonce, at, bits, how) => {
        const sasl = service();
        const user = how === 'user' ? 'mallory' : 'alice';
        const bare = `n=${user},r=${clientNonce}`;
        const s = session(m);
        const first = await sasl.evaluate(s, Buffer.from(`n,,${bare}`), 0);
        expect(first.kind).toBe('continue');
        if (first.kind !== 'continue') return;
        const serverFirst = first.token.toString();
        let final = Buffer.from(
          clientFinal(m, bare, serverFirst, how === 'password' ? Buffer.from('wrong') : PASSWORD),
        );
        let target = s;
        if (how === 'flip') {
          final = Buffer.from(final);
          const i = at % final.length;
          final[i] = ((final[i] as number) ^ (bits || 1)) & 0xff;
        } else if (how === 'nonce') {
          final = Buffer.from(final.toString().replace(/r=([^,]*)/, (_x, r: string) => `r=${r}x`));
        } else if (how === 'truncate') {
          // At least one base64 character of the proof goes (a dropped '=' pad alone decodes the
          // same proof, as Java's decoder reads it too).
          final = final.subarray(0, at % (final.length - 2));
        } else if (how === 'replay') {
          // The same final message to a new exchange of the same first message (a new server nonce).
          target = session(m);
          await sasl.evaluate(target, Buffer.from(`n,,${bare}`), 0);
        }
        const r = await sasl.evaluate(target, final, 0);
        if (how === 'none') {
          expect(r).toMatchObject({ kind: 'success', user: 'alice' });
          return;
        }
        // A flipped bit may land where it changes nothing the server reads (none is silent: the
        // nonce, channel binding and proof are all checked): never a success for anyone else.
        if (r.kind === 'success') expect(r.user).toBe('alice');
        if (how !== 'flip') expect(r.kind).toBe('failure');
      },
    ),
    { numRuns: 200 },
  );
});

test('random PLAIN tokens fail cleanly; only alice with her password is let in', async () => {
  const sasl = service();
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        garbage,
        fc
          .tuple(
            fc.constantFrom('', 'alice', 'bob'),
            fc.constantFrom('alice', 'mallory', ''),
            fc.string({ maxLength: 30 }),
          )
          .map(([z, u, p]) => Buffer.from(`${z}\0${u}\0${p}`)),
      ),
      async (token) => {
        const r = await sasl.evaluate(session('PLAIN'), token, 0);
        if (r.kind === 'success') {
          expect(r.user).toBe('alice');
          expect(token.subarray(token.lastIndexOf(0) + 1)).toEqual(PASSWORD);
        }
      },
    ),
    { numRuns: 200 },
  );
  const ok = await sasl.evaluate(session('PLAIN'), Buffer.concat([Buffer.from('\0alice\0'), PASSWORD]), 0);
  expect(ok).toMatchObject({ kind: 'success', user: 'alice' });
});
