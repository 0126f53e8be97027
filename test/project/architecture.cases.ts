import { existsSync, readdirSync, readFileSync, statSync } from 'fs';
import { dirname, join, relative, resolve } from 'path';
import { root } from '../../build/bundle';
import { CASES_SUFFIX } from '../support/cases';

// The house's mechanics: no import cycle (a type-only import counts: it says the lower file knows the higher one), no
// arrow from a lower layer up, and no source file much over 300 lines. The layers, from the bottom:
//   runtime/common  what every bundled script, the operator's tools and the constructs share (the scripts' contract)
//   runtime, tools  the CronJobs' scripts (runtime/*.ts) and the operator's commands' code (tools/): siblings, which
//                   share only runtime/common
//   build           bundling and synthesizing, which lib/ and the commands both sit on
//   lib             the constructs
//   main.ts, examples, scripts   the apps and the commands
const LAYERS: Array<[RegExp, number, string]> = [
  [/^runtime\/common\//, 0, 'common'],
  [/^runtime\//, 1, 'scripts'],
  [/^tools\//, 1, 'tools'],
  [/^build\//, 2, 'build'],
  [/^lib\//, 3, 'lib'],
  [/^(main\.ts|examples\/|scripts\/)/, 4, 'apps'],
];
const layerOf = (file: string) => LAYERS.find(([pattern]) => pattern.test(file))?.[1];
const groupOf = (file: string) => LAYERS.find(([pattern]) => pattern.test(file))?.[2];

/** The arrows that break the layering: up a layer, or across between siblings of one layer. */
function badArrows(graph: Map<string, string[]>): string[] {
  return [...graph].flatMap(([file, deps]) => deps.filter((d) => {
    const [from, to] = [layerOf(file) ?? 0, layerOf(d) ?? 0];
    return to > from || (to === from && groupOf(d) !== groupOf(file));
  }).map((d) => `${file} -> ${d}`));
}

/** The import cycles of a graph, each as its path. */
function cyclesOf(graph: Map<string, string[]>): string[] {
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
  for (const file of graph.keys()) visit(file, []);
  return cycles;
}

function sources(dir: string): string[] {
  if (!existsSync(join(root, dir))) return [];
  return (readdirSync(join(root, dir), { recursive: true }) as string[])
    .map((f) => join(dir, f).replace(/\\/g, '/'))
    .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts') && !f.includes('/dist/') && statSync(join(root, f)).isFile());
}

const FILES = ['main.ts', ...['runtime', 'tools', 'build', 'lib', 'examples', 'scripts'].flatMap(sources)];

/** The project files a file imports (static imports, `import type` and `require` of relative paths, and of the library by the package's own name). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const specs = [...text.matchAll(/(?:from\s+|require\(\s*|import\(\s*)['"](\.{1,2}\/[^'"]+|homelab-secrets)['"]/g)].map((m) => m[1]);
  return specs.flatMap((spec) => {
    const base = spec === 'homelab-secrets' ? 'lib/index.ts' : relative(root, resolve(root, dirname(file), spec)).replace(/\\/g, '/');
    const found = [base, `${base}.ts`, `${base}.js`, `${base}/index.ts`].find((f) => existsSync(join(root, f)) && statSync(join(root, f)).isFile());
    return found && !found.startsWith('imports/') && !found.startsWith('node_modules/') ? [found] : [];
  });
}

const graph = new Map(FILES.map((f) => [f, importsOf(f)]));

test('every source file is in a layer', () => {
  expect(FILES.filter((f) => layerOf(f) === undefined)).toEqual([]);
});

test('no arrow from a lower layer up, nor between siblings', () => {
  expect(badArrows(graph)).toEqual([]);
});

test('no import cycle', () => {
  expect(cyclesOf(graph)).toEqual([]);
});

// A script's entry runs its main when `require.main === module`, and in a bundle every module's `module` is the
// bundle's: an entry imported by another script's bundle would run too. Shared code lives in a folder of runtime/.
test('no script imports another script\'s entry (runtime/<name>.ts): its main would run inside the other\'s bundle', () => {
  const entries = sources('runtime').filter((f) => /^runtime\/[^/]+\.ts$/.test(f));
  const crossing = [...graph].flatMap(([file, deps]) => deps.filter((d) => entries.includes(d) && d !== file && file.startsWith('runtime/')).map((d) => `${file} -> ${d}`));
  expect(crossing).toEqual([]);
});

test('no source file much over 300 lines, the tests and their stand-ins included', () => {
  const long = [...FILES, ...sources('test')].map((f) => [f, readFileSync(join(root, f), 'utf8').split('\n').length] as const).filter(([, n]) => n > 320);
  expect(long).toEqual([]);
});

// VaultStack composes; the storage mode (VaultStorage.file, .raft) supplies what differs, so the constructor stays short
// and never asks which mode it has (issue 23). It had grown back to 80 lines as TLS and the policies arrived.
test('VaultStack\'s constructor reads in under 60 lines and has no storage-mode branch', () => {
  const lines = readFileSync(join(root, 'lib', 'vault-stack.ts'), 'utf8').split('\n');
  const start = lines.findIndex((l) => l.startsWith('  constructor('));
  const length = lines.slice(start).findIndex((l) => l === '  }') + 1;
  const body = lines.slice(start, start + length);
  expect(start).toBeGreaterThan(0);
  expect(length).toBeGreaterThan(10);
  expect(length).toBeLessThan(60);
  expect(body.filter((l) => /'(file|raft)'|\.kind\b|\.storage\s*[!=]==/.test(l))).toEqual([]);
});

// The scripts' scenarios run their main in the test's process, several at once, each given an io of its own
// (test/support/run-in-process.ts): a run must reach the outside only through main's arguments. Its output goes
// through runtime/common/log.ts (which also redacts) to the output main is given, the environment is main's argument,
// name lookups and free space come from its io (runtime/common/io.ts), the exit is start()'s. A console.log, a read of
// process.env, the process's own streams or a dns lookup anywhere else would escape the run's io: its output lost to
// the scenario, its stand-ins bypassed.
/** The files that define the process's own doors: each may use those it defines. */
const OWN_DOORS: Record<string, RegExp> = {
  'runtime/common/log.ts': /^(process\.std(out|err)\.write|processOutput)$/,
  'runtime/common/io.ts': /^(statfsSync|'dns')$/,
  'runtime/common/main.ts': /^(process\.exit|processOutput)$/,
  // write-secrets' prompt: the operator's terminal, without echo.
  'tools/write-secrets/terminal.ts': /^process\.stderr(\.write)?$/,
};

function doorAllowed(file: string, line: string, door: string): boolean {
  if (door === 'process.env') return /^export (async )?function main\(.*env: Env = process\.env[,)]/.test(line);
  // The process's own output as main's default.
  if (door === 'processOutput' && (line.startsWith('import ') || /^export (async )?function main\(/.test(line))) return true;
  return !!OWN_DOORS[file]?.test(door);
}

test('the scripts and the tools write only through runtime/common/log.ts to the output main is given, and read the environment, names and free space only through main\'s arguments', () => {
  const doors = [...sources('runtime'), ...sources('tools')].flatMap((file) => readFileSync(join(root, file), 'utf8').split('\n')
    .flatMap((line, i) => [...line.matchAll(/\bconsole\.\w+|process\.(?:std(?:out|err)\.write|std(?:out|err)|env|exit(?:Code)?)\b|\bprocessOutput\b|\bstatfsSync\b|['"](?:node:)?dns['"]/g)]
      .filter((m) => !doorAllowed(file, line, m[0]))
      .map((m) => `${file}:${i + 1}: ${m[0]}`)));
  expect(doors).toEqual([]);
});

test('the checks see an arrow up, an arrow across and a cycle when there is one', () => {
  const fake = new Map([
    ['runtime/common/a.ts', ['lib/b.ts']],
    ['lib/b.ts', ['runtime/common/a.ts']],
    ['tools/c.ts', ['runtime/unseal.ts']],
    ['runtime/unseal.ts', []],
  ]);
  expect(badArrows(fake)).toEqual(['runtime/common/a.ts -> lib/b.ts', 'tools/c.ts -> runtime/unseal.ts']);
  expect(cyclesOf(fake)).toEqual(['runtime/common/a.ts -> lib/b.ts -> runtime/common/a.ts']);
  expect(graph.get('main.ts')).toEqual(expect.arrayContaining(['lib/index.ts']));
});

// A module of cases runs only when a jest file includes its folder (test/support/cases.ts, which fails when one of the
// folder's is not listed): one in any other place would never run, and nothing would say so.
test('every module of cases is run: its folder is included by the jest file of the same name', () => {
  const cases = sources('test').filter((f) => f.endsWith(CASES_SUFFIX));
  expect(cases.length).toBeGreaterThan(0);
  const unrun = cases.filter((file) => {
    const folder = file.split('/')[1];
    const jestFile = join(root, 'test', `${folder}.test.ts`);
    return file.split('/').length < 3 || !existsSync(jestFile)
      || !readFileSync(jestFile, 'utf8').includes(`includeCases(join(__dirname, '${folder}'), {`);
  });
  expect(unrun).toEqual([]);
});
