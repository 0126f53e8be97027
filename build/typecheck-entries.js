// Type-checks what a synthesis runs before it runs: esbuild, which bundles the entries, only strips their types, so a
// property read that does not exist, a name whose declaration was deleted or a prop of the wrong type would otherwise
// reach synthesis as `undefined`, or as a crash. One TypeScript Program rooted at the entries (main.ts, the examples, an
// entry named on the command line), so only they and what they import are checked: a broken test never blocks a
// synthesis (`npm test` checks the whole project).
//
// TypeScript takes seconds to load and check, a synthesis a fraction of one: each result is recorded with a stamp of
// what it depended on, and while the stamp holds TypeScript is not loaded at all. The stamp hashes the bytes of every
// project file the Program read (the entries and what they import; installed packages change only with the lock
// files), the names in each of their folders (a file added beside them can change what an import resolves to),
// tsconfig.json, the lock files, TypeScript's package.json, and this file. Content, not times: npm dates the files it
// installs 1985. A failure is recorded too, so that running again unchanged prints the same lines at once. A check of
// several entries also records each entry's own result, so that `cdk8s synth` after `npm run synth` checks nothing.
// Used by scripts/synth.js (`npm run synth`, `cdk8s synth`).
const { createHash } = require('crypto');
const fs = require('fs');
const path = require('path');
const { root } = require('./bundle');

const cacheDir = path.join(root, 'node_modules', '.cache', 'homelab-secrets', 'typecheck');
const self = fs.readFileSync(__filename);

/** A file's bytes as TypeScript reads it (without a UTF-8 byte order mark), or undefined when it is gone. */
function read(file) {
  try {
    const bytes = fs.readFileSync(path.resolve(root, file));
    return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
  } catch {
    return undefined;
  }
}

/** The names in a folder, or '-' when it is gone. */
function listing(dir) {
  try {
    return fs.readdirSync(path.resolve(root, dir)).sort().join('\0');
  } catch {
    return '-';
  }
}

/** What a result depends on besides the project's sources; tsconfig.json's bytes are the ones the check parses. */
function settings() {
  const tsconfig = read('tsconfig.json');
  const hash = createHash('sha256').update(self);
  for (const file of ['package-lock.json', 'node_modules/.package-lock.json', path.relative(root, require.resolve('typescript/package.json'))]) {
    hash.update(read(file) ?? '-').update('\0');
  }
  return { tsconfig, salt: hash.update(tsconfig ?? '-').digest('hex') };
}

/** The stamp of a result: `text(file)` is a file's bytes or text (undefined when it is gone), `names(dir)` a folder's. */
function stamp(salt, entries, files, text, names) {
  const hash = createHash('sha256').update(salt).update(JSON.stringify(entries));
  for (const file of files) hash.update(`\0${file}\0`).update(text(file) ?? '-');
  for (const dir of foldersOf(files)) hash.update(`\0${dir}/\0`).update(names(dir));
  return hash.digest('hex');
}

const foldersOf = (files) => [...new Set(files.map((f) => path.posix.dirname(f)))].sort();
/** Installed packages, whose changes show in the lock files; entries cached under node_modules/.cache are the project's. */
const installed = (file) => /(^|\/)node_modules\/(?!\.cache\/)/.test(file);
const relativeName = (file) => path.relative(root, path.resolve(root, file)).replace(/\\/g, '/');
/** Where the results of a set of entries are kept: `.json` the record, `.tsbuildinfo` TypeScript's build info. */
const cacheFile = (entries, extension) => path.join(cacheDir, `${createHash('sha1').update(entries.join('\0')).digest('hex').slice(0, 16)}${extension}`);

function writeAtomically(file, text) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, text);
  fs.renameSync(temporary, file);
}

/**
 * The errors of `entries` (paths relative to the project root) and of what they import: none, or the first as
 * `file:line:column: message`, then how many more. TypeScript is loaded only when the stamp of the last result changed.
 */
function typecheckEntries(entryPaths) {
  const entries = entryPaths.map(relativeName);
  const { tsconfig, salt } = settings();
  let previous;
  try {
    previous = JSON.parse(fs.readFileSync(cacheFile(entries, '.json'), 'utf8'));
  } catch {
    previous = undefined;
  }
  // Taken before the check: a folder changed while it runs leaves a stamp that no longer matches.
  const before = new Map(foldersOf(previous?.files ?? []).map((dir) => [dir, listing(dir)]));
  if (previous && stamp(salt, entries, previous.files, read, (dir) => before.get(dir)) === previous.key) return previous.errors;

  const { texts, results } = check(entries, tsconfig);
  // The texts the Program checked, not the files as they are now: a file saved during the check is checked next time.
  for (const result of results) {
    const key = stamp(salt, result.entries, result.files, (file) => texts.get(file), (dir) => before.get(dir) ?? listing(dir));
    writeAtomically(cacheFile(result.entries, '.json'), JSON.stringify({ ...result, key }));
  }
  return results[0].errors;
}

/** The first error as one line, then how many more. */
function errorLines(ts, diagnostics) {
  if (diagnostics.length === 0) return [];
  const [first] = diagnostics;
  const message = ts.flattenDiagnosticMessageText(first.messageText, '\n').replace(/\s*\n\s*/g, ' ');
  let where = '';
  if (first.file && first.start !== undefined) {
    const { line, character } = first.file.getLineAndCharacterOfPosition(first.start);
    where = `${relativeName(first.file.fileName)}:${line + 1}:${character + 1}: `;
  }
  const rest = diagnostics.length - 1;
  return [`${where}${message}`, ...(rest > 0 ? [`(and ${rest} more error${rest === 1 ? '' : 's'})`] : [])];
}

/**
 * Checks the Program of `entries` with tsconfig.json's options, parsed from the bytes the stamp hashed. Returns the
 * texts it checked and the results to record: the entries', then, for several, each entry's own.
 */
function check(entries, tsconfigText) {
  const ts = require('./code-cache').requireCached(require.resolve('typescript'));
  const configFile = path.join(root, 'tsconfig.json');
  const config = ts.parseJsonText(configFile, tsconfigText ? tsconfigText.toString('utf8') : '{}');
  const parsed = ts.parseJsonSourceFileConfigFileContent(config, ts.sys, root, undefined, configFile);
  const options = {
    ...parsed.options,
    // Unused locals and parameters are lint, not errors: a user who deletes an optional line of main.ts (the
    // VaultAlerts line, leaving `unseal` unused) must still be able to synthesize. `npm test` still reports them.
    noUnusedLocals: false,
    noUnusedParameters: false,
    // The entries run in Node.js, not in jest: jest's globals would pass for declared in main.ts, and its types were
    // nearly half the files the Program read.
    types: ['node'],
    // Only these entries' own build info is written (scripts/typecheck.js owns tsconfig.json's): what their last check
    // found for each file unchanged since is not checked again (a check after an edit of main.ts took a third less).
    noEmit: true,
    incremental: true,
    tsBuildInfoFile: cacheFile(entries, '.tsbuildinfo'),
  };
  const host = ts.createIncrementalCompilerHost(options);
  host.writeFile = (file, text) => writeAtomically(file, text);
  const builder = ts.createIncrementalProgram({ rootNames: entries.map((e) => path.resolve(root, e)), options, host });
  const diagnostics = [
    ...parsed.errors.filter((d) => d.code !== 18003), // "no inputs found" concerns tsconfig.json's own file list
    ...builder.getOptionsDiagnostics(), ...builder.getSyntacticDiagnostics(), ...builder.getGlobalDiagnostics(), ...builder.getSemanticDiagnostics(),
  ].filter((d) => d.category === ts.DiagnosticCategory.Error);
  builder.emit(); // the build info only

  const program = builder.getProgram();
  const texts = new Map(program.getSourceFiles().map((f) => [relativeName(f.fileName), f.text]));
  const projectFiles = (files) => [...new Set(files)].filter((f) => !installed(f)).sort();
  const results = [{ entries, files: projectFiles([...entries, ...texts.keys()]), errors: errorLines(ts, diagnostics) }];
  if (entries.length === 1) return { texts, results };
  // Each entry's own result: the errors of the files it depends on (and those of no file or of a package). Exact only
  // while the other entries' files add nothing to the global scope that it could have used.
  const global = (f) => !ts.isExternalModule(f) || f.statements.some((s) => ts.isModuleDeclaration(s) && (s.flags & ts.NodeFlags.GlobalAugmentation));
  if (program.getSourceFiles().some((f) => !installed(relativeName(f.fileName)) && !f.fileName.endsWith('.json') && global(f))) {
    return { texts, results };
  }
  for (const entry of entries) {
    const file = program.getSourceFile(path.resolve(root, entry));
    if (!file) continue;
    const uses = new Set(builder.getAllDependencies(file).map(relativeName));
    const own = diagnostics.filter((d) => !d.file || installed(relativeName(d.file.fileName)) || uses.has(relativeName(d.file.fileName)));
    results.push({ entries: [entry], files: projectFiles([entry, ...uses]), errors: errorLines(ts, own) });
  }
  return { texts, results };
}

module.exports = { typecheckEntries };
