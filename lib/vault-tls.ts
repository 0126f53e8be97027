import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import {
  Certificate, CertificateSpecPrivateKeyAlgorithm, CertificateSpecPrivateKeyRotationPolicy, CertificateSpecUsages, Issuer,
} from '../imports/cert-manager.io';
import { invalid } from '../build/prop-error';
import { ENV } from '../runtime/common/variables';
import { addCertReloaderScript, certReloader, RELOADER_CONTAINER } from './cert-reloader';
import { checkPinnedImage } from './checks';
import { crdObjectAnnotations } from './gitops';
import { NODE_IMAGE } from './script-cron-job';
import { VaultClientTls } from './vault';
import { ListenerTls } from './vault-raft';

// TLS on Vault's own listener, as one object per mode (the storage's pattern): VaultTls.certManager() (the default) or
// VaultTls.none() (plain HTTP inside the cluster, TLS only at the UI's proxy). With cert-manager, everything converges
// in one sync of dist/vault, in no particular order: a self-signed Issuer issues the CA Certificate, a CA Issuer reads
// that Secret and issues Vault's Certificate, and Vault's pod starts once its Secret exists (the kubelet retries the
// mount). No sync wave: a wave makes ArgoCD wait for each earlier object's health, and a CA Issuer is Degraded
// ("secret not found") for the moment before its CA is issued, which fails a sync that waits on it.

export interface CertManagerTlsProps {
  /**
   * How long Vault's certificate is valid (cert-manager's `duration`), in hours, minutes and seconds such as '2160h'.
   * @default '2160h' (90 days)
   */
  readonly duration?: string;
  /**
   * How long before its expiry cert-manager renews Vault's certificate (`renewBefore`); the sidecar then has Vault
   * reload it. The expiry alert fires when half of this is left: the renewal has failed for that long.
   * @default '720h' (30 days)
   */
  readonly renewBefore?: string;
  /**
   * How long the CA is valid. Its key is never rotated (`rotationPolicy: Never`), so its renewal keeps every client's
   * trust; it must outlive Vault's certificate.
   * @default '87600h' (10 years)
   */
  readonly caDuration?: string;
  /**
   * The Node.js image of the sidecar that has Vault reload its renewed certificate, pinned to a version tag or digest.
   * @default 'node:24.11.0-alpine3.22' (the CronJobs' image)
   */
  readonly reloaderImage?: string;
}

/** What a TLS mode is given by the VaultStack it serves. */
export interface VaultTlsContext {
  /** The StatefulSet's name, which the mode's objects' names start with. */
  readonly name: string;
  readonly namespace: string;
  /** Metadata of an object of Vault's: its name, namespace and labels. */
  readonly metadata: (name: string) => k8s.ObjectMeta;
  /** Vault's listener as the pod reaches it on its own loopback, `host:port` (its certificate names that address). */
  readonly listener: string;
}

/** The names and addresses clients and peers reach Vault's listener by: its certificate must name each one. */
export interface VaultHosts {
  readonly dnsNames: string[];
  readonly ipAddresses: string[];
}

/** A TLS mode bound to one VaultStack: what it adds to Vault's configuration, pod and objects. */
export interface BoundVaultTls {
  readonly listener: ListenerTls;
  /** What clients need to verify Vault, but the name they verify (the client Service's); absent with plain HTTP. */
  readonly client?: Omit<VaultClientTls, 'serverName'>;
  /** The Vault container's environment after VAULT_ADDR: the CA its CLI trusts. */
  readonly env: k8s.EnvVar[];
  readonly mounts: k8s.VolumeMount[];
  readonly volumes: k8s.Volume[];
  /** Containers beside Vault's, in a process namespace the pod shares when there is one. */
  readonly sidecars: k8s.Container[];
  /** Adds the mode's objects, Vault's certificate naming `hosts`. */
  addObjects(scope: Construct, hosts: VaultHosts): void;
}

/** How Vault's API listener speaks: `VaultTls.certManager()` (TLS, the default) or `VaultTls.none()` (plain HTTP). */
export abstract class VaultTls {
  /**
   * TLS with a certificate cert-manager issues from a CA of Vault's own (self-signed, in Vault's namespace), renewed
   * and reloaded without a human; every client verifies it. Needs cert-manager (1.18 or later) in the cluster.
   */
  public static certManager(props: CertManagerTlsProps = {}): VaultTls {
    return new CertManagerTls(props);
  }

  /**
   * Plain HTTP on Vault's listener: tokens, secrets and unseal shares cross the pod network in clear, and only the
   * UI's proxy ends TLS. For a running install before it moves to TLS (docs/vault.md, "TLS").
   */
  public static none(): VaultTls {
    return new NoTls();
  }

  /** How clients reach the listener. */
  public abstract readonly scheme: 'http' | 'https';

  /** Binds the mode to the VaultStack that renders it. */
  public abstract bind(context: VaultTlsContext): BoundVaultTls;
}

class NoTls extends VaultTls {
  public readonly scheme = 'http';

  public bind(): BoundVaultTls {
    return {
      listener: { scheme: 'http', settings: [['tls_disable', '1']], joinSettings: [] },
      env: [],
      mounts: [],
      volumes: [],
      sidecars: [],
      addObjects: () => undefined,
    };
  }
}

/** Where Vault's and the sidecar's containers mount the Secret of Vault's certificate. */
const CERT_DIR = '/vault/tls';
const CERT_VOLUME = 'tls';
const CA_KEY = 'ca.crt';

const GO_DURATION = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** A cert-manager duration (Go's, in h, m and s) of at least `minSeconds`; returns its seconds. */
function durationSeconds(prop: string, value: string, minSeconds: number): number {
  const m = typeof value === 'string' && value !== '' ? GO_DURATION.exec(value) : null;
  const seconds = m ? Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0) : NaN;
  if (!(seconds >= minSeconds)) {
    invalid(prop, value, `a duration in hours, minutes and seconds such as "2160h" or "1h30m", of at least ${minSeconds / 60} minutes`);
  }
  return seconds;
}

class CertManagerTls extends VaultTls {
  public readonly scheme = 'https';
  private readonly duration: string;
  private readonly renewBefore: string;
  private readonly renewBeforeSeconds: number;
  private readonly caDuration: string;
  private readonly reloaderImage: string;

  constructor(props: CertManagerTlsProps) {
    super();
    this.duration = props.duration ?? '2160h';
    this.renewBefore = props.renewBefore ?? '720h';
    this.caDuration = props.caDuration ?? '87600h';
    // cert-manager's own bounds: a certificate of an hour at least, renewed at least 5 minutes before it expires.
    const duration = durationSeconds('VaultTls.certManager duration', this.duration, 3600);
    this.renewBeforeSeconds = durationSeconds('VaultTls.certManager renewBefore', this.renewBefore, 300);
    if (this.renewBeforeSeconds >= duration) {
      invalid('VaultTls.certManager renewBefore', this.renewBefore, `less than duration (${this.duration}): cert-manager would renew it at once, again and again`);
    }
    if (durationSeconds('VaultTls.certManager caDuration', this.caDuration, 3600) <= duration) {
      invalid('VaultTls.certManager caDuration', this.caDuration, `longer than duration (${this.duration}): the CA issues no certificate that outlives it`);
    }
    this.reloaderImage = checkPinnedImage('VaultTls.certManager reloaderImage', props.reloaderImage ?? NODE_IMAGE);
  }

  public bind(c: VaultTlsContext): BoundVaultTls {
    const selfSigned = `${c.name}-selfsigned`;
    const ca = `${c.name}-ca`;
    const caIssuer = `${c.name}-ca-issuer`;
    const server = `${c.name}-server`;
    const serverSecret = `${c.name}-server-tls`;
    const reloader = certReloader({ configMapName: `${c.name}-cert-reloader`, image: this.reloaderImage, certVolume: CERT_VOLUME, certDir: CERT_DIR, listener: c.listener });
    const issuerRef = (name: string) => ({ group: 'cert-manager.io', kind: 'Issuer', name });
    const metadata = (name: string) => ({ ...c.metadata(name), annotations: crdObjectAnnotations() });
    return {
      listener: {
        scheme: 'https',
        settings: [['tls_cert_file', `"${CERT_DIR}/tls.crt"`], ['tls_key_file', `"${CERT_DIR}/tls.key"`]],
        joinSettings: [['leader_ca_cert_file', `"${CERT_DIR}/${CA_KEY}"`]],
        comment: [
          `# Vault serves TLS with the certificate cert-manager issues for it (Secret ${serverSecret}) from its own CA`,
          `# (${ca}); the ${RELOADER_CONTAINER} sidecar has it reload a renewed one (SIGHUP). Clients verify it with ${CA_KEY}.`,
        ],
      },
      client: {
        caSecretName: serverSecret,
        caKey: CA_KEY,
        certificateNames: [ca, server],
        renewBeforeSeconds: this.renewBeforeSeconds,
      },
      env: [{ name: ENV.vaultCaCert, value: `${CERT_DIR}/${CA_KEY}` }],
      mounts: [{ name: CERT_VOLUME, mountPath: CERT_DIR, readOnly: true }],
      volumes: [
        {
          name: CERT_VOLUME,
          // Readable by the pods' group (fsGroup), not by others; no subPath anywhere, so a renewal reaches the files.
          secret: { secretName: serverSecret, defaultMode: 0o440, items: ['tls.crt', 'tls.key', CA_KEY].map((key) => ({ key, path: key })) },
        },
        reloader.volume,
      ],
      sidecars: [reloader.container],
      addObjects: (scope, hosts) => {
        new Issuer(scope, 'tls-self-signed', { metadata: metadata(selfSigned), spec: { selfSigned: {} } });
        new Certificate(scope, 'tls-ca', {
          metadata: metadata(ca),
          spec: {
            isCa: true,
            commonName: `${ca}.${c.namespace}`,
            secretName: ca,
            duration: this.caDuration,
            // Since cert-manager 1.18 the default is Always: each renewal would make a new CA key, and every client
            // trusting the old CA certificate would refuse Vault's next certificate.
            privateKey: { algorithm: CertificateSpecPrivateKeyAlgorithm.ECDSA, size: 256, rotationPolicy: CertificateSpecPrivateKeyRotationPolicy.NEVER },
            issuerRef: issuerRef(selfSigned),
            revisionHistoryLimit: 1,
          },
        });
        new Issuer(scope, 'tls-ca-issuer', { metadata: metadata(caIssuer), spec: { ca: { secretName: ca } } });
        new Certificate(scope, 'tls-server', {
          metadata: metadata(server),
          spec: {
            secretName: serverSecret,
            duration: this.duration,
            renewBefore: this.renewBefore,
            dnsNames: hosts.dnsNames,
            ipAddresses: hosts.ipAddresses,
            usages: [CertificateSpecUsages.SERVER_AUTH, CertificateSpecUsages.DIGITAL_SIGNATURE],
            privateKey: { algorithm: CertificateSpecPrivateKeyAlgorithm.ECDSA, size: 256, rotationPolicy: CertificateSpecPrivateKeyRotationPolicy.ALWAYS },
            issuerRef: issuerRef(caIssuer),
            revisionHistoryLimit: 1,
          },
        });
        addCertReloaderScript(scope, c.metadata(`${c.name}-cert-reloader`));
      },
    };
  }
}
