import { existsSync, readdirSync } from 'fs';
import { join } from 'path';
import { root } from '../../build/bundle';
import { BuildApps } from './app-invariants';

const EXAMPLES = join(root, 'examples');

/** The homelab apps of the repository and their committed output: main.ts's dist/, then each example's, by listing. */
export function homelabApps(): Array<{ name: string; dist: string; build: BuildApps }> {
  const examples = existsSync(EXAMPLES) ? readdirSync(EXAMPLES).filter((n) => existsSync(join(EXAMPLES, n, 'main.ts'))).sort() : [];
  return [
    { name: 'main.ts', dist: join(root, 'dist'), build: require(join(root, 'main.ts')).buildApps },
    ...examples.map((n) => ({ name: `examples/${n}`, dist: join(EXAMPLES, n, 'dist'), build: require(join(EXAMPLES, n, 'main.ts')).buildApps })),
  ];
}
