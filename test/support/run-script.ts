import { ChildProcess, spawn } from 'child_process';
import { mkdtempSync, readdirSync, readFileSync, symlinkSync, mkdirSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as YAML from 'yaml';
import { root } from '../../build/bundle';

const dist = join(root, 'dist');

/**
 * The script exactly as dist/ ships it: the data of the ConfigMap `configMap`, written to a temporary file so that it
 * can be run as the CronJob runs it.
 */
export function scriptFromDist(configMap: string): string {
  for (const file of (readdirSync(dist, { recursive: true }) as string[]).filter((f) => f.endsWith('.yaml'))) {
    for (const doc of YAML.parseAllDocuments(readFileSync(join(dist, file), 'utf8')).map((d) => d.toJSON())) {
      if (doc?.kind === 'ConfigMap' && doc.metadata.name === configMap) {
        const [name, code] = Object.entries(doc.data as Record<string, string>)[0];
        const path = join(mkdtempSync(join(tmpdir(), 'script-')), name);
        writeFileSync(path, code);
        return path;
      }
    }
  }
  throw new Error(`no ConfigMap ${configMap} in dist/`);
}

export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall time from spawn to exit, in ms. */
  readonly ms: number;
  /** When the process exited (ms since the epoch). */
  readonly exitedAt: number;
}

/**
 * Bounds every run of a script in the tests. It only catches a hang, so it is far above what any run should take on
 * the busiest machine; how fast the scripts are is measured by `npm run bench`, not asserted here.
 */
export const HANG_LIMIT_MS = 20000;

export interface RunOptions {
  /** Stops waiting for the run after this long: a hang, not a speed check. */
  readonly limitMs?: number;
}

export interface ProcessRunOptions extends RunOptions {
  /** Arguments after the script. */
  readonly args?: string[];
  /** Gets the process as it starts, to signal it or read its memory. */
  readonly onSpawn?: (child: ChildProcess) => void;
}

/** Runs the script with only `env` (and PATH), as the CronJob's container or an operator's shell runs it. */
export function runNode(script: string, env: Record<string, string>, options: ProcessRunOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const child = spawn(process.execPath, [script, ...(options.args ?? [])], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    options.onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c) => { stdout += c; });
    child.stderr!.on('data', (c) => { stderr += c; });
    const killer = setTimeout(() => child.kill('SIGKILL'), options.limitMs ?? HANG_LIMIT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      const exitedAt = Date.now();
      resolve({ code, stdout, stderr, ms: exitedAt - start, exitedAt });
    });
  });
}

/**
 * What every run of a script must show: its exit code; with `lastLine`, its outcome as its last line (on stdout for
 * exit 0, on stderr otherwise); and none of `secrets` in its output, not even redacted. Runs in one test process share
 * the scripts' redaction list, so a secret one run printed would come out as "[redacted]" because another run had
 * registered it: no scenario prints a secret at all, so the word itself fails the test.
 */
export function expectRun(run: Run, code: number, secrets: string[], lastLine = true): void {
  expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }).toMatchObject({ code });
  if (lastLine) expect((code === 0 ? run.stdout : run.stderr).endsWith('\n')).toBe(true);
  const output = run.stdout + run.stderr;
  for (const secret of secrets) expect(output).not.toContain(secret);
  expect(output).not.toContain('[redacted]');
}

/**
 * A directory laid out as the kubelet mounts a Secret: the files live in a timestamped hidden directory, `..data`
 * links to it, and each key is a link through `..data`.
 */
export function secretDir(keys: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'secret-'));
  const stamp = '..2026_11_25_18_00_00.000000001';
  mkdirSync(join(dir, stamp));
  for (const [key, value] of Object.entries(keys)) writeFileSync(join(dir, stamp, key), value);
  symlinkSync(stamp, join(dir, '..data'));
  for (const key of Object.keys(keys)) symlinkSync(join('..data', key), join(dir, key));
  return dir;
}

/** Resolves once `condition` holds, polling every 10 ms; rejects after `limitMs` (a hang, not a speed check). */
export async function until(condition: () => boolean, limitMs = HANG_LIMIT_MS): Promise<void> {
  const end = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`condition not met within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
