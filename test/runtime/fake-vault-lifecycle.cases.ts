import { FakeVaultLifecycle } from '../support/fake-vault-lifecycle';

// The contract of the stand-in Vault that bootstrap runs drive round by round (test/support/fake-vault-lifecycle.ts),
// where it is not obvious: Vault's answers from init to a generated root, checked through its HTTP API as a client
// sees them. The root token from generate-root is decoded here as `vault operator generate-root -decode` does
// (command/operator_generate_root.go, sdk/helper/roottoken/decode.go), independently of the stand-in's encoder.

const vaults: FakeVaultLifecycle[] = [];
afterAll(async () => Promise.all(vaults.map((v) => v.stop())));

async function started(options: ConstructorParameters<typeof FakeVaultLifecycle>[0] = {}): Promise<FakeVaultLifecycle> {
  const vault = await new FakeVaultLifecycle(options).start();
  vaults.push(vault);
  return vault;
}

async function call(vault: FakeVaultLifecycle, method: string, path: string, body?: unknown, token?: string): Promise<[number, any]> {
  const response = await fetch(`${vault.url}/v1/${path}`, {
    method, signal: AbortSignal.timeout(10_000),
    headers: { ...(token && { 'x-vault-token': token }), ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return [response.status, text === '' ? undefined : JSON.parse(text)];
}

/** The CLI's decode: unpadded standard base64, XORed with the OTP (lengths must match). */
function decodeRoot(encoded: string, otp: string): string {
  const bytes = Buffer.from(encoded, 'base64');
  if (bytes.length !== otp.length) throw new Error(`encoded token of ${bytes.length} bytes for an OTP of ${otp.length}`);
  return Buffer.from([...bytes].map((b, i) => b ^ otp.charCodeAt(i))).toString('utf8');
}

async function initialized(vault: FakeVaultLifecycle): Promise<{ keys: string[]; keys_base64: string[]; root_token: string }> {
  const [status, answer] = await call(vault, 'PUT', 'sys/init', { secret_shares: 3, secret_threshold: 2 });
  expect(status).toBe(200);
  return answer;
}

async function unsealed(vault: FakeVaultLifecycle, keys: string[]): Promise<void> {
  for (const key of keys) await call(vault, 'PUT', 'sys/unseal', { key });
  expect(vault.sealed).toBe(false);
}

test.concurrent('uninitialized: health 501, seal-status t/n 0, token calls 503; init validates, answers once, leaves it sealed', async () => {
  const vault = await started();
  expect((await call(vault, 'GET', 'sys/init'))).toEqual([200, { initialized: false }]);
  expect((await call(vault, 'GET', 'sys/health'))[0]).toBe(501);
  expect((await call(vault, 'GET', 'sys/health?uninitcode=200'))[0]).toBe(200);
  expect((await call(vault, 'GET', 'sys/seal-status'))[1]).toMatchObject({ initialized: false, sealed: true, t: 0, n: 0 });
  expect((await call(vault, 'GET', 'auth/token/lookup-self', undefined, 'hvs.anything'))[0]).toBe(503);
  for (const [shares, threshold, error] of [[3, 1, 'greater than one'], [2, 3, 'larger than shares'], [256, 2, 'less than 256'], [0, 0, 'at least one']] as const) {
    const [status, answer] = await call(vault, 'PUT', 'sys/init', { secret_shares: shares, secret_threshold: threshold });
    expect([status, answer.errors[0]]).toEqual([400, expect.stringContaining(`invalid seal configuration: `)]);
    expect(answer.errors[0]).toContain(error);
  }
  const init = await initialized(vault);
  expect(init.keys.map((k) => Buffer.from(k, 'hex').toString('base64'))).toEqual(init.keys_base64);
  expect(init.root_token).toMatch(/^hvs\.[0-9A-Za-z]{24}$/);
  expect(vault.sharesIssued).toEqual(init.keys);
  expect(await call(vault, 'PUT', 'sys/init', { secret_shares: 3, secret_threshold: 2 })).toEqual([400, { errors: ['Vault is already initialized'] }]);
  expect([vault.initialized, vault.sealed, (await call(vault, 'GET', 'sys/health'))[0]]).toEqual([true, true, 503]);
  expect((await call(vault, 'GET', 'auth/token/lookup-self', undefined, init.root_token))[0]).toBe(503);
});

test.concurrent('unseal: hex and base64 shares, a repeated share ignored, a wrong set refused and reset; root passes sudo paths', async () => {
  const vault = await started();
  const init = await initialized(vault);
  expect((await call(vault, 'PUT', 'sys/unseal', { key: init.keys[0] }))[1]).toMatchObject({ sealed: true, progress: 1, t: 2, n: 3 });
  expect((await call(vault, 'PUT', 'sys/unseal', { key: init.keys_base64[0] }))[1]).toMatchObject({ sealed: true, progress: 1 });
  expect((await call(vault, 'PUT', 'sys/unseal', { key: Buffer.alloc(33, 7).toString('hex') }))).toEqual([400, { errors: ['Unseal failed, invalid key'] }]);
  expect((await call(vault, 'GET', 'sys/seal-status'))[1]).toMatchObject({ sealed: true, progress: 0 });
  expect((await call(vault, 'PUT', 'sys/unseal', { key: 'not a share' }))[0]).toBe(400);
  await call(vault, 'PUT', 'sys/unseal', { key: init.keys[2] });
  expect((await call(vault, 'PUT', 'sys/unseal', { key: init.keys_base64[1] }))[1]).toMatchObject({ sealed: false, progress: 0 });
  expect((await call(vault, 'GET', 'sys/health'))[0]).toBe(200);
  const root = init.root_token;
  expect((await call(vault, 'GET', 'auth/token/lookup-self', undefined, root))[1].data).toMatchObject({ policies: ['root'], ttl: 0 });
  expect((await call(vault, 'POST', 'sys/auth/kubernetes', { type: 'kubernetes' }, root))[0]).toBe(204);
  expect((await call(vault, 'PUT', 'sys/audit/stdout', { type: 'file', options: { file_path: 'stdout' } }, root))[0]).toBe(204);
  expect((await call(vault, 'PUT', 'sys/audit/stdout', { type: 'file', options: { file_path: 'stdout' } }, root))).toEqual([400, { errors: ['path already in use'] }]);
  expect((await call(vault, 'GET', 'sys/audit', undefined, root))[1].data).toEqual({ 'stdout/': { type: 'file', description: '', options: { file_path: 'stdout' }, local: false, path: 'stdout/' } });
  vault.restart();
  expect([vault.sealed, vault.rootTokensValid(), Object.keys(vault.auditDevices)]).toEqual([true, [root], ['stdout/']]);
  expect((await call(vault, 'POST', 'auth/token/revoke-self', undefined, root))[0]).toBe(503);
  await unsealed(vault, init.keys.slice(1));
  expect((await call(vault, 'POST', 'auth/token/revoke-self', undefined, root))[0]).toBe(204);
  expect((await call(vault, 'GET', 'auth/token/lookup-self', undefined, root))[0]).toBe(403);
  expect(vault.rootTokensValid()).toEqual([]);
});

test.concurrent('generate-root: an OTP made on an empty PUT, shares until complete, the token decoded as the CLI does is root', async () => {
  const vault = await started({ initialized: { shares: 3, threshold: 2 } });
  const keys = vault.sharesIssued;
  expect((await call(vault, 'GET', 'sys/generate-root/attempt'))[0]).toBe(503);
  await unsealed(vault, keys.slice(0, 2));
  const [, attempt] = await call(vault, 'PUT', 'sys/generate-root/attempt', {});
  expect(attempt).toMatchObject({ started: true, progress: 0, required: 2, complete: false, otp_length: 28 });
  expect(attempt.otp).toMatch(/^[0-9A-Za-z]{28}$/);
  expect((await call(vault, 'GET', 'sys/generate-root/attempt'))[1]).toMatchObject({ started: true, nonce: attempt.nonce, otp: '' });
  expect((await call(vault, 'PUT', 'sys/generate-root/update', { key: keys[2], nonce: 'other' }))[0]).toBe(400);
  expect((await call(vault, 'PUT', 'sys/generate-root/update', { key: keys[2], nonce: attempt.nonce }))[1]).toMatchObject({ progress: 1, complete: false });
  const [status, done] = await call(vault, 'PUT', 'sys/generate-root/update', { key: Buffer.from(keys[0], 'hex').toString('base64'), nonce: attempt.nonce });
  expect([status, done.complete]).toEqual([200, true]);
  const token = decodeRoot(done.encoded_token, attempt.otp);
  expect(token).toMatch(/^hvs\.[0-9A-Za-z]{24}$/);
  expect((await call(vault, 'GET', 'auth/token/lookup-self', undefined, token))[1].data.policies).toEqual(['root']);
  expect((await call(vault, 'PUT', 'sys/audit/file', { type: 'file', options: { file_path: 'stdout' } }, token))[0]).toBe(204);
  expect(vault.rootTokensValid()).toContain(token);
  expect((await call(vault, 'GET', 'sys/generate-root/attempt'))[1]).toMatchObject({ started: false, progress: 0 });
});

test.concurrent('a client token: sudo required on sys/audit and sys/auth/*, exact paths elsewhere; revoke-self ends it; failNext', async () => {
  const vault = await started({ initialized: { shares: 1, threshold: 1 } });
  await unsealed(vault, vault.sharesIssued);
  vault.byHand('POST', 'sys/auth/kubernetes', { type: 'kubernetes' });
  vault.byHand('POST', 'auth/kubernetes/config', { kubernetes_host: 'https://kubernetes.default.svc' });
  const policy = (sudo: boolean) => [
    `path "sys/audit/*" { capabilities = ["create", "update"${sudo ? ', "sudo"' : ''}] }`,
    `path "sys/auth/*" { capabilities = ["create", "update"${sudo ? ', "sudo"' : ''}] }`,
    'path "sys/policies/acl/app" { capabilities = ["create", "update"] }',
  ].join('\n');
  vault.byHand('PUT', 'sys/policies/acl/nosudo', { policy: policy(false) });
  vault.byHand('PUT', 'sys/policies/acl/sudo', { policy: policy(true) });
  for (const name of ['nosudo', 'sudo']) {
    vault.byHand('POST', `auth/kubernetes/role/${name}`, { bound_service_account_names: [name], bound_service_account_namespaces: ['ns'], token_policies: [name] });
  }
  const login = async (name: string) => (await call(vault, 'POST', 'auth/kubernetes/login', { role: name, jwt: vault.serviceAccountToken('ns', name, []) }))[1].auth.client_token;
  const [weak, strong] = [await login('nosudo'), await login('sudo')];
  const audit = { type: 'file', options: { file_path: 'stdout' } };
  expect((await call(vault, 'PUT', 'sys/audit/file', audit, weak))[0]).toBe(403);
  expect((await call(vault, 'POST', 'sys/auth/other', { type: 'kubernetes' }, weak))[0]).toBe(403);
  expect((await call(vault, 'PUT', 'sys/policies/acl/app', { policy: '' }, weak))[0]).toBe(204);
  expect((await call(vault, 'PUT', 'sys/policies/acl/other', { policy: '' }, strong))[0]).toBe(403);
  expect((await call(vault, 'PUT', 'sys/audit/file', audit, strong))[0]).toBe(204);
  expect((await call(vault, 'GET', 'sys/audit', undefined, strong))[0]).toBe(403);
  vault.failNext('put', /^sys\/policies\/acl\//, 500);
  expect((await call(vault, 'PUT', 'sys/policies/acl/app', { policy: '' }, strong))[0]).toBe(500);
  expect((await call(vault, 'PUT', 'sys/policies/acl/app', { policy: '' }, strong))[0]).toBe(204);
  expect((await call(vault, 'POST', 'auth/token/revoke-self', undefined, strong))[0]).toBe(204);
  expect((await call(vault, 'GET', 'auth/token/lookup-self', undefined, strong))[0]).toBe(403);
  expect((await call(vault, 'PUT', 'sys/audit/other', audit, strong))[0]).toBe(403);
});
