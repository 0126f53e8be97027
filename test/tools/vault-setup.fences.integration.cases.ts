import { randomBytes } from 'crypto';
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import * as YAML from 'yaml';
import { root } from '../../build/bundle';
import { Acl } from '../support/fake-vault-acl';
import { FakeVaultWithLogin } from '../support/fake-vault-login';
import { FakeVaultLifecycle } from '../support/fake-vault-lifecycle';
import { writeDist } from '../support/run-cli';
import { expectRun, TOKEN, vaultSetup } from '../support/vault-setup-harness';

// Issue 25, items 1 and 4, on the project's dist/: vault-setup's plan is applied to a stateful stand-in for Vault
// (fake-vault-login.ts: Kubernetes-auth login, client tokens, every request checked against the token's policies by
// Vault's ACL rules), then, for every namespace with ExternalSecrets, every store ESO lets that namespace name is logged
// into as ESO would (a token of the store's ServiceAccountRef, its audiences, at auth/<mountPath>/login with its role)
// and what the token can read is compared with the namespace's own paths. Nothing here names this homelab's values:
// the namespaces, stores and paths are read from dist/ (a fork's dist/ is held to the same). vault-setup's refusals,
// and the move from the shared role with `retire`, follow.

type Doc = Record<string, any>;
const DIST = join(root, 'dist');

function docsIn(dir: string): Doc[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.yaml')).sort()
    .flatMap((f) => YAML.parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS())).filter((d) => d?.kind);
}

const DOCS = docsIn(DIST);
const STORES = DOCS.filter((d) => d.kind === 'ClusterSecretStore' && d.spec?.provider?.vault);
const EXTERNAL_SECRETS = DOCS.filter((d) => d.kind === 'ExternalSecret');
const NAMESPACES = [...new Set(EXTERNAL_SECRETS.map((es) => es.metadata.namespace as string))].sort();

/** ESO's shouldProcessSecret (client_manager.go): no conditions serve every namespace; else a condition must list it. */
function admits(store: Doc, namespace: string): boolean {
  const conditions: Doc[] = store.spec.conditions ?? [];
  if (conditions.some((c) => c.namespaceSelector || c.namespaceRegexes)) throw new Error(`${store.metadata.name}: selectors are not modelled here`);
  return conditions.length === 0 || conditions.some((c) => (c.namespaces ?? []).includes(namespace));
}

/** What ESO reads for the ExternalSecrets of `namespace`, through the stores that admit it: data, or with Fetch metadata. */
function ownPaths(namespace: string): string[] {
  const paths = new Set<string>();
  for (const es of EXTERNAL_SECRETS.filter((e) => e.metadata.namespace === namespace)) {
    const store = STORES.find((s) => s.metadata.name === es.spec.secretStoreRef.name);
    if (!store || !admits(store, namespace)) continue;
    const refs = [...(es.spec.data ?? []).map((d: Doc) => d.remoteRef), ...(es.spec.dataFrom ?? []).map((d: Doc) => d.extract)];
    expect((es.spec.dataFrom ?? []).filter((d: Doc) => d.find)).toEqual([]); // AppSecret writes no find
    for (const ref of refs) paths.add(`${store.spec.provider.vault.path}/${ref.metadataPolicy === 'Fetch' ? 'metadata' : 'data'}/${ref.key}`);
  }
  return [...paths].sort();
}

/** Every path a token might read: each namespace's own, their neighbours (a glob or a prefix rule would reach these), and strangers. */
const PROBES = (() => {
  const own = NAMESPACES.flatMap(ownPaths);
  const mounts = [...new Set(STORES.map((s) => s.spec.provider.vault.path as string))];
  const stranger = `unknown-${randomBytes(4).toString('hex')}`;
  return [...new Set([...own, ...own.flatMap((p) => [`${p}x`, `${p}/child`]), ...mounts.flatMap((m) => [`${m}/data/${stranger}`, `${m}/metadata/${stranger}`])])].sort();
})();

const vaults: FakeVaultWithLogin[] = [];
afterAll(() => Promise.all(vaults.map((v) => v.stop())));
/** A Vault a human initialized and unsealed, TOKEN its admin: with the audit device too, which a bootstrap in dist/ asks for. */
async function start(): Promise<FakeVaultWithLogin> {
  const v = await new FakeVaultLifecycle({ token: TOKEN, initialized: { shares: 1, threshold: 1 } }).start();
  await call(v, 'PUT', 'sys/unseal', undefined, { key: v.sharesIssued[0] });
  // What the tests read is what vault-setup and the stores asked, not the set-up.
  v.received.length = 0;
  vaults.push(v);
  return v;
}

async function call(v: FakeVaultWithLogin, method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${v.url}/v1/${path}`, {
    method, headers: { ...(token && { 'x-vault-token': token }), ...(body !== undefined && { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

/** ESO's login for a store: a token for its serviceAccountRef (ClusterSecretStore: its namespace), then auth/<mount>/login. */
async function loginAs(v: FakeVaultWithLogin, store: Doc, tokenNamespace?: string): Promise<{ status: number; token?: string; errors?: string[] }> {
  const { mountPath, role, serviceAccountRef: sa } = store.spec.provider.vault.auth.kubernetes;
  const jwt = v.serviceAccountToken(tokenNamespace ?? sa.namespace, sa.name, sa.audiences ?? []);
  const answer = await call(v, 'POST', `auth/${mountPath}/login`, undefined, { role, jwt });
  return { status: answer.status, token: answer.json?.auth?.client_token, errors: answer.json?.errors };
}

/** The probes a client token can read: Vault checks the ACL before the path exists (403), so a 404 is reach too. */
async function reach(v: FakeVaultWithLogin, token: string): Promise<string[]> {
  const statuses = await Promise.all(PROBES.map(async (p) => [p, (await call(v, 'GET', p, token)).status] as const));
  expect(statuses.filter(([, s]) => ![200, 403, 404].includes(s))).toEqual([]);
  return statuses.filter(([, s]) => s !== 403).map(([p]) => p);
}

/** For every namespace, every store ESO lets it name: [namespace, store, what its login reaches, the namespace's own]. */
async function fences(v: FakeVaultWithLogin): Promise<Array<[string, string, string[], string[]]>> {
  const found: Array<[string, string, string[], string[]]> = [];
  for (const namespace of NAMESPACES) {
    for (const store of STORES.filter((s) => admits(s, namespace))) {
      const login = await loginAs(v, store);
      expect({ store: store.metadata.name, status: login.status, errors: login.errors }).toEqual({ store: store.metadata.name, status: 200, errors: undefined });
      found.push([namespace, store.metadata.name, await reach(v, login.token!), ownPaths(namespace)]);
    }
  }
  return found;
}

test('dist/ fences something: several app namespaces, each with its own paths, each admitted by a store', () => {
  expect(NAMESPACES.length).toBeGreaterThan(1);
  for (const namespace of NAMESPACES) expect({ namespace, stores: STORES.filter((s) => admits(s, namespace)).length > 0, paths: ownPaths(namespace).length > 0 })
    .toEqual({ namespace, stores: true, paths: true });
});

test.concurrent('after vault-setup apply, every store a namespace may name reaches exactly that namespace\'s own paths', async () => {
  const v = await start();
  expectRun(await vaultSetup(v.url, ['apply', '--dist', DIST]), 0);
  const found = await fences(v);
  expect(found.length).toBeGreaterThanOrEqual(NAMESPACES.length);
  for (const [namespace, store, reached, own] of found) expect({ namespace, store, reached }).toEqual({ namespace, store, reached: own });
  // A namespace with no ExternalSecret may name no store at all.
  expect(STORES.filter((s) => admits(s, `unknown-${randomBytes(3).toString('hex')}`))).toEqual([]);
});

test.concurrent('no other identity gets in: a namespace\'s own ServiceAccount (a SecretStore of its own) or a token without the audience', async () => {
  const v = await start();
  expectRun(await vaultSetup(v.url, ['apply', '--dist', DIST]), 0);
  for (const namespace of NAMESPACES) {
    for (const store of STORES) {
      // A namespaced SecretStore takes its ServiceAccount from its own namespace (ESO's createServiceAccountToken).
      expect(await loginAs(v, store, namespace)).toEqual({ status: 403, token: undefined, errors: ['namespace not authorized'] });
    }
  }
  const [store] = STORES;
  const { mountPath, role, serviceAccountRef: sa } = store.spec.provider.vault.auth.kubernetes;
  const kubernetesAudience = v.serviceAccountToken(sa.namespace, sa.name, ['https://kubernetes.default.svc']);
  expect((await call(v, 'POST', `auth/${mountPath}/login`, undefined, { role, jwt: kubernetesAudience })).status).toBe(403);
  // What the fence does not cover (docs/secrets.md): ESO's own ServiceAccount logs in as every namespace's role.
  for (const other of STORES) expect((await loginAs(v, other)).status).toBe(200);
});

test.concurrent('the check can fail: a policy widened by hand in Vault reaches beyond its namespace until apply puts it back', async () => {
  const v = await start();
  expectRun(await vaultSetup(v.url, ['apply', '--dist', DIST]), 0);
  const [store] = STORES;
  const { role } = store.spec.provider.vault.auth.kubernetes;
  const mount = store.spec.provider.vault.path;
  v.byHand('PUT', `sys/policies/acl/${role}`, { policy: `path "${mount}/data/*" { capabilities = ["read"] }\n` });
  const widened = (await fences(v)).filter(([, name]) => name === store.metadata.name);
  for (const [namespace, , reached, own] of widened) {
    expect(reached).toEqual(expect.arrayContaining(own));
    expect(reached.length).toBeGreaterThan(own.length);
    expect(reached).toEqual(expect.arrayContaining(NAMESPACES.filter((n) => n !== namespace).flatMap(ownPaths).filter((p) => p.startsWith(`${mount}/data/`))));
  }
  const planned = await vaultSetup(v.url, ['plan', '--dist', DIST]);
  expectRun(planned, 2);
  expect(planned.stdout).toContain(`policy ${role}: change\n  - path "${mount}/data/*" { capabilities = ["read"] }\n`);
  expectRun(await vaultSetup(v.url, ['apply', '--dist', DIST]), 0);
  for (const [namespace, name, reached, own] of await fences(v)) expect({ namespace, name, reached }).toEqual({ namespace, name, reached: own });
});

/** dist/ edited by hand, as `edit` changes its documents. */
function handWritten(edit: (docs: Doc[]) => Doc[]): string {
  return writeDist({ 'dist.k8s.yaml': edit(structuredClone(DOCS)) });
}

const [FIRST, SECOND] = NAMESPACES;
const storeOf = (docs: Doc[], namespace: string) => docs.find((d) => d.kind === 'ClusterSecretStore' && admits(d, namespace))!;

test.concurrent.each<[string, (docs: Doc[]) => Doc[], RegExp]>([
  ['one store admitting every namespace, the seed\'s shared role', (docs) => {
    const shared: Doc = { ...storeOf(docs, FIRST), metadata: { name: 'shared' } };
    shared.spec.conditions = [{ namespaces: NAMESPACES }];
    for (const es of docs.filter((d) => d.kind === 'ExternalSecret')) es.spec.secretStoreRef.name = 'shared';
    return [...docs.filter((d) => d.kind !== 'ClusterSecretStore'), shared];
  }, /^refused: namespace \S+ may name clustersecretstore shared, whose role \S+ may read \S+, which no ExternalSecret in \S+ reads \(and \d+ more such grants\);/],
  ['two namespaces\' stores sharing one role', (docs) => {
    const role = storeOf(docs, FIRST).spec.provider.vault.auth.kubernetes.role;
    storeOf(docs, SECOND).spec.provider.vault.auth.kubernetes.role = role;
    return docs;
  }, /^refused: namespace \S+ may name clustersecretstore \S+, whose role \S+ may read \S+, which no ExternalSecret in \S+ reads/],
  ['an ExternalSecret naming another namespace\'s store', (docs) => {
    const es: Doc = structuredClone(docs.find((d) => d.kind === 'ExternalSecret' && d.metadata.namespace === FIRST)!);
    es.metadata.name = 'borrowed';
    es.spec.secretStoreRef.name = storeOf(docs, SECOND).metadata.name;
    return [...docs, es];
  }, new RegExp(`^refused: namespace ${SECOND} may name clustersecretstore \\S+, whose role \\S+ may read \\S+, which no ExternalSecret in ${SECOND} reads`)],
  ['a store without conditions', (docs) => {
    delete storeOf(docs, FIRST).spec.conditions;
    return docs;
  }, /^refused: clustersecretstore \S+ admits every namespace \(no spec.conditions\), so any namespace may read \S+ through its role \S+/],
])('a hand-written dist/ that would widen a role: %s: vault-setup refuses in one line, exit 2, nothing sent to Vault', async (_what, edit, message) => {
  const v = await start();
  const dist = handWritten(edit);
  for (const command of ['plan', 'apply']) {
    const run = await vaultSetup(v.url, [command, '--dist', dist]);
    expectRun(run, 2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toMatch(/: nothing was read from or written to vault\n$/);
    expect(run.stderr.split('\n')).toHaveLength(2);
  }
  expect(v.received).toEqual([]);
});

describe('the stand-in\'s ACL ranks rules as vault/acl.go says (its comment\'s examples)', () => {
  test.each([
    ['foo/a*', 'foo/+', 'foo/ab'], ['foo/bar/+/baz', 'foo/+/bar/baz', 'foo/bar/bar/baz'], ['foo/+/bar', 'foo/+/ba*', 'foo/x/bar'],
    ['foo/+', 'foo/*', 'foo/x'], ['foo/bar/+/baz', 'foo/+/+/baz', 'foo/bar/x/baz'], ['foo/+/bar/ba*', 'foo/+/bar/b*', 'foo/x/bar/baz'],
  ])('%s over %s for %s', (preferred, other, path) => {
    const acl = new Acl([`path "${preferred}" { capabilities = ["read"] }\npath "${other}" { capabilities = ["list"] }`]);
    expect([acl.allows('read', path), acl.allows('list', path)]).toEqual([true, false]);
  });

  test('an exact rule wins; policies merge; deny wins over any grant; a list falls back to the path without its slash', () => {
    const acl = new Acl(['path "secret/data/a" { capabilities = ["read"] }\npath "secret/data/*" { capabilities = ["list"] }', 'path "secret/data/a" { capabilities = ["update"] }']);
    expect(['read', 'update', 'list'].map((op) => acl.allows(op as any, 'secret/data/a'))).toEqual([true, true, false]);
    expect(new Acl(['path "secret/*" { capabilities = ["read"] }', 'path "secret/*" { capabilities = ["deny"] }']).allows('read', 'secret/x')).toBe(false);
    expect(new Acl(['path "secret/metadata/team" { capabilities = ["list"] }']).allows('list', 'secret/metadata/team/')).toBe(true);
    expect(() => new Acl(['path "secret/+*" { capabilities = ["read"] }'])).toThrow("'+*' is forbidden");
  });
});
