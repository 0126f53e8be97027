import { IConstruct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { invalid } from '../build/prop-error';
import { VaultClient } from './vault-network-policy';

/**
 * What the constructs around Vault need of it (VaultStack implements it): where it runs, how it is reached, what holds
 * its data, and a way to be let through its NetworkPolicy.
 */
export interface IVault extends IConstruct {
  /** The namespace of Vault's pods. */
  readonly namespace: string;
  /**
   * Vault's in-cluster URL, reaching its pods sealed or not, such as `http://vault.security.svc.cluster.local:8200`;
   * with Raft, the active node's Service (`vault-active`).
   */
  readonly serviceUrl: string;
  /** The name of Vault's StatefulSet. */
  readonly statefulSetName: string;
  /**
   * The claim that holds Vault's data; its labels may be added to (Longhorn's recurring jobs select by them). None
   * with Raft storage, whose pods' claims come from the StatefulSet's template.
   */
  readonly claim?: k8s.KubePersistentVolumeClaim;
  /** Where Vault keeps its data: one pod on file storage (absent: file), or several pods on Raft. */
  readonly storage?: 'file' | 'raft';
  /** Each pod's URL through the headless Service, which publishes sealed pods (with Raft: one per pod). */
  readonly podUrls?: string[];
  /** With Raft, the Service that selects the active node (`vault-active: "true"`). */
  readonly activeServiceName?: string;
  /** The public host name of the UI and API. */
  readonly host: string;
  /** The port of Vault's Services (plain HTTP). */
  readonly port: number;
  /** The Service clients reach Vault through: the active node's with Raft. */
  readonly clientServiceName: string;
  /** How the UI is exposed: by the VaultStack's own ingress-nginx Ingress, or ('none') by another construct. */
  readonly exposure: 'ingress-nginx' | 'none';
  /** Lets a client reach Vault's API port. */
  allowClient(client: VaultClient): void;
}

/** Checks at synthesis that `value` is a Vault construct (a name or URL in its place is refused), for `prop`. */
export function checkVault(prop: string, value: unknown): IVault {
  const v = value as Partial<IVault> | undefined;
  const ok = typeof v === 'object' && v !== null && typeof v.node === 'object' && typeof v.serviceUrl === 'string'
    && typeof v.namespace === 'string' && typeof v.allowClient === 'function';
  if (!ok) invalid(prop, value ?? null, 'the VaultStack (the construct, not its name or URL)');
  return v as IVault;
}
