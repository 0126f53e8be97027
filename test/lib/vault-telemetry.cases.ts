import { parser } from '@prometheus-io/lezer-promql';
import { Chart } from 'cdk8s';
import { VaultStack, VaultStorage, VaultTelemetry } from '../../lib';
import { find, schemaErrors, synth } from '../support/manifests';
import { celErrors } from '../support/cel';

// Vault's own telemetry, opt-in: the configuration that serves the metrics under their documented names, the Service
// and ServiceMonitor that scrape each ready pod, Prometheus let through Vault's NetworkPolicy, autopilot's alerts.
const out = synth((chart: Chart) => {
  const vault = new VaultStack(chart, 'vault', { host: 'vault.example.com', namespace: 'hashicorp', storage: VaultStorage.raft() });
  new VaultTelemetry(chart, 'telemetry', { vault, prometheusPodLabels: { 'app.kubernetes.io/name': 'prometheus', 'operator.prometheus.io/name': 'k8s' } });
});
const config: string = find(out, 'ConfigMap', 'vault-config').data['vault.hcl'];

test('Vault serves its metrics on the API listener without a token, without the host in their names', () => {
  expect(config).toMatch(/listener "tcp" \{[^}]*telemetry \{\s+unauthenticated_metrics_access = true\s+\}\n\}/);
  expect(config).toMatch(/^telemetry \{\n {2}disable_hostname {10}= true\n {2}prometheus_retention_time = "30s"\n\}$/m);
  const plain = synth((chart: Chart) => { new VaultStack(chart, 'vault', { host: 'vault.example.com', storage: VaultStorage.raft() }); });
  expect(find(plain, 'ConfigMap', 'vault-config').data['vault.hcl']).not.toContain('telemetry');
});

test('a Service of its own selects Vault\'s pods, and the ServiceMonitor selects only it', () => {
  const service = find(out, 'Service', 'vault-metrics');
  const sts = find(out, 'StatefulSet', 'vault');
  expect(service.spec.selector).toEqual(sts.spec.selector.matchLabels);
  const monitor = find(out, 'ServiceMonitor', 'vault-metrics');
  expect(monitor.metadata.labels).toEqual({ release: 'kube-prometheus-stack' });
  const selected = out.filter((m) => m.kind === 'Service' && Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => m.metadata.labels?.[k] === v));
  expect(selected.map((m) => m.metadata.name)).toEqual(['vault-metrics']);
  expect(monitor.spec.endpoints).toEqual([{
    port: 'https', path: '/v1/sys/metrics', params: { format: ['prometheus'] }, interval: '30s', scheme: 'https',
    tlsConfig: { ca: { secret: { name: 'vault-server-tls', key: 'ca.crt' } }, serverName: 'vault-active.hashicorp.svc' },
  }]);
  // Prometheus verifies Vault against the CA of its certificate's Secret, and a name the certificate carries.
  const certificate = find(out, 'Certificate', 'vault-server');
  expect(monitor.spec.endpoints[0].tlsConfig.ca.secret.name).toBe(certificate.spec.secretName);
  expect(certificate.spec.dnsNames).toContain(monitor.spec.endpoints[0].tlsConfig.serverName);
  expect(service.spec.ports.map((p: any) => p.name)).toEqual([monitor.spec.endpoints[0].port]);
  expect(schemaErrors(out)).toEqual([]);
  expect(celErrors(out)).toEqual([]);
});

test('Vault\'s NetworkPolicy admits Prometheus\'s pods by their labels, not its whole namespace', () => {
  expect(find(out, 'NetworkPolicy', 'vault').spec.ingress[0].from).toContainEqual({
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
    podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus', 'operator.prometheus.io/name': 'k8s' } },
  });
});

test('autopilot\'s alerts: valid PromQL on the scraped series only, silent while those series are absent', () => {
  const rules = find(out, 'PrometheusRule', 'vault-telemetry-alerts').spec.groups[0].rules;
  expect(rules.map((r: any) => [r.alert, r.labels.severity])).toEqual([['VaultAutopilotUnhealthy', 'critical'], ['VaultAutopilotFailureToleranceLow', 'warning']]);
  for (const rule of rules) {
    let errors = 0;
    parser.parse(rule.expr).iterate({ enter: (node) => { if (node.type.isError) errors += 1; } });
    expect({ alert: rule.alert, errors }).toEqual({ alert: rule.alert, errors: 0 });
    // A comparison of the series alone: no series, no result (no `absent()`, no `or vector(...)`).
    expect(rule.expr).toMatch(/^max by \(namespace\) \(vault_autopilot_\w+\{namespace="hashicorp", job="vault-metrics"\}\) < 1$/);
    expect(rule.annotations.runbook).toBe(`docs/alerts.md#${rule.alert.toLowerCase()}`);
  }
});
