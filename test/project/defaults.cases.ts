import { readdirSync, readFileSync } from 'fs';
import { join, relative } from 'path';
import { root } from '../../build/bundle';

// Each default is defined once and read everywhere: the literal of a default appears in exactly one line of code
// (comments and doc comments are documentation, not definitions) across lib/, runtime/, tools/, build/ and scripts/.
// main.ts and the examples are not searched: what they write are a homelab's site values, which may equal a default.
const SOURCES = ['lib', 'runtime', 'tools', 'build', 'scripts'].flatMap((dir) => (readdirSync(join(root, dir), { recursive: true }) as string[])
  .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts') && !f.includes('dist')).map((f) => join(root, dir, f)));

/** The code lines quoting `literal`, as `file:line`, with comments removed. */
function definitions(literal: string): string[] {
  // An example in a message ("such as ...") is not a definition.
  const quoted = new RegExp(`(?<!such as )(['"\`])${literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\1`);
  return SOURCES.flatMap((file) => readFileSync(file, 'utf8').split('\n').flatMap((line, i) => {
    const code = line.replace(/\/\/.*$/, '').replace(/^\s*\*.*$/, '').replace(/\/\*.*?\*\//g, '');
    return quoted.test(code) ? [`${relative(root, file)}:${i + 1}`] : [];
  }));
}

test.each([
  'security', 'k8s-secrets', 'eso-reader', 'eso-vault-auth', 'vault-tls', 'vault-unseal-key', 'vault-auto-unseal',
  'kube-prometheus-stack', 'node:24.11.0-alpine3.22', 'hashicorp/vault:2.0.4', 'cluster.local', 'envoy-gateway-system',
  '10.0.0.0/8',
])('the default %s is written once', (literal) => {
  expect(definitions(literal)).toHaveLength(1);
});

test('the check sees a literal written twice', () => {
  expect(definitions('kubernetes.io/metadata.name').length).toBeGreaterThanOrEqual(1);
  expect(definitions('app.kubernetes.io/name').length).toBeGreaterThan(1);
});
