// The environment every script shares (Vault's address and, when it serves TLS, the CA file that signs its
// certificate, as the vault CLI names them; the retry timings; the Kubernetes API), defined once: the scripts read
// these names and the constructs in lib/ write them, so a rename cannot reach one side only. Each script's own names
// are in a file of its own beside this one (unseal-, eso-recovery-, snapshot-variables.ts).

export const ENV = {
  vaultAddr: 'VAULT_ADDR',
  /**
   * The mounted CA file (PEM, cert-manager's ca.crt) that Vault's certificate must chain to; set when VAULT_ADDR (or a
   * pod's URL) is https, absent while the site keeps plain HTTP. The scripts trust this CA only.
   */
  vaultCaCert: 'VAULT_CACERT',
  timeoutSeconds: 'VAULT_TIMEOUT_SECONDS',
  retryWindowSeconds: 'RETRY_WINDOW_SECONDS',
  retryIntervalSeconds: 'RETRY_INTERVAL_SECONDS',
  runDeadlineSeconds: 'RUN_DEADLINE_SECONDS',
  kubeApiUrl: 'KUBE_API_URL',
  kubeTokenFile: 'KUBE_TOKEN_FILE',
  kubeCaFile: 'KUBE_CA_FILE',
} as const;

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Vault's API port: its listener's, its Services' and every URL's that reaches it. */
export const VAULT_PORT = 8200;

/** The namespace of Vault, ESO and the CronJobs unless a construct is told otherwise. */
const NAMESPACE = 'security';

/** What a script assumes when a variable is unset, and the constructs' defaults: each defined here only. */
export const DEFAULTS = {
  namespace: NAMESPACE,
  vaultAddr: `http://vault.${NAMESPACE}.svc.cluster.local:${VAULT_PORT}`,
  timeoutSeconds: 5,
  retryWindowSeconds: 40,
  retryIntervalSeconds: 3,
  runDeadlineSeconds: 50,
  kubeApiUrl: 'https://kubernetes.default.svc',
  kubeTokenFile: `${SA_DIR}/token`,
  kubeCaFile: `${SA_DIR}/ca.crt`,
} as const;
