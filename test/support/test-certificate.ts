import { generateKeyPairSync, randomBytes, sign } from 'crypto';

// A self-signed certificate for 127.0.0.1, made here with Node's own crypto (it signs but cannot issue): kubectl sends
// a kubeconfig's token only over TLS (client-go's clientcmd reads the user's credentials only for an https server), so
// a stand-in API server that checks the token must speak https, trusted through the kubeconfig's CA data. Made per run
// and valid for a day, so that no private key is committed. The DER below is the least X.509 v3 that Go and OpenSSL
// accept: an ECDSA P-256 key, the subject alternative name IP 127.0.0.1 (Go checks no common name) and CA true (the
// certificate is its own trust anchor).

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

export interface TestCertificate {
  /** The certificate, PEM: the server's, and the CA a client trusts. */
  readonly cert: string;
  /** The private key, PEM. */
  readonly key: string;
}

export function testCertificate(host = '127.0.0.1'): TestCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const name = seq(tlv(0x31, seq(oid(COMMON_NAME), tlv(0x0c, Buffer.from(host)))));
  // A positive INTEGER in its shortest form: a first byte of 0 (one serial in 128, before) is padding OpenSSL refuses
  // ("illegal padding"), which failed a test now and then.
  const serial = randomBytes(8);
  serial[0] = 0x40 | (serial[0] & 0x3f);
  const ip = Buffer.from(host.split('.').map(Number));
  const extensions = tlv(0xa3, seq(
    seq(oid(SUBJECT_ALT_NAME), tlv(0x04, seq(tlv(0x87, ip)))),
    seq(oid(BASIC_CONSTRAINTS), tlv(0x01, Buffer.from([0xff])), tlv(0x04, seq(tlv(0x01, Buffer.from([0xff]))))),
  ));
  const now = Date.now();
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))),
    tlv(0x02, serial),
    ECDSA_WITH_SHA256,
    name,
    seq(utcTime(now - 3600_000), utcTime(now + 86400_000)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    extensions,
  );
  const signature = sign('sha256', tbs, privateKey);
  const der = seq(tbs, ECDSA_WITH_SHA256, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const pem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
  return { cert: pem, key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}
