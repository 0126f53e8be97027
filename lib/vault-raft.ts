import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { addSummary } from '../build/summary';
import { VAULT_PORT as API_PORT } from '../runtime/common/variables';

// Vault on integrated storage (Raft), as VaultStorage.raft() renders it: pure functions for the configuration and the
// objects. Decided from vault-helm's HA mode (values.yaml
// server.ha.raft, server-statefulset.yaml, server-headless-service.yaml, server-discovery-role.yaml,
// server-ha-active-service.yaml) and Vault's own source:
// - node_id is the pod's name (VAULT_RAFT_NODE_ID), cluster_addr the pod's DNS name on 8201 (VAULT_CLUSTER_ADDR,
//   always TLS with Vault's own certificates), one retry_join per pod through the headless Service, so any pod finds
//   the leader wherever it is; disable_mlock, which Vault 1.20 and later require with Raft. With TLS on the API port
//   each retry_join verifies the leader against the CA (leader_ca_cert_file): the leader's answer carries the cluster's
//   TLS keyring (vault/raft.go answerResp), which must not cross the network in clear or reach an impostor.
// - service_registration "kubernetes" labels each pod vault-active / vault-sealed / vault-initialized, through GET and
//   PATCH of its own pod (serviceregistration/kubernetes/client): the Role grants exactly those two verbs on the pods
//   by name, not vault-helm's list, watch and update of every pod.
// - The active Service selects vault-active "true": the UI's route and the ClusterSecretStore go to the active node
//   (in free Vault a standby forwards, but the active one answers without the extra hop and while forwarding breaks).
// - podManagementPolicy Parallel (as vault-helm): after a full restart every pod starts at once; OrderedReady would
//   hold vault-1 until vault-0 is ready, which needs it unsealed, and a vault-0 stuck on a dead node would keep the
//   others from ever starting, and quorum with them. It is immutable: chosen once.
// - updateStrategy OnDelete, always (as vault-helm): without MaxUnavailableStatefulSet (beta only from Kubernetes 1.35)
//   RollingUpdate with Parallel deletes the highest-ordinal outdated pod while another is sealed or Pending
//   (kubernetes#96218; Parallel ignores minReadySeconds: #112066, #119234), which can drop quorum; and Vault's upgrade
//   guide wants standbys first, the active node last. `npm run vault-rollout` replaces the pods in that order; the
//   alert VaultUpdatePending says when an update waits for it.
// - One claim per pod from volumeClaimTemplates (immutable), labelled with ONE fixed Longhorn group, so that
//   VaultBackup's jobs apply by group and a later change of them never touches the template.

export { checkRaftAddresses } from './vault-raft-check';

/** The checked Raft settings (VaultStorage.raft's). */
export interface RaftSettings {
  readonly replicas: number;
  readonly podAntiAffinity: 'required' | 'preferred';
}

export const CLUSTER_PORT = 8201;
/** The name of the pods' claims in volumeClaimTemplates: pod N's claim is `data-vault-N`. */
export const CLAIM_TEMPLATE = 'data';
/** The headless Service: its name is in every pod's DNS name, the StatefulSet's serviceName and each retry_join. */
export const HEADLESS_SERVICE = 'vault-internal';
/**
 * The one Longhorn recurring-job group on every Raft claim, fixed in the immutable template: VaultBackup's jobs join
 * it. Named for this project so that no other job joins it by chance.
 */
export const RAFT_BACKUP_GROUP = 'vault-raft-data';

/** The labels of every pod's claim (the template's): Longhorn copies the group's jobs to the volume. */
export const RAFT_CLAIM_LABELS: Readonly<Record<string, string>> = {
  'recurring-job.longhorn.io/source': 'enabled', [`recurring-job-group.longhorn.io/${RAFT_BACKUP_GROUP}`]: 'enabled',
};

/** Pod N's claim as the StatefulSet's template makes it, for a migration that creates pod 0's beforehand. */
export interface RaftClaim {
  readonly name: string;
  readonly storageClassName: string;
  readonly storageSize: string;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * What TLS adds to Vault's configuration (VaultTls binds it): the listener's settings and each retry_join's, as HCL
 * key and value pairs, and the comment above the listener when Vault serves TLS itself.
 */
export interface ListenerTls {
  readonly scheme: 'http' | 'https';
  readonly settings: ReadonlyArray<readonly [string, string]>;
  readonly joinSettings: ReadonlyArray<readonly [string, string]>;
  /** Absent with plain HTTP: the storage's comment then says where TLS ends. */
  readonly comment?: readonly string[];
}

/** `key = value` lines of an HCL block, indented, their `=` aligned. */
export function hclSettings(indent: string, settings: ReadonlyArray<readonly [string, string]>): string[] {
  const width = Math.max(...settings.map(([key]) => key.length));
  return settings.map(([key, value]) => `${indent}${key.padEnd(width)} = ${value}`);
}

/** The names and addresses of a Raft cluster, derived once from the same values everywhere. */
export interface RaftNames {
  /** How the API port speaks: every URL to it has this scheme. */
  readonly scheme: 'http' | 'https';
  readonly statefulSet: string;
  /** The ServiceAccount Vault's pods run as, which labels its own pod through service registration. */
  readonly serviceAccount: string;
  readonly headlessService: string;
  readonly activeService: string;
  readonly namespace: string;
  readonly clusterDomain: string;
  readonly replicas: number;
}

export const podNames = (n: RaftNames) => Array.from({ length: n.replicas }, (_, i) => `${n.statefulSet}-${i}`);
/** A pod's DNS name through the headless Service (which publishes sealed, not-ready pods). */
export const podHost = (n: RaftNames, pod: string) => `${pod}.${n.headlessService}.${n.namespace}.svc.${n.clusterDomain}`;
export const podUrls = (n: RaftNames) => podNames(n).map((pod) => `${n.scheme}://${podHost(n, pod)}:${API_PORT}`);
export const activeServiceUrl = (n: RaftNames) => `${n.scheme}://${n.activeService}.${n.namespace}.svc.${n.clusterDomain}:${API_PORT}`;
/** pod 0's cluster address, which a migration's destination must use exactly. */
export const clusterAddr = (n: RaftNames, pod: string) => `https://${podHost(n, pod)}:${CLUSTER_PORT}`;

/** Vault's configuration for Raft; node_id and cluster_addr come from each pod's environment. */
export function raftConfig(n: RaftNames, dataPath: string, tls: ListenerTls, listener: readonly string[] = [], tail: readonly string[] = []): string {
  const config = [
    'ui = true',
    // Required with Raft since Vault 1.20; the container may not lock memory anyway (no IPC_LOCK).
    'disable_mlock = true',
    '# api_addr is each pod\'s own address through the headless Service (VAULT_API_ADDR): a standby redirects the',
    '# always-forwarded paths (snapshots, their restore) to the leader there, not through the public host\'s ingress.',
    '',
    ...(tls.comment
      ? [...tls.comment, '# Raft and request forwarding use 8201, always TLS with certificates Vault makes itself.']
      : ['# TLS ends at the ingress; inside the cluster Vault speaks plain HTTP on 8200. Raft and request forwarding use',
        '# 8201, always TLS with certificates Vault makes itself.']),
    'listener "tcp" {',
    ...hclSettings('  ', [['address', `"[::]:${API_PORT}"`], ['cluster_address', `"[::]:${CLUSTER_PORT}"`], ...tls.settings]),
    ...listener,
    '}',
    '',
    '# node_id is the pod name (VAULT_RAFT_NODE_ID); each pod tries every peer until one is the leader.',
    'storage "raft" {',
    `  path = "${dataPath}"`,
    ...podUrls(n).flatMap((url) => ['', '  retry_join {', ...hclSettings('    ', [['leader_api_addr', `"${url}"`], ...tls.joinSettings]), '  }']),
    '}',
    '',
    '# Labels each pod vault-active, vault-sealed, vault-initialized (VAULT_K8S_POD_NAME, VAULT_K8S_NAMESPACE).',
    'service_registration "kubernetes" {}',
    '',
    ...tail,
  ].join('\n');
  return config;
}

/** The pod environment Raft needs, after which `$(VAULT_K8S_POD_NAME)` may be used. */
export function raftEnv(n: RaftNames): k8s.EnvVar[] {
  return [
    { name: 'VAULT_K8S_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'VAULT_K8S_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    { name: 'VAULT_RAFT_NODE_ID', value: '$(VAULT_K8S_POD_NAME)' },
    { name: 'VAULT_CLUSTER_ADDR', value: `https://$(VAULT_K8S_POD_NAME).${n.headlessService}.${n.namespace}.svc.${n.clusterDomain}:${CLUSTER_PORT}` },
    // The pod's own address, as retry_join reaches it: a standby's redirects to the leader stay inside the cluster.
    { name: 'VAULT_API_ADDR', value: `${n.scheme}://$(VAULT_K8S_POD_NAME).${n.headlessService}.${n.namespace}.svc.${n.clusterDomain}:${API_PORT}` },
  ];
}

/** The StatefulSet spec fields Raft sets; `labels` select Vault's pods. */
export function raftStatefulSetSpec(n: RaftNames, claim: { storageClassName: string; storageSize: string }) {
  return {
    replicas: n.replicas,
    podManagementPolicy: 'Parallel',
    // Ready is not caught up: a restarted standby is ready once unsealed, then still replays the leader's log. The
    // rolling update waits this long after ready before restarting the next pod, so two are never behind at once.
    minReadySeconds: 30,
    updateStrategy: { type: 'OnDelete' },
    // Deleting or scaling down the StatefulSet never deletes a pod's data.
    persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
    volumeClaimTemplates: [{
      metadata: {
        name: CLAIM_TEMPLATE,
        // Fixed for good (the template is immutable): the Longhorn group VaultBackup's jobs join.
        labels: { ...RAFT_CLAIM_LABELS },
      },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: claim.storageClassName,
        resources: { requests: { storage: k8s.Quantity.fromString(claim.storageSize) } },
      },
    }],
  };
}

/** Vault's pods on different nodes: required, or preferred for a lab with fewer nodes than pods. */
export function raftAffinity(s: RaftSettings, labels: Record<string, string>): k8s.Affinity {
  const term: k8s.PodAffinityTerm = { labelSelector: { matchLabels: { ...labels } }, topologyKey: 'kubernetes.io/hostname' };
  return {
    podAntiAffinity: s.podAntiAffinity === 'required'
      ? { requiredDuringSchedulingIgnoredDuringExecution: [term] }
      : { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }] },
  };
}

/**
 * The objects only Raft has: the active Service, the Role that lets Vault label its own pods, the PodDisruptionBudget
 * and the NetworkPolicy that lets the pods reach each other (retry_join on 8200, Raft and forwarding on 8201), both ways.
 */
export function addRaftObjects(scope: Construct, n: RaftNames, labels: Record<string, string>, metadata: (name: string) => k8s.ObjectMeta, networkPolicy: boolean): void {
  new k8s.KubeService(scope, 'active-service', {
    metadata: metadata(n.activeService),
    spec: {
      type: 'ClusterIP',
      selector: { ...labels, 'vault-active': 'true' },
      ports: [{ name: n.scheme, port: API_PORT, targetPort: k8s.IntOrString.fromNumber(API_PORT) }],
      // Not ready means not served: a leader that died keeps its vault-active label (nothing is left to remove it), so
      // only its readiness failing takes it out of the endpoints. A sealed pod is never active, so nothing is lost.
      publishNotReadyAddresses: false,
    },
  });
  new k8s.KubeRole(scope, 'service-registration-role', {
    metadata: metadata(`${n.statefulSet}-service-registration`),
    rules: [{ apiGroups: [''], resources: ['pods'], resourceNames: podNames(n), verbs: ['get', 'patch'] }],
  });
  new k8s.KubeRoleBinding(scope, 'service-registration-binding', {
    metadata: metadata(`${n.statefulSet}-service-registration`),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${n.statefulSet}-service-registration` },
    subjects: [{ kind: 'ServiceAccount', name: n.serviceAccount, namespace: n.namespace }],
  });
  const maxUnavailable = Math.floor((n.replicas - 1) / 2);
  // One pod: a budget of 0 would block every node drain; there is no majority to protect.
  if (maxUnavailable > 0) {
    new k8s.KubePodDisruptionBudget(scope, 'pdb', {
      metadata: metadata(n.statefulSet),
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(maxUnavailable), selector: { matchLabels: { ...labels } } },
    });
  }
  if (networkPolicy) {
    // Both ways: Vault's egress is restricted too (vault-egress), and a peer's connections are its egress.
    const ports = () => [API_PORT, CLUSTER_PORT].map((port) => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) }));
    const peers = () => [{ podSelector: { matchLabels: { ...labels } } }];
    new k8s.KubeNetworkPolicy(scope, 'raft-peers', {
      metadata: metadata(`${n.statefulSet}-raft-peers`),
      spec: {
        podSelector: { matchLabels: { ...labels } },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ ports: ports(), from: peers() }],
        egress: [{ ports: ports(), to: peers() }],
      },
    });
    addSummary(scope, () => [`Vault's ${n.replicas} pods (${n.namespace}) accept and open ports ${API_PORT}, ${CLUSTER_PORT} from and to each other (Raft)`]);
  }
}
