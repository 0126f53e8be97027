import { execFile } from 'child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { promisify } from 'util';
import * as YAML from 'yaml';
import { synthesize } from '../../build/synthesize';
import { main as names, NAMES } from '../../tools/names/main';
import { BuildApps } from '../support/app-invariants';
import { docFiles, fencedBlocks, ROOT, shellCode, spelledOutNames, undefinedVariables } from '../support/docs';

// Another homelab adopts the project by changing main.ts's site values and its app secrets (issue 22): the pages of
// docs/ must read right for it too. So their commands name its objects by the shell variables `npm run -s names` sets
// from dist/ (one "Names" note per page says how), never by this homelab's values, and no test here knows those: each
// compares with what it reads from the committed dist/ itself, or checks the commands' shape.

const VARIABLES = Object.keys(NAMES);
const PAGES = docFiles().filter((doc) => doc.startsWith('docs/'));
const text = (doc: string) => readFileSync(join(ROOT, doc), 'utf8');
const NOTE = /^> \*\*Names\.\*\*[\s\S]*?^> ```\n(?=\n)/m;
const noteOf = (doc: string) => NOTE.exec(text(doc))?.[0];
const EXAMPLES = readdirSync(join(ROOT, 'examples'), { withFileTypes: true })
  .filter((e) => e.isDirectory() && existsSync(join(ROOT, 'examples', e.name, 'main.ts'))).map((e) => e.name).sort();

type Doc = Record<string, any>;

/** Every object of the YAML files under `dir`. */
function manifests(dir: string): Doc[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => YAML.parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS()))
    .filter((m) => m?.kind);
}

/**
 * The names the note's variables stand for, read here from the manifests, by other paths than `npm run -s names`
 * takes: Vault's StatefulSet is the one mounting `/vault/data`, its claim the volume mounted there, its host the
 * `api_addr` of its configuration; the store's namespace is that of the ServiceAccount it logs in with.
 */
function namesIn(dir: string): Record<string, string> {
  const all = manifests(dir);
  const mountsData = (m: Doc) => m.spec.template.spec.containers.some((c: Doc) => c.volumeMounts?.some((v: Doc) => v.mountPath === '/vault/data'));
  const [vault, ...others] = all.filter((m) => m.kind === 'StatefulSet' && mountsData(m));
  expect({ dir, statefulSets: others.length + (vault ? 1 : 0) }).toEqual({ dir, statefulSets: 1 });
  const pod = `${vault.metadata.name}-0`;
  const container = vault.spec.template.spec.containers.find((c: Doc) => c.volumeMounts?.some((v: Doc) => v.mountPath === '/vault/data'));
  const volume = container.volumeMounts.find((v: Doc) => v.mountPath === '/vault/data').name;
  const template = vault.spec.volumeClaimTemplates?.find((t: Doc) => t.metadata.name === volume);
  const claim = template ? `${volume}-${pod}` : vault.spec.template.spec.volumes.find((v: Doc) => v.name === volume).persistentVolumeClaim.claimName;
  const stores = all.filter((m) => m.kind === 'ClusterSecretStore' && m.spec.provider?.vault);
  expect({ dir, stores: stores.length > 0 }).toEqual({ dir, stores: true });
  const [store] = stores;
  const config = all.filter((m) => m.kind === 'ConfigMap' && m.metadata.namespace === vault.metadata.namespace)
    .flatMap((m) => Object.values(m.data ?? {}) as string[]).join('\n');
  return {
    VAULT_NS: vault.metadata.namespace,
    VAULT_POD: pod,
    VAULT_CLAIM: claim,
    ESO_NS: store.spec.provider.vault.auth.kubernetes.serviceAccountRef.namespace,
    STORES: stores.map((s) => s.metadata.name).sort().join(' '),
    // What exposes the UI names the host; with file storage, Vault's api_addr is the public URL too.
    VAULT_HOST: all.find((m) => m.kind === 'Ingress')?.spec.rules[0].host ?? all.find((m) => m.kind === 'HTTPRoute')?.spec.hostnames[0]
      ?? /^\s*api_addr\s*=\s*"https:\/\/([^"/:]+)/m.exec(config)?.[1] ?? '',
  };
}

/**
 * What the variables hold after each of `runs` ran in bash in the project's folder, each in a subshell of its own with
 * nothing set before; one bash runs them all.
 */
async function runNotes(runs: string[]): Promise<Array<Record<string, string>>> {
  const print = `printf '%s\\n' ${VARIABLES.map((v) => `"${v}=$${v}"`).join(' ')}`;
  const script = runs.map((commands) => `(\nunset ${VARIABLES.join(' ')}\n${commands}\n${print}\n)\necho '-- end of run'`).join('\n');
  const { stdout } = await promisify(execFile)('bash', ['-c', script], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
  return stdout.split('-- end of run\n').slice(0, runs.length).map((out) => Object.fromEntries(out.split('\n').filter((line) => /^\w+=/.test(line))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)])));
}

/** What `npm run -s names -- --dist DIR` prints, from its main in this process. */
async function namesPrinted(dir: string): Promise<string> {
  let stdout = '';
  let stderr = '';
  const code = await names(['--dist', dir], { stdout: (text) => { stdout += text; }, stderr: (text) => { stderr += text; } });
  expect({ dir, code, stderr }).toEqual({ dir, code: 0, stderr: '' });
  return stdout;
}

test('every page whose commands use the note\'s variables has the "Names" note, the same on every page', () => {
  const uses = (doc: string) => shellCode(text(doc)).some(({ code }) => VARIABLES.some((v) => new RegExp(`\\$\\{?${v}\\b`).test(code)));
  expect(PAGES.filter((doc) => uses(doc) && !noteOf(doc))).toEqual([]);
  const notes = PAGES.map(noteOf).filter((note) => note !== undefined);
  expect(notes.length).toBeGreaterThanOrEqual(8);
  expect(new Set(notes).size).toBe(1);
  // It says what each variable names.
  expect(VARIABLES.filter((v) => !notes[0]!.includes(`\`$${v}\``))).toEqual([]);
});

test('the note\'s command sets each variable to the name in dist/, and in an example\'s with the --dist it gives', async () => {
  const note = PAGES.map(noteOf).find((n) => n !== undefined)!.replace(/^> ?/gm, '');
  const [commands] = fencedBlocks(note, 'sh');
  expect(commands).toMatch(/npm run -s names/);
  expect(note).toContain('npm run -s names -- --dist examples/<name>/dist');
  // The note's command as it is, npm and all, for dist/; for each example's dist/, the same command with what
  // `npm run -s names -- --dist examples/<name>/dist` prints (its main, run here: npm's start-up costs a second of CPU,
  // and passing `-- --dist DIR` on is npm's) in place of the npm command. One bash evaluates them all.
  const runs = [
    { label: 'dist', commands },
    ...await Promise.all(EXAMPLES.map(async (e) => {
      const printed = await namesPrinted(join(ROOT, 'examples', e, 'dist'));
      const quoted = `'${printed.replace(/'/g, `'\\''`)}'`;
      return { label: `examples/${e}/dist`, commands: commands.replace(/\$\(npm run -s names\)/g, `$(printf '%s' ${quoted})`) };
    })),
  ];
  expect(runs.slice(1).every((r) => !r.commands.includes('npm run'))).toBe(true);
  const set = await runNotes(runs.map((r) => r.commands));
  runs.forEach(({ label }, i) => {
    const expected = namesIn(join(ROOT, label));
    expect(Object.values(expected).filter((v) => !v)).toEqual([]);
    expect({ label, names: set[i] }).toEqual({ label, names: expected });
  });
});

test('no command names one homelab\'s namespace, claim, store or GitOps app: a variable, a <placeholder>, or a name of every homelab', () => {
  expect(PAGES.flatMap((doc) => spelledOutNames(doc, text(doc)))).toEqual([]);
});

test('every variable a page\'s commands use is set on the page: by its note, an assignment, or the environment', () => {
  expect(PAGES.flatMap((doc) => undefinedVariables(doc, text(doc), noteOf(doc) ? VARIABLES : []))).toEqual([]);
});

test('the checks catch a homelab\'s names spelled out, and a variable the page does not set', () => {
  const page = [
    'Run `kubectl -n security get pods`, then `kubectl label --overwrite ns security x=y`:', '',
    '```sh',
    'kubectl get pvc vault-data-lh --namespace=security',
    'helm install x y --namespace security \\',
    '  --create-namespace',
    'argocd app sync homelab-vault; flux suspend kustomization homelab-vault',
    'x=$(kubectl describe clustersecretstore k8s-secrets | grep x) && kubectl get clustersecretstores.external-secrets.io/k8s-secrets',
    'kubectl -n "$VAULT_NS" get pvc "${VAULT_CLAIM}" -o jsonpath=\'{.metadata.namespace}\'; kubectl -n longhorn-system get volumes',
    'kubectl -n <namespace> get pods; argocd app set "$APP" --sync-policy none; kubectl get clustersecretstore $STORES',
    '```', '',
  ].join('\n');
  expect(spelledOutNames('page.md', page).map((p) => p.replace(/: use one of .*$/, ''))).toEqual([
    'page.md:1: kubectl names the namespace security',
    'page.md:1: kubectl names the namespace security',
    'page.md:4: kubectl names the claim vault-data-lh',
    'page.md:4: kubectl names the namespace security',
    'page.md:5: helm names the namespace security',
    'page.md:7: argocd names the app homelab-vault',
    'page.md:7: flux names the app homelab-vault',
    'page.md:8: kubectl names the store k8s-secrets',
    'page.md:8: kubectl names the store k8s-secrets',
  ]);
  expect(spelledOutNames('page.md', page)[0]).toMatch(/use one of \$VAULT_NS, \$ESO_NS, <placeholder>, longhorn-system/);
  expect(undefinedVariables('page.md', page, VARIABLES)).toEqual(['page.md:10: $APP is not set on the page']);
  expect(undefinedVariables('page.md', `${page}\nWith \`APP=homelab-vault\`.\n`, VARIABLES)).toEqual([]);
  expect(undefinedVariables('page.md', page, [])).toEqual([
    'page.md:9: $VAULT_NS is not set on the page', 'page.md:9: $VAULT_CLAIM is not set on the page',
    'page.md:10: $APP is not set on the page', 'page.md:10: $STORES is not set on the page',
  ]);
});

/** The top-level folders `build` writes, synthesized into a scratch folder. */
function foldersWritten(build: BuildApps): string[] {
  const dir = join(mkdtempSync(join(tmpdir(), 'folders-')), 'dist');
  try {
    synthesize(build, dir);
    return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } finally {
    rmSync(join(dir, '..'), { recursive: true, force: true });
  }
}

/** The folders a section names neither as `dist/<folder>` nor as `` `<folder>` ``. */
const unnamedFolders = (section: string, folders: Array<{ app: string; folder: string }>) =>
  folders.filter(({ folder }) => !section.includes(`dist/${folder}`) && !section.includes(`\`${folder}\``));

test('from-zero.md\'s "Point GitOps at dist/" names every folder main.ts or an example writes', () => {
  const section = /^## Point GitOps at `dist\/`\n([\s\S]*?)(?=^## )/m.exec(text('docs/from-zero.md'))![1];
  const builds: Array<[string, BuildApps]> = [
    ['main.ts', require(join(ROOT, 'main.ts')).buildApps],
    ...EXAMPLES.map((e): [string, BuildApps] => [`examples/${e}/main.ts`, require(join(ROOT, 'examples', e, 'main.ts')).buildApps]),
  ];
  const folders = builds.flatMap(([app, build]) => foldersWritten(build).map((folder) => ({ app, folder })));
  expect(folders.filter(({ app }) => app === 'main.ts').map(({ folder }) => folder)).toEqual(expect.arrayContaining(['vault', 'eso', 'apps']));
  expect(unnamedFolders(section, folders)).toEqual([]);
  expect(unnamedFolders('Sync `vault`, then dist/eso/.', [{ app: 'a', folder: 'vault' }, { app: 'a', folder: 'eso' }, { app: 'b', folder: 'ui' }]))
    .toEqual([{ app: 'b', folder: 'ui' }]);
});
