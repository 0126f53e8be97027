import { Chart, Testing } from 'cdk8s';
import { EsoRecoveryCron, EsoStore, UnsealCron, VaultNginxIngress, VaultSnapshotCron, VaultStack, VaultStackProps, VaultStorage, VaultTls } from '../../lib';
import { summaryLines } from '../../build/summary';
import { find, Manifest, schemaErrors } from '../support/manifests';
import { connects, egressAllows, ingressAllows, Pod, policiesOf, workloadPods } from '../support/network-policy';

// Egress: Vault's pods and each CronJob's connect only to what they need of the cluster's DNS, the API server (a site
// value, VaultStack's apiServer) and Vault's API, each derived from the constructs; read connection by connection.

/**
 * Vault on Raft in `vault`, the store and the recovery job in `eso`, the UI through ingress-nginx. Plain HTTP, so that
 * the recovery job may run in a namespace of its own (with TLS it runs beside Vault, whose CA Secret it mounts) and the
 * policies are read across namespaces.
 */
function build(props: Partial<VaultStackProps> = {}): { manifests: Manifest[]; summary: string[] } {
  const app = Testing.app();
  const chart = new Chart(app, 'test');
  const vault = new VaultStack(chart, 'vault', { host: 'vault.example.com', namespace: 'vault', storage: VaultStorage.raft(), tls: VaultTls.none(), ...props });
  new VaultNginxIngress(chart, 'ui', { vault, proxyNamespace: 'ingress' });
  new UnsealCron(chart, 'unseal', { vault });
  const store = new EsoStore(chart, 'store', { vault, namespace: 'eso' });
  new EsoRecoveryCron(chart, 'recovery', { vault, store, namespace: 'eso' });
  new VaultSnapshotCron(chart, 'snapshots', { vault });
  return { manifests: Testing.synth(chart) as Manifest[], summary: summaryLines(app) };
}

const { manifests, summary } = build();
const pods = workloadPods(manifests);
const pod = (what: string) => {
  const found = pods.get(what);
  if (!found) throw new Error(`no ${what} among ${[...pods.keys()].join(', ')}`);
  return found;
};
const vaultPod = pod('StatefulSet vault/vault');
const jobs = { unseal: pod('CronJob vault/vault-auto-unseal'), recovery: pod('CronJob eso/eso-recovery'), snapshot: pod('CronJob vault/vault-raft-snapshot') };
const dns: Pod = { namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns', 'pod-template-hash': 'abc' } };
const apiServer = { ip: '192.168.1.10' };
const TCP = (port: number) => ({ port, protocol: 'TCP' as const });

test('every pod the project runs is isolated for egress, each by a policy of its own beside it', () => {
  for (const [what, p] of pods) {
    const policies = policiesOf(manifests, p, 'Egress').map((m) => m.metadata.name).filter((name) => name !== 'vault-raft-peers');
    expect({ what, policies }).toEqual({ what, policies: [`${what.split('/')[1]}-egress`] });
  }
  expect(schemaErrors(manifests)).toEqual([]);
});

test('DNS: the cluster DNS pods in kube-system, on 53 over UDP and TCP, for every pod; no other DNS server', () => {
  for (const p of [vaultPod, ...Object.values(jobs)]) {
    expect(egressAllows(manifests, p, dns, { port: 53, protocol: 'UDP' })).toBe(true);
    expect(egressAllows(manifests, p, dns, TCP(53))).toBe(true);
    expect(egressAllows(manifests, p, { ...dns, namespace: 'default' }, { port: 53, protocol: 'UDP' })).toBe(false);
    expect(egressAllows(manifests, p, { ip: '8.8.8.8' }, { port: 53, protocol: 'UDP' })).toBe(false);
  }
});

test('the API server, by the default\'s private ranges on 443 and 6443: Vault (TokenReview, service registration) and the recovery job only', () => {
  for (const p of [vaultPod, jobs.recovery]) {
    expect(egressAllows(manifests, p, apiServer, TCP(6443))).toBe(true);
    expect(egressAllows(manifests, p, { ip: '10.0.0.1' }, TCP(443))).toBe(true);
    expect(egressAllows(manifests, p, apiServer, TCP(22))).toBe(false);
    expect(egressAllows(manifests, p, { ip: '1.1.1.1' }, TCP(443))).toBe(false);
  }
  // The shares come from a mounted Secret, and the snapshot job's token is reviewed by Vault, not by the job.
  for (const p of [jobs.unseal, jobs.snapshot]) expect(egressAllows(manifests, p, apiServer, TCP(6443))).toBe(false);
});

test('the site\'s apiServer replaces the default, in Vault\'s policy and the recovery job\'s', () => {
  const { manifests: own, summary: lines } = build({ apiServer: { cidrs: ['192.168.1.10/32', '192.168.1.11/32'], ports: [6443] } });
  const at = (p: Pod, ip: string, port: number) => egressAllows(own, p, { ip }, TCP(port));
  const vaultThere = workloadPods(own).get('StatefulSet vault/vault')!;
  const recoveryThere = workloadPods(own).get('CronJob eso/eso-recovery')!;
  for (const p of [vaultThere, recoveryThere]) {
    expect([at(p, '192.168.1.10', 6443), at(p, '192.168.1.11', 6443), at(p, '192.168.1.12', 6443), at(p, '192.168.1.10', 443)]).toEqual([true, true, false, false]);
  }
  expect(find(own, 'NetworkPolicy', 'vault-egress').spec.egress[1]).toEqual({
    to: [{ ipBlock: { cidr: '192.168.1.10/32' } }, { ipBlock: { cidr: '192.168.1.11/32' } }], ports: [{ protocol: 'TCP', port: 6443 }],
  });
  expect(lines).toContain('  the API server: 192.168.1.10/32, 192.168.1.11/32, port 6443');
});

test('Vault: each CronJob reaches its API port, through both ends\' policies; no other port, no other pod', () => {
  for (const p of Object.values(jobs)) {
    expect(connects(manifests, p, vaultPod, TCP(8200))).toBe(true);
    expect(connects(manifests, p, vaultPod, TCP(8201))).toBe(false);
    expect(egressAllows(manifests, p, { namespace: 'vault', labels: { 'app.kubernetes.io/name': 'other' } }, TCP(8200))).toBe(false);
    expect(egressAllows(manifests, p, { ...vaultPod, namespace: 'eso' }, TCP(8200))).toBe(false);
  }
});

test('Raft: Vault\'s pods reach each other on 8200 and 8201, and nothing else of the cluster\'s pods', () => {
  expect(connects(manifests, vaultPod, vaultPod, TCP(8200))).toBe(true);
  expect(connects(manifests, vaultPod, vaultPod, TCP(8201))).toBe(true);
  expect(egressAllows(manifests, vaultPod, jobs.recovery, TCP(8200))).toBe(false);
  expect(egressAllows(manifests, vaultPod, { namespace: 'ingress', labels: { 'app.kubernetes.io/name': 'ingress-nginx', 'app.kubernetes.io/component': 'controller' } }, TCP(443))).toBe(false);
});

test('Vault admits the UI\'s controller pods, not the rest of their namespace', () => {
  const controller = { namespace: 'ingress', labels: { 'app.kubernetes.io/name': 'ingress-nginx', 'app.kubernetes.io/instance': 'x', 'app.kubernetes.io/component': 'controller' } };
  expect(ingressAllows(manifests, vaultPod, controller, TCP(8200))).toBe(true);
  expect(ingressAllows(manifests, vaultPod, { ...controller, labels: { ...controller.labels, 'app.kubernetes.io/component': 'admission-webhook' } }, TCP(8200))).toBe(false);
  expect(ingressAllows(manifests, vaultPod, { namespace: 'ingress', labels: {} }, TCP(8200))).toBe(false);
});

test('the synth summary says where each pod connects, and what DNS and the API server are', () => {
  expect(summary.filter((l) => /connects only to|^ {2}(DNS|the API server):/.test(l))).toEqual([
    'Vault (vault) connects only to: DNS; the API server',
    '  DNS: pods k8s-app=kube-dns in namespace kube-system, port 53',
    '  the API server: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7, ports 443, 6443',
    'UnsealCron vault-auto-unseal (vault) connects only to: DNS; Vault\'s pods on 8200',
    'EsoRecoveryCron eso-recovery (eso) connects only to: DNS; the API server; Vault\'s pods on 8200',
    'VaultSnapshotCron vault-raft-snapshot (vault) connects only to: DNS; Vault\'s pods on 8200',
  ]);
});

test('networkPolicy: false writes no NetworkPolicy at all, ingress or egress', () => {
  expect(build({ networkPolicy: false }).manifests.filter((m) => m.kind === 'NetworkPolicy')).toEqual([]);
});

test.each<[string, unknown, string]>([
  ['a CIDR that is no CIDR', { cidrs: ['192.168.1.10'], ports: [6443] }, 'invalid VaultStack apiServer cidrs: got "192.168.1.10", expected a CIDR block such as "192.168.1.0/24" or "fd00::/8"'],
  ['no CIDR', { cidrs: [], ports: [6443] }, 'invalid VaultStack apiServer cidrs: got [], expected at least one CIDR block, such as "192.168.1.10/32" (a k3s server node)'],
  ['no port', { cidrs: ['10.0.0.0/8'], ports: [] }, 'invalid VaultStack apiServer ports: got [], expected at least one port, such as 6443 (k3s, kubeadm) or 443'],
  ['a port out of range', { cidrs: ['10.0.0.0/8'], ports: [70000] }, 'invalid VaultStack apiServer ports: got 70000, expected a whole number from 1 to 65535'],
  ['a port as text', { cidrs: ['10.0.0.0/8'], ports: ['6443'] }, 'invalid VaultStack apiServer ports: got "6443", expected a whole number from 1 to 65535'],
  ['a list instead of the two fields', ['10.0.0.0/8'], 'invalid VaultStack apiServer: got ["10.0.0.0/8"], expected { cidrs: [CIDR blocks], ports: [port numbers] } (the API server\'s endpoints)'],
])('rejects %s, in one line', (_case, apiServer, message) => {
  let error = '';
  try {
    build({ apiServer: apiServer as VaultStackProps['apiServer'] });
  } catch (e) {
    error = (e as Error).message;
  }
  expect(error).toBe(`test/vault: ${message}`);
});
