// `npm run bench -- devices`: what each of the suite's speed devices saves, measured in one run. Every variant is the
// whole `npm test` with one device taken away, and the variants take turns run after run (not one variant's runs in a
// row), so that a machine busy for a while slows them all alike. A device earns its place by saving at least a tenth
// of the time (docs/development.md).
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { cpus } from 'os';
import { join, relative } from 'path';
import { root } from '../build/bundle';

/** One way to run the suite: the commands, one after the other, and the environment they add. */
interface Variant {
  readonly name: string;
  readonly steps: ReadonlyArray<readonly string[]>;
  readonly env?: Record<string, string>;
  readonly before?: () => void;
  readonly after?: () => void;
}

const work = join(root, 'node_modules', '.cache', 'homelab-secrets', 'bench-devices');
const splitDir = join(root, 'test', 'bench-split');
const jest = [process.execPath, join(root, 'node_modules', 'jest', 'bin', 'jest.js'), '--silent'];
const typecheck = [process.execPath, 'scripts/typecheck.js'];

/** A jest configuration: the project's, with `changes` over it. */
function jestConfig(name: string, changes: Record<string, unknown>): string {
  mkdirSync(work, { recursive: true });
  const file = join(work, `${name}.config.js`);
  writeFileSync(file, `module.exports = { ...require(${JSON.stringify(join(root, 'jest.config.js'))}), rootDir: ${JSON.stringify(root)}, ...${JSON.stringify(changes)} };\n`);
  return file;
}

/** TypeScript's own transpiler as jest's transform, in place of esbuild's (what ts-jest does with isolatedModules). */
function typescriptTransform(): string {
  mkdirSync(work, { recursive: true });
  const file = join(work, 'transform-typescript.js');
  writeFileSync(file, [
    "const ts = require('typescript');",
    'module.exports = { process(source, filename) {',
    '  const out = ts.transpileModule(source, { fileName: filename, compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: true } });',
    '  return { code: out.outputText, map: out.sourceMapText };',
    '} };',
    '',
  ].join('\n'));
  return file;
}

/** One jest file per module of cases, as the suite was laid out before a jest file ran a folder's modules. */
function writeSplitFiles(): void {
  rmSync(splitDir, { recursive: true, force: true });
  mkdirSync(splitDir, { recursive: true });
  for (const folder of ['apps', 'lib', 'project', 'runtime', 'tools']) {
    const dir = join(root, 'test', folder);
    for (const file of (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.cases.ts'))) {
      const name = file.slice(0, -'.cases.ts'.length);
      const target = relative(splitDir, join(dir, name + '.cases')).replace(/\\/g, '/');
      writeFileSync(join(splitDir, `${folder}-${name.replace(/\//g, '-')}.test.ts`),
        `describe(${JSON.stringify(name)}, () => { require(${JSON.stringify(target)}); });\n`);
    }
  }
}

export function deviceVariants(): Variant[] {
  return [
    { name: 'npm test as it is', steps: [typecheck, jest] },
    { name: 'without build mode: tsc --noEmit, no build info', steps: [[process.execPath, join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json', '--incremental', 'false'], jest] },
    { name: 'without esbuild\'s transform: TypeScript\'s transpileModule', steps: [typecheck, [...jest, '--config', jestConfig('typescript-transform', { transform: { '^.+\\.ts$': typescriptTransform() } })]] },
    { name: 'without one jest file per folder: one per module', steps: [typecheck, [...jest, '--config', jestConfig('split', { testMatch: ['**/test/bench-split/*.test.ts', '**/*.integration.test.ts'] })]], before: writeSplitFiles, after: () => rmSync(splitDir, { recursive: true, force: true }) },
    { name: 'without four workers: jest\'s default (cores - 1)', steps: [typecheck, [...jest, '--config', jestConfig('default-workers', { maxWorkers: Math.max(1, cpus().length - 1) })]] },
    // Not a device of its own: how four workers compare with one per core.
    { name: 'with one worker per core instead of four', steps: [typecheck, [...jest, '--config', jestConfig('core-workers', { maxWorkers: cpus().length })]] },
    { name: 'without in-process scenarios: a process per scenario', steps: [typecheck, jest], env: { HOMELAB_BENCH_PROCESS_PER_RUN: '1' } },
    { name: 'without the bundle cache: every bundle built on each use', steps: [typecheck, jest], env: { HOMELAB_BUNDLE_CACHE: 'off' } },
  ];
}

/** Wall and CPU (user + system) seconds. */
export interface Timing { readonly seconds: number; readonly cpuSeconds: number }

/**
 * Runs the steps one after the other. A run that fails a test still counts (on a busy machine a starved timing bound
 * may fail one), and says so.
 */
export type RunSteps = (steps: ReadonlyArray<readonly string[]>, env: Record<string, string>) => Promise<Timing & { failed: boolean }>;

/** Runs each variant `runs` times, taking turns; returns each one's median wall and CPU seconds, and its failed runs. */
export async function measureDevices(runs: number, runSteps: RunSteps, median: (v: number[]) => number): Promise<Array<{ name: string; failed: number } & Timing>> {
  const variants = deviceVariants();
  const samples = variants.map(() => [] as Array<Timing & { failed: boolean }>);
  for (let r = 0; r < runs; r++) {
    for (const [i, variant] of variants.entries()) {
      variant.before?.();
      try {
        samples[i].push(await runSteps(variant.steps, variant.env ?? {}));
      } finally {
        variant.after?.();
      }
      const sample = samples[i][r];
      console.error(`  run ${r + 1}/${runs}: ${variant.name}: ${sample.seconds.toFixed(2)} s wall, ${sample.cpuSeconds.toFixed(2)} s CPU${sample.failed ? ', a test failed' : ''}`);
    }
  }
  return variants.map((v, i) => ({
    // A run killed by a signal has no CPU time from GNU time: left out of the median.
    name: v.name, seconds: median(samples[i].map((t) => t.seconds)), cpuSeconds: median(samples[i].map((t) => t.cpuSeconds).filter(Number.isFinite)),
    failed: samples[i].filter((t) => t.failed).length,
  }));
}
