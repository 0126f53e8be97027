import { BlockList, isIP } from 'net';
import { Manifest } from './manifests';

// NetworkPolicy's semantics (networking.k8s.io/v1, as the API's documentation states them), for reading policies
// connection by connection: a pod selected by a policy of a type is isolated in that direction and admits only what
// one rule of one such policy admits (policies add up); a rule admits a peer it lists on a port it lists (no `ports`:
// every port; no `from`/`to`: every peer); a peer is pods by `podSelector` in the policy's namespace, or in the
// namespaces `namespaceSelector` picks, or addresses by `ipBlock`. A connection needs the source's egress and the
// destination's ingress. Selectors here are matchLabels only: anything else fails the test rather than guessing.

/** A pod, as the policies see it: its namespace and labels, and an address when a peer is an address. */
export interface Pod { readonly namespace: string; readonly labels: Record<string, string>; readonly ip?: string }
/** The other end of an egress connection that is not a pod: an address. */
export interface Address { readonly ip: string }
export interface Port { readonly port: number; readonly protocol?: 'TCP' | 'UDP' }

function selects(selector: any, labels: Record<string, string>): boolean {
  const unsupported = Object.keys(selector ?? {}).filter((k) => k !== 'matchLabels');
  if (unsupported.length > 0) throw new Error(`selector with ${unsupported.join(', ')}: only matchLabels is read here`);
  return Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}

/** The namespace's labels as the API server sets them (1.22 and later): its name. */
const namespaceLabels = (namespace: string) => ({ 'kubernetes.io/metadata.name': namespace });

function peerAdmits(peer: any, policyNamespace: string, other: Pod | Address): boolean {
  if (peer.ipBlock) {
    if (!('ip' in other) || other.ip === undefined) return false;
    const block = new BlockList();
    const [address, prefix] = peer.ipBlock.cidr.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    block.addSubnet(address, Number(prefix), family);
    if ((peer.ipBlock.except ?? []).length > 0) throw new Error('ipBlock.except: not read here');
    return isIP(other.ip) === isIP(address) && block.check(other.ip, family);
  }
  if (!('namespace' in other)) return false;
  const inNamespace = peer.namespaceSelector ? selects(peer.namespaceSelector, namespaceLabels(other.namespace)) : other.namespace === policyNamespace;
  return inNamespace && (peer.podSelector === undefined || selects(peer.podSelector, other.labels));
}

const portAdmits = (ports: any[] | undefined, port: Port) => ports === undefined || ports.length === 0
  || ports.some((p) => (p.protocol ?? 'TCP') === (port.protocol ?? 'TCP') && (p.port === undefined || p.port === port.port));

/** The NetworkPolicies that select `pod` for `type`. */
export function policiesOf(manifests: Manifest[], pod: Pod, type: 'Ingress' | 'Egress'): Manifest[] {
  return manifests.filter((m) => m.kind === 'NetworkPolicy' && m.metadata.namespace === pod.namespace
    && (m.spec.policyTypes ?? ['Ingress']).includes(type) && selects(m.spec.podSelector, pod.labels));
}

/** Whether `pod` may open a connection to `to` on `port`, by its own egress policies. */
export function egressAllows(manifests: Manifest[], pod: Pod, to: Pod | Address, port: Port): boolean {
  const policies = policiesOf(manifests, pod, 'Egress');
  if (policies.length === 0) return true;
  return policies.some((p) => (p.spec.egress ?? []).some((rule: any) => portAdmits(rule.ports, port)
    && (rule.to === undefined || rule.to.some((peer: any) => peerAdmits(peer, p.metadata.namespace!, to)))));
}

/** Whether `pod` accepts a connection from `from` on `port`, by its own ingress policies. */
export function ingressAllows(manifests: Manifest[], pod: Pod, from: Pod | Address, port: Port): boolean {
  const policies = policiesOf(manifests, pod, 'Ingress');
  if (policies.length === 0) return true;
  return policies.some((p) => (p.spec.ingress ?? []).some((rule: any) => portAdmits(rule.ports, port)
    && (rule.from === undefined || rule.from.some((peer: any) => peerAdmits(peer, p.metadata.namespace!, from)))));
}

/** Whether a connection from pod `from` to pod `to` on `port` is let through at both ends. */
export function connects(manifests: Manifest[], from: Pod, to: Pod, port: Port): boolean {
  return egressAllows(manifests, from, to, port) && ingressAllows(manifests, to, from, port);
}

/** The pods each workload of `manifests` runs (CronJobs, StatefulSets, ...), by `Kind namespace/name`. */
export function workloadPods(manifests: Manifest[]): Map<string, Pod> {
  const pods = new Map<string, Pod>();
  for (const m of manifests) {
    const template = m.kind === 'CronJob' ? m.spec.jobTemplate.spec.template
      : ['StatefulSet', 'Deployment', 'DaemonSet', 'Job'].includes(m.kind) ? m.spec.template : undefined;
    if (template) pods.set(`${m.kind} ${m.metadata.namespace}/${m.metadata.name}`, { namespace: m.metadata.namespace!, labels: template.metadata.labels ?? {} });
  }
  return pods;
}

/** A peer as the synth summary names it: `pods k=v,... in namespace ns` or `addresses cidr`. */
export function describePeer(peer: any): string {
  if (peer.ipBlock) return `addresses ${peer.ipBlock.cidr}`;
  const labels = Object.entries(peer.podSelector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  return `pods ${labels} in namespace ${peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name']}`;
}
