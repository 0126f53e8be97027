// The unseal script's own environment, beside the shared names of variables.ts: runtime/unseal.ts reads these names,
// lib/unseal-cron.ts writes them, and the defaults are both sides' (the construct's default is the script's fallback).

export const UNSEAL_ENV = {
  keysDir: 'VAULT_UNSEAL_KEYS_DIR',
  secretName: 'VAULT_UNSEAL_SECRET_NAME',
  /** The pods' URLs, comma-separated: when set, the job unseals each pod instead of `VAULT_ADDR`. */
  pods: 'VAULT_PODS',
} as const;

export const UNSEAL_DEFAULTS = {
  keysDir: '/vault/unseal-keys',
  secretName: 'vault-unseal-key',
} as const;
