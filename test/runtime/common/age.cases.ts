import { createPrivateKey, createPublicKey, randomBytes } from 'crypto';
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { inflateSync } from 'zlib';
import { ageEncrypt, bech32Decode, parseAgeRecipient } from '../../../runtime/common/age';
import { ageDecrypt, AgeError, ageKeyPair, bech32Encode, sha256 } from '../../support/age-decrypt';

const KIT = join(__dirname, '..', '..', 'fixtures', 'age-testkit');

interface Vector { name: string; expect: string; payload?: string; identities: string[]; file: Buffer }

function vector(name: string): Vector {
  const raw = readFileSync(join(KIT, name));
  const split = raw.indexOf('\n\n');
  const fields = raw.subarray(0, split).toString('utf8').split('\n').map((l) => l.split(': ') as [string, string]);
  const get = (key: string) => fields.filter(([k]) => k === key).map(([, v]) => v);
  const body = raw.subarray(split + 2);
  return { name, expect: get('expect')[0], payload: get('payload')[0], identities: get('identity'), file: get('compressed')[0] === 'zlib' ? inflateSync(body) : body };
}

const keyPair = ageKeyPair;

describe('the test decrypter reads the age test kit as the reference implementation does', () => {
  const names = readdirSync(KIT).filter((f) => f !== 'README.md').sort();
  test('the kit is here', () => expect(names.length).toBeGreaterThan(50));
  test.each(names)('%s', (name) => {
    const v = vector(name);
    let outcome: string;
    let released: Buffer;
    try {
      released = ageDecrypt(v.file, v.identities[0]);
      outcome = 'success';
    } catch (error) {
      if (!(error instanceof AgeError)) throw error;
      outcome = error.kind;
      released = error.released;
    }
    expect(outcome).toBe(v.expect);
    if (v.payload) expect(sha256(released)).toBe(v.payload);
  });
});

describe('ageEncrypt', () => {
  test.each([0, 1, 64 * 1024, 64 * 1024 + 1, 200_000])('%d bytes: the identity decrypts them back, and the header is age v1 to one X25519 recipient', (size) => {
    const { identity, recipient } = keyPair();
    const plaintext = randomBytes(size);
    const file = ageEncrypt(recipient, plaintext);
    expect(ageDecrypt(file, identity).equals(plaintext)).toBe(true);
    expect(file.subarray(0, 40).toString('latin1')).toMatch(/^age-encryption\.org\/v1\n-> X25519 /);
    // Ciphertext only: 16 bytes of tag per 64 KiB chunk, one chunk at least.
    expect(file.includes(plaintext.subarray(0, 32)) && size >= 32).toBe(false);
  });

  test('another identity finds no stanza; a changed byte anywhere fails', () => {
    const { recipient } = keyPair();
    const file = ageEncrypt(recipient, Buffer.from('shares'));
    expect(() => ageDecrypt(file, keyPair().identity)).toThrow(expect.objectContaining({ kind: 'no match' }));
    const mine = keyPair();
    const good = ageEncrypt(mine.recipient, Buffer.from('shares'));
    for (const at of [40, good.length - 20, good.length - 1]) {
      const bad = Buffer.from(good);
      bad[at] ^= 1;
      expect(() => ageDecrypt(bad, mine.identity)).toThrow(AgeError);
    }
  });

  test('a low-order recipient (the all-zero key) is refused, never used', () => {
    expect(() => ageEncrypt(bech32Encode('age', Buffer.alloc(32)), Buffer.from('x'))).toThrow('the age recipient is a low-order point, not a usable X25519 key');
  });

  test('two encryptions of the same shares differ (fresh file key, ephemeral key and nonce)', () => {
    const { recipient } = keyPair();
    expect(ageEncrypt(recipient, Buffer.from('same')).equals(ageEncrypt(recipient, Buffer.from('same')))).toBe(false);
  });
});

describe('parseAgeRecipient', () => {
  test('a recipient gives its 32-byte key', () => {
    const { recipient } = keyPair();
    const key = parseAgeRecipient(recipient);
    expect(Buffer.isBuffer(key) && key.length).toBe(32);
  });

  test('to the test kit\'s own identity (made by the reference implementation): it decrypts what ageEncrypt writes', () => {
    const identity = vector('x25519').identities[0];
    const secret = bech32Decode(identity)!.data;
    const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), secret]), format: 'der', type: 'pkcs8' });
    const recipient = bech32Encode('age', Buffer.from(createPublicKey(privateKey).export({ format: 'jwk' }).x as string, 'base64url'));
    expect(ageDecrypt(ageEncrypt(recipient, Buffer.from('the shares')), identity).toString()).toBe('the shares');
  });

  test.each([
    ['an identity pasted by mistake', () => keyPair().identity, /^this is an age identity, a private key: never commit it/],
    ['upper case', () => keyPair().recipient.toUpperCase(), /^not an age recipient/],
    ['a changed character (checksum)', () => { const r = keyPair().recipient; return r.slice(0, 10) + (r[10] === 'q' ? 'p' : 'q') + r.slice(11); }, /^not an age recipient/],
    ['another prefix', () => bech32Encode('npub', randomBytes(32)), /^an age recipient starts with "age1", not "npub1"/],
    ['a short key', () => bech32Encode('age', randomBytes(31)), /^an X25519 age recipient holds 32 bytes, not 31/],
    ['not Bech32 at all', () => 'ssh-ed25519 AAAA', /^not an age recipient/],
  ])('%s is refused with one line', (_what, make, message) => {
    const result = parseAgeRecipient(make());
    expect(typeof result).toBe('string');
    expect(result).toMatch(message);
    expect(() => ageEncrypt(make(), Buffer.from('x'))).toThrow(message);
  });
});
