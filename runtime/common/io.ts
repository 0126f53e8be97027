import { lookup } from 'dns';
import { statfsSync } from 'fs';
import { Output } from './log';

/**
 * What a script takes from outside its own code, besides the environment: main's second argument, the process's own
 * by default (its stdout and stderr, and Node's lookup and statfs for what the caller leaves out). The scripts'
 * scenarios run main in the test's process, several at once, each with its own output and the stand-ins it needs
 * (test/support/run-in-process.ts); so the scripts reach these only through main's argument
 * (test/project/architecture.cases.ts).
 */
export interface Io extends Output {
  /** Resolves host names: the unseal script's pod names, and its connections to them. */
  readonly lookup?: Lookup;
  /** A filesystem's free space: the snapshot claim's. */
  readonly statfs?: Statfs;
}

/** As dns.lookup. */
export type Lookup = typeof lookup;
/** As fs.statfsSync. */
export type Statfs = (path: string) => { readonly bavail: number | bigint; readonly bsize: number | bigint };

// One function per door, so that a bundle holds (and requires) only the doors its script uses.
export const lookupOf = (io: Io): Lookup => io.lookup ?? lookup;
export const statfsOf = (io: Io): Statfs => io.statfs ?? statfsSync;
