// Bundles a TypeScript entry with esbuild, caching the result in node_modules/.cache/homelab-secrets/bundles. A
// bundle is reused only while everything that went into it is unchanged: the fingerprint covers every file (path and
// bytes) of every folder esbuild read an input from (so an edit, an added or a removed file there changes it), the
// build options, esbuild's version, this file, and the lock file and what npm installed (for the packages a bundle
// includes: a synth run between a pull and an install must not be served after the install).
// Shared by `npm run synth` (main.ts), the runtime scripts' bundles, `npm run vault-setup` and `npm run bench`.
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

/** The project's root: the nearest folder above this code holding runtime/ (this file may run inside a bundle). */
function findRoot() {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'runtime', 'common')) && fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`cannot find the project's root (a folder with runtime/) above ${__dirname}`);
  }
}

const root = findRoot();
const cacheDir = path.join(root, 'node_modules', '.cache', 'homelab-secrets', 'bundles');

/**
 * The hashes of the files read so far in this process, by path, with the stat they were read at: a file whose size,
 * times and inode are unchanged holds the bytes it held (every write sets its change time). A file changed in the
 * last two seconds is read again each time, as a write in the same tick of the clock as the stat would leave it as it
 * was. A process that bundles several entries (the tests' synthesis in process) reads lib/ and imports/ once.
 */
const hashes = new Map();

/** The hash of a file's bytes, or undefined when it is not a file. */
function fileHash(file) {
  let stat;
  try {
    stat = fs.statSync(file, { bigint: true });
  } catch {
    return undefined;
  }
  if (!stat.isFile()) return undefined;
  const key = `${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}:${stat.ino}`;
  const known = hashes.get(file);
  if (known && known.key === key) return known.hash;
  const hash = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  if (stat.ctimeNs < BigInt(Date.now() - 2000) * 1000000n) hashes.set(file, { key, hash });
  return hash;
}

function fingerprint(dirs, salt) {
  const hash = crypto.createHash('sha256').update(salt);
  for (const dir of dirs) {
    // A folder that is gone changes the fingerprint like any other change.
    if (!fs.existsSync(path.join(root, dir))) return 'missing';
    for (const name of fs.readdirSync(path.join(root, dir)).sort()) {
      const fileHashed = fileHash(path.join(root, dir, name));
      if (fileHashed !== undefined) hash.update(`${dir}/${name}\0${fileHashed}\0`);
    }
  }
  return hash.digest('hex');
}

function hashFiles(files) {
  const hash = crypto.createHash('sha256');
  for (const file of files) hash.update(fileHash(path.join(root, file)) ?? '-').update('\0');
  return hash.digest('hex');
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Writes a file whole or not at all: parallel test workers may write the same entry. */
function writeAtomically(file, text) {
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, text);
  fs.renameSync(temporary, file);
}

/**
 * The bundle of `options.entryPoints[0]` (paths relative to the project root) as a file in the cache, built only when
 * its fingerprint changed. `name` names the cache entry.
 */
function bundleFile(name, options) {
  const salt = JSON.stringify({
    options,
    esbuild: require('esbuild/package.json').version,
    self: fs.readFileSync(path.join(root, 'build', 'bundle.js'), 'utf8'),
    lock: hashFiles(['package-lock.json', 'node_modules/.package-lock.json']),
  });
  const outfile = path.join(cacheDir, `${name}.js`);
  const manifestFile = path.join(cacheDir, `${name}.json`);
  const previous = readJson(manifestFile);
  // Taken before the build, so that a file changed while esbuild reads it leaves a key that no longer matches.
  const before = previous && fingerprint(previous.dirs, salt);
  // `npm run bench -- devices` measures the suite without this cache (HOMELAB_BUNDLE_CACHE=off).
  if (previous && before === previous.key && fs.existsSync(outfile) && process.env.HOMELAB_BUNDLE_CACHE !== 'off') return outfile;

  const result = require('esbuild').buildSync({ ...options, absWorkingDir: root, bundle: true, metafile: true, write: false, outfile });
  // Packages are covered by the lock files; an entry of the project's own under node_modules/.cache (the tests') is not.
  const dirs = [...new Set(Object.keys(result.metafile.inputs)
    .filter((i) => !i.startsWith('node_modules/') || i.startsWith('node_modules/.cache/')).map(path.dirname))].sort();
  fs.mkdirSync(cacheDir, { recursive: true });
  writeAtomically(outfile, result.outputFiles[0].text);
  // The key is trusted only when the folders read are the ones fingerprinted before the build; otherwise the next
  // build fingerprints the new set first.
  const key = previous && JSON.stringify(previous.dirs) === JSON.stringify(dirs) ? before : null;
  writeAtomically(manifestFile, JSON.stringify({ dirs, key }));
  return outfile;
}

/** The bundle's text. */
function bundleText(name, options) {
  return fs.readFileSync(bundleFile(name, options), 'utf8');
}

/**
 * How every bundle of this project is built: one CommonJS file for Node.js 20 or later, in which the library is
 * imported by the package's own name (as main.ts and the examples do, wherever they are: tsconfig.json's paths say the
 * same for the type-checker, and esbuild skips tsconfig.json for an entry under node_modules).
 */
const NODE_SCRIPT = Object.freeze({ platform: 'node', target: 'node20', format: 'cjs', alias: Object.freeze({ 'homelab-secrets': './lib/index.ts' }) });

module.exports = { bundleFile, bundleText, NODE_SCRIPT, root };
