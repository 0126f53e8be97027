// vault-raft-snapshot: takes a snapshot of Vault's Raft storage, which free Vault does not automate. Bundled by
// esbuild into one dependency-free script and run by its CronJob; configured by environment variables. It logs in
// with Kubernetes auth (its own service account token, its own role), streams GET sys/storage/raft/snapshot from the
// active node to a temporary file on its claim while checking it is a complete snapshot (gzip, the tar's meta.json,
// state.bin and SHA256SUMS, the sums), flushes it, renames it into place and keeps the newest SNAPSHOT_KEEP.
// Exit codes: 0 a verified snapshot was written; 1 not now (Vault unreachable, sealed, a cut or stalled transfer, a
// body that is not a snapshot: the next run retries); 2 a human is needed (login refused, no permission, storage is
// not Raft, the claim is full or not writable, a malformed setting, Vault's certificate fails: expired, from another CA
// than VAULT_CACERT's, lacking the name called, TLS on one side only).
import { closeSync, readFileSync, unlinkSync } from 'fs';
import { Budget } from './common/budget';
import { download } from './common/download';
import { DEFAULTS, ENV } from './common/variables';
import { describeAnswer, request } from './common/http';
import { RunError } from './common/failure';
import { Io, Statfs, statfsOf } from './common/io';
import { Log, logTo, processOutput, redact, reason } from './common/log';
import { runScript, start } from './common/main';
import { finished, Outcome, retry } from './common/retry';
import { Env, readInteger, readRetrySettings, readSeconds, readString, RetrySettings } from './common/settings';
import { CaFile } from './common/tls';
import { readVaultTarget, vaultCall, vaultErrors } from './common/vault';
import { isNotASnapshot } from './raft-snapshot/archive';
import { SNAPSHOT_DEFAULTS, SNAPSHOT_ENV } from './common/snapshot-variables';
import { SnapshotSink } from './raft-snapshot/sink';
import { listSnapshots, openTemporary, prune, publish, removeLeftovers, snapshotName, spaceProblem } from './raft-snapshot/store';

export interface SnapshotSettings extends RetrySettings {
  /** The active node's URL (the active Service). */
  readonly vaultAddr: string;
  /** The CA Vault's certificate must chain to (`VAULT_CACERT`); absent while Vault speaks plain HTTP. */
  readonly vaultCa?: CaFile;
  readonly authMount: string;
  readonly role: string;
  readonly tokenFile: string;
  readonly dir: string;
  readonly keep: number;
  /** The longest pause in the transfer, in ms. */
  readonly stallMs: number;
}

export function readSnapshotSettings(env: Env): SnapshotSettings {
  return {
    ...readVaultTarget(env),
    authMount: readString(env, SNAPSHOT_ENV.authMount, SNAPSHOT_DEFAULTS.authMount, /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/),
    role: readString(env, SNAPSHOT_ENV.role, SNAPSHOT_DEFAULTS.role, /^[A-Za-z0-9_.-]+$/),
    tokenFile: readString(env, ENV.kubeTokenFile, DEFAULTS.kubeTokenFile),
    dir: readString(env, SNAPSHOT_ENV.dir, SNAPSHOT_DEFAULTS.dir, /^\/\S*$/),
    keep: readInteger(env, SNAPSHOT_ENV.keep, SNAPSHOT_DEFAULTS.keep, 1, 1000),
    stallMs: readSeconds(env, SNAPSHOT_ENV.stallSeconds, SNAPSHOT_DEFAULTS.stallSeconds, 0.1, 600) * 1000,
    ...readRetrySettings(env),
  };
}

const SNAPSHOT_PATH = '/v1/sys/storage/raft/snapshot';
const POLICY_HINT = 'its policy must allow "read" on sys/storage/raft/snapshot (run `npm run vault-setup -- apply`)';

/** Logs in with the pod's service account token; the Vault token, or the outcome that ends the attempt. */
async function login(s: SnapshotSettings, budget: Budget): Promise<{ token: string } | { outcome: Outcome }> {
  let jwt: string;
  try {
    jwt = readFileSync(s.tokenFile, 'utf8').trim();
  } catch (error) {
    return { outcome: finished(`cannot read the service account token at ${s.tokenFile} (${(error as NodeJS.ErrnoException).code}): the pod must mount its token`, 2) };
  }
  redact(jwt);
  const name = `POST /v1/auth/${s.authMount}/login`;
  const answer = await request(`${s.vaultAddr}/v1/auth/${s.authMount}/login`, {
    name, method: 'POST', body: { role: s.role, jwt }, timeoutMs: budget.callMs(), ...vaultCall(s.vaultAddr, { ca: s.vaultCa }),
  });
  const token = answer.json?.auth?.client_token;
  if (answer.status === 200 && typeof token === 'string' && token !== '') {
    redact(token);
    return { token };
  }
  if (answer.status === 200) return { outcome: retry(`${name} answered ${describeAnswer(answer)}, not a login`) };
  // 400 (no such role, a token the role does not bind), 403 (the token review refused it): only a change helps.
  if (answer.status === 400 || answer.status === 403) {
    return {
      outcome: finished(`vault refused the login as role "${s.role}" at auth/${s.authMount} (HTTP ${answer.status}${vaultErrors(answer)}): `
        + 'the role must bind this service account and its namespace (run `npm run vault-setup -- apply`)', 2),
    };
  }
  return { outcome: retry(`${name} answered HTTP ${answer.status}${vaultErrors(answer)}`) };
}

/** Why a failed write of the snapshot file needs a human, or undefined when the next run may succeed. */
function diskProblem(error: unknown, dir: string): string | undefined {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return `the snapshot claim at ${dir} is full (${code}): lower SNAPSHOT_KEEP or grow the claim`;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return `cannot write to ${dir} (${code}): mount the snapshot claim there, writable by the pod's fsGroup`;
  if (code === 'ENOENT' || code === 'ENOTDIR') return `no snapshot folder at ${dir} (${code}): mount the snapshot claim there`;
  return undefined;
}

/**
 * One attempt: log in, stream the snapshot to a temporary file, check it, publish it, prune the old ones. The claim's
 * free space comes from `statfs`.
 */
export async function attemptSnapshot(
  s: SnapshotSettings, budget: Budget, { log }: Log, statfs: Statfs, now: () => Date = () => new Date(),
): Promise<Outcome> {
  let temporary: string | undefined;
  // The descriptor belongs to the sink once it exists (it closes it); until then, to this attempt.
  let unowned: number | undefined;
  const discard = () => {
    if (unowned !== undefined) closeSync(unowned);
    if (temporary !== undefined) {
      try { unlinkSync(temporary); } catch { /* already gone */ }
    }
    unowned = undefined;
    temporary = undefined;
  };
  try {
    for (const name of removeLeftovers(s.dir)) log(`removed ${name}, left by a run that did not finish`);
    // Beyond SNAPSHOT_KEEP first: they go after this run's snapshot anyway, and a claim that is full only because of
    // them (SNAPSHOT_KEEP just lowered) would otherwise never have room again: the prune below runs only after a success.
    const beyondKeep = prune(s.dir, s.keep);
    if (beyondKeep.length) log(`deleted ${beyondKeep.join(', ')}: beyond SNAPSHOT_KEEP ${s.keep}`);
    const space = spaceProblem(s.dir, statfs);
    if (space) return finished(space, 2);
    const auth = await login(s, budget);
    if ('outcome' in auth) return auth.outcome;

    const name = snapshotName(now());
    const file = openTemporary(s.dir, name);
    temporary = file.path;
    unowned = file.fd;
    let sink: SnapshotSink | undefined;
    const answer = await download(`${s.vaultAddr}${SNAPSHOT_PATH}`, {
      name: `GET ${SNAPSHOT_PATH}`,
      ...vaultCall(s.vaultAddr, { ca: s.vaultCa }),
      headers: { 'x-vault-token': auth.token },
      // The transfer may use what the run has left; a stall ends it much sooner.
      deadlineMs: Math.max(1, budget.leftMs()),
      stallMs: s.stallMs,
      sink: () => {
        unowned = undefined;
        return (sink = new SnapshotSink(file.fd));
      },
    });
    if (!answer.ok) {
      discard();
      const errors = vaultErrors({ status: answer.status, json: answer.json });
      if (answer.status === 403) return finished(`vault denied the snapshot (HTTP 403${errors}): ${POLICY_HINT}`, 2);
      if (/raft|unsupported path/i.test(errors) && answer.status < 500) {
        return finished(`vault cannot take a Raft snapshot (HTTP ${answer.status}${errors}): its storage is not Raft`, 2);
      }
      return retry(`GET ${SNAPSHOT_PATH} answered HTTP ${answer.status}${errors}`);
    }
    const { bytes, sha256, summary } = sink!.outcome;
    publish(s.dir, file.path, name, sha256);
    temporary = undefined;
    const deleted = [...beyondKeep, ...prune(s.dir, s.keep)];
    const kept = listSnapshots(s.dir).length;
    await request(`${s.vaultAddr}/v1/auth/token/revoke-self`, {
      ...vaultCall(s.vaultAddr, { ca: s.vaultCa }), name: 'POST /v1/auth/token/revoke-self', method: 'POST', headers: { 'x-vault-token': auth.token }, timeoutMs: Math.min(budget.leftMs(), 2000) || 1,
    }).catch(() => undefined);
    return finished(`snapshot ${name}: ${bytes} bytes, sha256 ${sha256}, raft index ${summary.index} term ${summary.term}; `
      + `${kept} kept (keep ${s.keep})${deleted.length ? `, deleted ${deleted.join(', ')}` : ''}`);
  } catch (error) {
    discard();
    const disk = diskProblem(error, s.dir);
    if (disk) return finished(disk, 2);
    if (error instanceof RunError && error.exitCode === 2) return finished(`${error.message}; nothing written`, 2);
    if (isNotASnapshot(error) || /not a Vault Raft snapshot/.test(reason(error))) {
      return retry(`GET ${SNAPSHOT_PATH}: ${reason(error)}; nothing written`);
    }
    return retry(`${reason(error)}; nothing written`);
  }
}

export function main(env: Env = process.env, io: Io = processOutput): Promise<number> {
  const out = logTo(io);
  return runScript(env, readSnapshotSettings, (s, budget) => attemptSnapshot(s, budget, out, statfsOf(io)), out);
}

if (require.main === module) start(() => main());
