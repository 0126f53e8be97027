import { spawn } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as YAML from 'yaml';

// vault-setup as the operator runs it: the npm script's esbuild bundle, run by node as a real process.

/** Bundles runtime/vault-setup.ts with the npm script's own bundler; returns the file. */
export function bundleCli(): string {
  const { bundleVaultSetup } = require('../../scripts/vault-setup.js');
  return bundleVaultSetup();
}

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall time from spawn to exit, in ms. */
  readonly ms: number;
}

/** Runs the bundle with `args` and only `env` (and PATH), killing it after `limitMs`. */
export function runCli(bundle: string, args: string[], env: Record<string, string>, limitMs = 20000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const child = spawn(process.execPath, [bundle, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr += c; });
    const killer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr, ms: Date.now() - start });
    });
  });
}

/** A dist/ folder of its own: each file name to its documents, written as multi-document YAML. */
export function writeDist(files: Record<string, unknown[]>): string {
  const dir = mkdtempSync(join(tmpdir(), 'dist-'));
  for (const [name, docs] of Object.entries(files)) writeFileSync(join(dir, name), docs.map((d) => YAML.stringify(d)).join('---\n'));
  return dir;
}
