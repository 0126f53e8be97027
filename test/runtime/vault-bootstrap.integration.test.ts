import { ageDecrypt } from '../support/age-decrypt';
import { BootstrapCluster, startedClusters, configWrites, expectedReach, expectNoSecretOutside, lastLine, storeReach } from '../support/bootstrap-cluster';
import { main as writeSecrets } from '../../tools/write-secrets/main';

// The bootstrap's acceptance: the CronJobs of examples/zero-touch/dist that talk to Vault, round by round against a
// stand-in Vault that starts empty and a stand-in API server (test/support/bootstrap-cluster.ts). Whatever the round,
// no root token is valid at its end, and no share or token, nor a 16-character piece of one, reaches any output, Event
// or object but the unseal Secret and the escrow.

jest.setTimeout(120_000);

const cluster = startedClusters();

describe('from an empty cluster', () => {
  let c: BootstrapCluster;
  const rounds: Array<Awaited<ReturnType<BootstrapCluster['round']>>> = [];
  beforeAll(async () => {
    c = await cluster();
    for (let i = 0; i < 5; i++) {
      rounds.push(await c.round());
      expect({ round: i + 1, rootTokens: c.vault.rootTokensValid() }).toEqual({ round: i + 1, rootTokens: [] });
    }
  });

  test('the first round initializes, stores the shares where the unseal job reads them, escrows them and configures Vault', () => {
    expect([rounds[0].unseal.code, lastLine(rounds[0].unseal.stderr)]).toEqual([2, expect.stringMatching(/not initialized/)]);
    expect([rounds[0].bootstrap.code, lastLine(rounds[0].bootstrap.stdout)]).toEqual([0, expect.stringMatching(/is as dist\/ declares \(\d+ written, read back\)/)]);
    expect(c.vault.initialized && !c.vault.sealed).toBe(true);
    const stored = c.kube.secrets[`${c.namespace}/${c.unsealSecret}`];
    expect(Object.keys(stored).sort()).toEqual(['share-1', 'share-2', 'share-3', 'share-4', 'share-5']);
    expect(Object.keys(stored).sort().map((k) => stored[k])).toEqual(c.vault.sharesIssued);
    const escrow = Buffer.from(c.kube.secret(c.namespace, 'vault-unseal-escrow')!.data['shares.age'], 'base64');
    expect(ageDecrypt(escrow, c.escrowKey.identity).toString('utf8')).toBe(c.vault.sharesIssued.map((s, i) => `share-${i + 1}: ${s}\n`).join(''));
    expect(Object.values(c.vault.auditDevices).map((d) => [d.path, d.type, d.options.file_path])).toEqual([['stdout/', 'file', 'stdout']]);
  });

  test('ESO\'s recovery wakes every store in the first round, once Vault is configured, and has nothing to do after', () => {
    expect([rounds[0].recovery.code, rounds[0].recovery.stderr]).toEqual([0, '']);
    const stores = c.docs.filter((d) => d.kind === 'ClusterSecretStore').map((d) => d.metadata.name);
    for (const store of stores) expect({ store, woken: c.eso.annotationsOf[store]?.['eso-recovery/woken-at'] !== undefined }).toEqual({ store, woken: true });
    for (const round of rounds.slice(1)) expect(round.recovery.code).toBe(0);
  });

  test('sys/init is called once; its root token is exchanged for one that expires in 5 minutes, and both are revoked in the same run', () => {
    expect(c.vault.received.filter((r) => r.path === '/v1/sys/init' && r.method === 'PUT')).toHaveLength(1);
    const [init, short] = c.vault.rootTokensIssued;
    expect([c.vault.rootTokensIssued.length, init]).toEqual([2, c.vault.initAnswered!.root_token]);
    const exchange = c.vault.received.find((r) => r.path === '/v1/auth/token/create-orphan')!;
    expect([exchange.token, exchange.body.explicit_max_ttl, exchange.body.policies]).toEqual([init, '300s', ['root']]);
    // The init root goes before the work starts: every configuration write is made with the short-lived token.
    const configuring = (r: { method: string; path: string }) => r.method !== 'GET' && /sys\/(audit|mounts|auth|policies)\//.test(r.path);
    const revokedInit = c.vault.received.findIndex((r) => r.path === '/v1/auth/token/revoke-self' && r.token === init);
    expect(revokedInit).toBeLessThan(c.vault.received.findIndex(configuring));
    expect(c.vault.received.filter(configuring).every((r) => r.token === short)).toBe(true);
    expect(c.vault.rootTokensValid()).toEqual([]);
  });

  test('every store\'s login reads exactly its ExternalSecrets\' paths', async () => {
    expect(await storeReach(c)).toEqual(expectedReach(c));
  });

  test('later rounds log in as the job\'s own identity and change nothing: two more rounds write nothing', () => {
    for (const round of rounds.slice(1)) {
      expect([round.unseal.code, round.bootstrap.code]).toEqual([0, 0]);
      expect(lastLine(round.bootstrap.stdout)).toMatch(/is as dist\/ declares \(0 written, read back\)/);
    }
    const firstRoundWrites = c.vault.writes.findIndex((r) => r.path.endsWith('/login'));
    expect(configWrites(c, firstRoundWrites)).toEqual([]);
    expect(c.vault.rootTokensIssued).toHaveLength(2);
  });

  test('the writer identity writes the apps\' values; the stores then read them; missing secrets are listed until then', async () => {
    expect(lastLine(rounds[4].bootstrap.stdout)).toMatch(/secrets? missing/);
    const want = JSON.parse(c.find('ConfigMap', 'vault-bootstrap-plan').data['desired.json']);
    const values = Object.fromEntries(want.secrets.map((s: any) => [`${s.mount}/${s.key}`,
      Object.fromEntries((s.fields.length ? s.fields : ['value']).map((f: string) => [f, `v-${f}-of-${s.key}`]))]));
    const out: string[] = [];
    const writer = c.vault.serviceAccountToken(c.namespace, 'vault-secret-writer', []);
    const code = await writeSecrets(['--dist', 'examples/zero-touch/dist'], { VAULT_ADDR: c.vault.url }, {
      stdout: (t) => out.push(t), stderr: (t) => out.push(t), values: async () => values,
      kubectl: async (args) => ({ code: args.includes('vault-secret-writer') ? 0 : 1, stdout: `${writer}\n`, stderr: '' }),
    });
    expect([code, out.join('')]).toEqual([0, expect.stringMatching(/secrets? written as kubernetes\/secret-writer; its token revoked\n$/)]);
    expect(out.join('')).not.toMatch(/v-\w+-of-/);
    const round = await c.round();
    expect([round.bootstrap.code, lastLine(round.bootstrap.stdout)]).toEqual([0, expect.not.stringMatching(/missing/)]);
    expect(await storeReach(c)).toEqual(expectedReach(c));
  });

  test('a restart seals Vault, and the next round unseals it without a human', async () => {
    c.vault.restart();
    const round = await c.round();
    expect([round.unseal.code, lastLine(round.unseal.stdout)]).toEqual([0, expect.stringMatching(/unsealed with 3 of 5 shares/)]);
    expect(round.bootstrap.code).toBe(0);
    expect(c.vault.rootTokensValid()).toEqual([]);
  });

  test('hand-made drift of a store\'s policy is restored; of the job\'s own policy, reported with a Warning Event', async () => {
    const store = c.find('ClusterSecretStore', c.docs.find((d) => d.kind === 'ClusterSecretStore')!.metadata.name).spec.provider.vault.auth.kubernetes.role;
    const declared = c.vault.policies[store];
    c.vault.byHand('PUT', `sys/policies/acl/${store}`, { policy: `${declared}path "secret/data/*" { capabilities = ["read"] }\n` });
    const restored = await c.round();
    expect([restored.bootstrap.code, c.vault.policies[store]]).toEqual([0, declared]);
    expect(restored.bootstrap.stdout).toContain(`applied policy ${store}: changed`);

    c.vault.byHand('PUT', 'sys/policies/acl/vault-bootstrap', { policy: `${c.vault.policies['vault-bootstrap']}path "sys/*" { capabilities = ["sudo"] }\n` });
    const reported = await c.round();
    expect([reported.bootstrap.code, lastLine(reported.bootstrap.stderr)]).toEqual([2, expect.stringMatching(/^vault differs from dist\/ at policy vault-bootstrap \(change\) \(the job may not write it\)/)]);
    expect(c.kube.events.map((e) => [e.type, e.reason, e.involvedObject?.name])).toContainEqual(['Warning', 'VaultDrift', 'vault-bootstrap']);
  });

  test('no share or token, nor a 16-character piece of one, in any output, Event or other object', () => {
    expect(c.secretsIssued().length).toBeGreaterThan(10);
    expectNoSecretOutside(c);
  });
});

test.concurrent('over TLS as dist/ sets it (https, the CA VAULT_CACERT names): the first round initializes and configures, the next unseals after a restart', async () => {
  const c = await cluster({}, true);
  expect(c.vault.url).toMatch(/^https:/);
  const first = await c.round();
  expect([first.bootstrap.code, lastLine(first.bootstrap.stdout)]).toEqual([0, expect.stringMatching(/is as dist\/ declares/)]);
  expect(first.recovery.code).toBe(0);
  c.vault.restart();
  const second = await c.round();
  expect([second.unseal.code, second.bootstrap.code, c.vault.rootTokensValid()]).toEqual([0, 0, []]);
  expect(await storeReach(c)).toEqual(expectedReach(c));
});
