// The snapshot script's own environment, beside the shared names of variables.ts (which every script bundles): the
// script reads these names, lib/vault-snapshot-cron.ts writes them and vault-setup derives the role from them.

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
