// The suite's test environment: Jest's own Node.js environment, with V8's code cache for the modules Jest compiles.
// Jest compiles every module again for each test file (each file has a registry of its own), and the compiler's
// output is not reused: cdk8s-plus-28's generated k8s.js (2.6 MB) and the CRD imports were compiled in each of some
// twenty files. Here each compile hands V8 the cached data of the last compile of the same source, kept in memory for
// this worker's later files and on disk (node_modules/.cache) for the next run. V8 checks only the source's length and
// its own flags before it trusts cached data, and would run the old code for a new source of the same length: so the
// cache is found by the whole source (compared in memory, hashed on disk), never by name or length
// (test/project/code-cache.cases.ts). Test code and its results are unchanged: only compile time is saved.
const { AsyncLocalStorage } = require('async_hooks');
const { createHash } = require('crypto');
const fs = require('fs');
const path = require('path');
const vm = require('vm');
const NodeEnvironment = require('jest-environment-node').TestEnvironment;

const CACHE_DIR = path.join(__dirname, '..', '..', 'node_modules', '.cache', 'homelab-secrets', 'v8-code');
/** Smaller sources compile faster than their cache file is read: their cache is kept in memory only. */
const MIN_BYTES = 8 * 1024;
const MAX_ENTRIES = 500;

function installCodeCache() {
  const marker = Symbol.for('homelab-secrets.code-cache');
  if (vm[marker]) return;
  vm[marker] = true;
  const compileFunction = vm.compileFunction;
  const memory = new Map();
  // Entries of sources since edited are never read again: past a bound, start over rather than grow for ever.
  try {
    if (fs.readdirSync(CACHE_DIR).length > MAX_ENTRIES) fs.rmSync(CACHE_DIR, { recursive: true, force: true });
  } catch {
    // No cache yet.
  }
  vm.compileFunction = function cachedCompileFunction(code, params, options = {}) {
    if (typeof code !== 'string' || options.cachedData || options.produceCachedData) {
      return compileFunction.call(this, code, params, options);
    }
    // This worker's last compile of the file first: comparing the source is cheaper than hashing it.
    const name = `${options.filename}\0${(params || []).join(',')}`;
    const last = memory.get(name);
    let cachedData = last && last.code === code ? last.data : undefined;
    // On disk only for larger sources: a small one compiles faster than its cache file is read.
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

installCodeCache();

/**
 * Jest 30's test runner (jest-circus) makes an AsyncLocalStorage in each test file and never disables it, and Node.js
 * 20 hands every new promise and callback to each enabled one: a worker's twelfth file paid for the eleven before it.
 * The ones a file enabled are disabled when it ends, when nothing of that file runs any more. (Node.js versions whose
 * AsyncLocalStorage has no `_enable` do not pay per instance, and are left alone.)
 */
const enabledStorages = new Set();
function recordEnabledStorages() {
  const marker = Symbol.for('homelab-secrets.enabled-storages');
  if (AsyncLocalStorage.prototype[marker] || typeof AsyncLocalStorage.prototype._enable !== 'function') return;
  AsyncLocalStorage.prototype[marker] = true;
  const enable = AsyncLocalStorage.prototype._enable;
  AsyncLocalStorage.prototype._enable = function recordedEnable(...args) {
    enabledStorages.add(this);
    return enable.apply(this, args);
  };
}

recordEnabledStorages();

class TestEnvironment extends NodeEnvironment {
  async teardown() {
    for (const storage of enabledStorages) storage.disable();
    enabledStorages.clear();
    await super.teardown();
  }
}

module.exports = TestEnvironment;
