// A stand-in for dns.lookup: the unseal script's lookup in a run in the test's process (main's io, given by
// run-in-process.ts), or preloaded into a process of its own (fake-dns-preload.js, for `npm run bench`). The host names
// in FAKE_DNS_LOOPBACK (comma-separated) resolve to 127.0.0.1, every other name fails as a name that does not exist
// (ENOTFOUND), so pod DNS names can be used on loopback and no lookup ever leaves the machine. IP literals never reach
// a lookup. The names in FAKE_DNS_TEMPORARY fail as a lookup the resolver could not answer for now (EAI_AGAIN, as
// getaddrinfo's EAI_AGAIN).

/** The lookup function for the variables in `env`. */
function fakeLookup(env) {
  const loopback = new Set((env.FAKE_DNS_LOOPBACK || '').split(',').filter(Boolean));
  const temporary = new Set((env.FAKE_DNS_TEMPORARY || '').split(',').filter(Boolean));
  return function lookup(host, options, callback) {
    if (typeof options === 'function') {
      callback = options;
      options = {};
    }
    if (typeof options === 'number') options = { family: options };
    if (temporary.has(host)) {
      const error = Object.assign(new Error(`getaddrinfo EAI_AGAIN ${host}`), { code: 'EAI_AGAIN', hostname: host, syscall: 'getaddrinfo' });
      return process.nextTick(callback, error);
    }
    if (!loopback.has(host)) {
      const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND', hostname: host, syscall: 'getaddrinfo' });
      return process.nextTick(callback, error);
    }
    if (options && options.all) return process.nextTick(callback, null, [{ address: '127.0.0.1', family: 4 }]);
    return process.nextTick(callback, null, '127.0.0.1', 4);
  };
}

module.exports = { fakeLookup };
