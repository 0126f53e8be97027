// The snapshot script's own environment, beside the shared names of variables.ts (which every script bundles): the
// script reads these names, lib/vault-snapshot-cron.ts writes them and vault-setup derives the role from them.
// TLS: the shared VAULT_ADDR is the active node's Service (a name Vault's Certificate lists), the shared VAULT_CACERT
// the mounted CA it chains to; the login's JWT, the Vault token and the snapshot cross only that verified connection.

export const SNAPSHOT_ENV = {
  authMount: 'VAULT_AUTH_MOUNT',
  role: 'VAULT_ROLE',
  dir: 'SNAPSHOT_DIR',
  keep: 'SNAPSHOT_KEEP',
  stallSeconds: 'STALL_SECONDS',
} as const;

/** What the script assumes when a variable is unset; the construct's defaults are the same values. */
export const SNAPSHOT_DEFAULTS = {
  authMount: 'kubernetes',
  role: 'vault-raft-snapshot',
  dir: '/snapshots',
  keep: 24,
  stallSeconds: 30,
} as const;
