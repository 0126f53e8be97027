import { DEFAULTS } from '../runtime/common/variables';
import { invalid } from '../build/prop-error';
import { checkArray, checkCidr, checkDnsLabel, checkDnsSubdomain, checkHostname, checkMetadataMap, checkPinnedImage, checkQuantity } from './checks';
import { checkKnownProps, KnownProps } from './known-props';
import { checkVaultClient, VaultClient } from './vault-network-policy';
import { checkStorageProps, STORAGE_KNOWN_PROPS, VaultStorageProps } from './vault-raft';

// VaultStack's props, their checks and their defaults: what a homelab may say about its Vault.

const ALLOWLIST = 'nginx.ingress.kubernetes.io/allowlist-source-range';

/** The Secret holding the UI's TLS certificate, whichever construct serves the UI. */
export const TLS_SECRET_NAME = 'vault-tls';

/** The private address ranges (RFC 1918 and IPv6 unique local addresses): the LAN and most VPNs. */
export const PRIVATE_RANGES: readonly string[] = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'];

export interface VaultStackProps extends VaultStorageProps {
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
   * How the UI is exposed. 'ingress-nginx': VaultStack renders an Ingress for ingress-nginx (retired; see
   * docs/ui.md), with the props below. 'none': VaultStack renders no Ingress, and the UI is exposed by
   * VaultTraefikIngress or VaultHttpRoute (each in a folder of its own), or not at all; the Ingress props are refused.
   * @default 'ingress-nginx'
   */
  readonly exposure?: 'ingress-nginx' | 'none';

  /**
   * The namespace of ingress-nginx's controller pods, which forward the UI's traffic to Vault (`proxyNamespace`): Vault's
   * NetworkPolicy lets them in. Required with exposure 'ingress-nginx' while `networkPolicy` is on, so that the UI is
   * never cut off silently.
   * @default - none
   */
  readonly ingressControllerNamespace?: string;

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
   * The Secret holding the Ingress's TLS certificate for `host` (issued by cert-manager or provided by hand).
   * @default 'vault-tls'
   */
  readonly tlsSecretName?: string;

  /**
   * More annotations of the Ingress, such as `cert-manager.io/cluster-issuer` to have cert-manager issue the
   * certificate into `tlsSecretName`. The allowed source ranges are `allowedSourceRanges`, not an annotation here.
   * @default - none
   */
  readonly ingressAnnotations?: Record<string, string>;

  /**
   * The IngressClass that serves the Ingress.
   * @default 'nginx'
   */
  readonly ingressClassName?: string;

  /**
   * Client CIDR blocks allowed through the Ingress (LAN and VPN ranges); any other client gets 403 from ingress-nginx.
   * ingress-nginx must see the client's address (a LoadBalancer Service with `externalTrafficPolicy: Local`, or the
   * PROXY protocol), or every client looks like a node. To open the UI to every client, give `['0.0.0.0/0', '::/0']`.
   * @default - the private ranges: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 and fc00::/7
   */
  readonly allowedSourceRanges?: string[];

  /**
   * The name of the claim that holds Vault's data. On a running install this must be the existing claim's name: a new
   * name is a new, empty volume (the old claim stays, protected from pruning, but Vault starts uninitialized). Whatever
   * the name, GitOps never prunes or deletes the claim. File storage only: with Raft each pod's claim comes from the
   * StatefulSet's template (`data-vault-N`), and setting this is refused.
   * @default 'vault-data'
   */
  readonly claimName?: string;

  /**
   * The storage class of the claim. On a running install this must be the class it has: a claim's class can never
   * change.
   * @default 'longhorn'
   */
  readonly storageClassName?: string;

  /**
   * The size of the claim. On a running install this must equal its current size, or be larger to grow it (Longhorn
   * expands online). A claim can never shrink, so a smaller value fails at apply time.
   * @default '10Gi'
   */
  readonly storageSize?: string;

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
   * The cluster's DNS domain, used to build the in-cluster URL of Vault's Service.
   * @default 'cluster.local'
   */
  readonly clusterDomain?: string;

  /**
   * Whether Vault's pods accept connections on port 8200 only from the clients the app declares (ESO's controller, the
   * project's CronJobs, whatever exposes the UI) and `allowedClients`, through a NetworkPolicy. It takes a CNI that enforces
   * NetworkPolicies (k3s's embedded policy controller does; flannel alone does not).
   * @default true
   */
  readonly networkPolicy?: boolean;

  /**
   * More clients allowed to reach Vault on port 8200: pods by namespace and labels, every pod of a namespace, or an
   * address block (an ingress controller on the host network), each with a description.
   * @default - none
   */
  readonly allowedClients?: VaultClient[];
}

const KNOWN_PROPS: KnownProps<VaultStackProps> = {
  host: true, namespace: true, createNamespace: true, appArmorProfile: true, image: true, tlsSecretName: true, ingressAnnotations: true,
  ingressClassName: true, allowedSourceRanges: true, claimName: true, storageClassName: true, storageSize: true,
  cpuRequest: true, memoryRequest: true, clusterDomain: true, networkPolicy: true, exposure: true, ingressControllerNamespace: true,
  allowedClients: { description: true, namespace: true, podLabels: true, cidr: true }, ...STORAGE_KNOWN_PROPS,
};

/** The props that only the ingress-nginx Ingress uses: refused with exposure 'none'. */
const INGRESS_PROPS = ['tlsSecretName', 'ingressAnnotations', 'ingressClassName', 'allowedSourceRanges', 'ingressControllerNamespace'] as const;

/** Checks VaultStack's props; returns them with their defaults. */
export function checkVaultStackProps(props: VaultStackProps) {
  checkKnownProps('VaultStack', props, KNOWN_PROPS);
  const exposure = props.exposure ?? 'ingress-nginx';
  if (exposure !== 'ingress-nginx' && exposure !== 'none') {
    invalid('VaultStack exposure', exposure, '"ingress-nginx" or "none" (and VaultTraefikIngress or VaultHttpRoute to expose the UI)');
  }
  for (const prop of exposure === 'none' ? INGRESS_PROPS : []) {
    if (props[prop] !== undefined) {
      invalid(`VaultStack ${prop}`, props[prop], 'no Ingress prop with exposure "none": set it on the construct that exposes the UI (VaultTraefikIngress or VaultHttpRoute)');
    }
  }
  const ranges = checkArray('VaultStack allowedSourceRanges', props.allowedSourceRanges, 'CIDR blocks') ?? PRIVATE_RANGES;
  const sourceRanges = ranges.map((r) => checkCidr('VaultStack allowedSourceRanges', r));
  if (sourceRanges.length === 0) {
    invalid('VaultStack allowedSourceRanges', [], 'at least one CIDR block; to allow every client give ["0.0.0.0/0", "::/0"]');
  }
  const ingressAnnotations = checkMetadataMap('VaultStack ingressAnnotations', props.ingressAnnotations ?? {}, false);
  // The allowlist's old name is an alias that ingress-nginx would read instead: refused too.
  for (const key of [ALLOWLIST, 'nginx.ingress.kubernetes.io/whitelist-source-range']) {
    if (ingressAnnotations[key] !== undefined) invalid('VaultStack ingressAnnotations', key, 'no source-range annotation here: set allowedSourceRanges');
  }
  const appArmorProfile = props.appArmorProfile;
  if (appArmorProfile !== undefined && (typeof appArmorProfile !== 'string' || !/^(runtime\/default|unconfined|localhost\/[^\s/]+)$/.test(appArmorProfile))) {
    invalid('VaultStack appArmorProfile', appArmorProfile, '"runtime/default", "localhost/<profile>" or "unconfined"');
  }
  const networkPolicy = props.networkPolicy ?? true;
  if (typeof networkPolicy !== 'boolean') invalid('VaultStack networkPolicy', networkPolicy, 'true or false');
  if (networkPolicy && exposure === 'ingress-nginx' && props.ingressControllerNamespace === undefined) {
    invalid('VaultStack ingressControllerNamespace', null, 'the namespace of the ingress controller that serves the UI (such as "ingress-nginx"), or networkPolicy: false');
  }
  const allowedClients = (checkArray('VaultStack allowedClients', props.allowedClients, 'clients') ?? [])
    .map((c, i) => checkVaultClient(`VaultStack allowedClients[${i}]`, c));
  if (props.storage === 'raft' && props.claimName !== undefined) invalid('VaultStack claimName', props.claimName, 'nothing with storage "raft": each pod\'s claim comes from the StatefulSet\'s template (data-vault-N)');
  return {
    raft: checkStorageProps(props),
    networkPolicy,
    allowedClients,
    appArmorProfile,
    host: checkHostname('VaultStack host', props.host),
    namespace: checkDnsLabel('VaultStack namespace', props.namespace ?? DEFAULTS.namespace),
    exposure,
    proxyNamespace: exposure === 'none' || props.ingressControllerNamespace === undefined ? undefined
      : checkDnsLabel('VaultStack ingressControllerNamespace', props.ingressControllerNamespace),
    image: checkPinnedImage('VaultStack image', props.image ?? 'hashicorp/vault:2.0.4'),
    tlsSecretName: checkDnsSubdomain('VaultStack tlsSecretName', props.tlsSecretName ?? TLS_SECRET_NAME),
    ingressClassName: checkDnsSubdomain('VaultStack ingressClassName', props.ingressClassName ?? 'nginx'),
    ingressAnnotations: { ...ingressAnnotations, [ALLOWLIST]: sourceRanges.join(',') },
    claimName: checkDnsSubdomain('VaultStack claimName', props.claimName ?? 'vault-data'),
    storageClassName: checkDnsSubdomain('VaultStack storageClassName', props.storageClassName ?? 'longhorn'),
    storageSize: checkQuantity('VaultStack storageSize', props.storageSize ?? '10Gi'),
    cpuRequest: checkQuantity('VaultStack cpuRequest', props.cpuRequest ?? '100m'),
    memoryRequest: checkQuantity('VaultStack memoryRequest', props.memoryRequest ?? '256Mi'),
    clusterDomain: checkHostname('VaultStack clusterDomain', props.clusterDomain ?? 'cluster.local'),
  };
}
