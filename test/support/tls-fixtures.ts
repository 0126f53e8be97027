import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import * as YAML from 'yaml';
import { issue, testCa } from './test-certificate';
import { ServerTls } from './loopback-server';

// What the scripts' TLS scenarios share: a CA as cert-manager's CA Issuer holds one, its ca.crt written where a
// CronJob mounts it (VAULT_CACERT), serving certificates it signs (good, expired, not yet valid, lacking the name the
// client calls) and another CA, made per run (no private key is committed). Then the table every script runs: each
// certificate problem ends the run with exit 2 and one line naming it, before any secret is sent.

const HOUR_MS = 3600_000;

/** A file in a folder of its own, as a CronJob's mount of the CA's Secret holds ca.crt. */
export function caFile(pem: string, name = 'ca.crt'): string {
  const path = join(mkdtempSync(join(tmpdir(), 'vault-ca-')), name);
  writeFileSync(path, pem);
  return path;
}

const vaultCa = testCa('vault CA');
const otherCa = testCa('another CA');
/** A CA past its end, whose serving certificate is still within its own dates. */
const expiredCa = testCa('expired CA', { notBefore: Date.now() - 48 * HOUR_MS, notAfter: Date.now() - HOUR_MS });

export const PKI = {
  /** The CA that issues Vault's certificates, and its ca.crt as mounted. */
  ca: vaultCa,
  caFile: caFile(vaultCa.cert),
  /** Another CA's ca.crt: a CA that was replaced, or a job trusting the wrong one. */
  otherCaFile: caFile(otherCa.cert),
  /** Vault's certificate naming `names` (127.0.0.1 by default), signed by the CA. */
  serving: (names: string[] = ['127.0.0.1']): ServerTls => issue(vaultCa, { names }),
  expired: (names: string[] = ['127.0.0.1']): ServerTls => issue(vaultCa, { names, notBefore: Date.now() - 48 * HOUR_MS, notAfter: Date.now() - HOUR_MS }),
  notYetValid: (names: string[] = ['127.0.0.1']): ServerTls => issue(vaultCa, { names, notBefore: Date.now() + HOUR_MS, notAfter: Date.now() + 48 * HOUR_MS }),
  fromOtherCa: (names: string[] = ['127.0.0.1']): ServerTls => issue(otherCa, { names }),
  expiredCaFile: caFile(expiredCa.cert),
  fromExpiredCa: (names: string[] = ['127.0.0.1']): ServerTls => issue(expiredCa, { names }),
};

/** How a scenario's Vault listens: TLS with a certificate, or plain HTTP. */
export type Listener = { readonly tls: ServerTls } | 'plain';

/** One certificate problem: how Vault listens, what the job is given, and the line it must end with. */
export interface TlsFailure {
  readonly title: string;
  readonly listener: () => Listener;
  /** The scheme of VAULT_ADDR (or the pods' URLs). */
  readonly scheme: 'https' | 'http';
  /** VAULT_CACERT, when set. */
  readonly caFile?: string;
  /** The run's one line on stderr, after the call's name. */
  readonly line: RegExp;
}

/** The certificate problems every script must name (issue 26, item 5), each exit 2 with one line. */
export const TLS_FAILURES: TlsFailure[] = [
  {
    title: 'a CA that does not match (Vault\'s certificate from another CA)', listener: () => ({ tls: PKI.fromOtherCa() }), scheme: 'https', caFile: PKI.caFile,
    line: /vault's certificate at 127\.0\.0\.1:\d+ is not signed by the CA in VAULT_CACERT \S+ \(CN=vault CA\) \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\): .*check that VAULT_CACERT is the ca\.crt of the CA that issues vault's Certificate/,
  },
  {
    title: 'an expired certificate', listener: () => ({ tls: PKI.expired() }), scheme: 'https', caFile: PKI.caFile,
    line: /vault's certificate at 127\.0\.0\.1:\d+ has expired \(CERT_HAS_EXPIRED\): it was not renewed, or vault did not reload it; check that vault's Certificate \(kubectl [^)]+\) is Ready and renewed, and that vault reloaded it/,
  },
  {
    title: 'an expired CA', listener: () => ({ tls: PKI.fromExpiredCa() }), scheme: 'https', caFile: PKI.expiredCaFile,
    line: /the CA in VAULT_CACERT \S+ \(CN=expired CA\) expired at \d{4}-\d\d-\d\dT[\d:.]+Z \(CERT_HAS_EXPIRED\): renew the CA and reissue vault's certificate; check vault's Certificate/,
  },
  {
    title: 'a certificate not valid yet', listener: () => ({ tls: PKI.notYetValid() }), scheme: 'https', caFile: PKI.caFile,
    line: /vault's certificate at 127\.0\.0\.1:\d+ is not valid yet \(CERT_NOT_YET_VALID\): a clock is wrong/,
  },
  {
    title: 'a name the certificate lacks', listener: () => ({ tls: PKI.serving(['vault.elsewhere.svc.cluster.local']) }), scheme: 'https', caFile: PKI.caFile,
    line: /vault's certificate at 127\.0\.0\.1:\d+ does not name 127\.0\.0\.1 \(ERR_TLS_CERT_ALTNAME_INVALID; it names DNS:vault\.elsewhere\.svc\.cluster\.local\): VAULT_ADDR must use a name the certificate lists/,
  },
  {
    title: 'the serving certificate mounted for the CA (tls.crt for ca.crt)', listener: () => ({ tls: PKI.serving() }), scheme: 'https',
    caFile: caFile(PKI.serving().cert, 'tls.crt'),
    line: /vault's certificate at 127\.0\.0\.1:\d+ is not signed by the CA in VAULT_CACERT \S+tls\.crt \(CN=127\.0\.0\.1\) \(that file holds no CA certificate: a tls\.crt mounted for the ca\.crt\?\) \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/,
  },
  {
    title: 'https to a listener with TLS off', listener: () => 'plain', scheme: 'https', caFile: PKI.caFile,
    line: /vault at 127\.0\.0\.1:\d+ does not speak TLS \(it answered plain HTTP\): VAULT_ADDR is https and the listener has TLS off/,
  },
  {
    title: 'http to a TLS listener', listener: () => ({ tls: PKI.serving() }), scheme: 'http',
    line: /vault at 127\.0\.0\.1:\d+ speaks TLS and VAULT_ADDR is http \(it answered "Client sent an HTTP request to an HTTPS server"\): use https:\/\/ in VAULT_ADDR, and name the CA's mounted ca\.crt in VAULT_CACERT/,
  },
];

/** Settings that are wrong before any call: each exit 2 with one line, and nothing sent. */
export const CA_SETTING_FAILURES: Array<{ title: string; caFile?: string; line: RegExp }> = [
  {
    title: 'https without VAULT_CACERT (never the system\'s roots)',
    line: /^VAULT_ADDR is https \(https:\/\/127\.0\.0\.1:\d+\) and VAULT_CACERT is not set: name the mounted ca\.crt of the CA that issues vault's certificate in VAULT_CACERT \(the scripts trust that CA only, never the system's roots\)\n$/,
  },
  {
    title: 'VAULT_CACERT naming a file that is not there', caFile: '/nonexistent/vault-ca/ca.crt',
    line: /^cannot read VAULT_CACERT \/nonexistent\/vault-ca\/ca\.crt \(ENOENT\): mount the CA's ca\.crt there, or fix VAULT_CACERT\n$/,
  },
  {
    title: 'VAULT_CACERT naming a file that is not PEM', caFile: caFile('not a certificate\n'),
    line: /^VAULT_CACERT \S+ca\.crt holds no PEM certificate: expected the CA's ca\.crt \(-----BEGIN CERTIFICATE-----\)\n$/,
  },
  {
    title: 'VAULT_CACERT naming a PEM block that is not a certificate', caFile: caFile('-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n'),
    line: /^VAULT_CACERT \S+ca\.crt: certificate 1 of 1 is not a valid certificate: expected the CA's ca\.crt\n$/,
  },
];

/** The URL of a stand-in at `url` in `scheme`. */
export const inScheme = (url: string, scheme: 'https' | 'http') => url.replace(/^https?:/, `${scheme}:`);

/** The CA Secret a TLS dist's stores trust (tlsDist), as ESO's caProvider names it. */
export const CA_SECRET = 'vault-test-ca';

/**
 * A copy of the dist/ folder `dir` with TLS on Vault's listener, as the tools read it: the Vault container's readiness
 * probe HTTPS, and each Vault store's server https with a caProvider (ESO's field) naming the CA's Secret in Vault's
 * namespace (the server's <service>.<namespace>.svc).
 */
export function tlsDist(dir: string): string {
  const out = join(mkdtempSync(join(tmpdir(), 'tls-dist-')), 'dist');
  for (const file of (readdirSync(dir, { recursive: true }) as string[]).filter((f) => /\.ya?ml$/.test(f))) {
    const docs = YAML.parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d) => d.toJSON()).filter(Boolean);
    for (const doc of docs) {
      for (const c of doc.kind === 'StatefulSet' ? doc.spec.template.spec.containers : []) {
        if (c.readinessProbe?.httpGet) c.readinessProbe.httpGet.scheme = 'HTTPS';
      }
      const vault = doc.kind === 'ClusterSecretStore' ? doc.spec?.provider?.vault : undefined;
      if (vault) {
        vault.server = vault.server.replace(/^http:/, 'https:');
        vault.caProvider = { type: 'Secret', name: CA_SECRET, key: 'ca.crt', namespace: new URL(vault.server).hostname.split('.')[1] };
      }
    }
    mkdirSync(dirname(join(out, file)), { recursive: true });
    writeFileSync(join(out, file), docs.map((d) => YAML.stringify(d)).join('---\n'));
  }
  return out;
}
