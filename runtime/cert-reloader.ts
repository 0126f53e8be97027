// vault-cert-reloader: the sidecar that has Vault reload its listener's certificate after cert-manager renews it.
// Vault reads `tls_cert_file` and `tls_key_file` when it starts, and again only on SIGHUP (its tcp listener's reload);
// the kubelet updates a mounted Secret by swapping its `..data` link, so the files change under the same paths (a
// subPath mount would never change). Every POLL_SECONDS the script reads the certificate and the key (bounded sizes),
// checks that they parse and belong together, and whenever they differ from the pair Vault was last seen serving (at
// its own start too: it may have been down across a renewal) it reads the certificate Vault's listener serves on the
// pod's loopback (VAULT_LISTENER). When that is not the mounted one it sends SIGHUP to the one `vault server` process
// it finds under PROC_ROOT (the pod shares one process namespace and the sidecar runs as Vault's uid, so no capability
// is needed), and says `reloaded` only once Vault serves the mounted certificate. Vault that refuses a pair logs why
// and keeps the old one: each poll then signals again, and after MAX_FAILED_RELOADS such polls in a row the script
// exits 2, so that the container's restarts show on the pod (and each restart checks again, at the kubelet's back-off).
// No key material is ever printed, nor its digest. Runs until SIGTERM (exit 0); a malformed setting is exit 2 at once.
// Any other problem during a poll (Vault not listening yet, no Vault process, a pair that does not match) is logged
// once and retried at the next poll: nothing is lost by waiting.
import { createHash, createPrivateKey, X509Certificate } from 'crypto';
import { closeSync, openSync, readdirSync, readSync } from 'fs';
import { basename, join } from 'path';
import { RELOADER_DEFAULTS, RELOADER_ENV } from './common/cert-reloader-variables';
import { Io } from './common/io';
import { logTo, processOutput, reason } from './common/log';
import { startService } from './common/main';
import { CertificateFacts, certificateFacts, servedCertificate } from './common/served-certificate';
import { Env, invalid, readSeconds, readString } from './common/settings';

export interface ReloaderSettings {
  readonly certDir: string;
  readonly procRoot: string;
  readonly pollMs: number;
  readonly host: string;
  readonly port: number;
  readonly reloadCheckMs: number;
  /** The pod's name, for the command a failure line gives (the kubelet sets HOSTNAME to it). */
  readonly pod: string;
}

export function readReloaderSettings(env: Env): ReloaderSettings {
  const listener = env[RELOADER_ENV.listener] ?? RELOADER_DEFAULTS.listener;
  const port = Number(listener.slice(listener.lastIndexOf(':') + 1));
  if (!/^[\w.-]+:\d+$/.test(listener) || port < 1 || port > 65535) {
    invalid(RELOADER_ENV.listener, listener, 'the host and port of Vault\'s listener on the pod\'s loopback, such as "127.0.0.1:8200"');
  }
  return {
    certDir: readString(env, RELOADER_ENV.certDir, RELOADER_DEFAULTS.certDir, /^\/\S*$/),
    procRoot: readString(env, RELOADER_ENV.procRoot, RELOADER_DEFAULTS.procRoot, /^\/\S*$/),
    pollMs: readSeconds(env, RELOADER_ENV.pollSeconds, RELOADER_DEFAULTS.pollSeconds, 0.05, 3600) * 1000,
    host: listener.slice(0, listener.lastIndexOf(':')),
    port,
    reloadCheckMs: readSeconds(env, RELOADER_ENV.reloadCheckSeconds, RELOADER_DEFAULTS.reloadCheckSeconds, 0.05, 60) * 1000,
    pod: env.HOSTNAME || '<vault pod>',
  };
}

/**
 * SIGHUPs in a row after which Vault still serves another certificate: Vault refused the pair (its log says why), and
 * signalling again every poll would hide that. A transient miss (Vault busy at the signal) clears within one or two.
 */
export const MAX_FAILED_RELOADS = 3;
/** How often Vault's listener is asked again while a reload is awaited. */
const RELOAD_CHECK_INTERVAL_MS = 100;
/** One TLS handshake on loopback; a longer one is a Vault that does not answer. */
const HANDSHAKE_TIMEOUT_MS = 2000;

/** A PEM certificate or key is a few KB; a larger file is not one, and is not read whole. */
const MAX_PEM_BYTES = 64 * 1024;
/** A pod runs a handful of processes; the scan stops at this many entries. */
const MAX_PROCESSES = 4096;
const MAX_CMDLINE_BYTES = 4096;

/** At most `max` bytes of a file; throws with the file's name and the error code only. */
function readBounded(path: string, max: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(max + 1);
    let length = 0;
    for (let n = -1; n !== 0 && length <= max;) {
      n = readSync(fd, buffer, length, buffer.length - length, null);
      length += n;
    }
    return buffer.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

/** The mounted pair as it is now: a digest of both files to compare, and its certificate's public facts. */
export interface CertificatePair extends CertificateFacts {
  readonly digest: string;
}

/** Reads and checks tls.crt and tls.key; every message names the file and the problem, never the content. */
export function readPair(certDir: string): CertificatePair {
  const read = (name: string) => {
    let bytes: Buffer;
    try {
      bytes = readBounded(join(certDir, name), MAX_PEM_BYTES);
    } catch (error) {
      throw new Error(`cannot read ${join(certDir, name)} (${(error as NodeJS.ErrnoException).code ?? 'error'}): the Secret of Vault's certificate is not mounted there`);
    }
    if (bytes.length > MAX_PEM_BYTES) throw new Error(`${join(certDir, name)} is larger than ${MAX_PEM_BYTES / 1024} KiB: not a PEM ${name === 'tls.key' ? 'key' : 'certificate'}`);
    return bytes;
  };
  const certPem = read('tls.crt');
  const keyPem = read('tls.key');
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certPem);
  } catch {
    throw new Error(`${join(certDir, 'tls.crt')} does not hold a PEM certificate`);
  }
  let matches: boolean;
  try {
    matches = certificate.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    throw new Error(`${join(certDir, 'tls.key')} does not hold a PEM private key of the certificate's type`);
  }
  if (!matches) throw new Error(`${join(certDir, 'tls.key')} is not the key of ${join(certDir, 'tls.crt')} (serial ${certificate.serialNumber})`);
  const digest = createHash('sha256').update(certPem).update('\0').update(keyPem).digest('hex');
  return { digest, ...certificateFacts(certificate) };
}

/** The processes under `procRoot` whose command line is `vault server ...` (the image's entrypoint execs it). */
export function vaultServerPids(procRoot: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync(procRoot).filter((name) => /^\d+$/.test(name)).slice(0, MAX_PROCESSES);
  } catch (error) {
    throw new Error(`cannot list processes in ${procRoot} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const pids: number[] = [];
  for (const entry of entries) {
    let argv: string[];
    try {
      argv = readBounded(join(procRoot, entry, 'cmdline'), MAX_CMDLINE_BYTES).toString('utf8').split('\0');
    } catch {
      continue; // gone since the listing, or not ours to read
    }
    if (basename(argv[0] ?? '') === 'vault' && argv[1] === 'server') pids.push(Number(entry));
  }
  return pids.sort((a, b) => a - b);
}

/** The one `vault server` process; throws when there is none or more than one. */
function findVaultServer(procRoot: string): number {
  const pids = vaultServerPids(procRoot);
  if (pids.length === 0) {
    throw new Error(`no \`vault server\` process in ${procRoot}: Vault's container is not running, or the pod does not share its process namespace (shareProcessNamespace)`);
  }
  if (pids.length > 1) throw new Error(`${pids.length} \`vault server\` processes in ${procRoot} (pids ${pids.join(', ')}), expected one: none signalled`);
  return pids[0];
}

function pause(ms: number, stop: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      stop.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    stop.addEventListener('abort', done, { once: true });
  });
}

/** What Vault serves, asked until it is `expected` or `windowMs` has passed (plus one handshake at most): whether it is, and what. */
async function awaitServed(s: ReloaderSettings, expected: string, windowMs: number, stop: AbortSignal): Promise<{ reloaded: boolean; served: string }> {
  const end = Date.now() + windowMs;
  let served = '';
  for (;;) {
    try {
      // Each handshake its full bound: one cut short by the window's end would only say that it was cut short.
      const facts = await servedCertificate(s.host, s.port, HANDSHAKE_TIMEOUT_MS);
      if (facts.fingerprint256 === expected) return { reloaded: true, served: facts.description };
      served = `Vault still serves the certificate of ${facts.description}`;
    } catch (error) {
      served = reason(error);
    }
    if (stop.aborted || Date.now() >= end) return { reloaded: false, served };
    await pause(Math.min(RELOAD_CHECK_INTERVAL_MS, end - Date.now()), stop);
  }
}

function signal(pid: number): void {
  try {
    process.kill(pid, 'SIGHUP');
  } catch (error) {
    throw new Error(`cannot signal vault server (pid ${pid}): ${(error as NodeJS.ErrnoException).code ?? reason(error)}: the sidecar must run as Vault's uid, with Vault's AppArmor profile`);
  }
}

/** Watches the pair until `stop` aborts; resolves to 0 then, or to 2 for a malformed setting or a reload Vault refuses. */
export async function main(env: Env = process.env, io: Io = processOutput, stop: AbortSignal = new AbortController().signal): Promise<number> {
  const { log, logError } = logTo(io);
  let s: ReloaderSettings;
  try {
    s = readReloaderSettings(env);
  } catch (error) {
    logError(reason(error));
    return 2;
  }
  // The pair Vault was last seen serving; none at the start, whatever was mounted then: Vault may have loaded an older one.
  let confirmed: string | undefined;
  let failedReloads = 0;
  let lastProblem = '';
  log(`watching ${join(s.certDir, 'tls.crt')} and tls.key every ${s.pollMs / 1000} s against what Vault serves at ${s.host}:${s.port}; Vault reloads them on SIGHUP`);
  while (!stop.aborted) {
    try {
      const pair = readPair(s.certDir);
      if (pair.digest !== confirmed) {
        // Unreachable (Vault starting, or down): a waiting line, no signal; Vault reads the mounted pair when it starts.
        const before = await servedCertificate(s.host, s.port, HANDSHAKE_TIMEOUT_MS);
        if (before.fingerprint256 === pair.fingerprint256) {
          confirmed = pair.digest;
          failedReloads = 0;
          log(`vault serves the certificate of ${pair.description}`);
        } else {
          const pid = findVaultServer(s.procRoot);
          signal(pid);
          const after = await awaitServed(s, pair.fingerprint256, s.reloadCheckMs, stop);
          if (after.reloaded) {
            confirmed = pair.digest;
            failedReloads = 0;
            log(`reloaded: vault server (pid ${pid}) serves the mounted certificate of ${pair.description} after SIGHUP (it served ${before.description})`);
          } else if (!stop.aborted) {
            failedReloads += 1;
            logError(`not reloaded (${failedReloads} of ${MAX_FAILED_RELOADS}): ${s.reloadCheckMs / 1000} s after SIGHUP to vault server (pid ${pid}), ${after.served}, not the mounted one of ${pair.description}: Vault's log says why (kubectl logs ${s.pod} -c vault)`);
            if (failedReloads >= MAX_FAILED_RELOADS) {
              logError(`giving up after ${MAX_FAILED_RELOADS} SIGHUPs Vault did not act on: exit 2, the container restarts (the pod's restarts show it) and checks again`);
              return 2;
            }
          }
        }
      }
      lastProblem = '';
    } catch (error) {
      const message = reason(error);
      if (message !== lastProblem) logError(`waiting: ${message}`);
      lastProblem = message;
    }
    await pause(s.pollMs, stop);
  }
  log(`stopped by ${String(stop.reason ?? 'request')}`);
  return 0;
}

if (require.main === module) startService((stop) => main(undefined, undefined, stop));
