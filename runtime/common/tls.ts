import { X509Certificate } from 'crypto';
import { readFileSync } from 'fs';
import { needsHuman } from './failure';

// TLS as the scripts and the tools speak it to Vault: trust exactly the CA a variable names (Node's `ca`, which
// replaces the default roots; never the system's store, never NODE_TLS_REJECT_UNAUTHORIZED), and a failed handshake
// said as the certificate problem it is, with what to check. A certificate problem does not cure itself: exit 2 (a
// refused connection stays a retry). The server name checked is the URL's host (Node's default): the Service's or the
// pod's DNS name, or 127.0.0.1 at a port-forward's end.

/** A CA file, read once at the start. */
export interface CaFile {
  /** PEM, as given to Node's `ca`. */
  readonly pem: string;
  /** The variable naming it and the file, with the CA's subject: `VAULT_CACERT /vault/ca/ca.crt (CN=vault-ca)`. */
  readonly source: string;
  /** Whether any certificate in it is a CA: a serving certificate mounted instead (tls.crt for ca.crt) is not. */
  readonly holdsCa: boolean;
  /** The latest end of validity of its certificates, in ms since the epoch. */
  readonly notAfter: number;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;
const oneLine = (name: string) => name.split('\n').join(', ');

/** Reads and checks the CA file that `variable` names: exit 2 with one line when it is missing, unreadable or not PEM. */
export function readCaFile(variable: string, path: string): CaFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw needsHuman(`cannot read ${variable} ${path} (${(error as NodeJS.ErrnoException).code}): mount the CA's ca.crt there, or fix ${variable}`);
  }
  const blocks = text.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) throw needsHuman(`${variable} ${path} holds no PEM certificate: expected the CA's ca.crt (-----BEGIN CERTIFICATE-----)`);
  const certificates = blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw needsHuman(`${variable} ${path}: certificate ${i + 1} of ${blocks.length} is not a valid certificate: expected the CA's ca.crt`);
    }
  });
  return {
    pem: blocks.join('\n'),
    source: `${variable} ${path} (${oneLine(certificates[0].subject)}${certificates.length > 1 ? ` and ${certificates.length - 1} more` : ''})`,
    holdsCa: certificates.some((c) => c.ca),
    notAfter: Math.max(...certificates.map((c) => Date.parse(c.validTo))),
  };
}

/** Who a client talks to over TLS, as its messages name it, and where a human looks. */
export interface TlsPeer {
  /** "vault". */
  readonly name: string;
  /** The variable holding its address, such as VAULT_ADDR. */
  readonly addressVariable: string;
  /** The variable naming the CA file, such as VAULT_CACERT. */
  readonly caVariable: string;
  /** The CA trusted, when read. */
  readonly ca?: CaFile;
  /** Its certificate, as a human finds it: "vault's Certificate (kubectl -n security get certificate)". */
  readonly check: string;
}

// Node's certificate verification codes (src/crypto/crypto_common.cc, X509ErrorCode), by what a human must fix.
const EXPIRED = new Set(['CERT_HAS_EXPIRED', 'ERROR_IN_CERT_NOT_AFTER_FIELD']);
const NOT_YET_VALID = new Set(['CERT_NOT_YET_VALID', 'ERROR_IN_CERT_NOT_BEFORE_FIELD']);
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_SIGNATURE_FAILURE', 'UNABLE_TO_DECRYPT_CERT_SIGNATURE', 'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_UNTRUSTED', 'CERT_REJECTED', 'INVALID_CA',
]);
const OTHER_VERIFY = new Set([
  'UNABLE_TO_GET_CRL', 'UNABLE_TO_DECRYPT_CRL_SIGNATURE', 'CRL_SIGNATURE_FAILURE', 'CRL_NOT_YET_VALID', 'CRL_HAS_EXPIRED',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD', 'ERROR_IN_CRL_NEXT_UPDATE_FIELD', 'CERT_CHAIN_TOO_LONG', 'CERT_REVOKED', 'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE', 'UNSPECIFIED',
]);
/** OpenSSL reading an HTTP answer as a TLS record: the listener speaks plain HTTP. */
const PLAIN_LISTENER = /wrong version number|packet length too long/i;

const hostOf = (url: URL) => `${url.hostname}:${url.port || (url.protocol === 'https:' ? 443 : 80)}`;

/** The certificate problem a failed call ran into, on one line with what to check; undefined when it is not TLS's. */
export function tlsProblem(error: NodeJS.ErrnoException & { cert?: { subjectaltname?: string } }, url: URL, peer: TlsPeer): string | undefined {
  const code = String(error.code ?? '');
  const at = `${peer.name}'s certificate at ${hostOf(url)}`;
  const trusted = peer.ca ? `the CA in ${peer.ca.source}` : 'the CA trusted';
  if (EXPIRED.has(code)) {
    if (peer.ca && peer.ca.notAfter < Date.now()) {
      return `${trusted} expired at ${new Date(peer.ca.notAfter).toISOString()} (${code}): renew the CA and reissue ${peer.name}'s certificate; check ${peer.check}`;
    }
    return `${at} has expired (${code}): it was not renewed, or ${peer.name} did not reload it; check that ${peer.check} is Ready and renewed, and that ${peer.name} reloaded it`;
  }
  if (NOT_YET_VALID.has(code)) {
    return `${at} is not valid yet (${code}): a clock is wrong, this node's or the issuer's; check the time on both`;
  }
  if (UNTRUSTED.has(code)) {
    const hint = peer.ca && !peer.ca.holdsCa ? ' (that file holds no CA certificate: a tls.crt mounted for the ca.crt?)' : '';
    return `${at} is not signed by ${trusted}${hint} (${code}): ${peer.name}'s CA was replaced, or ${peer.caVariable} names another CA; `
      + `check that ${peer.caVariable} is the ca.crt of the CA that issues ${peer.check}`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH') {
    const names = error.cert?.subjectaltname ? `it names ${error.cert.subjectaltname}` : 'it names no such host';
    return `${at} does not name ${url.hostname} (${code}; ${names}): ${peer.addressVariable} must use a name the certificate lists; check the dnsNames and ipAddresses of ${peer.check}`;
  }
  if (PLAIN_LISTENER.test(error.message ?? '') || code === 'ERR_SSL_WRONG_VERSION_NUMBER') {
    return `${peer.name} at ${hostOf(url)} does not speak TLS (it answered plain HTTP): ${peer.addressVariable} is https and the listener has TLS off; `
      + `turn TLS on in ${peer.name}'s listener (has its configuration synced?), or use http:// while the site keeps plain HTTP`;
  }
  if (OTHER_VERIFY.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) {
    return `the TLS handshake with ${peer.name} at ${hostOf(url)} failed (${code}): check ${peer.name}'s listener and ${peer.check}`;
  }
  return undefined;
}

/** Go's net/http answers a plain request on a TLS listener with this (net/http/server.go), as Vault does. */
const TLS_ONLY_ANSWER = 'Client sent an HTTP request to an HTTPS server';

/** A plain-http call that reached a TLS listener, on one line; undefined for any other answer. */
export function tlsOnlyProblem(url: URL, status: number, body: string, peer: TlsPeer): string | undefined {
  if (url.protocol !== 'http:' || status !== 400 || !body.includes(TLS_ONLY_ANSWER)) return undefined;
  return `${peer.name} at ${hostOf(url)} speaks TLS and ${peer.addressVariable} is http (it answered "${TLS_ONLY_ANSWER}"): `
    + `use https:// in ${peer.addressVariable}, and name the CA's mounted ca.crt in ${peer.caVariable}`;
}

/** Any server's TLS, when the caller names none: the messages still say what failed. */
export const SOME_SERVER: TlsPeer = { name: 'the server', addressVariable: 'its URL', caVariable: 'the CA file', check: 'its certificate' };
