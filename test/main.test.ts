import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { buildApp } from '../main';

function synthTo(): { dir: string; files: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'synth-'));
  buildApp(dir).synth();
  const files: Record<string, string> = {};
  for (const f of readdirSync(dir).sort()) files[f] = readFileSync(join(dir, f), 'utf8');
  rmSync(dir, { recursive: true, force: true });
  return { dir, files };
}

const distDir = join(__dirname, '..', 'dist');

test('two syntheses give the same bytes', () => {
  expect(synthTo().files).toEqual(synthTo().files);
});

test('the committed dist/ equals a fresh synthesis (run `npm run synth` and commit dist/ if this fails)', () => {
  const fresh = synthTo().files;
  const committed: Record<string, string> = {};
  for (const f of readdirSync(distDir).sort()) committed[f] = readFileSync(join(distDir, f), 'utf8');
  expect(Object.keys(committed)).toEqual(Object.keys(fresh));
  for (const name of Object.keys(fresh)) expect({ name, yaml: committed[name] }).toEqual({ name, yaml: fresh[name] });
});

test('names in the output are stable, never hashed', () => {
  const all = Object.values(synthTo().files).join('\n');
  const names = [...all.matchAll(/^  name: (\S+)$/gm)].map((m) => m[1]);
  expect(names.length).toBeGreaterThan(0);
  for (const name of names) expect(name).not.toMatch(/-c8[0-9a-f]{6,}$/);
});
