// Preloaded into a script run as a process of its own (NODE_OPTIONS=--require, as `npm run bench -- unseal-pods`
// does): dns.lookup answers as fake-dns.js describes, from the process's environment.
require('dns').lookup = require('./fake-dns').fakeLookup(process.env);
