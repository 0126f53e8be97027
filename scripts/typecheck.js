#!/usr/bin/env node
// `npm run typecheck` (the first half of `npm test`): tsc in build mode, which skips the whole check when no source is
// newer than the last successful one (a second before the tests instead of four). Build mode judges by the time
// stamps of the project's own files, and npm installs packages with old ones (1985), so a changed dependency would go
// unseen: the last check is forgotten whenever the lock files or TypeScript's version differ from those it ran with.
const { spawnSync } = require('child_process');
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
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const started = new Date();
const result = spawnSync(process.execPath, [tsc, '--build', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
// Dated when the check began, not when it ended: a file saved while tsc ran is newer than that, so it is checked next
// time instead of passing for checked.
if (fs.existsSync(buildInfo)) fs.utimesSync(buildInfo, started, started);
process.exit(result.status ?? 1);
