import { bundleText, NODE_SCRIPT } from '../build/bundle';

/**
 * Bundles `runtime/<entry>.ts` with esbuild into one dependency-free CommonJS script for Node.js 20 or later. Built
 * during synthesis (from a cache keyed on its sources), so the script in dist/ can never be stale; paths in its
 * comments are relative, so the bytes do not depend on where the project is checked out.
 */
export function bundleRuntime(entry: string): string {
  return bundleText(`runtime-${entry}`, {
    entryPoints: [`runtime/${entry}.ts`],
    ...NODE_SCRIPT,
    legalComments: 'none',
    banner: { js: `// Generated from runtime/${entry}.ts by esbuild during cdk8s synthesis: edit the source, not this.` },
    logLevel: 'silent',
  });
}
