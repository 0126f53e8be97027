import { UnsealCron, UnsealCronProps } from '../../lib';
import { bundleRuntime } from '../../lib/runtime-bundle';
import { find, Manifest, schemaErrors, synth } from '../support/manifests';
import { synthWithVault, testVault } from '../support/with-vault';

function unseal(props: Partial<UnsealCronProps> = {}): Manifest[] {
  return synthWithVault((chart, vault) => new UnsealCron(chart, 'unseal', { vault, ...props }));
}

const manifests = unseal();
const cron = find(manifests, 'CronJob', 'vault-auto-unseal');
const pod = cron.spec.jobTemplate.spec.template.spec;
const container = pod.containers[0];

test('defines the CronJob vault-auto-unseal and its script ConfigMap in security, and no Secret', () => {
  expect(manifests.map((m) => `${m.kind}/${m.metadata.namespace}/${m.metadata.name}`)).toEqual([
    'ConfigMap/security/vault-auto-unseal-script', 'CronJob/security/vault-auto-unseal', 'NetworkPolicy/security/vault-auto-unseal-egress',
  ]);
  expect(cron.spec.schedule).toBe('* * * * *');
});

test('ships the esbuild bundle of runtime/unseal.ts, small and without dependencies', () => {
  const script: string = find(manifests, 'ConfigMap', 'vault-auto-unseal-script').data['vault-auto-unseal.js'];
  expect(script).toBe(bundleRuntime('unseal'));
  expect(Buffer.byteLength(script)).toBeLessThan(50 * 1024);
  const required = [...script.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
  expect(new Set(required)).toEqual(new Set(['fs', 'path', 'http', 'https', 'net', 'dns', 'crypto']));
  expect(container.command).toEqual(['node', '/opt/script/vault-auto-unseal.js']);
});

test('mounts the Secret vault-unseal-key read-only where the script reads it', () => {
  expect(pod.volumes).toContainEqual({ name: 'unseal-keys', secret: { secretName: 'vault-unseal-key', defaultMode: 0o440, optional: true } });
  expect(container.volumeMounts).toContainEqual({ name: 'unseal-keys', mountPath: '/vault/unseal-keys', readOnly: true });
  expect(container.env).toContainEqual({ name: 'VAULT_UNSEAL_KEYS_DIR', value: '/vault/unseal-keys' });
  expect(JSON.stringify(container.env)).not.toMatch(/secretKeyRef/);
});

test('has no Kubernetes API token: unsealing is unauthenticated', () => {
  expect(pod.automountServiceAccountToken).toBe(false);
  expect(pod.serviceAccountName).toBeUndefined();
});

test('points VAULT_ADDR at the VaultStack Service that publishes a sealed, not-ready pod', () => {
  const out = synth((chart) => new UnsealCron(chart, 'unseal', { vault: testVault(chart, { namespace: 'vault' }) }));
  const service = find(out, 'Service', 'vault');
  expect(service.spec.publishNotReadyAddresses).toBe(true);
  const c = find(out, 'CronJob', 'vault-auto-unseal');
  expect(c.metadata.namespace).toBe('vault');
  expect(c.spec.jobTemplate.spec.template.spec.containers[0].env).toContainEqual({ name: 'VAULT_ADDR', value: 'https://vault.vault.svc.cluster.local:8200' });
  expect(container.env).toContainEqual({ name: 'VAULT_ADDR', value: 'https://vault.security.svc.cluster.local:8200' });
  expect(container.env).toContainEqual({ name: 'VAULT_CACERT', value: '/vault/ca/ca.crt' });
});

test('every object is valid against the Kubernetes API schemas', () => {
  expect(schemaErrors(manifests)).toEqual([]);
});

test('matches the snapshot (the script itself is checked against its bundle above)', () => {
  expect(manifests.map((m) => (m.kind === 'ConfigMap' ? { ...m, data: Object.keys(m.data) } : m))).toMatchSnapshot();
});

test.each<[string, Partial<UnsealCronProps>, RegExp]>([
  ['secret name', { unsealKeySecretName: 'Vault_Unseal' }, /invalid UnsealCron unsealKeySecretName: got "Vault_Unseal"/],
  ['retry window', { retryWindowSeconds: 60 }, /invalid UnsealCron retryWindowSeconds: got 60/],
])('rejects a wrong %s', (_case, props, message) => {
  expect(() => unseal(props)).toThrow(message);
});

