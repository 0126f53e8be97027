// The PromQL of the alerts, built from checked names: what VaultAlerts says to Prometheus, apart from what it means.
//
// Metric and label names, as checked in the upstream sources:
// - kube-state-metrics (kubernetes/kube-state-metrics, docs/metrics/workload/{job,cronjob,statefulset}-metrics.md):
//   `kube_statefulset_replicas`, `kube_statefulset_status_replicas_ready` {namespace, statefulset};
//   `kube_job_owner` {namespace, job_name, owner_kind, owner_name}, `kube_job_failed` {namespace, job_name, condition},
//   `kube_job_status_start_time` {namespace, job_name}; `kube_cronjob_status_last_successful_time`,
//   `kube_cronjob_created`, `kube_cronjob_spec_suspend` {namespace, cronjob}.
// - External Secrets Operator (external-secrets/external-secrets, docs/api/metrics.md;
//   pkg/controllers/secretstore/cssmetrics/cssmetrics.go and pkg/controllers/externalsecret/esmetrics/esmetrics.go,
//   label names in pkg/controllers/metrics/labels.go): `clustersecretstore_status_condition` and
//   `externalsecret_status_condition` {name, namespace, condition, status}. For the Ready condition the series
//   {status="False"} is 1 while the object is not ready and 0 once it is. Beside it the store metric and older
//   releases' ExternalSecret metric carry an inverse {status="True"} series, which newer releases drop for
//   ExternalSecrets unless run with --use-deprecated-status-condition (pkg/controllers/metrics/status_condition.go),
//   so `{condition="Ready", status="False"} == 1` reads the same on all of them. A ClusterSecretStore's `namespace` label is
//   empty; an ExternalSecret's collides with the scrape target's and arrives as `exported_namespace` unless the
//   ServiceMonitor honours labels, so the rules keep both and do not filter on it. The counter
//   `externalsecret_sync_calls_error` also counts the errors of retries that later succeed (every Vault restart), so
//   the Ready condition is the signal.
//
// What kube-state-metrics cannot see: a Job's exit code. It exports only the code of a container's previous
// termination (`kube_pod_container_status_last_terminated_exitcode`, from `lastState`), and these Jobs run their pod
// once (`restartPolicy: Never`, `backoffLimit: 0`), so exit 1 ("not yet") and exit 2 ("a human is needed") look the
// same: a failed Job. The "human needed" alerts therefore use duration: runs that keep failing long after every
// transient cause would have cleared. The exit code itself is in the Job's log line (docs/eso-recovery.md says how to read it).
import { promDurationSeconds } from './checks';

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
export function selector(metric: string, matchers: Record<string, string>, regexMatchers: Record<string, string> = {}): string {
  const all = [...Object.entries(matchers).map(([k, v]) => `${k}="${v}"`), ...Object.entries(regexMatchers).map(([k, v]) => `${k}=~"${v}"`)];
  return `${metric}{${all.join(', ')}}`;
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
