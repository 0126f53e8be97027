// Encryption to an age recipient (age-encryption.org/v1, X25519 recipients only), for the escrow copy of Vault's unseal
// shares: whoever holds the matching identity decrypts it with `age -d -i <identity file>`. Written against the age
// specification (C2SP's age.md) with Node's own X25519, HKDF-SHA-256, HMAC-SHA-256 and ChaCha20-Poly1305, so the
// bundles stay free of dependencies; test/runtime/common/age.cases.ts reads the output with a decrypter checked against
// the age test kit. The recipient is a site value, checked at synthesis with the same parser.
import { createCipheriv, createHmac, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, KeyObject, randomBytes } from 'crypto';

const BECH32_CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const CHUNK_BYTES = 64 * 1024;

/** BIP 173's checksum over 5-bit values (1 for a valid string's hrp expansion, data and checksum). */
export function bech32Polymod(values: number[]): number {
  const generators = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  let checksum = 1;
  for (const value of values) {
    const top = checksum >>> 25;
    checksum = ((checksum & 0x1ffffff) << 5) ^ value;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) checksum ^= generators[i];
  }
  return checksum >>> 0;
}

/**
 * Decodes Bech32 (BIP 173, without its 90-character limit, as age's keys are longer): the human-readable part, lower
 * case, and the data as bytes. Undefined when the text is not Bech32 or its checksum fails.
 */
export function bech32Decode(text: string): { hrp: string; data: Buffer } | undefined {
  if (text !== text.toLowerCase() && text !== text.toUpperCase()) return undefined;
  const lower = text.toLowerCase();
  const sep = lower.lastIndexOf('1');
  if (sep < 1 || sep + 7 > lower.length) return undefined;
  const hrp = lower.slice(0, sep);
  if (![...hrp].every((c) => c.charCodeAt(0) >= 33 && c.charCodeAt(0) <= 126)) return undefined;
  const values = [...lower.slice(sep + 1)].map((c) => BECH32_CHARSET.indexOf(c));
  if (values.some((v) => v < 0)) return undefined;
  const expanded = [...[...hrp].map((c) => c.charCodeAt(0) >> 5), 0, ...[...hrp].map((c) => c.charCodeAt(0) & 31)];
  if (bech32Polymod([...expanded, ...values]) !== 1) return undefined;
  let acc = 0;
  let bits = 0;
  const bytes: number[] = [];
  for (const value of values.slice(0, -6)) {
    acc = (acc << 5) | value;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((acc >> bits) & 0xff);
    }
  }
  // Leftover bits must be padding: fewer than 5, all zero.
  if (bits >= 5 || (acc & ((1 << bits) - 1)) !== 0) return undefined;
  return { hrp, data: Buffer.from(bytes) };
}

/** The 32-byte X25519 public key of an age recipient (`age1...`), or a one-line reason it is not one. */
export function parseAgeRecipient(recipient: string): Buffer | string {
  if (/^age-secret-key-1/i.test(recipient)) return 'this is an age identity, a private key: never commit it; give its recipient (`age-keygen -y <identity file>` prints it)';
  const decoded = bech32Decode(recipient);
  if (!decoded || recipient !== recipient.toLowerCase()) return 'not an age recipient: expected "age1" and 58 more lowercase Bech32 characters, as `age-keygen` prints';
  if (decoded.hrp !== 'age') return `an age recipient starts with "age1", not "${decoded.hrp}1"`;
  if (decoded.data.length !== 32) return `an X25519 age recipient holds 32 bytes, not ${decoded.data.length}`;
  return decoded.data;
}

const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');
const hkdf = (key: Buffer, salt: Buffer, info: string) => Buffer.from(hkdfSync('sha256', key, salt, info, 32));
const rawPublic = (key: KeyObject) => Buffer.from(key.export({ format: 'jwk' }).x as string, 'base64url');

function seal(key: Buffer, nonce: Buffer, plaintext: Buffer): Buffer {
  const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/** A stanza body: base64 without padding, in lines of 64 characters, the last one shorter (so possibly empty). */
function stanzaBody(body: Buffer): string {
  const text = b64(body);
  const lines: string[] = [];
  for (let i = 0; i <= text.length; i += 64) lines.push(text.slice(i, i + 64));
  return lines.join('\n');
}

/** `plaintext` encrypted to the age recipient `recipient` (binary age format). Throws when the recipient is not one. */
export function ageEncrypt(recipient: string, plaintext: Buffer): Buffer {
  const recipientKey = parseAgeRecipient(recipient);
  if (typeof recipientKey === 'string') throw new Error(recipientKey);
  const fileKey = randomBytes(16);

  const ephemeral = generateKeyPairSync('x25519');
  const share = rawPublic(ephemeral.publicKey);
  const peer = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: recipientKey.toString('base64url') }, format: 'jwk' });
  // A low-order recipient key gives the all-zero secret, which age refuses (and OpenSSL with it).
  let shared: Buffer | undefined;
  try {
    shared = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: peer });
  } catch {
    shared = undefined;
  }
  if (!shared || shared.every((b) => b === 0)) throw new Error('the age recipient is a low-order point, not a usable X25519 key');
  const wrapKey = hkdf(shared, Buffer.concat([share, recipientKey]), 'age-encryption.org/v1/X25519');
  const stanza = `-> X25519 ${b64(share)}\n${stanzaBody(seal(wrapKey, Buffer.alloc(12), fileKey))}\n`;
  const header = `age-encryption.org/v1\n${stanza}---`;
  const mac = createHmac('sha256', hkdf(fileKey, Buffer.alloc(0), 'header')).update(header).digest();

  const nonce = randomBytes(16);
  const payloadKey = hkdf(fileKey, nonce, 'payload');
  const chunks: Buffer[] = [];
  const count = Math.max(1, Math.ceil(plaintext.length / CHUNK_BYTES));
  for (let i = 0; i < count; i++) {
    const chunkNonce = Buffer.alloc(12);
    chunkNonce.writeUIntBE(i, 5, 6);
    if (i === count - 1) chunkNonce[11] = 1;
    chunks.push(seal(payloadKey, chunkNonce, plaintext.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES)));
  }
  return Buffer.concat([Buffer.from(`${header} ${b64(mac)}\n`), nonce, ...chunks]);
}
