import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { invalid } from '../build/prop-error';
import { checkDnsSubdomain, checkInteger, checkQuantity } from './checks';
import { VAULT_PORT as API_PORT } from '../runtime/common/variables';
import {
  activeServiceUrl, addRaftObjects, CLAIM_TEMPLATE, CLUSTER_PORT, checkRaftAddresses, clusterAddr, hclSettings, ListenerTls, podNames,
  podUrls, raftAffinity, RAFT_CLAIM_LABELS, RaftClaim, raftConfig, raftEnv, RaftNames, RaftSettings, raftStatefulSetSpec,
} from './vault-raft';

// Where Vault keeps its data, as one object per mode: each supplies its configuration block, the pod's environment,
// ports and volumes, its StatefulSet fields and its own objects, so that VaultStack renders either without asking
// which one it has.

/**
 * Annotations that keep GitOps from ever deleting Vault's data: ArgoCD neither prunes the claim nor deletes it with
 * the Application, and Flux's garbage collection leaves it alone.
 */
export const KEEP_ANNOTATIONS: Readonly<Record<string, string>> = {
  'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false',
  'kustomize.toolkit.fluxcd.io/prune': 'disabled',
};

const STORAGE_CLASS = 'longhorn';
const STORAGE_SIZE = '10Gi';

/** What a storage mode is given by the VaultStack it serves. */
export interface VaultStorageContext {
  readonly names: RaftNames;
  /** What TLS (VaultStack's `tls`) adds to the listener and to each retry_join. */
  readonly tls: ListenerTls;
  /** The Service that reaches every pod, ready or not. */
  readonly serviceName: string;
  readonly publicUrl: string;
  readonly dataPath: string;
  readonly networkPolicy: boolean;
  /** The labels of Vault's pods and objects. */
  readonly labels: Readonly<Record<string, string>>;
  /** Metadata of an object of Vault's: its name, namespace and labels. */
  readonly metadata: (name: string) => k8s.ObjectMeta;
}

/** What VaultStack adds to a storage mode's configuration. */
export interface ConfigExtra {
  /** What ends TLS in front of Vault, when it is named. */
  readonly tlsEnd?: string;
  /** Lines inside the listener block, and top-level blocks after everything else (such as telemetry's). */
  readonly listener: readonly string[];
  readonly tail: readonly string[];
}

/** A storage mode bound to one VaultStack: everything it adds to Vault. */
export interface BoundVaultStorage {
  readonly kind: 'file' | 'raft';
  readonly podNames: string[];
  readonly podUrls: string[];
  /** The URL clients use, and its Service: the active node's with Raft. */
  readonly serviceUrl: string;
  readonly clientServiceName: string;
  readonly raftClaim?: RaftClaim;
  readonly raftClusterAddr?: string;
  /** Vault's configuration file, with what VaultStack adds to it. */
  config(extra: ConfigExtra): string;
  /** Vault's environment after VAULT_ADDR, its own api_addr (VAULT_API_ADDR) included. */
  readonly env: k8s.EnvVar[];
  readonly containerPorts: k8s.ContainerPort[];
  /** Where the container mounts the mode's volumes (`volumes`), beside the data, the configuration and the home. */
  readonly mounts: k8s.VolumeMount[];
  /** What the container does before it stops: with several pods, a pause while the Services drop it. */
  readonly lifecycle?: k8s.Lifecycle;
  /** The container's memory limit, unless VaultStack's `memoryLimit` says otherwise. */
  readonly memoryLimit?: string;
  /** More ports of the headless Service. */
  readonly peerPorts: k8s.ServicePort[];
  readonly volumes: k8s.Volume[];
  readonly statefulSetSpec: Partial<k8s.StatefulSetSpec>;
  readonly affinity?: k8s.Affinity;
  /** Adds the objects that hold the data, before Vault's Services; returns the claim when there is one. */
  addData(scope: Construct): k8s.KubePersistentVolumeClaim | undefined;
  /** Adds the mode's other objects, after the Services; `rendered` are the headless Service and the StatefulSet. */
  addObjects(scope: Construct): void;
  /** Checks the mode's addresses against what was rendered. */
  check(rendered: { headlessService: any; statefulSet: any }): void;
}

export interface FileStorageProps {
  /**
   * The name of the claim that holds Vault's data. On a running install this must be the existing claim's name: a new
   * name is a new, empty volume (the old claim stays, protected from pruning, but Vault starts uninitialized).
   * Whatever the name, GitOps never prunes or deletes the claim.
   * @default 'vault-data'
   */
  readonly claimName?: string;
  /**
   * The storage class of the claim. On a running install this must be the class it has: a claim's class can never change.
   * @default 'longhorn'
   */
  readonly storageClassName?: string;
  /**
   * The size of the claim. On a running install this must equal its current size, or be larger to grow it (Longhorn
   * expands online). A claim can never shrink, so a smaller value fails at apply time.
   * @default '10Gi'
   */
  readonly storageSize?: string;
}

export interface RaftStorageProps {
  /**
   * The number of Vault pods: odd, so that a majority exists (3 tolerates one pod down, 5 two).
   * @default 3
   */
  readonly replicas?: number;
  /**
   * Allow one replica, which has Raft's machinery and no redundancy (a lab, or the first step of a migration).
   * @default false
   */
  readonly allowSingleRaftNode?: boolean;
  /**
   * How the pods spread over nodes: `required` (no two Vault pods on one node: a node's loss takes one pod) or
   * `preferred` (a lab with fewer nodes than replicas).
   * @default 'required'
   */
  readonly podAntiAffinity?: 'required' | 'preferred';
  /**
   * The storage class of each pod's claim (`data-vault-N`), fixed once: the StatefulSet's claim template is immutable.
   * @default 'longhorn'
   */
  readonly storageClassName?: string;
  /**
   * The size of each pod's claim, fixed once like the class.
   * @default '10Gi'
   */
  readonly storageSize?: string;
}

/** Where Vault keeps its data: `VaultStorage.file()` (one pod on one claim) or `VaultStorage.raft()` (a claim per pod). */
export abstract class VaultStorage {
  /** One pod on one claim, with Vault's file backend: the data is the claim, backed up by VaultBackup. */
  public static file(props: FileStorageProps = {}): VaultStorage {
    return new FileStorage(props);
  }

  /**
   * Integrated storage (Raft) replicated over `replicas` pods, each with its own claim. A running install cannot
   * switch by changing this: see the migration runbook (examples/ha-raft/README.md).
   */
  public static raft(props: RaftStorageProps = {}): VaultStorage {
    return new RaftStorage(props);
  }

  /** The mode's name. */
  public abstract readonly kind: 'file' | 'raft';
  /** The number of Vault pods. */
  public abstract readonly replicas: number;

  /** Binds the mode to the VaultStack that renders it. */
  public abstract bind(context: VaultStorageContext): BoundVaultStorage;
}

class FileStorage extends VaultStorage {
  public readonly kind = 'file';
  public readonly replicas = 1;
  private readonly claimName: string;
  private readonly storageClassName: string;
  private readonly storageSize: string;

  constructor(props: FileStorageProps) {
    super();
    this.claimName = checkDnsSubdomain('VaultStorage.file claimName', props.claimName ?? 'vault-data');
    this.storageClassName = checkDnsSubdomain('VaultStorage.file storageClassName', props.storageClassName ?? STORAGE_CLASS);
    this.storageSize = checkQuantity('VaultStorage.file storageSize', props.storageSize ?? STORAGE_SIZE);
  }

  public bind(c: VaultStorageContext): BoundVaultStorage {
    const { namespace, clusterDomain } = c.names;
    const serviceUrl = `${c.names.scheme}://${c.serviceName}.${namespace}.svc.${clusterDomain}:${API_PORT}`;
    return {
      kind: 'file',
      podNames: podNames(c.names),
      podUrls: podUrls(c.names),
      serviceUrl,
      clientServiceName: c.serviceName,
      config: (extra) => [
        'ui = true',
        'disable_mlock = true',
        `api_addr = "${c.publicUrl}"`,
        '',
        ...(c.tls.comment ?? [`# TLS ends at ${extra.tlsEnd ?? 'the Ingress or Gateway in front of Vault'}; inside the cluster Vault speaks plain HTTP.`]),
        'listener "tcp" {',
        ...hclSettings('  ', [['address', `"[::]:${API_PORT}"`], ...c.tls.settings]),
        ...extra.listener,
        '}',
        '',
        'storage "file" {',
        `  path = "${c.dataPath}"`,
        '}',
        '',
        ...extra.tail,
      ].join('\n'),
      // The one pod's address is the public host's: a standby's redirect never happens.
      env: [{ name: 'VAULT_API_ADDR', value: c.publicUrl }],
      containerPorts: [],
      mounts: [],
      peerPorts: [],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: this.claimName } }],
      statefulSetSpec: {},
      addData: (scope) => new k8s.KubePersistentVolumeClaim(scope, 'data', {
        metadata: { ...c.metadata(this.claimName), annotations: { ...KEEP_ANNOTATIONS } },
        spec: {
          accessModes: ['ReadWriteOnce'],
          storageClassName: this.storageClassName,
          resources: { requests: { storage: k8s.Quantity.fromString(this.storageSize) } },
        },
      }),
      addObjects: () => undefined,
      check: () => undefined,
    };
  }
}

class RaftStorage extends VaultStorage {
  public readonly kind = 'raft';
  public readonly replicas: number;
  private readonly settings: RaftSettings;
  private readonly storageClassName: string;
  private readonly storageSize: string;

  constructor(props: RaftStorageProps) {
    super();
    const replicas = checkInteger('VaultStorage.raft replicas', props.replicas ?? 3, 1, 7);
    if (replicas % 2 === 0) {
      invalid('VaultStorage.raft replicas', replicas, `an odd number: ${replicas} pods tolerate no more failures than ${replicas - 1}, and a split into two halves loses the majority`);
    }
    if (replicas === 1 && props.allowSingleRaftNode !== true) {
      invalid('VaultStorage.raft replicas', 1, 'at least 3 (one Raft node has no redundancy), or allowSingleRaftNode: true to mean it');
    }
    const podAntiAffinity = props.podAntiAffinity ?? 'required';
    if (podAntiAffinity !== 'required' && podAntiAffinity !== 'preferred') invalid('VaultStorage.raft podAntiAffinity', podAntiAffinity, '"required" or "preferred"');
    this.replicas = replicas;
    this.settings = { replicas, podAntiAffinity };
    this.storageClassName = checkDnsSubdomain('VaultStorage.raft storageClassName', props.storageClassName ?? STORAGE_CLASS);
    this.storageSize = checkQuantity('VaultStorage.raft storageSize', props.storageSize ?? STORAGE_SIZE);
  }

  public bind(c: VaultStorageContext): BoundVaultStorage {
    const names = { ...c.names, replicas: this.replicas };
    const pods = podNames(names);
    const claim = { storageClassName: this.storageClassName, storageSize: this.storageSize };
    const config = (extra: ConfigExtra) => raftConfig(names, c.dataPath, c.tls, extra.listener, extra.tail);
    return {
      kind: 'raft',
      podNames: pods,
      podUrls: podUrls(names),
      serviceUrl: activeServiceUrl(names),
      clientServiceName: names.activeService,
      raftClaim: { name: `${CLAIM_TEMPLATE}-${pods[0]}`, ...claim, labels: RAFT_CLAIM_LABELS },
      raftClusterAddr: clusterAddr(names, pods[0]),
      config,
      env: raftEnv(names),
      containerPorts: [{ name: 'https-internal', containerPort: CLUSTER_PORT, protocol: 'TCP' }],
      // A restore stages the upload with os.CreateTemp("", "snapshot") (raft-snapshot), i.e. in /tmp, on a read-only
      // root: a writable volume there, sized for the largest snapshot, which never exceeds the data it is taken of.
      mounts: [{ name: 'tmp', mountPath: '/tmp' }],
      // The Services drop a terminating pod asynchronously: a pause shorter than the grace period (10 s), as vault-helm.
      lifecycle: { preStop: { exec: { command: ['/bin/sh', '-c', 'sleep 5'] } } },
      // Raft keeps its log and the FSM's indexes in memory beside BoltDB's mapped file (page cache, which the kernel
      // reclaims first); a homelab's few MB of data run in a few hundred MB. The restore's temp file is on disk (/tmp).
      memoryLimit: '1Gi',
      peerPorts: [{ name: 'https-internal', port: CLUSTER_PORT, targetPort: k8s.IntOrString.fromString('https-internal') }],
      // "data" is each pod's own claim, from volumeClaimTemplates.
      volumes: [{ name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString(this.storageSize) } }],
      statefulSetSpec: raftStatefulSetSpec(names, claim),
      affinity: raftAffinity(this.settings, { ...c.labels }),
      addData: () => undefined,
      addObjects: (scope) => addRaftObjects(scope, names, { ...c.labels }, c.metadata, c.networkPolicy),
      check: (rendered) => checkRaftAddresses(config({ listener: [], tail: [] }), rendered, names.clusterDomain),
    };
  }
}
