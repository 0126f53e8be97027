import { createHash } from 'crypto';
import { Construct, IConstruct } from 'constructs';
import { ApiObject, Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { invalid, validating } from '../build/prop-error';
import { VAULT_PORT } from '../runtime/common/variables';
import { IVault, VaultClientTls } from './vault';
import { ApiServerEndpoints, apiServerDestination, dnsDestination, EgressPolicy, podsDestination, VaultEgress } from './egress-policy';
import { VaultClient, VaultNetworkPolicy } from './vault-network-policy';
import { HEADLESS_SERVICE, RaftClaim } from './vault-raft';
import { checkVaultStackProps, VaultStackProps } from './vault-stack-props';
import { BoundVaultStorage, KEEP_ANNOTATIONS } from './vault-storage';
import { LOOPBACK, vaultPodSpec } from './vault-pod';

export type { VaultStackProps } from './vault-stack-props';

const NAME = 'vault';
/** Vault's ServiceAccount, which the Kubernetes auth method reviews tokens with: its own name, not the StatefulSet's. */
const SERVICE_ACCOUNT = 'vault';

/**
 * HashiCorp Vault as a StatefulSet, on the storage its `storage` prop chooses (VaultStorage.file or .raft), serving
 * its API on 8200 with TLS from cert-manager (or plain HTTP: its `tls` prop). The UI is exposed beside it
 * (VaultNginxIngress, VaultTraefikIngress, VaultHttpRoute).
 */
export class VaultStack extends Construct implements IVault {
  public readonly namespace: string;
  public readonly host: string;
  public readonly port = VAULT_PORT;
  public readonly scheme: 'http' | 'https';
  public readonly tls?: VaultClientTls;
  public readonly statefulSetName = NAME;
  public readonly labels: Readonly<Record<string, string>> = { 'app.kubernetes.io/name': 'vault', 'app.kubernetes.io/component': 'server' };
  public readonly image: string;
  public readonly claim?: k8s.KubePersistentVolumeClaim;
  public readonly egress?: VaultEgress;
  private readonly bound: BoundVaultStorage;
  private readonly networkPolicy?: VaultNetworkPolicy;
  private exposedBy?: { path: string; tlsEnd?: string };
  private telemetry = false;

  constructor(scope: Construct, id: string, props: VaultStackProps) {
    super(scope, id);
    const p = validating(this, () => checkVaultStackProps(props));
    const labels = { ...this.labels };
    const metadata = (name: string) => ({ name, namespace: p.namespace, labels });
    const names = {
      statefulSet: NAME, serviceAccount: SERVICE_ACCOUNT, headlessService: HEADLESS_SERVICE, activeService: 'vault-active',
      namespace: p.namespace, clusterDomain: p.clusterDomain, replicas: 1, scheme: p.tls.scheme,
    };
    const tls = p.tls.bind({ name: NAME, namespace: p.namespace, metadata, listener: `${LOOPBACK}:${VAULT_PORT}` });
    const storage = this.bound = validating(this, () => p.storage.bind({
      names, tls: tls.listener, serviceName: NAME, publicUrl: `https://${p.host}`, dataPath: DATA_PATH, networkPolicy: p.networkPolicy, labels, metadata,
    }));
    this.namespace = p.namespace;
    this.host = p.host;
    this.image = p.image;
    this.scheme = p.tls.scheme;
    // A proxy verifies the client Service's name, which the certificate carries in every form (vaultHosts).
    this.tls = tls.client && { ...tls.client, serverName: `${storage.clientServiceName}.${p.namespace}.svc` };
    const config = () => storage.config({ tlsEnd: this.exposedBy?.tlsEnd, ...telemetryConfig(this.telemetry) });

    if (props.createNamespace) addNamespace(this, p.namespace, p.appArmorProfile);
    addIdentity(this, metadata(SERVICE_ACCOUNT));
    new k8s.KubeConfigMap(this, 'config', { metadata: metadata(CONFIG_MAP), data: { 'vault.hcl': Lazy.any({ produce: config }) } });
    this.claim = storage.addData(this);
    const headlessService = addServices(this, metadata, p.tls.scheme, storage);
    storage.addObjects(this);
    tls.addObjects(this, vaultHosts(names, [NAME, HEADLESS_SERVICE, storage.clientServiceName], storage.podNames));

    const statefulSet = new k8s.KubeStatefulSet(this, 'statefulset', {
      metadata: metadata(NAME),
      spec: {
        replicas: 1,
        ...storage.statefulSetSpec,
        // Only replicas, template, updateStrategy, minReadySeconds, persistentVolumeClaimRetentionPolicy and
        // ordinals may ever change: every other field here must match a StatefulSet being adopted.
        serviceName: HEADLESS_SERVICE,
        selector: { matchLabels: labels },
        template: vaultPodSpec({
          labels, storage, tls, serviceAccountName: SERVICE_ACCOUNT, image: p.image, appArmorProfile: p.appArmorProfile,
          cpuRequest: p.cpuRequest, memoryRequest: p.memoryRequest, memoryLimit: p.memoryLimit ?? storage.memoryLimit, configMap: CONFIG_MAP, dataPath: DATA_PATH,
          checksum: Lazy.any({ produce: () => createHash('sha256').update(config()).digest('hex') }),
        }),
      },
    });
    // Against what was rendered: the Service that publishes the pods, the StatefulSet's serviceName and replicas.
    validating(this, () => storage.check({ headlessService: headlessService.toJson(), statefulSet: statefulSet.toJson() }));

    if (p.networkPolicy) {
      this.networkPolicy = new VaultNetworkPolicy(this, 'network-policy', { namespace: p.namespace, podLabels: labels, ports: [VAULT_PORT] });
      for (const client of p.allowedClients) this.networkPolicy.allow(client);
      this.egress = addEgress(this, p.namespace, labels, p.apiServer);
    }
  }

  public get storage(): 'file' | 'raft' { return this.bound.kind; }
  public get podNames(): string[] { return this.bound.podNames; }
  public get podUrls(): string[] { return this.bound.podUrls; }
  public get serviceUrl(): string { return this.bound.serviceUrl; }
  public get clientServiceName(): string { return this.bound.clientServiceName; }
  public get raftClaim(): RaftClaim | undefined { return this.bound.raftClaim; }
  public get raftClusterAddr(): string | undefined { return this.bound.raftClusterAddr; }

  /** Lets a client reach Vault's API port (a construct that talks to Vault calls it); nothing when the policy is off. */
  public allowClient(client: VaultClient, by?: IConstruct): void {
    this.networkPolicy?.allow(client, by);
  }

  public enableTelemetry(): void {
    this.telemetry = true;
  }

  public expose(by: IConstruct, tlsEnd?: string, clientServiceAnnotations: Record<string, string> = {}): void {
    if (this.exposedBy) {
      invalid(`${by.constructor.name} vault`, this.node.path, `a Vault whose UI nothing exposes yet: ${this.exposedBy.path} does (expose it once)`);
    }
    this.exposedBy = { path: by.node.path, tlsEnd };
    const service = this.node.findAll().find((c): c is ApiObject => c instanceof ApiObject && c.kind === 'Service' && c.name === this.clientServiceName);
    for (const [key, value] of Object.entries(clientServiceAnnotations)) service!.metadata.addAnnotation(key, value);
  }
}

/**
 * Vault's two Services; returns the headless one. Both publish the pods while they are not ready: a sealed Vault is
 * not ready, and it is exactly then that the unseal job and an operator's port-forward must reach it.
 */
function addServices(scope: Construct, metadata: (name: string) => k8s.ObjectMeta, scheme: string, storage: BoundVaultStorage): k8s.KubeService {
  const selector = metadata(NAME).labels;
  const ports = [{ name: scheme, port: VAULT_PORT, targetPort: k8s.IntOrString.fromString(scheme) }];
  new k8s.KubeService(scope, 'service', { metadata: metadata(NAME), spec: { type: 'ClusterIP', selector, ports, publishNotReadyAddresses: true } });
  return new k8s.KubeService(scope, 'headless-service', {
    metadata: metadata(HEADLESS_SERVICE),
    spec: { clusterIp: 'None', selector, ports: [...ports, ...storage.peerPorts], publishNotReadyAddresses: true },
  });
}

/**
 * Vault's own egress: the API server for TokenReview (every Kubernetes-auth login) and, with Raft, service
 * registration; Raft's peers are vault-raft-peers'. Returns the destinations a client of Vault's egress uses.
 */
function addEgress(scope: Construct, namespace: string, labels: Record<string, string>, apiServer: ApiServerEndpoints): VaultEgress {
  const egress: VaultEgress = {
    dns: dnsDestination(),
    apiServer: apiServerDestination(apiServer),
    vaultApi: podsDestination(`Vault's pods on ${VAULT_PORT}`, namespace, labels, [VAULT_PORT]),
  };
  new EgressPolicy(scope, 'egress', {
    name: `${NAME}-egress`, namespace, podLabels: labels, description: 'Vault', destinations: [egress.dns, egress.apiServer], explain: true,
  });
  return egress;
}

/**
 * Every name a client or peer reaches Vault's listener by: each Service, and each pod through the headless Service,
 * in all the forms the cluster's DNS resolves (`<name>`, `.<namespace>`, `.svc`, `.svc.<domain>`); and the loopback
 * address the pod's own probe and CLI use.
 */
function vaultHosts(n: { namespace: string; clusterDomain: string }, services: string[], pods: string[]) {
  const forms = (host: string) => [host, `${host}.${n.namespace}`, `${host}.${n.namespace}.svc`, `${host}.${n.namespace}.svc.${n.clusterDomain}`];
  const hosts = [...new Set(services), ...pods.map((pod) => `${pod}.${HEADLESS_SERVICE}`)];
  return { dnsNames: hosts.flatMap(forms), ipAddresses: [LOOPBACK] };
}

/**
 * Vault's Prometheus metrics, when something scrapes them (VaultTelemetry): on the API listener without a token, and
 * without the host name in the metric names (`disable_hostname`), so they are the documented ones
 * (`vault_autopilot_healthy`, not `vault_<pod>_...`); kept 30 s, a scrape interval, after their last update.
 */
function telemetryConfig(enabled: boolean): { listener: string[]; tail: string[] } {
  if (!enabled) return { listener: [], tail: [] };
  return {
    listener: ['', '  telemetry {', '    unauthenticated_metrics_access = true', '  }'],
    tail: ['telemetry {', '  disable_hostname          = true', '  prometheus_retention_time = "30s"', '}', ''],
  };
}

const DATA_PATH = '/vault/data';
const CONFIG_MAP = 'vault-config';

/** The Namespace, at the strictest Pod Security level Vault's pod passes, protected from pruning. */
function addNamespace(scope: Construct, namespace: string, appArmorProfile?: string): void {
  // Every pod the project defines passes "restricted"; AppArmor "unconfined" is forbidden from "baseline" up.
  const level = appArmorProfile === 'unconfined' ? 'privileged' : 'restricted';
  new k8s.KubeNamespace(scope, 'namespace', {
    // Removing the namespace would remove the claim with it.
    metadata: { name: namespace, annotations: { ...KEEP_ANNOTATIONS }, labels: { 'pod-security.kubernetes.io/enforce': level, 'pod-security.kubernetes.io/warn': level } },
  });
}

/** Vault's ServiceAccount, which may review tokens: Vault's Kubernetes auth method reviews ESO's tokens with it. */
function addIdentity(scope: Construct, metadata: k8s.ObjectMeta): void {
  new k8s.KubeServiceAccount(scope, 'service-account', { metadata });
  new k8s.KubeClusterRoleBinding(scope, 'auth-delegator', {
    metadata: { name: 'vault-server-binding', labels: metadata.labels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
    subjects: [{ kind: 'ServiceAccount', name: metadata.name!, namespace: metadata.namespace }],
  });
}
