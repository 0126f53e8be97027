import { existsSync, readdirSync } from 'fs';
import { join } from 'path';
import { root } from '../../build/bundle';
import { appInvariants, BuildApps } from '../support/app-invariants';

// An example's one-off objects (examples/<name>/migration.ts, written to examples/<name>/migration/ beside its dist/)
// are held to the same invariants as dist/: committed equals a fresh synthesis, deterministic, schema-valid.
const EXAMPLES = join(root, 'examples');
const names = existsSync(EXAMPLES)
  ? readdirSync(EXAMPLES, { withFileTypes: true }).filter((e) => e.isDirectory() && existsSync(join(EXAMPLES, e.name, 'migration.ts'))).map((e) => e.name).sort()
  : [];

test('the HA example has its migration', () => {
  expect(names).toContain('ha-raft');
});

for (const name of names) {
  describe(`examples/${name}/migration`, () => {
    const { buildApps } = require(join(EXAMPLES, name, 'migration.ts')) as { buildApps: BuildApps };
    appInvariants(buildApps, join(EXAMPLES, name, 'migration'));
  });
}
