import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as YAML from 'yaml';
import { App } from 'cdk8s';
import { checkApps, synthesize } from '../../build/synthesize';
import { crdGroups, Manifest, schemaErrors } from './manifests';
import { celErrors } from './cel';
import { podSecurityViolations, podTemplates } from './pod-security';

/** A homelab app as main.ts and each example export it: one cdk8s App per folder of its output. */
export type BuildApps = (outdir: string) => App[];

/** The YAML files under `dir`, by path relative to it. */
export function readTree(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const f of (readdirSync(dir, { recursive: true }) as string[]).filter((name) => name.endsWith('.yaml')).sort()) {
    files[f.replace(/\\/g, '/')] = readFileSync(join(dir, f), 'utf8');
  }
  return files;
}

/** A synthesis of `build` into a scratch folder, as `npm run synth` writes it: its files, and the apps it built. */
function synthesisOf(build: BuildApps): { readonly files: Record<string, string>; readonly apps: App[] } {
  const dir = join(mkdtempSync(join(tmpdir(), 'synth-')), 'dist');
  let apps: App[] = [];
  synthesize((outdir) => (apps = build(outdir)), dir);
  const files = readTree(dir);
  rmSync(dir, { recursive: true, force: true });
  return { files, apps };
}

/** A synthesis of `build` into a scratch folder, as `npm run synth` writes it. */
export function synthTo(build: BuildApps): Record<string, string> {
  return synthesisOf(build).files;
}

/** A synthesis, with its files' objects parsed from the YAML, each file once. */
export interface FirstSynthesis {
  readonly files: Record<string, string>;
  readonly apps: App[];
  /** The objects of each file, parsed when first asked for (an app's YAML, its bundled scripts' text included, takes longer to parse than to write). */
  readonly objects: (file: string) => Manifest[];
}

const firstSyntheses = new WeakMap<BuildApps, FirstSynthesis>();
/** The first synthesis of `build` in this jest file, shared by the tests that read it (a whole app's takes a fifth of a second). */
export function firstSynthesis(build: BuildApps): FirstSynthesis {
  let first = firstSyntheses.get(build);
  if (!first) {
    const { files, apps } = synthesisOf(build);
    const parsed = new Map<string, Manifest[]>();
    const objects = (file: string) => parsed.get(file) ?? parsed.set(file, parseTree({ [file]: files[file] })).get(file)!;
    first = { files, apps, objects };
    firstSyntheses.set(build, first);
  }
  return first;
}

export function parseTree(files: Record<string, string>): Manifest[] {
  return Object.values(files).flatMap((yaml) => YAML.parseAllDocuments(yaml).map((d) => d.toJSON())) as Manifest[];
}

// ArgoCD's documented sync options (argo-cd docs, user-guide/sync-options.md) as these manifests use them.
const KNOWN_SYNC_OPTIONS = ['Prune=false', 'Delete=false', 'SkipDryRunOnMissingResource=true'];
const annotations = (m: Manifest): Record<string, string> => m.metadata.annotations ?? {};
const groupOf = (m: Manifest) => (m.apiVersion.includes('/') ? m.apiVersion.split('/')[0] : '');

/**
 * The invariants of a whole homelab app, whatever it declares (the ones test/apps/main.cases.ts checks on main.ts): its
 * committed output equals a fresh synthesis, byte for byte and twice; every object is valid against its schema; no
 * duplicate identities; every ExternalSecret has its store; no Secret; every claim kept; the GitOps annotations right.
 * Defines the tests in the calling describe block.
 */
export function appInvariants(build: BuildApps, committedDir: string): void {
  const { files: fresh, apps, objects } = firstSynthesis(build);
  const manifests = Object.keys(fresh).flatMap(objects);

  test('when it has alerts, every CronJob it runs is watched by them (failing, suspended, not running)', () => {
    const rules = manifests.filter((m) => m.kind === 'PrometheusRule').flatMap((m) => m.spec.groups.flatMap((g: any) => g.rules));
    if (rules.length === 0) return;
    for (const cron of manifests.filter((m) => m.kind === 'CronJob')) {
      const watched = rules.filter((r: any) => String(r.expr).includes(`cronjob="${cron.metadata.name}"`) && String(r.expr).includes(`namespace="${cron.metadata.namespace}"`));
      expect({ cronJob: cron.metadata.name, watched: watched.length > 0 }).toEqual({ cronJob: cron.metadata.name, watched: true });
    }
  });

  test('every pod passes Pod Security restricted, but for an AppArmor profile the app sets on purpose', () => {
    const pods = podTemplates(manifests);
    expect(pods.length).toBeGreaterThan(0);
    for (const p of pods) {
      const violations = podSecurityViolations(p.metadata, p.spec, 'restricted').filter((v) => !/: AppArmor \S+$/.test(v));
      expect([p.what, violations]).toEqual([p.what, []]);
    }
  });

  test('two syntheses give the same bytes', () => {
    expect(synthTo(build)).toEqual(fresh);
  });

  test('the committed output equals a fresh synthesis (run `npm run synth` and commit if this fails)', () => {
    const committed = readTree(committedDir);
    expect(Object.keys(committed)).toEqual(Object.keys(fresh));
    for (const name of Object.keys(fresh)) expect({ name, yaml: committed[name] }).toEqual({ name, yaml: fresh[name] });
  });

  test('names in the output are stable, never hashed', () => {
    expect(manifests.length).toBeGreaterThan(0);
    for (const m of manifests) expect(m.metadata.name).not.toMatch(/-c8[0-9a-f]{6,}$/);
  });

  test('every synthesized object is valid against its API or CRD schema, strictly', () => {
    expect(schemaErrors(manifests)).toEqual([]);
  });

  test('every custom resource satisfies its CRD\'s CEL rules, after the schema\'s defaults', () => {
    expect(celErrors(manifests)).toEqual([]);
  });

  test('no two objects share kind, namespace and name, and no two ExternalSecrets write one Secret', () => {
    expect(apps.length).toBeGreaterThan(0);
    expect(checkApps(apps)).toEqual([]);
  });

  test('every ExternalSecret reads through a ClusterSecretStore of the same output admitting its namespace; no Secret is synthesized', () => {
    const stores = manifests.filter((m) => m.kind === 'ClusterSecretStore');
    const admits = (store: Manifest | undefined) => (store?.spec.conditions ?? []).flatMap((c: any) => c.namespaces ?? []);
    for (const es of manifests.filter((m) => m.kind === 'ExternalSecret')) {
      const store = stores.find((s) => s.metadata.name === es.spec.secretStoreRef.name);
      expect({ es: es.metadata.name, kind: es.spec.secretStoreRef.kind, known: !!store, admitted: admits(store).includes(es.metadata.namespace) })
        .toEqual({ es: es.metadata.name, kind: 'ClusterSecretStore', known: true, admitted: true });
    }
    expect(manifests.filter((m) => m.kind === 'Secret')).toEqual([]);
  });

  test('fences: each store admits exactly one namespace, by name, which has an ExternalSecret; no namespace is admitted twice', () => {
    const stores = manifests.filter((m) => m.kind === 'ClusterSecretStore');
    const readers = new Set(manifests.filter((m) => m.kind === 'ExternalSecret').map((es) => es.metadata.namespace));
    const admitted = stores.map((s) => {
      expect({ store: s.metadata.name, conditions: s.spec.conditions?.length, selectors: JSON.stringify(s.spec.conditions).match(/namespaceSelector|namespaceRegexes/) })
        .toEqual({ store: s.metadata.name, conditions: 1, selectors: null });
      expect({ store: s.metadata.name, namespaces: s.spec.conditions[0].namespaces.length }).toEqual({ store: s.metadata.name, namespaces: 1 });
      // Named, never referent: a store without the ServiceAccount's namespace always reads Ready in ESO 2.9.
      expect(s.spec.provider.vault.auth.kubernetes.serviceAccountRef.namespace).toEqual(expect.any(String));
      return s.spec.conditions[0].namespaces[0] as string;
    });
    expect(admitted.filter((n) => !readers.has(n))).toEqual([]);
    expect(admitted.filter((n, i) => admitted.indexOf(n) !== i)).toEqual([]);
  });

  test('every claim is kept by GitOps: never pruned, never deleted with the Application', () => {
    for (const claim of manifests.filter((m) => m.kind === 'PersistentVolumeClaim')) {
      expect(annotations(claim)['argocd.argoproj.io/sync-options']).toMatch(/(^|,)Prune=false(,|$)/);
      expect(annotations(claim)['argocd.argoproj.io/sync-options']).toMatch(/(^|,)Delete=false(,|$)/);
      expect(annotations(claim)['kustomize.toolkit.fluxcd.io/prune']).toBe('disabled');
    }
  });

  test('one folder per GitOps unit: vault/ needs no CRD but Longhorn\'s and cert-manager\'s (prerequisites of its claim and its TLS)', () => {
    const groups = crdGroups();
    for (const file of Object.keys(fresh).filter((f) => f.startsWith('vault/'))) {
      for (const m of objects(file)) {
        const prerequisite = ['longhorn.io', 'cert-manager.io'].includes(groupOf(m));
        expect({ file, kind: m.kind, crd: groups.has(groupOf(m)) && !prerequisite }).toEqual({ file, kind: m.kind, crd: false });
      }
    }
  });

  test('sync options are known ArgoCD options, waves are whole numbers, Flux prune is only ever disabled', () => {
    for (const m of manifests) {
      const a = annotations(m);
      const what = `${m.kind}/${m.metadata.name}`;
      for (const option of (a['argocd.argoproj.io/sync-options'] ?? '').split(',').filter(Boolean)) {
        expect({ what, option, known: KNOWN_SYNC_OPTIONS.includes(option) }).toEqual({ what, option, known: true });
      }
      if (a['argocd.argoproj.io/sync-wave'] !== undefined) expect({ what, wave: a['argocd.argoproj.io/sync-wave'] }).toEqual({ what, wave: expect.stringMatching(/^-?\d+$/) });
      if (a['kustomize.toolkit.fluxcd.io/prune'] !== undefined) expect(a['kustomize.toolkit.fluxcd.io/prune']).toBe('disabled');
    }
  });

  test('every object whose kind comes from a CRD lets ArgoCD skip its dry run while the CRD is missing', () => {
    const groups = crdGroups();
    for (const m of manifests.filter((o) => groups.has(groupOf(o)))) {
      expect({ what: `${m.kind}/${m.metadata.name}`, options: annotations(m)['argocd.argoproj.io/sync-options'] })
        .toEqual({ what: `${m.kind}/${m.metadata.name}`, options: expect.stringMatching(/(^|,)SkipDryRunOnMissingResource=true(,|$)/) });
    }
  });

  test('every ExternalSecret is applied in a later wave than its store', () => {
    const wave = (m: Manifest) => Number(annotations(m)['argocd.argoproj.io/sync-wave'] ?? 0);
    const stores = new Map(manifests.filter((m) => m.kind === 'ClusterSecretStore').map((m) => [m.metadata.name, wave(m)]));
    for (const es of manifests.filter((m) => m.kind === 'ExternalSecret')) {
      expect(wave(es)).toBeGreaterThan(stores.get(es.spec.secretStoreRef.name)!);
    }
  });
}
