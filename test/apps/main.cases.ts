import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join, relative } from 'path';
import * as main from '../../main';
import { root } from '../../build/bundle';
import { summary } from '../../build/synthesize';
import { appInvariants, firstSynthesis } from '../support/app-invariants';
import { Run, runNode } from '../support/run-script';
import { synthInProcess } from '../support/synth-in-process';

// What holds for whatever main.ts declares: these tests never name this homelab's apps or site values, so adding an
// app secret (or another homelab's values) needs no test edit. The constructs' own tests pin their output.

const { buildApps } = main;
/** A main.ts copied from the HA example also exports its one-off move to Raft, written to migration/ beside dist/. */
const { buildMigration } = main as { buildMigration?: typeof buildApps };

// The invariants every app holds (main.ts's and each example's), on main.ts's synthesis and its committed dist/.
describe('main.ts', () => appInvariants(buildApps, join(root, 'dist')));
if (buildMigration) describe('main.ts\'s migration/', () => appInvariants(buildMigration, join(root, 'migration')));

const fresh = firstSynthesis(buildApps);

test('dist/ is one folder per GitOps unit: vault/ needs no CRD but cert-manager\'s when Vault serves TLS, apps/ holds only ExternalSecrets and the Roles on them', () => {
  const objectsIn = (folder: string) => Object.keys(fresh.files).filter((f) => f.startsWith(`${folder}/`)).flatMap((f) => fresh.objects(f));
  const kindsIn = (folder: string) => objectsIn(folder).map((m) => m.apiVersion);
  expect(kindsIn('vault').length).toBeGreaterThan(0);
  // With TLS (the library's default; main.ts may keep plain HTTP) cert-manager is a prerequisite of Vault's folder.
  const tls = objectsIn('vault').some((m) => m.kind === 'StatefulSet' && m.spec.template.spec.containers.some((c: any) => c.readinessProbe?.httpGet?.scheme === 'HTTPS'));
  const builtIn = /^(v1|(apps|batch|policy|rbac\.authorization\.k8s\.io|networking\.k8s\.io|longhorn\.io)\/v\w+)$/;
  for (const apiVersion of kindsIn('vault')) expect(apiVersion).toMatch(tls ? new RegExp(`${builtIn.source}|^cert-manager\\.io/v1$`) : builtIn);
  // The ExternalSecrets, and the recovery job's Roles on them beside them (a missing app namespace holds back only apps/).
  for (const apiVersion of kindsIn('apps')) expect(apiVersion).toMatch(/^(external-secrets\.io|rbac\.authorization\.k8s\.io)\/v1$/);
});

/** Kills a synth run after this long: a hang, not a speed check (a run takes about a second). */
const SYNTH_HANG_LIMIT_MS = 60000;

describe('npm run synth, as a user runs it', () => {
  // A main.ts of the user's own, beside the project's node_modules so that its packages resolve.
  const entries = join(root, 'node_modules', '.cache', 'homelab-secrets', 'test-entries');
  /** `typescript`: whether the run read TypeScript's compiler, as test/support/typescript-loads-preload.js reports. */
  type SynthRun = Run & { outdir: string; typescript: string };
  /** `previous`: the output folder holds a previous synthesis (the default). `process`: the run is a process of its own. */
  interface Planned { readonly body: string; readonly previous: boolean; readonly process: boolean }
  const planned = new Map<string, Planned>();
  const runs = new Map<string, SynthRun>();

  /**
   * A run of synthesis on an entry of this body, made before the tests, which read it when they have all ended. The
   * few that show synthesis as the user meets it are `node scripts/synth.js` as a process of its own, all started
   * together; the others run its main in this process (test/support/synth-in-process.ts): a process's start-up and its
   * bundle's load cost about a third of a second of CPU each, which seventeen processes made most of this file's time.
   */
  function synthEntry(name: string, body: string, { previous = true, process = false } = {}): () => SynthRun {
    planned.set(name, { body, previous, process });
    return () => runs.get(name)!;
  }

  /** A scratch output folder, holding a previous synthesis when `previous`. */
  function outdirFor(previous: boolean): string {
    const outdir = join(mkdtempSync(join(tmpdir(), 'synth-')), 'dist');
    mkdirSync(outdir);
    if (previous) writeFileSync(join(outdir, 'previous.k8s.yaml'), 'previous');
    return outdir;
  }

  function synthHere(name: string, previous: boolean): SynthRun {
    const outdir = outdirFor(previous);
    return { ...synthInProcess(relative(root, join(entries, `${name}.ts`)), outdir), outdir, typescript: 'in this process' };
  }

  async function synth(name: string, previous: boolean): Promise<SynthRun> {
    const entry = join(entries, `${name}.ts`);
    const outdir = outdirFor(previous);
    const loads = join(dirname(outdir), 'typescript-loads');
    const preload = JSON.stringify(join(root, 'test', 'support', 'typescript-loads-preload.js'));
    const env = { ...process.env, CDK8S_OUTDIR: outdir, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${preload}`, TYPESCRIPT_LOADS_FILE: loads } as Record<string, string>;
    const run = await runNode(join(root, 'scripts', 'synth.js'), env, { args: [relative(root, entry)], limitMs: SYNTH_HANG_LIMIT_MS });
    return { ...run, outdir, typescript: existsSync(loads) ? readFileSync(loads, 'utf8') : 'no report' };
  }

  beforeAll(async () => {
    // Every entry is written before any run starts: each bundle's cache key covers the folder's files.
    mkdirSync(entries, { recursive: true });
    const lib = relative(entries, join(root, 'lib')).replace(/\\/g, '/');
    for (const [name, { body }] of planned) {
      writeFileSync(join(entries, `${name}.ts`), `import { App, Chart } from 'cdk8s';\nimport { AppSecret, EsoStore, VaultNginxIngress, VaultStack } from '${lib}';\n`
        + `export function buildApps(outdir: string): App[] {\n  const app = new App({ outdir });\n  ${body}\n  return [app];\n}\n`);
    }
    // The stamp's runs, in a folder of their own (created first: the type-check's stamp covers the names beside the
    // entries), start now: their edits leave the other entries' bundle keys as they were.
    mkdirSync(join(entries, 'stamp'), { recursive: true });
    const stamped = stampRuns();
    // One type-check of all the entries first, which records each one's own result (build/typecheck-entries.js): their
    // runs find it, instead of each loading TypeScript and checking lib/ (seventeen at once outlasted the hang limit on
    // a busy two-core machine).
    const all = [...planned.keys()].map((name) => relative(root, join(entries, `${name}.ts`)));
    const typecheck = `require(${JSON.stringify(join(root, 'build', 'typecheck-entries.js'))}).typecheckEntries(${JSON.stringify(all)})`;
    const primed = await runNode('-e', { ...process.env } as Record<string, string>, { args: [typecheck], limitMs: SYNTH_HANG_LIMIT_MS });
    if (primed.code !== 0) throw new Error(`the type-check of every entry failed: ${primed.stderr}`);
    const processes = [...planned].filter(([, p]) => p.process).map(async ([name, { previous }]) => { runs.set(name, await synth(name, previous)); });
    for (const [name, { previous }] of [...planned].filter(([, p]) => !p.process)) runs.set(name, synthHere(name, previous));
    await Promise.all([...processes, stamped]);
  }, SYNTH_HANG_LIMIT_MS * 4);

  const good = synthEntry('good', `const c = new Chart(app, 'vault'); new VaultNginxIngress(c, 'ui', { vault: new VaultStack(c, 'vault', { host: 'vault.example.com' }), proxyNamespace: 'ingress-nginx' });`, { process: true });
  test('says what it wrote: each file with its number of objects; the type-check it found recorded', () => {
    const run = good();
    expect(run.stderr).toBe('');
    // Its entry was type-checked with the others before the runs: unchanged since, TypeScript is not even loaded.
    expect(run.typescript).toBe('not loaded');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`wrote ${run.outdir}/: 1 files, 15 objects\n  vault.k8s.yaml   15\n`
      + 'Vault (security) accepts port 8200 only from:\n'
      + '  pods app.kubernetes.io/name=ingress-nginx,app.kubernetes.io/component=controller in namespace ingress-nginx (the UI, through ingress-nginx)\n'
      + 'Vault (security) connects only to: DNS; the API server\n'
      + '  DNS: pods k8s-app=kube-dns in namespace kube-system, port 53\n'
      + '  the API server: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7, ports 443, 6443\n');
    expect(readdirSync(run.outdir)).toEqual(['vault.k8s.yaml']);
  });

  // The mistakes that fail synthesis, one table checked as the user meets them: the construct's error is the one line
  // under the first, whole, and the exit code, stdout and the output folder's files and bytes are checked besides.
  const store = `const c = new Chart(app, 'apps'); const store = new EsoStore(c, 'store', { vault: new VaultStack(new Chart(app, 'vault'), 'vault', { host: 'vault.example.com', networkPolicy: false }) });`;
  const mistakes: Array<[string, string, string]> = [
    ['a wrong value', `new VaultStack(new Chart(app, 'vault'), 'vault', { host: 'vault' });`,
      'vault/vault: invalid VaultStack host: got "vault", expected a lowercase fully qualified host name such as "vault.example.com"'],
    ['a duplicate object', `${store} new AppSecret(c, 'wiki', { namespace: 'wiki', store, dataFrom: [{ path: 'wiki' }] }); new AppSecret(c, 'wiki2', { name: 'wiki', namespace: 'wiki', store, dataFrom: [{ path: 'wiki' }] });`,
      'duplicate ExternalSecret wiki/wiki: defined by apps/wiki and by apps/wiki2; give one of them another name'],
    ['a duplicate target Secret', `${store} new AppSecret(c, 'a', { namespace: 'wiki', store, targetName: 'wiki', dataFrom: [{ path: 'a' }] }); new AppSecret(c, 'b', { namespace: 'wiki', store, targetName: 'wiki', dataFrom: [{ path: 'b' }] });`,
      'two ExternalSecrets write the Secret wiki/wiki: apps/a and apps/b; ESO would overwrite it in turn, forever'],
  ];
  // The first as a process: the user's view; the others through main in this process.
  test.each(mistakes.map(([name, body, message], i) => [name, synthEntry(name.replace(/\W+/g, '-'), body, { process: i === 0 }), message] as const))(
    '%s: one line naming the construct, no stack trace, exit 1, the output folder untouched', (_name, mistake, message) => {
      const run = mistake();
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe(`synthesis failed, ${run.outdir}/ left as it was:\n  ${message}\n`);
      expect(readdirSync(run.outdir)).toEqual(['previous.k8s.yaml']);
      expect(readFileSync(join(run.outdir, 'previous.k8s.yaml'), 'utf8')).toBe('previous');
    });

  // Type errors stop synthesis before the app runs (build/typecheck-entries.js): TypeScript's first error, its file,
  // line and column, then how many more. The mistakes above cast their props `as any` to reach the constructs' checks.
  const at = (name: string, where: string) => `node_modules/.cache/homelab-secrets/test-entries/${name}.ts:${where}`;
  const vaultProps = `host: 'vault.example.com'`;
  // A misspelled prop, at any depth, and a construct given by its name are type errors: the types are the only list of props.
  const typeErrors: Array<[string, string, string]> = [
    ['a misspelled prop', `new VaultStack(new Chart(app, 'vault'), 'vault', { host: 'vault.example.com', namepsace: 'x' });`,
      "5:81: Object literal may only specify known properties, but 'namepsace' does not exist in type 'VaultStackProps'. Did you mean to write 'namespace'?"],
    ['a misspelled nested prop', `${store}\n  new AppSecret(c, 'wiki', { namespace: 'wiki', store, data: [{ secretKey: 'A', path: 'wiki', proprety: 'a' }] });`,
      "6:95: Object literal may only specify known properties, but 'proprety' does not exist in type 'AppSecretKey'. Did you mean to write 'property'?"],
    ['a construct given by its name', `new EsoStore(new Chart(app, 'eso'), 'store', { vault: 'vault' });`,
      "5:50: Type 'string' is not assignable to type 'IVault'."],
    ['a misspelled key read from the site object', `const site = { host: 'vault.example.com' };\n  new VaultStack(new Chart(app, 'vault'), 'vault', { host: site.hots });`,
      `6:65: Property 'hots' does not exist on type '{ host: string; }'.`],
    ['a deleted declaration still used', `const c = new Chart(app, 'apps');\n  new AppSecret(c, 'wiki', { namespace: 'wiki', store, dataFrom: [{ path: 'wiki' }] });`,
      '6:49: No value exists in scope for the shorthand property \'store\'. Either declare one or provide an initializer.'],
    ['a prop of the wrong type', `new VaultStack(new Chart(app, 'vault'), 'vault', { ${vaultProps}, networkPolicy: 'yes' });`,
      '5:81: Type \'string\' is not assignable to type \'boolean | undefined\'.'],
    ['two errors', `new VaultStack(new Chart(app, 'vault'), 'vault', { ${vaultProps}, networkPolicy: 'yes' });\n  vault.node;`,
      '5:81: Type \'string\' is not assignable to type \'boolean | undefined\'.\n  (and 1 more error)'],
  ];
  // Through main in this process: the stamp's runs below show a type error as a process.
  test.each(typeErrors.map(([name, body, message]) => [name, name.replace(/\W+/g, '-'), synthEntry(name.replace(/\W+/g, '-'), body), message] as const))(
    '%s: TypeScript\'s first error with file, line and column, exit 1, the output folder untouched', (_name, entry, mistake, message) => {
      const run = mistake();
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe(`synthesis failed, ${run.outdir}/ left as it was:\n  ${at(entry, message)}\n`);
      expect(readdirSync(run.outdir)).toEqual(['previous.k8s.yaml']);
      expect(readFileSync(join(run.outdir, 'previous.k8s.yaml'), 'utf8')).toBe('previous');
    });

  // Unused names are lint, not errors: deleting an optional line of main.ts leaves a local or an import unused.
  const unused = synthEntry('unused', `const vault = new VaultStack(new Chart(app, 'vault'), 'vault', { ${vaultProps} });`);
  test('an unused local (an optional line deleted) still synthesizes', () => {
    const run = unused();
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(readdirSync(run.outdir)).toEqual(['vault.k8s.yaml']);
  });

  // The stamp (build/typecheck-entries.js): an edit of a file the entry imports is checked, and a second run on the
  // same sources is not, TypeScript not even loaded, a failure included (as an unchanged entry's success, above). The
  // entry uses only cdk8s, whose types check in a fraction of lib/'s time; its site.ts carries the time of the run, so
  // that the first run always has an edit to check.
  let stamp: { edited: SynthRun; unchanged: SynthRun };
  async function stampRuns(): Promise<void> {
    const dir = join(entries, 'stamp');
    writeFileSync(join(dir, 'main.ts'), `import { ApiObject, App, Chart } from 'cdk8s';\nimport { site } from './site';\n`
      + `export function buildApps(outdir: string): App[] {\n  const app = new App({ outdir });\n`
      + `  new ApiObject(new Chart(app, 'stamp'), 'config', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: site.name } });\n  return [app];\n}\n`);
    writeFileSync(join(dir, 'site.ts'), `// ${new Date().toISOString()}\nexport const site: { name: string } = { name: 8200 };\n`);
    const edited = await synth('stamp/main', true);
    stamp = { edited, unchanged: await synth('stamp/main', true) };
  }
  test('the stamp: an edit of an imported file is checked; unchanged sources, a failure included, do not load TypeScript', () => {
    const { edited, unchanged } = stamp;
    const failed = (run: SynthRun) => `synthesis failed, ${run.outdir}/ left as it was:\n  ${at('stamp/site', '2:41: Type \'number\' is not assignable to type \'string\'.')}\n`;
    expect(edited).toMatchObject({ code: 1, stdout: '', stderr: failed(edited), typescript: 'loaded' });
    expect(unchanged).toMatchObject({ code: 1, stdout: '', stderr: failed(unchanged), typescript: 'not loaded' });
    for (const run of [edited, unchanged]) expect(readdirSync(run.outdir)).toEqual(['previous.k8s.yaml']);
  });

  const app = `new AppSecret(c, 'wiki', { namespace: 'wiki', store, dataFrom: [{ path: 'wiki' }] });`;
  const pastedTwice = synthEntry('pasted-twice', `${store}\n  ${app}\n  ${app}`);
  test('the same construct pasted twice: one line naming the file, the line of the second and the fix', () => {
    const run = pastedTwice();
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`synthesis failed, ${run.outdir}/ left as it was:\n`
      + `  node_modules/.cache/homelab-secrets/test-entries/pasted-twice.ts:7: a second construct with the id 'wiki' in the scope apps: give it another id (the second argument of new ...)\n`);
    expect(readdirSync(run.outdir)).toEqual(['previous.k8s.yaml']);
  });

  const missingComma = synthEntry('missing-comma', `${store}\n  new AppSecret(c, 'wiki', { namespace: 'wiki' store, dataFrom: [{ path: 'wiki' }] });`);
  test('a syntax error: esbuild\'s one line with file, line and column, none of its internals', () => {
    const run = missingComma();
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`synthesis failed, ${run.outdir}/ left as it was:\n`
      + '  node_modules/.cache/homelab-secrets/test-entries/missing-comma.ts:6:48: Expected "}" but found "store"\n');
  });

  const emptied = synthEntry('emptied', `new VaultStack(new Chart(app, 'vault'), 'vault', { host: 'vault' } as any);`, { previous: false });
  test('an output folder emptied before the app ran (as cdk8s synth does): the message says so, not "left as it was"', () => {
    const run = emptied();
    expect(run.code).toBe(1);
    expect(run.stderr.split('\n')[0]).toBe(`synthesis failed, nothing written to ${run.outdir}/, which is empty (\`git checkout -- ${run.outdir}\` restores it):`);
  });

  // As a process: its stack is what Node.js prints for an error nobody caught.
  const broken = synthEntry('broken', `throw new TypeError('something else broke');`, { process: true });
  test('an unexpected error still shows its stack', () => {
    const run = broken();
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/TypeError: something else broke\n\s+at buildApps/);
    expect(readdirSync(run.outdir)).toEqual(['previous.k8s.yaml']);
  });
});

test('the summary lists each file and the total, then what the constructs say', () => {
  const files = [{ file: 'vault/vault.k8s.yaml', objects: 8 }, { file: 'apps/app-secrets.k8s.yaml', objects: 12 }];
  expect(summary('dist', { files, notes: ['Vault (security) accepts port 8200 only from:', '  every pod in namespace ingress-nginx (the UI)'] })).toBe(
    'wrote dist/: 2 files, 20 objects\n  vault/vault.k8s.yaml         8\n  apps/app-secrets.k8s.yaml   12\n'
    + 'Vault (security) accepts port 8200 only from:\n  every pod in namespace ingress-nginx (the UI)',
  );
});
