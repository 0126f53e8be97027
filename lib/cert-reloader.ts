import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { RELOADER_ENV } from '../runtime/common/cert-reloader-variables';
import { bundleRuntime } from './runtime-bundle';

// The sidecar beside Vault that has it reload its renewed certificate (the script of runtime/cert-reloader.ts): Vault
// re-reads its listener's files only on SIGHUP. It needs no pods/exec (which could write /vault/data), no token and no
// network beyond the pod's loopback, where it reads the certificate Vault serves (a NetworkPolicy does not apply to a
// pod's own loopback; nothing is sent past the handshake): the pod shares one process namespace, and the sidecar runs as Vault's own uid (the pod's runAsUser, the
// image's user `vault`), which may signal Vault's process without any capability, so the pod keeps the `restricted`
// Pod Security level. It mounts the Secret's folder, never a subPath: the kubelet swaps a Secret volume's files
// through its `..data` link, and a subPath mount would keep the first certificate for good.

export const RELOADER_CONTAINER = 'cert-reloader';
const SCRIPT_DIR = '/opt/cert-reloader';
const SCRIPT_FILE = 'cert-reloader.js';

export interface CertReloaderOptions {
  /** The ConfigMap that ships the bundled script, in Vault's namespace. */
  readonly configMapName: string;
  readonly image: string;
  /** The pod's volume of Vault's certificate, and where both containers mount it. */
  readonly certVolume: string;
  readonly certDir: string;
  /** Vault's listener on the pod's loopback, `host:port`: the certificate it serves must be the mounted one. */
  readonly listener: string;
}

/** The ConfigMap holding the bundled script. */
export function addCertReloaderScript(scope: Construct, metadata: k8s.ObjectMeta): void {
  new k8s.KubeConfigMap(scope, 'cert-reloader-script', { metadata, data: { [SCRIPT_FILE]: bundleRuntime('cert-reloader') } });
}

/** The sidecar container and the volume of its script. */
export function certReloader(o: CertReloaderOptions): { container: k8s.Container; volume: k8s.Volume } {
  return {
    container: {
      name: RELOADER_CONTAINER,
      image: o.image,
      imagePullPolicy: 'IfNotPresent',
      command: ['node', `${SCRIPT_DIR}/${SCRIPT_FILE}`],
      env: [{ name: RELOADER_ENV.certDir, value: o.certDir }, { name: RELOADER_ENV.listener, value: o.listener }],
      // An idle Node.js process that reads two small files every few seconds (and makes a TLS handshake when they change).
      resources: {
        requests: { cpu: k8s.Quantity.fromString('5m'), memory: k8s.Quantity.fromString('48Mi') },
        limits: { cpu: k8s.Quantity.fromString('50m'), memory: k8s.Quantity.fromString('96Mi') },
      },
      securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
      volumeMounts: [
        { name: o.certVolume, mountPath: o.certDir, readOnly: true },
        { name: RELOADER_CONTAINER, mountPath: SCRIPT_DIR, readOnly: true },
      ],
    },
    volume: { name: RELOADER_CONTAINER, configMap: { name: o.configMapName, defaultMode: 0o444 } },
  };
}
