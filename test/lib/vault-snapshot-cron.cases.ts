import { VaultSnapshotCron, VaultSnapshotCronProps, VaultStack, VaultStorage } from '../../lib';
import { bundleRuntime } from '../../lib/runtime-bundle';
import { find, Manifest, schemaErrors, synth } from '../support/manifests';

function snapshots(props: Partial<VaultSnapshotCronProps> = {}): { manifests: Manifest[]; construct: VaultSnapshotCron } {
  let construct!: VaultSnapshotCron;
  const manifests = synth((chart) => {
    const vault = new VaultStack(chart, 'vault', { host: 'vault.example.com', storage: VaultStorage.raft(), networkPolicy: false });
    construct = new VaultSnapshotCron(chart, 'snapshots', { vault, ...props });
  }).filter((m) => m.metadata.labels?.['app.kubernetes.io/name'] !== 'vault' && m.metadata.name !== 'vault-server-binding');
  return { manifests, construct };
}

const { manifests, construct } = snapshots();
const cron = find(manifests, 'CronJob', 'vault-raft-snapshot');
const job = cron.spec.jobTemplate.spec;
const pod = job.template.spec;
const container = pod.containers[0];
const env = (c: any = container) => Object.fromEntries(c.env.map((e: { name: string; value: string }) => [e.name, e.value]));

test('defines the CronJob, its script, its ServiceAccount, its claim and the claim\'s Longhorn backup, nothing more', () => {
  expect(manifests.map((m) => `${m.kind}/${m.metadata.namespace}/${m.metadata.name}`).sort()).toEqual([
    'ConfigMap/security/vault-raft-snapshot-script', 'CronJob/security/vault-raft-snapshot',
    'PersistentVolumeClaim/security/vault-raft-snapshots', 'RecurringJob/longhorn-system/vault-raft-snapshots-backup',
    'ServiceAccount/security/vault-raft-snapshot',
  ]);
  // No Role, no binding: the token proves the job's identity to Vault and opens nothing in Kubernetes.
  expect(manifests.some((m) => /Role/.test(m.kind))).toBe(false);
});

test('ships the bundle of runtime/raft-snapshot.ts with Node.js built-ins only', () => {
  const script: string = find(manifests, 'ConfigMap', 'vault-raft-snapshot-script').data['vault-raft-snapshot.js'];
  expect(script).toBe(bundleRuntime('raft-snapshot'));
  const required = new Set([...script.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]));
  for (const name of required) expect(['fs', 'path', 'http', 'https', 'net', 'crypto', 'stream', 'stream/promises', 'zlib']).toContain(name);
});

test('its own deadline and memory, not the minute scripts\' 55 s and 96 Mi; the script stops 5 s before Kubernetes would', () => {
  expect(job.activeDeadlineSeconds).toBe(900);
  expect(env().RUN_DEADLINE_SECONDS).toBe('895');
  expect(container.resources.limits.memory).toBe('160Mi');
  expect(cron.spec.schedule).toBe('15 * * * *');
  expect(cron.spec.concurrencyPolicy).toBe('Forbid');
  const custom = snapshots({ deadlineSeconds: 1800, memoryLimit: '256Mi', schedule: '0 */6 * * *' }).manifests;
  const c = find(custom, 'CronJob', 'vault-raft-snapshot');
  expect(c.spec.jobTemplate.spec.activeDeadlineSeconds).toBe(1800);
  expect(env(c.spec.jobTemplate.spec.template.spec.containers[0]).RUN_DEADLINE_SECONDS).toBe('1795');
  expect(c.spec.jobTemplate.spec.template.spec.containers[0].resources.limits.memory).toBe('256Mi');
});

test('mounts its own claim writable where the script writes, with the root filesystem read-only and the token mounted', () => {
  expect(pod.volumes).toContainEqual({ name: 'snapshots', persistentVolumeClaim: { claimName: 'vault-raft-snapshots' } });
  expect(container.volumeMounts).toContainEqual({ name: 'snapshots', mountPath: '/snapshots', readOnly: false });
  expect(container.volumeMounts).toContainEqual({ name: 'script', mountPath: '/opt/script', readOnly: true });
  expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
  expect(pod.serviceAccountName).toBe('vault-raft-snapshot');
  expect(pod.automountServiceAccountToken).toBe(true);
  expect(pod.securityContext.fsGroup).toBe(1000);
  expect(env()).toMatchObject({
    SNAPSHOT_DIR: '/snapshots', SNAPSHOT_KEEP: '24', VAULT_AUTH_MOUNT: 'kubernetes', VAULT_ROLE: 'vault-raft-snapshot', STALL_SECONDS: '30',
  });
});

test('the claim opts into exactly its own Longhorn backup job, and is never pruned', () => {
  const claim = find(manifests, 'PersistentVolumeClaim', 'vault-raft-snapshots');
  expect(claim.metadata.labels).toMatchObject({
    'recurring-job.longhorn.io/source': 'enabled', 'recurring-job.longhorn.io/vault-raft-snapshots-backup': 'enabled',
  });
  expect(claim.metadata.annotations['argocd.argoproj.io/sync-options']).toBe('Prune=false,Delete=false');
  const backup = find(manifests, 'RecurringJob', 'vault-raft-snapshots-backup');
  expect(backup.spec).toMatchObject({ task: 'backup', cron: '45 3 * * *', retain: 14, groups: [] });
  const without = snapshots({ longhornBackup: false }).manifests;
  expect(without.some((m) => m.kind === 'RecurringJob')).toBe(false);
  expect(Object.keys(find(without, 'PersistentVolumeClaim', 'vault-raft-snapshots').metadata.labels)).toEqual(['app.kubernetes.io/name']);
});

test('exposes what dependants need: namespace, pod labels matching the pods, policy, role, ServiceAccount', () => {
  expect(construct.namespace).toBe('security');
  expect(job.template.metadata.labels).toEqual(construct.podLabels);
  expect(construct.policy).toBe('path "sys/storage/raft/snapshot" {\n  capabilities = ["read"]\n}\n');
  expect([construct.role, construct.authMount, construct.serviceAccountName]).toEqual(['vault-raft-snapshot', 'kubernetes', 'vault-raft-snapshot']);
});

test('refuses a VaultStack on file storage, which takes no Raft snapshot', () => {
  expect(() => synth((chart) => new VaultSnapshotCron(chart, 's', { vault: new VaultStack(chart, 'vault', { host: 'vault.example.com' }) })))
    .toThrow(/invalid VaultSnapshotCron vault: got "a VaultStack with storage \\"file\\"", expected a VaultStack with storage "raft"/);
});

test('follows the VaultStack\'s namespace and its active node\'s URL', () => {
  const out = synth((chart) => new VaultSnapshotCron(chart, 's', { vault: new VaultStack(chart, 'vault', { host: 'vault.example.com', namespace: 'vault', storage: VaultStorage.raft() }) }));
  const c = find(out, 'CronJob', 'vault-raft-snapshot');
  // Vault's NetworkPolicy admits the job's pods.
  const from = find(out, 'NetworkPolicy', 'vault').spec.ingress[0].from;
  expect(from).toContainEqual({
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'vault' } },
    podSelector: { matchLabels: c.spec.jobTemplate.spec.template.metadata.labels },
  });
  expect(c.metadata.namespace).toBe('vault');
  expect(env(c.spec.jobTemplate.spec.template.spec.containers[0]).VAULT_ADDR).toBe('https://vault-active.vault.svc.cluster.local:8200');
  expect(env(c.spec.jobTemplate.spec.template.spec.containers[0]).VAULT_CACERT).toBe('/vault/ca/ca.crt');
});

test('every object is valid against the Kubernetes API and Longhorn schemas', () => {
  expect(schemaErrors(manifests)).toEqual([]);
});

test.each<[string, Partial<VaultSnapshotCronProps>, RegExp]>([
  ['a deadline under a minute', { deadlineSeconds: 30 }, /^test\/snapshots: invalid VaultSnapshotCron deadlineSeconds: got 30, expected/],
  ['a stall bound beyond the deadline', { deadlineSeconds: 120, stallSeconds: 200 }, /invalid VaultSnapshotCron stallSeconds: got 200, expected less than deadlineSeconds minus 5 \(115\)/],
  ['keep 0', { keep: 0 }, /invalid VaultSnapshotCron keep: got 0/],
  ['a role with a slash', { role: 'a/b' }, /invalid VaultSnapshotCron role: got "a\/b"/],
  ['a window longer than the deadline allows', { deadlineSeconds: 60, retryWindowSeconds: 55 }, /invalid VaultSnapshotCron retryWindowSeconds: got 55, expected at most 45/],
])('refuses %s', (_name, props, message) => {
  expect(() => snapshots(props)).toThrow(message);
});
