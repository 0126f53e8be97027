import { parser } from '@prometheus-io/lezer-promql';
import { VaultSnapshotAlerts, VaultSnapshotAlertsProps, VaultSnapshotCron, VaultStack, VaultStorage } from '../../lib';
import { find, Manifest, schemaErrors, synth } from '../support/manifests';

function alerts(props: Partial<VaultSnapshotAlertsProps> = {}, namespace = 'security'): Manifest[] {
  return synth((chart) => {
    // Vault in the job's namespace: a job that talks to a TLS Vault runs beside it (it mounts Vault's CA).
    const vault = new VaultStack(chart, 'vault', { host: 'vault.example.com', namespace, storage: VaultStorage.raft(), networkPolicy: false });
    const snapshots = new VaultSnapshotCron(chart, 'snapshots', { vault, namespace });
    new VaultSnapshotAlerts(chart, 'alerts', { snapshots, ...props });
  });
}

const rulesOf = (m: Manifest[]) => find(m, 'PrometheusRule', 'vault-snapshot-alerts').spec.groups[0].rules;

/** The metric names of an expression's selectors, and whether Prometheus's own grammar finds an error. */
function parse(expr: string): { errors: number; metrics: string[] } {
  let errors = 0;
  const metrics: string[] = [];
  parser.parse(expr).iterate({
    enter: (node) => {
      if (node.type.isError) errors += 1;
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') metrics.push(expr.slice(node.from, node.to));
    },
  });
  return { errors, metrics };
}

test('a warning and a critical alert on the age of the last good snapshot, from the snapshot CronJob\'s last success', () => {
  const rules = rulesOf(alerts());
  expect(rules.map((r: any) => [r.alert, r.labels.severity])).toEqual([['VaultRaftSnapshotStale', 'warning'], ['VaultRaftSnapshotMissing', 'critical']]);
  for (const r of rules) {
    expect(parse(r.expr)).toEqual({ errors: 0, metrics: ['kube_cronjob_status_last_successful_time', 'kube_cronjob_created'] });
    expect(r.expr).toContain('kube_cronjob_status_last_successful_time{namespace="security", cronjob="vault-raft-snapshot"}');
    expect(r.annotations.runbook).toBe(`docs/alerts.md#${r.alert.toLowerCase()}`);
  }
  expect(rules[0].expr).toMatch(/\) > 10800$/);
  expect(rules[1].expr).toMatch(/\) > 93600$/);
});

test('follows the CronJob\'s namespace and the given ages', () => {
  const rules = rulesOf(alerts({ warnAfter: '2h', criticalAfter: '2d' }, 'vault'));
  expect(rules[0].expr).toContain('namespace="vault", cronjob="vault-raft-snapshot"');
  expect(rules[0].expr).toMatch(/> 7200$/);
  expect(rules[1].expr).toMatch(/> 172800$/);
});

test('valid against the PrometheusRule CRD schema', () => {
  expect(schemaErrors(alerts().filter((m) => m.kind === 'PrometheusRule'))).toEqual([]);
});

test.each<[string, Partial<VaultSnapshotAlertsProps>, RegExp]>([
  ['a critical age not longer than the warning', { warnAfter: '6h', criticalAfter: '6h' }, /invalid VaultSnapshotAlerts criticalAfter: got "6h", expected a longer age than warnAfter \(6h\)/],
])('refuses %s', (_name, props, message) => {
  expect(() => alerts(props)).toThrow(message);
});
