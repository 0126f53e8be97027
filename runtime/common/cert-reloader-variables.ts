// The certificate reloader's own environment, beside the shared names of variables.ts: runtime/cert-reloader.ts reads
// these names, lib/cert-reloader.ts writes them, and the defaults are both sides'.
import { VAULT_PORT } from './variables';

export const RELOADER_ENV = {
  /** The folder of the mounted Secret holding Vault's `tls.crt` and `tls.key`. */
  certDir: 'TLS_CERT_DIR',
  /** Where the pod's processes are listed: `/proc`, or a test's stand-in. */
  procRoot: 'PROC_ROOT',
  pollSeconds: 'POLL_SECONDS',
  /** Vault's listener on the pod's loopback, `host:port`: where the reloader reads the certificate Vault serves. */
  listener: 'VAULT_LISTENER',
  /** How long after a SIGHUP Vault has to serve the mounted certificate before the attempt counts as failed. */
  reloadCheckSeconds: 'RELOAD_CHECK_SECONDS',
} as const;

export const RELOADER_DEFAULTS = {
  certDir: '/vault/tls',
  procRoot: '/proc',
  pollSeconds: 10,
  listener: `127.0.0.1:${VAULT_PORT}`,
  reloadCheckSeconds: 5,
} as const;
