import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { MARKER, refreshSample, withSample } from '../../build/readme-sample';
import { root } from '../../build/bundle';

// README.md's sample output is what `npm run synth` printed for dist/: the command itself rewrites the block after the
// marker (docs.cases.ts compares it with a fresh synthesis of main.ts), so a fork's README stays true without a second
// command.

test('the front page has the marker, followed by the block that docs.cases.ts compares with a synthesis', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  expect(readme.split(MARKER)).toHaveLength(2);
  expect(readme.split(MARKER)[1]).toMatch(/^\n```\nwrote dist\/: \d+ files, \d+ objects\n/);
});

test('the block after the marker is replaced, and only it', () => {
  const before = `# Title\n\ntext\n\n${MARKER}\n\`\`\`\nwrote dist/: 1 files, 1 objects\n  a.yaml 1\n\`\`\`\n\nafter\n\n\`\`\`\nother block\n\`\`\`\n`;
  const after = withSample(before, 'wrote dist/: 2 files, 3 objects\n  a.yaml 1\n  b.yaml 2\n');
  expect(after).toBe(`# Title\n\ntext\n\n${MARKER}\n\`\`\`\nwrote dist/: 2 files, 3 objects\n  a.yaml 1\n  b.yaml 2\n\`\`\`\n\nafter\n\n\`\`\`\nother block\n\`\`\`\n`);
  expect(withSample(after, 'wrote dist/: 2 files, 3 objects\n  a.yaml 1\n  b.yaml 2')).toBe(after);
  expect(withSample('no marker here\n', 'x')).toBe('no marker here\n');
  expect(() => withSample(`${MARKER}\ntext, no block\n`, 'x')).toThrow('README.md: the marker');
});

test('refreshSample writes the file only when the block differs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'readme-'));
  writeFileSync(join(dir, 'README.md'), `${MARKER}\n\`\`\`\nold\n\`\`\`\n`);
  expect(refreshSample(dir, 'new')).toBe(true);
  expect(readFileSync(join(dir, 'README.md'), 'utf8')).toBe(`${MARKER}\n\`\`\`\nnew\n\`\`\`\n`);
  expect(refreshSample(dir, 'new')).toBe(false);
  expect(refreshSample(mkdtempSync(join(tmpdir(), 'none-')), 'new')).toBe(false);
});
