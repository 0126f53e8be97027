import { randomBytes } from 'crypto';
import { closedPort, FakeVault } from '../support/fake-vault';
import { Run, runNode, scriptFromDist, secretDir } from '../support/run-script';

// The bundled script exactly as dist/ ships it, run as a real process against a loopback stand-in for Vault.
const script = scriptFromDist('vault-auto-unseal-script');
const share = () => randomBytes(33).toString('base64');
const shares = [share(), share(), share(), share(), share()];

let vault: FakeVault | undefined;
afterEach(async () => { await vault?.stop(); vault = undefined; });

async function start(options: ConstructorParameters<typeof FakeVault>[0]): Promise<FakeVault> {
  vault = await new FakeVault(options).start();
  return vault;
}

function unseal(addr: string, keys: Record<string, string>, env: Record<string, string> = {}): Promise<Run> {
  return runNode(script, {
    VAULT_ADDR: addr, VAULT_UNSEAL_KEYS_DIR: secretDir(keys), VAULT_TIMEOUT_SECONDS: '1', RETRY_WINDOW_SECONDS: '0', ...env,
  });
}

/** What every run must show: its exit code, that it ended within `maxMs`, and no share in its output. */
function expectRun(run: Run, code: number, maxMs = 2000): void {
  expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }).toMatchObject({ code });
  expect(run.ms).toBeLessThan(maxMs);
  for (const s of shares) expect(run.stdout + run.stderr).not.toContain(s);
}

const sent = (v: FakeVault) => v.received.filter((r) => r.path === '/v1/sys/unseal').map((r) => r.body.key);

test('already unsealed: exits 0 at once without sending a share', async () => {
  const v = await start({ sealed: false, shares: shares.slice(0, 1) });
  const run = await unseal(v.url, { key: shares[0] });
  expectRun(run, 0);
  expect(run.stdout).toMatch(/is unsealed/);
  expect(v.received.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/sys/seal-status']);
});

test('sealed with one share: sends it and exits 0 once Vault reports unsealed', async () => {
  const v = await start({ shares: shares.slice(0, 1), threshold: 1 });
  const run = await unseal(v.url, { 'unseal-key': shares[0] });
  expectRun(run, 0);
  expect(sent(v)).toEqual([shares[0]]);
  expect(v.sealed).toBe(false);
  expect(run.stdout).toMatch(/unsealed with 1 of 1 shares/);
});

test('sealed with three of five shares: sends the three, in key order', async () => {
  const v = await start({ shares, threshold: 3 });
  const run = await unseal(v.url, { key3: shares[2], key1: shares[0], key2: shares[1] });
  expectRun(run, 0);
  expect(sent(v)).toEqual(shares.slice(0, 3));
  expect(v.sealed).toBe(false);
});

test('a Secret with all five shares: stops sending once the threshold unseals', async () => {
  const v = await start({ shares, threshold: 3 });
  const run = await unseal(v.url, Object.fromEntries(shares.map((s, i) => [`key${i + 1}`, `${s}\n`])));
  expectRun(run, 0);
  expect(sent(v)).toEqual(shares.slice(0, 3));
  expect(run.stdout).toMatch(/unsealed with 3 of 5 shares/);
});

test('fewer shares than the threshold: exits 2 saying so', async () => {
  const v = await start({ shares, threshold: 3 });
  const run = await unseal(v.url, { key1: shares[0], key2: shares[1] });
  expectRun(run, 2);
  expect(sent(v)).toEqual(shares.slice(0, 2));
  expect(run.stderr).toMatch(/still sealed after all 2 shares \(progress 2 of 3\)/);
});

test('port closed: exits 1 at once with the reason', async () => {
  const run = await unseal(`http://127.0.0.1:${await closedPort()}`, { key: shares[0] });
  expectRun(run, 1);
  expect(run.stderr).toMatch(/^port 127\.0\.0\.1:\d+ is unreachable: ECONNREFUSED\n$/);
});

test('port open but HTTP hanging: gives up after the timeout and exits 1', async () => {
  const v = await start({ hang: true });
  const run = await unseal(v.url, { key: shares[0] });
  expectRun(run, 1, 3000);
  expect(run.stderr).toMatch(/GET \/v1\/sys\/seal-status got no answer within 1 s/);
  expect(run.ms).toBeGreaterThanOrEqual(1000);
  expect(sent(v)).toEqual([]);
});

test.each([[false], ['http-400' as const]])('not initialized (%s): never sends a share, exits 2 asking for vault operator init', async (initialized) => {
  const v = await start({ initialized, shares });
  const run = await unseal(v.url, { key: shares[0] });
  expectRun(run, 2);
  expect(run.stderr).toMatch(/vault is not initialized: run `vault operator init`/);
  expect(sent(v)).toEqual([]);
});

test('a wrong share: exits 2 naming the key, not the share', async () => {
  const v = await start({ shares: shares.slice(0, 1) });
  const wrong = share();
  const run = await unseal(v.url, { 'unseal-key': wrong });
  expectRun(run, 2);
  expect(run.stderr).toMatch(/vault rejected the share in key "unseal-key": Unseal failed, invalid key/);
  expect(sent(v)).toEqual([wrong]);
  expect(run.stderr + run.stdout).not.toContain(wrong);
});

test('HTTP 500: exits 1 with the status', async () => {
  const v = await start({ failWith: 500 });
  const run = await unseal(v.url, { key: shares[0] });
  expectRun(run, 1);
  expect(run.stderr).toMatch(/GET \/v1\/sys\/seal-status answered HTTP 500: internal error/);
  expect(sent(v)).toEqual([]);
});

test('no key files: exits 2 without sending anything', async () => {
  const v = await start({ shares });
  const run = await unseal(v.url, {});
  expectRun(run, 2);
  expect(run.stderr).toMatch(/no unseal keys in .*: the Secret vault-unseal-key is missing or empty/);
  expect(sent(v)).toEqual([]);
});

test('the port opening in the middle of a run: unseals within the retry interval plus one second', async () => {
  const port = await closedPort();
  const running = runNode(script, {
    VAULT_ADDR: `http://127.0.0.1:${port}`, VAULT_UNSEAL_KEYS_DIR: secretDir({ key: shares[0] }),
    VAULT_TIMEOUT_SECONDS: '1', RETRY_WINDOW_SECONDS: '15', RETRY_INTERVAL_SECONDS: '1',
  });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const v = await start({ shares: shares.slice(0, 1), port });
  const run = await running;
  expectRun(run, 0, 6000);
  expect(run.stdout).toMatch(/^waiting: port 127\.0\.0\.1:\d+ is unreachable: ECONNREFUSED\n.*unsealed with 1 of 1 shares\n$/);
  expect(run.exitedAt - v.listeningAt).toBeLessThan(1000 + 1000);
  expect(sent(v)).toEqual([shares[0]]);
});

test.each([
  ['VAULT_TIMEOUT_SECONDS', 'abc', /invalid VAULT_TIMEOUT_SECONDS: got "abc", expected a number of seconds/],
  ['RETRY_WINDOW_SECONDS', '-1', /invalid RETRY_WINDOW_SECONDS: got "-1"/],
  ['RETRY_INTERVAL_SECONDS', '', /invalid RETRY_INTERVAL_SECONDS: got ""/],
  ['VAULT_ADDR', 'vault:8200', /invalid VAULT_ADDR: got "vault:8200", expected an http\(s\) URL/],
])('a malformed %s ends the run at once naming it', async (name, value, message) => {
  const run = await unseal('http://127.0.0.1:1', { key: shares[0] }, { [name]: value });
  expectRun(run, 2);
  expect(run.stderr).toMatch(message);
  expect(run.stdout).toBe('');
});
