// vault-setup: Vault's side of the secrets setup (the KV v2 mount, the Kubernetes auth method and its config, one
// least-privilege policy and one role per store role), derived from the manifests in dist/ that GitOps applies.
// `plan` shows the difference and checks that every secret and field an ExternalSecret reads exists; `apply` makes
// exactly those changes. Run on the operator's machine through a port-forward: `npm run vault-setup -- plan|apply`.
// The admin token goes over plain http only to this machine (the port-forward's end) unless `--allow-http` says so;
// when dist/ says Vault's listener speaks TLS, over https verified against VAULT_CACERT.
// The derivation (desired configuration, plan, apply) is runtime/common/vault-config/, shared with the bootstrap job.
// Before Vault is asked anything, dist/ is checked to fence each app namespace: no store may let a namespace it admits
// read a path that namespace's own ExternalSecrets do not (fences.ts there); otherwise the run is refused, exit 2. `retire`
// deletes a role and policy of its own that dist/ no longer uses, only when the operator names it (retire.ts).
// Exit codes as Terraform's -detailed-exitcode: plan 0 in sync and nothing missing, 2 changes pending or secrets
// missing; apply 0 when Vault is in sync afterwards; 1 on any error (a bad argument, sealed, unreachable, 403, a
// conflict); 2 for dist/ refused by the fence check.
import { Log, logTo, Output, processOutput, reason, redact } from '../../runtime/common/log';
import { start } from '../../runtime/common/main';
import { Env } from '../../runtime/common/settings';
import { isLoopbackHost } from './cleartext';
import { applyItems } from '../../runtime/common/vault-config/apply';
import { DesiredConfig } from '../../runtime/common/vault-config/desired';
import { deriveConfig } from '../../runtime/common/vault-config/derive';
import { FenceError } from '../../runtime/common/vault-config/fences';
import { readManifests } from './manifests';
import { conflicts, makePlan, missing, pending, Plan } from '../../runtime/common/vault-config/plan';
import { portForwardHint } from './port-forward';
import { retire, retirementLines } from './retire';
import { listenerTls } from './tls';
import { itemLines, planSummary, secretLines, secretSummary, unmanagedLines, warningLines } from './report';
import { Args, parseArgs, readConnection, USAGE } from './settings';
import { checkVault, readState, VaultState } from '../../runtime/common/vault-config/state';
import { VaultClient, vaultClient } from '../../runtime/common/vault-config/vault-client';

async function apply(vault: VaultClient, want: DesiredConfig, before: VaultState, plan: Plan, { log, logError }: Log): Promise<number> {
  const written = await applyItems(vault, pending(plan));
  written.forEach((line) => log(line));
  const created = want.kvMounts.filter((mount) => !before.mounts[`${mount}/`]);
  const after = makePlan(want, await readState(vault, want, { emptyMounts: created }));
  const still = pending(after);
  if (still.length > 0) {
    logError(`read back after apply, vault still differs at ${still.map((i) => i.label).join(', ')}: run plan to see how, and report it`);
    return 1;
  }
  secretLines(after).forEach((line) => log(line));
  const next = missing(after).length > 0 ? ': write the missing secrets with `vault kv put` (see the README)' : '';
  const wrote = written.length > 0 ? `${written.length} written` : 'nothing to write';
  log(`apply: ${wrote}, vault's configuration is in sync (read back); ${secretSummary(after)}${next}`);
  return 0;
}

/** The local end of the port-forward: VAULT_ADDR's port when it points at this machine, else Vault's usual 8200. */
function localPort(addr: string): string {
  const url = new URL(addr);
  if (!isLoopbackHost(url.hostname)) return '8200';
  return url.port || (url.protocol === 'https:' ? '443' : '80');
}

async function run(args: Args, env: Env, out: Log): Promise<number> {
  const { log, logError } = out;
  const docs = readManifests(args.distDir);
  const { manifests, want } = deriveConfig(docs);
  const connection = readConnection(env, args.allowHttp, listenerTls(docs));
  redact(connection.token);
  const vault = vaultClient({ ...connection, portForward: portForwardHint(manifests.stores, localPort(connection.addr)) });
  await checkVault(vault);
  const state = await readState(vault, want);
  const plan = makePlan(want, state);
  [...itemLines(plan.items), ...unmanagedLines(plan), ...retirementLines(plan), ...warningLines(plan.items)].forEach((line) => log(line));
  if (args.command === 'retire') return retire(vault, plan, args.confirm, out);
  const blocked = conflicts(plan);
  if (args.command === 'plan') {
    secretLines(plan).forEach((line) => log(line));
    log(planSummary(plan));
  }
  if (blocked.length > 0) {
    blocked.forEach((item) => logError(item.conflict ?? `${item.label}: conflict`));
    logError('nothing written: vault-setup makes no change while any item conflicts');
    return 1;
  }
  if (args.command === 'plan') return pending(plan).length > 0 || missing(plan).length > 0 ? 2 : 0;
  return apply(vault, want, state, plan, out);
}

export async function main(argv: string[], env: Env = process.env, io: Output = processOutput): Promise<number> {
  const out = logTo(io);
  const { log, logError } = out;
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (error) {
    logError(reason(error));
    USAGE.forEach((line) => logError(line));
    return 1;
  }
  if (args.help) {
    USAGE.forEach((line) => log(line));
    return 0;
  }
  try {
    return await run(args, env, out);
  } catch (error) {
    logError(reason(error));
    return error instanceof FenceError ? 2 : 1;
  }
}

/** The entry point of the bundle: exits with main's code. */
export function cli(argv: string[] = process.argv.slice(2)): void {
  start(() => main(argv));
}

if (require.main === module) cli();
