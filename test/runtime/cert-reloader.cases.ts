import { ChildProcess } from 'child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as YAML from 'yaml';
import { root } from '../../build/bundle';
import { main, MAX_FAILED_RELOADS } from '../../runtime/cert-reloader';
import {
  cleanups, DUMB_INIT, fakeProc, fingerprint, recorder, secretVolume, serial, servedFingerprint, until, VAULT, vaultStandIn,
} from '../support/reloader-pod';
import { runNode } from '../support/run-script';
import { testCertificate } from '../support/test-certificate';

// The sidecar that has Vault reload a renewed certificate (runtime/cert-reloader.ts), against what it meets in the pod:
// a Secret volume the kubelet updates by swapping its `..data` link, /proc listing the pod's processes, and Vault's
// listener on the pod's loopback. Here the volume is a folder laid out the same way, /proc a folder naming real child
// processes that record each SIGHUP, and Vault a child process serving TLS on 127.0.0.1 with the mounted pair, which
// it reads at its start and again on SIGHUP, as Vault's tcp listener does (its reloadable certificate), or, as Vault
// that fails to load a pair, keeps serving the one it has.

const POLL = '0.05';
afterAll(() => { for (const cleanup of cleanups.reverse()) cleanup(); });

/** main in this process, until `stop()`: what it wrote, and its exit code. */
function run(env: Record<string, string>) {
  const out = { stdout: '', stderr: '' };
  const controller = new AbortController();
  const done = main(env, { stdout: (t) => { out.stdout += t; }, stderr: (t) => { out.stderr += t; } }, controller.signal);
  return { out, done, stop: () => { controller.abort('the test'); return done; } };
}

/** Every line of a PEM body: none may reach the output. */
const pemLines = (pem: string) => pem.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'));

/** Waits for `n` more polls, by watching the poll interval pass (no output means no change seen). */
const pollsPass = (n: number) => new Promise((resolve) => setTimeout(resolve, n * Number(POLL) * 1000));

test.concurrent('a renewal: one SIGHUP to the `vault server` process, `reloaded` once Vault serves the new certificate, no key material', async () => {
  const [first, second] = [testCertificate(), testCertificate()];
  const volume = secretVolume(first);
  const [vault, dumbInit] = [await vaultStandIn(volume.dir, { reloads: true }), await recorder()];
  const proc = fakeProc({ [dumbInit.pid]: DUMB_INIT, [vault.pid]: VAULT, self: ['node'] });
  const r = run({ TLS_CERT_DIR: volume.dir, PROC_ROOT: proc.dir, POLL_SECONDS: POLL, VAULT_LISTENER: vault.listener });
  await until(() => r.out.stdout.includes('vault serves the certificate'), 'the first read');
  await pollsPass(4);
  // Vault already serves the mounted pair: nothing to signal.
  expect(vault.hups()).toBe(0);
  volume.renew(second);
  await until(() => r.out.stdout.includes('reloaded:'), 'the reload');
  await pollsPass(4);
  expect(await r.stop()).toBe(0);
  expect([vault.hups(), dumbInit.hups()]).toEqual([1, 0]);
  expect(await servedFingerprint(vault.port)).toBe(fingerprint(second.cert));
  const lines = r.out.stdout.trim().split('\n');
  expect(lines[0]).toContain(`against what Vault serves at ${vault.listener}`);
  expect(lines[1]).toContain(`serial ${serial(first.cert)}`);
  expect(lines.filter((l) => l.startsWith('reloaded:'))).toEqual([
    expect.stringContaining(`vault server (pid ${vault.pid}) serves the mounted certificate of serial ${serial(second.cert)}`),
  ]);
  expect(lines[lines.length - 1]).toBe('stopped by the test');
  expect(r.out.stderr).toBe('');
  const output = r.out.stdout + r.out.stderr;
  for (const line of [...pemLines(first.key), ...pemLines(second.key)]) expect(output).not.toContain(line);
  expect(output).not.toMatch(/PRIVATE KEY/);
});

test.concurrent('Vault that keeps its old certificate after SIGHUP: no `reloaded`, a line per attempt saying what it serves and where to look, then exit 2', async () => {
  const [first, second] = [testCertificate(), testCertificate()];
  const volume = secretVolume(first);
  const vault = await vaultStandIn(volume.dir, { reloads: false });
  const r = run({ TLS_CERT_DIR: volume.dir, PROC_ROOT: fakeProc({ [vault.pid]: VAULT }).dir, POLL_SECONDS: POLL, VAULT_LISTENER: vault.listener, RELOAD_CHECK_SECONDS: '0.3', HOSTNAME: 'vault-0' });
  await until(() => r.out.stdout.includes('vault serves'), 'the first read');
  volume.renew(second);
  // It ends by itself: the container restarts, which the pod shows.
  expect(await r.done).toBe(2);
  expect(vault.hups()).toBe(MAX_FAILED_RELOADS);
  expect(await servedFingerprint(vault.port)).toBe(fingerprint(first.cert));
  expect(r.out.stdout).not.toContain('reloaded');
  const failures = r.out.stderr.trim().split('\n');
  expect(failures).toEqual([
    ...Array.from({ length: MAX_FAILED_RELOADS }, (_, i) => expect.stringMatching(new RegExp(
      `^not reloaded \\(${i + 1} of ${MAX_FAILED_RELOADS}\\): 0.3 s after SIGHUP to vault server \\(pid ${vault.pid}\\), Vault still serves the certificate of serial ${serial(first.cert)}, valid until \\S+, `
      + `not the mounted one of serial ${serial(second.cert)}, valid until \\S+: Vault's log says why \\(kubectl logs vault-0 -c vault\\)$`))),
    expect.stringMatching(/^giving up after \d+ SIGHUPs Vault did not act on: exit 2/),
  ]);
  for (const line of [...pemLines(first.key), ...pemLines(second.key)]) expect(r.out.stderr + r.out.stdout).not.toContain(line);
});

test.concurrent('started after a renewal it missed: Vault serves the old certificate, so it signals, and Vault then serves the mounted one', async () => {
  const [first, second] = [testCertificate(), testCertificate()];
  const volume = secretVolume(first);
  const vault = await vaultStandIn(volume.dir, { reloads: true });
  volume.renew(second);
  const r = run({ TLS_CERT_DIR: volume.dir, PROC_ROOT: fakeProc({ [vault.pid]: VAULT }).dir, POLL_SECONDS: POLL, VAULT_LISTENER: vault.listener });
  await until(() => r.out.stdout.includes('reloaded:'), 'the reload');
  await pollsPass(4);
  expect(await r.stop()).toBe(0);
  expect(vault.hups()).toBe(1);
  expect(await servedFingerprint(vault.port)).toBe(fingerprint(second.cert));
  expect(r.out.stdout).toContain(`serves the mounted certificate of serial ${serial(second.cert)}`);
  expect(r.out.stdout).toContain(`(it served serial ${serial(first.cert)}, `);
  expect(r.out.stdout).not.toContain('vault serves the certificate');
  expect(r.out.stderr).toBe('');
});

test.concurrent('Vault not listening (starting, or down): one waiting line, and no signal while it cannot say what it serves', async () => {
  const volume = secretVolume(testCertificate());
  const vault = await recorder();
  // A port nothing listens on: one taken and released.
  const closed = await new Promise<number>((resolve) => {
    const server = require('net').createServer().listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolve(port)); });
  });
  const proc = fakeProc({ [vault.pid]: VAULT });
  const r = run({ TLS_CERT_DIR: volume.dir, PROC_ROOT: proc.dir, POLL_SECONDS: POLL, VAULT_LISTENER: `127.0.0.1:${closed}` });
  await until(() => r.out.stderr.includes('refused'), 'the refused connection');
  await pollsPass(4);
  expect(await r.stop()).toBe(0);
  expect(vault.hups()).toBe(0);
  expect(r.out.stderr.trim().split('\n')).toEqual([`waiting: Vault's listener 127.0.0.1:${closed} refused the TLS connection (ECONNREFUSED)`]);
});

test.concurrent('a pair that does not belong together, or is not PEM, is waited out once per problem; the good pair is then loaded', async () => {
  const [first, second, other] = [testCertificate(), testCertificate(), testCertificate()];
  const volume = secretVolume(first);
  const vault = await vaultStandIn(volume.dir, { reloads: true });
  const r = run({ TLS_CERT_DIR: volume.dir, PROC_ROOT: fakeProc({ [vault.pid]: VAULT }).dir, POLL_SECONDS: POLL, VAULT_LISTENER: vault.listener });
  await until(() => r.out.stdout.includes('vault serves'), 'the first read');
  volume.renew({ cert: second.cert, key: other.key });
  await until(() => r.out.stderr.includes('is not the key of'), 'the mismatch');
  await pollsPass(4);
  volume.renew({ cert: 'not a certificate\n', key: second.key });
  await until(() => r.out.stderr.includes('does not hold a PEM certificate'), 'the garbage');
  volume.renew({ cert: 'x'.repeat(70 * 1024), key: second.key });
  await until(() => r.out.stderr.includes('larger than 64 KiB'), 'the oversized file');
  expect(vault.hups()).toBe(0);
  volume.renew(second);
  await until(() => r.out.stdout.includes('reloaded:'), 'the reload');
  expect(await r.stop()).toBe(0);
  expect(vault.hups()).toBe(1);
  const waits = r.out.stderr.trim().split('\n');
  // One line per problem, however many polls it lasted; each names the file, never its content.
  expect(waits).toEqual([
    expect.stringMatching(/^waiting: .*tls\.key is not the key of .*tls\.crt \(serial [0-9A-F]+\)$/),
    expect.stringMatching(/^waiting: .*tls\.crt does not hold a PEM certificate$/),
    expect.stringMatching(/^waiting: .*tls\.crt is larger than 64 KiB: not a PEM certificate$/),
  ]);
  for (const line of [...pemLines(other.key), ...pemLines(second.key)]) expect(r.out.stderr + r.out.stdout).not.toContain(line);
});

test.concurrent('no `vault server` process yet, or two: none is signalled, and the one that appears gets the SIGHUP', async () => {
  const [first, second] = [testCertificate(), testCertificate()];
  const volume = secretVolume(first);
  const [vault, twin] = [await vaultStandIn(volume.dir, { reloads: true }), await recorder()];
  const proc = fakeProc({ 1: DUMB_INIT });
  const r = run({ TLS_CERT_DIR: volume.dir, PROC_ROOT: proc.dir, POLL_SECONDS: POLL, VAULT_LISTENER: vault.listener });
  await until(() => r.out.stdout.includes('vault serves'), 'the first read');
  volume.renew(second);
  await until(() => r.out.stderr.includes('no `vault server` process'), 'no process');
  proc.change({ [vault.pid]: VAULT, [twin.pid]: ['/bin/vault', 'server'] });
  await until(() => r.out.stderr.includes('2 `vault server` processes'), 'two processes');
  await pollsPass(4);
  expect([vault.hups(), twin.hups()]).toEqual([0, 0]);
  proc.change({ [twin.pid]: undefined });
  await until(() => r.out.stdout.includes('reloaded:'), 'the reload');
  expect(await r.stop()).toBe(0);
  expect([vault.hups(), twin.hups()]).toEqual([1, 0]);
  expect(r.out.stderr).toMatch(/shareProcessNamespace/);
});

test.concurrent('a process it cannot signal (gone since the scan): a line naming the pid and the error, and a retry at the next poll', async () => {
  const [first, second] = [testCertificate(), testCertificate()];
  const volume = secretVolume(first);
  const gone = await recorder();
  gone.child.kill('SIGKILL');
  await new Promise((resolve) => gone.child.once('exit', resolve));
  const vault = await vaultStandIn(volume.dir, { reloads: true });
  const proc = fakeProc({ [gone.pid]: VAULT });
  const r = run({ TLS_CERT_DIR: volume.dir, PROC_ROOT: proc.dir, POLL_SECONDS: POLL, VAULT_LISTENER: vault.listener });
  await until(() => r.out.stdout.includes('vault serves'), 'the first read');
  volume.renew(second);
  await until(() => r.out.stderr.includes('cannot signal'), 'the failed signal');
  proc.change({ [gone.pid]: undefined, [vault.pid]: VAULT });
  await until(() => r.out.stdout.includes('reloaded:'), 'the reload');
  expect(await r.stop()).toBe(0);
  expect(vault.hups()).toBe(1);
  expect(r.out.stderr).toContain(`waiting: cannot signal vault server (pid ${gone.pid}): ESRCH: the sidecar must run as Vault's uid`);
});

test.concurrent.each([
  ['a relative folder', { TLS_CERT_DIR: 'vault/tls' }, /^invalid TLS_CERT_DIR: got "vault\/tls"/],
  ['a poll interval that is no number', { POLL_SECONDS: 'often' }, /^invalid POLL_SECONDS: got "often", expected a number of seconds/],
  ['a listener that is a URL', { VAULT_LISTENER: 'https://127.0.0.1:8200' }, /^invalid VAULT_LISTENER: got "https:\/\/127.0.0.1:8200", expected the host and port/],
  ['a listener port out of range', { VAULT_LISTENER: '127.0.0.1:70000' }, /^invalid VAULT_LISTENER: got "127.0.0.1:70000"/],
])('%s: exit 2 at once, with one line naming the setting', async (_case, env, message) => {
  const r = run(env as Record<string, string>);
  expect(await r.done).toBe(2);
  expect(r.out.stdout).toBe('');
  expect(r.out.stderr.trim().split('\n')).toEqual([expect.stringMatching(message)]);
});

test.concurrent('the bundle as examples/ha-raft/dist ships it, as a process: reloads, and SIGTERM stops it with exit 0', async () => {
  const file = join(root, 'examples', 'ha-raft', 'dist', 'vault', 'vault.k8s.yaml');
  const configMap = YAML.parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJSON()).find((d) => d?.kind === 'ConfigMap' && d.metadata.name === 'vault-cert-reloader');
  const script = join(mkdtempSync(join(tmpdir(), 'script-')), 'cert-reloader.js');
  writeFileSync(script, configMap.data['cert-reloader.js']);
  const [first, second] = [testCertificate(), testCertificate()];
  const volume = secretVolume(first);
  const vault = await vaultStandIn(volume.dir, { reloads: true });
  let child!: ChildProcess;
  let stdout = '';
  const finished = runNode(script, { TLS_CERT_DIR: volume.dir, PROC_ROOT: fakeProc({ [vault.pid]: VAULT }).dir, POLL_SECONDS: POLL, VAULT_LISTENER: vault.listener }, {
    onSpawn: (c) => { child = c; c.stdout!.on('data', (d) => { stdout += d; }); },
  });
  await until(() => stdout.includes('vault serves'), 'the first read');
  volume.renew(second);
  await until(() => stdout.includes('reloaded:'), 'the reload');
  child.kill('SIGTERM');
  const result = await finished;
  expect(result.code).toBe(0);
  expect(vault.hups()).toBe(1);
  expect(result.stdout.trim().split('\n').pop()).toBe('stopped by SIGTERM');
  // A poll may read tls.crt before the `..data` swap and tls.key after it (a busy machine): one waiting line, then the next poll.
  expect(result.stderr.split('\n').filter((l) => l && !/^waiting: .*tls\.key is not the key of /.test(l))).toEqual([]);
});
