// The recovery script's own environment, beside the shared names of variables.ts: runtime/eso-recovery.ts reads these
// names, lib/eso-recovery-cron.ts writes them, and the defaults are both sides' (the store's name is EsoStore's too).
// TLS: the script asks Vault's health at the shared VAULT_ADDR (the Service, a name Vault's Certificate lists), trusting
// the CA the shared VAULT_CACERT names; the Kubernetes API's CA is KUBE_CA_FILE's.

export const RECOVERY_ENV = {
  /** The ClusterSecretStores woken, comma-separated. */
  storeNames: 'ESO_STORE_NAMES',
  /** The project's ExternalSecrets, comma-separated `<store>:<namespace>/<name>` (`<namespace>/<name>` with one store). */
  externalSecrets: 'ESO_EXTERNAL_SECRETS',
} as const;

/**
 * The annotation the job writes on the store and on the ExternalSecrets to wake them: the project's own, as
 * `force-sync` is written from Git by AppSecret and GitOps would undo a job's value. The admission policy over the
 * job (EsoRecoveryAdmission) lets it change nothing else.
 */
export const WAKE_ANNOTATION = 'eso-recovery/woken-at';

export const RECOVERY_DEFAULTS = {
  storeName: 'k8s-secrets',
  // An Event about a cluster-scoped object (the ClusterSecretStore) must be in "default": the API server refuses it in
  // any other namespace (legacyValidateEvent), and Kubernetes' own recorders put such events there.
  eventNamespace: 'default',
} as const;
