// The suite's test environment: Jest's own Node.js environment, with V8's code cache for the modules Jest compiles
// (build/code-cache.js). Jest compiles every module again for each test file (each file has a registry of its own),
// and the compiler's output is not reused: cdk8s-plus-28's generated k8s.js (2.6 MB) and the CRD imports were compiled
// in every file that loads the constructs. Test code and its results are unchanged: only compile time is saved.
const { AsyncLocalStorage } = require('async_hooks');
const vm = require('vm');
const NodeEnvironment = require('jest-environment-node').TestEnvironment;
const { cachedCompiler } = require('../../build/code-cache');

/** Once per jest worker: its test files share the vm module. */
function installCodeCache() {
  const marker = Symbol.for('homelab-secrets.code-cache');
  if (vm[marker]) return;
  vm[marker] = true;
  vm.compileFunction = cachedCompiler(vm.compileFunction);
}

installCodeCache();

/**
 * Jest 30's test runner (jest-circus) makes an AsyncLocalStorage in each test file and never disables it, and Node.js
 * 20 hands every new promise and callback to each enabled one: each file of a worker paid for all those before it.
 * The ones a file enabled are disabled when it ends, when nothing of that file runs any more. Node.js versions whose
 * AsyncLocalStorage has no `_enable` do not pay per instance, and are left alone.
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
