import { Construct, IConstruct } from 'constructs';
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
   * The prefix of the ClusterSecretStores' names: each app namespace gets a store of its own, `<storeName>-<namespace>`,
   * which ESO serves to that namespace only.
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
   * The prefix of the Vault roles, of the Kubernetes auth method, that ESO logs in as: each namespace's store logs in as
   * `<role>-<namespace>`, whose policy `npm run vault-setup` derives from that namespace's ExternalSecrets only.
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
}

/** An ExternalSecret that reads through the store, as the store and the recovery job need to know it. */
export interface StoreReader extends IConstruct {
  /** The ExternalSecret's name. */
  readonly name: string;
  /** Its namespace. */
  readonly namespace: string;
}

/** The fence of one app namespace: the ClusterSecretStore that only it may name, and the Vault role that store logs in as. */
export interface NamespaceStore {
  /** The ClusterSecretStore's name, `<storeName>-<namespace>`. */
  readonly name: string;
  /** The one namespace its conditions admit. */
  readonly namespace: string;
  /** The Vault role it logs in as, `<role>-<namespace>`. */
  readonly role: string;
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
  return {
    audience,
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

/** Per app (a construct tree): which EsoStore fences each namespace, and the store and role names taken. */
const fences = new WeakMap<IConstruct, { namespaces: Map<string, NamespaceStore>; names: Map<string, NamespaceStore> }>();

/**
 * The ClusterSecretStores through which External Secrets Operator reads Vault's KV store with Kubernetes auth, one per
 * app namespace, and the ServiceAccount it logs in as. Each store is made when the first AppSecret of its namespace
 * reads through the EsoStore: its conditions admit that namespace only, and it logs in as a Vault role of its own,
 * whose policy holds that namespace's paths only. So whoever may create an ExternalSecret in one namespace (ESO's chart
 * lets every editor of it) reads that namespace's secrets and no other's.
 */
export class EsoStore extends Construct {
  /** The prefix of the ClusterSecretStores' names. */
  public readonly storeName: string;
  /** The KV mount that AppSecret paths are relative to. */
  public readonly path: string;
  /** ESO's namespace. */
  public readonly namespace: string;
  /** The Vault URL the store reads from. */
  public readonly server: string;
  /** The ExternalSecrets that read through the store, in the order they were added. */
  public readonly readers: StoreReader[] = [];
  /** The stores, one per namespace of the readers, in the order their namespaces' first readers were added. */
  public readonly stores: NamespaceStore[] = [];
  private readonly readerListeners: Array<(reader: StoreReader) => void> = [];
  private readonly settings: ReturnType<typeof checkProps>;

  constructor(scope: Construct, id: string, props: EsoStoreProps) {
    super(scope, id);
    const checked = validating(this, () => checkProps(props));
    const { namespace, storeName, path, vault, serviceAccountName, esoRelease } = checked;
    vault.allowClient({
      description: 'ESO\'s controller', namespace, podLabels: { 'app.kubernetes.io/name': 'external-secrets', 'app.kubernetes.io/instance': esoRelease },
    });
    this.namespace = namespace;
    this.storeName = storeName;
    this.path = path;
    this.server = vault.serviceUrl;
    this.settings = checked;

    new k8s.KubeServiceAccount(this, 'service-account', {
      metadata: { name: serviceAccountName, namespace: this.namespace },
    });
  }

  /**
   * The store of `namespace`, for an ExternalSecret written without AppSecret: there is one only once an AppSecret of
   * that namespace reads through this EsoStore (a store for a namespace without one would read nothing).
   */
  public storeFor(namespace: string): NamespaceStore {
    const found = this.stores.find((s) => s.namespace === namespace);
    if (!found) {
      const known = this.stores.map((s) => s.namespace).join(', ') || 'none yet';
      invalid('EsoStore storeFor namespace', namespace, `a namespace with an AppSecret reading through this EsoStore (${known}): its store is made with the first`);
    }
    return found;
  }

  /**
   * Records an ExternalSecret that reads through this store (AppSecret calls it) and returns the store of its
   * namespace, made with the namespace's first reader.
   */
  public addReader(reader: StoreReader): NamespaceStore {
    const store = this.stores.find((s) => s.namespace === reader.namespace) ?? this.fence(reader);
    this.readers.push(reader);
    for (const listener of this.readerListeners) listener(reader);
    return store;
  }

  /** Calls `listener` for every reader, those already added and those added later. */
  public forEachReader(listener: (reader: StoreReader) => void): void {
    this.readers.forEach(listener);
    this.readerListeners.push(listener);
  }

  /** Makes the store of `namespace`, refusing a namespace, store name or role that another EsoStore of the app holds. */
  private fence(reader: StoreReader): NamespaceStore {
    const appNamespace = reader.namespace;
    const { kvVersion, authMountPath, role, audience, serviceAccountName, vault } = this.settings;
    const name = checkDnsSubdomain(`EsoStore storeName (for namespace "${appNamespace}")`, `${this.storeName}-${appNamespace}`);
    const fenced: NamespaceStore = { name, namespace: appNamespace, role: `${role}-${appNamespace}` };
    const taken = fences.get(this.node.root) ?? { namespaces: new Map<string, NamespaceStore>(), names: new Map<string, NamespaceStore>() };
    fences.set(this.node.root, taken);
    const twice = taken.namespaces.get(appNamespace);
    if (twice) {
      invalid(`AppSecret ${reader.name} namespace`, appNamespace, `a namespace fenced once, but another EsoStore's clustersecretstore `
        + `${twice.name} already admits it: read each namespace's secrets through one EsoStore`);
    }
    const clash = taken.names.get(`store ${fenced.name}`) ?? taken.names.get(`role ${fenced.role}`);
    if (clash) {
      invalid(`AppSecret ${reader.name} namespace`, appNamespace, `a namespace whose store ${fenced.name} and role ${fenced.role} `
        + `are free, but namespace ${clash.namespace}'s are ${clash.name} and ${clash.role}: give the EsoStores prefixes that cannot meet`);
    }
    taken.namespaces.set(appNamespace, fenced);
    taken.names.set(`store ${fenced.name}`, fenced);
    taken.names.set(`role ${fenced.role}`, fenced);
    this.stores.push(fenced);

    new ClusterSecretStore(this, `store-${appNamespace}`, {
      metadata: { name: fenced.name, annotations: crdObjectAnnotations(WAVES.store) },
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
                role: fenced.role,
                // The namespace must be written: without it ESO treats the store as "referent" and always reports it
                // Ready, which would hide a sealed Vault from the recovery job and the alerts.
                serviceAccountRef: { name: serviceAccountName, namespace: this.namespace, audiences: [audience] },
              },
            },
          },
        },
        // The one namespace: ESO refuses the store to an ExternalSecret anywhere else (shouldProcessSecret).
        conditions: [{ namespaces: [appNamespace] }],
      },
    });
    return fenced;
  }
}
