import { DEFAULTS } from '../runtime/common/variables';
import { invalid } from '../build/prop-error';
import { checkDnsLabel, checkHostname, checkPinnedImage, checkQuantity } from './checks';
import { ApiServerEndpoints, checkApiServer, DEFAULT_API_SERVER } from './egress-policy';
import { checkVaultClient, VaultClient } from './vault-network-policy';
import { VaultStorage } from './vault-storage';
import { VaultTls } from './vault-tls';

// VaultStack's props, their checks and their defaults: what a homelab may say about its Vault.

export interface VaultStackProps {
  /**
   * The public host name of Vault's UI and API, served by the Ingress, such as `vault.example.com`. `api_addr` is
   * `https://<host>`.
   */
  readonly host: string;

  /**
   * The namespace that holds Vault.
   * @default 'security'
   */
  readonly namespace?: string;

  /**
   * Whether to define the Namespace itself, labelled with the strictest Pod Security level every pod the project puts
   * there passes: `restricted`, or `privileged` when `appArmorProfile` is `unconfined`. Leave it off when the
   * namespace is managed elsewhere (ESO's Helm release shares it: its pods must pass the level too).
   * @default false
   */
  readonly createNamespace?: boolean;

  /**
   * The AppArmor profile of Vault's container, written as the annotation Kubernetes 1.28 reads (the
   * `securityContext.appArmorProfile` field exists from 1.30): `runtime/default`, `localhost/<profile>`, or `unconfined`.
   * `unconfined` works around an AppArmor stacking bug on recent kernels that denies signals to processes started by
   * `kubectl exec` or exec probes (containerd issue 12886), and costs a lot: the namespace can then enforce neither the
   * `baseline` nor the `restricted` Pod Security level. Vault itself needs no override: containerd's default profile
   * allows signals between the container's own processes, Go's preemption included.
   * @default - no override: the container runtime's default profile
   */
  readonly appArmorProfile?: string;

  /**
   * The Vault image, pinned to a version tag or digest.
   * @default 'hashicorp/vault:2.0.4'
   */
  readonly image?: string;

  /**
   * Where Vault keeps its data: `VaultStorage.file({ claimName, ... })` (one pod on one claim) or
   * `VaultStorage.raft({ replicas, ... })` (integrated storage, a claim per pod). A running install cannot switch by
   * changing this: see the migration runbook (examples/ha-raft/README.md).
   * @default VaultStorage.file()
   */
  readonly storage?: VaultStorage;

  /**
   * How Vault's API listener speaks: `VaultTls.certManager({ ... })` (TLS with a certificate cert-manager issues from a
   * CA of Vault's own, renewed and reloaded without a human, verified by every client) or `VaultTls.none()` (plain
   * HTTP inside the cluster). A running install moves to TLS in an order that keeps its clients working: see
   * docs/vault.md, "TLS".
   * @default VaultTls.certManager()
   */
  readonly tls?: VaultTls;

  /**
   * CPU requested by the Vault container.
   * @default '100m'
   */
  readonly cpuRequest?: string;

  /**
   * Memory requested by the Vault container.
   * @default '256Mi'
   */
  readonly memoryRequest?: string;

  /**
   * Memory limit of the Vault container.
   * @default - 1Gi with Raft storage; none with file storage
   */
  readonly memoryLimit?: string;

  /**
   * The cluster's DNS domain, used to build the in-cluster URL of Vault's Service.
   * @default 'cluster.local'
   */
  readonly clusterDomain?: string;

  /**
   * Whether Vault's pods accept connections on port 8200 only from the clients the app declares (ESO's controller, the
   * project's CronJobs, whatever exposes the UI) and `allowedClients`, and whether they and the CronJobs' pods connect
   * only to what each needs (DNS, `apiServer`, Vault, Raft peers), through NetworkPolicies. It takes a CNI that enforces
   * NetworkPolicies (k3s's embedded policy controller does; flannel alone does not).
   * @default true
   */
  readonly networkPolicy?: boolean;

  /**
   * More clients allowed to reach Vault on port 8200: pods by namespace and labels, or an address block (an ingress
   * controller on the host network), each with a description.
   * @default - none
   */
  readonly allowedClients?: VaultClient[];

  /**
   * The Kubernetes API server's endpoints as NetworkPolicies see them (after the `kubernetes` Service's DNAT: on k3s the
   * server nodes' addresses on 6443), which Vault (TokenReview, Raft's service registration) and the recovery job reach.
   * @default - the private ranges (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7) on ports 443 and 6443
   */
  readonly apiServer?: ApiServerEndpoints;
}

/** Checks VaultStack's props; returns them with their defaults. */
export function checkVaultStackProps(props: VaultStackProps) {
  const appArmorProfile = props.appArmorProfile;
  if (appArmorProfile !== undefined && (typeof appArmorProfile !== 'string' || !/^(runtime\/default|unconfined|localhost\/[^\s/]+)$/.test(appArmorProfile))) {
    invalid('VaultStack appArmorProfile', appArmorProfile, '"runtime/default", "localhost/<profile>" or "unconfined"');
  }
  const networkPolicy = props.networkPolicy ?? true;
  const allowedClients = (props.allowedClients ?? [])
    .map((c, i) => checkVaultClient(`VaultStack allowedClients[${i}]`, c));
  return {
    storage: props.storage ?? VaultStorage.file(),
    tls: props.tls ?? VaultTls.certManager(),
    networkPolicy,
    allowedClients,
    apiServer: checkApiServer('VaultStack apiServer', props.apiServer ?? DEFAULT_API_SERVER),
    appArmorProfile,
    host: checkHostname('VaultStack host', props.host),
    namespace: checkDnsLabel('VaultStack namespace', props.namespace ?? DEFAULTS.namespace),
    image: checkPinnedImage('VaultStack image', props.image ?? 'hashicorp/vault:2.0.4'),
    cpuRequest: checkQuantity('VaultStack cpuRequest', props.cpuRequest ?? '100m'),
    memoryRequest: checkQuantity('VaultStack memoryRequest', props.memoryRequest ?? '256Mi'),
    memoryLimit: props.memoryLimit === undefined ? undefined : checkQuantity('VaultStack memoryLimit', props.memoryLimit),
    clusterDomain: checkHostname('VaultStack clusterDomain', props.clusterDomain ?? 'cluster.local'),
  };
}
