// Types of build/bundle.js, which lib/runtime-bundle.ts uses.
import type { BuildOptions } from 'esbuild';

export declare function bundleFile(name: string, options: BuildOptions): string;
export declare function bundleText(name: string, options: BuildOptions): string;
export declare const root: string;
export declare const NODE_SCRIPT: Readonly<Pick<BuildOptions, 'platform' | 'target' | 'format'>>;
