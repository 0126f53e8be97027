import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as YAML from 'yaml';
import { buildApps } from '../../main';
import { summary, synthesize } from '../../build/synthesize';
import {
  anchors, brokenLinks, docFiles, fencedBlocks, missingPaths, missingScripts, repeatedHeadings, ROOT,
} from '../support/docs';

// The README is a front page read in five minutes, and everything the docs name exists: the paths they quote, the npm
// scripts they run, the pages and anchors they link to, the runbook each alert points at (issue 15 §7).

const DOCS = docFiles();
const text = (doc: string) => readFileSync(join(ROOT, doc), 'utf8');

test('the docs are the README, the examples\' READMEs and the pages of docs/', () => {
  expect(DOCS).toEqual(expect.arrayContaining(['README.md', 'examples/ha-raft/README.md', 'docs/alerts.md', 'docs/from-zero.md']));
});

test('the front page stays under 200 lines, and its table of contents links every page of docs/', () => {
  const readme = text('README.md');
  expect(readme.split('\n').length).toBeLessThan(200);
  const pages = DOCS.filter((d) => d.startsWith('docs/'));
  const linked = [...readme.matchAll(/\]\((docs\/[^)#]+)\)/g)].map(([, page]) => page);
  expect(pages.filter((page) => !linked.includes(page))).toEqual([]);
});

describe.each(DOCS)('%s', (doc) => {
  test('every repository path it quotes exists', () => {
    expect(missingPaths(ROOT, doc, text(doc))).toEqual([]);
  });

  test('every `npm run <script>` it names is a script of package.json', () => {
    expect(missingScripts(ROOT, doc, text(doc))).toEqual([]);
  });

  test('every relative link resolves, to the page and to the anchor', () => {
    expect(brokenLinks(ROOT, doc, text(doc))).toEqual([]);
  });

  test('no heading appears twice', () => {
    expect(repeatedHeadings(text(doc))).toEqual([]);
  });
});

test('the checks fail on what they are meant to catch', () => {
  const bad = [
    '# Page', '', '## Page', '', '## Page', '',
    'Run `npm run synthesise`, read `lib/vault-stak.ts` and `dist/vault/nothing.k8s.yaml`, keep `runtime/default`.',
    'See [alerts](docs/alerts.md#no-such-alert), [gone](docs/gone.md), [here](#page-2) and [there](#page-3).',
    '```sh', 'node scripts/synth-all.js', '```', '',
  ].join('\n');
  expect(missingPaths(ROOT, 'README.md', bad)).toEqual([
    'README.md: path lib/vault-stak.ts does not exist',
    'README.md: path dist/vault/nothing.k8s.yaml does not exist',
    'README.md: path scripts/synth-all.js does not exist',
  ]);
  expect(missingScripts(ROOT, 'README.md', bad)).toEqual(['README.md: npm run synthesise: no such script in package.json']);
  expect(brokenLinks(ROOT, 'README.md', bad)).toEqual([
    'README.md: link docs/alerts.md#no-such-alert: docs/alerts.md has no anchor #no-such-alert',
    'README.md: link docs/gone.md: docs/gone.md does not exist',
    'README.md: link #page-3: README.md has no anchor #page-3',
  ]);
  expect(repeatedHeadings(bad)).toEqual(['Page']);
});

test('a path that does not exist is named', () => {
  expect(missingPaths(ROOT, 'README.md', '`tools/vault-setup/main.ts`, `tools/vault-setup/other.ts`')).toEqual([
    'README.md: path tools/vault-setup/other.ts does not exist',
  ]);
});

/** Every `runbook` annotation in the committed dist/ folders (the root's and each example's). */
function runbooks(): Array<{ file: string; alert: string; runbook: string }> {
  const folders = ['dist', ...readdirSync(join(ROOT, 'examples')).map((e) => join('examples', e, 'dist'))].filter((d) => existsSync(join(ROOT, d)));
  const found: Array<{ file: string; alert: string; runbook: string }> = [];
  for (const folder of folders) {
    for (const file of (readdirSync(join(ROOT, folder), { recursive: true }) as string[]).filter((f) => f.endsWith('.yaml'))) {
      for (const doc of YAML.parseAllDocuments(readFileSync(join(ROOT, folder, file), 'utf8'))) {
        const manifest = doc.toJS();
        if (manifest?.kind !== 'PrometheusRule') continue;
        for (const group of manifest.spec.groups) {
          for (const rule of group.rules) found.push({ file: join(folder, file), alert: rule.alert, runbook: rule.annotations?.runbook });
        }
      }
    }
  }
  return found;
}

test('every alert\'s runbook annotation names a page of the repository and an anchor on it', () => {
  const all = runbooks();
  expect(all.length).toBeGreaterThan(10);
  for (const { alert, runbook } of all) {
    const [page, anchor] = (runbook ?? '').split('#');
    const resolves = existsSync(join(ROOT, page)) && anchor === alert.toLowerCase() && anchors(text(page)).has(anchor);
    expect({ alert, runbook, resolves }).toEqual({ alert, runbook, resolves: true });
  }
});

test('the front page\'s AppSecret statement is the one docs/secrets.md explains', () => {
  const statement = (doc: string) => fencedBlocks(text(doc), 'ts').find((b) => b.includes("new AppSecret(secrets, 'nextcloud-db'"));
  expect(statement('README.md')).toBeDefined();
  expect(statement('README.md')).toBe(statement('docs/secrets.md'));
});

test('the front page\'s sample output is what `npm run synth` prints for dist/ today', () => {
  const sample = fencedBlocks(text('README.md'), '').find((b) => b.startsWith('wrote dist/:'));
  const dir = mkdtempSync(join(tmpdir(), 'docs-'));
  try {
    expect(sample?.trimEnd()).toBe(summary('dist', synthesize(buildApps, join(dir, 'dist'))));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
