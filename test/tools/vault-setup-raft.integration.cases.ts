import { randomBytes } from 'crypto';
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { root } from '../../build/bundle';
import { FakeVaultApi } from '../support/fake-vault-api';
import { CliRun, runCli } from '../support/run-cli';
import { homelabDist } from '../support/homelab-dist';

// `vault-setup plan|apply` on the HA example's dist/: besides ESO's store, the snapshot job's role and policy (read on
// sys/storage/raft/snapshot only) and autopilot (cleanup of dead servers, min_quorum = the StatefulSet's replicas).

const TOKEN = `hvs.${randomBytes(18).toString('base64url')}`;
const HA_DIST = join(root, 'examples', 'ha-raft', 'dist');
const EMPTY_HOME = mkdtempSync(join(tmpdir(), 'home-'));

let vault: FakeVaultApi | undefined;
afterEach(async () => { await vault?.stop(); vault = undefined; });

const run = (v: FakeVaultApi, command: string, dist = HA_DIST): Promise<CliRun> =>
  runCli([command, '--dist', dist], { HOME: EMPTY_HOME, VAULT_ADDR: v.url, VAULT_TOKEN: TOKEN, VAULT_SETUP_TIMEOUT_SECONDS: '2' });
const lines = (r: CliRun) => r.stdout.split('\n').filter((l) => l !== '');
const top = (r: CliRun) => lines(r).filter((l) => !l.startsWith(' '));

test('plan shows the snapshot policy and role and autopilot; apply writes them; the next plan is in sync', async () => {
  const v = await new FakeVaultApi({ token: TOKEN, raft: true }).start();
  vault = v;
  const first = await run(v, 'plan');
  expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 2, stderr: '' });
  expect(top(first)).toEqual(expect.arrayContaining([
    'policy vault-raft-snapshot: create',
    'role kubernetes/vault-raft-snapshot: create',
    'raft autopilot (statefulset security/vault (3 replicas)): change',
  ]));
  expect(first.stdout).toContain('  + path "sys/storage/raft/snapshot" { capabilities = ["read"] }');
  expect(first.stdout).toContain('  ~ cleanup_dead_servers: false -> true');
  expect(first.stdout).toContain('  ~ min_quorum: 0 -> 3');
  expect(first.stdout).not.toContain(TOKEN);
  expect(v.writes).toEqual([]);

  const applied = await run(v, 'apply');
  expect({ code: applied.code, stderr: applied.stderr }).toEqual({ code: 0, stderr: '' });
  const write = (path: string) => v.writes.find((w) => w.path === path)?.body;
  expect(write('/v1/sys/policies/acl/vault-raft-snapshot')).toEqual({
    policy: '# vault-raft-snapshot: derived by vault-setup from the snapshot job cronjob security/vault-raft-snapshot in dist/; change the manifests, not this policy\n'
      + 'path "sys/storage/raft/snapshot" { capabilities = ["read"] }\n',
  });
  expect(write('/v1/auth/kubernetes/role/vault-raft-snapshot')).toEqual({
    bound_service_account_names: ['vault-raft-snapshot'], bound_service_account_namespaces: ['security'],
    token_policies: ['vault-raft-snapshot'], token_ttl: 900,
  });
  expect(write('/v1/sys/storage/raft/autopilot/configuration')).toEqual({ cleanup_dead_servers: true, min_quorum: 3 });
  // Only the managed fields changed; Vault keeps the others.
  expect(v.autopilot).toMatchObject({ cleanup_dead_servers: true, min_quorum: 3, dead_server_last_contact_threshold: '24h0m0s' });

  const again = await run(v, 'plan');
  expect(top(again)).toEqual(expect.arrayContaining(['policy vault-raft-snapshot: in sync', 'raft autopilot (statefulset security/vault (3 replicas)): in sync']));
  expect(again.stdout).not.toMatch(/: (create|change)$/m);
});

test('a file-storage dist/ asks nothing of Raft: no snapshot role, no autopilot call', async () => {
  const v = await new FakeVaultApi({ token: TOKEN }).start();
  vault = v;
  // A file-storage homelab of the tests' own: the project's dist/ may be on Raft (a main.ts copied from the HA example).
  const r = await run(v, 'plan', homelabDist());
  expect(r.stdout).not.toContain('autopilot');
  expect(r.stdout).not.toContain('vault-raft-snapshot');
  expect(v.received.some((q) => q.path.includes('autopilot'))).toBe(false);
});

test('a Raft dist/ against a Vault that is not on Raft: one clear error, nothing written', async () => {
  const v = await new FakeVaultApi({ token: TOKEN }).start();
  vault = v;
  const r = await run(v, 'apply');
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/GET \/v1\/sys\/storage\/raft\/autopilot\/configuration answered HTTP 400 \(raft storage is not in use\)/);
  expect(v.writes).toEqual([]);
});
