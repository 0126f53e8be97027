// The module itself, as the environment patched it (an import's namespace is a copy without its symbols).
import vm = require('vm');

// The code cache of build/code-cache.js, through the test environment: V8 accepts cached data for any source of the
// same length, so the cache must tell two sources of one file and one length apart by their text, both on disk (large
// sources) and in memory (every source).
const compile = (source: string) => vm.compileFunction(source, [], { filename: '/code-cache-probe.js' }) as () => string;

test('a file compiled again with another source of the same length runs the new source', () => {
  const body = (answer: string) => `${'// padding past the size the cache keeps on disk\n'.repeat(300)}return '${answer}';`;
  expect((vm as unknown as Record<symbol, unknown>)[Symbol.for('homelab-secrets.code-cache')]).toBe(true);
  expect(compile(body('AAAA'))()).toBe('AAAA');
  expect(compile(body('BBBB'))()).toBe('BBBB');
  expect(compile(body('AAAA'))()).toBe('AAAA');
});

test('the same for a small source, whose cache is kept in memory only', () => {
  expect(compile("return 'AAAA';")()).toBe('AAAA');
  expect(compile("return 'BBBB';")()).toBe('BBBB');
  expect(compile("return 'AAAA';")()).toBe('AAAA');
});
