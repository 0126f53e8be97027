// `npm run vault-setup -- retire`: deletes, by name and only when the operator confirms it, a role and policy of
// vault-setup's own that the stores of dist/ no longer log in with (retirable.ts says which), once the stores that
// replace them are Ready. The plan lists them; apply never deletes anything.
import { Log } from '../../runtime/common/log';
import { conflicts, pending, Plan } from '../../runtime/common/vault-config/plan';
import { Retirement } from '../../runtime/common/vault-config/retirable';
import { encodePath, VaultClient } from '../../runtime/common/vault-config/vault-client';

const label = (r: Retirement) => `role ${r.authMount}/${r.name} and policy ${r.name}`;

/** The plan's line for each pair: what it is, and the step that deletes it. */
export function retirementLines(plan: Plan): string[] {
  return plan.retirable.map((r) => `${label(r)}: vault-setup's own, and no store in dist/ logs in with them any more: `
    + `once every store that replaces them is Ready, delete them with \`npm run vault-setup -- retire --confirm ${r.name}\``);
}

/**
 * `retire`: without a name, lists what could go (exit 2, like a plan with changes); with `--confirm <name>`, deletes
 * that role, then its policy, and reads both back. Refused while Vault differs from dist/: apply comes first.
 */
export async function retire(vault: VaultClient, plan: Plan, confirmed: string[], { log, logError }: Log): Promise<number> {
  const behind = [...conflicts(plan), ...pending(plan)];
  if (behind.length > 0) {
    logError(`retire: vault differs from dist/ at ${behind.map((i) => i.label).join(', ')}: run \`npm run vault-setup -- apply\` first; nothing deleted`);
    return 1;
  }
  const unknown = confirmed.filter((name) => !plan.retirable.some((r) => r.name === name));
  if (unknown.length > 0) {
    logError(`retire: ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not vault-setup's own role and policy left over by dist/ `
      + `(retirable: ${plan.retirable.map((r) => r.name).join(', ') || 'none'}): delete by hand what vault-setup did not write; nothing deleted`);
    return 1;
  }
  if (confirmed.length === 0) {
    if (plan.retirable.length === 0) {
      log('retire: nothing to retire');
      return 0;
    }
    log(`retire: nothing deleted; once the stores that replace them are Ready, run \`npm run vault-setup -- retire ${plan.retirable.map((r) => `--confirm ${r.name}`).join(' ')}\``);
    return 2;
  }
  for (const r of plan.retirable.filter((x) => confirmed.includes(x.name))) {
    const role = `/v1/auth/${encodePath(r.authMount)}/role/${encodePath(r.name)}`;
    const policy = `/v1/sys/policies/acl/${encodePath(r.name)}`;
    // The role first: from then on nothing logs in with the policy.
    await vault.delete(role);
    await vault.delete(policy);
    if (await vault.read(role) !== undefined || await vault.read(policy) !== undefined) {
      logError(`retire: ${label(r)} still answer after the delete: run plan to see them, and report it`);
      return 1;
    }
    log(`retired ${label(r)} (read back: gone)`);
  }
  return 0;
}
