import { existsSync, readdirSync, readFileSync } from 'fs';
import { dirname, join, relative } from 'path';

// What the docs name must exist: the repository paths they quote, the npm scripts they run, and the targets (and
// anchors) of their relative links. Each check returns its problems as one line each, so a test shows them all.

/** The repository's root. */
export const ROOT = join(__dirname, '..', '..');

/** Quoted words that look like repository paths and are not: an AppArmor profile. */
const NOT_PATHS = new Set(['runtime/default']);

/** The docs: the README, each example's README, and every page of docs/ (relative to the root). */
export function docFiles(root = ROOT): string[] {
  const examples = readdirSync(join(root, 'examples'), { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(root, 'examples', e.name, 'README.md')))
    .map((e) => `examples/${e.name}/README.md`);
  const docs = existsSync(join(root, 'docs'))
    ? (readdirSync(join(root, 'docs'), { recursive: true }) as string[]).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)
    : [];
  return ['README.md', ...examples, ...docs.sort()];
}

/** The text without its fenced code blocks, those in a blockquote too (their lines blanked, so line numbers stay). */
export function prose(text: string): string {
  return text.replace(/^((?:> ?)*)( *)(```|~~~)[^\n]*\n[\s\S]*?^\1\2\3[ \t]*$/gm, (block) => block.replace(/[^\n]/g, ''));
}

/** The fenced code blocks of a language ('sh', 'ts', ...), dedented. */
export function fencedBlocks(text: string, language: string): string[] {
  return [...text.matchAll(/^( *)```(\w*)\n([\s\S]*?)^\1```/gm)]
    .filter(([, , lang]) => lang === language)
    .map(([, indent, , body]) => body.split('\n').map((line) => line.slice(indent.length)).join('\n'));
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
export function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors a page offers: its headings' (GitHub numbers repeats: x, x-1, ...) and its `<a id="...">`. */
export function anchors(text: string): Set<string> {
  const found = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, heading] of prose(text).matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const base = slug(heading);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    found.add(count === 0 ? base : `${base}-${count}`);
  }
  for (const [, id] of text.matchAll(/<a id="([^"]+)"><\/a>/g)) found.add(id);
  return found;
}

/** The headings of a page that appear more than once (a reader, and a link, cannot tell them apart). */
export function repeatedHeadings(text: string): string[] {
  const headings = [...prose(text).matchAll(/^#{1,6} +(.+?) *#*$/gm)].map(([, h]) => h);
  return [...new Set(headings.filter((h, i) => headings.indexOf(h) !== i))];
}

/** The first segments a repository path can start with: the root's entries, and the folders renamed in flight. */
function topLevel(root: string): Set<string> {
  const names = readdirSync(root).filter((n) => n !== 'node_modules' && n !== '.git');
  return new Set(names);
}

/** Whether a quoted path exists: beside the doc first (an example's `dist/`), then from the root; a `dist/` path in
 * the root's dist/ or an example's (a file only some layouts write, such as dist/ui/). */
function pathExists(root: string, docDir: string, path: string): boolean {
  const candidates = [join(docDir, path), join(root, path)];
  if (path.startsWith('dist/')) {
    for (const e of readdirSync(join(root, 'examples'))) candidates.push(join(root, 'examples', e, path));
  }
  return candidates.some((c) => existsSync(c));
}

/** Every repository path quoted in inline code (`lib/vault-stack.ts`, `node scripts/synth.js`) or in a shell block. */
export function missingPaths(root: string, doc: string, text: string): string[] {
  const roots = topLevel(root);
  const quoted = [
    ...[...prose(text).matchAll(/`([^`]+)`/g)].map(([, code]) => code),
    ...fencedBlocks(text, 'sh'),
  ];
  const problems: string[] = [];
  for (const code of quoted) {
    for (const raw of code.split(/[\s=()"'|<>;,]+/)) {
      const word = raw.replace(/[.:]+$/, '').replace(/^\.\//, '');
      if (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]*)*$/.test(word) || NOT_PATHS.has(word)) continue;
      // A lone word is a path only with an extension (`main.ts`): `build` and `tools` are words too.
      if (!roots.has(word.split('/')[0]) || !/[/.]/.test(word)) continue;
      if (!pathExists(root, join(root, dirname(doc)), word)) problems.push(`${doc}: path ${word} does not exist`);
    }
  }
  return [...new Set(problems)];
}

/** Every `npm run <script>` the doc names is a script of package.json. */
export function missingScripts(root: string, doc: string, text: string): string[] {
  const scripts = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts as Record<string, string>;
  const named = [...text.matchAll(/npm run (?:-s )?([A-Za-z][\w:-]*)/g)].map(([, name]) => name);
  return [...new Set(named.filter((name) => !(name in scripts)).map((name) => `${doc}: npm run ${name}: no such script in package.json`))];
}

/** Every relative Markdown link resolves: its file (or folder) exists, and its #anchor is a heading or `<a id>` there. */
export function brokenLinks(root: string, doc: string, text: string, read = (file: string) => readFileSync(file, 'utf8')): string[] {
  const problems: string[] = [];
  for (const [, target] of prose(text).matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/i.test(target)) continue;
    const [path, anchor] = target.split('#');
    const file = path === '' ? join(root, doc) : join(root, dirname(doc), path);
    const shown = path === '' ? doc : relative(root, file);
    if (!existsSync(file)) {
      problems.push(`${doc}: link ${target}: ${shown} does not exist`);
      continue;
    }
    if (anchor === undefined) continue;
    if (!file.endsWith('.md')) problems.push(`${doc}: link ${target}: an anchor into ${shown}, which is not a page`);
    else if (!anchors(path === '' ? text : read(file)).has(anchor)) problems.push(`${doc}: link ${target}: ${shown} has no anchor #${anchor}`);
  }
  return problems;
}

/** A piece of shell a page gives to run: a line of a `sh`/`bash` block (continuations joined), or an inline code span. */
export interface ShellCode { readonly line: number; readonly code: string }

/** The shell a page gives: each line of its `sh` and `bash` blocks (a `\` continuation joined), and each inline code span. */
export function shellCode(text: string): ShellCode[] {
  const found: ShellCode[] = [];
  const lines = text.split('\n');
  let fence: { indent: string; shell: boolean } | undefined;
  let pending: ShellCode | undefined;
  lines.forEach((line, i) => {
    const opening = /^( *)```(\w*)/.exec(line);
    if (!fence && opening) {
      fence = { indent: opening[1], shell: ['sh', 'bash'].includes(opening[2]) };
      return;
    }
    if (fence && new RegExp(`^${fence.indent}\`\`\`\\s*$`).test(line)) {
      fence = undefined;
      return;
    }
    if (!fence?.shell) return;
    const start = pending?.line ?? i + 1;
    const code = pending ? `${pending.code} ${line.trim()}` : line;
    pending = /\\$/.test(code) ? { line: start, code: code.slice(0, -1) } : undefined;
    if (!pending) found.push({ line: start, code });
  });
  const inline = prose(text);
  for (const match of inline.matchAll(/`([^`]+)`/g)) {
    found.push({ line: inline.slice(0, match.index).split('\n').length, code: match[1].replace(/\n/g, ' ') });
  }
  return found.sort((a, b) => a.line - b.line);
}

/** The words of one command, from `start` to the end of that command (an unquoted `|`, `;`, `&`, `)`, backtick or comment). */
function commandWords(code: string, start: number): string[] {
  const words: string[] = [];
  let word = '';
  let quote = '';
  for (let i = start; i < code.length; i++) {
    const c = code[i];
    if (quote) {
      if (c === quote) quote = '';
      word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word += c;
    } else if (/[|;&)`]/.test(c) || (c === '#' && word === '')) {
      break;
    } else if (/\s/.test(c)) {
      if (word) words.push(word);
      word = '';
    } else {
      word += c;
    }
  }
  if (word) words.push(word);
  return words;
}

/** What a command's argument names: a namespace, a claim, a store, or the GitOps app of dist/vault. */
type Named = 'namespace' | 'claim' | 'store' | 'app';

/** The arguments of a `kubectl`, `helm`, `argocd` or `flux` command that name a namespace, a claim, a store or an app. */
export function namedArguments(words: string[]): Array<{ what: Named; value: string }> {
  const [tool, ...args] = words;
  const found: Array<{ what: Named; value: string }> = [];
  const next = (i: number) => (args[i + 1] !== undefined && !args[i + 1].startsWith('-') ? args[i + 1] : undefined);
  const add = (what: Named, value: string | undefined) => { if (value !== undefined) found.push({ what, value }); };
  args.forEach((arg, i) => {
    if (tool === 'kubectl' || tool === 'helm') {
      if (arg === '-n' || arg === '--namespace') add('namespace', args[i + 1]);
      const inline = /^(?:-n|--namespace)=(.+)$/.exec(arg);
      if (inline) add('namespace', inline[1]);
    }
    if (tool === 'kubectl') {
      if (/^(ns|namespaces?)$/.test(arg)) add('namespace', next(i));
      if (/^(pvc|persistentvolumeclaims?)$/.test(arg)) add('claim', next(i));
      if (/^clustersecretstores?(\.external-secrets\.io)?$/.test(arg)) add('store', next(i));
      const slashed = /^(pvc|persistentvolumeclaims?|clustersecretstores?)(?:\.[\w.-]+)?\/(.+)$/.exec(arg);
      if (slashed) add(slashed[1].startsWith('c') ? 'store' : 'claim', slashed[2]);
    }
    if (tool === 'argocd' && i === 1 && args[0] === 'app') add('app', next(i));
    if (tool === 'flux' && i === 1 && /^(kustomization|ks)$/.test(arg)) add('app', next(i));
  });
  return found;
}

/** What each named argument may be: one of these variables of the "Names" note (or a page's `APP`), or a `<placeholder>`. */
const VARIABLES: Record<Named, string[]> = {
  namespace: ['VAULT_NS', 'ESO_NS'],
  claim: ['VAULT_CLAIM'],
  store: ['STORES'],
  app: ['APP'],
};

/**
 * Names that are the same in every homelab, so a command may spell them out: none is a site value of main.ts.
 */
export const FIXED: Record<Named, Set<string>> = {
  namespace: new Set([
    'longhorn-system', // Longhorn's own: its objects, and VaultBackup's RecurringJobs
    'default', // where the API server keeps Events about a cluster-scoped object (the store's)
    'argocd', 'flux-system', // the GitOps tools' own, where their Applications and Kustomizations live
    'kube-system', // Kubernetes' own; where k3s runs Traefik
    'envoy-gateway-system', // Envoy Gateway's own, where it runs its proxies' Services
    'cert-manager', // cert-manager's own, where its Helm chart installs it (docs/from-zero.md's day 0)
  ]),
  claim: new Set(['vault-raft-snapshots']), // VaultSnapshotCron's claim, which no main.ts names (the construct's default)
  store: new Set(),
  app: new Set(),
};

/** Whether a word is one of the variables (`$X`, `"$X"`, `${X}`, `"${X}"`) or a `<placeholder>`. */
function variableOrPlaceholder(value: string, variables: string[]): boolean {
  const bare = value.replace(/^"(.*)"$/, '$1');
  return /^<[^<>\s]+>$/.test(bare) || variables.some((v) => bare === `$${v}` || bare === `\${${v}}`);
}

/**
 * Every namespace, claim, store and GitOps app a page's commands name is a variable (the "Names" note's, or the page's
 * `APP`), a `<placeholder>`, or a name of every homelab (FIXED): never one homelab's value spelled out.
 */
export function spelledOutNames(doc: string, text: string): string[] {
  const problems: string[] = [];
  for (const { line, code } of shellCode(text)) {
    for (const match of code.matchAll(/(?<=^|[\s(;&|`])(kubectl|helm|argocd|flux)(?=\s)/g)) {
      for (const { what, value } of namedArguments(commandWords(code, match.index!))) {
        if (variableOrPlaceholder(value, VARIABLES[what]) || FIXED[what].has(value)) continue;
        const allowed = [...VARIABLES[what].map((v) => `$${v}`), '<placeholder>', ...FIXED[what]].join(', ');
        problems.push(`${doc}:${line}: ${match[1]} names the ${what} ${value}: use one of ${allowed}`);
      }
    }
  }
  return problems;
}

/** Variables the docs' commands may use without defining them: the tools' own settings, read from the environment. */
const ENVIRONMENT = new Set(['VAULT_ADDR', 'VAULT_TOKEN', 'VAULT_CACERT', 'HOME', 'PATH', 'CDK8S_CHECK_UPGRADE', 'RUNS']);

/** Every `$variable` a page's commands use is set on the page (by `defined`, an assignment, a `for`) or the environment's. */
export function undefinedVariables(doc: string, text: string, defined: string[]): string[] {
  const code = shellCode(text);
  const set = new Set([...defined, ...ENVIRONMENT]);
  for (const { code: c } of code) {
    for (const [, name] of c.matchAll(/(?:^|[\s;(&|])(?:export\s+)?([A-Za-z_]\w*)=/g)) set.add(name);
    for (const [, name] of c.matchAll(/\bfor\s+([A-Za-z_]\w*)\s+in\b/g)) set.add(name);
  }
  const problems = code.flatMap(({ line, code: c }) => [...c.replace(/'[^']*'/g, '').matchAll(/\$\{?([A-Za-z_]\w*)/g)]
    .filter(([, name]) => !set.has(name)).map(([, name]) => `${doc}:${line}: $${name} is not set on the page`));
  return [...new Set(problems)];
}
