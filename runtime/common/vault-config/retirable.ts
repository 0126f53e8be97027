// Which roles and policies a retired store role left behind: when the stores of dist/ no longer log in with a role that
// vault-setup wrote (the shared `eso-reader` once each namespace has a store and role of its own), the role and its
// policy stay in Vault until the operator deletes them by name (retire.ts). Only a pair that is vault-setup's own is
// offered: a role naming exactly one policy of its own name, which carries vault-setup's header (policyText) and which
// no other role of the managed mounts names. Anything else is listed as "not managed here" and never touched.
import { DesiredConfig } from './desired';
import { nameSet } from './normalize';
import { writtenByVaultSetup } from './policy';
import { VaultState } from './state';

/** A role and its policy, both named `name`, that no store of dist/ uses any more. */
export interface Retirement {
  readonly name: string;
  readonly authMount: string;
}

const policiesOf = (role: Record<string, any> | undefined) => nameSet(role?.token_policies ?? role?.policies);

/** vault-setup's own role-and-policy pairs that dist/ no longer asks for. */
export function retirements(want: DesiredConfig, state: VaultState): Retirement[] {
  const others = [...(state.otherRoles ?? new Map<string, Record<string, any> | undefined>())];
  const found: Retirement[] = [];
  for (const [key, role] of others) {
    const authMount = key.slice(0, key.lastIndexOf('/'));
    const name = key.slice(key.lastIndexOf('/') + 1);
    const policies = policiesOf(role);
    if (policies.length !== 1 || policies[0] !== name || want.policies.some((p) => p.name === name)) continue;
    if (!writtenByVaultSetup(name, state.otherPolicies?.get(name))) continue;
    const sharedWith = [...state.roles.values(), ...others.filter(([k]) => k !== key).map(([, r]) => r)].some((r) => policiesOf(r).includes(name));
    if (!sharedWith) found.push({ name, authMount });
  }
  return found.sort((a, b) => `${a.authMount}/${a.name}`.localeCompare(`${b.authMount}/${b.name}`));
}

