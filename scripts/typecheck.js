#!/usr/bin/env node
// `npm run typecheck` (the first half of `npm test`): TypeScript's build mode (what `tsc --build` runs, through its
// API, in this process rather than a second Node.js), which skips the whole check when no source is newer than the
// last successful one. Build mode judges by the time stamps of the project's own files, and npm installs packages with
// old ones (1985), so a changed dependency would go unseen: the last check is forgotten whenever the lock files or
// TypeScript's version differ from those it ran with.
const { createHash } = require('crypto');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const cache = path.join(root, 'node_modules', '.cache', 'homelab-secrets');
const buildInfo = path.join(cache, 'tsbuildinfo'); // as tsconfig.json's tsBuildInfoFile says
const stampFile = path.join(cache, 'tsbuildinfo.installed');

const read = (file) => (fs.existsSync(file) ? fs.readFileSync(file) : '-');
const stamp = createHash('sha256')
  .update(read(path.join(root, 'package-lock.json'))).update('\0')
  .update(read(path.join(root, 'node_modules', '.package-lock.json'))).update('\0')
  .update(require('typescript/package.json').version)
  .digest('hex');
if (read(stampFile).toString() !== stamp) {
  fs.rmSync(buildInfo, { force: true });
  fs.mkdirSync(cache, { recursive: true });
  fs.writeFileSync(stampFile, stamp);
}

const ts = require('typescript');
const pretty = !!ts.sys.writeOutputIsTTY?.();
const host = ts.createSolutionBuilderHost(ts.sys, undefined, ts.createDiagnosticReporter(ts.sys, pretty),
  ts.createBuilderStatusReporter(ts.sys, pretty),
  (errors) => { if (errors > 0) ts.sys.write(`Found ${errors} error${errors === 1 ? '' : 's'}.${ts.sys.newLine}`); });
const started = new Date();
const status = ts.createSolutionBuilder(host, [path.join(root, 'tsconfig.json')], {}).build();
// Dated when the check began, not when it ended: a file saved while it ran is newer than that, so it is checked next
// time instead of passing for checked.
if (fs.existsSync(buildInfo)) fs.utimesSync(buildInfo, started, started);
process.exitCode = status === ts.ExitStatus.Success ? 0 : 1;
