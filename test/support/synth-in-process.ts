import { spawnSync } from 'child_process';
import { join } from 'path';
import { root } from '../../build/bundle';
import { Run } from './run-script';

/** scripts/synth.js's run: what it writes, and how it loads the bundle it built. */
interface SynthIo {
  readonly log: (text: string) => void;
  readonly error: (text: string) => void;
  readonly load: (bundle: string, entries: string[]) => Record<string, unknown>;
}
const { main } = require('../../scripts/synth') as { main: (argv: string[], env: Record<string, string>, io: SynthIo) => number };

/**
 * `node scripts/synth.js ENTRY` (`entry` relative to the project) run in this process, writing to `outdir`: the same
 * bundling, type-check and messages, the exit code main returns and what it printed. The entry is loaded from this
 * file's module registry (cdk8s and the constructs already loaded and warm) instead of from its bundle, a process's
 * start-up and a bundle's load being most of a run's time: the tests of synthesis as a process (test/apps/main.cases.ts)
 * cover the bundle. An unexpected error is thrown, where a process would print its stack.
 */
export function synthInProcess(entry: string, outdir: string): Run {
  let stdout = '';
  let stderr = '';
  const start = Date.now();
  // `npm run bench -- devices` measures what running in process saves: the run is `node scripts/synth.js` instead.
  if (process.env.HOMELAB_BENCH_PROCESS_PER_RUN === '1') {
    const run = spawnSync(process.execPath, [join(root, 'scripts', 'synth.js'), entry], { env: { ...process.env, CDK8S_OUTDIR: outdir }, encoding: 'utf8' });
    return { code: run.status, stdout: run.stdout, stderr: run.stderr, ms: Date.now() - start, exitedAt: Date.now() };
  }
  const code = main([entry], { CDK8S_OUTDIR: outdir }, {
    log: (text) => { stdout += `${text}\n`; },
    error: (text) => { stderr += `${text}\n`; },
    load: (_bundle, entries) => ({
      ...require('../../build/synthesize'),
      ...Object.fromEntries(entries.map((e, i) => [`entry${i}`, require(join(root, e))])),
    }),
  });
  const exitedAt = Date.now();
  return { code, stdout, stderr, ms: exitedAt - start, exitedAt };
}
