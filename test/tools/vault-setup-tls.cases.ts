import { DEFAULTS } from '../../runtime/common/variables';
import { closedPort } from '../support/fake-vault';
import { CA_SECRET, CA_SETTING_FAILURES, inScheme, PKI, TLS_FAILURES, tlsDist } from '../support/tls-fixtures';
import { configuredByHand, expectRun, lines, REAL_DIST, vaultSetup, vaultsForThisFile } from '../support/vault-setup-harness';

// vault-setup through its port-forward to a Vault whose listener speaks TLS (issue 26): dist/ says so (the readiness
// probe is HTTPS, the store trusts a CA through caProvider), so the port-forward's end is https://127.0.0.1:8200 by
// default, verified against VAULT_CACERT (the vault CLI's variable) and the name 127.0.0.1, which Vault's Certificate
// lists. A certificate problem is one line naming it, exit 1 (vault-setup's error code), and the token never sent.
const start = vaultsForThisFile();
const TLS_DIST = tlsDist(REAL_DIST);
const planTls = (addr: string, env: Record<string, string> = {}) => vaultSetup(addr, ['plan', '--dist', TLS_DIST], env);

test.concurrent('https with the right CA: the same plan as over http, every call verified', async () => {
  const plain = configuredByHand(await start());
  const tls = configuredByHand(await start({}, PKI.serving()));
  const [overHttp, overHttps] = [await planTls(plain.url), await planTls(tls.url, { VAULT_CACERT: PKI.caFile })];
  expectRun(overHttps, 0);
  expect(tls.url).toMatch(/^https:\/\/127\.0\.0\.1:/);
  expect(lines(overHttps)).toEqual(lines(overHttp));
  expect(lines(overHttps).pop()).toMatch(/^plan: 0 to create, 0 to change, \d+ in sync/);
});

test.concurrent('TLS in dist/ and no VAULT_ADDR: the port-forward\'s end over https; without VAULT_CACERT, how to fetch the CA, before the token is read', async () => {
  const run = await vaultSetup('', ['plan', '--dist', TLS_DIST], { VAULT_ADDR: undefined as unknown as string, VAULT_TOKEN: '' });
  expectRun(run, 1);
  const fetch = `kubectl -n ${DEFAULTS.namespace} get secret ${CA_SECRET} -o jsonpath='{.data.ca\\.crt}' | base64 -d > vault-ca.crt`;
  expect(run.stderr).toBe(`VAULT_ADDR https://127.0.0.1:8200 is https through a port-forward and VAULT_CACERT is not set: no public CA vouches for 127.0.0.1; `
    + `fetch the CA vault's certificate chains to with \`${fetch}\`, then export VAULT_CACERT=$PWD/vault-ca.crt\n`);
});

describe('a certificate problem: exit 1 with one line naming it, the token never sent', () => {
  test.concurrent.each(TLS_FAILURES.map((f) => [f.title, f] as const))('%s', async (_title, f) => {
    const listener = f.listener();
    const v = await start({}, listener === 'plain' ? undefined : listener.tls);
    const run = await planTls(inScheme(v.url, f.scheme), f.caFile ? { VAULT_CACERT: f.caFile } : {});
    expectRun(run, 1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(new RegExp(`^GET /v1/sys/seal-status: ${f.line.source}.*\n$`));
    // The namespace of Vault's Certificate comes from dist/, not from the port-forward's address.
    if (run.stderr.includes('get certificate')) expect(run.stderr).toContain(`(kubectl -n ${DEFAULTS.namespace} get certificate)`);
    expect(v.received).toEqual([]);
  });
});

describe('a VAULT_CACERT that cannot work: exit 1 with one line before any call', () => {
  test.concurrent.each(CA_SETTING_FAILURES.filter((f) => f.caFile).map((f) => [f.title, f] as const))('%s', async (_title, f) => {
    const v = await start({}, PKI.serving());
    const run = await planTls(v.url, { VAULT_CACERT: f.caFile! });
    expectRun(run, 1);
    expect(run.stderr).toMatch(f.line);
    expect(v.received).toEqual([]);
  });
});

test.concurrent('https to a closed port: the port-forward to start, not a certificate problem', async () => {
  const run = await planTls(`https://127.0.0.1:${await closedPort()}`, { VAULT_CACERT: PKI.caFile });
  expectRun(run, 1);
  expect(run.stderr).toMatch(/^cannot talk to vault at https:\/\/127\.0\.0\.1:\d+ \(GET \/v1\/sys\/seal-status failed: ECONNREFUSED\): start the port-forward \(`kubectl -n \S+ port-forward svc\/\S+ \d+:8200`\)/);
});
