import { ChildProcess, spawn } from 'child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as YAML from 'yaml';
import { root } from '../../build/bundle';
import { main } from '../../runtime/cert-reloader';
import { HANG_LIMIT_MS, runNode } from '../support/run-script';
import { testCertificate, TestCertificate } from '../support/test-certificate';

// The sidecar that has Vault reload a renewed certificate (runtime/cert-reloader.ts), against what it meets in the pod:
// a Secret volume the kubelet updates by swapping its `..data` link, and /proc listing the pod's processes. Here the
// volume is a folder laid out the same way, /proc a folder naming real child processes that record each SIGHUP.

const POLL = '0.05';
const cleanups: Array<() => void> = [];
afterAll(() => { for (const cleanup of cleanups.reverse()) cleanup(); });

/** A mounted Secret as the kubelet's atomic writer lays it out: a timestamped folder, `..data` to it, links to `..data`. */
function secretVolume(pair: TestCertificate): { dir: string; renew: (next: { cert: string; key: string }) => void } {
  const dir = mkdtempSync(join(tmpdir(), 'secret-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  let generation = 0;
  const write = (files: { cert: string; key: string }) => {
    const folder = `..2026_12_06_12_00_0${generation++}`;
    mkdirSync(join(dir, folder));
    writeFileSync(join(dir, folder, 'tls.crt'), files.cert);
    writeFileSync(join(dir, folder, 'tls.key'), files.key);
    return folder;
  };
  symlinkSync(write(pair), join(dir, '..data'));
  for (const name of ['tls.crt', 'tls.key']) symlinkSync(join('..data', name), join(dir, name));
  return {
    dir,
    // The new files land in a folder of their own; one rename swaps them all at once.
    renew: (next) => {
      symlinkSync(write(next), join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    },
  };
}

/** A real process that records each SIGHUP it gets (as Vault would reload), and its pid. */
async function recorder(): Promise<{ pid: number; hups: () => number; child: ChildProcess }> {
  const child = spawn(process.execPath, ['-e', "process.on('SIGHUP', () => process.stdout.write('HUP\\n')); process.stdout.write('ready\\n'); setInterval(() => {}, 1 << 30);"]);
  cleanups.push(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout!.on('data', (c) => { out += c; });
  await until(() => out.includes('ready'));
  return { pid: child.pid!, hups: () => out.split('\n').filter((l) => l === 'HUP').length, child };
}

/**
 * A stand-in for /proc: each entry a pid's folder with its `cmdline`, NUL-separated as the kernel writes it. `dir` is a
 * link to the current set, replaced whole at each change, so that a poll never sees half of one.
 */
function fakeProc(processes: Record<number | string, string[]>) {
  const base = mkdtempSync(join(tmpdir(), 'proc-'));
  cleanups.push(() => rmSync(base, { recursive: true, force: true }));
  const current = new Map<string, string[]>(Object.entries(processes));
  let generation = 0;
  const publish = () => {
    const folder = join(base, `set-${generation++}`);
    for (const [pid, argv] of current) {
      mkdirSync(join(folder, pid), { recursive: true });
      writeFileSync(join(folder, pid, 'cmdline'), `${argv.join('\0')}\0`);
    }
    mkdirSync(folder, { recursive: true });
    symlinkSync(folder, join(base, 'next'));
    renameSync(join(base, 'next'), join(base, 'proc'));
  };
  publish();
  return {
    dir: join(base, 'proc'),
    /** Sets the processes of `changes` (an argv) or removes them (undefined), all at once. */
    change: (changes: Record<number, string[] | undefined>) => {
      for (const [pid, argv] of Object.entries(changes)) {
        if (argv) current.set(pid, argv);
        else current.delete(pid);
      }
      publish();
    },
  };
}

const VAULT = ['vault', 'server', '-config=/vault/config/vault.hcl'];
// dumb-init, Vault's parent in the image, names `vault server` among its arguments: it is not the process to signal.
const DUMB_INIT = ['/usr/bin/dumb-init', '/bin/sh', '/usr/local/bin/docker-entrypoint.sh', 'vault', 'server'];

async function until(condition: () => boolean, what = 'the condition'): Promise<void> {
  const end = Date.now() + HANG_LIMIT_MS;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

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

test.concurrent('a renewal: one SIGHUP to the `vault server` process, one line naming the new certificate, no key material', async () => {
  const [first, second] = [testCertificate(), testCertificate()];
  const volume = secretVolume(first);
  const [vault, dumbInit] = [await recorder(), await recorder()];
  const proc = fakeProc({ [dumbInit.pid]: DUMB_INIT, [vault.pid]: VAULT, self: ['node'] });
  const r = run({ TLS_CERT_DIR: volume.dir, PROC_ROOT: proc.dir, POLL_SECONDS: POLL });
  await until(() => r.out.stdout.includes('vault serves the certificate'), 'the first read');
  await pollsPass(4);
  expect(vault.hups()).toBe(0);
  volume.renew(second);
  await until(() => vault.hups() === 1, 'the SIGHUP');
  await pollsPass(4);
  expect(await r.stop()).toBe(0);
  expect([vault.hups(), dumbInit.hups()]).toEqual([1, 0]);
  const serial = (pem: string) => new (require('crypto').X509Certificate)(pem).serialNumber;
  const lines = r.out.stdout.trim().split('\n');
  expect(lines.filter((l) => l.startsWith('reloaded:'))).toEqual([expect.stringContaining(`sent SIGHUP to vault server (pid ${vault.pid}) for the renewed certificate of serial ${serial(second.cert)}`)]);
  expect(lines[1]).toContain(`serial ${serial(first.cert)}`);
  expect(lines[lines.length - 1]).toBe('stopped by the test');
  expect(r.out.stderr).toBe('');
  const output = r.out.stdout + r.out.stderr;
  for (const line of [...pemLines(first.key), ...pemLines(second.key)]) expect(output).not.toContain(line);
  expect(output).not.toMatch(/PRIVATE KEY/);
});

test.concurrent('a pair that does not belong together, or is not PEM, is waited out once per problem; the good pair is then loaded', async () => {
  const [first, second, other] = [testCertificate(), testCertificate(), testCertificate()];
  const volume = secretVolume(first);
  const vault = await recorder();
  const r = run({ TLS_CERT_DIR: volume.dir, PROC_ROOT: fakeProc({ [vault.pid]: VAULT }).dir, POLL_SECONDS: POLL });
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
  await until(() => vault.hups() === 1, 'the SIGHUP');
  expect(await r.stop()).toBe(0);
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
  const [vault, twin] = [await recorder(), await recorder()];
  const proc = fakeProc({ 1: DUMB_INIT });
  const r = run({ TLS_CERT_DIR: volume.dir, PROC_ROOT: proc.dir, POLL_SECONDS: POLL });
  await until(() => r.out.stdout.includes('vault serves'), 'the first read');
  volume.renew(second);
  await until(() => r.out.stderr.includes('no `vault server` process'), 'no process');
  proc.change({ [vault.pid]: VAULT, [twin.pid]: ['/bin/vault', 'server'] });
  await until(() => r.out.stderr.includes('2 `vault server` processes'), 'two processes');
  await pollsPass(4);
  expect([vault.hups(), twin.hups()]).toEqual([0, 0]);
  proc.change({ [twin.pid]: undefined });
  await until(() => vault.hups() === 1, 'the SIGHUP');
  expect(await r.stop()).toBe(0);
  expect(twin.hups()).toBe(0);
  expect(r.out.stderr).toMatch(/shareProcessNamespace/);
});

test.concurrent('a process it cannot signal (gone since the scan): a line naming the pid and the error, and a retry at the next poll', async () => {
  const [first, second] = [testCertificate(), testCertificate()];
  const volume = secretVolume(first);
  const gone = await recorder();
  gone.child.kill('SIGKILL');
  await new Promise((resolve) => gone.child.once('exit', resolve));
  const proc = fakeProc({ [gone.pid]: VAULT });
  const r = run({ TLS_CERT_DIR: volume.dir, PROC_ROOT: proc.dir, POLL_SECONDS: POLL });
  await until(() => r.out.stdout.includes('vault serves'), 'the first read');
  volume.renew(second);
  await until(() => r.out.stderr.includes('cannot signal'), 'the failed signal');
  const vault = await recorder();
  proc.change({ [gone.pid]: undefined, [vault.pid]: VAULT });
  await until(() => vault.hups() === 1, 'the SIGHUP');
  expect(await r.stop()).toBe(0);
  expect(r.out.stderr).toContain(`waiting: cannot signal vault server (pid ${gone.pid}): ESRCH: the sidecar must run as Vault's uid`);
});

test.concurrent.each([
  ['a relative folder', { TLS_CERT_DIR: 'vault/tls' }, /^invalid TLS_CERT_DIR: got "vault\/tls"/],
  ['a poll interval that is no number', { POLL_SECONDS: 'often' }, /^invalid POLL_SECONDS: got "often", expected a number of seconds/],
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
  const vault = await recorder();
  let child!: ChildProcess;
  let stdout = '';
  const finished = runNode(script, { TLS_CERT_DIR: volume.dir, PROC_ROOT: fakeProc({ [vault.pid]: VAULT }).dir, POLL_SECONDS: POLL }, {
    onSpawn: (c) => { child = c; c.stdout!.on('data', (d) => { stdout += d; }); },
  });
  await until(() => stdout.includes('vault serves'), 'the first read');
  volume.renew(second);
  await until(() => vault.hups() === 1, 'the SIGHUP');
  child.kill('SIGTERM');
  const result = await finished;
  expect(result.code).toBe(0);
  expect(result.stdout.trim().split('\n').pop()).toBe('stopped by SIGTERM');
  expect(result.stderr).toBe('');
});
