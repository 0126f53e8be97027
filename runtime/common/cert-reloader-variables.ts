// The certificate reloader's own environment, beside the shared names of variables.ts: runtime/cert-reloader.ts reads
// these names, lib/cert-reloader.ts writes them, and the defaults are both sides'.

export const RELOADER_ENV = {
  /** The folder of the mounted Secret holding Vault's `tls.crt` and `tls.key`. */
  certDir: 'TLS_CERT_DIR',
  /** Where the pod's processes are listed: `/proc`, or a test's stand-in. */
  procRoot: 'PROC_ROOT',
  pollSeconds: 'POLL_SECONDS',
} as const;

export const RELOADER_DEFAULTS = {
  certDir: '/vault/tls',
  procRoot: '/proc',
  pollSeconds: 10,
} as const;
