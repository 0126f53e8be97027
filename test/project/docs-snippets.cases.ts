import { readFileSync } from 'fs';
import { join } from 'path';
import { docFiles, ROOT } from '../support/docs';

// Every TypeScript snippet of the docs (the README, the examples' READMEs, docs/) compiles against the library as it
// is (issue 22, item 5): a reader pastes them into main.ts. Each ```ts block is wrapped in the context of main.ts that
// an HTML comment on the line before the fence names, `<!-- ts: module -->` or by default `statements`, and all are
// type-checked in one TypeScript program with the project's compiler options, the library resolving through
// tsconfig.json's `paths` (homelab-secrets -> lib/index.ts). An error is reported at its line in the doc.

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

/** The errors of every snippet of `docs`, as `<doc>:<line>: <message>`, from one type-check. */
export function snippetErrors(docs: Array<{ doc: string; text: string }>): { errors: string[]; snippets: number } {
  const ts: TS = require('typescript');
  const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile).config;
  const parsed = ts.parseJsonConfigFileContent({ ...config, include: [], files: [] }, ts.sys, ROOT);
  const options = {
    ...parsed.options, noUnusedLocals: false, noUnusedParameters: false, incremental: false, tsBuildInfoFile: undefined, types: ['node'],
  };
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
    files.set(join(ROOT, `__doc_snippet_${i}.ts`), { snippet, text: `${before}${snippet.code}\n${context.after}\n`, offset: before.split('\n').length - 1 });
  });
  const host = ts.createCompilerHost(options, true);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, language, ...rest) => {
    const virtual = files.get(name);
    return virtual ? ts.createSourceFile(name, virtual.text, language, true) : getSourceFile.call(host, name, language, ...rest);
  };
  host.fileExists = (name) => files.has(name) || fileExists.call(host, name);
  host.readFile = (name) => files.get(name)?.text ?? readFile.call(host, name);
  const program = ts.createProgram([...files.keys()], options, host);
  const message = (d: import('typescript').Diagnostic) => ts.flattenDiagnosticMessageText(d.messageText, ' ');
  errors.push(...[...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()].map((d) => `the snippets' program: ${message(d)}`));
  for (const [name, { snippet, offset }] of files) {
    const source = program.getSourceFile(name)!;
    for (const d of [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]) {
      const line = source.getLineAndCharacterOfPosition(d.start ?? 0).line - offset;
      const inside = line >= 0 && line < snippet.code.split('\n').length;
      errors.push(inside ? `${snippet.doc}:${snippet.line + line}: ${message(d)}` : `${snippet.doc}:${snippet.line - 1}: in its context (${snippet.context}): ${message(d)}`);
    }
  }
  return { errors, snippets: files.size };
}

const DOCS = docFiles().map((doc) => ({ doc, text: readFileSync(join(ROOT, doc), 'utf8') }));

// A page of mistakes, checked in the same program as the docs (one type-check costs about 3 s of CPU).
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
