import { createHash } from 'crypto';
import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { IVault } from './vault';
import { VaultClient, VaultNetworkPolicy } from './vault-network-policy';
import {
  activeServiceUrl, addRaftObjects, CLAIM_TEMPLATE, CLUSTER_PORT, clusterAddr, HEADLESS_SERVICE, podNames, podUrls, raftAffinity,
  RAFT_CLAIM_LABELS, RaftClaim, raftConfig, raftEnv, RaftNames, raftStatefulSetSpec, VaultStorage, checkRaftAddresses,
} from './vault-raft';
import { validating } from '../build/prop-error';
import { checkVaultStackProps, VaultStackProps } from './vault-stack-props';

export { PRIVATE_RANGES, TLS_SECRET_NAME } from './vault-stack-props';
export type { VaultStackProps } from './vault-stack-props';

/**
 * Annotations that keep GitOps from ever deleting Vault's data: ArgoCD neither prunes the claim nor deletes it with
 * the Application, and Flux's garbage collection leaves it alone.
 */
const KEEP_ANNOTATIONS: Readonly<Record<string, string>> = {
  'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false',
  'kustomize.toolkit.fluxcd.io/prune': 'disabled',
};

const PORT = 8200;
const CONTAINER = 'vault';
/** Vault's ServiceAccount, which the Kubernetes auth method reviews tokens with. */
const SERVICE_ACCOUNT = 'vault';
const DATA_PATH = '/vault/data';
const CONFIG_PATH = '/vault/config';
const HOME_PATH = '/home/vault';

/** HashiCorp Vault on one file-storage claim or on Raft (a claim per pod); plain HTTP on 8200 inside, TLS at the edge. */
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
    } = validating(this, () => checkVaultStackProps(props));

    this.namespace = namespace;
    this.host = host;
    this.exposure = exposure;
    this.proxyNamespace = proxyNamespace;
    const names: RaftNames = {
      statefulSet: this.statefulSetName, headlessService: HEADLESS_SERVICE, activeService: 'vault-active', namespace, clusterDomain, replicas: raft?.replicas ?? 1,
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

    new k8s.KubeServiceAccount(this, 'service-account', { metadata: metadata(SERVICE_ACCOUNT) });

    // Vault's Kubernetes auth method reviews the tokens of External Secrets Operator with this.
    new k8s.KubeClusterRoleBinding(this, 'auth-delegator', {
      metadata: { name: 'vault-server-binding', labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
      subjects: [{ kind: 'ServiceAccount', name: SERVICE_ACCOUNT, namespace }],
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
    const headlessService = new k8s.KubeService(this, 'headless-service', {
      metadata: metadata(HEADLESS_SERVICE),
      spec: { clusterIp: 'None', selector: labels, ports: [...ports, ...clusterPorts], publishNotReadyAddresses: true },
    });
    if (raft) addRaftObjects(this, names, labels, (name) => metadata(name), networkPolicy);

    const statefulSet = new k8s.KubeStatefulSet(this, 'statefulset', {
      metadata: metadata(this.statefulSetName),
      spec: {
        replicas: 1,
        ...(raft && raftStatefulSetSpec(names, raft, { storageClassName, storageSize })),
        // Only replicas, template, updateStrategy, minReadySeconds, persistentVolumeClaimRetentionPolicy and
        // ordinals may ever change: every other field here must match a StatefulSet being adopted.
        serviceName: HEADLESS_SERVICE,
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
            serviceAccountName: SERVICE_ACCOUNT,
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
    // Against what was rendered: the Service that publishes the pods, the StatefulSet's serviceName and replicas.
    if (raft) checkRaftAddresses(this.config, { headlessService: headlessService.toJson(), statefulSet: statefulSet.toJson() }, clusterDomain);

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
