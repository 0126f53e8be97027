import { execFileSync } from 'child_process';
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Chart } from 'cdk8s';
import { AppSecret, homelab, HomelabProps, VaultHttpRoute, VaultStorage } from '../../lib';
import { synthesize } from '../../build/synthesize';
import { root } from '../../build/bundle';
import { readManifests } from '../../tools/vault-setup/manifests';
import { assignments, main, NAMES, namesOf } from '../../tools/names/main';

// `npm run -s names`: the names the docs' commands use, read from a dist/ folder, for any homelab's values.
const PROPS: HomelabProps = {
  vault: { host: 'vault.lab.example.net', namespace: 'hashicorp', storage: VaultStorage.file({ claimName: 'old-claim' }) },
  ingressNginx: { proxyNamespace: 'kube-system' },
  store: { namespace: 'eso-system', storeName: 'lab-store' },
};

function dist(build: (outdir: string) => ReturnType<typeof homelab>['apps']): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'names-')), 'dist');
  synthesize(build, dir);
  return dir;
}

/** The homelab with app secrets in two namespaces: a store each. */
function withSecrets(h: ReturnType<typeof homelab>): ReturnType<typeof homelab>['apps'] {
  for (const namespace of ['wiki', 'db']) new AppSecret(h.secrets, namespace, { namespace, store: h.store, dataFrom: [{ path: namespace }] });
  return h.apps;
}

const file = dist((outdir) => withSecrets(homelab(outdir, PROPS)));

test('file storage: Vault\'s and ESO\'s namespaces, the pod, the claim, the store and the host', () => {
  expect(namesOf(readManifests(file))).toEqual({
    VAULT_NS: 'hashicorp', VAULT_POD: 'vault-0', VAULT_CLAIM: 'old-claim', ESO_NS: 'eso-system', STORES: 'lab-store-db lab-store-wiki', VAULT_HOST: 'vault.lab.example.net',
  });
});

test('Raft, with the UI on an HTTPRoute: pod 0\'s claim from the template, the route\'s host', () => {
  const raft = dist((outdir) => {
    const h = homelab(outdir, { ...PROPS, ingressNginx: undefined, vault: { host: 'vault.lab.example.net', namespace: 'hashicorp', storage: VaultStorage.raft() } });
    new VaultHttpRoute(new Chart(h.folder('ui'), 'vault-ui'), 'vault-ui', { vault: h.vault, gatewayName: 'gw', gatewayNamespace: 'gw', listenerName: 'https', implementation: 'envoy-gateway' });
    return withSecrets(h);
  });
  expect(namesOf(readManifests(raft))).toMatchObject({ VAULT_NS: 'hashicorp', VAULT_POD: 'vault-0', VAULT_CLAIM: 'data-vault-0', VAULT_HOST: 'vault.lab.example.net' });
});

test('a folder without Vault or a store: one line saying what to pass', () => {
  const eso = join(file, 'eso');
  expect(() => namesOf(readManifests(eso))).toThrow('expected one StatefulSet of Vault in the manifests, found 0: pass the folder npm run synth writes (--dist DIR)');
  expect(() => namesOf(readManifests(join(file, 'vault')))).toThrow('no ClusterSecretStore reading Vault in the manifests');
});

// What `npm run -s names -- --dist DIR` prints, from its main in this process: test/project/docs-names.cases.ts runs the
// docs' command, `npm run -s names` and all, as a process.
test('as the docs use it: `eval "$(npm run -s names -- --dist DIR)"` sets every variable in a shell', async () => {
  let printed = '';
  expect(await main(['--dist', file], { stdout: (text) => { printed += text; }, stderr: (text) => { printed += text; } })).toBe(0);
  const script = `eval "$(printf '%s' '${printed.replace(/'/g, `'\\''`)}')" && echo "${Object.keys(NAMES).map((k) => `$${k}`).join(' ')}"`;
  const out = execFileSync('bash', ['-c', script], { cwd: root, encoding: 'utf8', timeout: 60000 });
  expect(out.trim()).toBe('hashicorp vault-0 old-claim eso-system lab-store-db lab-store-wiki vault.lab.example.net');
  expect(assignments(namesOf(readManifests(file)))[0]).toMatch(/^VAULT_NS='hashicorp' +# Vault's namespace$/);
});

// Its main in this process (the exit code it returns, what it writes to stdout and stderr); the test above runs it as
// a process.
test('a wrong argument or folder: exit 1, one line on stderr', async () => {
  const run = async (args: string[]) => {
    let stdout = '';
    let stderr = '';
    const code = await main(args, { stdout: (text) => { stdout += text; }, stderr: (text) => { stderr += text; } });
    expect(stdout).toBe('');
    return { code, stderr };
  };
  expect(await run(['--dits', 'x'])).toEqual({ code: 1, stderr: 'unknown arguments ["--dits","x"]: usage: npm run -s names [-- --dist DIR]\n' });
  const missing = await run(['--dist', join(file, 'nothing')]);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/^\S+nothing: cannot read the manifests in \S+ \(ENOENT\): run `npm run synth`, or pass --dist DIR\n$/);
});
