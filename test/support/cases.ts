import { readdirSync } from 'fs';
import { join, relative } from 'path';

// Jest gives each test file a module registry of its own: cdk8s, cdk8s-plus-28, the imports and the constructs were
// loaded, compiled and warmed up again in every file, which cost more CPU than most files' tests. So the tests of a
// folder are modules of cases (`*.cases.ts`) that one jest file per folder runs (`test/lib.test.ts` for `test/lib/`,
// and so on), each in a describe block named after its file. A describe block's concurrent tests run together, but
// blocks run one after the other: the few files that mostly wait on the clock (`*.integration.test.ts`: a script
// waiting for ESO's verdict, a stalled transfer, pods unsealing in the background) stay jest files of their own, so
// that their waits overlap the others' work. One file of cases alone: `npx jest test/lib.test.ts -t vault-stack`.

/** The suffix of a module of cases. */
export const CASES_SUFFIX = '.cases.ts';

/** Every module of cases under `dir` (its subfolders included), relative to it, in name order. */
export function caseFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[])
    .map((f) => f.replace(/\\/g, '/'))
    .filter((f) => f.endsWith(CASES_SUFFIX))
    .sort();
}

/**
 * Defines the tests of every module of cases under `dir` in the calling jest file, each in a describe block named by
 * its path relative to `dir` (`vault-stack`, `common/retry`). A folder without any is a mistake, not an empty pass.
 */
export function includeCases(dir: string): void {
  const files = caseFiles(dir);
  if (files.length === 0) throw new Error(`no ${CASES_SUFFIX} files under ${relative(process.cwd(), dir)}`);
  for (const file of files) {
    describe(file.slice(0, -CASES_SUFFIX.length), () => {
      require(join(dir, file));
    });
  }
}
