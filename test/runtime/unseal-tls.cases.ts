import { randomBytes } from 'crypto';
import { closedPort, FakeVault } from '../support/fake-vault';
import { FakePods, podHost, startPods } from '../support/fake-vault-pods';
import { main } from '../../runtime/unseal';
import { runInProcess } from '../support/run-in-process';
import { expectRun as expectRunOf, Run, runNode, scriptFromDist, secretDir } from '../support/run-script';
import { CA_SETTING_FAILURES, inScheme, PKI, TLS_FAILURES } from '../support/tls-fixtures';

// The unseal script speaking https to Vault (issue 26): it trusts the CA VAULT_CACERT names and nothing else, checks
// the name it calls (the Service's, or each pod's DNS name through the headless Service), and says a certificate
// problem as what it is: exit 2, one line, and not one share sent. The stand-ins serve TLS with certificates made in
// the test (tls-fixtures.ts); a plain request to them is answered as Vault's Go listener answers it.
const share = () => randomBytes(33).toString('base64');
const shares = [share(), share(), share()];
const keys = { key1: shares[0], key2: shares[1] };

const servers: Array<FakeVault | FakePods> = [];
afterAll(() => Promise.all(servers.map((s) => s.stop())));

async function vault(listener: { tls: { cert: string; key: string } } | 'plain', threshold = 2): Promise<FakeVault> {
  const v = new FakeVault({ shares, threshold });
  servers.push(v);
  return (listener === 'plain' ? v : v.withTls(listener.tls)).start();
}

function unseal(env: Record<string, string>): Promise<Run> {
  return runInProcess(main, { VAULT_UNSEAL_KEYS_DIR: secretDir(keys), VAULT_TIMEOUT_SECONDS: '5', RETRY_WINDOW_SECONDS: '0', ...env });
}

const expectRun = (run: Run, code: number) => expectRunOf(run, code, shares);
const unsealCalls = (v: FakeVault) => v.received.filter((r) => r.path === '/v1/sys/unseal');

test.concurrent('https with the right CA: unseals, trusting only the CA in VAULT_CACERT', async () => {
  const v = await vault({ tls: PKI.serving() });
  const run = await unseal({ VAULT_ADDR: v.url, VAULT_CACERT: PKI.caFile });
  expectRun(run, 0);
  expect(v.url).toMatch(/^https:/);
  expect(v.sealed).toBe(false);
  expect(unsealCalls(v).map((r) => r.body.key)).toEqual(shares.slice(0, 2));
  expect(run.stdout).toMatch(/unsealed with 2 of 2 shares\n$/);
});

test.concurrent('the bundle as dist/ ships it: https with the right CA unseals', async () => {
  const v = await vault({ tls: PKI.serving() });
  const env = { VAULT_ADDR: v.url, VAULT_CACERT: PKI.caFile, VAULT_UNSEAL_KEYS_DIR: secretDir(keys), VAULT_TIMEOUT_SECONDS: '5', RETRY_WINDOW_SECONDS: '0' };
  const run = await runNode(scriptFromDist('vault-auto-unseal-script'), env);
  expectRun(run, 0);
  expect(v.sealed).toBe(false);
});

describe('a certificate problem: exit 2 with one line naming it, no share sent', () => {
  test.concurrent.each(TLS_FAILURES.map((f) => [f.title, f] as const))('%s', async (_title, f) => {
    const v = await vault(f.listener());
    const run = await unseal({ VAULT_ADDR: inScheme(v.url, f.scheme), ...(f.caFile && { VAULT_CACERT: f.caFile }) });
    expectRun(run, 2);
    expect(run.stderr.split('\n')).toHaveLength(2);
    expect(run.stderr).toMatch(new RegExp(`^GET /v1/sys/seal-status: ${f.line.source}`));
    expect(run.stdout).toBe('');
    expect(v.received).toEqual([]);
    expect(v.sealed).toBe(true);
  });
});

describe('a CA setting that cannot work: exit 2 with one line before any call', () => {
  test.concurrent.each(CA_SETTING_FAILURES.map((f) => [f.title, f] as const))('%s', async (_title, f) => {
    const v = await vault({ tls: PKI.serving() });
    const run = await unseal({ VAULT_ADDR: v.url, ...(f.caFile && { VAULT_CACERT: f.caFile }) });
    expectRun(run, 2);
    expect(run.stderr).toMatch(f.line);
    expect(v.received).toEqual([]);
  });
});

test.concurrent('https to a closed port: still a retry (exit 1), not a certificate problem', async () => {
  const run = await unseal({ VAULT_ADDR: `https://127.0.0.1:${await closedPort()}`, VAULT_CACERT: PKI.caFile });
  expectRun(run, 1);
  expect(run.stderr).toMatch(/^port 127\.0\.0\.1:\d+ is unreachable: ECONNREFUSED\n$/);
});

describe('every pod of a Raft cluster over https, by its DNS name through the headless Service', () => {
  async function pods(certificate: (host: string) => { cert: string; key: string }): Promise<FakePods> {
    const c = await startPods([{ shares, threshold: 2 }, { shares, threshold: 2 }, { shares, threshold: 2 }], certificate);
    servers.push(c);
    return c;
  }
  const unsealPods = (c: FakePods, env: Record<string, string> = {}) => {
    const vars = { ...c.env, VAULT_CACERT: PKI.caFile, VAULT_UNSEAL_KEYS_DIR: secretDir(keys), VAULT_TIMEOUT_SECONDS: '5', RETRY_WINDOW_SECONDS: '0', ...env };
    return runInProcess(main, vars, { io: { lookup: require('../support/fake-dns').fakeLookup(vars) } });
  };

  test.concurrent('each pod\'s certificate names it: every pod unsealed, each checked against its own name', async () => {
    const c = await pods((host) => PKI.serving([host]));
    expect(c.env.VAULT_PODS).toMatch(/^https:\/\/vault-0\.vault-internal\.security\.svc\.cluster\.local:\d+,/);
    const run = await unsealPods(c);
    expectRun(run, 0);
    expect(Object.values(c.vaults).map((v) => v.sealed)).toEqual([false, false, false]);
    expect(run.stdout).toMatch(/every pod that exists is unsealed: vault-0, vault-1, vault-2\n$/);
  });

  test.concurrent('a pod\'s certificate lacking its name: exit 2 naming the pod and the name, no share sent to it', async () => {
    const c = await pods((host) => PKI.serving(host.startsWith('vault-1.') ? [podHost('vault-0')] : [host]));
    const run = await unsealPods(c);
    expectRun(run, 2);
    expect(run.stderr).toMatch(new RegExp(`^a human is needed: vault-1: GET /v1/sys/seal-status: vault's certificate at ${podHost('vault-1').replace(/\./g, '\\.')}:\\d+ `
      + `does not name ${podHost('vault-1').replace(/\./g, '\\.')} \\(ERR_TLS_CERT_ALTNAME_INVALID; it names DNS:${podHost('vault-0').replace(/\./g, '\\.')}\\): `
      + 'VAULT_PODS must use a name the certificate lists; check the dnsNames and ipAddresses of vault\'s Certificate \\(kubectl -n security get certificate\\)\n$'));
    expect(unsealCalls(c.vaults['vault-1'])).toEqual([]);
  });

  test.concurrent.each([
    ['a pod URL in another scheme than VAULT_ADDR', (c: FakePods) => ({ VAULT_PODS: c.env.VAULT_PODS.replace('https://vault-2', 'http://vault-2') }),
      /^invalid VAULT_PODS item 3: got "http:\/\/vault-2\.\S+", expected a URL with VAULT_ADDR's scheme \(https:\/\/\): TLS is on for every pod or for none\n$/],
    ['a pod by its IP', (c: FakePods) => ({ VAULT_PODS: c.env.VAULT_PODS.replace(/vault-0\.[a-z.-]+/, '10.42.0.7') }),
      /^invalid VAULT_PODS item 1: got "https:\/\/10\.42\.0\.7:\d+", expected the pod's DNS name through the headless Service \(the name vault's certificate lists\), not an IP\n$/],
    ['https pods without VAULT_CACERT', () => ({ VAULT_CACERT: '' }),
      /^VAULT_ADDR is https \(https:\/\/vault\.security\.svc\.cluster\.local:8200\) and VAULT_CACERT is not set/],
  ])('%s: exit 2 with one line, nothing sent', async (_title, change, line) => {
    const c = await pods((host) => PKI.serving([host]));
    const run = await unsealPods(c, change(c));
    expectRun(run, 2);
    expect(run.stderr).toMatch(line);
    expect(Object.values(c.vaults).flatMap((v) => v.received)).toEqual([]);
  });
});
