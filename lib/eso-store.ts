import { Construct, IConstruct } from 'constructs';
import { Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { ClusterSecretStore, ClusterSecretStoreSpecProviderVaultCaProviderType, ClusterSecretStoreSpecProviderVaultVersion } from '../imports/external-secrets.io';
import { invalid, validating } from '../build/prop-error';
import { checkDnsLabel, checkDnsSubdomain } from './checks';
import { DEFAULTS } from '../runtime/common/variables';
import { crdObjectAnnotations, WAVES } from './gitops';
import { IVault } from './vault';
import { RECOVERY_DEFAULTS } from '../runtime/common/eso-recovery-variables';

export interface EsoStoreProps {
  /**
   * The namespace of External Secrets Operator, which holds the ServiceAccount ESO logs in to Vault with.
   * @default 'security'
   */
  readonly namespace?: string;

  /**
   * The name of the ClusterSecretStore that every AppSecret reads through.
   * @default 'k8s-secrets'
   */
  readonly storeName?: string;

  /**
   * The ServiceAccount whose token ESO presents to Vault's Kubernetes auth method.
   * @default 'eso-vault-auth'
   */
  readonly serviceAccountName?: string;

  /**
   * The Vault this store reads from: its Service URL becomes the store's server, so the two cannot drift, the store
   * trusts its CA when it serves TLS (`caProvider`), and ESO's controller is let through its NetworkPolicy.
   */
  readonly vault: IVault;

  /**
   * The mount path of Vault's KV secrets engine. AppSecret paths are relative to it.
   * @default 'secret'
   */
  readonly path?: string;

  /**
   * The version of the KV secrets engine at `path`.
   * @default 'v2'
   */
  readonly kvVersion?: 'v1' | 'v2';

  /**
   * The mount path of Vault's Kubernetes auth method.
   * @default 'kubernetes'
   */
  readonly authMountPath?: string;

  /**
   * The Vault role, of the Kubernetes auth method, that ESO logs in as.
   * @default 'eso-reader'
   */
  readonly role?: string;

  /**
   * The audience of the tokens ESO presents to Vault (`serviceAccountRef.audiences`). A token for this audience is
   * useless against the Kubernetes API, and `npm run vault-setup` makes the Vault role require it.
   * @default 'vault'
   */
  readonly audience?: string;

  /**
   * The Helm release of External Secrets Operator, in `namespace`: its controller's pods (labels
   * `app.kubernetes.io/name: external-secrets`, `app.kubernetes.io/instance: <release>`) are let through Vault's
   * NetworkPolicy.
   * @default 'external-secrets'
   */
  readonly esoRelease?: string;

  /**
   * Namespaces whose ExternalSecrets may use the store beyond those of the AppSecrets that read through it (which are
   * added by themselves): ExternalSecrets managed outside this project. Any other namespace is refused by ESO.
   * @default - none
   */
  readonly namespaces?: string[];
}

/** An ExternalSecret that reads through the store, as the store and the recovery job need to know it. */
export interface StoreReader extends IConstruct {
  /** The ExternalSecret's name. */
  readonly name: string;
  /** Its namespace. */
  readonly namespace: string;
}

const VAULT_PATH_SEGMENTS = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;

/** Checks a Vault mount or secret path: relative, no empty, "." or ".." segments. */
export function checkVaultPath(prop: string, value: string): string {
  const segments = typeof value === 'string' ? value.split('/') : [];
  if (!VAULT_PATH_SEGMENTS.test(value) || segments.some((s) => s === '.' || s === '..')) {
    invalid(prop, value, 'a relative Vault path such as "postgres-secret" or "apps/grafana" (no leading or trailing "/")');
  }
  return value;
}

function checkProps(props: EsoStoreProps) {
  const kvVersion = props.kvVersion ?? 'v2';
  if (kvVersion !== 'v1' && kvVersion !== 'v2') invalid('EsoStore kvVersion', kvVersion, '"v1" or "v2"');
  const role = props.role ?? 'eso-reader';
  if (typeof role !== 'string' || !/^[A-Za-z0-9_.@-]+$/.test(role)) invalid('EsoStore role', role, 'a Vault role name such as "eso-reader"');
  const audience = props.audience ?? 'vault';
  if (typeof audience !== 'string' || !/^[\x21-\x7e]{1,253}$/.test(audience)) invalid('EsoStore audience', audience, 'a token audience such as "vault" (printable, no spaces)');
  const namespaces = (props.namespaces ?? []).map((n) => checkDnsLabel('EsoStore namespaces', n));
  return {
    audience,
    namespaces,
    esoRelease: checkDnsLabel('EsoStore esoRelease', props.esoRelease ?? 'external-secrets'),
    namespace: checkDnsLabel('EsoStore namespace', props.namespace ?? DEFAULTS.namespace),
    storeName: checkDnsSubdomain('EsoStore storeName', props.storeName ?? RECOVERY_DEFAULTS.storeName),
    path: checkVaultPath('EsoStore path', props.path ?? 'secret'),
    vault: props.vault,
    serviceAccountName: checkDnsSubdomain('EsoStore serviceAccountName', props.serviceAccountName ?? 'eso-vault-auth'),
    kvVersion,
    authMountPath: checkVaultPath('EsoStore authMountPath', props.authMountPath ?? 'kubernetes'),
    role,
  };
}

/**
 * The ClusterSecretStore through which External Secrets Operator reads Vault's KV store with Kubernetes auth, and
 * the ServiceAccount it logs in as. The store serves only the namespaces of the AppSecrets that read through it (and
 * `namespaces`): without that, anyone who may create an ExternalSecret anywhere could copy any app's secret.
 */
export class EsoStore extends Construct {
  /** The ClusterSecretStore's name. */
  public readonly storeName: string;
  /** The KV mount that AppSecret paths are relative to. */
  public readonly path: string;
  /** ESO's namespace. */
  public readonly namespace: string;
  /** The Vault URL the store reads from. */
  public readonly server: string;
  /** The ExternalSecrets that read through the store, in the order they were added. */
  public readonly readers: StoreReader[] = [];
  private readonly readerListeners: Array<(reader: StoreReader) => void> = [];

  constructor(scope: Construct, id: string, props: EsoStoreProps) {
    super(scope, id);
    const {
      namespace, storeName, path, vault, serviceAccountName, kvVersion, authMountPath, role, audience, namespaces, esoRelease,
    } = validating(this, () => checkProps(props));
    vault.allowClient({
      description: 'ESO\'s controller', namespace, podLabels: { 'app.kubernetes.io/name': 'external-secrets', 'app.kubernetes.io/instance': esoRelease },
    });
    this.namespace = namespace;
    this.storeName = storeName;
    this.path = path;
    this.server = vault.serviceUrl;

    new k8s.KubeServiceAccount(this, 'service-account', {
      metadata: { name: serviceAccountName, namespace: this.namespace },
    });

    new ClusterSecretStore(this, 'store', {
      metadata: { name: this.storeName, annotations: crdObjectAnnotations(WAVES.store) },
      spec: {
        provider: {
          vault: {
            server: this.server,
            // ESO verifies Vault's certificate against this CA only (ca.crt of Vault's certificate's Secret).
            ...(vault.tls && {
              caProvider: {
                type: ClusterSecretStoreSpecProviderVaultCaProviderType.SECRET, name: vault.tls.caSecretName, key: vault.tls.caKey, namespace: vault.namespace,
              },
            }),
            path: this.path,
            version: kvVersion === 'v1' ? ClusterSecretStoreSpecProviderVaultVersion.V1 : ClusterSecretStoreSpecProviderVaultVersion.V2,
            auth: {
              kubernetes: {
                mountPath: authMountPath,
                role,
                // The namespace must be written: without it ESO treats the store as "referent" and always reports it
                // Ready, which would hide a sealed Vault from the recovery job.
                serviceAccountRef: { name: serviceAccountName, namespace: this.namespace, audiences: [audience] },
              },
            },
          },
        },
        // Derived when the app is synthesized, so an AppSecret in a new namespace needs no other edit. With no reader at
        // all the list is empty and ESO serves no namespace: closed, never open.
        conditions: [{
          namespaces: Lazy.any({ produce: () => [...new Set([...namespaces, ...this.readers.map((r) => r.namespace)])].sort() }),
        }],
      },
    });
  }

  /** Records an ExternalSecret that reads through this store (AppSecret calls it): the store then serves its namespace. */
  public addReader(reader: StoreReader): void {
    this.readers.push(reader);
    for (const listener of this.readerListeners) listener(reader);
  }

  /** Calls `listener` for every reader, those already added and those added later. */
  public forEachReader(listener: (reader: StoreReader) => void): void {
    this.readers.forEach(listener);
    this.readerListeners.push(listener);
  }
}
