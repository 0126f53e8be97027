import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { AppSecret, homelab, HomelabProps, VaultBootstrapProps, VaultStorage } from '../../lib';
import { synthesize } from '../../build/synthesize';
import { bundleRuntime } from '../../lib/runtime-bundle';
import { deriveConfig } from '../../runtime/common/vault-config/derive';
import { DesiredConfig } from '../../runtime/common/vault-config/desired';
import { parseRules } from '../../runtime/common/vault-config/policy';
import { readManifests } from '../../tools/vault-setup/manifests';
import { ageKeyPair } from '../support/age-decrypt';

// The bootstrap as synthesized: what its Role may touch, the plan rendered into its ConfigMap (the very plan
// vault-setup derives from the same dist/), the policies of its identity and of the writer, and the synthesis errors.
// Test values of their own, never this homelab's.
const RECIPIENT = ageKeyPair().recipient;
const SITE: HomelabProps = {
  vault: { host: 'vault.lab.example.net', namespace: 'hashicorp', storage: VaultStorage.file({ claimName: 'data' }) },
  store: { namespace: 'eso-system' },
  alerts: false,
};

function build(bootstrap: Partial<VaultBootstrapProps> = {}, props: Partial<HomelabProps> = {}) {
  const dir = join(mkdtempSync(join(tmpdir(), 'bootstrap-')), 'dist');
  synthesize((outdir) => {
    const h = homelab(outdir, { ...SITE, ...props, bootstrap: { escrowRecipient: RECIPIENT, ...bootstrap } });
    new AppSecret(h.secrets, 'wiki', { namespace: 'wiki', store: h.store, data: [{ secretKey: 'TOKEN', path: 'wiki/api', property: 'token' }] });
    new AppSecret(h.secrets, 'db', { namespace: 'db', store: h.store, dataFrom: [{ path: 'db' }] });
    return h.apps;
  }, dir);
  const docs = readManifests(dir);
  const find = (kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata?.name === name)!;
  const want: DesiredConfig = JSON.parse(find('ConfigMap', 'vault-bootstrap-plan').data['desired.json']);
  return { dir, docs, find, want };
}

const site = build();
const rulesOf = (want: DesiredConfig, name: string) => parseRules(want.policies.find((p) => p.name === name)!.lines.join('\n'))!;
const capabilities = (rules: Map<string, Set<string>>) => [...rules].flatMap(([path, caps]) => [...caps].map((c) => `${c} ${path}`));

test('the plan in the job\'s ConfigMap is the plan vault-setup derives from the same dist/', () => {
  // vault-setup also records each store's file of dist/, which the synthesized objects do not have.
  const withoutFiles = (want: unknown) => JSON.parse(JSON.stringify(want, (key, value) => (key === 'file' ? undefined : value)));
  expect(site.want).toEqual(withoutFiles(deriveConfig(site.docs).want));
  expect(site.want.roles.map((r) => r.name)).toEqual(expect.arrayContaining(['vault-bootstrap', 'secret-writer']));
  expect(site.want.audit).toEqual({ path: 'stdout', type: 'file', options: { file_path: 'stdout' } });
});

test('its Role creates Secrets in Vault\'s namespace and gets and updates only the unseal Secret and the escrow', () => {
  const role = site.find('Role', 'vault-bootstrap');
  expect(role.metadata.namespace).toBe('hashicorp');
  const unsealSecret = site.find('CronJob', 'vault-auto-unseal').spec.jobTemplate.spec.template.spec.volumes.find((v: any) => v.name === 'unseal-keys').secret.secretName;
  expect(role.rules).toEqual([
    { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
    { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'update'], resourceNames: [unsealSecret, 'vault-unseal-escrow'] },
    { apiGroups: [''], resources: ['events'], verbs: ['create'] },
  ]);
  expect(site.docs.filter((d) => d.kind === 'Secret')).toEqual([]);
});

test('the job\'s identity: exact paths, sudo only on sys/auth/* and sys/audit*, its own policy and role read-only', () => {
  const job = capabilities(rulesOf(site.want, 'vault-bootstrap'));
  expect(job.filter((c) => c.startsWith('sudo ')).sort()).toEqual(['sudo sys/audit', 'sudo sys/audit/stdout', 'sudo sys/auth/kubernetes']);
  expect(job.filter((c) => /\*|\+/.test(c))).toEqual([]);
  expect(job.filter((c) => c.endsWith('/vault-bootstrap')).sort()).toEqual(['read auth/kubernetes/role/vault-bootstrap', 'read sys/policies/acl/vault-bootstrap']);
  // Every other policy and role the plan holds it may write; values it may not read (subkeys answers names only).
  for (const policy of site.want.policies.filter((p) => p.name !== 'vault-bootstrap')) expect(job).toContain(`update sys/policies/acl/${policy.name}`);
  expect(job.filter((c) => /^read secret\/data\//.test(c))).toEqual([]);
  const report = build({ mode: 'report' }).want;
  expect(capabilities(rulesOf(report, 'vault-bootstrap')).filter((c) => /^(create|update|delete|patch) /.test(c))).toEqual([]);
});

test('the writer creates and updates exactly the paths the ExternalSecrets read, and reads nothing', () => {
  expect(capabilities(rulesOf(site.want, 'secret-writer')).sort()).toEqual([
    'create secret/data/db', 'create secret/data/wiki/api', 'update secret/data/db', 'update secret/data/wiki/api',
  ]);
  const writer = site.want.roles.find((r) => r.name === 'secret-writer')!;
  expect([writer.serviceAccounts, writer.namespaces]).toEqual([['vault-secret-writer'], ['hashicorp']]);
  expect(site.find('ServiceAccount', 'vault-secret-writer').automountServiceAccountToken).toBe(false);
});

test('the CronJob runs in Vault\'s namespace with its own ServiceAccount, the plan mounted, the recipient and the shares\' count', () => {
  const pod = site.find('CronJob', 'vault-bootstrap').spec.jobTemplate.spec.template.spec;
  const env = Object.fromEntries(pod.containers[0].env.map((e: any) => [e.name, e.value]));
  expect(pod.serviceAccountName).toBe('vault-bootstrap');
  expect(env).toMatchObject({ ESCROW_RECIPIENT: RECIPIENT, BOOTSTRAP_SHARES: '5', BOOTSTRAP_THRESHOLD: '3', POD_NAMESPACE: 'hashicorp', BOOTSTRAP_MODE: 'apply' });
  expect(pod.volumes).toContainEqual({ name: 'plan', configMap: { name: 'vault-bootstrap-plan', defaultMode: 0o444 } });
});

test('ships the esbuild bundle of runtime/vault-bootstrap.ts, small and with no dependency but Node.js\'s own', () => {
  const script: string = site.find('ConfigMap', 'vault-bootstrap-script').data['vault-bootstrap.js'];
  expect(script).toBe(bundleRuntime('vault-bootstrap'));
  expect(Buffer.byteLength(script)).toBeLessThan(128 * 1024);
  const required = new Set([...script.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]));
  expect([...required].filter((m) => !['fs', 'path', 'http', 'https', 'net', 'dns', 'crypto', 'tls'].includes(m))).toEqual([]);
});

test('escrow waived: no escrow Secret in the Role, and the job told so', () => {
  const waived = build({ escrowRecipient: undefined, escrowWaived: true });
  expect(waived.find('Role', 'vault-bootstrap').rules[1].resourceNames).toHaveLength(1);
  const env = waived.find('CronJob', 'vault-bootstrap').spec.jobTemplate.spec.template.spec.containers[0].env;
  expect(env).toContainEqual({ name: 'ESCROW_RECIPIENT', value: 'waived' });
});

test.each([
  ['no recipient', { escrowRecipient: undefined }, /^invalid VaultBootstrap escrowRecipient: got undefined, expected an age recipient/],
  ['a recipient that is not age\'s', { escrowRecipient: 'npub1qqqq' }, /^invalid VaultBootstrap escrowRecipient: got "npub1qqqq", expected an age recipient/],
  ['a recipient and the waiver', { escrowWaived: true }, /^invalid VaultBootstrap escrowWaived: got true/],
  ['a threshold of 1 with 5 shares', { threshold: 1 }, /^invalid VaultBootstrap threshold: got 1, expected 2 or more with 5 shares/],
  ['more threshold than shares', { shares: 3, threshold: 4 }, /^invalid VaultBootstrap threshold: got 4/],
  ['an unknown mode', { mode: 'sync' as never }, /^invalid VaultBootstrap mode: got "sync"/],
])('synthesis refuses %s, in one line naming the prop', (_what, props, message) => {
  let error: Error | undefined;
  try {
    build(props);
  } catch (e) {
    error = e as Error;
  }
  expect(error?.message.split('\n')).toHaveLength(1);
  expect(error?.message.replace(/^[^:]*vault-bootstrap: /, '')).toMatch(message);
});
