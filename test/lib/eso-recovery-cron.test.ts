import { EsoRecoveryCron, EsoRecoveryCronProps, EsoStore, VaultStack } from '../../lib';
import { bundleRuntime } from '../../lib/runtime-bundle';
import { find, Manifest, schemaErrors, synth } from '../helpers';

function recovery(props: EsoRecoveryCronProps = {}): Manifest[] {
  return synth((chart) => new EsoRecoveryCron(chart, 'recovery', props));
}

const manifests = recovery();
const cron = find(manifests, 'CronJob', 'eso-recovery');
const pod = cron.spec.jobTemplate.spec.template.spec;
const container = pod.containers[0];
const env = Object.fromEntries(container.env.map((e: any) => [e.name, e.value]));

test('defines the CronJob eso-recovery, its script, ServiceAccount and RBAC, under stable names', () => {
  expect(manifests.map((m) => `${m.kind}/${m.metadata.namespace ?? '-'}/${m.metadata.name}`)).toEqual([
    'ServiceAccount/security/eso-recovery', 'ClusterRole/-/eso-recovery', 'ClusterRoleBinding/-/eso-recovery',
    'Role/security/eso-recovery', 'RoleBinding/security/eso-recovery', 'Role/security/eso-recovery-vault-pod',
    'RoleBinding/security/eso-recovery-vault-pod', 'Role/default/eso-recovery-events',
    'RoleBinding/default/eso-recovery-events', 'ConfigMap/security/eso-recovery-script',
    'CronJob/security/eso-recovery',
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

test('may get the one store, get/patch the named ESO Deployments and create Events in one namespace, nothing else', () => {
  expect(find(manifests, 'ClusterRole', 'eso-recovery').rules).toEqual([
    { apiGroups: ['external-secrets.io'], resources: ['clustersecretstores'], resourceNames: ['k8s-secrets'], verbs: ['get'] },
  ]);
  expect(find(manifests, 'Role', 'eso-recovery').rules).toEqual([{
    apiGroups: ['apps'], resources: ['deployments'],
    resourceNames: ['external-secrets', 'external-secrets-cert-controller', 'external-secrets-webhook'], verbs: ['get', 'patch'],
  }]);
  expect(find(manifests, 'Role', 'eso-recovery-vault-pod').rules).toEqual([{ apiGroups: [''], resources: ['pods'], resourceNames: ['vault-0'], verbs: ['get'] }]);
  // An Event's name is chosen when it is created, so `create` cannot be limited by resourceNames: one namespace only.
  const events = find(manifests, 'Role', 'eso-recovery-events');
  expect(events.metadata.namespace).toBe('default');
  expect(events.rules).toEqual([{ apiGroups: [''], resources: ['events'], verbs: ['create'] }]);
  expect(find(manifests, 'RoleBinding', 'eso-recovery-events').subjects).toEqual([{ kind: 'ServiceAccount', name: 'eso-recovery', namespace: 'security' }]);
  const rules = manifests.filter((m) => m.kind.endsWith('Role')).flatMap((m) => m.rules);
  expect(JSON.stringify(rules)).not.toContain('*');
  for (const rule of rules) {
    expect(rule.resources).not.toContain('secrets');
    if (rule.resources[0] !== 'events') expect(rule.resourceNames.length).toBeGreaterThan(0);
  }
  for (const binding of ['ClusterRoleBinding', 'RoleBinding']) {
    expect(find(manifests, binding, 'eso-recovery').subjects).toEqual([{ kind: 'ServiceAccount', name: 'eso-recovery', namespace: 'security' }]);
  }
});

test('configures the script through its documented variables', () => {
  expect(env).toEqual({
    VAULT_ADDR: 'http://vault.security.svc.cluster.local:8200', ESO_NAMESPACE: 'security', ESO_STORE_NAME: 'k8s-secrets',
    ESO_DEPLOYMENTS: 'external-secrets,external-secrets-cert-controller,external-secrets-webhook', RESTART_COOLDOWN_SECONDS: '300',
    VAULT_POD: 'security/vault-0',
    VAULT_TIMEOUT_SECONDS: '5', RETRY_WINDOW_SECONDS: '40', RETRY_INTERVAL_SECONDS: '3', RUN_DEADLINE_SECONDS: '50',
  });
});

test('ships the esbuild bundle of runtime/eso-recovery.ts, small and without dependencies', () => {
  const script: string = find(manifests, 'ConfigMap', 'eso-recovery-script').data['eso-recovery.js'];
  expect(script).toBe(bundleRuntime('eso-recovery'));
  expect(Buffer.byteLength(script)).toBeLessThan(50 * 1024);
  const required = new Set([...script.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]));
  expect([...required].every((m) => ['fs', 'path', 'http', 'https', 'net'].includes(m))).toBe(true);
});

test('takes Vault, the store name and ESO\'s namespace from the other constructs', () => {
  const out = synth((chart) => {
    const vault = new VaultStack(chart, 'vault', { host: 'vault.example.com', namespace: 'vault' });
    const store = new EsoStore(chart, 'store', { vault, namespace: 'eso', storeName: 'vault-kv' });
    new EsoRecoveryCron(chart, 'recovery', { vault, store, deployments: ['external-secrets'], restartCooldownSeconds: 600 });
  });
  const e = Object.fromEntries(find(out, 'CronJob', 'eso-recovery').spec.jobTemplate.spec.template.spec.containers[0].env.map((x: any) => [x.name, x.value]));
  expect(e).toMatchObject({
    VAULT_ADDR: 'http://vault.vault.svc.cluster.local:8200', ESO_NAMESPACE: 'eso', ESO_STORE_NAME: 'vault-kv',
    ESO_DEPLOYMENTS: 'external-secrets', RESTART_COOLDOWN_SECONDS: '600', VAULT_POD: 'vault/vault-0',
  });
  expect(find(out, 'Role', 'eso-recovery-vault-pod').metadata.namespace).toBe('vault');
  expect(find(out, 'Role', 'eso-recovery').metadata.namespace).toBe('eso');
  expect(find(out, 'Role', 'eso-recovery').rules[0].resourceNames).toEqual(['external-secrets']);
  expect(find(out, 'ClusterRole', 'eso-recovery').rules[0].resourceNames).toEqual(['vault-kv']);
});

test('every object is valid against the Kubernetes API schemas', () => {
  expect(schemaErrors(manifests)).toEqual([]);
});

test('matches the snapshot', () => {
  expect(manifests).toMatchSnapshot();
});

test.each<[string, EsoRecoveryCronProps, RegExp]>([
  ['no deployments', { deployments: [] }, /invalid EsoRecoveryCron deployments: got \[\], expected at least one Deployment name/],
  ['a deployment name', { deployments: ['External-Secrets'] }, /invalid EsoRecoveryCron deployments: got "External-Secrets"/],
  ['a duplicate deployment', { deployments: ['a', 'a'] }, /invalid EsoRecoveryCron deployments: got "a", expected each Deployment once/],
  ['a cooldown under a minute', { restartCooldownSeconds: 30 }, /invalid EsoRecoveryCron restartCooldownSeconds: got 30, expected a whole number from 60/],
  ['a store name', { storeName: 'K8s' }, /invalid EsoRecoveryCron storeName: got "K8s"/],
  ['an ESO namespace', { esoNamespace: 'eso system' }, /invalid EsoRecoveryCron esoNamespace: got "eso system"/],
  ['a vault address', { vaultAddr: 'http://vault:8200/' }, /invalid EsoRecoveryCron vaultAddr: got "http:\/\/vault:8200\/"/],
  ['a schedule', { schedule: 'every minute' }, /invalid EsoRecoveryCron schedule: got "every minute"/],
  ['a Vault pod without namespace', { vaultPod: 'vault-0' }, /invalid EsoRecoveryCron vaultPod: got "vault-0", expected namespace\/name of Vault's pod/],
  ['a misspelled prop', { deployment: ['external-secrets'] } as any, /^test\/recovery: invalid EsoRecoveryCron: unknown prop "deployment" \(did you mean "deployments"\?\)$/],
])('rejects %s', (_case, props, message) => {
  expect(() => recovery(props)).toThrow(message);
});
