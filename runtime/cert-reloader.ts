// vault-cert-reloader: the sidecar that has Vault reload its listener's certificate after cert-manager renews it.
// Vault reads `tls_cert_file` and `tls_key_file` when it starts, and again only on SIGHUP (its tcp listener's reload);
// the kubelet updates a mounted Secret by swapping its `..data` link, so the files change under the same paths (a
// subPath mount would never change). Every POLL_SECONDS the script reads the certificate and the key (bounded sizes),
// checks that they parse and belong together, and when they differ from what Vault loaded it sends SIGHUP to the one
// `vault server` process it finds under PROC_ROOT: the pod shares one process namespace and the sidecar runs as
// Vault's uid, so no capability is needed. One line per reload; no key material is ever printed, nor its digest.
// Runs until SIGTERM (exit 0); a malformed setting is exit 2 at once. A problem during a poll (no Vault process yet, a
// pair that does not match) is logged once and retried at the next poll: nothing is lost by waiting.
import { createHash, createPrivateKey, X509Certificate } from 'crypto';
import { closeSync, openSync, readdirSync, readSync } from 'fs';
import { basename, join } from 'path';
import { RELOADER_DEFAULTS, RELOADER_ENV } from './common/cert-reloader-variables';
import { Io } from './common/io';
import { logTo, processOutput, reason } from './common/log';
import { startService } from './common/main';
import { Env, readSeconds, readString } from './common/settings';

export interface ReloaderSettings {
  readonly certDir: string;
  readonly procRoot: string;
  readonly pollMs: number;
}

export function readReloaderSettings(env: Env): ReloaderSettings {
  return {
    certDir: readString(env, RELOADER_ENV.certDir, RELOADER_DEFAULTS.certDir, /^\/\S*$/),
    procRoot: readString(env, RELOADER_ENV.procRoot, RELOADER_DEFAULTS.procRoot, /^\/\S*$/),
    pollMs: readSeconds(env, RELOADER_ENV.pollSeconds, RELOADER_DEFAULTS.pollSeconds, 0.05, 3600) * 1000,
  };
}

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

/** The mounted pair as it is now: a digest to compare, and what a log line may say of it (public facts only). */
export interface CertificatePair {
  readonly digest: string;
  readonly description: string;
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
  return { digest, description: `serial ${certificate.serialNumber}, valid until ${new Date(certificate.validTo).toISOString()}` };
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

/** Watches the pair until `stop` aborts; resolves to 0 then, or to 2 at once for a malformed setting. */
export async function main(env: Env = process.env, io: Io = processOutput, stop: AbortSignal = new AbortController().signal): Promise<number> {
  const { log, logError } = logTo(io);
  let settings: ReloaderSettings;
  try {
    settings = readReloaderSettings(env);
  } catch (error) {
    logError(reason(error));
    return 2;
  }
  // The pair Vault loaded: the one mounted when the sidecar starts beside it (both see the volume as the kubelet set it up).
  let loaded: string | undefined;
  let lastProblem = '';
  log(`watching ${join(settings.certDir, 'tls.crt')} and tls.key every ${settings.pollMs / 1000} s; Vault reloads them on SIGHUP`);
  while (!stop.aborted) {
    try {
      const pair = readPair(settings.certDir);
      if (loaded === undefined) {
        loaded = pair.digest;
        log(`vault serves the certificate of ${pair.description}`);
      } else if (pair.digest !== loaded) {
        const pid = findVaultServer(settings.procRoot);
        try {
          process.kill(pid, 'SIGHUP');
        } catch (error) {
          throw new Error(`cannot signal vault server (pid ${pid}): ${(error as NodeJS.ErrnoException).code ?? reason(error)}: the sidecar must run as Vault's uid, with Vault's AppArmor profile`);
        }
        loaded = pair.digest;
        log(`reloaded: sent SIGHUP to vault server (pid ${pid}) for the renewed certificate of ${pair.description}`);
      }
      lastProblem = '';
    } catch (error) {
      const message = reason(error);
      if (message !== lastProblem) logError(`waiting: ${message}`);
      lastProblem = message;
    }
    await pause(settings.pollMs, stop);
  }
  log(`stopped by ${String(stop.reason ?? 'request')}`);
  return 0;
}

if (require.main === module) startService((stop) => main(undefined, undefined, stop));
