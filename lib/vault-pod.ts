import { k8s } from 'cdk8s-plus-28';
import { VAULT_PORT } from '../runtime/common/variables';
import { BoundVaultStorage } from './vault-storage';
import { BoundVaultTls } from './vault-tls';

// Vault's pod, as VaultStack's StatefulSet runs it: the official image started exactly once with its configuration,
// as uid 100 on a read-only root, ready only when unsealed; the storage mode adds its volumes, ports and environment,
// the TLS mode its certificate's volume and the sidecar that has Vault reload it.

const CONTAINER = 'vault';
const CONFIG_PATH = '/vault/config';
const HOME_PATH = '/home/vault';
/** The address the pod's own probe and CLI reach Vault at: Vault's certificate names it. */
export const LOOPBACK = '127.0.0.1';

export interface VaultPodOptions {
  readonly labels: Record<string, string>;
  readonly storage: BoundVaultStorage;
  readonly tls: BoundVaultTls;
  readonly serviceAccountName: string;
  readonly image: string;
  readonly appArmorProfile?: string;
  readonly cpuRequest: string;
  readonly memoryRequest: string;
  readonly memoryLimit?: string;
  /** The ConfigMap holding `vault.hcl`, and its checksum, which rolls the pod when it changes. */
  readonly configMap: string;
  readonly checksum: string;
  readonly dataPath: string;
}

export function vaultPodSpec(o: VaultPodOptions): k8s.PodTemplateSpec {
  const scheme = o.tls.listener.scheme;
  const containers = [CONTAINER, ...o.tls.sidecars.map((c) => c.name)];
  return {
    metadata: {
      labels: o.labels,
      annotations: {
        'checksum/config': o.checksum,
        // Kubernetes 1.28 has no securityContext.appArmorProfile field; the annotation works there and later.
        // The sidecar gets Vault's profile: AppArmor lets a process signal a peer of its own profile (containerd's
        // default profile: `signal peer=<itself>`), so a sidecar confined otherwise could not signal Vault.
        ...(o.appArmorProfile && Object.fromEntries(containers.map((name) => [`container.apparmor.security.beta.kubernetes.io/${name}`, o.appArmorProfile]))),
      },
    },
    spec: {
      ...(o.storage.affinity && { affinity: o.storage.affinity }),
      serviceAccountName: o.serviceAccountName,
      terminationGracePeriodSeconds: 10,
      // The Service named vault would otherwise inject VAULT_PORT and friends into Vault's own environment.
      enableServiceLinks: false,
      // The sidecar finds Vault's process in the pod's one process namespace and signals it (no capability: one uid).
      ...(o.tls.sidecars.length > 0 && { shareProcessNamespace: true }),
      securityContext: {
        runAsNonRoot: true, runAsUser: 100, runAsGroup: 1000, fsGroup: 1000,
        // The kubelet walks the whole data volume to set its group only when the volume's root is not already right.
        fsGroupChangePolicy: 'OnRootMismatch',
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [{
        name: CONTAINER,
        image: o.image,
        imagePullPolicy: 'IfNotPresent',
        // The image's entrypoint turns a first argument `server` into `vault server -config=/vault/config ...`, adding
        // the folder the ConfigMap is mounted at: naming the file too would load it twice, declare the listener twice,
        // and Vault would exit on the second bind. A first argument `vault` runs as given (as vault-helm starts
        // Vault), so the configuration is loaded exactly once.
        args: ['vault', 'server', `-config=${CONFIG_PATH}/vault.hcl`],
        env: [
          { name: 'SKIP_SETCAP', value: 'true' },
          { name: 'SKIP_CHOWN', value: 'true' },
          { name: 'HOME', value: HOME_PATH },
          { name: 'VAULT_ADDR', value: `${scheme}://${LOOPBACK}:${VAULT_PORT}` },
          ...o.tls.env,
          ...o.storage.env,
        ],
        ports: [{ name: scheme, containerPort: VAULT_PORT, protocol: 'TCP' }, ...o.storage.containerPorts],
        // 200 only when initialized and unsealed; 501 (uninitialized) and 503 (sealed) fail. No liveness probe: it
        // would restart a sealed Vault in a loop. With TLS the kubelet's HTTPS probe does not verify the certificate
        // (it never does): it asks whether Vault is unsealed; every client of Vault's API verifies it.
        readinessProbe: {
          httpGet: { path: '/v1/sys/health?standbyok=true', port: k8s.IntOrString.fromNumber(VAULT_PORT), scheme: scheme.toUpperCase() },
          initialDelaySeconds: 5,
          periodSeconds: 5,
          timeoutSeconds: 3,
          failureThreshold: 2,
        },
        resources: {
          requests: { cpu: k8s.Quantity.fromString(o.cpuRequest), memory: k8s.Quantity.fromString(o.memoryRequest) },
          ...(o.memoryLimit && { limits: { memory: k8s.Quantity.fromString(o.memoryLimit) } }),
        },
        ...(o.storage.lifecycle && { lifecycle: o.storage.lifecycle }),
        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
        volumeMounts: [
          { name: 'data', mountPath: o.dataPath },
          { name: 'config', mountPath: CONFIG_PATH, readOnly: true },
          { name: 'home', mountPath: HOME_PATH },
          ...o.storage.mounts,
          ...o.tls.mounts,
        ],
      }, ...o.tls.sidecars],
      volumes: [
        ...o.storage.volumes,
        { name: 'config', configMap: { name: o.configMap } },
        { name: 'home', emptyDir: { sizeLimit: k8s.Quantity.fromString('16Mi') } },
        ...o.tls.volumes,
      ],
    },
  };
}
