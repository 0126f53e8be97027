import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { realDist } from '../support/vault-setup-fixtures';
import { applyItems } from '../../runtime/common/vault-config/apply';
import { desiredConfig, KUBERNETES_HOST } from '../../runtime/common/vault-config/desired';
import { manifestsFrom } from '../../runtime/common/vault-config/manifests';
import { nameSet, normalUrl, ttlSeconds } from '../../runtime/common/vault-config/normalize';
import { makePlan } from '../../runtime/common/vault-config/plan';
import { diffLines, normalizedPolicy, parsePolicy } from '../../runtime/common/vault-config/policy';
import { parseArgs, readToken } from '../../tools/vault-setup/settings';
import { kvKind, VaultState } from '../../runtime/common/vault-config/state';
import { VaultClient } from '../../runtime/common/vault-config/vault-client';

// Unit tests of how vault-setup compares what it wants with what Vault holds and acts on it: Vault's answers read back
// in their normal forms, the plan's comparisons against a state, apply stopping at a failed write, and the command
// line and token. The desired state and policy derived from the manifests are in vault-setup.cases.ts; the CLI against
// a stand-in for Vault is in vault-setup.integration.cases.ts.

describe('normalization', () => {
  test('a policy read back from vault in another layout, with comments, parses to the canonical lines', () => {
    const text = `# written by hand
path "secret/data/b" {
  capabilities = [ "read" ]
}
/* a block comment */
path "secret/metadata/*" { capabilities = ["read", "list",] }
path "secret/data/b" { capabilities = ["read"] }   // again
`;
    expect(parsePolicy(text)).toEqual([
      'path "secret/data/b" { capabilities = ["read"] }',
      'path "secret/metadata/*" { capabilities = ["list", "read"] }',
    ]);
  });

  test('a policy with anything but path/capabilities is compared line by line', () => {
    const text = 'path "secret/data/a" {\n  capabilities = ["read"]\n  allowed_parameters = { "x" = [] }\n}\n';
    expect(parsePolicy(text)).toBeUndefined();
    expect(normalizedPolicy(text)).toEqual(['path "secret/data/a" {', 'capabilities = ["read"]', 'allowed_parameters = { "x" = [] }', '}']);
  });

  test('the policy diff: removed lines then added lines', () => {
    expect(diffLines(['a', 'wide', 'b'], ['b', 'a', 'c'])).toEqual(['- wide', '+ c']);
  });

  test.each([
    [3600, 3600], ['3600', 3600], ['1h', 3600], ['60m', 3600], ['1h30m', 5400], ['90s', 90], ['', undefined], ['soon', undefined], [undefined, undefined],
  ])('ttl %p is %p seconds', (value, seconds) => {
    expect(ttlSeconds(value)).toBe(seconds);
  });

  test('names as sorted sets; URLs without default port or trailing slash', () => {
    expect(nameSet(['b', 'a', 'b'])).toEqual(['a', 'b']);
    expect(nameSet(null)).toEqual([]);
    expect(nameSet('a, b')).toEqual(['a', 'b']);
    expect(normalUrl('https://kubernetes.default.svc:443/')).toBe(normalUrl(KUBERNETES_HOST));
    expect(normalUrl('https://kubernetes.default.svc:6443')).not.toBe(normalUrl(KUBERNETES_HOST));
  });

  test.each([
    [{ type: 'kv', options: { version: '2' } }, 'kv v2'], [{ type: 'kv-v2' }, 'kv v2'], [{ type: 'kv', options: null }, 'kv v1'],
    [{ type: 'kv', options: { version: '1' } }, 'kv v1'], [{ type: 'generic' }, 'kv v1'], [{ type: 'transit' }, 'transit'],
  ])('mount %p is %s', (entry, kind) => {
    expect(kvKind(entry)).toBe(kind);
  });
});

describe('plan against a state', () => {
  const want = desiredConfig(manifestsFrom(realDist()));
  // The role's audience as the fixture's store asks for it: set in Vault's state, so only the tested field drifts.
  const audience = want.roles[0].audience === undefined ? {} : { audience: want.roles[0].audience };
  // One namespace's role, and the others: each store of the fixture has its own.
  const ROLE = want.roles[0].name;
  const roleNames = want.roles.map((r) => r.name);
  const state = (overrides: Partial<VaultState> = {}): VaultState => ({
    mounts: { 'secret/': { type: 'kv', options: { version: '2' } } },
    auths: { 'kubernetes/': { type: 'kubernetes' } },
    authConfigs: new Map([['kubernetes', { kubernetes_host: 'https://kubernetes.default.svc', disable_local_ca_jwt: false, token_reviewer_jwt_set: false }]]),
    roles: new Map(roleNames.map((name) => [`kubernetes/${name}`, {
      // As the README's manual `policies=<role> ttl=1h` left it: older field names, TTL in seconds, names reordered.
      bound_service_account_names: ['eso-vault-auth'], bound_service_account_namespaces: ['security'],
      policies: [name], token_policies: [name], ttl: 3600, token_ttl: 3600, ...audience,
    }])),
    roleNames: new Map([['kubernetes', [...roleNames, 'other-app']]]),
    policies: new Map(want.policies.map((p) => [p.name, `${p.lines.join('\n\n')}\n`])),
    policyNames: ['default', ...roleNames, 'root', 'admin'],
    secrets: new Map(),
    ...overrides,
  });

  test("vault's normal form plans no change; other policies and roles are listed as not managed", () => {
    const plan = makePlan(want, state());
    expect(plan.items.map((i) => `${i.label}: ${i.state}`)).toEqual([
      'mount secret/ (kv v2): in sync', 'auth kubernetes/: in sync', 'auth kubernetes/ config: in sync',
      ...roleNames.map((n) => `policy ${n}: in sync`), ...roleNames.map((n) => `role kubernetes/${n}: in sync`),
    ]);
    expect(plan.unmanaged).toEqual(['policy admin', 'role kubernetes/other-app']);
  });

  test('a config with a reviewer JWT and a CA: the replacing write keeps the CA and says the JWT goes', () => {
    const plan = makePlan(want, state({
      authConfigs: new Map([['kubernetes', { kubernetes_host: 'https://10.0.0.1:6443', kubernetes_ca_cert: 'PEM', token_reviewer_jwt_set: true, issuer: '' }]]),
    }));
    const config = plan.items.find((i) => i.label === 'auth kubernetes/ config')!;
    expect(config.state).toBe('change');
    expect(config.details).toEqual([
      `~ kubernetes_host: "https://10.0.0.1:6443" -> "${KUBERNETES_HOST}"`,
      expect.stringMatching(/^- token_reviewer_jwt: vault never returns it, so this replacing write drops it/),
    ]);
    // Every field read back goes back but the managed ones and the read-only token_reviewer_jwt_set.
    expect(config.write?.body).toEqual({ kubernetes_ca_cert: 'PEM', issuer: '', kubernetes_host: KUBERNETES_HOST, disable_local_ca_jwt: false });
  });

  test('a role with another TTL and an extra policy: one change line each, the write sends every managed field', () => {
    const plan = makePlan(want, state({
      roles: new Map([...state().roles, [`kubernetes/${ROLE}`, { bound_service_account_names: ['eso-vault-auth'], bound_service_account_namespaces: ['security'], token_policies: [ROLE, 'admin'], token_ttl: 86400, ...audience }]]),
    }));
    const role = plan.items.find((i) => i.label === `role kubernetes/${ROLE}`)!;
    expect(role.details).toEqual([`~ token_policies: ["admin", "${ROLE}"] -> ["${ROLE}"]`, '~ token_ttl: 86400 (24h) -> 3600 (1h)']);
    expect(role.write).toEqual({
      method: 'POST', path: `/v1/auth/kubernetes/role/${ROLE}`,
      body: { bound_service_account_names: ['eso-vault-auth'], bound_service_account_namespaces: ['security'], token_policies: [ROLE], token_ttl: 3600, ...audience },
    });
    expect(plan.items.filter((i) => i.state !== 'in sync')).toEqual([role]);
  });

  test('secrets: missing, missing fields by name, ok', () => {
    const plan = makePlan(want, state({
      secrets: new Map<string, Record<string, unknown> | undefined>([
        ['data secret/postgres-secret', { POSTGRES_USER: null }],
        ['data secret/grafana-admin', { 'admin-user': null, 'admin-password': null }],
      ]),
    }));
    expect(plan.secrets.map((s) => [s.label, s.state, s.missingFields])).toEqual([
      ['secret secret/authentik-db', 'missing', []],
      ['secret secret/authentik-secret', 'missing', []],
      ['secret secret/grafana-admin', 'ok', []],
      ['secret secret/postgres-secret', 'missing fields', ['POSTGRES_PASSWORD']],
    ]);
  });
});

test('apply stops at the first failed write and names what it wrote before', async () => {
  const written: string[] = [];
  const vault: VaultClient = {
    addr: 'http://vault', sealStatus: async () => ({ status: 200, json: {} }), read: async () => undefined, list: async () => [],
    delete: async () => { throw new Error('apply never deletes'); },
    login: async () => { throw new Error('apply never logs in'); },
    write: async (method, path) => {
      if (path.includes('role')) throw new Error(`POST ${path} answered HTTP 500 (internal error)`);
      written.push(`${method} ${path}`);
    },
  };
  const plan = makePlan(desiredConfig(manifestsFrom(realDist())), {
    mounts: {}, auths: {}, authConfigs: new Map(), roles: new Map(), roleNames: new Map(), policies: new Map(), policyNames: [], secrets: new Map(),
  });
  const [first, ...others] = plan.items.filter((i) => i.label.startsWith('policy ')).map((i) => i.label.slice('policy '.length));
  await expect(applyItems(vault, plan.items)).rejects.toThrow(
    `apply stopped at role kubernetes/${first}: POST /v1/auth/kubernetes/role/${first} answered HTTP 500 (internal error) `
    + `(written before it: mount secret/ (kv v2): created, auth kubernetes/: created, auth kubernetes/ config: created, ${[first, ...others].map((p) => `policy ${p}: created`).join(', ')})`);
  expect(written).toHaveLength(3 + 1 + others.length);
});

describe('command line and token', () => {
  test.each([
    [['plan'], { command: 'plan', help: false }],
    [['apply', '--dist', '/x/dist'], { command: 'apply', distDir: '/x/dist' }],
    [['--dist=/y', 'plan'], { command: 'plan', distDir: '/y' }],
    [['--help'], { help: true }],
  ])('%p parses', (argv, expected) => {
    expect(parseArgs(argv)).toMatchObject(expected);
  });

  test.each([[[]], [['destroy']], [['plan', 'apply']], [['plan', '--dist']]])('%p is refused', (argv) => {
    expect(() => parseArgs(argv)).toThrow(/missing the command|unexpected argument|--dist needs a directory/);
  });

  test('VAULT_TOKEN first, else $HOME/.vault-token, else one clear error', () => {
    const home = mkdtempSync(join(tmpdir(), 'home-'));
    expect(() => readToken({ HOME: home })).toThrow(`no vault token: run \`vault login\` (it writes ${home}/.vault-token) or set VAULT_TOKEN`);
    writeFileSync(join(home, '.vault-token'), 'from-file\n');
    expect(readToken({ HOME: home })).toBe('from-file');
    expect(readToken({ HOME: home, VAULT_TOKEN: 'from-env' })).toBe('from-env');
  });
});
