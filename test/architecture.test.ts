import { existsSync, readdirSync, readFileSync, statSync } from 'fs';
import { dirname, join, relative, resolve } from 'path';
import { root } from '../build/bundle';

// The house's mechanics: no import cycle (a type-only import counts: it says the lower file knows the higher one), no
// arrow from a lower layer up, and no source file much over 300 lines. The layers, from the bottom:
//   runtime/common  what every bundled script and the operator's tools share
//   runtime, tools  the CronJobs' scripts (runtime/*.ts) and the operator's commands' code (tools/)
//   build           bundling and synthesizing, which lib/ and the commands both sit on
//   lib             the constructs
//   main.ts, examples, scripts   the apps and the commands
const LAYERS: Array<[RegExp, number]> = [
  [/^runtime\/common\//, 0],
  [/^(runtime|tools)\//, 1],
  [/^build\//, 2],
  [/^lib\//, 3],
  [/^(main\.ts|examples\/|scripts\/)/, 4],
];
const layerOf = (file: string) => LAYERS.find(([pattern]) => pattern.test(file))?.[1];

function sources(dir: string): string[] {
  if (!existsSync(join(root, dir))) return [];
  return (readdirSync(join(root, dir), { recursive: true }) as string[])
    .map((f) => join(dir, f).replace(/\\/g, '/'))
    .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts') && !f.includes('/dist/') && statSync(join(root, f)).isFile());
}

const FILES = ['main.ts', ...['runtime', 'tools', 'build', 'lib', 'examples', 'scripts'].flatMap(sources)];

/** The project files a file imports (static imports, `import type` and `require` of relative paths). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const specs = [...text.matchAll(/(?:from\s+|require\(\s*|import\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]);
  return specs.flatMap((spec) => {
    const base = relative(root, resolve(root, dirname(file), spec)).replace(/\\/g, '/');
    const found = [base, `${base}.ts`, `${base}.js`, `${base}/index.ts`].find((f) => existsSync(join(root, f)) && statSync(join(root, f)).isFile());
    return found && !found.startsWith('imports/') && !found.startsWith('node_modules/') ? [found] : [];
  });
}

const graph = new Map(FILES.map((f) => [f, importsOf(f)]));

test('every source file is in a layer', () => {
  expect(FILES.filter((f) => layerOf(f) === undefined)).toEqual([]);
});

test('no arrow from a lower layer up', () => {
  const up = [...graph].flatMap(([file, deps]) => deps.filter((d) => (layerOf(d) ?? 0) > (layerOf(file) ?? 0)).map((d) => `${file} -> ${d}`));
  expect(up).toEqual([]);
});

test('no import cycle', () => {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'open') {
      cycles.push([...path.slice(path.indexOf(file)), file].join(' -> '));
      return;
    }
    state.set(file, 'open');
    for (const dep of graph.get(file) ?? []) visit(dep, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of FILES) visit(file, []);
  expect(cycles).toEqual([]);
});

test('no source file much over 300 lines', () => {
  const long = FILES.map((f) => [f, readFileSync(join(root, f), 'utf8').split('\n').length] as const).filter(([, n]) => n > 320);
  expect(long).toEqual([]);
});

test('the check sees an arrow and a cycle when there is one', () => {
  expect(graph.get('main.ts')).toEqual(expect.arrayContaining(['lib/index.ts']));
  expect(layerOf('lib/vault-stack.ts')).toBeGreaterThan(layerOf('build/bundle.js')!);
});
