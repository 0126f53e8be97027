import { existsSync } from 'fs';
import { dirname, join } from 'path';
import { buildSync } from 'esbuild';

/** The project's root: the nearest folder above this file that holds `runtime/` (also when main.ts runs bundled). */
export function projectRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'runtime', 'common'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the runtime/ folder above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

/**
 * Bundles `runtime/<entry>.ts` with esbuild into one dependency-free CommonJS script for Node.js 20 or later. Built
 * during synthesis, so the script in dist/ can never be stale; paths in its comments are relative, so the bytes do not
 * depend on where the project is checked out.
 */
export function bundleRuntime(entry: string): string {
  const root = projectRoot();
  const result = buildSync({
    absWorkingDir: root,
    entryPoints: [`runtime/${entry}.ts`],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    write: false,
    legalComments: 'none',
    banner: { js: `// Generated from runtime/${entry}.ts by esbuild during cdk8s synthesis: edit the source, not this.` },
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}
