import { existsSync, readdirSync } from 'fs';
import { join } from 'path';
import { root } from '../../build/bundle';
import { appInvariants, BuildApps } from '../support/app-invariants';

// Every example, found by listing examples/: adding one needs no test edit. Each is a whole homelab app like main.ts,
// and `npm run synth` writes its output to examples/<name>/dist/, committed and drift-checked like dist/.
const EXAMPLES = join(root, 'examples');
const names = existsSync(EXAMPLES)
  ? readdirSync(EXAMPLES, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort()
  : [];

test('each folder of examples/ is an example: a main.ts exporting buildApps, and its committed dist/', () => {
  for (const name of names) {
    const main = join(EXAMPLES, name, 'main.ts');
    expect({ name, main: existsSync(main), dist: existsSync(join(EXAMPLES, name, 'dist')) }).toEqual({ name, main: true, dist: true });
    expect({ name, buildApps: typeof require(main).buildApps }).toEqual({ name, buildApps: 'function' });
  }
});

for (const name of names.filter((n) => existsSync(join(EXAMPLES, n, 'main.ts')))) {
  describe(`examples/${name}`, () => {
    const { buildApps } = require(join(EXAMPLES, name, 'main.ts')) as { buildApps: BuildApps };
    appInvariants(buildApps, join(EXAMPLES, name, 'dist'));
  });
}
