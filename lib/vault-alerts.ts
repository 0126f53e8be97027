import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { PrometheusRule, PrometheusRuleSpecGroupsRules, PrometheusRuleSpecGroupsRulesExpr } from '../imports/monitoring.coreos.com';
import { EsoStore } from './eso-store';
import {
  checkDnsLabel, checkDnsSubdomain, checkDocumentUrl, checkKnownProps, checkMetadataMap, checkPromDuration, invalid,
  KnownProps, promDurationSeconds, validating,
} from './validate';
import { crdObjectAnnotations } from './gitops';
import { VaultStack } from './vault-stack';

export interface VaultAlertsProps {
  /**
   * The namespace of the PrometheusRule (kube-prometheus-stack reads rules from every namespace by default).
   * @default 'monitoring'
   */
  readonly namespace?: string;

  /**
   * The PrometheusRule's name.
   * @default 'vault-alerts'
   */
  readonly name?: string;

  /**
   * The PrometheusRule's labels, which Prometheus selects rules by: kube-prometheus-stack's `ruleSelector` matches
   * `release: <its Helm release name>` unless told otherwise.
   * @default { release: 'kube-prometheus-stack' }
   */
  readonly labels?: Record<string, string>;

  /**
   * The web address of this project's README, such as
   * `https://git.example.com/homelab/homelab-secrets/src/branch/main/README.md`: each alert gets a `runbook_url` of this
   * plus `#<alert name in lowercase>`, the anchor of its row in the README's alerts table.
   * @default - no `runbook_url`; a `runbook` annotation names the README and the anchor
   */
  readonly runbookBaseUrl?: string;

  /**
   * The VaultStack: its namespace and StatefulSet are watched.
   * @default - none; `vaultNamespace` and `statefulSetName` are used
   */
  readonly vault?: VaultStack;

  /**
   * The EsoStore: its ClusterSecretStore is watched.
   * @default - none; `storeName` is used
   */
  readonly store?: EsoStore;

  /**
   * The namespace of Vault's StatefulSet.
   * @default - `vault.namespace` when `vault` is given, else 'security'
   */
  readonly vaultNamespace?: string;

  /**
   * The name of Vault's StatefulSet.
   * @default - the VaultStack's StatefulSet when `vault` is given, else 'vault'
   */
  readonly statefulSetName?: string;

  /**
   * The namespace of the auto-unseal CronJob (UnsealCron's `namespace`).
   * @default - `vault.namespace` when `vault` is given, else 'security'
   */
  readonly unsealNamespace?: string;

  /**
   * The name of the auto-unseal CronJob.
   * @default 'vault-auto-unseal'
   */
  readonly unsealCronJob?: string;

  /**
   * The namespace of the ESO recovery CronJob (EsoRecoveryCron's `namespace`).
   * @default - `store.namespace` when `store` is given (where EsoRecoveryCron runs), else 'security'
   */
  readonly recoveryNamespace?: string;

  /**
   * The name of the ESO recovery CronJob.
   * @default 'eso-recovery'
   */
  readonly recoveryCronJob?: string;

  /**
   * The name of the ClusterSecretStore.
   * @default - `store.storeName` when `store` is given, else 'k8s-secrets'
   */
  readonly storeName?: string;

  /**
   * VaultNotReady fires when Vault has been unready this long: longer than a reboot takes to reattach the Longhorn
   * volume (4 to 5 minutes here) and auto-unseal to unseal it (seconds).
   * @default '10m'
   */
  readonly notReadyFor?: string;

  /**
   * VaultAutoUnsealFailing fires when the auto-unseal Jobs have kept failing this long. Runs fail by design (exit 1)
   * while the volume reattaches after a reboot, so this is longer than that.
   * @default '10m'
   */
  readonly unsealFailingFor?: string;

  /**
   * VaultAutoUnsealNeedsHuman fires when auto-unseal's runs fail and none has succeeded for this long: the transient
   * causes (exit 1) clear within minutes, the ones that need a human (exit 2) never do. Longer than `unsealFailingFor`.
   * @default '30m'
   */
  readonly humanNeededAfter?: string;

  /**
   * EsoRecoveryNeedsHuman fires when the ESO recovery Jobs have kept failing this long.
   * @default '15m'
   */
  readonly recoveryFailingFor?: string;

  /**
   * The NotRunning alerts fire when a CronJob has neither succeeded nor failed for this long (it creates no Jobs).
   * @default '1h'
   */
  readonly notRunningAfter?: string;

  /**
   * The Suspended alerts fire when a CronJob has been suspended this long (for example left so after a restore).
   * @default '1h'
   */
  readonly suspendedFor?: string;

  /**
   * EsoStoreNotReady fires when the ClusterSecretStore has been unready this long: longer than a reboot, auto-unseal
   * and the recovery job's wake-up of ESO take together.
   * @default '15m'
   */
  readonly storeNotReadyFor?: string;

  /**
   * EsoExternalSecretNotSynced fires when an ExternalSecret has been unready this long: ESO backs off up to 7 minutes
   * per object, and a Secret that stays in sync except for a brief outage should not page.
   * @default '30m'
   */
  readonly secretNotSyncedFor?: string;

  /**
   * EsoStoreMetricsAbsent fires when Prometheus has had no ESO metric of the store for this long (ESO down, or its
   * metrics not scraped), since every ESO alert above is silent then.
   * @default '30m'
   */
  readonly metricsAbsentFor?: string;
}

/** One alerting rule, as the construct builds it. */
interface Alert {
  readonly name: string;
  readonly severity: 'critical' | 'warning';
  readonly expr: string;
  readonly for?: string;
  readonly summary: string;
  readonly description: string;
}

const MINUTE = 60;
const DAY = 86400;

/** `metric{a="1", b="2"}`; the values are DNS names, checked, so they need no escaping. */
function selector(metric: string, matchers: Record<string, string>): string {
  return `${metric}{${Object.entries(matchers).map(([k, v]) => `${k}="${v}"`).join(', ')}}`;
}

/** The name and namespace of the one object of `kind` that `scope` defines, if there is exactly one. */
function definedObject(scope: Construct, kind: string): { name: string; namespace?: string } | undefined {
  const found = scope.node.findAll().filter((c): c is ApiObject => ApiObject.isApiObject(c) && c.kind === kind);
  return found.length === 1 ? { name: found[0].name, namespace: found[0].metadata.namespace } : undefined;
}

/**
 * The PrometheusRule `vault-alerts`: alerts an operator of this stack needs, from what kube-state-metrics and ESO's
 * controller export, each with a severity, a summary and description that say what is wrong, and a runbook (the
 * README's alerts table says what to do).
 *
 * Metric and label names, as checked in the upstream sources:
 * - kube-state-metrics (kubernetes/kube-state-metrics, docs/metrics/workload/{job,cronjob,statefulset}-metrics.md):
 *   `kube_statefulset_replicas`, `kube_statefulset_status_replicas_ready` {namespace, statefulset};
 *   `kube_job_owner` {namespace, job_name, owner_kind, owner_name}, `kube_job_failed` {namespace, job_name, condition},
 *   `kube_job_status_start_time` {namespace, job_name}; `kube_cronjob_status_last_successful_time`,
 *   `kube_cronjob_created`, `kube_cronjob_spec_suspend` {namespace, cronjob}.
 * - External Secrets Operator (external-secrets/external-secrets, docs/api/metrics.md;
 *   pkg/controllers/secretstore/cssmetrics/cssmetrics.go and pkg/controllers/externalsecret/esmetrics/esmetrics.go,
 *   label names in pkg/controllers/metrics/labels.go): `clustersecretstore_status_condition` and
 *   `externalsecret_status_condition` {name, namespace, condition, status}. For the Ready condition the series
 *   {status="False"} is 1 while the object is not ready and 0 once it is. Beside it the store metric and older
 *   releases' ExternalSecret metric carry an inverse {status="True"} series, which newer releases drop for
 *   ExternalSecrets unless run with --use-deprecated-status-condition (pkg/controllers/metrics/status_condition.go),
 *   so `{condition="Ready", status="False"} == 1` reads the same on all of them. A ClusterSecretStore's `namespace` label is
 *   empty; an ExternalSecret's collides with the scrape target's and arrives as `exported_namespace` unless the
 *   ServiceMonitor honours labels, so the rules keep both and do not filter on it. The counter
 *   `externalsecret_sync_calls_error` also counts the errors of retries that later succeed (every Vault restart), so
 *   the Ready condition is the signal.
 *
 * What kube-state-metrics cannot see: a Job's exit code. It exports only the code of a container's previous
 * termination (`kube_pod_container_status_last_terminated_exitcode`, from `lastState`), and these Jobs run their pod
 * once (`restartPolicy: Never`, `backoffLimit: 0`), so exit 1 ("not yet") and exit 2 ("a human is needed") look the
 * same: a failed Job. The "human needed" alerts therefore use duration: runs that keep failing long after every
 * transient cause would have cleared. The exit code itself is in the Job's log line (the README says how to read it).
 *
 * Every aggregation keeps only the labels that identify the object, so that a restarted exporter or ESO pod does not
 * start a new series and reset the alert's `for`.
 */
export class VaultAlerts extends Construct {
  /** The alerts' names, in the rule's order. */
  public readonly alertNames: string[];

  constructor(scope: Construct, id: string, props: VaultAlertsProps = {}) {
    super(scope, id);
    const { namespace, name, labels, runbookBaseUrl, alerts } = validating(this, () => checkProps(props));
    this.alertNames = alerts.map((a) => a.name);

    const rules: PrometheusRuleSpecGroupsRules[] = alerts.map((a) => {
      const anchor = a.name.toLowerCase();
      return {
        alert: a.name,
        expr: PrometheusRuleSpecGroupsRulesExpr.fromString(a.expr),
        for: a.for,
        labels: { severity: a.severity },
        annotations: {
          summary: a.summary,
          description: a.description,
          ...(runbookBaseUrl ? { runbook_url: `${runbookBaseUrl}#${anchor}` } : { runbook: `README.md#${anchor}` }),
        },
      };
    });

    new PrometheusRule(this, 'rule', {
      metadata: { name, namespace, labels: { ...labels }, annotations: crdObjectAnnotations() },
      spec: { groups: [{ name: 'vault-secrets', rules }] },
    });
  }
}

const KNOWN_PROPS: KnownProps<VaultAlertsProps> = {
  namespace: true, name: true, labels: true, runbookBaseUrl: true, vault: true, store: true, vaultNamespace: true,
  statefulSetName: true, unsealNamespace: true, unsealCronJob: true, recoveryNamespace: true, recoveryCronJob: true,
  storeName: true, notReadyFor: true, unsealFailingFor: true, humanNeededAfter: true, recoveryFailingFor: true,
  notRunningAfter: true, suspendedFor: true, storeNotReadyFor: true, secretNotSyncedFor: true, metricsAbsentFor: true,
};

/** Checks the props; returns the rule's metadata and its alerts. */
function checkProps(props: VaultAlertsProps) {
  checkKnownProps('VaultAlerts', props, KNOWN_PROPS);
  const namespace = checkDnsLabel('VaultAlerts namespace', props.namespace ?? 'monitoring');
  const name = checkDnsSubdomain('VaultAlerts name', props.name ?? 'vault-alerts');
  const labels = props.labels ?? { release: 'kube-prometheus-stack' };
  if (!labels || typeof labels !== 'object' || Array.isArray(labels)) invalid('VaultAlerts labels', labels, 'a map of label names to values');
  checkMetadataMap('VaultAlerts labels', labels, true);
  const runbookBaseUrl = props.runbookBaseUrl === undefined ? undefined : checkDocumentUrl('VaultAlerts runbookBaseUrl', props.runbookBaseUrl);

  const vaultSts = props.vault ? definedObject(props.vault, 'StatefulSet') : undefined;
  const vaultNamespace = checkDnsLabel('VaultAlerts vaultNamespace', props.vaultNamespace ?? props.vault?.namespace ?? 'security');
  const statefulSetName = checkDnsSubdomain('VaultAlerts statefulSetName', props.statefulSetName ?? vaultSts?.name ?? 'vault');
  const unsealNamespace = checkDnsLabel('VaultAlerts unsealNamespace', props.unsealNamespace ?? props.vault?.namespace ?? 'security');
  const unsealCronJob = checkDnsSubdomain('VaultAlerts unsealCronJob', props.unsealCronJob ?? 'vault-auto-unseal');
  // The recovery job runs in the store's namespace unless told otherwise (EsoRecoveryCron's default).
  const recoveryNamespace = checkDnsLabel('VaultAlerts recoveryNamespace', props.recoveryNamespace ?? props.store?.namespace ?? 'security');
  const recoveryCronJob = checkDnsSubdomain('VaultAlerts recoveryCronJob', props.recoveryCronJob ?? 'eso-recovery');
  const storeName = checkDnsSubdomain('VaultAlerts storeName', props.storeName ?? props.store?.storeName ?? 'k8s-secrets');

  const duration = (prop: keyof VaultAlertsProps, fallback: string) =>
    checkPromDuration(`VaultAlerts ${prop}`, (props[prop] as string | undefined) ?? fallback, MINUTE, 30 * DAY);
  const notReadyFor = duration('notReadyFor', '10m');
  const unsealFailingFor = duration('unsealFailingFor', '10m');
  const humanNeededAfter = duration('humanNeededAfter', '30m');
  const recoveryFailingFor = duration('recoveryFailingFor', '15m');
  const notRunningAfter = duration('notRunningAfter', '1h');
  const suspendedFor = duration('suspendedFor', '1h');
  const storeNotReadyFor = duration('storeNotReadyFor', '15m');
  const secretNotSyncedFor = duration('secretNotSyncedFor', '30m');
  const metricsAbsentFor = duration('metricsAbsentFor', '30m');
  if (promDurationSeconds(humanNeededAfter) <= promDurationSeconds(unsealFailingFor)) {
    invalid('VaultAlerts humanNeededAfter', humanNeededAfter, `a duration longer than unsealFailingFor (${unsealFailingFor})`);
  }

  const alerts: Alert[] = [
    {
      name: 'VaultNotReady',
      severity: 'critical',
      expr: vaultNotReady(vaultNamespace, statefulSetName),
      for: notReadyFor,
      summary: `Vault has not been ready for ${notReadyFor}: it is sealed or down, and no Secret can be read or synced.`,
      description: `StatefulSet ${vaultNamespace}/${statefulSetName} has fewer ready pods than it wants. A sealed or `
        + 'uninitialized Vault fails its readiness probe, as does a pod that cannot start or mount its volume. '
        + `Auto-unseal (${unsealNamespace}/${unsealCronJob}) should have unsealed it within minutes of a reboot.`,
    },
    ...cronJobAlerts({
      prefix: 'VaultAutoUnseal',
      what: 'auto-unseal',
      namespace: unsealNamespace,
      cronJob: unsealCronJob,
      failing: {
        name: 'VaultAutoUnsealFailing',
        severity: 'warning',
        for: unsealFailingFor,
        summary: `Auto-unseal has failed for ${unsealFailingFor}: Vault stays sealed after a restart until it succeeds.`,
        description: `Every run of CronJob ${unsealNamespace}/${unsealCronJob} since its last success failed. While the `
          + 'volume reattaches after a reboot this is expected (exit 1, "not yet"); the Job\'s log line says why it failed.',
      },
      humanNeeded: {
        name: 'VaultAutoUnsealNeedsHuman',
        severity: 'critical',
        after: humanNeededAfter,
        summary: `Auto-unseal has not succeeded for ${humanNeededAfter} and its runs fail: a human is needed.`,
        description: `CronJob ${unsealNamespace}/${unsealCronJob} keeps failing long after a reattaching volume would `
          + 'have come back. Likely exit 2: Vault not initialized, the Secret of unseal shares missing, too few shares, '
          + 'or a share rejected. kube-state-metrics cannot see exit codes; the Job\'s log line names the cause.',
      },
      notRunningAfter,
      suspendedFor,
    }),
    ...cronJobAlerts({
      prefix: 'EsoRecovery',
      what: 'ESO recovery',
      namespace: recoveryNamespace,
      cronJob: recoveryCronJob,
      failing: {
        name: 'EsoRecoveryNeedsHuman',
        severity: 'warning',
        for: recoveryFailingFor,
        summary: `ESO recovery has failed for ${recoveryFailingFor}: a human is needed to bring ESO back to the store.`,
        description: `Every run of CronJob ${recoveryNamespace}/${recoveryCronJob} since its last success failed. It `
          + 'fails (exit 2) on missing permissions, a malformed setting, or when ESO re-checked the store after the '
          + 'wake-up and it is still not ready; (exit 1) while Vault is unreachable, ESO\'s webhook is down or ESO does not '
          + 're-check the store. kube-state-metrics cannot see exit codes; the Job\'s log line names the cause.',
      },
      notRunningAfter,
      suspendedFor,
    }),
    {
      name: 'EsoStoreNotReady',
      severity: 'critical',
      expr: `max by (name) (${selector('clustersecretstore_status_condition', { name: storeName, condition: 'Ready', status: 'False' })}) == 1`,
      for: storeNotReadyFor,
      summary: `ClusterSecretStore ${storeName} has not been ready for ${storeNotReadyFor}: ExternalSecrets cannot read Vault.`,
      description: `ESO reports the store ${storeName} Ready=False: Vault is sealed or unreachable, or ESO cannot log `
        + 'in (the Kubernetes auth role, its policy, or the ServiceAccount). Secrets already synced stay as they are.',
    },
    {
      name: 'EsoExternalSecretNotSynced',
      severity: 'warning',
      expr: 'max by (name, namespace, exported_namespace) '
        + `(${selector('externalsecret_status_condition', { condition: 'Ready', status: 'False' })}) == 1`,
      for: secretNotSyncedFor,
      summary: `ExternalSecret {{ $labels.name }} has not synced for ${secretNotSyncedFor}: its Secret may be missing or stale.`,
      description: 'ESO reports ExternalSecret {{ with $labels.exported_namespace }}{{ . }}{{ else }}{{ $labels.namespace }}'
        + '{{ end }}/{{ $labels.name }} Ready=False: the store is not ready, or the path or key it reads is missing in Vault.',
    },
    {
      name: 'EsoStoreMetricsAbsent',
      severity: 'warning',
      expr: `absent(${selector('clustersecretstore_status_condition', { name: storeName, condition: 'Ready' })})`,
      for: metricsAbsentFor,
      summary: `No ESO metrics for ClusterSecretStore ${storeName} for ${metricsAbsentFor}: the ESO alerts cannot fire.`,
      description: 'Prometheus has no clustersecretstore_status_condition series for the store: ESO is down, the store '
        + 'does not exist, or ESO\'s metrics are not scraped (its Helm value serviceMonitor.enabled).',
    },
  ];
  return { namespace, name, labels, runbookBaseUrl, alerts };
}

/** Vault's StatefulSet has fewer ready replicas than it wants (none wanted, such as during a restore, is not an alert). */
function vaultNotReady(namespace: string, statefulSet: string): string {
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
function cronJobAlerts(o: CronJobAlertsOptions): Alert[] {
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
