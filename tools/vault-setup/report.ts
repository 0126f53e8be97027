// The plan as text: one line per item ("<item>: <state>") with its diff lines indented below, one line per unmanaged
// policy or role, one line per declared secret (field names only), then a summary line.
import { conflicts, missing, pending, Plan, PlanItem, SecretCheck } from '../../runtime/common/vault-config/plan';

export function itemLines(items: PlanItem[]): string[] {
  return items.flatMap((item) => [`${item.label}: ${item.state}`, ...item.details.map((d) => `  ${d}`)]);
}

/** A line per item whose change needs a check first: shown by plan and by apply, never an error. */
export function warningLines(items: PlanItem[]): string[] {
  return items.filter((item) => item.warning).map((item) => `warning: ${item.warning}`);
}

export function unmanagedLines(plan: Plan): string[] {
  return plan.unmanaged.map((what) => `${what}: not managed here (left alone)`);
}

function secretLine(check: SecretCheck): string {
  const readers = check.readers.length > 0 ? ` (read by ${check.readers.join(', ')})` : '';
  switch (check.state) {
    case 'ok': return `${check.label}: ok`;
    case 'missing': return `${check.label}: missing${check.fields.length > 0 ? `, needs fields ${check.fields.join(', ')}` : ''}${readers}`;
    case 'missing fields': return `${check.label}: missing fields ${check.missingFields.join(', ')}${readers}`;
    case 'not checked': return `${check.label}: not checked${check.note ? `, ${check.note}` : ''}${readers}`;
  }
}

export function secretLines(plan: Plan): string[] {
  return plan.secrets.map(secretLine);
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** "secrets: 3 ok, 1 missing". */
export function secretSummary(plan: Plan): string {
  const ok = plan.secrets.filter((s) => s.state === 'ok').length;
  const notChecked = plan.secrets.filter((s) => s.state === 'not checked').length;
  return `secrets: ${ok} ok, ${missing(plan).length} missing${notChecked ? `, ${notChecked} not checked` : ''}`;
}

export function planSummary(plan: Plan): string {
  const creates = plan.items.filter((i) => i.state === 'create').length;
  const changes = plan.items.filter((i) => i.state === 'change').length;
  const synced = plan.items.filter((i) => i.state === 'in sync').length;
  const blocked = conflicts(plan).length;
  const retiring = plan.retirable.length > 0 ? `, ${plan.retirable.length} to retire (\`npm run vault-setup -- retire\`)` : '';
  const next = blocked > 0 ? ': resolve the conflicts by hand first'
    : pending(plan).length > 0 ? ': run `npm run vault-setup -- apply` to make these changes'
      : missing(plan).length > 0 ? ': write the missing secrets with `vault kv put` (see the README)' : '';
  return `plan: ${creates} to create, ${changes} to change, ${synced} in sync${retiring}${blocked ? `, ${count(blocked, 'conflict')}` : ''}; ${secretSummary(plan)}${next}`;
}
