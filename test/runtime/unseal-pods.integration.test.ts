import { randomBytes } from 'crypto';
import { FakeVault } from '../support/fake-vault';
import { FakePods, PodSpec, startPods } from '../support/fake-vault-pods';
import { main } from '../../runtime/unseal';
import { runInProcess } from '../support/run-in-process';
import { expectRun as expectRunOf, Run, secretDir } from '../support/run-script';

// The unseal script's main, run in this process (run-in-process.ts), given every pod of a Raft cluster (VAULT_PODS):
// loopback stand-ins for pods that are sealed, unsealed, unreachable, absent (no DNS name), not yet joined, or joining.
// Pod names resolve through fake-dns.js, the run's lookup. The bundle as dist/ ships it runs as a process in
// unseal.integration.cases.ts.
const share = () => randomBytes(33).toString('base64');
const shares = [share(), share(), share(), share(), share()];
const keys = { key1: shares[0], key2: shares[1], key3: shares[2] };
const sealed = { shares, threshold: 3 };

// The scenarios run concurrently (most of their time is spent waiting), each against a cluster of its own.
const clusters: FakePods[] = [];
afterAll(() => Promise.all(clusters.map((c) => c.stop())));

async function pods(...specs: PodSpec[]): Promise<FakePods> {
  const cluster = await startPods(specs);
  clusters.push(cluster);
  return cluster;
}

function unseal(c: FakePods, env: Record<string, string> = {}, secret: Record<string, string> = keys): Promise<Run> {
  const vars = { ...c.env, VAULT_UNSEAL_KEYS_DIR: secretDir(secret), VAULT_TIMEOUT_SECONDS: '1', RETRY_WINDOW_SECONDS: '0', ...env };
  // fake-dns.js stays JavaScript: `npm run bench` preloads it into the bundle run as a process.
  return runInProcess(main, vars, { io: { lookup: require('../support/fake-dns').fakeLookup(vars) } });
}

const expectRun = (run: Run, code: number) => expectRunOf(run, code, shares);

const keysSent = (v: FakeVault) => v.received.filter((r) => r.path === '/v1/sys/unseal').map((r) => r.body.key ?? r.body);

test.concurrent('three sealed pods: each unsealed on its own with the shares, each named in the log; exit 0', async () => {
  const c = await pods(sealed, sealed, sealed);
  const run = await unseal(c);
  expectRun(run, 0);
  for (const name of ['vault-0', 'vault-1', 'vault-2']) {
    expect(c.vaults[name].sealed).toBe(false);
    expect(keysSent(c.vaults[name])).toEqual(shares.slice(0, 3));
    expect(run.stdout).toContain(`${name}: unsealed with 3 of 3 shares\n`);
  }
  expect(run.stdout).toMatch(/\nevery pod that exists is unsealed: vault-0, vault-1, vault-2\n$/);
});

test.concurrent('in parallel: every pod is asked before any answers', async () => {
  const slow = { ...sealed, delayMs: 400 };
  const c = await pods(slow, slow, slow);
  const run = await unseal(c, { VAULT_TIMEOUT_SECONDS: '5' });
  expectRun(run, 0);
  const firstAsked = Object.values(c.vaults).map((v) => v.firstRequestAt);
  const firstAnswered = Object.values(c.vaults).map((v) => v.firstRequestAt + 400);
  expect(Math.max(...firstAsked)).toBeLessThan(Math.min(...firstAnswered));
});

test.concurrent('only the sealed pods get shares: an unsealed one is left alone', async () => {
  const c = await pods({ ...sealed, sealed: false }, sealed, sealed);
  const run = await unseal(c);
  expectRun(run, 0);
  expect(keysSent(c.vaults['vault-0'])).toEqual([]);
  expect(run.stdout).toContain('vault-0: is unsealed\n');
  expect(c.vaults['vault-1'].sealed || c.vaults['vault-2'].sealed).toBe(false);
});

test.concurrent('a pod whose name does not resolve (not scheduled, scaled down) is reported, not a failure', async () => {
  const c = await pods(sealed, sealed, 'absent');
  const run = await unseal(c);
  expectRun(run, 0);
  expect(run.stdout).toContain('vault-2: does not exist (its name does not resolve: ENOTFOUND): not scheduled or scaled down\n');
  expect(run.stdout).toMatch(/every pod that exists is unsealed: vault-0, vault-1 \(vault-2 does not exist\)\n$/);
});

test.concurrent('no pod exists at all: nothing is up yet, exit 1 (retry), never "done"', async () => {
  const c = await pods('absent', 'absent', 'absent');
  const run = await unseal(c);
  expectRun(run, 1);
  expect(run.stderr).toMatch(/no Vault pod exists yet \(no name resolves\): nothing to unseal before one is scheduled: vault-0, vault-1, vault-2/);
});

test.concurrent('a lookup that fails for now (EAI_AGAIN) is a retry, not a pod that does not exist', async () => {
  const c = await pods('dns-again', 'dns-again', 'dns-again');
  const run = await unseal(c);
  expectRun(run, 1);
  expect(run.stdout + run.stderr).not.toMatch(/does not exist|nothing to unseal/);
  expect(run.stdout).toContain('vault-0: the lookup of vault-0.vault-internal.security.svc.cluster.local failed for now (EAI_AGAIN)');
});

test.concurrent('EAI_AGAIN on one pod while the others are unsealed: exit 1, not "every pod that exists is unsealed"', async () => {
  const c = await pods(sealed, sealed, 'dns-again');
  const run = await unseal(c);
  expectRun(run, 1);
  expect(run.stderr).toMatch(/^not every pod is unsealed yet: vault-2: the lookup of \S+ failed for now \(EAI_AGAIN\)/m);
});

test.concurrent('a pod that exists and refuses connections is a failure: the others are unsealed, exit 1 naming it', async () => {
  const c = await pods(sealed, 'unreachable', sealed);
  const run = await unseal(c);
  expectRun(run, 1);
  expect(c.vaults['vault-0'].sealed).toBe(false);
  expect(c.vaults['vault-2'].sealed).toBe(false);
  expect(run.stderr).toMatch(/^not every pod is unsealed yet: vault-1: port vault-1\.vault-internal\.security\.svc\.cluster\.local:\d+ is unreachable: ECONNREFUSED/m);
});

test.concurrent('a pod that hangs is a failure after the timeout; the others are unsealed meanwhile', async () => {
  const c = await pods(sealed, { hang: true }, sealed);
  // The timeout bounds every call, the healthy pods' too: long enough for them on a busy machine.
  const run = await unseal(c, { VAULT_TIMEOUT_SECONDS: '3' });
  expectRun(run, 1);
  expect(c.vaults['vault-0'].sealed).toBe(false);
  expect(c.vaults['vault-2'].sealed).toBe(false);
  expect(run.stderr).toMatch(/vault-1: GET \/v1\/sys\/seal-status got no answer within 3 s/);
});

test.concurrent('a pod not initialized while its peers are: a new node not joined yet, no share sent to it, exit 1 (retry, do not page)', async () => {
  const c = await pods(sealed, sealed, { ...sealed, initialized: false });
  const run = await unseal(c);
  expectRun(run, 1);
  expect(keysSent(c.vaults['vault-2'])).toEqual([]);
  expect(run.stdout).toContain('vault-2: not initialized while its peers are: a new node that has not joined yet, retrying\n');
  expect(c.vaults['vault-0'].sealed).toBe(false);
});

test.concurrent('a joining pod: not initialized until it finds the leader, then initialized and sealed, unsealed with the same shares', async () => {
  const c = await pods(sealed, sealed, { ...sealed, joinAfterRequests: 1 });
  const run = await unseal(c, { RETRY_WINDOW_SECONDS: '10', RETRY_INTERVAL_SECONDS: '0.2' });
  expectRun(run, 0);
  expect(run.stdout).toMatch(/vault-2: not initialized while its peers are[^\n]*\n[\s\S]*vault-2: unsealed with 3 of 3 shares\n/);
  expect(keysSent(c.vaults['vault-2'])).toEqual(shares.slice(0, 3));
});

test.concurrent('a joining pod that unseals in the background: the full set accepted, sealed, progress 0; polled, not blamed on the shares', async () => {
  const c = await pods(sealed, sealed, { ...sealed, joinAfterRequests: 1, backgroundUnsealMs: 700 });
  const run = await unseal(c, { RETRY_WINDOW_SECONDS: '10', RETRY_INTERVAL_SECONDS: '0.2', RUN_DEADLINE_SECONDS: '20' });
  expectRun(run, 0);
  expect(run.stdout).toContain('vault-2: unsealed with 3 shares (it finished unsealing in the background)\n');
  expect(run.stdout + run.stderr).not.toMatch(/fewer distinct shares|a human is needed/);
  expect(keysSent(c.vaults['vault-2'])).toEqual(shares.slice(0, 3));
});

test.concurrent('a background unseal that outlasts the run: exit 1 (not yet), never exit 2', async () => {
  const c = await pods({ ...sealed, backgroundUnsealMs: 60_000 });
  const run = await unseal(c, { RUN_DEADLINE_SECONDS: '3' });
  expectRun(run, 1);
  expect(run.stderr).toMatch(/vault-0: vault at \S+ accepted 3 shares and is still unsealing in the background|vault-0: accepted 3 shares and is still unsealing in the background/);
  expect(keysSent(c.vaults['vault-0'])).toEqual(shares.slice(0, 3));
});

test.concurrent('no pod initialized, every pod exists: the cluster never was; exit 2 asking for vault operator init, no share sent', async () => {
  const uninitialized = { ...sealed, initialized: false };
  const c = await pods(uninitialized, uninitialized, uninitialized);
  const run = await unseal(c);
  expectRun(run, 2);
  expect(run.stderr).toMatch(/^vault is not initialized on any pod: run `vault operator init` on one pod/m);
  for (const v of Object.values(c.vaults)) expect(keysSent(v)).toEqual([]);
});

test.concurrent('the pod with the data has no DNS name yet, the new ones are not initialized: exit 1 naming it, never "init"', async () => {
  // After the migration vault-0 holds the data; until its volume attaches it has no address, while vault-1 and
  // vault-2 start on empty claims. Advising `vault operator init` here would make a second, empty cluster.
  const uninitialized = { ...sealed, initialized: false };
  const c = await pods('absent', uninitialized, uninitialized);
  const run = await unseal(c);
  expectRun(run, 1);
  expect(run.stdout + run.stderr).not.toMatch(/run `vault operator init` on one pod/);
  expect(run.stderr).toMatch(/^no pod that exists is initialized, and vault-0 does not exist yet and may hold the data: wait for it to start; do not run `vault operator init` unless every pod exists/m);
  for (const v of Object.values(c.vaults)) expect(keysSent(v)).toEqual([]);
});

test.concurrent('not initialized here, unreachable there: cannot tell a new cluster from a lost leader, so retry (exit 1)', async () => {
  const c = await pods('unreachable', { ...sealed, initialized: false });
  const run = await unseal(c);
  expectRun(run, 1);
});

test.concurrent('shares one pod rejects: exit 2, a human is needed', async () => {
  const c = await pods(sealed, { shares: [share(), share(), share()], threshold: 3 }, sealed);
  const run = await unseal(c);
  expectRun(run, 2);
  expect(run.stderr).toMatch(/^a human is needed: .*vault-1: vault rejected the 3 shares submitted: Unseal failed, invalid key/m);
});

test.concurrent('fewer shares than the threshold: exit 2, nothing sent to any pod', async () => {
  const c = await pods(sealed, sealed);
  const run = await unseal(c, {}, { key1: shares[0] });
  expectRun(run, 2);
  for (const v of Object.values(c.vaults)) expect(keysSent(v)).toEqual([]);
});

test.concurrent('a malformed VAULT_PODS (two URLs of one pod): exit 2 naming it, before any call', async () => {
  const c = await pods(sealed);
  const url = c.env.VAULT_PODS;
  const run = await unseal(c, { VAULT_PODS: `${url},${url}` });
  expectRun(run, 2);
  expect(run.stderr).toMatch(/^invalid VAULT_PODS: got ".*", expected a comma-separated list of pod URLs with distinct host names/);
  expect(c.vaults['vault-0'].received).toEqual([]);
});
