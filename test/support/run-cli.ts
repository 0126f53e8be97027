import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as YAML from 'yaml';
import { Run, runNode } from './run-script';

// vault-setup as the operator runs it: the npm script's esbuild bundle, run by node as a real process.

/** Bundles tools/vault-setup/main.ts with the npm script's own bundler; returns the file. */
export function bundleCli(): string {
  const { bundleVaultSetup } = require('../../scripts/vault-setup.js');
  return bundleVaultSetup();
}

export type CliRun = Run;

/** Runs the bundle with `args` and only `env` (and PATH). */
export function runCli(bundle: string, args: string[], env: Record<string, string>): Promise<CliRun> {
  return runNode(bundle, env, { args });
}

/** A dist/ folder of its own: each file name to its documents, written as multi-document YAML. */
export function writeDist(files: Record<string, unknown[]>): string {
  const dir = mkdtempSync(join(tmpdir(), 'dist-'));
  for (const [name, docs] of Object.entries(files)) writeFileSync(join(dir, name), docs.map((d) => YAML.stringify(d)).join('---\n'));
  return dir;
}
