import { randomBytes } from 'crypto';
import { closedPort, FakeVault, FakeVaultOptions } from '../support/fake-vault';
import { HostileAnswer, HostileServer } from '../support/hostile-server';
import { main } from '../../runtime/unseal';
import { runInProcess } from '../support/run-in-process';
import { expectRun as expectRunOf, ProcessRunOptions, Run, runNode, scriptFromDist, secretDir, until } from '../support/run-script';

// The script against loopback stand-ins for Vault: a faithful one, and hostile ones that end answers early, switch
// protocols, never stop, or are not Vault at all. The scenarios run its main in this process (run-in-process.ts);
// the bundle exactly as dist/ ships it runs as a real process where the process matters (its exit, a signal).
const script = scriptFromDist('vault-auto-unseal-script');
const share = () => randomBytes(33).toString('base64');
const shares = [share(), share(), share(), share(), share()];

// The scenarios run concurrently (most of their time is spent waiting), each against servers of its own.
const servers: Array<FakeVault | HostileServer> = [];
afterAll(() => Promise.all(servers.map((s) => s.stop())));

async function start(options: FakeVaultOptions): Promise<FakeVault> {
  const v = await new FakeVault(options).start();
  servers.push(v);
  return v;
}

async function hostile(answer: HostileAnswer): Promise<HostileServer> {
  const h = await new HostileServer(answer).start();
  servers.push(h);
  return h;
}

function variables(addr: string, keys: Record<string, string>, env: Record<string, string>): Record<string, string> {
  return { VAULT_ADDR: addr, VAULT_UNSEAL_KEYS_DIR: secretDir(keys), VAULT_TIMEOUT_SECONDS: '1', RETRY_WINDOW_SECONDS: '0', ...env };
}

function unseal(addr: string, keys: Record<string, string>, env: Record<string, string> = {}): Promise<Run> {
  return runInProcess(main, variables(addr, keys, env));
}

/** The bundle as dist/ ships it, as the CronJob's container runs it. */
function unsealProcess(addr: string, keys: Record<string, string>, env: Record<string, string> = {}, onSpawn?: ProcessRunOptions['onSpawn']): Promise<Run> {
  return runNode(script, variables(addr, keys, env), { onSpawn });
}

/** What every run must show: its exit code, its outcome as its last line, and no share in its output. */
const expectRun = (run: Run, code: number) => expectRunOf(run, code, shares);

const sent = (v: FakeVault) => v.received.filter((r) => r.path === '/v1/sys/unseal').map((r) => r.body);
const keysSent = (v: FakeVault) => sent(v).map((b) => b.key);

test.concurrent('already unsealed: exits 0 at once without sending a share', async () => {
  const v = await start({ sealed: false, shares: shares.slice(0, 1) });
  const run = await unseal(v.url, { key: shares[0] });
  expectRun(run, 0);
  expect(run.stdout).toMatch(/is unsealed\n$/);
  expect(v.received.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/sys/seal-status']);
});

test.concurrent('sealed with one share: sends it and exits 0 once Vault reports unsealed', async () => {
  const v = await start({ shares: shares.slice(0, 1), threshold: 1 });
  const run = await unseal(v.url, { 'unseal-key': shares[0] });
  expectRun(run, 0);
  expect(keysSent(v)).toEqual([shares[0]]);
  expect(v.sealed).toBe(false);
  expect(run.stdout).toMatch(/unsealed with 1 of 1 shares\n$/);
});

test.concurrent('sealed with three of five shares: sends the three, in key order', async () => {
  const v = await start({ shares, threshold: 3 });
  const run = await unseal(v.url, { key3: shares[2], key1: shares[0], key2: shares[1] });
  expectRun(run, 0);
  expect(keysSent(v)).toEqual(shares.slice(0, 3));
  expect(v.sealed).toBe(false);
});

test.concurrent('a Secret with all five shares: stops sending once the threshold unseals', async () => {
  const v = await start({ shares, threshold: 3 });
  const run = await unseal(v.url, Object.fromEntries(shares.map((s, i) => [`key${i + 1}`, `${s}\n`])));
  expectRun(run, 0);
  expect(keysSent(v)).toEqual(shares.slice(0, 3));
  expect(run.stdout).toMatch(/unsealed with 3 of 5 shares/);
});

test.concurrent('fewer distinct shares than the threshold: exits 2 saying so, and leaves a human\'s progress alone', async () => {
  const v = await start({ shares, threshold: 3, progress: [shares[4]] });
  const run = await unseal(v.url, { key1: shares[0], key2: shares[1], key3: shares[0] });
  expectRun(run, 2);
  expect(sent(v)).toEqual([]);
  expect(run.stderr).toMatch(/holds 2 distinct shares and vault needs 3: nothing sent, nothing reset/);
});

test.concurrent('stale progress from someone else\'s attempt: resets it first, says so, then unseals', async () => {
  const typo = share();
  const v = await start({ shares, threshold: 2, progress: [typo] });
  const run = await unseal(v.url, { key1: shares[0], key2: shares[1] });
  expectRun(run, 0);
  expect(sent(v)).toEqual([{ reset: true }, { key: shares[0] }, { key: shares[1] }]);
  expect(run.stdout).toMatch(/^vault held unseal progress 1 of 2 from an earlier attempt: reset it\n.*unsealed with 2 of 2 shares\n$/);
  expect(run.stdout + run.stderr).not.toContain(typo);
});

test.concurrent('shares of another Vault: exits 2 blaming the set, not one key', async () => {
  const v = await start({ shares: shares.slice(0, 3), threshold: 2 });
  const [other1, other2] = [share(), share()];
  const run = await unseal(v.url, { key1: shares[0], key2: other1, key3: other2 });
  expectRun(run, 2);
  expect(run.stderr).toBe('vault rejected the 2 shares submitted: Unseal failed, invalid key: check that the Secret vault-unseal-key holds this Vault\'s shares\n');
  expect(run.stderr).not.toMatch(/key "key/);
  expect(keysSent(v)).toEqual([shares[0], other1]);
});

test.concurrent('a share Vault can reject alone (not hex or base64): exits 2 naming that key, not the share', async () => {
  const v = await start({ shares, threshold: 3 });
  const run = await unseal(v.url, { key1: shares[0], key2: 'not a share!', key3: shares[1] });
  expectRun(run, 2);
  expect(run.stderr).toMatch(/^vault rejected the share in key "key2": 'key' must be a valid hex or base64 string/);
  expect(run.stderr).not.toContain('not a share!');
});

test.concurrent('port closed: exits 1 at once with the reason', async () => {
  const run = await unseal(`http://127.0.0.1:${await closedPort()}`, { key: shares[0] });
  expectRun(run, 1);
  expect(run.stderr).toMatch(/^port 127\.0\.0\.1:\d+ is unreachable: ECONNREFUSED\n$/);
});

test.concurrent('port open but HTTP hanging: gives up after the timeout and exits 1', async () => {
  const v = await start({ hang: true });
  const run = await unseal(v.url, { key: shares[0] }, { VAULT_TIMEOUT_SECONDS: '0.2' });
  expectRun(run, 1);
  expect(run.stderr).toMatch(/GET \/v1\/sys\/seal-status got no answer within 0\.2 s/);
  expect(run.ms).toBeGreaterThanOrEqual(200);
  expect(sent(v)).toEqual([]);
});

test.concurrent.each([[false], ['http-400' as const]])('not initialized (%s): never sends a share, exits 2 asking for vault operator init', async (initialized) => {
  const v = await start({ initialized, shares });
  const run = await unseal(v.url, { key: shares[0] });
  expectRun(run, 2);
  expect(run.stderr).toMatch(/vault is not initialized: run `vault operator init`/);
  expect(sent(v)).toEqual([]);
});

test.concurrent('HTTP 500: exits 1 with the status', async () => {
  const v = await start({ failWith: 500 });
  const run = await unseal(v.url, { key: shares[0] });
  expectRun(run, 1);
  expect(run.stderr).toMatch(/GET \/v1\/sys\/seal-status answered HTTP 500: internal error/);
  expect(sent(v)).toEqual([]);
});

test.concurrent('no key files: exits 2 without sending anything', async () => {
  const v = await start({ shares });
  const run = await unseal(v.url, {});
  expectRun(run, 2);
  expect(run.stderr).toMatch(/no unseal keys in .*: the Secret vault-unseal-key is missing or empty/);
  expect(sent(v)).toEqual([]);
});

describe('a server that is not a working Vault: exit 1 with one line, never 0, no share sent', () => {
  test.concurrent.each<[string, HostileAnswer, RegExp]>([
    ['headers, then a clean close', 'headers-then-fin', /^GET \/v1\/sys\/seal-status failed: the connection closed before the answer was complete\n$/],
    ['part of the body, then a clean close', 'partial-body-then-fin', /^GET \/v1\/sys\/seal-status failed: the connection closed before the answer was complete\n$/],
    ['101 Switching Protocols', 'switching-protocols', /^GET \/v1\/sys\/seal-status answered HTTP 101 \(switching protocols\)/],
    ['an endless body', 'endless-body', /^GET \/v1\/sys\/seal-status answered with more than 256 KB/],
    ['200 with HTML', { status: 200, body: '<html>login</html>', contentType: 'text/html' }, /answered HTTP 200 with a body that is not JSON, not Vault's seal status: no share sent/],
    ['200 with {}', { status: 200, body: '{}' }, /answered HTTP 200 with JSON of another shape, not Vault's seal status/],
    ['"sealed": "false"', { status: 200, body: '{"initialized":true,"sealed":"false","t":1,"n":1}' }, /not Vault's seal status/],
  ])('%s', async (_case, answer, message) => {
    const h = await hostile(answer);
    const run = await unseal(h.url, { key: shares[0] });
    expectRun(run, 1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
    expect(h.requests).toBe(1);
    // The cap stopped the read: the server could push only the cap and the kernel's buffers before the client left.
    expect(h.bodyBytesSent).toBeLessThan(32 * 1024 * 1024);
  });
});

test.concurrent('a slow Vault: the run stops at its deadline, exit 1, instead of running past the Job\'s', async () => {
  // Six calls of 0.2 s each would take 1.2 s, each within the 5 s timeout; the run's deadline is 0.5 s.
  const v = await start({ shares, threshold: 5, delayMs: 200 });
  const run = await unseal(v.url, Object.fromEntries(shares.map((s, i) => [`key${i + 1}`, s])), {
    VAULT_TIMEOUT_SECONDS: '5', RUN_DEADLINE_SECONDS: '0.5',
  });
  expectRun(run, 1);
  // Where the deadline finds the run: a call under way, between calls, or (on a busy machine) its port check.
  expect(run.stderr).toMatch(/(got no answer within 0\.\d+ s|reached its deadline of 0\.5 s|did not answer within 0\.\d+ s)\n$/);
  expect(run.ms).toBeLessThan(5000);
  expect(keysSent(v).length).toBeLessThan(5);
  expect(v.sealed).toBe(true);
});

test.concurrent('SIGTERM (the Job\'s deadline): exits promptly, non-zero, naming the signal', async () => {
  const v = await start({ hang: true });
  const run = await unsealProcess(v.url, { key: shares[0] }, { VAULT_TIMEOUT_SECONDS: '30', RUN_DEADLINE_SECONDS: '60', RETRY_WINDOW_SECONDS: '30' }, (child) => {
    void until(() => v.received.length > 0).then(() => child.kill('SIGTERM'));
  });
  expectRun(run, 143);
  expect(run.stderr).toMatch(/^stopped by SIGTERM before the run finished/);
  expect(run.ms).toBeLessThan(15000); // far below the 30 s the hanging call would take: the signal ended the run
});

test.concurrent('the port opening in the middle of a run: unseals in that run', async () => {
  const port = await closedPort();
  let v: FakeVault | undefined;
  const run = await runInProcess(main, {
    VAULT_ADDR: `http://127.0.0.1:${port}`, VAULT_UNSEAL_KEYS_DIR: secretDir({ key: shares[0] }),
    VAULT_TIMEOUT_SECONDS: '1', RETRY_WINDOW_SECONDS: '15', RETRY_INTERVAL_SECONDS: '0.2',
  }, { onStart: (running) => {
    // Open the port once the run has logged that it is waiting for it.
    running.stdout.once('data', () => { void start({ shares: shares.slice(0, 1), port }).then((started) => { v = started; }); });
  } });
  expectRun(run, 0);
  expect(run.stdout).toMatch(/^waiting: port 127\.0\.0\.1:\d+ is unreachable: ECONNREFUSED\n.*unsealed with 1 of 1 shares\n$/);
  expect(keysSent(v!)).toEqual([shares[0]]);
});

test.concurrent.each([
  ['VAULT_TIMEOUT_SECONDS', 'abc', /invalid VAULT_TIMEOUT_SECONDS: got "abc", expected a number of seconds/],
  ['RETRY_WINDOW_SECONDS', '-1', /invalid RETRY_WINDOW_SECONDS: got "-1"/],
  ['RETRY_INTERVAL_SECONDS', '', /invalid RETRY_INTERVAL_SECONDS: got ""/],
  ['RUN_DEADLINE_SECONDS', 'soon', /invalid RUN_DEADLINE_SECONDS: got "soon"/],
  ['VAULT_ADDR', 'vault:8200', /invalid VAULT_ADDR: got "vault:8200", expected an http\(s\) URL/],
])('a malformed %s ends the run at once naming it', async (name, value, message) => {
  const run = await unseal('http://127.0.0.1:1', { key: shares[0] }, { [name]: value });
  expectRun(run, 2);
  expect(run.stderr).toMatch(message);
  expect(run.stdout).toBe('');
});

describe('the bundle as dist/ ships it, run by node as the CronJob runs it', () => {
  test.concurrent('sealed with one share: sends it, exits 0 with its outcome on stdout', async () => {
    const v = await start({ shares: shares.slice(0, 1), threshold: 1 });
    const run = await unsealProcess(v.url, { 'unseal-key': shares[0] });
    expectRun(run, 0);
    expect(run.stdout).toMatch(/unsealed with 1 of 1 shares\n$/);
    expect(v.sealed).toBe(false);
  });

  test.concurrent('a human needed: exit 2 with its reason on stderr, nothing sent', async () => {
    const v = await start({ shares: shares.slice(0, 1) });
    const run = await unsealProcess(v.url, {});
    expectRun(run, 2);
    expect(sent(v)).toEqual([]);
  });
});
