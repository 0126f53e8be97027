import { createHash } from 'crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { bundleRuntime } from '../../lib/runtime-bundle';
import { main } from '../../runtime/raft-snapshot';
import { closedPort } from '../support/fake-vault';
import { FakeRaftSnapshot, FakeRaftSnapshotOptions } from '../support/fake-raft-snapshot';
import { fakeStatfs } from '../support/fake-statfs';
import { runInProcess } from '../support/run-in-process';
import { expectRun as expectRunOf, Run, runNode, until } from '../support/run-script';

// The snapshot script against a loopback stand-in of Vault's login and snapshot endpoints, writing into a temporary
// folder as onto its claim. The scenarios run its main in this process (run-in-process.ts; a claim's free space
// through fake-statfs.ts, the run's statfs); the bundle exactly as the CronJob ships it (the bundle synthesis embeds)
// runs as a real process once. Its peak memory on a 1 GiB snapshot is measured by `npm run bench -- snapshot`.
const script = join(mkdtempSync(join(tmpdir(), 'script-')), 'vault-raft-snapshot.js');
writeFileSync(script, bundleRuntime('raft-snapshot'));

const JWT = 'eyJhbGciOiJSUzI1NiJ9.service-account-token.signature';
// The scenarios run concurrently (most of their time is spent waiting), each against a server and a folder of its own.
const servers: FakeRaftSnapshot[] = [];
afterAll(() => Promise.all(servers.map((s) => s.stop())));

async function vault(options: Partial<FakeRaftSnapshotOptions> = {}): Promise<FakeRaftSnapshot> {
  const v = await new FakeRaftSnapshot({ jwt: JWT, ...options }).start();
  servers.push(v);
  return v;
}

function tokenFile(jwt = JWT): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sa-')), 'token');
  writeFileSync(file, jwt);
  return file;
}

const newDir = () => mkdtempSync(join(tmpdir(), 'snapshots-'));

function variables(addr: string, dir: string, env: Record<string, string>): Record<string, string> {
  return {
    VAULT_ADDR: addr, SNAPSHOT_DIR: dir, KUBE_TOKEN_FILE: tokenFile(), VAULT_TIMEOUT_SECONDS: '2', RETRY_WINDOW_SECONDS: '0',
    RUN_DEADLINE_SECONDS: '15', STALL_SECONDS: '2', ...env,
  };
}

function snapshot(addr: string, dir: string, env: Record<string, string> = {}): Promise<Run> {
  const vars = variables(addr, dir, env);
  const fakeClaim = 'FAKE_FREE_BYTES' in vars || 'FAKE_CLAIM_BYTES' in vars;
  return runInProcess(main, vars, fakeClaim ? { io: { statfs: fakeStatfs(vars) } } : {});
}

/** Every run: its exit code, its outcome as its last line, and neither the JWT nor the Vault token in its output. */
function expectRun(run: Run, code: number, v?: FakeRaftSnapshot): void {
  expectRunOf(run, code, v ? [JWT, v.token] : [JWT]);
}

const files = (dir: string) => readdirSync(dir).sort();
const snapshots = (dir: string) => files(dir).filter((f) => f.endsWith('.snap'));

test.concurrent('a snapshot: logs in as its role, streams it to a file named by the time, writes its sum, logs size and SHA-256', async () => {
  const v = await vault({ shape: { dataBytes: 300 * 1024 } });
  const dir = newDir();
  const run = await snapshot(v.url, dir);
  expectRun(run, 0, v);
  const [name] = snapshots(dir);
  expect(name).toMatch(/^vault-raft-\d{8}T\d{6}Z\.snap$/);
  expect(files(dir)).toEqual([name, `${name}.sha256`]);
  const bytes = readFileSync(join(dir, name));
  const sha = createHash('sha256').update(bytes).digest('hex');
  expect(bytes.length).toBe(v.sentBytes);
  expect(readFileSync(join(dir, `${name}.sha256`), 'utf8')).toBe(`${sha}  ${name}\n`);
  expect(run.stdout).toContain(`snapshot ${name}: ${bytes.length} bytes, sha256 ${sha}, raft index 120 term 3; 1 kept (keep 24)`);
  expect(v.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
    'POST /v1/auth/kubernetes/login', 'GET /v1/sys/storage/raft/snapshot', 'POST /v1/auth/token/revoke-self',
  ]);
  expect(v.requests[0].body).toEqual({ role: 'vault-raft-snapshot', jwt: JWT });
  expect(v.requests[1].token).toBe(v.token);
});

test.concurrent('keeps the newest SNAPSHOT_KEEP and deletes the older ones with their sums; removes a killed run\'s leftovers', async () => {
  const v = await vault();
  const dir = newDir();
  const old = ['vault-raft-20261101T000000Z.snap', 'vault-raft-20261102T000000Z.snap', 'vault-raft-20261103T000000Z.snap'];
  for (const name of old) {
    writeFileSync(join(dir, name), 'old');
    writeFileSync(join(dir, `${name}.sha256`), 'old');
  }
  writeFileSync(join(dir, '.vault-raft-20261104T000000Z.snap.77.partial'), 'half');
  writeFileSync(join(dir, 'notes.txt'), 'not ours');
  const run = await snapshot(v.url, dir, { SNAPSHOT_KEEP: '2' });
  expectRun(run, 0, v);
  const [, newest] = snapshots(dir);
  expect(files(dir)).toEqual(['notes.txt', old[2], `${old[2]}.sha256`, newest, `${newest}.sha256`].sort());
  expect(run.stdout).toContain('removed .vault-raft-20261104T000000Z.snap.77.partial, left by a run that did not finish');
  expect(run.stdout).toMatch(/2 kept \(keep 2\), deleted vault-raft-20261101T000000Z\.snap, vault-raft-20261102T000000Z\.snap\n$/);
});

test.concurrent('a slow but steady transfer completes: the stall bound is between bytes, not on the whole', async () => {
  // Some twenty pauses of 100 ms: 2 s in all, more than the 1.2 s stall bound, which no single pause reaches even on a
  // machine busy several times over (a bound of four pauses did not hold there).
  const v = await vault({ shape: { dataBytes: 3 * 1024, level: 0 }, chunkDelayMs: 100, chunkBytes: 256 });
  const dir = newDir();
  const run = await snapshot(v.url, dir, { STALL_SECONDS: '1.2' });
  expectRun(run, 0, v);
  expect(snapshots(dir)).toHaveLength(1);
  expect(run.ms).toBeGreaterThan(1200);
});

test.concurrent('a Vault that prepares a large snapshot before its first byte is waited for: the stall bound starts with the answer', async () => {
  // Three times the stall bound before the answer; the bound itself generous for the body's bytes on a busy machine.
  const v = await vault({ firstByteDelayMs: 3000 });
  const dir = newDir();
  const run = await snapshot(v.url, dir, { STALL_SECONDS: '1' });
  expectRun(run, 0, v);
  expect(snapshots(dir)).toHaveLength(1);
});

describe('a transfer that fails is never a file', () => {
  test.concurrent.each([
    ['cut mid-stream', { body: 'cut', cutAfterBytes: 50_000 }, /GET \/v1\/sys\/storage\/raft\/snapshot failed: the connection closed after \d+ bytes, before the body was complete; nothing written\n$/],
    ['ended cleanly but early', { body: 'clean-end-early', cutAfterBytes: 50_000 }, /not a Vault Raft snapshot: not a complete gzip stream \(unexpected end of file\); nothing written\n$/],
    ['a Content-Length longer than the body', { body: 'long-content-length' }, /failed: the connection closed after \d+ bytes, before the body was complete; nothing written\n$/],
    ['an HTML page with HTTP 200', { body: 'html' }, /not a Vault Raft snapshot: the body does not start as gzip does \(1f 8b\); nothing written\n$/],
    ['a sum that does not match', { shape: { dataBytes: 70_000, badSum: true } }, /the SHA-256 of state\.bin differs from SHA256SUMS \(corrupted\); nothing written\n$/],
    ['no SHA256SUMS', { shape: { dataBytes: 1000, noSums: true } }, /no SHA256SUMS in the archive; nothing written\n$/],
    // Vault always writes it and its own client refuses an archive without it: such a file would fail the restore.
    ['no SHA256SUMS.sealed', { shape: { dataBytes: 1000, noSealedSums: true } }, /no SHA256SUMS\.sealed in the archive; nothing written\n$/],
    ['a file a snapshot never holds', { shape: { dataBytes: 1000, extraFile: 'payload.sh' } }, /an unexpected file "payload\.sh" in the archive/],
  ] as const)('%s: exits 1, no snapshot, no temporary file', async (_name, options, message) => {
    const v = await vault({ shape: { dataBytes: 200_000 }, ...options } as Partial<FakeRaftSnapshotOptions>);
    const dir = newDir();
    const run = await snapshot(v.url, dir);
    expectRun(run, 1, v);
    expect(run.stderr).toMatch(message);
    expect(files(dir)).toEqual([]);
  });

  test.concurrent('a server that stalls mid-transfer: gives up after STALL_SECONDS, exits 1', async () => {
    const v = await vault({ shape: { dataBytes: 200_000 }, body: 'stall', cutAfterBytes: 30_000 });
    const dir = newDir();
    const run = await snapshot(v.url, dir, { STALL_SECONDS: '0.3' });
    expectRun(run, 1, v);
    expect(run.stderr).toMatch(/GET \/v1\/sys\/storage\/raft\/snapshot stalled: no data for 0\.3 s; nothing written\n$/);
    expect(files(dir)).toEqual([]);
  });

  test.concurrent('a transfer that outlasts the run\'s deadline: stopped at the deadline, exits 1', async () => {
    const v = await vault({ shape: { dataBytes: 400_000, level: 0 }, chunkDelayMs: 50, chunkBytes: 1000 });
    const dir = newDir();
    const run = await snapshot(v.url, dir, { RUN_DEADLINE_SECONDS: '1' });
    expectRun(run, 1, v);
    expect(run.stderr).toMatch(/GET \/v1\/sys\/storage\/raft\/snapshot did not finish within \d+(\.\d+)? s; nothing written\n$/);
    expect(files(dir)).toEqual([]);
  });
});

describe('what a human must fix: exit 2, nothing written', () => {
  test.concurrent.each([
    ['a role that does not exist', { role: 'other-role' }, {}, /vault refused the login as role "vault-raft-snapshot" at auth\/kubernetes \(HTTP 400: invalid role name "vault-raft-snapshot"\)/],
    ['a token the role does not bind', {}, { jwt: 'another-token' }, /vault refused the login .*\(HTTP 403: permission denied\)/],
    ['no read on the snapshot path', { denySnapshot: true }, {}, /vault denied the snapshot \(HTTP 403: 1 error occurred: \* permission denied\s*\): its policy must allow "read" on sys\/storage\/raft\/snapshot/],
    ['storage that is not Raft', { fileStorage: true }, {}, /vault cannot take a Raft snapshot \(HTTP 400: raft storage is not in use\): its storage is not Raft\n$/],
  ] as const)('%s', async (_name, options, extra: { jwt?: string }, message) => {
    const v = await vault(options);
    const dir = newDir();
    const run = await snapshot(v.url, dir, extra.jwt ? { KUBE_TOKEN_FILE: tokenFile(extra.jwt) } : {});
    expectRun(run, 2, v);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toContain('another-token');
    expect(files(dir)).toEqual([]);
  });

  test.concurrent('no service account token mounted', async () => {
    const v = await vault();
    const run = await snapshot(v.url, newDir(), { KUBE_TOKEN_FILE: '/nonexistent/token' });
    expectRun(run, 2);
    expect(run.stderr).toMatch(/cannot read the service account token at \/nonexistent\/token \(ENOENT\)/);
    expect(v.requests).toEqual([]);
  });

  test.concurrent('a claim without room for another snapshot of the last one\'s size: nothing downloaded, nothing deleted', async () => {
    const v = await vault();
    const dir = newDir();
    const last = 'vault-raft-20261101T000000Z.snap';
    writeFileSync(join(dir, last), Buffer.alloc(3 * 1024 * 1024));
    const run = await snapshot(v.url, dir, {
      FAKE_FREE_BYTES: String(2 * 1024 * 1024),
    });
    expectRun(run, 2, v);
    expect(run.stderr).toMatch(/has 2\.0 MB free and the last snapshot took 3\.0 MB: lower SNAPSHOT_KEEP or grow the claim .*; nothing downloaded\n$/);
    expect(v.requests).toEqual([]);
    expect(files(dir)).toEqual([last]);
  });

  test.concurrent('a claim full of snapshots beyond a lowered SNAPSHOT_KEEP: those are deleted first, then there is room', async () => {
    const v = await vault();
    const dir = newDir();
    const old = [1, 2, 3, 4, 5].map((d) => `vault-raft-2026110${d}T000000Z.snap`);
    for (const name of old) writeFileSync(join(dir, name), Buffer.alloc(1024 * 1024));
    const claim = { FAKE_CLAIM_BYTES: String(5.5 * 1024 * 1024) };
    // Keeping five, the claim has no room for a sixth: nothing deleted, nothing downloaded.
    const full = await snapshot(v.url, dir, { ...claim, SNAPSHOT_KEEP: '5' });
    expectRun(full, 2, v);
    expect(full.stderr).toMatch(/has 0\.5 MB free and the last snapshot took 1\.0 MB: lower SNAPSHOT_KEEP/);
    expect(snapshots(dir)).toEqual(old);
    // Lowered to two, as the message says: the three oldest go before the space check, and the snapshot is taken.
    const lowered = await snapshot(v.url, dir, { ...claim, SNAPSHOT_KEEP: '2' });
    expectRun(lowered, 0, v);
    expect(lowered.stdout).toContain(`deleted ${old.slice(0, 3).join(', ')}: beyond SNAPSHOT_KEEP 2\n`);
    const kept = snapshots(dir);
    expect(kept).toHaveLength(2);
    expect(kept[0]).toBe(old[4]);
    expect(kept[1] > old[4]).toBe(true);
  });

  test.concurrent('the same claim with room: the snapshot is taken', async () => {
    const v = await vault();
    const dir = newDir();
    writeFileSync(join(dir, 'vault-raft-20261101T000000Z.snap'), Buffer.alloc(3 * 1024 * 1024));
    const run = await snapshot(v.url, dir, {
      FAKE_FREE_BYTES: String(4 * 1024 * 1024),
    });
    expectRun(run, 0, v);
    expect(snapshots(dir)).toHaveLength(2);
  });

  test.concurrent('a file where the snapshot folder should be', async () => {
    const v = await vault();
    const file = join(newDir(), 'file');
    writeFileSync(file, '');
    const run = await snapshot(v.url, file);
    expectRun(run, 2, v);
    expect(run.stderr).toMatch(/no snapshot folder at .*file \(ENOTDIR\): mount the snapshot claim there/);
  });

  test.concurrent('no snapshot folder', async () => {
    const v = await vault();
    const run = await snapshot(v.url, join(newDir(), 'missing'));
    expectRun(run, 2, v);
    expect(run.stderr).toMatch(/no snapshot folder at .*missing \(ENOENT\): mount the snapshot claim there/);
  });
});

describe('not now: exit 1', () => {
  test.concurrent('sealed', async () => {
    const v = await vault({ sealed: true });
    const run = await snapshot(v.url, newDir());
    expectRun(run, 1, v);
    expect(run.stderr).toMatch(/POST \/v1\/auth\/kubernetes\/login answered HTTP 503: Vault is sealed\n$/);
  });

  test.concurrent('unreachable', async () => {
    const run = await snapshot(`http://127.0.0.1:${await closedPort()}`, newDir());
    expectRun(run, 1);
    expect(run.stderr).toMatch(/POST \/v1\/auth\/kubernetes\/login failed: ECONNREFUSED; nothing written\n$/);
  });

  test.concurrent('sealed, then unsealed within the window: retries and writes the snapshot', async () => {
    const v = await vault({ sealed: true });
    const dir = newDir();
    const running = snapshot(v.url, dir, { RETRY_WINDOW_SECONDS: '10', RETRY_INTERVAL_SECONDS: '0.2' });
    await until(() => v.requests.length > 0);
    v.sealed = false;
    const run = await running;
    expectRun(run, 0, v);
    expect(run.stdout).toMatch(/^waiting: .*HTTP 503: Vault is sealed\n/);
    expect(snapshots(dir)).toHaveLength(1);
  });
});

test.concurrent('a malformed setting: exits 2 naming it, before any call', async () => {
  const v = await vault();
  const run = await snapshot(v.url, newDir(), { SNAPSHOT_KEEP: '0' });
  expectRun(run, 2);
  expect(run.stderr).toBe('invalid SNAPSHOT_KEEP: got "0", expected a whole number from 1 to 1000\n');
  expect(v.requests).toEqual([]);
});

test.concurrent('the body reaches the claim as it arrives, not once it is all in memory', async () => {
  // A stall after 2 MB of a 4 MB snapshot: buffered, nothing would be on disk yet; streamed, the 2 MB already are.
  const v = await vault({ shape: { dataBytes: 4 * 1024 * 1024, level: 0 }, body: 'stall', cutAfterBytes: 2 * 1024 * 1024 });
  const dir = newDir();
  const partial = () => files(dir).filter((f) => f.endsWith('.partial'));
  const running = snapshot(v.url, dir, { STALL_SECONDS: '1.5' });
  await until(() => v.sentBytes >= 2 * 1024 * 1024 && partial().length === 1 && statSync(join(dir, partial()[0])).size >= 2 * 1024 * 1024);
  const run = await running;
  expectRun(run, 1, v);
  expect(run.stderr).toMatch(/stalled: no data for 1.5 s; nothing written\n$/);
  expect(files(dir)).toEqual([]);
});

test.concurrent('the bundle as the CronJob ships it, run by node: a snapshot, exit 0 with its outcome on stdout', async () => {
  const v = await vault();
  const dir = newDir();
  const run = await runNode(script, variables(v.url, dir, {}));
  expectRun(run, 0, v);
  const [name] = snapshots(dir);
  expect(files(dir)).toEqual([name, `${name}.sha256`]);
  expect(run.stdout).toMatch(new RegExp(`snapshot ${name}: \\d+ bytes, sha256 [0-9a-f]{64}, raft index 120 term 3`));
});
