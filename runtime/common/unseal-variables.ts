// The unseal script's own environment, beside the shared names of variables.ts: runtime/unseal.ts reads these names,
// lib/unseal-cron.ts writes them, and the defaults are both sides' (the construct's default is the script's fallback).
// TLS: VAULT_ADDR (the Service) and every VAULT_PODS URL share one scheme; with https each pod's URL is its DNS name
// through the headless Service (vault-0.vault-internal.<ns>.svc.<domain>, never an IP), a name Vault's Certificate
// lists, and the shared VAULT_CACERT names the mounted CA they chain to.

export const UNSEAL_ENV = {
  keysDir: 'VAULT_UNSEAL_KEYS_DIR',
  secretName: 'VAULT_UNSEAL_SECRET_NAME',
  /** The pods' URLs, comma-separated, in VAULT_ADDR's scheme: when set, the job unseals each pod instead of `VAULT_ADDR`. */
  pods: 'VAULT_PODS',
} as const;

export const UNSEAL_DEFAULTS = {
  keysDir: '/vault/unseal-keys',
  secretName: 'vault-unseal-key',
} as const;
