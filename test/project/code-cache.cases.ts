// The module itself, as the environment patched it (an import's namespace is a copy without its symbols).
import vm = require('vm');

// The code cache of test/support/environment.js: V8 accepts cached data for any source of the same length, so the
// cache must tell two sources of one file and one length apart by their text.
test('a file compiled again with another source of the same length runs the new source', () => {
  const body = (answer: string) => `${'// padding to the cache\'s minimum size\n'.repeat(300)}return '${answer}';`;
  const compile = (source: string) => vm.compileFunction(source, [], { filename: '/code-cache-probe.js' }) as () => string;
  expect((vm as unknown as Record<symbol, unknown>)[Symbol.for('homelab-secrets.code-cache')]).toBe(true);
  expect(compile(body('AAAA'))()).toBe('AAAA');
  expect(compile(body('BBBB'))()).toBe('BBBB');
  expect(compile(body('AAAA'))()).toBe('AAAA');
});
