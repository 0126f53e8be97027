import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { addSummary } from '../build/summary';
import { invalid } from '../build/prop-error';
import { checkCidr, checkInteger } from './checks';
import { PRIVATE_RANGES } from './ui-allowlist';

// Where the project's pods may connect: Vault's and each CronJob's egress NetworkPolicy lists only what that pod needs
// of the cluster's DNS, the Kubernetes API server and Vault's API, each derived from the constructs.

/**
 * The Kubernetes API server as a NetworkPolicy sees it: the addresses and ports of its endpoints, after the `kubernetes`
 * Service's DNAT, never the Service's ClusterIP (`kubectl -n default get endpointslice kubernetes` lists them). On k3s
 * and kubeadm they are the control-plane nodes' addresses on 6443; on most managed clusters an address on 443.
 */
export interface ApiServerEndpoints {
  /** CIDR blocks holding the endpoints' addresses, such as `192.168.1.10/32` for one k3s server node. */
  readonly cidrs: string[];
  /** The endpoints' ports, such as 6443. */
  readonly ports: number[];
}

/** Wherever the API server is in a homelab: the private ranges, on 443 and 6443; a site narrows it to its nodes. */
export const DEFAULT_API_SERVER: ApiServerEndpoints = { cidrs: [...PRIVATE_RANGES], ports: [443, 6443] };

/** The cluster's DNS: CoreDNS (or kube-dns) is labelled so in kube-system on k3s, kubeadm and the managed clusters. */
const CLUSTER_DNS = { namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' }, port: 53 } as const;

/** Checks ApiServerEndpoints in `prop`: CIDR blocks and ports, at least one of each. */
export function checkApiServer(prop: string, value: ApiServerEndpoints): ApiServerEndpoints {
  if (value === null || typeof value !== 'object' || !Array.isArray(value.cidrs) || !Array.isArray(value.ports)) {
    invalid(prop, value ?? null, '{ cidrs: [CIDR blocks], ports: [port numbers] } (the API server\'s endpoints)');
  }
  if (value.cidrs.length === 0) invalid(`${prop} cidrs`, value.cidrs, 'at least one CIDR block, such as "192.168.1.10/32" (a k3s server node)');
  if (value.ports.length === 0) invalid(`${prop} ports`, value.ports, 'at least one port, such as 6443 (k3s, kubeadm) or 443');
  return {
    cidrs: value.cidrs.map((cidr) => checkCidr(`${prop} cidrs`, cidr)),
    ports: value.ports.map((port) => checkInteger(`${prop} ports`, port, 1, 65535)),
  };
}

/** One place a pod may connect to: its peers and ports, and how the synth summary names it. */
export interface EgressDestination {
  /** Its name in the summary, such as "the API server". */
  readonly name: string;
  /** What it is, for the summary's legend, such as "10.0.0.0/8 on port 6443". */
  readonly detail: string;
  readonly to: k8s.NetworkPolicyPeer[];
  readonly ports: k8s.NetworkPolicyPort[];
}

const labelText = (labels: Record<string, string>) => Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
const portText = (ports: readonly number[]) => `port${ports.length > 1 ? 's' : ''} ${ports.join(', ')}`;
const tcp = (port: number): k8s.NetworkPolicyPort => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) });

/** Pods of one namespace chosen by their labels: never a whole namespace. */
export function podPeer(namespace: string, podLabels: Record<string, string>): k8s.NetworkPolicyPeer {
  return {
    // kubernetes.io/metadata.name is set on every namespace by the API server (1.22 and later).
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
    podSelector: { matchLabels: { ...podLabels } },
  };
}

/** The cluster's DNS pods on port 53, UDP and TCP (a large answer comes over TCP). */
export function dnsDestination(): EgressDestination {
  const { namespace, podLabels, port } = CLUSTER_DNS;
  return {
    name: 'DNS',
    detail: `pods ${labelText(podLabels)} in namespace ${namespace}, ${portText([port])}`,
    to: [podPeer(namespace, podLabels)],
    ports: [{ protocol: 'UDP', port: k8s.IntOrString.fromNumber(port) }, tcp(port)],
  };
}

/** The API server's endpoints. */
export function apiServerDestination(api: ApiServerEndpoints): EgressDestination {
  return {
    name: 'the API server',
    detail: `${api.cidrs.join(', ')}, ${portText(api.ports)}`,
    to: api.cidrs.map((cidr) => ({ ipBlock: { cidr } })),
    ports: api.ports.map(tcp),
  };
}

/** Pods of one namespace by their labels, on TCP ports. */
export function podsDestination(name: string, namespace: string, podLabels: Record<string, string>, ports: number[]): EgressDestination {
  return { name, detail: `pods ${labelText(podLabels)} in namespace ${namespace}, ${portText(ports)}`, to: [podPeer(namespace, podLabels)], ports: ports.map(tcp) };
}

/** Where a pod that talks to Vault may connect, when Vault's NetworkPolicies are on (IVault's `egress`). */
export interface VaultEgress {
  /** The cluster's DNS. */
  readonly dns: EgressDestination;
  /** The API server's endpoints (VaultStack's `apiServer`): for a pod that calls the Kubernetes API. */
  readonly apiServer: EgressDestination;
  /** Vault's pods, on its API port. */
  readonly vaultApi: EgressDestination;
}

export interface EgressPolicyProps {
  /** The NetworkPolicy's name. */
  readonly name: string;
  /** The namespace of the pods. */
  readonly namespace: string;
  /** The labels that select the pods. */
  readonly podLabels: Readonly<Record<string, string>>;
  /** The pods, for the synth summary, such as "EsoRecoveryCron eso-recovery". */
  readonly description: string;
  /** Where they may connect; nowhere else. */
  readonly destinations: EgressDestination[];
  /**
   * Whether the synth summary also says what each destination is (the first policy that names them: Vault's).
   * @default false
   */
  readonly explain?: boolean;
}

/**
 * An egress NetworkPolicy: the pods connect only to `destinations`, one rule each. NetworkPolicies add up, so another
 * policy that selects the same pods (the operator's own) may let them reach more.
 */
export class EgressPolicy extends Construct {
  constructor(scope: Construct, id: string, props: EgressPolicyProps) {
    super(scope, id);
    new k8s.KubeNetworkPolicy(this, 'policy', {
      metadata: { name: props.name, namespace: props.namespace, labels: { ...props.podLabels } },
      spec: {
        podSelector: { matchLabels: { ...props.podLabels } },
        policyTypes: ['Egress'],
        egress: props.destinations.map((d) => ({ to: d.to, ports: d.ports })),
      },
    });
    addSummary(this, () => [
      `${props.description} (${props.namespace}) connects only to: ${props.destinations.map((d) => d.name).join('; ')}`,
      ...(props.explain ? props.destinations.map((d) => `  ${d.name}: ${d.detail}`) : []),
    ]);
  }
}
