import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as YAML from 'yaml';
import { main } from '../../tools/vault-setup/main';
import { runInProcess } from './run-in-process';
import { Run, runNode } from './run-script';

// vault-setup's main with arguments and an environment, in the test's process (run-in-process.ts) for the scenario
// tables; and as the operator runs it, the npm script's esbuild bundle run by node as a real process.

/** Bundles tools/vault-setup/main.ts with the npm script's own bundler; returns the file. */
export function bundleCli(): string {
  const { bundleVaultSetup } = require('../../scripts/vault-setup.js');
  return bundleVaultSetup();
}

export type CliRun = Run;

/** Runs vault-setup's main with `args` and only `env`, in this process. */
export function runCli(args: string[], env: Record<string, string>): Promise<CliRun> {
  return runInProcess((vars, io) => main(args, vars, io), env);
}

/** Runs the bundle with `args` and only `env` (and PATH), as a process. */
export function runCliProcess(bundle: string, args: string[], env: Record<string, string>): Promise<CliRun> {
  return runNode(bundle, env, { args });
}

/** A dist/ folder of its own: each file name to its documents, written as multi-document YAML. */
export function writeDist(files: Record<string, unknown[]>): string {
  const dir = mkdtempSync(join(tmpdir(), 'dist-'));
  for (const [name, docs] of Object.entries(files)) writeFileSync(join(dir, name), docs.map((d) => YAML.stringify(d)).join('---\n'));
  return dir;
}
