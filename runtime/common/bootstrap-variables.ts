// The bootstrap script's own environment, beside the shared names of variables.ts (and the unseal Secret's and the
// pods' names of unseal-variables.ts, which it shares with the unseal job): runtime/vault-bootstrap.ts reads these
// names, lib/vault-bootstrap.ts writes them, and runtime/common/vault-config/bootstrap.ts reads the identities from the
// CronJob in dist/, so that vault-setup and the job derive the same plan. The defaults are all sides'.

export const BOOTSTRAP_ENV = {
  /** `apply` (write what is missing) or `report` (write nothing after init; drift fails the run). */
  mode: 'BOOTSTRAP_MODE',
  /** How many shares `sys/init` makes, and how many unseal. */
  shares: 'BOOTSTRAP_SHARES',
  threshold: 'BOOTSTRAP_THRESHOLD',
  /** The desired configuration (JSON, rendered at synthesis) in the mounted ConfigMap. */
  planFile: 'BOOTSTRAP_PLAN_FILE',
  /** The job's own Kubernetes-auth mount and role. */
  authMount: 'BOOTSTRAP_AUTH_MOUNT',
  role: 'BOOTSTRAP_ROLE',
  /** The human writer of app secret values: its role and ServiceAccount (in the job's namespace). */
  writerRole: 'WRITER_ROLE',
  writerServiceAccount: 'WRITER_SERVICE_ACCOUNT',
  /** The age recipient (`age1...`) the escrow is encrypted to; `waived` turns the escrow off. */
  escrowRecipient: 'ESCROW_RECIPIENT',
  escrowSecretName: 'ESCROW_SECRET_NAME',
  /** The job's namespace; by default the `namespace` file beside KUBE_TOKEN_FILE. */
  namespace: 'POD_NAMESPACE',
} as const;

/** ESCROW_RECIPIENT's value when the site has waived the escrow. */
export const ESCROW_WAIVED = 'waived';

export const BOOTSTRAP_DEFAULTS = {
  name: 'vault-bootstrap',
  mode: 'apply',
  shares: 5,
  threshold: 3,
  planFile: '/vault/plan/desired.json',
  authMount: 'kubernetes',
  role: 'vault-bootstrap',
  writerRole: 'secret-writer',
  writerServiceAccount: 'vault-secret-writer',
  escrowSecretName: 'vault-unseal-escrow',
  /** The escrow Secret's key: the shares, encrypted to the age recipient (a binary age file). */
  escrowKey: 'shares.age',
  /** Vault's audit device: its file device writing to Vault's own stdout (see docs/bootstrap.md for why). */
  auditPath: 'stdout',
} as const;
