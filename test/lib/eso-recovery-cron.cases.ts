import { Chart, Testing } from 'cdk8s';
import { AppSecret, EsoRecoveryCron, EsoRecoveryCronProps, EsoStore, VaultStack, VaultTls } from '../../lib';
import { bundleRuntime } from '../../lib/runtime-bundle';
import { find, Manifest, schemaErrors, synth } from '../support/manifests';

type Extra = Partial<EsoRecoveryCronProps> & { vaultNamespace?: string; storeNamespace?: string; tls?: VaultTls };

/** A recovery job for a Vault and a store read by two apps in two namespaces, each app in a chart of its own. */
function build(extra: Extra = {}): { recovery: Manifest[]; apps: Manifest[] } {
  const app = Testing.app();
  const core = new Chart(app, 'core');
  const appsChart = new Chart(app, 'apps');
  const { vaultNamespace, storeNamespace, tls, ...props } = extra;
  const vault = new VaultStack(core, 'vault', { host: 'vault.example.com', namespace: vaultNamespace, tls });
  const store = new EsoStore(core, 'store', { vault, namespace: storeNamespace });
  new AppSecret(appsChart, 'postgres', { namespace: 'db', store, dataFrom: [{ path: 'postgres' }] });
  const recoveryChart = new Chart(app, 'recovery');
  new EsoRecoveryCron(recoveryChart, 'recovery', { vault, store, ...props });
  // Added after the job: its access follows all the same.
  new AppSecret(appsChart, 'grafana', { namespace: 'monitoring', store, dataFrom: [{ path: 'grafana' }] });
  new AppSecret(appsChart, 'postgres-admin', { namespace: 'db', store, dataFrom: [{ path: 'postgres-admin' }] });
  return { recovery: Testing.synth(recoveryChart) as Manifest[], apps: (Testing.synth(appsChart) as Manifest[]).filter((m) => m.kind !== 'ExternalSecret') };
}

const { recovery: manifests, apps } = build();
const cron = find(manifests, 'CronJob', 'eso-recovery');
const pod = cron.spec.jobTemplate.spec.template.spec;
const container = pod.containers[0];
const env = Object.fromEntries(container.env.map((e: any) => [e.name, e.value]));
const SUBJECT = [{ kind: 'ServiceAccount', name: 'eso-recovery', namespace: 'security' }];

test('defines the CronJob eso-recovery, its script, ServiceAccount and RBAC, under stable names', () => {
  expect(manifests.map((m) => `${m.kind}/${m.metadata.namespace ?? '-'}/${m.metadata.name}`)).toEqual([
    'ServiceAccount/security/eso-recovery', 'ClusterRole/-/eso-recovery', 'ClusterRoleBinding/-/eso-recovery',
    'Role/default/eso-recovery-events', 'RoleBinding/default/eso-recovery-events', 'ConfigMap/security/eso-recovery-script',
    'CronJob/security/eso-recovery', 'NetworkPolicy/security/eso-recovery-egress',
  ]);
});

test('runs with the same schedule, overlap, deadline, image, resources and security as vault-auto-unseal', () => {
  expect(cron.spec).toMatchObject({ schedule: '* * * * *', concurrencyPolicy: 'Forbid', successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 3 });
  expect(cron.spec.jobTemplate.spec.activeDeadlineSeconds).toBeLessThan(60);
  expect(container).toMatchObject({ image: 'node:24.11.0-alpine3.22', imagePullPolicy: 'IfNotPresent' });
  expect(container.resources).toEqual({ requests: { cpu: '10m', memory: '48Mi' }, limits: { cpu: '100m', memory: '96Mi' } });
  expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
  expect(pod.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
});

test('runs as its own ServiceAccount, with its token', () => {
  expect(pod.serviceAccountName).toBe('eso-recovery');
  expect(pod.automountServiceAccountToken).toBe(true);
});

test('may get and patch the stores by name, one per namespace, those of AppSecrets added after it too; list and create Events in default; nothing else', () => {
  expect(find(manifests, 'ClusterRole', 'eso-recovery').rules).toEqual([
    { apiGroups: ['external-secrets.io'], resources: ['clustersecretstores'], resourceNames: ['k8s-secrets-db', 'k8s-secrets-monitoring'], verbs: ['get', 'patch'] },
  ]);
  // An Event's name is chosen when it is created, and a list cannot name objects: one namespace only.
  const events = find(manifests, 'Role', 'eso-recovery-events');
  expect(events.metadata.namespace).toBe('default');
  expect(events.rules).toEqual([{ apiGroups: [''], resources: ['events'], verbs: ['create', 'list'] }]);
  const rules = [...manifests, ...apps].filter((m) => m.kind.endsWith('Role')).flatMap((m) => m.rules);
  expect(JSON.stringify(rules)).not.toMatch(/\*|"deployments"|"pods"|"secrets"/);
  for (const rule of rules) if (rule.resources[0] !== 'events') expect(rule.resourceNames.length).toBeGreaterThan(0);
  for (const binding of [...manifests, ...apps].filter((m) => m.kind.endsWith('Binding'))) expect(binding.subjects).toEqual(SUBJECT);
});

test('no AppSecret, no store: the ClusterRole grants nothing, never a rule without names (which would grant every store)', () => {
  const app = Testing.app();
  const chart = new Chart(app, 'core');
  const vault = new VaultStack(chart, 'vault', { host: 'vault.example.com' });
  new EsoRecoveryCron(chart, 'recovery', { vault, store: new EsoStore(chart, 'store', { vault }) });
  const out = Testing.synth(chart) as Manifest[];
  expect(find(out, 'ClusterRole', 'eso-recovery').rules).toEqual([]);
  const vars = Object.fromEntries(find(out, 'CronJob', 'eso-recovery').spec.jobTemplate.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));
  expect([vars.ESO_STORE_NAMES, vars.ESO_EXTERNAL_SECRETS]).toEqual(['', '']);
});

test('may get and patch each ExternalSecret of the store by name, through a Role beside it in its own chart and namespace', () => {
  expect(apps.map((m) => `${m.kind}/${m.metadata.namespace}/${m.metadata.name}`)).toEqual([
    'Role/db/eso-recovery', 'RoleBinding/db/eso-recovery', 'Role/monitoring/eso-recovery', 'RoleBinding/monitoring/eso-recovery',
  ]);
  const rules = (namespace: string) => apps.find((m) => m.kind === 'Role' && m.metadata.namespace === namespace)!.rules;
  expect(rules('db')).toEqual([{ apiGroups: ['external-secrets.io'], resources: ['externalsecrets'], verbs: ['get', 'patch'], resourceNames: ['postgres', 'postgres-admin'] }]);
  expect(rules('monitoring')[0].resourceNames).toEqual(['grafana']);
});

test('configures the script through its documented variables, the ExternalSecrets derived from the store\'s readers', () => {
  expect(env).toEqual({
    VAULT_ADDR: 'https://vault.security.svc.cluster.local:8200', VAULT_CACERT: '/vault/ca/ca.crt', ESO_STORE_NAMES: 'k8s-secrets-db,k8s-secrets-monitoring',
    // Each ExternalSecret with the store it reads through: the job wakes it once that store is Ready.
    ESO_EXTERNAL_SECRETS: 'k8s-secrets-db:db/postgres,k8s-secrets-monitoring:monitoring/grafana,k8s-secrets-db:db/postgres-admin',
    VAULT_TIMEOUT_SECONDS: '5', RETRY_WINDOW_SECONDS: '40', RETRY_INTERVAL_SECONDS: '3', RUN_DEADLINE_SECONDS: '50',
  });
});

test('ships the esbuild bundle of runtime/eso-recovery.ts, small and without dependencies', () => {
  const script: string = find(manifests, 'ConfigMap', 'eso-recovery-script').data['eso-recovery.js'];
  expect(script).toBe(bundleRuntime('eso-recovery'));
  expect(Buffer.byteLength(script)).toBeLessThan(50 * 1024);
  const required = new Set([...script.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]));
  expect([...required].every((m) => ['fs', 'path', 'http', 'https', 'net', 'crypto'].includes(m))).toBe(true);
});

test('runs beside Vault, in its namespace whatever the store\'s, and watches it; another namespace only without TLS', () => {
  for (const [tls, scheme] of [[undefined, 'https'], [VaultTls.none(), 'http']] as const) {
    const { recovery } = build({ vaultNamespace: 'vault', storeNamespace: 'eso', tls });
    const names = recovery.filter((m) => m.metadata.namespace !== 'default').map((m) => `${m.kind}/${m.metadata.namespace ?? '-'}`);
    expect(names).toEqual(['ServiceAccount/vault', 'ClusterRole/-', 'ClusterRoleBinding/-', 'ConfigMap/vault', 'CronJob/vault', 'NetworkPolicy/vault']);
    const e = find(recovery, 'CronJob', 'eso-recovery').spec.jobTemplate.spec.template.spec.containers[0].env;
    expect(e.find((x: any) => x.name === 'VAULT_ADDR').value).toBe(`${scheme}://vault.vault.svc.cluster.local:8200`);
    expect(e.some((x: any) => x.name === 'VAULT_CACERT')).toBe(scheme === 'https');
    expect(find(recovery, 'ClusterRoleBinding', 'eso-recovery').subjects).toEqual([{ kind: 'ServiceAccount', name: 'eso-recovery', namespace: 'vault' }]);
  }
  expect(build({ storeNamespace: 'eso', namespace: 'ops', tls: VaultTls.none() }).recovery.find((m) => m.kind === 'CronJob')!.metadata.namespace).toBe('ops');
  // Its CA is a Secret of Vault's namespace, which a pod elsewhere cannot mount.
  expect(() => build({ storeNamespace: 'eso', namespace: 'ops' })).toThrow(/invalid EsoRecoveryCron namespace: got "ops", expected Vault's namespace "security" while Vault serves TLS/);
});

test('every object is valid against the Kubernetes API schemas', () => {
  expect(schemaErrors([...manifests, ...apps])).toEqual([]);
});

test('matches the snapshot (the script itself is checked against its bundle above)', () => {
  const withoutScript = manifests.map((m) => (m.kind === 'ConfigMap' ? { ...m, data: Object.keys(m.data) } : m));
  expect(withoutScript).toMatchSnapshot();
});

test.each<[string, Record<string, unknown>, RegExp]>([
  ['a schedule', { schedule: 'every minute' }, /invalid EsoRecoveryCron schedule: got "every minute"/],
])('rejects %s', (_case, props, message) => {
  expect(() => synth((chart) => {
    const vault = new VaultStack(chart, 'vault', { host: 'vault.example.com' });
    new EsoRecoveryCron(chart, 'recovery', { vault, store: new EsoStore(chart, 'store', { vault }), ...props } as EsoRecoveryCronProps);
  })).toThrow(message);
});
