import { createHash } from 'crypto';
import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { DEFAULTS } from '../runtime/common/env';
import { IVault } from './vault';
import { checkVaultClient, VaultClient, VaultNetworkPolicy } from './vault-network-policy';
import {
  activeServiceUrl, addRaftObjects, checkStorageProps, CLAIM_TEMPLATE, CLUSTER_PORT, clusterAddr, podNames, podUrls, raftAffinity, RAFT_CLAIM_LABELS,
  RaftClaim, raftConfig, raftEnv, RaftNames, raftStatefulSetSpec, STORAGE_KNOWN_PROPS, VaultStorage, VaultStorageProps,
} from './vault-raft';
import {
  checkArray, checkCidr, checkDnsLabel, checkDnsSubdomain, checkHostname, checkKnownProps, checkMetadataMap, checkPinnedImage,
  checkQuantity, invalid, KnownProps, validating,
} from './validate';

/**
 * Annotations that keep GitOps from ever deleting Vault's data: ArgoCD neither prunes the claim nor deletes it with
 * the Application, and Flux's garbage collection leaves it alone.
 */
const KEEP_ANNOTATIONS: Readonly<Record<string, string>> = {
  'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false',
  'kustomize.toolkit.fluxcd.io/prune': 'disabled',
};

const ALLOWLIST = 'nginx.ingress.kubernetes.io/allowlist-source-range';

/** The Secret holding the UI's TLS certificate, whichever construct serves the UI. */
export const TLS_SECRET_NAME = 'vault-tls';

/** The private address ranges (RFC 1918 and IPv6 unique local addresses): the LAN and most VPNs. */
export const PRIVATE_RANGES: readonly string[] = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'];

const PORT = 8200;
const CONTAINER = 'vault';
const DATA_PATH = '/vault/data';
const CONFIG_PATH = '/vault/config';
const HOME_PATH = '/home/vault';

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
   * the name, GitOps never prunes or deletes the claim.
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

function checkProps(props: VaultStackProps) {
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

/**
 * A single-node HashiCorp Vault: file storage on a Longhorn claim, plain HTTP on port 8200 inside the cluster and TLS
 * at ingress-nginx. Vault starts sealed; the Services publish the sealed pod so that it can be unsealed.
 */
export class VaultStack extends Construct implements IVault {
  /** The namespace that holds Vault. */
  public readonly namespace: string;
  /** The public host name of Vault's UI and API. */
  public readonly host: string;
  /** How the UI is exposed: by this VaultStack's ingress-nginx Ingress, or ('none') by another construct or not at all. */
  public readonly exposure: 'ingress-nginx' | 'none';
  /**
   * The namespace of the pods that forward the UI's traffic to Vault: ingress-nginx's controller. Undefined with
   * exposure 'none' (the exposing construct has its own `proxyNamespace`).
   */
  public readonly proxyNamespace?: string;
  /** The name of the claim that holds Vault's data (with Raft, pod 0's claim: `data-vault-0`). */
  public readonly claimName: string;
  /** Where Vault keeps its data. */
  public readonly storage: VaultStorage;
  /** The number of Vault pods: 1 with file storage. */
  public readonly replicas: number;
  /** The names of Vault's pods, `vault-0` first. */
  public readonly podNames: string[];
  /** Each pod's in-cluster URL through the headless Service (which publishes sealed pods), in `podNames` order. */
  public readonly podUrls: string[];
  /** The URL of the active node's Service (Raft); with file storage the one pod's Service. */
  public readonly activeServiceUrl: string;
  /** The Service the UI's route and the ClusterSecretStore use: `vault-active` with Raft, else `vault`. */
  public readonly clientServiceName: string;
  /** With Raft, the Service that selects the active node. */
  public readonly activeServiceName?: string;
  /** Vault's image. */
  public readonly image: string;
  /** With Raft, pod 0's claim as the StatefulSet's template makes it (a migration creates it beforehand). */
  public readonly raftClaim?: RaftClaim;
  /** With Raft, pod 0's cluster address (`cluster_addr`), which a migration's destination must use exactly. */
  public readonly raftClusterAddr?: string;
  /** The name of Vault's StatefulSet. */
  public readonly statefulSetName = 'vault';
  /** The name of the Service that reaches Vault, ready or not. */
  public readonly serviceName = 'vault';
  /** The port of Vault's Services (plain HTTP). */
  public readonly port = PORT;
  /** The name of Vault's pod, the StatefulSet's only one. */
  public readonly podName = 'vault-0';
  /** Vault's in-cluster URL for clients, for example `http://vault.security.svc.cluster.local:8200`; the active node's with Raft. */
  public readonly serviceUrl: string;
  /** Vault's public URL, which is also its `api_addr`. */
  public readonly publicUrl: string;
  /** The labels of Vault's pods. */
  public readonly podLabels: Readonly<Record<string, string>> = { 'app.kubernetes.io/name': 'vault', 'app.kubernetes.io/component': 'server' };
  /** The NetworkPolicy that admits Vault's clients; undefined when `networkPolicy` is off. */
  public readonly networkPolicy?: VaultNetworkPolicy;
  /** The strictest Pod Security level that Vault's pod passes: `restricted` unless AppArmor is `unconfined`. */
  public readonly podSecurityLevel: 'restricted' | 'privileged';
  /** Vault's configuration file, in HCL. */
  public readonly config: string;
  /**
   * The claim that holds Vault's data. Other constructs may add labels to it (VaultBackup opts it into Longhorn's
   * recurring jobs): labels of a bound claim change in place, while its spec mostly cannot.
   */
  public readonly claim?: k8s.KubePersistentVolumeClaim;

  constructor(scope: Construct, id: string, props: VaultStackProps) {
    super(scope, id);
    const {
      raft, networkPolicy, allowedClients, appArmorProfile, host, namespace, image, tlsSecretName, ingressClassName, ingressAnnotations,
      claimName, storageClassName, storageSize, cpuRequest, memoryRequest, clusterDomain, exposure, proxyNamespace,
    } = validating(this, () => checkProps(props));

    this.namespace = namespace;
    this.host = host;
    this.exposure = exposure;
    this.proxyNamespace = proxyNamespace;
    const names: RaftNames = {
      statefulSet: 'vault', headlessService: 'vault-internal', activeService: 'vault-active', namespace, clusterDomain, replicas: raft?.replicas ?? 1,
    };
    this.storage = raft ? 'raft' : 'file';
    this.replicas = names.replicas;
    this.podNames = podNames(names);
    this.podUrls = podUrls(names);
    this.claimName = raft ? `${CLAIM_TEMPLATE}-${this.podNames[0]}` : claimName;
    this.clientServiceName = raft ? names.activeService : this.serviceName;
    this.activeServiceName = raft ? names.activeService : undefined;
    this.image = image;
    if (raft) {
      this.raftClaim = { name: this.claimName, storageClassName, storageSize, labels: RAFT_CLAIM_LABELS };
      this.raftClusterAddr = clusterAddr(names, this.podNames[0]);
    }
    this.activeServiceUrl = raft ? activeServiceUrl(names) : `http://${this.serviceName}.${namespace}.svc.${clusterDomain}:${PORT}`;
    this.podSecurityLevel = appArmorProfile === 'unconfined' ? 'privileged' : 'restricted';
    this.serviceUrl = this.activeServiceUrl;
    this.publicUrl = `https://${host}`;
    this.config = raft ? raftConfig(names, this.publicUrl, DATA_PATH) : [
      'ui = true',
      'disable_mlock = true',
      `api_addr = "${this.publicUrl}"`,
      '',
      exposure === 'ingress-nginx'
        ? '# TLS ends at ingress-nginx; inside the cluster Vault speaks plain HTTP.'
        : '# TLS ends at the Ingress or Gateway in front of Vault; inside the cluster Vault speaks plain HTTP.',
      'listener "tcp" {',
      `  address     = "[::]:${PORT}"`,
      '  tls_disable = 1',
      '}',
      '',
      'storage "file" {',
      `  path = "${DATA_PATH}"`,
      '}',
      '',
    ].join('\n');

    const labels = { ...this.podLabels };
    const metadata = (name: string, extra: { annotations?: Record<string, string> } = {}) => ({
      name, namespace, labels, ...extra,
    });

    if (props.createNamespace) {
      new k8s.KubeNamespace(this, 'namespace', {
        metadata: {
          name: namespace,
          // Removing the namespace would remove the claim with it.
          annotations: { ...KEEP_ANNOTATIONS },
          labels: {
            // Every pod the project defines passes "restricted"; AppArmor "unconfined" is forbidden from "baseline" up.
            'pod-security.kubernetes.io/enforce': this.podSecurityLevel,
            'pod-security.kubernetes.io/warn': this.podSecurityLevel,
          },
        },
      });
    }

    new k8s.KubeServiceAccount(this, 'service-account', { metadata: metadata('vault') });

    // Vault's Kubernetes auth method reviews the tokens of External Secrets Operator with this.
    new k8s.KubeClusterRoleBinding(this, 'auth-delegator', {
      metadata: { name: 'vault-server-binding', labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
      subjects: [{ kind: 'ServiceAccount', name: 'vault', namespace }],
    });

    new k8s.KubeConfigMap(this, 'config', { metadata: metadata('vault-config'), data: { 'vault.hcl': this.config } });

    if (!raft) this.claim = new k8s.KubePersistentVolumeClaim(this, 'data', {
      metadata: { ...metadata(claimName), annotations: { ...KEEP_ANNOTATIONS } },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName,
        resources: { requests: { storage: k8s.Quantity.fromString(storageSize) } },
      },
    });

    // Both Services publish the pod while it is not ready: a sealed Vault is not ready, and it is exactly then that
    // the unseal job and an operator's port-forward must reach it.
    const ports = [{ name: 'http', port: PORT, targetPort: k8s.IntOrString.fromString('http') }];
    const clusterPorts = raft ? [{ name: 'https-internal', port: CLUSTER_PORT, targetPort: k8s.IntOrString.fromString('https-internal') }] : [];
    new k8s.KubeService(this, 'service', {
      metadata: metadata(this.serviceName),
      spec: { type: 'ClusterIP', selector: labels, ports, publishNotReadyAddresses: true },
    });
    new k8s.KubeService(this, 'headless-service', {
      metadata: metadata('vault-internal'),
      spec: { clusterIp: 'None', selector: labels, ports: [...ports, ...clusterPorts], publishNotReadyAddresses: true },
    });
    if (raft) addRaftObjects(this, names, labels, (name) => metadata(name), networkPolicy);

    new k8s.KubeStatefulSet(this, 'statefulset', {
      metadata: metadata(this.statefulSetName),
      spec: {
        replicas: 1,
        ...(raft && raftStatefulSetSpec(names, raft, { storageClassName, storageSize })),
        // Only replicas, template, updateStrategy, minReadySeconds, persistentVolumeClaimRetentionPolicy and
        // ordinals may ever change: every other field here must match a StatefulSet being adopted.
        serviceName: 'vault-internal',
        selector: { matchLabels: labels },
        template: {
          metadata: {
            labels,
            annotations: {
              'checksum/config': createHash('sha256').update(this.config).digest('hex'),
              // Kubernetes 1.28 has no securityContext.appArmorProfile field; the annotation works there and later.
              ...(appArmorProfile && { [`container.apparmor.security.beta.kubernetes.io/${CONTAINER}`]: appArmorProfile }),
            },
          },
          spec: {
            ...(raft && { affinity: raftAffinity(raft, labels) }),
            serviceAccountName: 'vault',
            terminationGracePeriodSeconds: 10,
            // The Service named vault would otherwise inject VAULT_PORT and friends into Vault's own environment.
            enableServiceLinks: false,
            securityContext: {
              runAsNonRoot: true, runAsUser: 100, runAsGroup: 1000, fsGroup: 1000,
              // The kubelet walks the whole data volume to set its group only when the volume's root is not already right.
              fsGroupChangePolicy: 'OnRootMismatch',
              seccompProfile: { type: 'RuntimeDefault' },
            },
            containers: [{
              name: CONTAINER,
              image,
              imagePullPolicy: 'IfNotPresent',
              // The image's entrypoint turns a first argument `server` into `vault server -config=/vault/config ...`,
              // adding the folder the ConfigMap is mounted at: naming the file too would load it twice, declare the
              // listener twice, and Vault would exit on the second bind. A first argument `vault` runs as given (as
              // vault-helm starts Vault), so the configuration is loaded exactly once.
              args: ['vault', 'server', `-config=${CONFIG_PATH}/vault.hcl`],
              env: [
                { name: 'SKIP_SETCAP', value: 'true' },
                { name: 'SKIP_CHOWN', value: 'true' },
                { name: 'HOME', value: HOME_PATH },
                { name: 'VAULT_ADDR', value: `http://127.0.0.1:${PORT}` },
                { name: 'VAULT_API_ADDR', value: this.publicUrl },
                ...(raft ? raftEnv(names) : []),
              ],
              ports: [
                { name: 'http', containerPort: PORT, protocol: 'TCP' },
                ...(raft ? [{ name: 'https-internal', containerPort: CLUSTER_PORT, protocol: 'TCP' }] : []),
              ],
              // 200 only when initialized and unsealed; 501 (uninitialized) and 503 (sealed) fail. No liveness probe:
              // it would restart a sealed Vault in a loop.
              readinessProbe: {
                httpGet: { path: '/v1/sys/health?standbyok=true', port: k8s.IntOrString.fromNumber(PORT), scheme: 'HTTP' },
                initialDelaySeconds: 5,
                periodSeconds: 5,
                timeoutSeconds: 3,
                failureThreshold: 2,
              },
              resources: {
                requests: { cpu: k8s.Quantity.fromString(cpuRequest), memory: k8s.Quantity.fromString(memoryRequest) },
              },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [
                { name: 'data', mountPath: DATA_PATH },
                { name: 'config', mountPath: CONFIG_PATH, readOnly: true },
                { name: 'home', mountPath: HOME_PATH },
              ],
            }],
            volumes: [
              // With Raft, "data" is each pod's own claim from volumeClaimTemplates.
              ...(raft ? [] : [{ name: 'data', persistentVolumeClaim: { claimName: claimName } }]),
              { name: 'config', configMap: { name: 'vault-config' } },
              { name: 'home', emptyDir: { sizeLimit: k8s.Quantity.fromString('16Mi') } },
            ],
          },
        },
      },
    });

    // Otherwise VaultTraefikIngress or VaultHttpRoute exposes the UI, from a folder of its own.
    if (exposure === 'ingress-nginx') {
      this.renderIngress(host, metadata('vault', { annotations: ingressAnnotations }), ingressClassName, tlsSecretName);
    }

    if (networkPolicy) {
      this.networkPolicy = new VaultNetworkPolicy(this, 'network-policy', { namespace, podLabels: labels, ports: [PORT] });
      if (proxyNamespace) this.networkPolicy.allow({ description: 'the UI, through ingress-nginx', namespace: proxyNamespace });
      for (const client of allowedClients) this.networkPolicy.allow(client);
    }
  }

  private renderIngress(host: string, metadata: k8s.ObjectMeta, ingressClassName: string, tlsSecretName: string) {
    new k8s.KubeIngress(this, 'ingress', {
      metadata,
      spec: {
        ingressClassName,
        tls: [{ hosts: [host], secretName: tlsSecretName }],
        rules: [{
          host,
          http: {
            paths: [{
              path: '/',
              pathType: 'Prefix',
              backend: { service: { name: this.clientServiceName, port: { number: PORT } } },
            }],
          },
        }],
      },
    });
  }

  /** Lets a client reach Vault's API port (a construct that talks to Vault calls it); nothing when the policy is off. */
  public allowClient(client: VaultClient): void {
    this.networkPolicy?.allow(client);
  }
}
