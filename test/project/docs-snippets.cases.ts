import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { join, relative } from 'path';
import { docFiles, ROOT } from '../support/docs';

// Every TypeScript snippet of the docs (the README, the examples' READMEs, docs/) compiles against the library as it
// is (issue 22, item 5): a reader pastes them into main.ts. Each ```ts block is wrapped in the context of main.ts that
// an HTML comment on the line before the fence names, `<!-- ts: module -->` or by default `statements`, and all are
// type-checked in one TypeScript program with the project's compiler options, the library resolving through
// tsconfig.json's `paths` (homelab-secrets -> lib/index.ts). An error is reported at its line in the doc. The check is
// synthesis's (build/typecheck-entries.js), each snippet an entry: it is recorded with a stamp of everything it read,
// the snippets' texts included, and made again only when one of them changed (a check costs about 3 s of CPU).

type TS = typeof import('typescript');

/** What main.ts's `site` and each example's hold: a snippet may read any of these. */
const SITE = `declare const site: {
  host: string; vaultNamespace: string; esoNamespace: string; ingressControllerNamespace: string;
  claimName: string; storageClassName: string; storageSize: string; vaultAppArmorProfile: string; replicas: number;
  gateway: { name: string; namespace: string; listener: string };
};`;

/**
 * The contexts a snippet may be written in, each as what precedes and follows it. Both start as main.ts does: cdk8s's
 * App and Chart, every export of the library, and `site`.
 */
const CONTEXTS: Record<string, { before: string; after: string }> = {
  // main.ts's top level: the snippet declares `props`, `buildApps` or whatever main.ts would.
  module: { before: '', after: '' },
  // The body of main.ts's buildApps, after homelab(): `props` is main.ts's, and the homelab's parts are at hand.
  statements: {
    before: [
      'declare const props: HomelabProps;',
      'export function buildApps(outdir = \'dist\'): App[] {',
      '  const { apps, folder, secrets, store, vault, unseal, recovery, snapshots } = homelab(outdir, props);',
    ].join('\n'),
    after: '  return apps;\n}',
  },
};

interface Snippet { readonly doc: string; readonly line: number; readonly context: string; readonly code: string }

/** The ```ts blocks of a doc: where their code starts, their context, their code (dedented). */
export function tsSnippets(doc: string, text: string): Snippet[] {
  const lines = text.split('\n');
  const found: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^( *)```ts\s*$/.exec(lines[i]);
    if (!open) continue;
    const end = lines.findIndex((line, j) => j > i && new RegExp(`^${open[1]}\`\`\`\\s*$`).test(line));
    const context = /^\s*<!-- ts: ([\w-]+) -->\s*$/.exec(lines[i - 1] ?? '')?.[1] ?? 'statements';
    found.push({ doc, line: i + 2, context, code: lines.slice(i + 1, end).map((l) => l.slice(open[1].length)).join('\n') });
    i = end;
  }
  return found;
}

/** The names lib/index.ts exports, read from the syntax of the files it re-exports. */
function libraryExports(ts: TS): string[] {
  const names = new Set<string>();
  const index = readFileSync(join(ROOT, 'lib', 'index.ts'), 'utf8');
  for (const [, file] of index.matchAll(/^export \* from '\.\/([^']+)';$/gm)) {
    const source = ts.createSourceFile(file, readFileSync(join(ROOT, 'lib', `${file}.ts`), 'utf8'), ts.ScriptTarget.ES2022);
    for (const statement of source.statements) {
      const exported = ts.canHaveModifiers(statement) && ts.getModifiers(statement)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
      const name = (statement as { name?: { text?: string } }).name?.text;
      if (exported && name) names.add(name);
      if (exported && ts.isVariableStatement(statement)) {
        for (const d of statement.declarationList.declarations) if (ts.isIdentifier(d.name)) names.add(d.name.text);
      }
      if (ts.isExportDeclaration(statement) && statement.exportClause && ts.isNamedExports(statement.exportClause)) {
        for (const element of statement.exportClause.elements) names.add(element.name.text);
      }
    }
  }
  return [...names].sort();
}

/** Where the snippets are written as files, each in its context, to be checked: beside the project's packages. */
const SNIPPETS_DIR = join(ROOT, 'node_modules', '.cache', 'homelab-secrets', 'doc-snippets');

/** Writes `text` to `file` unless it holds it already (an unchanged file keeps the stat its stamp recorded). */
function writeIfChanged(file: string, text: string): void {
  let current: string | undefined;
  try { current = readFileSync(file, 'utf8'); } catch { current = undefined; }
  if (current !== text) writeFileSync(file, text);
}

/** The errors of every snippet of `docs`, as `<doc>:<line>: <message>`, from one type-check. */
export function snippetErrors(docs: Array<{ doc: string; text: string }>): { errors: string[]; snippets: number } {
  const ts: TS = require('typescript');
  const prelude = [
    "import { App, Chart } from 'cdk8s';",
    `import { ${libraryExports(ts).join(', ')} } from 'homelab-secrets';`,
    SITE,
  ].join('\n');
  const errors: string[] = [];
  const files = new Map<string, { snippet: Snippet; text: string; offset: number }>();
  docs.flatMap(({ doc, text }) => tsSnippets(doc, text)).forEach((snippet, i) => {
    const context = CONTEXTS[snippet.context];
    if (!context) {
      errors.push(`${snippet.doc}:${snippet.line - 2}: unknown snippet context "${snippet.context}" (known: ${Object.keys(CONTEXTS).join(', ')})`);
      return;
    }
    const before = `${prelude}\n${context.before}\n`;
    files.set(relative(ROOT, join(SNIPPETS_DIR, `snippet-${i}.ts`)), { snippet, text: `${before}${snippet.code}\n${context.after}\n`, offset: before.split('\n').length - 1 });
  });
  // The folder holds these files only: a file left from a longer list of snippets would be a name the imports see.
  mkdirSync(SNIPPETS_DIR, { recursive: true });
  const names = new Set([...files.keys()].map((file) => relative(SNIPPETS_DIR, join(ROOT, file))));
  for (const name of readdirSync(SNIPPETS_DIR).filter((n) => !names.has(n))) rmSync(join(SNIPPETS_DIR, name), { force: true });
  for (const [file, { text }] of files) writeIfChanged(join(ROOT, file), text);
  const { entryDiagnostics } = require('../../build/typecheck-entries') as {
    entryDiagnostics: (entries: string[]) => Array<{ file?: string; line?: number; message: string }>;
  };
  for (const d of entryDiagnostics([...files.keys()])) {
    const found = d.file === undefined ? undefined : files.get(d.file);
    if (!found) {
      errors.push(`the snippets' program: ${d.file ? `${d.file}:${d.line}: ` : ''}${d.message}`);
      continue;
    }
    const { snippet, offset } = found;
    const line = d.line! - 1 - offset;
    const inside = line >= 0 && line < snippet.code.split('\n').length;
    errors.push(inside ? `${snippet.doc}:${snippet.line + line}: ${d.message}` : `${snippet.doc}:${snippet.line - 1}: in its context (${snippet.context}): ${d.message}`);
  }
  return { errors, snippets: files.size };
}

const DOCS = docFiles().map((doc) => ({ doc, text: readFileSync(join(ROOT, doc), 'utf8') }));

// A page of mistakes, checked in the same program as the docs.
const FAKE = {
  doc: 'fake.md',
  text: [
    '# Fake', '', '```ts',
    "new AppSecret(secrets, 'x', { namespace: 'x', store, dataFrom: [{ path: 'x' }], refreshIntervl: '1h' });",
    '```', '', '<!-- ts: module -->', '```ts',
    "const props: HomelabProps = { vault: { host: site.host, storageClasName: 'longhorn' } };",
    '```', '', '<!-- ts: nowhere -->', '```ts', 'new VaultStack(app);', '```', '',
  ].join('\n'),
};

let checked: ReturnType<typeof snippetErrors> | undefined;
const results = () => (checked ??= snippetErrors([...DOCS, FAKE]));

test('every TypeScript snippet of the docs compiles against the library, in the context it is written for', () => {
  const { errors, snippets } = results();
  expect(DOCS.flatMap(({ doc, text }) => tsSnippets(doc, text)).length).toBeGreaterThanOrEqual(3);
  expect(snippets).toBe(DOCS.flatMap(({ doc, text }) => tsSnippets(doc, text)).length + 2);
  expect(errors.filter((e) => !e.startsWith('fake.md:'))).toEqual([]);
});

test('a misspelled prop, in either context, and an unknown context are reported at their line in the doc', () => {
  expect(results().errors.filter((e) => e.startsWith('fake.md:'))).toEqual([
    'fake.md:12: unknown snippet context "nowhere" (known: module, statements)',
    "fake.md:4: Object literal may only specify known properties, but 'refreshIntervl' does not exist in type 'AppSecretProps'. Did you mean to write 'refreshInterval'?",
    expect.stringMatching(/^fake\.md:9: Object literal may only specify known properties, .*'storageClasName' does not exist in type 'VaultStackProps'/),
  ]);
});
