import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { ClusterSecretStore, ClusterSecretStoreSpecProviderVaultVersion } from '../imports/external-secrets.io';
import {
  checkDnsLabel, checkDnsSubdomain, checkKnownProps, invalid, KnownProps, resolveVaultUrl, validating,
} from './validate';
import { crdObjectAnnotations, WAVES } from './gitops';
import { VaultStack } from './vault-stack';

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
   * The VaultStack this store reads from; its Service URL becomes the store's server, so the two cannot drift.
   * @default - none; the server is `server`
   */
  readonly vault?: VaultStack;

  /**
   * Vault's URL as ESO reaches it. Give either this or `vault`.
   * @default - `vault.serviceUrl` when `vault` is given, else 'http://vault.security.svc.cluster.local:8200'
   */
  readonly server?: string;

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

const KNOWN_PROPS: KnownProps<EsoStoreProps> = {
  namespace: true, storeName: true, serviceAccountName: true, vault: true, server: true, path: true, kvVersion: true,
  authMountPath: true, role: true,
};

function checkProps(props: EsoStoreProps) {
  checkKnownProps('EsoStore', props, KNOWN_PROPS);
  const kvVersion = props.kvVersion ?? 'v2';
  if (kvVersion !== 'v1' && kvVersion !== 'v2') invalid('EsoStore kvVersion', kvVersion, '"v1" or "v2"');
  const role = props.role ?? 'eso-reader';
  if (typeof role !== 'string' || !/^[A-Za-z0-9_.@-]+$/.test(role)) invalid('EsoStore role', role, 'a Vault role name such as "eso-reader"');
  return {
    namespace: checkDnsLabel('EsoStore namespace', props.namespace ?? 'security'),
    storeName: checkDnsSubdomain('EsoStore storeName', props.storeName ?? 'k8s-secrets'),
    path: checkVaultPath('EsoStore path', props.path ?? 'secret'),
    server: resolveVaultUrl('EsoStore server', props.vault, props.server),
    serviceAccountName: checkDnsSubdomain('EsoStore serviceAccountName', props.serviceAccountName ?? 'eso-vault-auth'),
    kvVersion,
    authMountPath: checkVaultPath('EsoStore authMountPath', props.authMountPath ?? 'kubernetes'),
    role,
  };
}

/**
 * The ClusterSecretStore through which External Secrets Operator reads Vault's KV store with Kubernetes auth, and
 * the ServiceAccount it logs in as.
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

  constructor(scope: Construct, id: string, props: EsoStoreProps = {}) {
    super(scope, id);
    const { namespace, storeName, path, server, serviceAccountName, kvVersion, authMountPath, role } = validating(this, () => checkProps(props));
    this.namespace = namespace;
    this.storeName = storeName;
    this.path = path;
    this.server = server;

    new k8s.KubeServiceAccount(this, 'service-account', {
      metadata: { name: serviceAccountName, namespace: this.namespace },
    });

    new ClusterSecretStore(this, 'store', {
      metadata: { name: this.storeName, annotations: crdObjectAnnotations(WAVES.store) },
      spec: {
        provider: {
          vault: {
            server: this.server,
            path: this.path,
            version: kvVersion === 'v1' ? ClusterSecretStoreSpecProviderVaultVersion.V1 : ClusterSecretStoreSpecProviderVaultVersion.V2,
            auth: {
              kubernetes: {
                mountPath: authMountPath,
                role,
                // The namespace must be written: without it ESO treats the store as "referent" and always reports it
                // Ready, which would hide a sealed Vault from the recovery job.
                serviceAccountRef: { name: serviceAccountName, namespace: this.namespace },
              },
            },
          },
        },
      },
    });
  }
}
