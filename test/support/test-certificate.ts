import { generateKeyPairSync, KeyObject, randomBytes, sign } from 'crypto';
import { isIP } from 'net';

// Certificates made here with Node's own crypto (it signs but cannot issue), per run, so that no private key is
// committed. The DER below is the least X.509 v3 that Go and OpenSSL accept: ECDSA P-256 keys, subject alternative
// names (Go checks no common name), basic constraints. Two uses:
// - testCertificate: a self-signed certificate for 127.0.0.1, its own trust anchor (CA true). kubectl sends a
//   kubeconfig's token only over TLS (client-go's clientcmd reads the user's credentials only for an https server), so
//   a stand-in API server that checks the token must speak https, trusted through the kubeconfig's CA data.
// - testCa and issue: a CA, as cert-manager's CA Issuer holds one, and the serving certificates it signs, with the
//   names, the validity and the CA a scenario needs (an expired one, one lacking a name, one from another CA).

const tlv = (tag: number, content: Buffer): Buffer => {
  const n = content.length;
  const length = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, content]);
};
const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const oid = (hex: string) => tlv(0x06, Buffer.from(hex, 'hex'));
const utcTime = (ms: number) => tlv(0x17, Buffer.from(`${new Date(ms).toISOString().replace(/[-:T]/g, '').slice(2, 14)}Z`));

const ECDSA_WITH_SHA256 = seq(oid('2a8648ce3d040302'));
const COMMON_NAME = '550403';
const SUBJECT_ALT_NAME = '551d11';
const BASIC_CONSTRAINTS = '551d13';
const HOUR_MS = 3600_000;

export interface TestCertificate {
  /** The certificate, PEM: the server's, and (self-signed) the CA a client trusts. */
  readonly cert: string;
  /** The private key, PEM. */
  readonly key: string;
}

/** A CA that signs serving certificates (`issue`). */
export interface TestCa {
  /** The CA's certificate, PEM: what a client trusts (cert-manager's `ca.crt`). */
  readonly cert: string;
  readonly commonName: string;
  readonly privateKey: KeyObject;
}

const distinguishedName = (commonName: string) => seq(tlv(0x31, seq(oid(COMMON_NAME), tlv(0x0c, Buffer.from(commonName)))));

/** The subject alternative names: a DNS name (tag 2) or an IPv4 address (tag 7) each. */
function altNames(names: string[]): Buffer {
  return seq(...names.map((n) => (isIP(n) === 4 ? tlv(0x87, Buffer.from(n.split('.').map(Number))) : tlv(0x82, Buffer.from(n)))));
}

interface Fields {
  readonly subject: string;
  readonly issuer: string;
  readonly publicKey: KeyObject;
  readonly signer: KeyObject;
  readonly names: string[];
  readonly isCa: boolean;
  readonly notBefore: number;
  readonly notAfter: number;
}

function certificate(f: Fields): string {
  // A positive INTEGER in DER's minimal form: its first byte neither 0 (a padding OpenSSL refuses) nor above 0x7f.
  const serial = randomBytes(8);
  serial[0] = (serial[0] & 0x7f) | 0x40;
  const constraints = f.isCa ? seq(tlv(0x01, Buffer.from([0xff]))) : seq();
  const extensions = tlv(0xa3, seq(
    ...(f.names.length ? [seq(oid(SUBJECT_ALT_NAME), tlv(0x04, altNames(f.names)))] : []),
    seq(oid(BASIC_CONSTRAINTS), tlv(0x01, Buffer.from([0xff])), tlv(0x04, constraints)),
  ));
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))),
    tlv(0x02, serial),
    ECDSA_WITH_SHA256,
    distinguishedName(f.issuer),
    seq(utcTime(f.notBefore), utcTime(f.notAfter)),
    distinguishedName(f.subject),
    f.publicKey.export({ type: 'spki', format: 'der' }),
    extensions,
  );
  const signature = sign('sha256', tbs, f.signer);
  const der = seq(tbs, ECDSA_WITH_SHA256, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
}

const keyPair = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const pem = (key: KeyObject) => key.export({ type: 'pkcs8', format: 'pem' }) as string;

/** A self-signed certificate for the IPv4 address `host`, valid for a day. */
export function testCertificate(host = '127.0.0.1'): TestCertificate {
  const { privateKey, publicKey } = keyPair();
  const now = Date.now();
  const cert = certificate({
    subject: host, issuer: host, publicKey, signer: privateKey, names: [host], isCa: true, notBefore: now - HOUR_MS, notAfter: now + 24 * HOUR_MS,
  });
  return { cert, key: pem(privateKey) };
}

/** A CA, as cert-manager's self-signed bootstrap makes one: valid for a day unless `validity` says otherwise. */
export function testCa(commonName = 'test vault CA', validity: { notBefore?: number; notAfter?: number } = {}): TestCa {
  const { privateKey, publicKey } = keyPair();
  const now = Date.now();
  const cert = certificate({
    subject: commonName, issuer: commonName, publicKey, signer: privateKey, names: [], isCa: true,
    notBefore: validity.notBefore ?? now - HOUR_MS, notAfter: validity.notAfter ?? now + 24 * HOUR_MS,
  });
  return { cert, commonName, privateKey };
}

export interface IssueOptions {
  /** DNS names and IPv4 addresses the certificate names. */
  readonly names: string[];
  /** Its validity, in ms since the epoch: by default from an hour ago to a day from now. */
  readonly notBefore?: number;
  readonly notAfter?: number;
}

/** A serving certificate signed by `ca` (not a CA itself), as cert-manager's CA Issuer signs Vault's. */
export function issue(ca: TestCa, options: IssueOptions): TestCertificate {
  const { privateKey, publicKey } = keyPair();
  const now = Date.now();
  const cert = certificate({
    subject: options.names[0] ?? 'vault', issuer: ca.commonName, publicKey, signer: ca.privateKey, names: options.names, isCa: false,
    notBefore: options.notBefore ?? now - HOUR_MS, notAfter: options.notAfter ?? now + 24 * HOUR_MS,
  });
  return { cert, key: pem(privateKey) };
}
