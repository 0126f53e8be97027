import { readFileSync } from 'fs';
import { join } from 'path';
import {
  AppSecret, EsoRecoveryCron, EsoRecoveryCronProps, EsoStore, EsoStoreProps, UnsealCron, UnsealCronProps, VaultAlerts, VaultAlertsProps,
  VaultStackProps, VaultTls,
} from '../../lib';
import { find, Manifest, schemaErrors, synth } from '../support/manifests';
import { METRIC_LABELS, parsePromql } from '../support/promql';
import { testVault } from '../support/with-vault';

interface Homelab {
  readonly vault?: Partial<VaultStackProps>;
  readonly store?: Partial<EsoStoreProps>;
  readonly unseal?: Partial<UnsealCronProps> | false;
  readonly recovery?: Partial<EsoRecoveryCronProps> | false;
  /** The namespaces of the AppSecrets, each making a store. */
  readonly namespaces?: string[];
}

/** The PrometheusRule of VaultAlerts watching a whole homelab (its parts configured by `parts`), with `props`. */
function alerts(props: Partial<VaultAlertsProps> = {}, parts: Homelab = {}): Manifest[] {
  return synth((chart) => {
    const vault = testVault(chart, parts.vault);
    const store = new EsoStore(chart, 'store', { vault, ...parts.store });
    const unseal = parts.unseal === false ? undefined : new UnsealCron(chart, 'unseal', { vault, ...parts.unseal });
    const recovery = parts.recovery === false ? undefined : new EsoRecoveryCron(chart, 'recovery', { vault, store, ...parts.recovery });
    new VaultAlerts(chart, 'alerts', { vault, store, unseal, recovery, ...props });
    // Added after the alerts, as main.ts adds its app secrets after homelab(): their stores are watched all the same.
    for (const namespace of parts.namespaces ?? ['db', 'monitoring']) new AppSecret(chart, namespace, { namespace, store, dataFrom: [{ path: namespace }] });
  }).filter((m) => m.kind === 'PrometheusRule');
}

function rulesOf(manifests: Manifest[]): any[] {
  const rule = manifests.find((m) => m.kind === 'PrometheusRule')!;
  return rule.spec.groups.flatMap((g: any) => g.rules);
}

const manifests = alerts();
const rule = find(manifests, 'PrometheusRule', 'vault-alerts');
const rules = rulesOf(manifests);
const byName = Object.fromEntries(rules.map((r) => [r.alert, r]));

describe('VaultAlerts defaults', () => {
  test('one PrometheusRule in monitoring, selected by kube-prometheus-stack\'s release label', () => {
    expect(manifests).toHaveLength(1);
    expect(rule.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(rule.metadata).toEqual({
      name: 'vault-alerts', namespace: 'monitoring', labels: { release: 'kube-prometheus-stack' }, annotations: { 'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true' },
    });
    expect(rule.spec.groups.map((g: any) => g.name)).toEqual(['vault-secrets']);
  });

  test('holds the alerts the issue lists', () => {
    expect(rules.map((r) => r.alert)).toEqual([
      'VaultNotReady',
      'VaultAutoUnsealFailing', 'VaultAutoUnsealNeedsHuman', 'VaultAutoUnsealSuspended', 'VaultAutoUnsealNotRunning',
      'EsoRecoveryNeedsHuman', 'EsoRecoverySuspended', 'EsoRecoveryNotRunning',
      'EsoStoreNotReady', 'EsoExternalSecretNotSynced', 'EsoStoreMetricsAbsent',
      // Vault serves TLS (the default): its certificates' readiness and expiry are watched too.
      'VaultCertificateNotReady', 'VaultCertificateExpiring',
    ]);
  });

  test('every alert has a severity, a summary and description of what is wrong, and a runbook in docs/alerts.md', () => {
    const page = readFileSync(join(__dirname, '..', '..', 'docs', 'alerts.md'), 'utf8');
    for (const r of rules) {
      expect(['critical', 'warning']).toContain(r.labels.severity);
      expect(Object.keys(r.labels)).toEqual(['severity']);
      expect(r.annotations.summary.length).toBeGreaterThan(30);
      expect(r.annotations.description.length).toBeGreaterThan(60);
      const anchor = r.alert.toLowerCase();
      expect(r.annotations.runbook).toBe(`docs/alerts.md#${anchor}`);
      expect(r.annotations.runbook_url).toBeUndefined();
      // The alerts page's table has a row with this anchor, which says what to do.
      expect(page).toContain(`<a id="${anchor}"></a>${r.alert}`);
    }
  });

  test('every expression is valid PromQL (parsed by Prometheus\'s Lezer grammar, no error nodes)', () => {
    for (const r of rules) expect({ alert: r.alert, errors: parsePromql(r.expr).errors }).toEqual({ alert: r.alert, errors: [] });
  });

  test('the check would catch a syntax error', () => {
    expect(parsePromql('max by (name) (clustersecretstore_status_condition{name="k8s-secrets" == 1').errors).not.toEqual([]);
    expect(parsePromql('sum(rate(x[5m]) by').errors).not.toEqual([]);
    expect(parsePromql('kube_job_failed{condition="true"} > 0').errors).toEqual([]);
  });

  test('uses only metric and label names kube-state-metrics, ESO and cert-manager export', () => {
    const used = new Set<string>();
    for (const r of rules) {
      const parsed = parsePromql(r.expr);
      const labelsOfExpr = new Set(parsed.metrics.flatMap((m) => METRIC_LABELS[m] ?? []));
      for (const metric of parsed.metrics) {
        expect({ alert: r.alert, metric, known: metric in METRIC_LABELS }).toEqual({ alert: r.alert, metric, known: true });
        used.add(metric);
      }
      for (const [metric, label] of parsed.matchers) {
        expect({ alert: r.alert, metric, label, known: METRIC_LABELS[metric]?.includes(label) })
          .toEqual({ alert: r.alert, metric, label, known: true });
      }
      for (const label of parsed.groupingLabels) {
        expect({ alert: r.alert, label, known: labelsOfExpr.has(label) }).toEqual({ alert: r.alert, label, known: true });
      }
    }
    expect([...used].sort()).toEqual(Object.keys(METRIC_LABELS).sort());
  });

  test('Vault readiness comes from kube-state-metrics, never from vault_core_unsealed', () => {
    expect(parsePromql(byName.VaultNotReady.expr).metrics.sort()).toEqual(['kube_statefulset_replicas', 'kube_statefulset_status_replicas_ready']);
    expect(byName.VaultNotReady.expr).toContain('kube_statefulset_status_replicas_ready{namespace="security", statefulset="vault"}');
    expect(rules.map((r) => r.expr).join('\n')).not.toContain('vault_');
    expect(byName.VaultNotReady).toMatchObject({ for: '10m', labels: { severity: 'critical' } });
  });

  test('auto-unseal failures join the failed Jobs to the CronJob that owns them, and count only those since its last success', () => {
    const expr = byName.VaultAutoUnsealFailing.expr;
    expect(expr).toContain('kube_job_owner{namespace="security", owner_kind="CronJob", owner_name="vault-auto-unseal"}');
    expect(expr).toContain('* on (namespace, job_name) max by (namespace, job_name) (kube_job_failed{namespace="security", condition="true"})');
    expect(expr).toContain('kube_job_status_start_time{namespace="security"})\n    > on (namespace) group_left () (max by (namespace) (kube_cronjob_status_last_successful_time{namespace="security", cronjob="vault-auto-unseal"})');
    expect(byName.VaultAutoUnsealFailing).toMatchObject({ for: '10m', labels: { severity: 'warning' } });
  });

  test('"human needed" is failing runs with no success for longer: exit codes are invisible to kube-state-metrics', () => {
    const expr = byName.VaultAutoUnsealNeedsHuman.expr;
    expect(expr).toMatch(/^\(\n {2}time\(\) - \(max by \(namespace\) \(kube_cronjob_status_last_successful_time\{namespace="security", cronjob="vault-auto-unseal"\}\)/);
    expect(expr).toContain(') > 1800\nand on (namespace)\n');
    expect(expr).toContain(byName.VaultAutoUnsealFailing.expr);
    expect(byName.VaultAutoUnsealNeedsHuman.for).toBeUndefined();
    expect(byName.VaultAutoUnsealNeedsHuman.labels.severity).toBe('critical');
    expect(byName.VaultAutoUnsealNeedsHuman.annotations.description).toContain('cannot see exit codes');
    expect(byName.EsoRecoveryNeedsHuman.expr).toContain('owner_name="eso-recovery"');
    expect(byName.EsoRecoveryNeedsHuman.for).toBe('15m');
  });

  test('suspended and not running are told apart from failing', () => {
    expect(byName.VaultAutoUnsealSuspended).toMatchObject({
      expr: 'max by (namespace, cronjob) (kube_cronjob_spec_suspend{namespace="security", cronjob="vault-auto-unseal"}) == 1', for: '1h',
    });
    const notRunning = byName.EsoRecoveryNotRunning.expr;
    expect(notRunning).toContain(') > 3600\nunless on (namespace)\ncount by (namespace) (');
    expect(notRunning).toMatch(/unless on \(namespace\)\nmax by \(namespace\) \(kube_cronjob_spec_suspend\{namespace="security", cronjob="eso-recovery"\}\) == 1$/);
  });

  test('ESO alerts read ESO\'s own condition metrics for each store, one per namespace, and every ExternalSecret', () => {
    expect(byName.EsoStoreNotReady).toMatchObject({
      expr: 'max by (name) (clustersecretstore_status_condition{condition="Ready", status="False", name=~"k8s-secrets-db|k8s-secrets-monitoring"}) == 1',
      for: '15m', labels: { severity: 'critical' },
    });
    expect(byName.EsoStoreNotReady.annotations.summary).toBe('ClusterSecretStore {{ $labels.name }} has not been ready for 15m: its namespace\'s ExternalSecrets cannot read Vault.');
    expect(byName.EsoExternalSecretNotSynced).toMatchObject({
      expr: 'max by (name, namespace, exported_namespace) (externalsecret_status_condition{condition="Ready", status="False"}) == 1',
      for: '30m', labels: { severity: 'warning' },
    });
    // One absent() a store: absent() of a regular expression stays silent while any one store is exported.
    expect(byName.EsoStoreMetricsAbsent.expr).toBe([
      'absent(clustersecretstore_status_condition{name="k8s-secrets-db", condition="Ready"})',
      'absent(clustersecretstore_status_condition{name="k8s-secrets-monitoring", condition="Ready"})',
    ].join('\nor\n'));
  });

  test('a store name with a dot matches only itself; no store (no AppSecret), no alert on stores', () => {
    const dotted = rulesOf(alerts({}, { store: { storeName: 'kv.lab' }, namespaces: ['db'] })).find((r) => r.alert === 'EsoStoreNotReady');
    expect(dotted.expr).toContain('name=~"kv\\\\.lab-db"');
    expect(parsePromql(dotted.expr).errors).toEqual([]);
    expect(rulesOf(alerts({}, { namespaces: [] })).map((r) => r.alert)).not.toEqual(expect.arrayContaining(['EsoStoreNotReady']));
    expect(rulesOf(alerts({}, { namespaces: [] })).map((r) => r.alert)).toContain('EsoExternalSecretNotSynced');
  });

  test('the PrometheusRule is valid against its CRD schema, strictly', () => {
    expect(schemaErrors(manifests)).toEqual([]);
  });

  test('the strict PrometheusRule schema check catches an unknown field', () => {
    const broken = { ...rule, spec: { groups: [{ ...rule.spec.groups[0], rules: [{ ...rules[0], severity: 'critical' }] }] } };
    expect(schemaErrors([broken])).toEqual([expect.stringContaining('must NOT have additional properties')]);
  });

  test('matches the snapshot', () => {
    expect(manifests).toMatchSnapshot();
  });
});

describe('VaultAlerts props', () => {
  test('names come from the VaultStack, the EsoStore and the CronJobs\' constructs', () => {
    const out = alerts({}, { vault: { namespace: 'vault-system' }, store: { storeName: 'vault-kv' } });
    const r = Object.fromEntries(rulesOf(out).map((x) => [x.alert, x]));
    expect(r.VaultNotReady.expr).toContain('{namespace="vault-system", statefulset="vault"}');
    expect(r.VaultAutoUnsealFailing.expr).toContain('owner_name="vault-auto-unseal"');
    expect(r.VaultAutoUnsealFailing.expr).toContain('kube_job_failed{namespace="vault-system"');
    // EsoRecoveryCron runs in the VaultStack's namespace, beside Vault (whose CA it mounts), not the store's.
    expect(r.EsoRecoveryNeedsHuman.expr).toContain('kube_job_failed{namespace="vault-system"');
    expect(r.EsoStoreNotReady.expr).toContain('name=~"vault-kv-db|vault-kv-monitoring"');
    expect(schemaErrors(out)).toEqual([]);
  });

  test('the recovery job\'s alerts follow the job to its namespace', () => {
    const out = alerts({}, { vault: { namespace: 'vault-system', tls: VaultTls.none() }, store: { namespace: 'eso' }, recovery: { namespace: 'ops' } });
    const r = Object.fromEntries(rulesOf(out).map((x) => [x.alert, x]));
    expect(r.EsoRecoveryNeedsHuman.expr).toContain('kube_job_failed{namespace="ops"');
  });

  test('a CronJob that is not given is not watched', () => {
    const names = rulesOf(alerts({}, { unseal: false, recovery: false })).map((x) => x.alert);
    expect(names).toEqual(['VaultNotReady', 'EsoStoreNotReady', 'EsoExternalSecretNotSynced', 'EsoStoreMetricsAbsent', 'VaultCertificateNotReady', 'VaultCertificateExpiring']);
  });

  test('every prop reaches the output', () => {
    const out = alerts({
      namespace: 'observability', name: 'secrets-alerts', labels: { release: 'prometheus', team: 'homelab' },
      runbookBaseUrl: 'https://git.example.com/homelab/homelab-secrets/src/branch/main/README.md',
      notReadyFor: '5m', unsealFailingFor: '15m', humanNeededAfter: '1h', recoveryFailingFor: '20m', notRunningAfter: '2h',
      suspendedFor: '1d', storeNotReadyFor: '20m', secretNotSyncedFor: '1h', metricsAbsentFor: '45m',
    }, { vault: { namespace: 'vault', tls: VaultTls.none() }, unseal: { namespace: 'ops' }, recovery: { namespace: 'ops' }, store: { storeName: 'kv' } });
    const pr = out.find((m) => m.kind === 'PrometheusRule')!;
    expect(pr.metadata).toMatchObject({ name: 'secrets-alerts', namespace: 'observability', labels: { release: 'prometheus', team: 'homelab' } });
    const r = Object.fromEntries(rulesOf(out).map((x) => [x.alert, x]));
    expect(r.VaultNotReady.annotations.runbook_url).toBe('https://git.example.com/homelab/homelab-secrets/src/branch/main/README.md#vaultnotready');
    expect(r.VaultNotReady.annotations.runbook).toBeUndefined();
    expect(r.VaultNotReady.expr).toContain('{namespace="vault", statefulset="vault"}');
    expect(r.VaultAutoUnsealFailing.expr).toContain('owner_name="vault-auto-unseal"');
    expect(r.VaultAutoUnsealFailing.expr).toContain('kube_job_failed{namespace="ops"');
    expect(r.EsoRecoveryNeedsHuman.expr).toContain('kube_job_failed{namespace="ops"');
    expect(r.EsoStoreNotReady.expr).toContain('name=~"kv-db|kv-monitoring"');
    expect(r.VaultAutoUnsealNeedsHuman.expr).toContain(') > 3600\nand on');
    expect(r.VaultAutoUnsealNotRunning.expr).toContain(') > 7200\nunless on');
    expect(Object.fromEntries(rulesOf(out).filter((x) => x.for).map((x) => [x.alert, x.for]))).toEqual({
      VaultNotReady: '5m', VaultAutoUnsealFailing: '15m', VaultAutoUnsealSuspended: '1d', EsoRecoveryNeedsHuman: '20m',
      EsoRecoverySuspended: '1d', EsoStoreNotReady: '20m', EsoExternalSecretNotSynced: '1h', EsoStoreMetricsAbsent: '45m',
    });
    for (const x of rulesOf(out)) expect(parsePromql(x.expr).errors).toEqual([]);
    expect(schemaErrors(out)).toEqual([]);
  });

  test('no selection labels at all is allowed (a Prometheus that selects every rule)', () => {
    expect(alerts({ labels: {} }).find((m) => m.kind === 'PrometheusRule')!.metadata.labels).toBeUndefined();
  });

  test.each<[string, Partial<VaultAlertsProps>, RegExp]>([
    ['namespace', { namespace: 'Monitoring' }, /invalid VaultAlerts namespace: got "Monitoring", expected a DNS-1123 label/],
    ['name', { name: 'vault_alerts' }, /invalid VaultAlerts name: got "vault_alerts", expected a DNS-1123 subdomain/],
    ['label key', { labels: { 'release name': 'x' } }, /invalid VaultAlerts labels: got "release name", expected keys of the form/],
    ['label value', { labels: { release: 'kube prometheus' } }, /invalid VaultAlerts labels: got "kube prometheus", expected label values/],
    ['labels that are not a map', { labels: ['release'] as unknown as Record<string, string> }, /invalid VaultAlerts labels: got \["release"\], expected a map/],
    ['runbook base URL with an anchor', { runbookBaseUrl: 'https://example.com/README.md#alerts' }, /invalid VaultAlerts runbookBaseUrl: got "https:\/\/example.com\/README.md#alerts", expected an http\(s\) URL without "#"/],
    ['runbook base URL without scheme', { runbookBaseUrl: 'example.com/README.md' }, /invalid VaultAlerts runbookBaseUrl: got "example.com\/README.md"/],
    ['not-ready duration', { notReadyFor: '10 minutes' }, /invalid VaultAlerts notReadyFor: got "10 minutes", expected a Prometheus duration/],
    ['unseal failing duration under a minute', { unsealFailingFor: '30s' }, /invalid VaultAlerts unsealFailingFor: got "30s", expected a Prometheus duration .* from 60s to 2592000s/],
    ['human-needed duration', { humanNeededAfter: '1h30' }, /invalid VaultAlerts humanNeededAfter: got "1h30"/],
    ['human-needed duration not longer than the failing one', { humanNeededAfter: '10m' }, /invalid VaultAlerts humanNeededAfter: got "10m", expected a duration longer than unsealFailingFor \(10m\)/],
    ['recovery failing duration', { recoveryFailingFor: '-5m' }, /invalid VaultAlerts recoveryFailingFor: got "-5m"/],
    ['not-running duration over 30 days', { notRunningAfter: '5w' }, /invalid VaultAlerts notRunningAfter: got "5w"/],
    ['suspended duration', { suspendedFor: '1H' }, /invalid VaultAlerts suspendedFor: got "1H"/],
    ['store duration', { storeNotReadyFor: '' }, /invalid VaultAlerts storeNotReadyFor: got ""/],
    ['secret duration', { secretNotSyncedFor: '30' }, /invalid VaultAlerts secretNotSyncedFor: got "30"/],
    ['metrics-absent duration', { metricsAbsentFor: '0m' }, /invalid VaultAlerts metricsAbsentFor: got "0m"/],
  ])('rejects a wrong %s', (_case, props, message) => {
    expect(() => alerts(props)).toThrow(message);
  });
});
