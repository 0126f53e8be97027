import { parser } from '@prometheus-io/lezer-promql';
import { EsoStore, UnsealCron, VaultAlerts, VaultStack, VaultStorage } from '../../lib';
import { find, synth } from '../support/manifests';

// The labels each metric carries, as kube-state-metrics documents them (docs/metrics/workload/statefulset-metrics.md,
// docs/metrics/service/endpoint-metrics.md).
const METRIC_LABELS: Record<string, string[]> = {
  kube_statefulset_replicas: ['namespace', 'statefulset'],
  kube_statefulset_status_replicas_ready: ['namespace', 'statefulset'],
  kube_endpoint_info: ['namespace', 'endpoint'],
  kube_endpoint_address: ['namespace', 'endpoint', 'ip', 'port_name', 'port_protocol', 'port_number', 'ready'],
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
  expect(['VaultPodNotReady', 'VaultQuorumLost', 'VaultNoActiveNode'].map((a) => [a, byName[a]?.labels.severity]))
    .toEqual([['VaultPodNotReady', 'warning'], ['VaultQuorumLost', 'critical'], ['VaultNoActiveNode', 'critical']]);
  expect(byName.VaultNotReady).toBeUndefined();
  const file = rules('file').map((r) => r.alert);
  expect(file).toContain('VaultNotReady');
  expect(file).not.toContain('VaultQuorumLost');
});

test('valid PromQL, and each metric filtered only by labels kube-state-metrics gives it', () => {
  for (const name of ['VaultPodNotReady', 'VaultQuorumLost', 'VaultNoActiveNode']) {
    const parsed = parse(byName[name].expr);
    expect({ name, errors: parsed.errors }).toEqual({ name, errors: 0 });
    for (const [metric, label] of parsed.matchers) expect({ metric, label, known: METRIC_LABELS[metric]?.includes(label) }).toEqual({ metric, label, known: true });
  }
});

test('quorum is floor(replicas/2)+1 of the StatefulSet\'s own replica count; no alert while it wants no pod', () => {
  expect(byName.VaultQuorumLost.expr).toContain('< (floor(max by (namespace, statefulset) (kube_statefulset_replicas{namespace="security", statefulset="vault"}) / 2) + 1)');
  expect(byName.VaultQuorumLost.expr).toMatch(/kube_statefulset_replicas\{[^}]*\}\) > 0$/);
  expect(byName.VaultPodNotReady.expr).toMatch(/>= \(floor\(/);
  expect(byName.VaultNoActiveNode.expr).toContain('kube_endpoint_address{namespace="security", endpoint="vault-active", ready="true"}');
  expect(byName.VaultNoActiveNode.expr).toMatch(/> 0$/);
});

test('each has a runbook anchor', () => {
  for (const name of ['VaultPodNotReady', 'VaultQuorumLost', 'VaultNoActiveNode']) expect(JSON.stringify(byName[name].annotations)).toContain(`#${name.toLowerCase()}`);
});
