// V8's code cache for sources this project's tools compile again and again: jest compiles every module afresh for
// each of its test files (test/support/environment.js), and the type-check loads TypeScript's 9 MB compiler on every
// `npm test` (scripts/typecheck.js), whose compile alone took a quarter of a second. Each compile hands V8 the cached
// data of the last compile of the same source, kept in memory for the process's later compiles and on disk
// (node_modules/.cache) for the next run. V8 checks only the source's length and its own flags before it trusts cached
// data, and would run the old code for a new source of the same length: so the cache is found by the whole source
// (compared in memory, hashed on disk), never by name or length (test/project/code-cache.cases.ts). What the code
// does is unchanged: only compile time is saved.
const { createHash } = require('crypto');
const fs = require('fs');
const Module = require('module');
const path = require('path');
const vm = require('vm');

const CACHE_DIR = path.join(__dirname, '..', 'node_modules', '.cache', 'homelab-secrets', 'v8-code');
/** Smaller sources compile faster than their cache file is read: their cache is kept in memory only. */
const MIN_BYTES = 8 * 1024;
const MAX_ENTRIES = 500;

/** `compileFunction` (vm.compileFunction's signature) with V8's cached data of earlier compiles of the same source. */
function cachedCompiler(compileFunction) {
  const memory = new Map();
  // Entries of sources since edited are never read again: past a bound, start over rather than grow for ever.
  try {
    if (fs.readdirSync(CACHE_DIR).length > MAX_ENTRIES) fs.rmSync(CACHE_DIR, { recursive: true, force: true });
  } catch {
    // No cache yet.
  }
  return function cachedCompileFunction(code, params, options = {}) {
    if (typeof code !== 'string' || options.cachedData || options.produceCachedData) {
      return compileFunction.call(this, code, params, options);
    }
    // This process's last compile of the file first: comparing the source is cheaper than hashing it.
    const name = `${options.filename}\0${(params || []).join(',')}`;
    const last = memory.get(name);
    let cachedData = last && last.code === code ? last.data : undefined;
    // On disk only for larger sources.
    const file = cachedData || code.length < MIN_BYTES ? undefined : path.join(CACHE_DIR, `${createHash('sha1').update(`${process.version}\0${name}\0`).update(code).digest('hex')}.bin`);
    if (file) {
      try {
        cachedData = fs.readFileSync(file);
      } catch {
        cachedData = undefined;
      }
    }
    if (cachedData) {
      const fn = compileFunction.call(this, code, params, { ...options, cachedData });
      if (!fn.cachedDataRejected) {
        memory.set(name, { code, data: cachedData });
        return fn;
      }
    }
    const fn = compileFunction.call(this, code, params, { ...options, produceCachedData: true });
    if (fn.cachedData) {
      memory.set(name, { code, data: fn.cachedData });
      if (!file) return fn;
      try {
        fs.mkdirSync(CACHE_DIR, { recursive: true });
        const temporary = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(temporary, fn.cachedData);
        fs.renameSync(temporary, file);
      } catch {
        // A cache that cannot be written costs time, not correctness.
      }
    }
    return fn;
  };
}

/**
 * The exports of the CommonJS file `file`, loaded as `require` loads it but compiled through the cache: for a large
 * module a command loads once per run. Its own requires are Node's, relative to it.
 */
function requireCached(file) {
  const compile = cachedCompiler(vm.compileFunction);
  const wrapper = compile(fs.readFileSync(file, 'utf8'), ['exports', 'require', 'module', '__filename', '__dirname'], { filename: file });
  const module = { exports: {} };
  wrapper.call(module.exports, module.exports, Module.createRequire(file), module, file, path.dirname(file));
  return module.exports;
}

module.exports = { cachedCompiler, requireCached };
