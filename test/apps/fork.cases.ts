import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, relative } from 'path';
import * as YAML from 'yaml';
import { root } from '../../build/bundle';
import { Run } from '../support/run-script';
import { synthInProcess } from '../support/synth-in-process';

// Another homelab adopts the project: it copies main.ts (or an example's, over main.ts, without editing its imports),
// changes the site block's values and synthesizes. Whatever values this repository's main.ts holds today, the fork's
// output names only the fork's: no object keeps the old namespace, host or claim (the bundled scripts' text aside,
// whose defaults every CronJob overrides through its environment), and the migration's runbook neither.

/** The site block's string values, by key, as `key: 'value'` lines of `const site = { ... };`. */
export function siteValues(source: string): Map<string, string> {
  const block = /^const site = \{\n([\s\S]*?)^\};/m.exec(source);
  if (!block) throw new Error('no `const site = { ... };` block');
  return new Map([...block[1].matchAll(/^ {2}(\w+): '([^']*)',/gm)].map(([, key, value]) => [key, value]));
}

/** A value for the fork that is none of the old ones (nor contains one). */
const forkValue = (old: string, choices: string[]) => choices.find((c) => !c.includes(old) && !old.includes(c))!;
const FORK_CHOICES: Record<string, string[]> = {
  host: ['vault.fork.example.net', 'secrets.fork2.example.org'],
  vaultNamespace: ['vault', 'hashicorp'],
  esoNamespace: ['external-secrets', 'eso-system'],
  claimName: ['fork-claim', 'vault-storage-2'],
  ingressControllerNamespace: ['kube-system', 'traefik'],
};

/** The source with the site's values replaced by a fork's; returns it and the pairs replaced. */
export function forked(source: string): { source: string; replaced: Array<[string, string, string]> } {
  const replaced: Array<[string, string, string]> = [];
  let out = source;
  for (const [key, old] of siteValues(source)) {
    if (!FORK_CHOICES[key]) continue;
    const value = forkValue(old, FORK_CHOICES[key]);
    out = out.replace(`  ${key}: '${old}',`, `  ${key}: '${value}',`);
    replaced.push([key, old, value]);
  }
  return { source: out, replaced };
}

/** Every string value in `value`, keys left out (an annotation's key such as `container.apparmor.security...` is no name). */
const stringValues = (value: unknown): string[] => (typeof value === 'string' ? [value]
  : Array.isArray(value) ? value.flatMap(stringValues)
    : value && typeof value === 'object' ? Object.values(value).flatMap(stringValues) : []);

/** The values of every field called `namespace` or `kubernetes.io/metadata.name` (a namespaceSelector's), at any depth. */
const namespaceFields = (value: unknown): string[] => (Array.isArray(value) ? value.flatMap(namespaceFields)
  : value && typeof value === 'object' ? Object.entries(value).flatMap(([k, v]) => (
    (k === 'namespace' || k === 'kubernetes.io/metadata.name') && typeof v === 'string' ? [v] : namespaceFields(v)))
    : []);

/** An object written under `dir`, ConfigMaps without their bundled scripts: its string values, and its namespace fields. */
interface Written { readonly file: string; readonly text: string; readonly namespaces: string[] }

function objectsUnder(dir: string): Written[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.yaml')).flatMap((file) =>
    YAML.parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d) => {
      const object = d.toJSON();
      if (object.kind === 'ConfigMap') object.data = Object.fromEntries(Object.entries(object.data ?? {}).filter(([k]) => !k.endsWith('.js')));
      return { file, text: stringValues(object).join('\n'), namespaces: namespaceFields(object) };
    }));
}

const escape = (value: string) => value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Where `value` appears as a whole name, also inside a DNS name or URL (not inside a longer word: `securityContext`). */
const names = (text: string, value: string) => new RegExp(`(?<![A-Za-z0-9-])${escape(value)}(?![A-Za-z0-9-])`).test(text);
/**
 * Where `text` uses `namespace` as a namespace: a Service's DNS name (`.<ns>.svc`), a PromQL matcher, a kubectl
 * argument, or "namespace <ns>" / "(<ns>)" in what synthesis prints. A namespace is often also the name of other
 * things (a fork's `vault`, ESO's release `external-secrets`, the product ingress-nginx), so only these uses count.
 */
const usesNamespace = (text: string, namespace: string) => {
  const ns = escape(namespace);
  return new RegExp(`\\.${ns}\\.svc\\b|namespace="${ns}"|(-n|--namespace[= ]) ?${ns}(?![A-Za-z0-9-])|namespace ${ns}(?![A-Za-z0-9-])|\\(${ns}\\)`).test(text);
};
const NAMESPACE_KEYS = new Set(['vaultNamespace', 'esoNamespace', 'ingressControllerNamespace']);

/** Whether an object still names the site value of `key`. */
const objectNames = (key: string, o: Written, old: string) => (NAMESPACE_KEYS.has(key)
  ? o.namespaces.includes(old) || usesNamespace(o.text, old) : names(o.text, old));
/** Whether printed text (synthesis' output, a runbook) still names it. */
const textNames = (key: string, text: string, old: string) => (NAMESPACE_KEYS.has(key) ? usesNamespace(text, old) : names(text, old));

const ENTRIES = join(root, 'node_modules', '.cache', 'homelab-secrets', 'test-entries');
const APPS = [
  { name: 'main.ts', file: join(root, 'main.ts') },
  // The HA example copied over main.ts: it lands beside lib/ as main.ts does.
  { name: 'examples/ha-raft/main.ts copied over main.ts', file: join(root, 'examples', 'ha-raft', 'main.ts') },
].filter((a) => existsSync(a.file));

describe.each(APPS)('a fork of $name with its own site values', ({ name, file }) => {
  const { source, replaced } = forked(readFileSync(file, 'utf8'));
  let run: Run & { outdir: string };

  // Synthesis's main in this process (the messages and files of `node scripts/synth.js ENTRY`, its bundle aside: the
  // runs as a process in main.cases.ts cover that).
  beforeAll(() => {
    mkdirSync(ENTRIES, { recursive: true });
    const entry = join(ENTRIES, `fork-${name.replace(/\W+/g, '-')}.ts`);
    writeFileSync(entry, source);
    const outdir = join(mkdtempSync(join(tmpdir(), 'fork-')), 'dist');
    run = { ...synthInProcess(relative(root, entry), outdir), outdir };
  }, 120000);

  test('its site block holds the values a fork changes', () => {
    expect(replaced.map(([key]) => key)).toEqual(expect.arrayContaining(['host', 'vaultNamespace', 'esoNamespace', 'ingressControllerNamespace']));
  });

  test('synthesizes, and no object names the old namespaces, host or claim', () => {
    expect([run.code, run.stderr]).toEqual([0, '']);
    const written = [run.outdir, join(run.outdir, '..', 'migration')].filter(existsSync).flatMap(objectsUnder);
    expect(written.length).toBeGreaterThan(10);
    const stale = replaced.flatMap(([key, old]) => written.filter((o) => objectNames(key, o, old)).map((o) => `${o.file}: ${key} ${old}`));
    expect(stale).toEqual([]);
    // The fork's own values are there instead.
    const all = written.map((o) => o.text).join('\n');
    for (const [key, , value] of replaced.filter(([k]) => k !== 'claimName' || !/ha-raft/.test(name))) {
      expect({ key, found: names(all, value) }).toEqual({ key, found: true });
    }
  });

  test('what it prints and any runbook it writes name the fork\'s values only', () => {
    const runbook = join(run.outdir, '..', 'migration', 'RUNBOOK.md');
    const texts = [run.stdout, ...(existsSync(runbook) ? [readFileSync(runbook, 'utf8')] : [])];
    const stale = replaced.flatMap(([key, old]) => texts.filter((t) => textNames(key, t, old)).map((t) => `${key} ${old}: ${t.split('\n').find((l) => textNames(key, l, old))}`));
    expect(stale).toEqual([]);
    if (/ha-raft/.test(name)) expect(readFileSync(runbook, 'utf8')).toContain(`kubectl -n ${replaced.find(([k]) => k === 'vaultNamespace')![2]} `);
  });
});

test('the fork\'s substitution replaces each site value, and the checks see a stale name', () => {
  const { source, replaced } = forked("const site = {\n  host: 'vault.a.example.com',\n  vaultNamespace: 'vault',\n  storageSize: '10Gi',\n};\n");
  expect(replaced).toEqual([['host', 'vault.a.example.com', 'vault.fork.example.net'], ['vaultNamespace', 'vault', 'hashicorp']]);
  expect(source).toContain("  vaultNamespace: 'hashicorp',");
  expect(names('{"namespace":"security"}', 'security')).toBe(true);
  expect(names('{"securityContext":{}}', 'security')).toBe(false);
  expect(names('"http://vault.security.svc"', 'security')).toBe(true);
  expect(usesNamespace('"http://vault.security.svc"', 'security')).toBe(true);
  expect(textNames('ingressControllerNamespace', 'TLS ends at ingress-nginx', 'ingress-nginx')).toBe(false);
  expect(textNames('ingressControllerNamespace', 'every pod in namespace ingress-nginx (the UI)', 'ingress-nginx')).toBe(true);
  expect(textNames('vaultNamespace', 'Vault (vault) accepts port 8200 only from:', 'vault')).toBe(true);
  expect(textNames('vaultNamespace', 'kubectl -n vault get pods', 'vault')).toBe(true);
  expect(textNames('vaultNamespace', 'pods app.kubernetes.io/name=vault-auto-unseal in namespace hashicorp', 'vault')).toBe(false);
  const object = { file: 'f', text: 'http://vault.security.svc.cluster.local:8200\nvault', namespaces: ['hashicorp'] };
  expect(objectNames('vaultNamespace', object, 'security')).toBe(true);
  expect(objectNames('vaultNamespace', object, 'vault')).toBe(false);
  expect(objectNames('vaultNamespace', { ...object, namespaces: ['vault'] }, 'vault')).toBe(true);
  expect(namespaceFields({ metadata: { namespace: 'a' }, spec: { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'b' } } }] } })).toEqual(['a', 'b']);
  expect(stringValues({ metadata: { annotations: { 'container.apparmor.security.beta.kubernetes.io/vault': 'unconfined' } } })).toEqual(['unconfined']);
});
