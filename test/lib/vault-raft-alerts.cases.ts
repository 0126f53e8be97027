import { parser } from '@prometheus-io/lezer-promql';
import { EsoStore, UnsealCron, VaultAlerts, VaultStack, VaultStorage } from '../../lib';
import { find, synth } from '../support/manifests';

// The labels each metric carries, as kube-state-metrics v2.18+ documents them (docs/metrics/workload/statefulset-metrics.md,
// docs/metrics/discovery/endpointslice-metrics.md): its default collectors, where EndpointSlices replaced Endpoints.
const METRIC_LABELS: Record<string, string[]> = {
  kube_statefulset_replicas: ['namespace', 'statefulset'],
  kube_statefulset_status_replicas_ready: ['namespace', 'statefulset'],
  kube_statefulset_status_update_revision: ['namespace', 'statefulset', 'revision'],
  kube_statefulset_status_current_revision: ['namespace', 'statefulset', 'revision'],
  kube_endpointslice_info: ['namespace', 'endpointslice', 'addresstype'],
  kube_endpointslice_endpoints: ['namespace', 'endpointslice', 'address', 'ready', 'serving', 'terminating', 'hostname', 'targetref_kind', 'targetref_name', 'targetref_namespace', 'endpoint_nodename', 'endpoint_zone'],
};

function rules(storage: 'file' | 'raft'): any[] {
  const out = synth((chart) => {
    const vault = new VaultStack(chart, 'vault', { host: 'vault.example.com', networkPolicy: false, ...(storage === 'raft' && { storage: VaultStorage.raft() }) });
    const store = new EsoStore(chart, 'store', { vault });
    const unseal = new UnsealCron(chart, 'unseal', { vault });
    new VaultAlerts(chart, 'alerts', { vault, store, unseal });
  });
  return find(out, 'PrometheusRule', 'vault-alerts').spec.groups[0].rules;
}

function parse(expr: string): { errors: number; matchers: Array<[string, string]> } {
  let errors = 0;
  const matchers: Array<[string, string]> = [];
  parser.parse(expr).iterate({
    enter: (node) => {
      if (node.type.isError) errors += 1;
      if (node.name === 'LabelName' && node.node.parent?.name.endsWith('LabelMatcher')) {
        const metric = node.node.parent.parent?.parent?.getChild('Identifier');
        matchers.push([metric ? expr.slice(metric.from, metric.to) : '', expr.slice(node.from, node.to)]);
      }
    },
  });
  return { errors, matchers };
}

const raft = rules('raft');
const byName = Object.fromEntries(raft.map((r) => [r.alert, r]));

test('with Raft: one pod down is a warning, a lost majority and no active node are critical; no single-pod VaultNotReady', () => {
  expect(['VaultPodNotReady', 'VaultQuorumLost', 'VaultNoActiveNode', 'VaultUpdatePending'].map((a) => [a, byName[a]?.labels.severity]))
    .toEqual([['VaultPodNotReady', 'warning'], ['VaultQuorumLost', 'critical'], ['VaultNoActiveNode', 'critical'], ['VaultUpdatePending', 'warning']]);
  expect(byName.VaultNotReady).toBeUndefined();
  const file = rules('file').map((r) => r.alert);
  expect(file).toContain('VaultNotReady');
  expect(file).not.toContain('VaultQuorumLost');
});

test('valid PromQL, and each metric filtered only by labels kube-state-metrics gives it', () => {
  for (const name of ['VaultPodNotReady', 'VaultQuorumLost', 'VaultNoActiveNode', 'VaultUpdatePending']) {
    const parsed = parse(byName[name].expr);
    expect({ name, errors: parsed.errors }).toEqual({ name, errors: 0 });
    for (const [metric, label] of parsed.matchers) expect({ metric, label, known: METRIC_LABELS[metric]?.includes(label) }).toEqual({ metric, label, known: true });
  }
});

test('quorum is floor(replicas/2)+1 of the StatefulSet\'s own replica count; no alert while it wants no pod', () => {
  expect(byName.VaultQuorumLost.expr).toContain('< (floor(max by (namespace, statefulset) (kube_statefulset_replicas{namespace="security", statefulset="vault"}) / 2) + 1)');
  expect(byName.VaultQuorumLost.expr).toMatch(/kube_statefulset_replicas\{[^}]*\}\) > 0$/);
  expect(byName.VaultPodNotReady.expr).toMatch(/>= \(floor\(/);
  expect(byName.VaultNoActiveNode.expr).toMatch(/> 0$/);
});

test('no active node: the active Service\'s EndpointSlice exists with no ready endpoint (an empty slice emits no endpoint series)', () => {
  const expr: string = byName.VaultNoActiveNode.expr;
  // The slice of the Service vault-active only, named by generateName: not vault's, not vault-internal's.
  const sliceName = /endpointslice=~"([^"]+)"/.exec(expr)![1];
  const matches = (name: string) => new RegExp(`^(?:${sliceName})$`).test(name);
  expect(['vault-active-x7k2p', 'vault-active-00000'].every(matches)).toBe(true);
  expect(['vault-x7k2p', 'vault-internal-x7k2p', 'vault-active-x7k2p-extra'].some(matches)).toBe(false);
  expect(expr).toMatch(/^max by \(namespace\) \(kube_endpointslice_info\{.*\}\)\nunless on \(namespace\)\nmax by \(namespace\) \(kube_endpointslice_endpoints\{.*ready="true".*\}\)\n/);
  expect(expr).not.toMatch(/kube_endpoint_(info|address)\b/);
});

test('an update waits: the update revision differs from the current one, for an hour (OnDelete replaces no pod by itself)', () => {
  const rule = byName.VaultUpdatePending;
  expect(rule.for).toBe('1h');
  expect(rule.expr).toBe('max by (namespace, statefulset, revision) (kube_statefulset_status_update_revision{namespace="security", statefulset="vault"})\n'
    + 'unless on (namespace, statefulset, revision)\n'
    + 'max by (namespace, statefulset, revision) (kube_statefulset_status_current_revision{namespace="security", statefulset="vault"})');
});

test('each has a runbook anchor', () => {
  for (const name of ['VaultPodNotReady', 'VaultQuorumLost', 'VaultNoActiveNode', 'VaultUpdatePending']) expect(JSON.stringify(byName[name].annotations)).toContain(`#${name.toLowerCase()}`);
});
