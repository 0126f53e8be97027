import { IConstruct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { VaultEgress } from './egress-policy';
import { VaultClient } from './vault-network-policy';
import { RaftClaim } from './vault-raft';

/**
 * What the constructs around Vault need of it (VaultStack implements it, and shows nothing more): where it runs, how
 * it is reached, what holds its data, and the doors that let a client through its NetworkPolicy and the UI out.
 */
export interface IVault extends IConstruct {
  /** The namespace of Vault's pods. */
  readonly namespace: string;
  /** The public host name of the UI and API. */
  readonly host: string;
  /** The port of Vault's API, on its pods and Services. */
  readonly port: number;
  /** How Vault's API listener speaks: `https` with TLS (VaultTls.certManager), `http` without (VaultTls.none). */
  readonly scheme: 'http' | 'https';
  /**
   * What a client needs to verify Vault's certificate; absent when Vault speaks plain HTTP. The CA is a Secret of
   * Vault's namespace, so a pod that mounts it runs there.
   */
  readonly tls?: VaultClientTls;
  /**
   * Vault's in-cluster URL, reaching its pods sealed or not, such as `https://vault.security.svc.cluster.local:8200`;
   * with Raft, the active node's Service (`vault-active`).
   */
  readonly serviceUrl: string;
  /** The Service clients reach Vault through: the active node's with Raft. */
  readonly clientServiceName: string;
  /** The name of Vault's StatefulSet. */
  readonly statefulSetName: string;
  /** The labels of Vault's pods, which its own objects carry too. */
  readonly labels: Readonly<Record<string, string>>;
  /** Vault's image: a job that runs Vault's own commands (a migration) uses the same. */
  readonly image: string;
  /** Where Vault keeps its data: one pod on file storage, or several pods on Raft. */
  readonly storage: 'file' | 'raft';
  /** The names of Vault's pods, pod 0 first. */
  readonly podNames: string[];
  /** Each pod's URL through the headless Service, which publishes sealed pods, in `podNames` order. */
  readonly podUrls: string[];
  /**
   * The claim that holds Vault's data, with file storage; its labels may be added to (Longhorn's recurring jobs select
   * by them). None with Raft, whose pods' claims come from the StatefulSet's template.
   */
  readonly claim?: k8s.KubePersistentVolumeClaim;
  /** With Raft, pod 0's claim as the template makes it, and its cluster address: a migration's destination. */
  readonly raftClaim?: RaftClaim;
  readonly raftClusterAddr?: string;
  /**
   * Lets a client reach Vault's API port; `by` is the construct whose objects the client is, after which the
   * NetworkPolicy is written when both are in one chart.
   */
  allowClient(client: VaultClient, by?: IConstruct): void;
  /**
   * Where a pod that talks to Vault may connect, for its egress NetworkPolicy (EgressPolicy): the cluster's DNS, the
   * API server and Vault's pods; none when Vault's NetworkPolicies are off (`networkPolicy: false`).
   */
  readonly egress?: VaultEgress;
  /** Serves Vault's Prometheus metrics on its API listener, without a token (for VaultTelemetry). */
  enableTelemetry(): void;
  /**
   * Records the construct that exposes the UI (one only; a second is refused). `tlsEnd`, when given, names what ends
   * TLS in front of Vault in its configuration's comment; `clientServiceAnnotations` are added to the Service the UI's
   * proxy forwards to (Traefik's Ingress provider reads a backend's scheme and servers transport there).
   */
  expose(by: IConstruct, tlsEnd?: string, clientServiceAnnotations?: Record<string, string>): void;
}

/** Vault's TLS as its clients see it (IVault `tls`). */
export interface VaultClientTls {
  /** The Secret, in Vault's namespace, holding the CA certificate under `caKey` (and Vault's own key: mount `caKey` only). */
  readonly caSecretName: string;
  /** The key of the CA certificate in `caSecretName`: `ca.crt`. */
  readonly caKey: string;
  /** The name a proxy verifies Vault's certificate against: the client Service's, such as `vault.security.svc`. */
  readonly serverName: string;
  /** The cert-manager Certificates of Vault's TLS (its CA's and its own), in Vault's namespace. */
  readonly certificateNames: string[];
  /** How long before its expiry cert-manager renews Vault's certificate, in seconds. */
  readonly renewBeforeSeconds: number;
}
