#!/usr/bin/env node
// Synthesizes dist/: bundles main.ts, lib/ and the packages they use (cdk8s, the L1 classes) with esbuild into one
// file, cached while its sources are unchanged, and runs it: one file loads much faster than the packages' hundreds. This is what `npm run synth` and `cdk8s synth` (through cdk8s.yaml) run; it is
// several times faster than ts-node, which type-checks on every run: here the types are checked before the app runs
// only when a source changed (build/typecheck-entries.js), and a type error prints its first line and exits 1.
// `node scripts/synth.js [ENTRY]` synthesizes another entry that exports buildApps, as the tests do.
// `node scripts/synth.js --all` (what `npm run synth` runs) synthesizes main.ts into dist/ and then each example,
// examples/<name>/main.ts into examples/<name>/dist/, from one bundle; `cdk8s synth` writes only dist/. An entry that
// also exports buildMigration (one-off objects, such as the move to Raft) has it written to migration/ beside its
// output folder, never inside it, where GitOps would apply it on every sync.
// A wrong prop prints one line (which construct, what is wrong) and exits 1, leaving that output folder as it was; an
// unexpected error prints its stack.
// `main(argv, env, io)` is the run: the tests run most of their entries through it in their own process, with an io
// that keeps the output and loads the entry from their own module registry (test/apps/main.cases.ts).
const fs = require('fs');
const path = require('path');
const { bundleFile, NODE_SCRIPT, root } = require('../build/bundle');
const { refreshSample } = require('../build/readme-sample');

/** The examples: each folder of examples/ that holds a main.ts, in name order. */
function exampleEntries() {
  const dir = path.join(root, 'examples');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(dir, e.name, 'main.ts')))
    .map((e) => e.name).sort()
    .map((name) => ({ entry: `examples/${name}/main.ts`, outdir: `examples/${name}/dist` }));
}

/** The folder beside an output folder that receives an entry's one-off objects. */
const migrationOf = (outdir) => path.join(path.dirname(outdir), 'migration');

/** What is in `outdir` now: the message never claims what did not happen (`cdk8s synth` empties it before the app runs). */
function outdirState(outdir) {
  const dir = path.resolve(root, outdir);
  const kept = fs.existsSync(dir) && fs.readdirSync(dir).length > 0;
  return kept ? `${outdir}/ left as it was` : `nothing written to ${outdir}/, which is empty (\`git checkout -- ${outdir}\` restores it)`;
}

/** A synthesis that failed for a reason the user can fix: one line per problem, under a first line saying what became of the output folder. */
class Failure extends Error {
  constructor(outdir, lines) {
    super(`synthesis failed, ${outdirState(outdir)}:\n${lines.map((l) => `  ${l}`).join('\n')}`);
  }
}

/** The line of the second `new X(scope, '<id>', ...)` in `entryFile`, for an id used twice in one scope. */
function secondUse(entryFile, id) {
  const text = fs.readFileSync(path.join(root, entryFile), 'utf8');
  const quoted = id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const uses = [...text.matchAll(new RegExp(`new\\s+\\w+\\(\\s*[^,()]+(\\([^()]*\\))?\\s*,\\s*['"\`]${quoted}['"\`]`, 'g'))];
  return uses.length >= 2 ? text.slice(0, uses[1].index).split('\n').length : undefined;
}

/** The process's own: its stdout and stderr, and Node's require for the bundle. */
const processIo = { log: (text) => console.log(text), error: (text) => console.error(text), load: (file) => require(file) };

/**
 * Synthesizes what `argv` names (`[]`, `[ENTRY]` or `['--all']`) into `env.CDK8S_OUTDIR` (else dist/) and returns the
 * exit code: 0, or 1 with the reason on io.error. An unexpected error is thrown, its stack shown.
 */
function main(argv, env, io = processIo) {
  const all = argv[0] === '--all';
  const entry = (all ? 'main.ts' : argv[0] ?? 'main.ts').replace(/\\/g, '/');
  const targets = [{ entry, outdir: env.CDK8S_OUTDIR ?? 'dist' }, ...(all ? exampleEntries() : [])];
  const name = all ? 'synth-all' : `synth-${entry.replace(/[^A-Za-z0-9]+/g, '-')}`;
  try {
    let file;
    try {
      file = bundleFile(name, {
        stdin: {
          contents: [
            ...targets.map((t, i) => `export * as entry${i} from './${t.entry.replace(/\.ts$/, '')}';`),
            `export { isPropError, summary, synthesize } from './build/synthesize';`,
            '',
          ].join('\n'),
          resolveDir: root,
          loader: 'ts',
          sourcefile: 'synth-entry.ts',
        },
        // esbuild runs the runtime scripts' bundles during synthesis: it stays a package, with its native binary.
        external: ['esbuild'],
        ...NODE_SCRIPT,
        logLevel: 'silent',
      });
    } catch (error) {
      // esbuild's own report of a syntax error: its location and text, without its internals.
      if (!Array.isArray(error.errors) || error.errors.length === 0) throw error;
      throw new Failure(targets[0].outdir, error.errors.map((e) => (e.location ? `${e.location.file}:${e.location.line}:${e.location.column + 1}: ${e.text}` : e.text)));
    }

    // After bundling, so that a syntax error is reported as esbuild words it; before the app runs, so nothing is written.
    const typeErrors = require('../build/typecheck-entries').typecheckEntries(targets.map((t) => t.entry));
    if (typeErrors.length > 0) throw new Failure(targets[0].outdir, typeErrors);

    const bundle = io.load(file, targets.map((t) => t.entry));
    const { isPropError, summary, synthesize } = bundle;
    const runs = targets.flatMap((target, i) => {
      const module = bundle[`entry${i}`];
      return [
        { entry: target.entry, outdir: target.outdir, build: module.buildApps },
        ...(typeof module.buildMigration === 'function' ? [{ entry: target.entry, outdir: migrationOf(target.outdir), build: module.buildMigration }] : []),
      ];
    });
    for (const [i, { entry: entryFile, outdir, build }] of runs.entries()) {
      try {
        const written = synthesize(build, path.resolve(root, outdir));
        const printed = summary(outdir, written);
        io.log(printed);
        // `npm run synth`'s first output is dist/, which the front page shows.
        if (all && i === 0 && refreshSample(root, printed)) io.log('README.md: its sample output now shows this');
      } catch (error) {
        // Two constructs with one id in one scope, as when a `new AppSecret(...)` is pasted twice.
        const twice = /^There is already a Construct with name '([^']+)' in (\w+)(?: \[([^\]]*)\])?/.exec(error?.message ?? '');
        if (twice) {
          const line = secondUse(entryFile, twice[1]);
          const where = line ? `${entryFile}:${line}` : entryFile;
          const scope = twice[3] ? `the scope ${twice[3]}` : 'the app';
          throw new Failure(outdir, [`${where}: a second construct with the id '${twice[1]}' in ${scope}: give it another id (the second argument of new ...)`]);
        }
        if (!isPropError(error)) throw error;
        throw new Failure(outdir, error.message.split('\n'));
      }
    }
    return 0;
  } catch (error) {
    if (!(error instanceof Failure)) throw error;
    io.error(error.message);
    return 1;
  }
}

module.exports = { main };

if (require.main === module) {
  process.chdir(root);
  process.exitCode = main(process.argv.slice(2), process.env);
}
