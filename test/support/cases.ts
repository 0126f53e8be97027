import { readdirSync } from 'fs';
import { relative } from 'path';

// Jest gives each test file a module registry of its own: cdk8s, cdk8s-plus-28, the imports and the constructs were
// loaded, compiled and warmed up again in every file, which cost more CPU than most files' tests. So the tests of a
// folder are modules of cases (`*.cases.ts`) that one jest file per folder runs (`test/lib.test.ts` for `test/lib/`,
// and so on), each in a describe block named after its file. The jest file names each module with a plain require,
// so that jest sees which test a changed file concerns (`--watch`, `--onlyChanged`, `--findRelatedTests`); a module
// of the folder it does not name fails it. A describe block's concurrent tests run together, but blocks run one after
// the other: a `*.test.ts` file is a jest file of its own, which those that mostly wait on the clock are
// (test/runtime/*.integration.test.ts: a run waiting for ESO's verdict, stalled transfers, pods unsealing in the
// background, the bootstrap's rounds of processes; test/tools/vault-rollout.integration.test.ts: pods replaced one
// after the other), so that their waits overlap the others' work. One module of cases alone:
// `npx jest test/lib.test.ts -t '^vault-stack '` (the describe block's name, then a space).

/** The suffix of a module of cases. */
export const CASES_SUFFIX = '.cases.ts';

/** Every module of cases under `dir` (its subfolders included), relative to it and without the suffix, in name order. */
function caseFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[])
    .map((f) => f.replace(/\\/g, '/'))
    .filter((f) => f.endsWith(CASES_SUFFIX))
    .map((f) => f.slice(0, -CASES_SUFFIX.length))
    .sort();
}

/**
 * Defines the tests of the modules of cases under `dir` in the calling jest file, each in a describe block of its
 * name: `modules` maps each one's path relative to `dir`, without `.cases.ts`, to a function that requires it.
 * Fails when `modules` and the folder differ, so that no module of cases is left out unseen.
 */
export function includeCases(dir: string, modules: Record<string, () => unknown>): void {
  const listed = Object.keys(modules).sort();
  const found = caseFiles(dir);
  const where = relative(process.cwd(), dir);
  const unlisted = found.filter((f) => !listed.includes(f)).map((f) => `${where}/${f}${CASES_SUFFIX} is not listed`);
  const missing = listed.filter((f) => !found.includes(f)).map((f) => `${f} is listed but ${where}/${f}${CASES_SUFFIX} does not exist`);
  if (unlisted.length + missing.length > 0) throw new Error(`the jest file of ${where}/ and the folder differ: ${[...unlisted, ...missing].join('; ')}`);
  for (const name of listed) describe(name, () => { modules[name](); });
}
