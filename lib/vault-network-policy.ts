import { Chart, Lazy } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { addSummary } from '../build/summary';
import { invalid } from '../build/prop-error';
import { checkCidr, checkDnsLabel, checkMetadataMap } from './checks';
import { podPeer } from './egress-policy';

/** A source allowed to reach Vault's API port: pods (by namespace and labels), or an address block. */
export interface VaultClient {
  /** What it is, for the synth summary and the README, such as "ESO's controller". */
  readonly description: string;
  /**
   * The namespace of the pods.
   * @default - none; `cidr` must be given
   */
  readonly namespace?: string;
  /**
   * The labels that select the pods in `namespace`, at least one: a whole namespace is never admitted.
   * @default - none; required with `namespace`
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
    invalid(prop, client, 'either namespace with podLabels, or cidr');
  }
  if (client.cidr !== undefined && client.podLabels !== undefined) invalid(`${prop} podLabels`, client.podLabels, 'no podLabels with a cidr');
  if (client.namespace !== undefined && (client.podLabels === undefined || Object.keys(client.podLabels ?? {}).length === 0)) {
    invalid(`${prop} podLabels`, client.podLabels ?? null, `at least one label of the client's pods in namespace ${client.namespace}: a whole namespace is never admitted`);
  }
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
  return `pods ${labels} in namespace ${client.namespace} (${client.description})`;
}

function peer(client: VaultClient): k8s.NetworkPolicyPeer {
  return client.cidr !== undefined ? { ipBlock: { cidr: client.cidr } } : podPeer(client.namespace!, client.podLabels!);
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
 * which the constructs that talk to Vault add themselves (derived from the app) and the operator adds by prop. With no
 * client it has no ingress rule at all, which admits nothing (a rule without peers would admit every source). A client
 * not added is cut off, so the synth summary lists them all.
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
        ingress: Lazy.any({
          produce: () => (this.clients.length === 0 ? [] : [{
            ports: props.ports.map((port) => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) })),
            from: this.clients.map(peer),
          }]),
        }),
      },
    });
    addSummary(this, () => (this.clients.length === 0
      ? [`Vault (${props.namespace}) accepts port ${props.ports.join(', ')} from no client`]
      : [`Vault (${props.namespace}) accepts port ${props.ports.join(', ')} only from:`, ...this.clients.map((c) => `  ${describeClient(c)}`)]));
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
