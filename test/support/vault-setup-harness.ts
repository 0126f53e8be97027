import { randomBytes } from 'crypto';
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { readManifests } from '../../tools/vault-setup/manifests';
import { FakeVaultApi } from './fake-vault-api';
import { homelabDist } from './homelab-dist';
import { ServerTls } from './loopback-server';
import { CliRun, runCli, runCliProcess } from './run-cli';
import { expectRun as expectRunOf } from './run-script';

// What vault-setup's integration files share: `vault-setup plan|apply` run against the loopback stand-in for Vault's
// API (fake-vault-api.ts), the seed's four secrets and their values, and Vault as the README's manual commands leave
// it. The token and the values are random, so that a run can prove it printed none of them.

export const TOKEN = `hvs.${randomBytes(18).toString('base64url')}`;
const value = () => `value-${randomBytes(12).toString('hex')}`;
export const VALUES = {
  pgUser: value(), pgPassword: value(), authentikDb: value(), authentikSecret: value(), grafana: value(),
};
// The seed's four secrets, from a fixture: the project's dist/ grows as apps are added to main.ts.
export const REAL_DIST = homelabDist();
export const EMPTY_HOME = mkdtempSync(join(tmpdir(), 'home-'));
/** The role's audience as the fixture's store asks for it (EsoStore's audience), or none. */
export const AUDIENCE: { audience?: string } = (() => {
  const store = readManifests(REAL_DIST).find((d: any) => d.kind === 'ClusterSecretStore')!;
  const [audience] = store.spec.provider.vault.auth.kubernetes.serviceAccountRef.audiences ?? [];
  return audience === undefined ? {} : { audience };
})();

/** What `vault kv put` would have written for the homelab's four secrets. */
export const HOMELAB_SECRETS = () => ({
  'postgres-secret': { data: { POSTGRES_USER: VALUES.pgUser, POSTGRES_PASSWORD: VALUES.pgPassword } },
  'authentik-db': { data: { password: VALUES.authentikDb } },
  'authentik-secret': { data: { secret_key: VALUES.authentikSecret } },
  'grafana-admin': { data: { 'admin-password': VALUES.grafana } },
});

/** The fixture's roles, one per app namespace (EsoStore's `<role>-<namespace>`), each with the lines of its policy. */
export const DERIVED: Record<string, string[]> = {
  'eso-reader-authentik': ['path "secret/data/authentik-db" { capabilities = ["read"] }', 'path "secret/data/authentik-secret" { capabilities = ["read"] }'],
  'eso-reader-db': ['path "secret/data/postgres-secret" { capabilities = ["read"] }'],
  'eso-reader-monitoring': ['path "secret/data/grafana-admin" { capabilities = ["read"] }'],
};
export const ROLES = Object.keys(DERIVED);

/** Starts a stand-in Vault, serving https with `tls` when given. */
export type StartVault = (options?: Partial<ConstructorParameters<typeof FakeVaultApi>[0]>, tls?: ServerTls) => Promise<FakeVaultApi>;

/**
 * Starts Vaults for the calling test file, and registers in it the afterAll that stops them when the file ends. The
 * scenarios run concurrently (most of their time is spent waiting), each against a Vault of its own. The list is this
 * call's, not the module's: the file that starts servers owns their cleanup, rather than an import's side effect.
 */
export function vaultsForThisFile(): StartVault {
  const vaults: FakeVaultApi[] = [];
  afterAll(() => Promise.all(vaults.map((v) => v.stop())));
  return async (options = {}, tls) => {
    const stopped = new FakeVaultApi({ token: TOKEN, ...options });
    const vault = await (tls ? stopped.withTls(tls) : stopped).start();
    vaults.push(vault);
    return vault;
  };
}

/** A policy's lines laid out by hand, in another order: Vault's text, not vault-setup's. */
export const byHandLayout = (lines: string[]) => lines.map((l) => l.replace('{ capabilities', '{\n  capabilities').replace(' }', '\n}')).reverse().join('\n\n');

/**
 * Vault as the manual `vault` commands of docs/vault-setup.md leave it, each namespace's policy laid out by hand:
 * Vault's normal forms (kv-v2 read back as kv + version 2, `ttl=1h` read back as 3600, the host's default port) must
 * plan no change.
 */
export function configuredByHand(v: FakeVaultApi): FakeVaultApi {
  v.byHand('POST', 'sys/mounts/secret', { type: 'kv-v2' });
  v.byHand('POST', 'sys/auth/kubernetes', { type: 'kubernetes' });
  v.byHand('POST', 'auth/kubernetes/config', { kubernetes_host: 'https://kubernetes.default.svc' });
  for (const [role, lines] of Object.entries(DERIVED)) {
    v.byHand('PUT', `sys/policies/acl/${role}`, { policy: byHandLayout(lines) });
    v.byHand('POST', `auth/kubernetes/role/${role}`, {
      bound_service_account_names: 'eso-vault-auth', bound_service_account_namespaces: 'security', policies: role, ttl: '1h', ...AUDIENCE,
    });
  }
  Object.assign(v.kv.secret, HOMELAB_SECRETS());
  return v;
}

/** vault-setup's main in this process; given the npm script's bundle, that bundle in a process of its own. */
export function vaultSetup(
  addr: string, args: string[], env: Record<string, string> = {}, bundle?: string,
): Promise<CliRun> {
  // 5 s per call: far above a loopback answer, even with the other scenarios running; the hang test sets its own bound.
  const vars = { HOME: EMPTY_HOME, VAULT_ADDR: addr, VAULT_TOKEN: TOKEN, VAULT_SETUP_TIMEOUT_SECONDS: '5', ...env };
  return bundle ? runCliProcess(bundle, args, vars) : runCli(args, vars);
}

export const plan = (v: FakeVaultApi, ...args: string[]) => vaultSetup(v.url, ['plan', '--dist', REAL_DIST, ...args]);
export const apply = (v: FakeVaultApi, ...args: string[]) => vaultSetup(v.url, ['apply', '--dist', REAL_DIST, ...args]);

/** Exit code, and no token or secret value in the output. The whole output shows when the code is wrong. */
export function expectRun(run: CliRun, code: number): void {
  // A plan's exit 2 ends with its summary on stdout: only the code and the secrets are checked.
  expectRunOf(run, code, [TOKEN, ...Object.values(VALUES)], false);
}

export const lines = (run: CliRun) => run.stdout.split('\n').filter((l) => l !== '');
export const sent = (v: FakeVaultApi) => v.writes.map((r) => `${r.method} ${r.path}`);
