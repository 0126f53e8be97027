import { X509Certificate } from 'crypto';
import { connect } from 'tls';

// What a TLS server presents, as the certificate reloader compares it with the mounted one: a handshake and nothing
// more (no byte of a request is sent), so the handshake trusts no CA (`rejectUnauthorized: false`). That is no weaker
// a check: the served certificate must be byte for byte the mounted one (its SHA-256 fingerprint), and the handshake
// itself proves that the server holds that certificate's key.

/** A certificate's public facts: what to compare, and what a log line may say of it. */
export interface CertificateFacts {
  /** SHA-256 of the DER, as X509Certificate.fingerprint256 writes it. */
  readonly fingerprint256: string;
  /** `serial ..., valid until ...`. */
  readonly description: string;
}

export function certificateFacts(certificate: X509Certificate): CertificateFacts {
  return {
    fingerprint256: certificate.fingerprint256,
    description: `serial ${certificate.serialNumber}, valid until ${new Date(certificate.validTo).toISOString()}`,
  };
}

/** The certificate the server at `host:port` presents, within `timeoutMs`; rejects with a one-line reason. */
export function servedCertificate(host: string, port: number, timeoutMs: number): Promise<CertificateFacts> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, rejectUnauthorized: false });
    let settled = false;
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(new Error(`Vault's listener ${host}:${port} ${message}`));
    };
    const timer = setTimeout(() => fail(`completed no TLS handshake within ${timeoutMs / 1000} s`), timeoutMs);
    socket.on('error', (error: NodeJS.ErrnoException) => fail(`refused the TLS connection (${error.code ?? error.message})`));
    socket.once('secureConnect', () => {
      const raw = socket.getPeerCertificate()?.raw;
      if (!raw || raw.length === 0) return fail('presented no certificate');
      let facts: CertificateFacts;
      try {
        facts = certificateFacts(new X509Certificate(raw));
      } catch {
        return fail('presented a certificate Node cannot parse');
      }
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(facts);
    });
  });
}
