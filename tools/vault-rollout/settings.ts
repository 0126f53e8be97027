// The command line and the environment. Every wait is bounded by --timeout and every call by its own bound, so that a
// rollout that cannot go on stops with a line instead of hanging; the poll interval is a setting so that the tests and
// the bench can run the same waits in a fraction of a second.
import { resolve } from 'path';
import { Env, readSeconds, readString } from '../../runtime/common/settings';

export const USAGE = [
  'usage: npm run vault-rollout -- [--dry-run] [--yes] [--timeout DURATION] [--dist DIR]',
  "  replaces Vault's pods that run an older revision than the StatefulSet's update revision, one at a time: the",
  '  standbys first, then the leader after a step-down; each new pod must be Running, unsealed and (Raft) a healthy',
  '  voter before the next one goes',
  '  --dry-run     print the plan (which pods, in which order, which is the leader) and change nothing',
  "  --yes         accept the downtime of replacing Vault's only pod (file storage, or a single Raft node) without asking",
  '  --timeout D   how long each pod may take to come back, and the leader to hand over (default 10m; such as 90s, 15m, 1h)',
  '  --dist DIR    the synthesized manifests (default: dist/ of the project)',
  'exit 0 done or nothing to do, 1 stopped or refused (one line says where, and how to go on)',
  'environment: VAULT_TOKEN (else ~/.vault-token), KUBECONFIG and the rest of kubectl\'s own,',
  "             VAULT_CACERT (the CA of vault's certificate: needed when dist/ says vault speaks TLS),",
  '             VAULT_ROLLOUT_KUBECTL (the kubectl to run, default kubectl),',
  '             VAULT_ROLLOUT_CALL_SECONDS (bound on each call, default 10), VAULT_ROLLOUT_POLL_SECONDS (default 2)',
];

export interface Args {
  readonly help: boolean;
  readonly dryRun: boolean;
  readonly yes: boolean;
  readonly timeoutMs: number;
  readonly distDir: string;
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600 };

/** "90s", "15m", "1h" or plain seconds, from 1 s to a day. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([smh]?)$/.exec(text);
  const seconds = match ? Number(match[1]) * UNITS[match[2] || 's'] : NaN;
  if (!(seconds >= 1 && seconds <= 86400)) throw new Error(`--timeout ${JSON.stringify(text)}: expected a duration such as 90s, 10m or 1h (1s to 24h)`);
  return seconds * 1000;
}

/** Throws a one-line reason for a bad argument; the caller prints the usage. */
export function parseArgs(argv: string[]): Args {
  let help = false;
  let dryRun = false;
  let yes = false;
  let timeoutMs = 600_000;
  let distDir = 'dist';
  const value = (arg: string, name: string, next: () => string | undefined): string => {
    const given = arg === name ? next() : arg.slice(name.length + 1);
    if (!given) throw new Error(`${name} needs a value`);
    return given;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') help = true;
    else if (arg === '--dry-run') dryRun = true;
    else if (arg === '--yes' || arg === '-y') yes = true;
    else if (arg === '--timeout' || arg.startsWith('--timeout=')) timeoutMs = parseDuration(value(arg, '--timeout', () => argv[++i]));
    else if (arg === '--dist' || arg.startsWith('--dist=')) distDir = value(arg, '--dist', () => argv[++i]);
    else throw new Error(`unexpected argument "${arg}"`);
  }
  // Relative to the working directory, which `npm run` and scripts/vault-rollout.js set to the project root.
  return { help, dryRun, yes, timeoutMs, distDir: resolve(distDir) };
}

export interface RolloutSettings {
  readonly kubectl: string;
  readonly callMs: number;
  readonly pollMs: number;
}

export function readSettings(env: Env): RolloutSettings {
  return {
    kubectl: readString(env, 'VAULT_ROLLOUT_KUBECTL', 'kubectl'),
    callMs: readSeconds(env, 'VAULT_ROLLOUT_CALL_SECONDS', 10, 0.1, 120) * 1000,
    pollMs: readSeconds(env, 'VAULT_ROLLOUT_POLL_SECONDS', 2, 0.01, 60) * 1000,
  };
}

/** "4.2 s", "42 s", "3m 05s": how long a step took, for the progress lines. */
export function showMs(ms: number): string {
  if (ms < 9950) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  return seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, '0')}s`;
}

/** "10m", "90s": the timeout as the operator wrote it, near enough. */
export function showTimeout(ms: number): string {
  const seconds = ms / 1000;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}
