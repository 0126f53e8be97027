import { existsSync, readdirSync } from 'fs';
import { join } from 'path';
import { root } from '../../build/bundle';
import { appInvariants, BuildApps } from '../support/app-invariants';

// An example's one-off objects (the buildMigration its main.ts exports, written to examples/<name>/migration/ beside
// its dist/) are held to the same invariants as dist/: committed equals a fresh synthesis, deterministic, schema-valid.
const EXAMPLES = join(root, 'examples');
const mainOf = (name: string) => require(join(EXAMPLES, name, 'main.ts')) as { buildMigration?: BuildApps };
const names = existsSync(EXAMPLES)
  ? readdirSync(EXAMPLES, { withFileTypes: true }).filter((e) => e.isDirectory() && existsSync(join(EXAMPLES, e.name, 'main.ts')))
    .map((e) => e.name).filter((name) => mainOf(name).buildMigration !== undefined).sort()
  : [];

test('the HA example has its migration', () => {
  expect(names).toContain('ha-raft');
});

for (const name of names) {
  describe(`examples/${name}/migration`, () => {
    appInvariants(mainOf(name).buildMigration!, join(EXAMPLES, name, 'migration'));
  });
}
