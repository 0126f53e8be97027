import { createDecipheriv, createHash, createHmac, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, timingSafeEqual } from 'crypto';
import { bech32Decode, bech32Polymod } from '../../runtime/common/age';

// An age decrypter for X25519 identities, strict as the age specification (C2SP's age.md) reads, so that the tests can
// read what runtime/common/age.ts writes: it is checked first against the age test kit (test/fixtures/age-testkit),
// whose files the reference implementation wrote. Its failures are the test kit's kinds.

export type AgeFailure = 'header failure' | 'no match' | 'HMAC failure' | 'payload failure';

export class AgeError extends Error {
  constructor(readonly kind: AgeFailure, message: string, readonly released: Buffer = Buffer.alloc(0)) {
    super(`${kind}: ${message}`);
  }
}

const CHUNK = 64 * 1024;
const header = (m: string) => new AgeError('header failure', m);
const hkdf = (key: Buffer, salt: Buffer, info: string) => Buffer.from(hkdfSync('sha256', key, salt, info, 32));

/** Canonical unpadded base64, or a header failure. */
function b64(text: string, what: string): Buffer {
  if (!/^[A-Za-z0-9+/]*$/.test(text)) throw header(`${what} is not unpadded base64`);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64').replace(/=+$/, '') !== text) throw header(`${what} is not canonical base64`);
  return bytes;
}

function open(key: Buffer, nonce: Buffer, sealed: Buffer): Buffer | undefined {
  if (sealed.length < 16) return undefined;
  const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
  } catch {
    return undefined;
  }
}

interface Stanza { readonly args: string[]; readonly body: Buffer }

/** The header's stanzas, the text its MAC covers, the MAC, and where the payload starts. */
function parseHeader(file: Buffer): { stanzas: Stanza[]; macInput: string; mac: Buffer; payloadAt: number } {
  let at = 0;
  const line = (): string => {
    const end = file.indexOf(0x0a, at);
    if (end < 0) throw header('a header line without its newline');
    const bytes = file.subarray(at, end);
    if (bytes.some((b) => b < 0x20 || b > 0x7e)) throw header('a header line with a character outside printable ASCII');
    at = end + 1;
    return bytes.toString('latin1');
  };
  if (line() !== 'age-encryption.org/v1') throw header('not an age v1 file');
  const stanzas: Stanza[] = [];
  for (;;) {
    const start = at;
    const text = line();
    if (text.startsWith('---')) {
      if (!text.startsWith('--- ')) throw header('the MAC line lacks its space');
      const mac = b64(text.slice(4), 'the MAC');
      if (mac.length !== 32) throw header('the MAC is not 32 bytes');
      return { stanzas, macInput: file.subarray(0, start + 3).toString('latin1'), mac, payloadAt: at };
    }
    if (!text.startsWith('-> ')) throw header('a stanza that does not start with "-> "');
    const args = text.slice(3).split(' ');
    if (args.some((a) => a === '' || !/^[\x21-\x7e]+$/.test(a))) throw header('an empty or invalid stanza argument');
    const parts: string[] = [];
    for (;;) {
      const bodyLine = line();
      if (bodyLine.length > 64) throw header('a stanza body line over 64 columns');
      parts.push(bodyLine);
      if (bodyLine.length < 64) break;
    }
    stanzas.push({ args, body: b64(parts.join(''), 'a stanza body') });
  }
}

/** The X25519 private key object and raw public key of an `AGE-SECRET-KEY-1...` identity. */
function identityKeys(identity: string) {
  const decoded = bech32Decode(identity);
  if (!decoded || decoded.hrp !== 'age-secret-key-' || decoded.data.length !== 32) throw new Error('not an X25519 age identity');
  const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), decoded.data]), format: 'der', type: 'pkcs8' });
  const publicRaw = Buffer.from(createPublicKey(privateKey).export({ format: 'jwk' }).x as string, 'base64url');
  return { privateKey, publicRaw };
}

/** The file key of the first X25519 stanza `identity` unwraps. */
function unwrap(stanzas: Stanza[], identity: string): Buffer {
  const { privateKey, publicRaw } = identityKeys(identity);
  let fileKey: Buffer | undefined;
  for (const stanza of stanzas.filter((s) => s.args[0] === 'X25519')) {
    if (stanza.args.length !== 2) throw header('an X25519 stanza with other than one argument');
    const share = b64(stanza.args[1], 'the X25519 share');
    if (share.length !== 32) throw header('an X25519 share that is not 32 bytes');
    if (stanza.body.length !== 32) throw header('an X25519 stanza body that is not 32 bytes');
    let shared: Buffer;
    try {
      shared = diffieHellman({ privateKey, publicKey: createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: share.toString('base64url') }, format: 'jwk' }) });
    } catch {
      // OpenSSL refuses the all-zero secret of a low-order point itself.
      throw header('a low-order X25519 share');
    }
    if (shared.every((b) => b === 0)) throw header('a low-order X25519 share');
    fileKey ??= open(hkdf(shared, Buffer.concat([share, publicRaw]), 'age-encryption.org/v1/X25519'), Buffer.alloc(12), stanza.body);
  }
  if (!fileKey) throw new AgeError('no match', 'no stanza unwraps with this identity');
  return fileKey;
}

/** Decrypts an age file with an X25519 identity; throws an AgeError of the test kit's kinds. */
export function ageDecrypt(file: Buffer, identity: string): Buffer {
  const { stanzas, macInput, mac, payloadAt } = parseHeader(file);
  const fileKey = unwrap(stanzas, identity);
  const expected = createHmac('sha256', hkdf(fileKey, Buffer.alloc(0), 'header')).update(macInput, 'latin1').digest();
  if (!timingSafeEqual(expected, mac)) throw new AgeError('HMAC failure', 'the header MAC does not match');
  if (file.length - payloadAt < 16) throw header('the payload nonce is cut short');
  const payloadKey = hkdf(fileKey, file.subarray(payloadAt, payloadAt + 16), 'payload');
  const out: Buffer[] = [];
  let at = payloadAt + 16;
  // As the reference reads STREAM: a full chunk is tried as a middle chunk, then as the final one; a shorter one is
  // final. Whatever decrypted before a failure counts as released.
  const nonce = (i: number, last: boolean) => {
    const n = Buffer.alloc(12);
    n.writeUIntBE(i, 5, 6);
    if (last) n[11] = 1;
    return n;
  };
  const fail = (message: string) => new AgeError('payload failure', message, Buffer.concat(out));
  for (let i = 0; ; i++) {
    const chunk = file.subarray(at, at + CHUNK + 16);
    at += chunk.length;
    let last = chunk.length < CHUNK + 16;
    let plain = last ? undefined : open(payloadKey, nonce(i, false), chunk);
    if (!plain) {
      plain = open(payloadKey, nonce(i, true), chunk);
      last = true;
    }
    if (!plain) throw fail(`chunk ${i} does not decrypt`);
    if (last && plain.length === 0 && i > 0) throw fail('an empty final chunk after others');
    out.push(plain);
    if (last && at !== file.length) throw fail('data after the final chunk');
    if (last) return Buffer.concat(out);
    if (at === file.length) throw fail('no final chunk');
  }
}

export const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Bech32 encoding (the inverse of runtime/common/age.ts's decoder), to make recipients and identities in tests. */
export function bech32Encode(hrp: string, data: Buffer): string {
  const charset = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
  const values: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const byte of data) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      values.push((acc >> bits) & 31);
    }
  }
  if (bits > 0) values.push((acc << (5 - bits)) & 31);
  const expanded = [...[...hrp].map((c) => c.charCodeAt(0) >> 5), 0, ...[...hrp].map((c) => c.charCodeAt(0) & 31)];
  const mod = bech32Polymod([...expanded, ...values, 0, 0, 0, 0, 0, 0]) ^ 1;
  const checksum = [0, 1, 2, 3, 4, 5].map((i) => (mod >>> (5 * (5 - i))) & 31);
  return `${hrp}1${[...values, ...checksum].map((v) => charset[v]).join('')}`;
}

/** A fresh X25519 identity and its recipient, Bech32 as age-keygen writes them. */
export function ageKeyPair(): { identity: string; recipient: string } {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const raw = (jwk: string | undefined) => Buffer.from(jwk!, 'base64url');
  return {
    identity: bech32Encode('age-secret-key-', raw(privateKey.export({ format: 'jwk' }).d)).toUpperCase(),
    recipient: bech32Encode('age', raw(publicKey.export({ format: 'jwk' }).x)),
  };
}
