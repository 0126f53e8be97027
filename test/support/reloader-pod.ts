import { ChildProcess, spawn } from 'child_process';
import { X509Certificate } from 'crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { connect } from 'tls';
import { HANG_LIMIT_MS } from './run-script';
import { TestCertificate } from './test-certificate';

// What the certificate reloader (runtime/cert-reloader.ts) meets in Vault's pod, for test/runtime/cert-reloader.cases.ts:
// the Secret volume, /proc, and Vault's listener; each removed by `cleanups` (the cases run them in afterAll).

export const cleanups: Array<() => void> = [];

/** A mounted Secret as the kubelet's atomic writer lays it out: a timestamped folder, `..data` to it, links to `..data`. */
export function secretVolume(pair: TestCertificate): { dir: string; renew: (next: { cert: string; key: string }) => void } {
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
export async function recorder(): Promise<{ pid: number; hups: () => number; child: ChildProcess }> {
  const child = spawn(process.execPath, ['-e', "process.on('SIGHUP', () => process.stdout.write('HUP\\n')); process.stdout.write('ready\\n'); setInterval(() => {}, 1 << 30);"]);
  cleanups.push(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout!.on('data', (c) => { out += c; });
  await until(() => out.includes('ready'));
  return { pid: child.pid!, hups: () => out.split('\n').filter((l) => l === 'HUP').length, child };
}

/**
 * Vault's listener: a process serving TLS on 127.0.0.1 (a port of its own) with the pair in `certDir`, read at its start
 * and, when `reloads`, again at each SIGHUP (Vault's listener swaps its certificate then); without it, it keeps the one
 * it has, as Vault does when the new pair fails to load. Records each SIGHUP, like `recorder`.
 */
export async function vaultStandIn(certDir: string, { reloads }: { reloads: boolean }) {
  const script = `
    const fs = require('fs'), path = require('path'), tls = require('tls');
    const [dir, reloads] = process.argv.slice(1);
    const pair = () => ({ cert: fs.readFileSync(path.join(dir, 'tls.crt')), key: fs.readFileSync(path.join(dir, 'tls.key')) });
    const server = tls.createServer(pair(), (socket) => socket.end());
    process.on('SIGHUP', () => {
      if (reloads === 'yes') server.setSecureContext(pair());
      process.stdout.write('HUP\\n');
    });
    server.listen(0, '127.0.0.1', () => process.stdout.write('port ' + server.address().port + '\\n'));`;
  const child = spawn(process.execPath, ['-e', script, certDir, reloads ? 'yes' : 'no']);
  cleanups.push(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout!.on('data', (c) => { out += c; });
  child.stderr!.on('data', (c) => { out += c; });
  await until(() => /port \d+\n/.test(out), 'the stand-in to listen');
  const port = Number(/port (\d+)/.exec(out)![1]);
  return { pid: child.pid!, port, listener: `127.0.0.1:${port}`, hups: () => out.split('\n').filter((l) => l === 'HUP').length };
}

/** The SHA-256 fingerprint of the certificate served at 127.0.0.1:`port`, read as any TLS client would. */
export function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(new X509Certificate(socket.getPeerCertificate().raw).fingerprint256);
      socket.destroy();
    });
    socket.setTimeout(HANG_LIMIT_MS, () => socket.destroy(new Error('no handshake')));
    socket.on('error', reject);
  });
}
export const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;
export const serial = (pem: string) => new X509Certificate(pem).serialNumber;

/**
 * A stand-in for /proc: each entry a pid's folder with its `cmdline`, NUL-separated as the kernel writes it. `dir` is a
 * link to the current set, replaced whole at each change, so that a poll never sees half of one.
 */
export function fakeProc(processes: Record<number | string, string[]>) {
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

export const VAULT = ['vault', 'server', '-config=/vault/config/vault.hcl'];
// dumb-init, Vault's parent in the image, names `vault server` among its arguments: it is not the process to signal.
export const DUMB_INIT = ['/usr/bin/dumb-init', '/bin/sh', '/usr/local/bin/docker-entrypoint.sh', 'vault', 'server'];

export async function until(condition: () => boolean, what = 'the condition'): Promise<void> {
  const end = Date.now() + HANG_LIMIT_MS;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
