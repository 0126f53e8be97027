import { mkdtempSync, readdirSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { main } from '../../runtime/raft-snapshot';
import { closedPort } from '../support/fake-vault';
import { FakeRaftSnapshot } from '../support/fake-raft-snapshot';
import { runInProcess } from '../support/run-in-process';
import { expectRun as expectRunOf, Run } from '../support/run-script';
import { CA_SETTING_FAILURES, inScheme, Listener, PKI, TLS_FAILURES } from '../support/tls-fixtures';

// The snapshot script over https (issue 26): the login's JWT, the Vault token and the snapshot cross only a
// connection verified against the CA VAULT_CACERT names; a certificate problem ends the run with exit 2 and one line
// naming it, before the JWT is sent and with nothing written to the claim.
const JWT = 'eyJhbGciOiJSUzI1NiJ9.service-account-token-tls.signature';
const servers: FakeRaftSnapshot[] = [];
afterAll(() => Promise.all(servers.map((s) => s.stop())));

async function vault(listener: Listener): Promise<FakeRaftSnapshot> {
  const v = new FakeRaftSnapshot({ jwt: JWT });
  servers.push(v);
  return (listener === 'plain' ? v : v.withTls(listener.tls)).start();
}

function snapshot(addr: string, env: Record<string, string> = {}): { dir: string; run: Promise<Run> } {
  const dir = mkdtempSync(join(tmpdir(), 'snapshots-'));
  const tokenFile = join(mkdtempSync(join(tmpdir(), 'sa-')), 'token');
  writeFileSync(tokenFile, JWT);
  const vars = { VAULT_ADDR: addr, SNAPSHOT_DIR: dir, KUBE_TOKEN_FILE: tokenFile, VAULT_TIMEOUT_SECONDS: '5', RETRY_WINDOW_SECONDS: '0', RUN_DEADLINE_SECONDS: '15', ...env };
  return { dir, run: runInProcess(main, vars) };
}

const expectRun = (run: Run, code: number, v: FakeRaftSnapshot) => expectRunOf(run, code, [JWT, v.token]);

test.concurrent('https with the right CA: logs in, streams the snapshot, revokes its token, all over TLS', async () => {
  const v = await vault({ tls: PKI.serving() });
  const { dir, run } = snapshot(v.url, { VAULT_CACERT: PKI.caFile });
  expectRun(await run, 0, v);
  expect(v.url).toMatch(/^https:/);
  expect(v.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
    'POST /v1/auth/kubernetes/login', 'GET /v1/sys/storage/raft/snapshot', 'POST /v1/auth/token/revoke-self',
  ]);
  expect(readdirSync(dir).filter((f) => f.endsWith('.snap'))).toHaveLength(1);
});

describe('a certificate problem: exit 2 with one line naming it, the JWT never sent, nothing written', () => {
  test.concurrent.each(TLS_FAILURES.map((f) => [f.title, f] as const))('%s', async (_title, f) => {
    const v = await vault(f.listener());
    const { dir, run } = snapshot(inScheme(v.url, f.scheme), f.caFile ? { VAULT_CACERT: f.caFile } : {});
    const done = await run;
    expectRun(done, 2, v);
    expect(done.stderr.split('\n')).toHaveLength(2);
    expect(done.stderr).toMatch(new RegExp(`^POST /v1/auth/kubernetes/login: ${f.line.source}.*; nothing written\n$`));
    expect(v.requests).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('a CA setting that cannot work: exit 2 with one line before any call', () => {
  test.concurrent.each(CA_SETTING_FAILURES.map((f) => [f.title, f] as const))('%s', async (_title, f) => {
    const v = await vault({ tls: PKI.serving() });
    const { dir, run } = snapshot(v.url, f.caFile ? { VAULT_CACERT: f.caFile } : {});
    const done = await run;
    expectRun(done, 2, v);
    expect(done.stderr).toMatch(f.line);
    expect(v.requests).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });
});

test.concurrent('https to a closed port: still a retry (exit 1), not a certificate problem', async () => {
  const { run } = snapshot(`https://127.0.0.1:${await closedPort()}`, { VAULT_CACERT: PKI.caFile });
  const done = await run;
  expectRunOf(done, 1, [JWT]);
  expect(done.stderr).toMatch(/^POST \/v1\/auth\/kubernetes\/login failed: ECONNREFUSED; nothing written\n$/);
});
