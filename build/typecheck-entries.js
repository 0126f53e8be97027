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
// tsconfig.json, the lock files, TypeScript's package.json, and this file. Content, not times (npm dates the files it
// installs 1985): a recorded stat only spares reading again bytes that cannot have changed. A failure is recorded too,
// so that running again unchanged prints the same lines at once. A check of several entries also records each entry's
// own result, so that `cdk8s synth` after `npm run synth` checks nothing.
// Used by scripts/synth.js (`npm run synth`, `cdk8s synth`); `entryDiagnostics` by the test of the docs' TypeScript
// snippets (test/project/docs-snippets.cases.ts), each snippet an entry, checked on every run without a record (the
// record saved 3 s of the suite's 70 s of CPU, under the tenth a speed device must save: docs/development.md).
const { createHash } = require('crypto');
const fs = require('fs');
const path = require('path');
const { root } = require('./bundle');

const cacheDir = path.join(root, 'node_modules', '.cache', 'homelab-secrets', 'typecheck');
const self = fs.readFileSync(__filename);

const foldersOf = (files) => [...new Set(files.map((f) => path.posix.dirname(f)))].sort();
/** Installed packages, whose changes show in the lock files; entries cached under node_modules/.cache are the project's. */
const installed = (file) => /(^|\/)node_modules\/(?!\.cache\/)/.test(file);
const relativeName = (file) => path.relative(root, path.resolve(root, file)).replace(/\\/g, '/');
/** Where the results of a set of entries are kept: `.json` the record, `.tsbuildinfo` TypeScript's build info. */
const cacheFile = (entries, extension, scope = 'program') =>
  path.join(cacheDir, `${createHash('sha1').update([...(scope === 'program' ? [] : [scope]), ...entries].join('\0')).digest('hex').slice(0, 16)}${extension}`);

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

/** A file's size, times and inode: every write sets its change time, which no tool sets back. */
function statOf(file) {
  try {
    const stat = fs.statSync(path.resolve(root, file), { bigint: true });
    return { key: `${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}:${stat.ino}`, changedNs: stat.ctimeNs };
  } catch {
    return undefined;
  }
}

const digest = (content) => (content === undefined ? '-' : createHash('sha256').update(content).digest('hex'));

/**
 * A file as a record keeps it: its name, the hash of `content` (what the check read), and its stat when it holds
 * that content and was last written two seconds ago or more (a write in the same tick of the clock as the stat would
 * leave the stat as it was).
 */
function described(file, content) {
  const stat = statOf(file);
  const bytes = read(file);
  const same = content === undefined ? bytes === undefined : bytes !== undefined && bytes.equals(Buffer.from(content));
  const settled = stat && stat.changedNs < BigInt(Date.now() - 2000) * 1000000n && statOf(file)?.key === stat.key;
  return [file, digest(content), same && settled ? stat.key : null];
}

/**
 * The hash of a recorded file's bytes now. Reading them all took 5 to 10 ms here, several times the stat: a file whose
 * size, times and inode are those recorded holds the bytes it held then.
 */
const hashNow = ([file, hash, stat]) => (stat && statOf(file)?.key === stat ? hash : digest(read(file)));

/** The stamp: `settings` and `files` as [name, hash of its bytes]; `names(dir)` the names in a folder of the files. */
function stamp(entries, settings, files, names) {
  const hash = createHash('sha256').update(self).update(JSON.stringify(entries));
  for (const [file, fileHash] of [...settings, ...files]) hash.update(`\0${file}\0${fileHash}`);
  for (const dir of foldersOf(files.map(([file]) => file))) hash.update(`\0${dir}/\0`).update(names(dir));
  return hash.digest('hex');
}

function writeAtomically(file, text) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, text);
  fs.renameSync(temporary, file);
}

function readRecord(entries) {
  try {
    const record = JSON.parse(fs.readFileSync(cacheFile(entries, '.json'), 'utf8'));
    return Array.isArray(record.settings) && Array.isArray(record.files) ? record : undefined;
  } catch {
    return undefined;
  }
}

/** The result of `entries` (their Program's errors): the last one recorded while its stamp holds, else a check's, recorded. */
function result(entryPaths) {
  const entries = entryPaths.map(relativeName);
  const previous = readRecord(entries);
  // Taken before the check: a folder changed while it runs leaves a stamp that no longer matches.
  const before = new Map(foldersOf((previous?.files ?? []).map(([file]) => file)).map((dir) => [dir, listing(dir)]));
  if (previous) {
    const now = (files) => files.map((recorded) => [recorded[0], hashNow(recorded)]);
    if (stamp(entries, now(previous.settings), now(previous.files), (dir) => before.get(dir)) === previous.key) return previous;
  }

  // Besides the sources: tsconfig.json (the check parses these bytes), the lock files and TypeScript's version.
  const settings = ['tsconfig.json', 'package-lock.json', 'node_modules/.package-lock.json', relativeName(require.resolve('typescript/package.json'))]
    .map((file) => [file, read(file)]);
  const { texts, results } = check(entries, 'program', settings[0][1]);
  // What the check read, not the files as they are now: a file saved during the check is checked next time.
  const describedSettings = settings.map(([file, bytes]) => described(file, bytes));
  const seen = new Map();
  for (const result of results) {
    const files = result.files.map((file) => seen.get(file) ?? seen.set(file, described(file, texts.get(file))).get(file));
    const key = stamp(result.entries, describedSettings, files, (dir) => before.get(dir) ?? listing(dir));
    writeAtomically(cacheFile(result.entries, '.json'), JSON.stringify({ ...result, settings: describedSettings, files, key }));
  }
  return results[0];
}

/**
 * The errors of `entries` (paths relative to the project root) and of what they import: none, or the first as
 * `file:line:column: message`, then how many more. TypeScript is loaded only when the stamp of the last result changed.
 */
function typecheckEntries(entryPaths) {
  return result(entryPaths).errors;
}

/**
 * Every error of the entries' own files, as `{ file, line, column, message }` (file relative to the project root, line
 * and column from 1; a problem of the options or of no file has no file), in the order TypeScript reports them: a
 * check on every call, with the build info of the last one.
 */
function entryDiagnostics(entryPaths) {
  return check(entryPaths.map(relativeName), 'entries', read('tsconfig.json')).results[0].diagnostics;
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

/** A diagnostic as entryDiagnostics returns it. */
function placed(ts, d) {
  const message = ts.flattenDiagnosticMessageText(d.messageText, '\n').replace(/\s*\n\s*/g, ' ');
  if (!d.file || d.start === undefined) return { message };
  const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
  return { file: relativeName(d.file.fileName), line: line + 1, column: character + 1, message };
}

/**
 * Checks the Program of `entries` in `scope`, with tsconfig.json's options parsed from `tsconfigText`: `program`, the
 * errors of every file it holds (synthesis, whose results are recorded); `entries`, every error of the entries' own
 * files, each with its place (the docs' snippets). Returns the texts it checked and the results: the entries', then,
 * for several in the `program` scope, each entry's own.
 */
function check(entries, scope, tsconfigText) {
  const ts = require('typescript');
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
    // found for each file unchanged since is not checked again (a check after an edit of main.ts: 2.0 s instead of 2.7 s).
    noEmit: true,
    incremental: true,
    tsBuildInfoFile: cacheFile(entries, '.tsbuildinfo', scope),
  };
  const host = ts.createIncrementalCompilerHost(options);
  host.writeFile = (file, text) => writeAtomically(file, text);
  const builder = ts.createIncrementalProgram({ rootNames: entries.map((e) => path.resolve(root, e)), options, host });
  // Only the entries' own files in the `entries` scope: the files they import are not checked whole.
  const own = scope === 'entries' ? entries.map((e) => builder.getSourceFile(path.resolve(root, e))).filter(Boolean) : [undefined];
  const diagnostics = [
    ...parsed.errors.filter((d) => d.code !== 18003), // "no inputs found" concerns tsconfig.json's own file list
    ...builder.getOptionsDiagnostics(), ...own.flatMap((file) => builder.getSyntacticDiagnostics(file)),
    ...builder.getGlobalDiagnostics(), ...own.flatMap((file) => builder.getSemanticDiagnostics(file)),
  ].filter((d) => d.category === ts.DiagnosticCategory.Error);
  builder.emit(); // the build info only

  const program = builder.getProgram();
  const texts = new Map(program.getSourceFiles().map((f) => [relativeName(f.fileName), f.text]));
  const projectFiles = (files) => [...new Set(files)].filter((f) => !installed(f)).sort();
  const results = [{
    entries, files: projectFiles([...entries, ...texts.keys()]), errors: errorLines(ts, diagnostics),
    ...(scope === 'entries' && { diagnostics: diagnostics.map((d) => placed(ts, d)) }),
  }];
  if (entries.length === 1 || scope === 'entries') return { texts, results };
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

module.exports = { entryDiagnostics, typecheckEntries };
