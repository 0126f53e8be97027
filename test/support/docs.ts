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

/** The text without its fenced code blocks (their lines blanked, so line numbers stay). */
export function prose(text: string): string {
  return text.replace(/^( *)(```|~~~)[^\n]*\n[\s\S]*?^\1\2[ \t]*$/gm, (block) => block.replace(/[^\n]/g, ''));
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
