import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as YAML from 'yaml';
import { App, Chart } from 'cdk8s';
import { buildApp, synthesize } from '../main';
import { VaultStack } from '../lib';
import { find, Manifest, schemaErrors } from './helpers';

function synthTo(): { dir: string; files: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'synth-'));
  buildApp(dir).synth();
  const files: Record<string, string> = {};
  for (const f of readdirSync(dir).sort()) files[f] = readFileSync(join(dir, f), 'utf8');
  rmSync(dir, { recursive: true, force: true });
  return { dir, files };
}

const distDir = join(__dirname, '..', 'dist');

test('two syntheses give the same bytes', () => {
  expect(synthTo().files).toEqual(synthTo().files);
});

test('the committed dist/ equals a fresh synthesis (run `npm run synth` and commit dist/ if this fails)', () => {
  const fresh = synthTo().files;
  const committed: Record<string, string> = {};
  for (const f of readdirSync(distDir).sort()) committed[f] = readFileSync(join(distDir, f), 'utf8');
  expect(Object.keys(committed)).toEqual(Object.keys(fresh));
  for (const name of Object.keys(fresh)) expect({ name, yaml: committed[name] }).toEqual({ name, yaml: fresh[name] });
});

test('names in the output are stable, never hashed', () => {
  const all = Object.values(synthTo().files).join('\n');
  const names = [...all.matchAll(/^  name: (\S+)$/gm)].map((m) => m[1]);
  expect(names.length).toBeGreaterThan(0);
  for (const name of names) expect(name).not.toMatch(/-c8[0-9a-f]{6,}$/);
});

describe('the homelab app', () => {
  const manifests = Object.values(synthTo().files).flatMap((yaml) => YAML.parseAllDocuments(yaml).map((d) => d.toJSON())) as Manifest[];

  test('every synthesized object is valid against its API or CRD schema', () => {
    expect(schemaErrors(manifests)).toEqual([]);
  });

  test('reads the seed\'s secrets through the store, one ExternalSecret each', () => {
    const secrets = manifests.filter((m) => m.kind === 'ExternalSecret');
    expect(secrets.map((m) => `${m.metadata.namespace}/${m.metadata.name}`)).toEqual([
      'db/postgres-secret', 'authentik/authentik-db', 'authentik/authentik-secret', 'monitoring/grafana-admin',
    ]);
    for (const es of secrets) expect(es.spec.secretStoreRef).toEqual({ name: 'k8s-secrets', kind: 'ClusterSecretStore' });
    for (const es of secrets.slice(1)) expect(es.spec.dataFrom).toEqual([{ extract: { key: es.metadata.name } }]);
    const store = find(manifests, 'ClusterSecretStore', 'k8s-secrets');
    expect(store.spec.provider.vault.server).toBe('http://vault.security.svc.cluster.local:8200');
  });

  test('synthesizes no Secret: secret values live in Vault, and the unseal Secret is provided by a human', () => {
    expect(manifests.filter((m) => m.kind === 'Secret')).toEqual([]);
    expect(manifests.filter((m) => m.kind === 'ExternalSecret').length).toBeGreaterThan(0);
  });

  test('writes one file per chart', () => {
    expect(Object.keys(synthTo().files)).toEqual([
      'app-secrets.k8s.yaml', 'eso-recovery.k8s.yaml', 'eso-store.k8s.yaml', 'vault-alerts.k8s.yaml', 'vault-backup.k8s.yaml',
      'vault-unseal.k8s.yaml', 'vault.k8s.yaml',
    ]);
  });
});

test('a wrong prop fails synthesis and leaves the output folder as it was', () => {
  const dir = mkdtempSync(join(tmpdir(), 'synth-'));
  writeFileSync(join(dir, 'vault.k8s.yaml'), 'previous');
  const broken = () => {
    const app = new App({ outdir: dir });
    new VaultStack(new Chart(app, 'vault'), 'vault', { host: 'Vault.Example.com' });
    return app;
  };
  expect(() => synthesize(broken)).toThrow('invalid VaultStack host: got "Vault.Example.com"');
  expect(readdirSync(dir)).toEqual(['vault.k8s.yaml']);
  expect(readFileSync(join(dir, 'vault.k8s.yaml'), 'utf8')).toBe('previous');
  rmSync(dir, { recursive: true, force: true });
});
