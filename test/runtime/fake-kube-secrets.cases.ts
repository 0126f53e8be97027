import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { FakeKubeSecrets } from '../support/fake-kube-secrets';
import { HANG_LIMIT_MS } from '../support/run-script';

// The contract of the stand-in Kubernetes API that bootstrap's acceptance drives (fake-kube-secrets.ts): RBAC as the
// authorizer decides it (a rule naming objects never allows create), dry runs store nothing, resourceVersion guards
// updates, errors are the real server's Status objects, and the Secret lands in a pod's volume as the kubelet lays it.
const NS = 'vault-ns';
const SA = { namespace: NS, name: 'bootstrap' };
const USER = `system:serviceaccount:${NS}:${SA.name}`;
const SECRET = 'unseal-keys';
const b64 = (s: string) => Buffer.from(s).toString('base64');

let api: FakeKubeSecrets;
let token: string;
const dirs: string[] = [];
beforeAll(async () => {
  api = await new FakeKubeSecrets({ secrets: { [`${NS}/app-db`]: { password: 'p' } } }).start();
  token = api.token(NS, SA.name);
  // The bootstrap job's Role: create on secrets (no name can limit it), the rest on its two Secrets by name.
  api.allow(SA,
    { namespace: NS, verbs: ['create'], resources: ['secrets'] },
    { namespace: NS, verbs: ['get', 'update', 'patch'], resources: ['secrets'], resourceNames: [SECRET, 'escrow'] },
    { namespace: NS, verbs: ['create'], resources: ['events'] });
});
afterAll(async () => {
  await api.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function call(method: string, path: string, body?: unknown, contentType = 'application/json', bearer = token) {
  const res = await fetch(`${api.url}${path}`, {
    method, headers: { authorization: `Bearer ${bearer}`, 'content-type': contentType },
    body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(HANG_LIMIT_MS),
  });
  return { code: res.status, json: await res.json() as any };
}
const secrets = `/api/v1/namespaces/${NS}/secrets`;
const secret = (name: string, data: Record<string, string>, extra: object = {}) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, ...extra }, data });

test('a dry-run create is authorized and answered as if stored, and stores nothing', async () => {
  const before = api.resourceVersion;
  const { code, json } = await call('POST', `${secrets}?dryRun=All`, secret('dry', { k: b64('v') }));
  expect(code).toBe(201);
  expect(json).toMatchObject({ kind: 'Secret', metadata: { name: 'dry', namespace: NS }, data: { k: b64('v') }, type: 'Opaque' });
  expect(json.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
  expect(json.metadata.resourceVersion).toBeUndefined();
  expect(api.secret(NS, 'dry')).toBeUndefined();
  expect(api.resourceVersion).toBe(before);
  expect(api.received.at(-1)).toMatchObject({ method: 'POST', path: secrets, query: { dryRun: 'All' }, identity: USER, dryRun: true, status: 201 });
  expect((await call('POST', `${secrets}?dryRun=Some`, secret('dry', {}))).code).toBe(422);
});

test('create is namespace-wide (any name), the other verbs only on the named Secrets', async () => {
  const created = await call('POST', secrets, { metadata: { name: 'any-name' }, stringData: { a: 'x' }, data: { a: b64('overwritten'), b: b64('y') } });
  expect(created.code).toBe(201);
  expect(api.secrets[`${NS}/any-name`]).toEqual({ a: 'x', b: 'y' });
  expect(created.json.stringData).toBeUndefined();
  const other = await call('PUT', `${secrets}/app-db`, secret('app-db', { password: b64('stolen') }));
  expect(other).toEqual({ code: 403, json: expect.objectContaining({
    kind: 'Status', reason: 'Forbidden', code: 403,
    message: `secrets "app-db" is forbidden: User "${USER}" cannot update resource "secrets" in API group "" in the namespace "${NS}"`,
  }) });
  expect(api.secrets[`${NS}/app-db`]).toEqual({ password: 'p' });
  expect((await call('GET', secrets)).json.message).toBe(`secrets is forbidden: User "${USER}" cannot list resource "secrets" in API group "" in the namespace "${NS}"`);
  expect((await call('POST', '/api/v1/namespaces/elsewhere/secrets', secret('x', {}))).json.message)
    .toBe(`secrets is forbidden: User "${USER}" cannot create resource "secrets" in API group "" in the namespace "elsewhere"`);
  expect((await call('GET', `${secrets}/${SECRET}`, undefined, undefined, 'not-a-token')).code).toBe(401);
});

test('a rule naming the Secret never allows its create', async () => {
  const narrow = { namespace: NS, name: 'narrow' };
  api.allow(narrow, { namespace: NS, verbs: ['create', 'get'], resources: ['secrets'], resourceNames: ['only-this'] });
  const res = await call('POST', secrets, secret('only-this', {}), undefined, api.token(NS, 'narrow'));
  expect(res.code).toBe(403);
  expect(res.json.message).toBe(`secrets is forbidden: User "system:serviceaccount:${NS}:narrow" cannot create resource "secrets" in API group "" in the namespace "${NS}"`);
});

test('writes: already exists, not found, a stale resourceVersion is a 409 conflict', async () => {
  const first = await call('POST', secrets, secret(SECRET, { 'key-1': b64('one') }));
  expect(first.code).toBe(201);
  expect((await call('POST', secrets, secret(SECRET, {}))).json).toMatchObject({ code: 409, reason: 'AlreadyExists', message: `secrets "${SECRET}" already exists` });
  expect((await call('GET', `${secrets}/escrow`)).json).toMatchObject({ code: 404, reason: 'NotFound', message: 'secrets "escrow" not found' });
  expect((await call('PUT', `${secrets}/escrow`, secret('escrow', {}))).code).toBe(404);
  const rv = first.json.metadata.resourceVersion;
  const updated = await call('PUT', `${secrets}/${SECRET}`, secret(SECRET, { 'key-1': b64('two') }, { resourceVersion: rv }));
  expect(updated.code).toBe(200);
  expect(Number(updated.json.metadata.resourceVersion)).toBeGreaterThan(Number(rv));
  const stale = await call('PUT', `${secrets}/${SECRET}`, secret(SECRET, { 'key-1': b64('three') }, { resourceVersion: rv }));
  expect(stale).toEqual({ code: 409, json: expect.objectContaining({ reason: 'Conflict', message: `Operation cannot be fulfilled on secrets "${SECRET}": the object has been modified; please apply your changes to the latest version and try again` }) });
  const stalePatch = await call('PATCH', `${secrets}/${SECRET}`, { metadata: { resourceVersion: rv }, data: { x: b64('x') } }, 'application/merge-patch+json');
  expect(stalePatch.json.reason).toBe('Conflict');
  expect(api.secrets[`${NS}/${SECRET}`]).toEqual({ 'key-1': 'two' });
  // A patch merges (null removes a key); a dry-run patch answers the result and keeps the stored one.
  const dry = await call('PATCH', `${secrets}/${SECRET}?dryRun=All`, { data: { 'key-1': null, 'key-2': b64('b') } }, 'application/strategic-merge-patch+json');
  expect(dry.json.data).toEqual({ 'key-2': b64('b') });
  expect(api.secrets[`${NS}/${SECRET}`]).toEqual({ 'key-1': 'two' });
  expect((await call('PATCH', `${secrets}/${SECRET}`, { data: { 'key-2': b64('b') } }, 'application/merge-patch+json')).code).toBe(200);
  expect(api.secrets[`${NS}/${SECRET}`]).toEqual({ 'key-1': 'two', 'key-2': 'b' });
  const bad = await call('PATCH', `${secrets}/${SECRET}`, { data: { '..bad': b64('b') } }, 'application/merge-patch+json');
  expect(bad.json).toMatchObject({ code: 422, reason: 'Invalid', message: `Secret "${SECRET}" is invalid: data[..bad]: Invalid value: "..bad": must not start with '..'` });
  expect((await call('PATCH', `${secrets}/${SECRET}`, {}, 'application/yaml')).code).toBe(415);
});

test('a forbid override refuses the real write and lets its dry run through', async () => {
  const lift = api.forbid({ verbs: ['create', 'update', 'patch'], resources: ['secrets'], dryRun: false });
  expect((await call('POST', `${secrets}?dryRun=All`, secret('escrow', {}))).code).toBe(201);
  const refused = await call('POST', secrets, secret('escrow', {}));
  expect(refused.json.message).toBe(`secrets is forbidden: User "${USER}" cannot create resource "secrets" in API group "" in the namespace "${NS}"`);
  expect(api.secret(NS, 'escrow')).toBeUndefined();
  lift();
  expect((await call('POST', secrets, secret('escrow', {}))).code).toBe(201);
});

test('Events: created through core v1, listed by both APIs', async () => {
  const event = { metadata: { name: 'bootstrap.1' }, involvedObject: { kind: 'CronJob', name: 'vault-bootstrap', namespace: NS }, reason: 'Drift', message: 'differs', type: 'Warning' };
  expect((await call('POST', `/api/v1/namespaces/${NS}/events`, event)).code).toBe(201);
  expect(api.events).toEqual([expect.objectContaining({ apiVersion: 'v1', message: 'differs', metadata: expect.objectContaining({ namespace: NS }) })]);
  expect((await call('POST', `/api/v1/namespaces/${NS}/events`, event)).json.reason).toBe('AlreadyExists');
  api.allow(SA, { namespace: NS, verbs: ['list'], resources: ['events'], apiGroups: ['events.k8s.io'] });
  const listed = await call('GET', `/apis/events.k8s.io/v1/namespaces/${NS}/events`);
  expect(listed.json.items).toEqual([expect.objectContaining({ apiVersion: 'events.k8s.io/v1', note: 'differs', regarding: event.involvedObject })]);
});

describe('projection into a pod\'s volume', () => {
  const volume = () => {
    const dir = mkdtempSync(join(tmpdir(), 'volume-'));
    dirs.push(dir);
    return dir;
  };
  const visible = (dir: string) => readdirSync(dir).filter((n) => !n.startsWith('..')).sort();

  test('..data links to a timestamped folder, each key links through it, mode 0440; a change swaps ..data', () => {
    api.put(NS, 'projected', { a: 'one', b: 'two' });
    const mount = api.project(NS, 'projected', volume());
    expect(mount.sync()).toBe(true);
    const first = readlinkSync(join(mount.dir, '..data'));
    expect(first).toMatch(/^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\./);
    expect(visible(mount.dir)).toEqual(['a', 'b']);
    expect(readlinkSync(join(mount.dir, 'a'))).toBe(join('..data', 'a'));
    expect(lstatSync(join(mount.dir, first, 'a')).mode & 0o777).toBe(0o440);
    expect(readFileSync(join(mount.dir, 'b'), 'utf8')).toBe('two');
    expect(mount.sync()).toBe(false);
    expect(readlinkSync(join(mount.dir, '..data'))).toBe(first);

    api.put(NS, 'projected', { a: 'uno', c: 'tres' });
    expect(mount.sync()).toBe(true);
    const second = readlinkSync(join(mount.dir, '..data'));
    expect(second).not.toBe(first);
    expect(readdirSync(mount.dir).sort()).toEqual(['..data', second, 'a', 'c'].sort());
    expect(readFileSync(join(mount.dir, 'a'), 'utf8')).toBe('uno');
  });

  test('an absent Secret: an empty volume when optional, else the mount fails', () => {
    const optional = api.project(NS, 'absent', volume(), { optional: true, mode: 0o400 });
    expect(optional.sync()).toBe(true);
    expect(visible(optional.dir)).toEqual([]);
    expect(readdirSync(optional.dir)).toContain('..data');
    expect(() => api.project(NS, 'absent', volume(), { volume: 'unseal-keys' }).sync()).toThrow('MountVolume.SetUp failed for volume "unseal-keys" : secret "absent" not found');
    api.put(NS, 'absent', { share: 's' });
    expect(optional.sync()).toBe(true);
    expect(visible(optional.dir)).toEqual(['share']);
    api.remove(NS, 'absent');
    optional.sync();
    expect(visible(optional.dir)).toEqual([]);
  });
});
