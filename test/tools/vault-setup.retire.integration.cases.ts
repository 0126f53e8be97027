import { FakeVaultWithLogin } from '../support/fake-vault-login';
import {
  apply, AUDIENCE, DERIVED, expectRun, HOMELAB_SECRETS, lines, plan, REAL_DIST, ROLES, TOKEN, vaultSetup,
} from '../support/vault-setup-harness';

// The move from the shared role (docs/adoption.md, "Fences per namespace"): Vault as the previous release's vault-setup
// left it (one role and policy `eso-reader` for every namespace, the policy carrying vault-setup's header), then the
// new dist/ (a store and a role per namespace, vault-setup-harness.ts's fixture). `plan` shows the new roles and the
// old pair to retire, `apply` creates and deletes nothing, and only `retire --confirm <name>` deletes, only what
// vault-setup wrote and dist/ no longer uses, once Vault is in sync. Against the stand-in with logins
// (fake-vault-login.ts), so the old role's reach is seen before and gone after.

const OLD = 'eso-reader';
const OLD_LINES = Object.values(DERIVED).flat().sort();
const HEADER = `# ${OLD}: derived by vault-setup from the ExternalSecrets of clustersecretstore k8s-secrets in dist/; change the manifests, not this policy`;

const vaults: FakeVaultWithLogin[] = [];
afterAll(() => Promise.all(vaults.map((v) => v.stop())));

/** Vault as the previous release's `vault-setup apply` left it for the same four secrets; `header: false` as made by hand. */
async function previousRelease({ header = true } = {}): Promise<FakeVaultWithLogin> {
  const v = await new FakeVaultWithLogin({ token: TOKEN }).start();
  vaults.push(v);
  v.byHand('POST', 'sys/mounts/secret', { type: 'kv-v2' });
  v.byHand('POST', 'sys/auth/kubernetes', { type: 'kubernetes' });
  v.byHand('POST', 'auth/kubernetes/config', { kubernetes_host: 'https://kubernetes.default.svc:443', disable_local_ca_jwt: false });
  v.byHand('PUT', `sys/policies/acl/${OLD}`, { policy: `${header ? `${HEADER}\n` : ''}${OLD_LINES.join('\n')}\n` });
  v.byHand('POST', `auth/kubernetes/role/${OLD}`, {
    bound_service_account_names: ['eso-vault-auth'], bound_service_account_namespaces: ['security'], token_policies: [OLD], token_ttl: 3600, ...AUDIENCE,
  });
  Object.assign(v.kv.secret, HOMELAB_SECRETS());
  return v;
}

/** ESO's login as `role`, then the data paths of the four secrets it may read. */
async function reachOf(v: FakeVaultWithLogin, role: string): Promise<number | string[]> {
  const jwt = v.serviceAccountToken('security', 'eso-vault-auth', AUDIENCE.audience ? [AUDIENCE.audience] : []);
  const login = await fetch(`${v.url}/v1/auth/kubernetes/login`, { method: 'POST', body: JSON.stringify({ role, jwt }), signal: AbortSignal.timeout(5000) });
  if (login.status !== 200) return login.status;
  const token = ((await login.json()) as any).auth.client_token;
  const paths = OLD_LINES.map((l) => /path "([^"]+)"/.exec(l)![1]);
  const statuses = await Promise.all(paths.map(async (p) => (await fetch(`${v.url}/v1/${p}`, { headers: { 'x-vault-token': token }, signal: AbortSignal.timeout(5000) })).status));
  return paths.filter((_, i) => statuses[i] === 200);
}

const deletes = (v: FakeVaultWithLogin) => v.writes.filter((w) => w.method === 'DELETE').map((w) => w.path);
const retire = (v: FakeVaultWithLogin, ...args: string[]) => vaultSetup(v.url, ['retire', '--dist', REAL_DIST, ...args]);
const RETIRE_LINE = `role kubernetes/${OLD} and policy ${OLD}: vault-setup's own, and no store in dist/ logs in with them any more: once every `
  + `store that replaces them is Ready, delete them with \`npm run vault-setup -- retire --confirm ${OLD}\``;

test.concurrent('the move: plan shows the new roles and the old pair to retire, apply deletes nothing, retire deletes only on --confirm and reads back', async () => {
  const v = await previousRelease();
  // Before the move: the shared role reads every namespace's secrets (issue 25's finding).
  expect(await reachOf(v, OLD)).toEqual(OLD_LINES.map((l) => /path "([^"]+)"/.exec(l)![1]));

  const planned = await plan(v);
  expectRun(planned, 2);
  expect(lines(planned).filter((l) => / create$/.test(l))).toEqual([...ROLES.map((r) => `policy ${r}: create`), ...ROLES.map((r) => `role kubernetes/${r}: create`)]);
  expect(lines(planned)).toContain(RETIRE_LINE);
  expect(planned.stdout).not.toContain('not managed here');
  expect(lines(planned).slice(-1)[0]).toBe(`plan: ${2 * ROLES.length} to create, 0 to change, 3 in sync, 1 to retire (\`npm run vault-setup -- retire\`); `
    + 'secrets: 4 ok, 0 missing: run `npm run vault-setup -- apply` to make these changes');

  expectRun(await apply(v), 0);
  expect(deletes(v)).toEqual([]);
  expect(v.roles.kubernetes[OLD]).toBeDefined();
  for (const role of ROLES) expect(await reachOf(v, role)).toEqual(DERIVED[role].map((l) => /path "([^"]+)"/.exec(l)![1]));

  const listed = await retire(v);
  expectRun(listed, 2);
  expect(lines(listed)).toContain(RETIRE_LINE);
  expect(lines(listed).slice(-1)[0]).toBe(`retire: nothing deleted; once the stores that replace them are Ready, run \`npm run vault-setup -- retire --confirm ${OLD}\``);
  const wrong = await retire(v, '--confirm', ROLES[0]);
  expectRun(wrong, 1);
  expect(wrong.stderr).toBe(`retire: ${ROLES[0]} is not vault-setup's own role and policy left over by dist/ (retirable: ${OLD}): delete by hand what vault-setup did not write; nothing deleted\n`);
  expect(deletes(v)).toEqual([]);

  const retired = await retire(v, '--confirm', OLD);
  expectRun(retired, 0);
  expect(deletes(v)).toEqual([`/v1/auth/kubernetes/role/${OLD}`, `/v1/sys/policies/acl/${OLD}`]);
  expect(lines(retired).slice(-1)[0]).toBe(`retired role kubernetes/${OLD} and policy ${OLD} (read back: gone)`);
  expect(await reachOf(v, OLD)).toBe(400); // invalid role name
  expect(v.policies[OLD]).toBeUndefined();

  const after = await plan(v);
  expectRun(after, 0);
  expect(after.stdout).not.toContain(OLD + ' ');
  expect(lines(await retire(v))).toContain('retire: nothing to retire');
});

test.concurrent('a role and policy made by hand (no vault-setup header) are never offered: listed as not managed, refused by name', async () => {
  const v = await previousRelease({ header: false });
  const planned = await plan(v);
  expect(lines(planned)).toEqual(expect.arrayContaining([`policy ${OLD}: not managed here (left alone)`, `role kubernetes/${OLD}: not managed here (left alone)`]));
  expect(planned.stdout).not.toContain('to retire');
  expectRun(await apply(v), 0);
  const refused = await retire(v, '--confirm', OLD);
  expectRun(refused, 1);
  expect(refused.stderr).toMatch(/^retire: eso-reader is not vault-setup's own role and policy left over by dist\/ \(retirable: none\)/);
  expect(deletes(v)).toEqual([]);
  expect(v.roles.kubernetes[OLD]).toBeDefined();
});

test.concurrent('a vault-setup policy another role still names is not offered; retire before apply is refused', async () => {
  const v = await previousRelease();
  const early = await retire(v, '--confirm', OLD);
  expectRun(early, 1);
  expect(early.stderr).toMatch(/^retire: vault differs from dist\/ at policy eso-reader-\S+, .*: run `npm run vault-setup -- apply` first; nothing deleted\n$/);
  v.byHand('POST', 'auth/kubernetes/role/legacy', { bound_service_account_names: ['legacy'], bound_service_account_namespaces: ['legacy'], token_policies: [OLD] });
  expectRun(await apply(v), 0);
  const listed = await retire(v);
  expectRun(listed, 0);
  expect(lines(listed)).toEqual(expect.arrayContaining([`role kubernetes/${OLD}: not managed here (left alone)`, 'retire: nothing to retire']));
  expect(deletes(v)).toEqual([]);
});
