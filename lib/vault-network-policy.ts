import { Chart, Lazy } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { addSummary } from '../build/summary';
import { invalid } from '../build/prop-error';
import { checkCidr, checkDnsLabel, checkMetadataMap } from './checks';

/** A source allowed to reach Vault's API port: pods (by namespace and labels), a namespace, or an address block. */
export interface VaultClient {
  /** What it is, for the synth summary and the README, such as "ESO's controller". */
  readonly description: string;
  /**
   * The namespace of the pods.
   * @default - none; `cidr` must be given
   */
  readonly namespace?: string;
  /**
   * The labels that select the pods in `namespace`.
   * @default - every pod of `namespace`
   */
  readonly podLabels?: Record<string, string>;
  /**
   * An address block, for a client outside the pod network (an ingress controller on the host network).
   * @default - none; `namespace` must be given
   */
  readonly cidr?: string;
}

/** Checks a client, in `prop` of a construct; returns it with its fields checked. */
export function checkVaultClient(prop: string, client: VaultClient): VaultClient {
  if (client.description.trim() === '') invalid(`${prop} description`, client.description ?? null, 'what the client is, such as "the backup job"');
  if ((client.namespace === undefined) === (client.cidr === undefined)) {
    invalid(prop, client, 'either namespace (with podLabels, or every pod of it) or cidr');
  }
  if (client.cidr !== undefined && client.podLabels !== undefined) invalid(`${prop} podLabels`, client.podLabels, 'no podLabels with a cidr');
  return {
    description: client.description,
    ...(client.namespace !== undefined && { namespace: checkDnsLabel(`${prop} namespace`, client.namespace) }),
    ...(client.podLabels !== undefined && { podLabels: checkMetadataMap(`${prop} podLabels`, client.podLabels, true) }),
    ...(client.cidr !== undefined && { cidr: checkCidr(`${prop} cidr`, client.cidr) }),
  };
}

/** How the synth summary and the README name a client. */
export function describeClient(client: VaultClient): string {
  if (client.cidr !== undefined) return `addresses ${client.cidr} (${client.description})`;
  const labels = Object.entries(client.podLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  return `${labels ? `pods ${labels}` : 'every pod'} in namespace ${client.namespace} (${client.description})`;
}

function peer(client: VaultClient): k8s.NetworkPolicyPeer {
  if (client.cidr !== undefined) return { ipBlock: { cidr: client.cidr } };
  return {
    // kubernetes.io/metadata.name is set on every namespace by the API server (1.22 and later).
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': client.namespace! } },
    ...(client.podLabels && { podSelector: { matchLabels: { ...client.podLabels } } }),
  };
}

export interface VaultNetworkPolicyProps {
  /** The namespace of Vault's pods. */
  readonly namespace: string;
  /** The labels of Vault's pods. */
  readonly podLabels: Record<string, string>;
  /** The ports clients may reach. */
  readonly ports: number[];
}

/**
 * The NetworkPolicy `vault`: Vault's pods accept connections on their API port only from the clients added to it,
 * which the constructs that talk to Vault add themselves (derived from the app) and the operator adds by prop. Only
 * ingress is restricted; a client not added is cut off, so the synth summary lists them all.
 */
export class VaultNetworkPolicy extends Construct {
  /** The clients allowed, in the order they were added. */
  public readonly clients: VaultClient[] = [];

  constructor(scope: Construct, id: string, props: VaultNetworkPolicyProps) {
    super(scope, id);
    new k8s.KubeNetworkPolicy(this, 'policy', {
      metadata: { name: 'vault', namespace: props.namespace, labels: { ...props.podLabels } },
      spec: {
        podSelector: { matchLabels: { ...props.podLabels } },
        policyTypes: ['Ingress'],
        ingress: [{
          ports: props.ports.map((port) => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) })),
          from: Lazy.any({ produce: () => this.clients.map(peer) }),
        }],
      },
    });
    addSummary(this, () => [
      `Vault (${props.namespace}) accepts port ${props.ports.join(', ')} only from:`,
      ...this.clients.map((c) => `  ${describeClient(c)}`),
    ]);
  }

  /**
   * Allows a client; the same one twice counts once. When `by` (the construct whose objects the client is) is in the
   * policy's chart, the policy is written after its objects.
   */
  public allow(client: VaultClient, by?: IConstruct): void {
    const key = JSON.stringify(peer(client));
    if (!this.clients.some((c) => JSON.stringify(peer(c)) === key)) this.clients.push(client);
    if (by && Chart.of(by) === Chart.of(this)) this.node.addDependency(by);
  }
}
