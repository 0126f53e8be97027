import { main } from '../../tools/write-secrets/main';

// write-secrets' refusals, each before any token is minted or Vault called: a dist/ without the bootstrap (no writer),
// a path no ExternalSecret reads (the writer's policy would refuse it anyway), and a value missing for a field the
// ExternalSecrets read (a half-written secret would sync a Secret without it). Writing itself is in the bootstrap's
// acceptance (test/runtime/vault-bootstrap.integration.test.ts).

const ZERO_TOUCH = 'examples/zero-touch/dist';

async function run(argv: string[], values: Record<string, Record<string, string>> = {}) {
  const out: string[] = [];
  const calls: string[] = [];
  const code = await main(argv, { VAULT_ADDR: 'http://127.0.0.1:1' }, {
    stdout: (t) => out.push(t), stderr: (t) => out.push(t),
    values: async (secrets) => { calls.push(`values ${secrets.map((s) => `${s.mount}/${s.key}`).join(',')}`); return values; },
    kubectl: async (args) => { calls.push(`kubectl ${args.join(' ')}`); return { code: 1, stdout: '', stderr: 'not here' }; },
  });
  return { code, out: out.join(''), calls };
}

test('a dist/ without the bootstrap has no writer: it says to write as an admin, and asks nothing', async () => {
  // The HA example has no bootstrap (main.ts may have one: a site's choice).
  const r = await run(['--dist', 'examples/ha-raft/dist']);
  expect([r.code, r.out]).toEqual([1, expect.stringMatching(/^examples\/ha-raft\/dist has no vault-bootstrap CronJob, so no writer identity: write the values as an admin/)]);
  expect(r.calls).toEqual([]);
});

test('a path no ExternalSecret reads is refused, naming those the writer may write', async () => {
  const r = await run(['--dist', ZERO_TOUCH, 'secret/other']);
  expect([r.code, r.out]).toEqual([1, expect.stringMatching(/^no ExternalSecret in .* reads secret\/other: the writer may write only secret\/\S+/)]);
  expect(r.calls).toEqual([]);
});

test('a field the ExternalSecrets read left without a value: nothing written, no token minted', async () => {
  const r = await run(['--dist', ZERO_TOUCH, 'secret/postgres-secret'], { 'secret/postgres-secret': { POSTGRES_USER: 'app-user-x1' } });
  expect([r.code, r.out]).toEqual([1, 'secret/postgres-secret needs POSTGRES_PASSWORD (its ExternalSecrets read them): nothing written\n']);
  expect(r.calls).toEqual(['values secret/postgres-secret']);
});

test('kubectl refusing the token: says which permission the operator needs, and Vault is never called', async () => {
  const r = await run(['--dist', ZERO_TOUCH, 'secret/postgres-secret'], { 'secret/postgres-secret': { POSTGRES_USER: 'app-user-x1', POSTGRES_PASSWORD: 'pw-not-printed-9' } });
  expect([r.code, r.out]).toEqual([1, expect.stringMatching(/^kubectl create token vault-secret-writer in \S+ failed \(not here\): your kubeconfig needs create on serviceaccounts\/token there\n$/)]);
  expect(r.calls[1]).toMatch(/^kubectl -n \S+ create token vault-secret-writer --duration=10m$/);
});
