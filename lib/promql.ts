// The PromQL of the alerts, built from checked names: what VaultAlerts says to Prometheus, apart from what it means.
import { promDurationSeconds } from './validate';

/** One alerting rule, as the construct builds it. */
export interface Alert {
  readonly name: string;
  readonly severity: 'critical' | 'warning';
  readonly expr: string;
  readonly for?: string;
  readonly summary: string;
  readonly description: string;
}

/** `metric{a="1", b="2"}`; the values are DNS names, checked, so they need no escaping. */
export function selector(metric: string, matchers: Record<string, string>): string {
  return `${metric}{${Object.entries(matchers).map(([k, v]) => `${k}="${v}"`).join(', ')}}`;
}

/** Vault's StatefulSet has fewer ready replicas than it wants (none wanted, such as during a restore, is not an alert). */
export function vaultNotReady(namespace: string, statefulSet: string): string {
  const sts = { namespace, statefulset: statefulSet };
  return [
    `max by (namespace, statefulset) (${selector('kube_statefulset_status_replicas_ready', sts)})`,
    '  < max by (namespace, statefulset) (' + selector('kube_statefulset_replicas', sts) + ')',
  ].join('\n');
}

/** The CronJob's last success, or its creation when it never succeeded, by namespace. */
function lastSuccessOrCreation(namespace: string, cronJob: string): string {
  const cj = { namespace, cronjob: cronJob };
  return `(max by (namespace) (${selector('kube_cronjob_status_last_successful_time', cj)})`
    + ` or max by (namespace) (${selector('kube_cronjob_created', cj)}))`;
}

/**
 * The number of the CronJob's failed Jobs that started after its last success (or creation), by namespace: present
 * while its latest runs fail. The CronJob keeps its last failed Jobs (failedJobsHistoryLimit) indefinitely, so a failed
 * Job alone says nothing about now; one newer than the last success does.
 */
function failedRunsSinceSuccess(namespace: string, cronJob: string): string {
  return [
    'count by (namespace) (',
    '  (',
    `    max by (namespace, job_name) (${selector('kube_job_owner', { namespace, owner_kind: 'CronJob', owner_name: cronJob })})`,
    `    * on (namespace, job_name) max by (namespace, job_name) (${selector('kube_job_failed', { namespace, condition: 'true' })})`,
    '  ) == 1',
    '  and on (namespace, job_name)',
    `  max by (namespace, job_name) (${selector('kube_job_status_start_time', { namespace })})`,
    `    > on (namespace) group_left () ${lastSuccessOrCreation(namespace, cronJob)}`,
    ')',
  ].join('\n');
}

interface CronJobAlertsOptions {
  readonly prefix: string;
  readonly what: string;
  readonly namespace: string;
  readonly cronJob: string;
  readonly failing: Omit<Alert, 'expr'>;
  readonly humanNeeded?: Omit<Alert, 'expr' | 'for'> & { readonly after: string };
  readonly notRunningAfter: string;
  readonly suspendedFor: string;
}

/**
 * The alerts of one of the CronJobs, which run every minute and normally succeed: failing (its runs since the last
 * success failed), optionally needing a human (failing, and no success for longer), suspended, and not running at all
 * (neither a success nor a failure for a long time, and not suspended). At most one of failing, suspended and not
 * running holds at a time.
 */
export function cronJobAlerts(o: CronJobAlertsOptions): Alert[] {
  const cj = { namespace: o.namespace, cronjob: o.cronJob };
  const failing = failedRunsSinceSuccess(o.namespace, o.cronJob);
  const suspended = `max by (namespace) (${selector('kube_cronjob_spec_suspend', cj)}) == 1`;
  const sinceSuccess = `time() - ${lastSuccessOrCreation(o.namespace, o.cronJob)}`;
  const alerts: Alert[] = [{ ...o.failing, expr: failing }];
  if (o.humanNeeded) {
    const { after, ...alert } = o.humanNeeded;
    alerts.push({ ...alert, expr: `(\n  ${sinceSuccess}\n) > ${promDurationSeconds(after)}\nand on (namespace)\n${failing}` });
  }
  alerts.push({
    name: `${o.prefix}Suspended`,
    severity: 'warning',
    expr: `max by (namespace, cronjob) (${selector('kube_cronjob_spec_suspend', cj)}) == 1`,
    for: o.suspendedFor,
    summary: `CronJob ${o.cronJob} (${o.what}) has been suspended for ${o.suspendedFor}.`,
    description: `CronJob ${o.namespace}/${o.cronJob} is suspended, so ${o.what} does not run: resume it `
      + `(kubectl -n ${o.namespace} patch cronjob ${o.cronJob} -p '{"spec":{"suspend":false}}') unless that is intended.`,
  });
  alerts.push({
    name: `${o.prefix}NotRunning`,
    severity: 'warning',
    expr: `(\n  ${sinceSuccess}\n) > ${promDurationSeconds(o.notRunningAfter)}\nunless on (namespace)\n${failing}\nunless on (namespace)\n${suspended}`,
    summary: `CronJob ${o.cronJob} (${o.what}) has not run for ${o.notRunningAfter}: no Job succeeded or failed.`,
    description: `CronJob ${o.namespace}/${o.cronJob} has had no successful run for ${o.notRunningAfter} and no failed `
      + 'one since, and it is not suspended: it creates no Jobs (missed schedules, a stuck Job, the CronJob controller).',
  });
  return alerts;
}
