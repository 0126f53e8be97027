import { existsSync, readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import * as ts from 'typescript';
import { root } from '../../build/bundle';

// The docs' prop tables cannot drift from the code: each construct's table ("| <Construct> prop | ...") lists exactly the
// props of its Props interface (inherited ones included), and a default the doc comment states as a plain value
// appears in the row. The doc comments in lib/ are the source; the tables are checked against them.

/** The docs: the README, each example's README, and every page of docs/. */
const DOCS = [
  join(root, 'README.md'),
  ...(readdirSync(join(root, 'examples'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(root, 'examples', e.name, 'README.md'))),
  ...(existsSync(join(root, 'docs')) ? (readdirSync(join(root, 'docs'), { recursive: true }) as string[]).filter((f) => f.endsWith('.md')).map((f) => join(root, 'docs', f)) : []),
].filter((f) => existsSync(f));

interface Prop { readonly name: string; readonly defaultText?: string }

/**
 * Every exported `<Construct>Props` interface of lib/ whose construct lib/index.ts exports, with its props (those of the
 * interfaces it extends included) and their @default. Read from the syntax alone: a type checker would load every
 * package and generated class the library imports, for nothing.
 */
function propsInterfaces(): Map<string, Prop[]> {
  const index = readFileSync(join(root, 'lib', 'index.ts'), 'utf8');
  const publicFiles = new Set([...index.matchAll(/from '\.\/([^']+)'/g)].map((m) => `${m[1]}.ts`));
  const exported = (node: ts.Node) => ts.canHaveModifiers(node) && ts.getModifiers(node)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
  const classes = new Set<string>();
  const interfaces = new Map<string, { props: Prop[]; bases: string[]; exported: boolean }>();
  for (const file of readdirSync(join(root, 'lib')).filter((f) => f.endsWith('.ts'))) {
    const source = ts.createSourceFile(file, readFileSync(join(root, 'lib', file), 'utf8'), ts.ScriptTarget.ES2022, true);
    ts.forEachChild(source, (node) => {
      if (ts.isClassDeclaration(node) && node.name && exported(node) && publicFiles.has(file)) classes.add(node.name.text);
      if (!ts.isInterfaceDeclaration(node)) return;
      const props = node.members.filter(ts.isPropertySignature).map((member) => {
        const tag = ts.getJSDocTags(member).find((t) => t.tagName.text === 'default');
        const text = typeof tag?.comment === 'string' ? tag.comment : ts.getTextOfJSDocComment(tag?.comment);
        return { name: member.name.getText(source), defaultText: text?.trim() };
      });
      const bases = (node.heritageClauses ?? []).flatMap((h) => h.types.map((t) => t.expression.getText(source)));
      interfaces.set(node.name.text, { props, bases, exported: !!exported(node) });
    });
  }
  const allProps = (name: string): Prop[] => {
    const found = interfaces.get(name);
    return found ? [...found.bases.flatMap(allProps), ...found.props] : [];
  };
  const result = new Map<string, Prop[]>();
  for (const [name, { exported: isExported }] of interfaces) {
    const construct = name.replace(/Props$/, '');
    if (name.endsWith('Props') && isExported && classes.has(construct)) result.set(construct, allProps(name));
  }
  return result;
}

/** The rows of the tables whose header's first cell is `<construct> prop`: the props each row names, and its text. */
function table(construct: string): Array<{ names: string[]; row: string }> | undefined {
  const rows: Array<{ names: string[]; row: string }> = [];
  let found = false;
  for (const doc of DOCS) {
    const lines = readFileSync(doc, 'utf8').split('\n');
    lines.forEach((line, start) => {
      if (!line.startsWith(`| ${construct} prop |`)) return;
      found = true;
      for (const row of lines.slice(start + 2)) {
        if (!row.startsWith('|')) break;
        rows.push({ names: [...row.split(' | ')[0].matchAll(/`([A-Za-z]+)`/g)].map((m) => m[1]), row });
      }
    });
  }
  return found ? rows : undefined;
}

const interfaces = propsInterfaces();

test("every public construct with props is found, so none escapes the check", () => {
  expect([...interfaces.keys()].sort()).toEqual(expect.arrayContaining(['AppSecret', 'EsoRecoveryCron', 'EsoStore', 'UnsealCron', 'VaultAlerts', 'VaultBackup', 'VaultStack']));
});

describe.each([...interfaces.entries()].sort(([a], [b]) => a.localeCompare(b)))('%s', (construct, props) => {
  test('its docs table lists exactly its props', () => {
    const rows = table(construct);
    expect({ construct, table: rows !== undefined }).toEqual({ construct, table: true });
    expect(rows!.flatMap((r) => r.names).sort()).toEqual(props.map((p) => p.name).sort());
  });

  test('a default the doc comment gives as a plain value is the table\'s', () => {
    const rows = table(construct) ?? [];
    for (const prop of props) {
      const plain = /^'([^']*)'$|^(\d+|true|false)$/.exec(prop.defaultText ?? '');
      if (!plain) continue;
      const row = rows.find((r) => r.names.includes(prop.name));
      const value = plain[1] ?? plain[2];
      const shown = row !== undefined && (row.row.includes(`\`${value}\``) || row.row.includes(`\`'${value}'\``));
      expect({ prop: prop.name, shown }).toEqual({ prop: prop.name, shown: true });
    }
  });
});
