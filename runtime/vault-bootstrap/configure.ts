// Keeping Vault as declared: the plan vault-setup makes (runtime/common/vault-config), applied with whichever token the
// run holds, then read back. What the token may write depends on who holds it: a root token (init, or generated from
// the stored shares) writes everything, except that in report mode a generated root creates only the job's identity;
// the job's own identity writes everything but its own policy and role (it cannot widen itself); in report mode it
// writes nothing. Whatever still differs afterwards is drift: one line naming it, a Warning Event, a failed run.
import { KubeApi } from '../common/kube';
import { recordEvent } from '../common/events';
import { applyItems } from '../common/vault-config/apply';
import { DesiredConfig } from '../common/vault-config/desired';
import { conflicts, makePlan, missing, pending, PlanItem } from '../common/vault-config/plan';
import { readState } from '../common/vault-config/state';
import { VaultClient } from '../common/vault-config/vault-client';

export interface Identity {
  readonly authMount: string;
  readonly role: string;
}

/** What the token may write: all, the job's identity only (a generated root in report mode), all but its own, or none. */
export type Writes = 'all' | 'identity' | 'not own' | 'none';

export interface Configured {
  readonly written: string[];
  /** What still differs from the plan (or conflicts with it), one label each. */
  readonly drift: string[];
  /** The secrets ExternalSecrets read that Vault lacks (values are a human's to write). */
  readonly missing: string[];
}

function isOwn(item: PlanItem, who: Identity): boolean {
  return item.label === `policy ${who.role}` || item.label === `role ${who.authMount}/${who.role}`;
}

function writable(item: PlanItem, writes: Writes, who: Identity): boolean {
  if (writes === 'all') return true;
  if (writes === 'none') return false;
  if (writes === 'not own') return !isOwn(item, who);
  return isOwn(item, who) || item.label === `auth ${who.authMount}/` || item.label === `auth ${who.authMount}/ config`;
}

export async function configure(vault: VaultClient, want: DesiredConfig, writes: Writes, who: Identity): Promise<Configured> {
  const before = await readState(vault, want, { others: false });
  const plan = makePlan(want, before);
  const blocked = conflicts(plan);
  // A conflict blocks every write, as in vault-setup: a human decides first.
  const allowed = blocked.length > 0 ? [] : pending(plan).filter((item) => writable(item, writes, who));
  // With a root token the job's own identity comes first (after the audit device, so that it is audited): a write that
  // fails later leaves a Vault the next run logs in to as itself, without a root token.
  const first = (item: PlanItem) => (item.label.startsWith('audit ') ? 0 : writable(item, 'identity', who) ? 1 : 2);
  const toWrite = writes === 'all' ? [...allowed].sort((a, b) => first(a) - first(b)) : allowed;
  const written = await applyItems(vault, toWrite);
  const created = want.kvMounts.filter((mount) => !before.mounts[`${mount}/`]);
  const after = written.length > 0 ? makePlan(want, await readState(vault, want, { emptyMounts: created, others: false })) : plan;
  return {
    written,
    drift: [...conflicts(after).map((i) => `${i.label} (conflict: ${i.conflict ?? 'see vault-setup plan'})`), ...pending(after).map((i) => `${i.label} (${i.state})`)],
    missing: missing(after).map((s) => s.label),
  };
}

/** A Warning Event on the CronJob (`kubectl get events` shows it for an hour), its message cut at `maxChars`. */
export function recordWarning(
  kube: KubeApi, namespace: string, cronJob: string, why: string, message: string, now: number, say: (line: string) => void, maxChars = 1024,
): Promise<void> {
  return recordEvent(kube, {
    namespace, name: `${cronJob}.${why.toLowerCase()}.${now.toString(16)}`, about: `cronjob ${namespace}/${cronJob}`,
    involvedObject: { apiVersion: 'batch/v1', kind: 'CronJob', name: cronJob, namespace },
    reason: why, type: 'Warning', message, component: cronJob,
  }, now, say, maxChars);
}
