import { isLoopbackHost, refuseCleartext } from '../../tools/vault-setup/cleartext';
import { desiredConfig, KUBERNETES_HOST } from '../../runtime/common/vault-config/desired';
import { manifestsFrom, VaultStore } from '../../runtime/common/vault-config/manifests';
import { makePlan } from '../../runtime/common/vault-config/plan';
import { portForwardHint, serviceOf } from '../../tools/vault-setup/port-forward';
import { warningLines } from '../../tools/vault-setup/report';
import { parseArgs, readConnection } from '../../tools/vault-setup/settings';
import { VaultState } from '../../runtime/common/vault-config/state';

// Unit tests of what keeps vault-setup from leaking the admin token or dropping a setting (issue 14): the role's
// audience derived from the store, an http address refused off this machine, replacing writes that carry back what
// they do not manage, and the port-forward hint named from dist/. The CLI runs are in vault-setup.safety.integration.

const store = (name: string, { audiences, role = 'eso-reader', server = 'http://vault.security.svc.cluster.local:8200' }: { audiences?: unknown; role?: string; server?: string } = {}) => ({
  apiVersion: 'external-secrets.io/v1', kind: 'ClusterSecretStore', metadata: { name },
  spec: {
    provider: {
      vault: {
        server, path: 'secret', version: 'v2',
        auth: { kubernetes: { mountPath: 'kubernetes', role, serviceAccountRef: { name: 'eso-vault-auth', namespace: 'security', ...(audiences !== undefined && { audiences }) } } },
      },
    },
  },
});

const roleOf = (...docs: unknown[]) => desiredConfig(manifestsFrom(docs as any[])).roles[0];

/** Vault with everything in sync but the role, which is `role`. */
function stateWith(role: Record<string, unknown>, config: Record<string, unknown> = { kubernetes_host: KUBERNETES_HOST }): VaultState {
  return {
    mounts: { 'secret/': { type: 'kv', options: { version: '2' } } },
    auths: { 'kubernetes/': { type: 'kubernetes' } },
    authConfigs: new Map([['kubernetes', config]]),
    roles: new Map([['kubernetes/eso-reader', {
      bound_service_account_names: ['eso-vault-auth'], bound_service_account_namespaces: ['security'], token_policies: ['eso-reader'], token_ttl: 3600, ...role,
    }]]),
    roleNames: new Map([['kubernetes', ['eso-reader']]]),
    policies: new Map([['eso-reader', '']]),
    policyNames: ['eso-reader'],
    secrets: new Map(),
  };
}

const itemOf = (docs: unknown[], state: VaultState, label: string) => makePlan(desiredConfig(manifestsFrom(docs as any[])), state).items.find((i) => i.label === label)!;

describe("the role's audience comes from the store's serviceAccountRef.audiences", () => {
  test('one audience is the role\'s; none leaves the role without one', () => {
    expect(roleOf(store('k8s-secrets', { audiences: ['vault'] })).audience).toBe('vault');
    expect(roleOf(store('k8s-secrets')).audience).toBeUndefined();
    expect(roleOf(store('k8s-secrets', { audiences: [] })).audience).toBeUndefined();
    // Two stores sharing the role with the same audience are fine.
    expect(roleOf(store('a', { audiences: ['vault'] }), store('b', { audiences: ['vault'] })).audience).toBe('vault');
  });

  test.each([
    ['a store listing two audiences', [store('k8s-secrets', { audiences: ['vault', 'other'] })],
      'clustersecretstore k8s-secrets lists audiences "vault", "other" in auth.kubernetes.serviceAccountRef.audiences: vault\'s role eso-reader checks one audience, keep one'],
    ['stores sharing a role with different audiences', [store('a', { audiences: ['vault'] }), store('b')],
      'clustersecretstores a (audience "vault") and b (no audience) both use role eso-reader: vault\'s role checks one audience, give them the same audience or each its own role'],
    ['audiences that are not a list', [store('k8s-secrets', { audiences: 'vault' })],
      'clustersecretstore k8s-secrets has auth.kubernetes.serviceAccountRef.audiences "vault": expected a list of audiences such as ["vault"]'],
  ])('refused in one line: %s', (_what, docs, message) => {
    expect(() => roleOf(...docs)).toThrow(message);
  });

  test('a role without an audience in vault: a drift, the write sets it, and a warning says to sync the store first and how to check', () => {
    const item = itemOf([store('k8s-secrets', { audiences: ['vault'] })], stateWith({}), 'role kubernetes/eso-reader');
    expect(item.state).toBe('change');
    expect(item.details).toEqual(['~ audience: unset -> "vault"']);
    expect(item.write?.body).toMatchObject({ audience: 'vault' });
    expect(warningLines([item])).toEqual([
      'warning: role kubernetes/eso-reader has no audience in vault and apply sets "vault": from then on vault refuses ESO\'s tokens without it, '
      + 'so sync clustersecretstore k8s-secrets to the cluster before apply; check that '
      + '`kubectl get clustersecretstore k8s-secrets -o jsonpath=\'{.spec.provider.vault.auth.kubernetes.serviceAccountRef.audiences}\'` prints ["vault"]',
    ]);
  });

  test('another audience in vault: a drift without the warning (the role already checks one); the same: in sync', () => {
    const other = itemOf([store('k8s-secrets', { audiences: ['vault'] })], stateWith({ audience: 'https://kubernetes.default.svc' }), 'role kubernetes/eso-reader');
    expect(other.details).toEqual(['~ audience: "https://kubernetes.default.svc" -> "vault"']);
    expect(other.warning).toBeUndefined();
    expect(itemOf([store('k8s-secrets', { audiences: ['vault'] })], stateWith({ audience: 'vault' }), 'role kubernetes/eso-reader').state).toBe('in sync');
  });

  test('a store without audiences: a role without one is in sync, one with an audience is cleared (it would refuse the store\'s tokens)', () => {
    expect(itemOf([store('k8s-secrets')], stateWith({}), 'role kubernetes/eso-reader').state).toBe('in sync');
    const cleared = itemOf([store('k8s-secrets')], stateWith({ audience: 'vault' }), 'role kubernetes/eso-reader');
    expect(cleared.details).toEqual(['~ audience: "vault" -> unset']);
    expect(cleared.write?.body).toMatchObject({ audience: '' });
  });

  test('a new role gets the audience in its create; without one the create sends none', () => {
    const empty = { ...stateWith({}), roles: new Map() };
    const created = itemOf([store('k8s-secrets', { audiences: ['vault'] })], empty, 'role kubernetes/eso-reader');
    expect(created.details).toContain('+ audience = "vault"');
    expect(created.warning).toBeUndefined();
    const plain = itemOf([store('k8s-secrets')], empty, 'role kubernetes/eso-reader');
    expect(plain.details.some((d) => d.includes('audience'))).toBe(false);
    expect(plain.write?.body).not.toHaveProperty('audience');
  });
});

describe('replacing writes carry back what they do not manage', () => {
  test('the auth config: every field read back goes back, known or not, except token_reviewer_jwt_set and nulls', () => {
    const config = {
      kubernetes_host: 'https://10.0.0.1:6443', kubernetes_ca_cert: 'CA', pem_keys: ['KEY'], issuer: 'https://issuer', disable_iss_validation: false,
      disable_local_ca_jwt: true, use_annotations_as_alias_metadata: true, token_reviewer_jwt_set: false, a_newer_setting: 'kept', a_null: null,
    };
    const item = itemOf([store('k8s-secrets')], stateWith({}, config), 'auth kubernetes/ config');
    expect(item.write?.body).toEqual({
      kubernetes_ca_cert: 'CA', pem_keys: ['KEY'], issuer: 'https://issuer', disable_iss_validation: false, use_annotations_as_alias_metadata: true,
      a_newer_setting: 'kept', kubernetes_host: KUBERNETES_HOST, disable_local_ca_jwt: false,
    });
  });

  test("the role: a POST merges, but the namespace selector is taken from each request, so the one vault holds goes back", () => {
    const item = itemOf([store('k8s-secrets')], stateWith({ token_ttl: 60, bound_service_account_namespace_selector: '{"matchLabels":{"team":"a"}}' }), 'role kubernetes/eso-reader');
    expect(item.write?.body).toEqual({
      bound_service_account_names: ['eso-vault-auth'], bound_service_account_namespaces: ['security'], token_policies: ['eso-reader'], token_ttl: 3600,
      bound_service_account_namespace_selector: '{"matchLabels":{"team":"a"}}',
    });
    const none = itemOf([store('k8s-secrets')], stateWith({ token_ttl: 60, bound_service_account_namespace_selector: '' }), 'role kubernetes/eso-reader');
    expect(none.write?.body).not.toHaveProperty('bound_service_account_namespace_selector');
  });
});

describe('plain http only to this machine, unless the operator opts in', () => {
  test.each([
    ['localhost', true], ['127.0.0.1', true], ['127.1.2.3', true], ['[::1]', true], ['[::ffff:7f00:1]', true], ['LOCALHOST', true],
    ['0.0.0.0', false], ['10.0.0.1', false], ['128.0.0.1', false], ['vault.security.svc', false], ['localhost.example.com', false],
    ['[::ffff:a00:1]', false], ['[::2]', false], ['127.0.0.1.nip.io', false],
  ])('%s is loopback: %p', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });

  test.each([
    'http://127.0.0.1:8200', 'http://localhost:8200', 'http://[::1]:8200', 'https://vault.example.com', 'https://10.0.0.1:8200',
  ])('%s is accepted', (addr) => {
    expect(() => refuseCleartext(addr, false)).not.toThrow();
  });

  test('http to another host is refused in one line naming the opt-in, before the token is read; --allow-http accepts it', () => {
    const env = { VAULT_ADDR: 'http://vault.security.svc.cluster.local:8200', HOME: '/nonexistent' };
    expect(() => readConnection(env)).toThrow('VAULT_ADDR http://vault.security.svc.cluster.local:8200 is plain http to vault.security.svc.cluster.local, not this machine: '
      + 'the admin token would cross the network in cleartext; use https (with VAULT_CACERT), or a port-forward and http://127.0.0.1:8200, or pass --allow-http if that network is trusted');
    expect(() => readConnection({ ...env, VAULT_TOKEN: 't' }, true)).not.toThrow();
    expect(parseArgs(['plan', '--allow-http'])).toMatchObject({ command: 'plan', allowHttp: true });
    expect(parseArgs(['plan'])).toMatchObject({ allowHttp: false });
  });
});

describe('the port-forward hint names the Service and namespace of the store\'s server', () => {
  const stores = (...servers: (string | undefined)[]): VaultStore[] => servers.map((server, i) => ({
    name: `s${i}`, mount: 'secret', authMount: 'kubernetes', role: 'r', serviceAccount: 'sa', namespace: 'ns', audiences: [], ...(server !== undefined && { server }),
  }));

  test.each([
    ['http://vault.security.svc.cluster.local:8200', 'kubectl -n security port-forward svc/vault 8200:8200'],
    ['http://openbao.secrets.svc:8300', 'kubectl -n secrets port-forward svc/openbao 8200:8300'],
    ['https://vault.vault.svc.homelab.internal', 'kubectl -n vault port-forward svc/vault 8200:443'],
    ['http://vault.security.svc.cluster.local', 'kubectl -n security port-forward svc/vault 8200:80'],
  ])('%s', (server, hint) => {
    expect(portForwardHint(stores(server))).toBe(hint);
  });

  test('the local port follows VAULT_ADDR; two stores on one Service give one hint', () => {
    expect(portForwardHint(stores('http://vault.db.svc:8200', 'http://vault.db.svc:8200'), '18200')).toBe('kubectl -n db port-forward svc/vault 18200:8200');
  });

  test.each([
    [['https://vault.example.com']], [['http://10.0.0.5:8200']], [[undefined]], [['http://vault.security:8200']],
    [['http://vault.a.svc:8200', 'http://vault.b.svc:8200']],
  ])('not derivable from %p: says where to look', (servers) => {
    expect(serviceOf(servers.length === 1 ? servers[0] : undefined)).toBeUndefined();
    expect(portForwardHint(stores(...servers))).toMatch(/^kubectl port-forward to vault's Service, whose namespace and name are in the stores' spec.provider.vault.server in dist\/ \(clustersecretstore s0 has server /);
  });
});
