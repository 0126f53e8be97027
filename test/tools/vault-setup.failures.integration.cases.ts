import { randomBytes } from 'crypto';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import {
  apply, configuredByHand, EMPTY_HOME, expectRun, lines, plan, REAL_DIST, ROLES, TOKEN, VALUES, vaultSetup, vaultsForThisFile,
} from '../support/vault-setup-harness';
import { closedPort } from '../support/fake-vault';

// `vault-setup plan|apply` against a stateful loopback stand-in for Vault's API (vault-setup-harness.ts), where it
// must stop or warn: a kv v1 mount or another auth method it will not replace, missing secrets, a wrong or absent
// token, a sealed, hanging or unreachable Vault, and bad arguments. Each is one clear message and its exit code, with
// nothing written. The plan and apply flows are in vault-setup.integration.cases.ts. Every run checks that neither the
// token nor any secret value reaches stdout or stderr.

const start = vaultsForThisFile();

test.concurrent('a kv v1 mount at secret/: refused with the manual step, exit 1, nothing written', async () => {
  const v = configuredByHand(await start());
  v.mounts['secret/'] = { type: 'kv', options: { version: '1' } };
  for (const run of [await plan(v), await apply(v)]) {
    expectRun(run, 1);
    expect(run.stdout).toMatch(/^mount secret\/ \(kv v2\): conflict$/m);
    expect(run.stderr).toMatch(/^mount secret\/ is kv version 1, the stores need version 2: vault-setup never replaces a mount \(that deletes its secrets\); back it up, run `vault kv enable-versioning secret\/` \(an in-place upgrade\), then plan again\nnothing written/);
  }
  expect(v.writes).toEqual([]);
});

test.concurrent('another auth method at kubernetes/: refused, exit 1, nothing written', async () => {
  const v = await start();
  v.auths['kubernetes/'] = { type: 'userpass' };
  const run = await apply(v);
  expectRun(run, 1);
  expect(run.stderr).toMatch(/^auth kubernetes\/ is a userpass auth method, not kubernetes: vault-setup never disables one/);
  expect(v.writes).toEqual([]);
});

test.concurrent('a missing secret and a missing field are named, values never printed, exit 2', async () => {
  const v = configuredByHand(await start());
  delete v.kv.secret['authentik-db'];
  v.kv.secret['postgres-secret'] = { data: { POSTGRES_USER: VALUES.pgUser } };
  const run = await plan(v);
  expectRun(run, 2);
  expect(lines(run).slice(3 + 2 * ROLES.length)).toEqual([
    'secret secret/authentik-db: missing (read by externalsecret authentik/authentik-db)',
    'secret secret/authentik-secret: ok',
    'secret secret/grafana-admin: ok',
    'secret secret/postgres-secret: missing fields POSTGRES_PASSWORD (read by externalsecret db/postgres-secret)',
    `plan: 0 to create, 0 to change, ${3 + 2 * ROLES.length} in sync; secrets: 2 ok, 2 missing: write the missing secrets with \`vault kv put\` (see the README)`,
  ]);
  // Fields are checked through subkeys, which carries no values; the data endpoint is never read.
  expect(v.received.filter((r) => /^\/v1\/secret\//.test(r.path)).map((r) => r.path.split('/')[3])).toEqual(['subkeys', 'subkeys', 'subkeys', 'subkeys']);
  const applied = await apply(v);
  expectRun(applied, 0);
  expect(v.writes).toEqual([]);
});

test.concurrent('a wrong token: one clear line, exit 1, nothing written', async () => {
  const v = configuredByHand(await start());
  const wrong = `hvs.${randomBytes(18).toString('base64url')}`;
  const run = await vaultSetup(v.url, ['apply', '--dist', REAL_DIST], { VAULT_TOKEN: wrong });
  expectRun(run, 1);
  expect(run.stderr).toBe('vault rejected the token (HTTP 403 permission denied): run `vault login`, or set VAULT_TOKEN to a valid admin token\n');
  expect(run.stdout + run.stderr).not.toContain(wrong);
  expect(v.received.map((r) => `${r.method} ${r.path} ${r.token === wrong ? 'wrong' : r.token}`)).toEqual([
    'GET /v1/sys/seal-status undefined', 'GET /v1/auth/token/lookup-self wrong',
  ]);
});

test.concurrent('the token from ~/.vault-token when VAULT_TOKEN is unset; no token at all is one clear line', async () => {
  const v = configuredByHand(await start());
  const home = mkdtempSync(join(tmpdir(), 'home-'));
  writeFileSync(join(home, '.vault-token'), `${TOKEN}\n`);
  const withFile = await vaultSetup(v.url, ['plan', '--dist', REAL_DIST], { VAULT_TOKEN: '', HOME: home });
  expectRun(withFile, 0);
  expect(v.received.find((r) => r.path === '/v1/auth/token/lookup-self')?.token).toBe(TOKEN);

  v.received.length = 0;
  const none = await vaultSetup(v.url, ['plan', '--dist', REAL_DIST], { VAULT_TOKEN: '' });
  expectRun(none, 1);
  expect(none.stderr).toBe(`no vault token: run \`vault login\` (it writes ${EMPTY_HOME}/.vault-token) or set VAULT_TOKEN\n`);
  expect(v.received).toEqual([]);
});

test.concurrent('a sealed vault: one clear line, exit 1, nothing but the seal status asked', async () => {
  const v = configuredByHand(await start());
  v.sealed = true; // as after a reboot
  const run = await apply(v);
  expectRun(run, 1);
  expect(run.stderr).toBe(`vault at ${v.url} is sealed: unseal it (the vault-auto-unseal CronJob, or \`vault operator unseal\`), then run again\n`);
  expect(v.received.map((r) => r.path)).toEqual(['/v1/sys/seal-status']);
});

test.concurrent('a hanging vault: exit 1 after the call timeout', async () => {
  const v = await start({ hang: true });
  const run = await vaultSetup(v.url, ['plan', '--dist', REAL_DIST], { VAULT_SETUP_TIMEOUT_SECONDS: '0.5' });
  expectRun(run, 1);
  expect(run.stderr).toMatch(new RegExp(`^cannot talk to vault at ${v.url} \\(GET /v1/sys/seal-status .*\\): start the port-forward`));
  // Only catches a hang: the run ends after one 0.5 s timeout, far below this generous bound on any machine.
  expect(run.ms).toBeLessThan(10000);
  expect(v.received.map((r) => r.path)).toEqual(['/v1/sys/seal-status']);
});

test.concurrent('an unreachable vault: one clear line naming the port-forward from VAULT_ADDR\'s port to the Service in dist/, exit 1', async () => {
  const port = await closedPort();
  const addr = `http://127.0.0.1:${port}`;
  const run = await vaultSetup(addr, ['plan', '--dist', REAL_DIST]);
  expectRun(run, 1);
  expect(run.stderr).toBe(`cannot talk to vault at ${addr} (GET /v1/sys/seal-status failed: ECONNREFUSED): start the port-forward (\`kubectl -n security port-forward svc/vault ${port}:8200\`) or set VAULT_ADDR\n`);
});

test.concurrent.each([[['destroy']], [[]], [['plan', '--dist']]])('a bad argument %p prints the usage, exit 1, nothing sent', async (args) => {
  const v = await start();
  const run = await vaultSetup(v.url, args);
  expectRun(run, 1);
  expect(run.stderr).toMatch(/\nusage: npm run vault-setup -- plan\|apply\|retire \[--confirm NAME\]\.\.\. \[--dist DIR\] \[--allow-http\]\n/);
  expect(v.received).toEqual([]);
});
