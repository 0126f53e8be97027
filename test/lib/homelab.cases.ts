import { mkdtempSync, readdirSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join, relative } from 'path';
import * as YAML from 'yaml';
import { Chart } from 'cdk8s';
import { AppSecret, homelab, homelabMigration, HomelabProps, VaultHttpRoute, VaultStorage, VaultTls } from '../../lib';
import { synthesize } from '../../build/synthesize';
import { root } from '../../build/bundle';

// The composition main.ts and every example call: each folder of dist/ it makes, what a site value reaches, what can
// be left out, and the migration's runbook in the app's own names. Test values of their own, never this homelab's.
const FILE: HomelabProps = {
  vault: { host: 'vault.lab.example.net', namespace: 'hashicorp', storage: VaultStorage.file({ claimName: 'old-claim' }) },
  ingressNginx: { proxyNamespace: 'kube-system' },
  store: { namespace: 'eso-system' },
};
const RAFT: HomelabProps = { ...FILE, vault: { host: 'vault.lab.example.net', namespace: 'hashicorp', storage: VaultStorage.raft() } };

/** What a build writes: each file's objects, by path relative to the output folder. */
function written(build: (outdir: string) => ReturnType<typeof homelabMigration>) {
  const dir = join(mkdtempSync(join(tmpdir(), 'homelab-')), 'out');
  const { files } = synthesize(build, dir);
  const objects = (file: string) => YAML.parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d) => d.toJSON());
  return { dir, files: files.map((f) => f.file), objects };
}

test('one folder per GitOps unit: vault, eso, admission, alerts and apps, and a folder made after it returns is in its apps', () => {
  const out = written((outdir) => {
    const h = homelab(outdir, { ...FILE, ingressNginx: undefined });
    new AppSecret(h.secrets, 'wiki', { namespace: 'wiki', store: h.store, dataFrom: [{ path: 'wiki' }] });
    new VaultHttpRoute(new Chart(h.folder('ui'), 'vault-ui'), 'vault-ui', { vault: h.vault, gatewayName: 'gw', gatewayNamespace: 'gw', listenerName: 'https', implementation: 'envoy-gateway' });
    expect(h.folder('ui')).toBe(h.folder('ui'));
    return h.apps;
  });
  expect([...new Set(out.files.map((f) => f.split('/')[0]))].sort()).toEqual(['admission', 'alerts', 'apps', 'eso', 'ui', 'vault']);
  expect(out.objects('admission/eso-recovery-admission.k8s.yaml').map((o) => `${o.apiVersion} ${o.kind}`))
    .toEqual(['admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy', 'admissionregistration.k8s.io/v1 ValidatingAdmissionPolicyBinding']);
  expect(out.files).toEqual(expect.arrayContaining(['vault/vault.k8s.yaml', 'vault/vault-unseal.k8s.yaml', 'vault/eso-recovery.k8s.yaml', 'vault/vault-backup.k8s.yaml']));
});

test('Vault\'s namespace reaches Vault and its jobs; ESO\'s reaches the store\'s account', () => {
  const out = written((outdir) => {
    const h = homelab(outdir, FILE);
    new AppSecret(h.secrets, 'wiki', { namespace: 'wiki', store: h.store, dataFrom: [{ path: 'wiki' }] });
    return h.apps;
  });
  const namespaces = (file: string, kind: string) => out.objects(file).filter((o) => o.kind === kind).map((o) => o.metadata.namespace);
  expect(namespaces('vault/vault.k8s.yaml', 'StatefulSet')).toEqual(['hashicorp']);
  expect(namespaces('vault/vault-unseal.k8s.yaml', 'CronJob')).toEqual(['hashicorp']);
  // The recovery job runs beside Vault: with TLS (the default) it mounts Vault's CA, from a Secret of Vault's namespace.
  expect(namespaces('vault/eso-recovery.k8s.yaml', 'CronJob')).toEqual(['hashicorp']);
  expect(namespaces('eso/eso-store.k8s.yaml', 'ServiceAccount')).toEqual(['eso-system']);
  const store = out.objects('eso/eso-store.k8s.yaml').find((o) => o.kind === 'ClusterSecretStore');
  expect(store.spec.provider.vault.server).toBe('https://vault.hashicorp.svc.cluster.local:8200');
  expect(store.spec.provider.vault.caProvider).toMatchObject({ type: 'Secret', namespace: 'hashicorp' });
  expect(store.spec.provider.vault.auth.kubernetes.serviceAccountRef.namespace).toBe('eso-system');
  const plain = written((outdir) => {
    const h = homelab(outdir, { ...FILE, vault: { ...FILE.vault, tls: VaultTls.none() } });
    new AppSecret(h.secrets, 'wiki', { namespace: 'wiki', store: h.store, dataFrom: [{ path: 'wiki' }] });
    return h.apps;
  });
  expect(plain.objects('eso/eso-store.k8s.yaml').find((o) => o.kind === 'ClusterSecretStore').spec.provider.vault.server)
    .toBe('http://vault.hashicorp.svc.cluster.local:8200');
});

test('the UI through ingress-nginx goes beside Vault in dist/vault, its controller let through the NetworkPolicy', () => {
  const out = written((outdir) => homelab(outdir, FILE).apps);
  const vault = out.objects('vault/vault.k8s.yaml');
  expect(vault.filter((o) => o.kind === 'Ingress').map((o) => o.spec.rules[0].host)).toEqual(['vault.lab.example.net']);
  const policy = vault.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'vault');
  expect(policy.spec.ingress[0].from[0]).toEqual({
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
    podSelector: { matchLabels: { 'app.kubernetes.io/name': 'ingress-nginx', 'app.kubernetes.io/component': 'controller' } },
  });
  // The policy follows the objects whose clients it admits.
  const order = vault.map((o) => `${o.kind}/${o.metadata.name}`);
  expect(order.indexOf('NetworkPolicy/vault')).toBeGreaterThan(order.indexOf('Ingress/vault'));
});

test('backups, alerts and the admission policy (for Kubernetes 1.28–1.29) can be left out; Raft adds the snapshots and their alerts', () => {
  const bare = written((outdir) => homelab(outdir, { ...FILE, backup: false, alerts: false, admissionPolicies: false }).apps);
  expect(bare.files).not.toContain('vault/vault-backup.k8s.yaml');
  expect(bare.files.filter((f) => f.startsWith('alerts/') || f.startsWith('admission/'))).toEqual([]);
  const raft = written((outdir) => homelab(outdir, RAFT).apps);
  expect(raft.files).toEqual(expect.arrayContaining(['vault/vault-raft-snapshot.k8s.yaml', 'alerts/vault-snapshot-alerts.k8s.yaml']));
  const noSnapshots = written((outdir) => homelab(outdir, { ...RAFT, snapshots: false }).apps);
  expect(noSnapshots.files).not.toContain('vault/vault-raft-snapshot.k8s.yaml');
});

test('one line for a mistake: snapshots on file storage, a folder name that is no folder', () => {
  expect(() => homelab(mkdtempSync(join(tmpdir(), 'h-')), { ...FILE, snapshots: {} }))
    .toThrow('invalid homelab snapshots: got {}, expected false or nothing with file storage: Raft snapshots need storage "raft"');
  expect(() => homelab(mkdtempSync(join(tmpdir(), 'h-')), FILE).folder('../ui')).toThrow('invalid homelab folder: got "../ui", expected a lowercase folder name such as "ui"');
});

describe('the migration to Raft', () => {
  const out = written((outdir) => homelabMigration(outdir, RAFT, 'old-claim'));
  const runbook = readFileSync(join(out.dir, 'RUNBOOK.md'), 'utf8');

  test('writes its manifests and its runbook, nothing of dist/', () => {
    expect(readdirSync(out.dir).sort()).toEqual(['RUNBOOK.md', 'migration.k8s.yaml']);
    expect(out.objects('migration.k8s.yaml').map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`).sort())
      .toEqual(['ConfigMap hashicorp/vault-migrate-to-raft', 'Job hashicorp/vault-migrate-to-raft', 'PersistentVolumeClaim hashicorp/data-vault-0']);
  });

  test('the runbook\'s commands use the app\'s names: its namespace, both claims, its pods, store and folders', () => {
    const commands = runbook.split('\n').filter((l) => /^\s*(kubectl|for cj|pv=|argocd|vault |export )/.test(l) || /`kubectl /.test(l));
    expect(commands.length).toBeGreaterThan(10);
    for (const line of commands.filter((l) => /kubectl -n /.test(l) && !/longhorn-system|eso-recovery/.test(l))) expect(line).toMatch(/kubectl -n hashicorp /);
    expect(runbook).toContain('get pvc old-claim');
    expect(runbook).toContain('get pvc data-vault-0');
    // Each CronJob in its namespace: both in Vault's, beside it.
    expect(runbook).toContain(`kubectl -n hashicorp patch cronjob vault-auto-unseal -p '{"spec":{"suspend":true}}'`);
    expect(runbook).toContain(`kubectl -n hashicorp patch cronjob eso-recovery -p '{"spec":{"suspend":true}}'`);
    // The Raft layout serves TLS: the check talks https to the port-forward and trusts the CA read from its Secret.
    expect(runbook).toContain(`kubectl -n hashicorp get secret vault-server-tls -o jsonpath='{.data.ca\\.crt}' | base64 -d > vault-ca.crt`);
    expect(runbook).toContain('export VAULT_ADDR=https://127.0.0.1:8200 VAULT_CACERT="$(pwd)/vault-ca.crt"; vault login');
    expect(runbook).toContain('kubectl get clustersecretstores ');
    expect(runbook).toContain('vault-0, vault-1, vault-2');
    // The folders, relative to the repository's root: this one, and dist/ beside it.
    const folder = relative(root, out.dir);
    expect(runbook).toContain(`kubectl apply -f ${folder}/migration.k8s.yaml`);
    expect(runbook).toContain(`npm run vault-setup -- apply --dist ${join(dirname(folder), 'dist')}`);
  });

  test('a file-storage Vault is refused as the destination', () => {
    expect(() => written((outdir) => homelabMigration(outdir, FILE, 'old-claim'))).toThrow(/invalid VaultRaftMigration vault: got "storage \\"file\\"", expected a VaultStack with storage "raft"/);
  });
});
