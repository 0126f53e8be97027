import { Construct } from 'constructs';
import { PrometheusRule, PrometheusRuleSpecGroupsRulesExpr } from '../imports/monitoring.coreos.com';
import { crdObjectAnnotations } from './gitops';
import { invalid, validating } from '../build/prop-error';
import { checkDnsLabel, checkDnsSubdomain, checkMetadataMap, checkPromDuration, promDurationSeconds } from './checks';
import { DEFAULT_RULE_LABELS } from './vault-alerts';
import { VaultSnapshotCron } from './vault-snapshot-cron';

export interface VaultSnapshotAlertsProps {
  /** The snapshot CronJob whose last good snapshot is watched. */
  readonly snapshots: VaultSnapshotCron;
  /**
   * The namespace of the PrometheusRule.
   * @default 'monitoring'
   */
  readonly namespace?: string;
  /**
   * The PrometheusRule's name.
   * @default 'vault-snapshot-alerts'
   */
  readonly name?: string;
  /**
   * The PrometheusRule's labels, which Prometheus selects rules by.
   * @default { release: 'kube-prometheus-stack' }
   */
  readonly labels?: Record<string, string>;
  /**
   * The age of the last good snapshot that is a warning: a few missed hourly runs.
   * @default '3h'
   */
  readonly warnAfter?: string;
  /**
   * The age of the last good snapshot that is critical: a restore would lose more than a day.
   * @default '26h'
   */
  readonly criticalAfter?: string;
}

function checkProps(props: VaultSnapshotAlertsProps) {
  const labels = checkMetadataMap('VaultSnapshotAlerts labels', props.labels ?? { ...DEFAULT_RULE_LABELS }, true);
  const warnAfter = checkPromDuration('VaultSnapshotAlerts warnAfter', props.warnAfter ?? '3h', 3600, 30 * 86400);
  const criticalAfter = checkPromDuration('VaultSnapshotAlerts criticalAfter', props.criticalAfter ?? '26h', 3600, 60 * 86400);
  if (promDurationSeconds(criticalAfter) <= promDurationSeconds(warnAfter)) {
    invalid('VaultSnapshotAlerts criticalAfter', criticalAfter, `a longer age than warnAfter (${warnAfter})`);
  }
  return {
    namespace: checkDnsLabel('VaultSnapshotAlerts namespace', props.namespace ?? 'monitoring'),
    name: checkDnsSubdomain('VaultSnapshotAlerts name', props.name ?? 'vault-snapshot-alerts'),
    labels, warnAfter, criticalAfter,
  };
}

/**
 * The PrometheusRule `vault-snapshot-alerts`: the age of the last good Raft snapshot. The signal is kube-state-metrics'
 * `kube_cronjob_status_last_successful_time` of the snapshot CronJob: a Job of it succeeds only when the script exits
 * 0, which it does only after a verified snapshot is renamed into place, so the time is that of the last good
 * snapshot. A CronJob that never succeeded counts from its creation (`kube_cronjob_created`). Whether Longhorn then
 * copied the claim off the cluster has no metric here: the snapshot runbook (docs/backups.md) checks the backups.
 */
export class VaultSnapshotAlerts extends Construct {
  /** The alerts' names, warning first. */
  public readonly alertNames = ['VaultRaftSnapshotStale', 'VaultRaftSnapshotMissing'];

  constructor(scope: Construct, id: string, props: VaultSnapshotAlertsProps) {
    super(scope, id);
    const { namespace, name, labels, warnAfter, criticalAfter } = validating(this, () => checkProps(props));
    const cj = `namespace="${props.snapshots.namespace}", cronjob="${props.snapshots.cronJobName}"`;
    const age = `time() - (\n  max by (namespace, cronjob) (kube_cronjob_status_last_successful_time{${cj}})\n  or max by (namespace, cronjob) (kube_cronjob_created{${cj}})\n)`;
    const where = `${props.snapshots.namespace}/${props.snapshots.cronJobName}`;
    const rule = (alert: string, severity: string, after: string, summary: string, description: string) => ({
      alert,
      expr: PrometheusRuleSpecGroupsRulesExpr.fromString(`${age} > ${promDurationSeconds(after)}`),
      // Absorbs a kube-state-metrics restart; the age itself already says how long.
      for: '5m',
      labels: { severity },
      annotations: { summary, description, runbook: `docs/alerts.md#${alert.toLowerCase()}` },
    });
    new PrometheusRule(this, 'rule', {
      metadata: { name, namespace, labels: { ...labels }, annotations: crdObjectAnnotations() },
      spec: {
        groups: [{
          name: 'vault-raft-snapshots',
          rules: [
            rule('VaultRaftSnapshotStale', 'warning', warnAfter, `Vault's last good Raft snapshot is older than ${warnAfter}.`,
              `CronJob ${where} has written no verified snapshot for ${warnAfter}: read its last Job's log `
              + `(kubectl -n ${props.snapshots.namespace} logs job/<name>); exit 2 names what to fix, exit 1 retries hourly.`),
            rule('VaultRaftSnapshotMissing', 'critical', criticalAfter, `Vault's last good Raft snapshot is older than ${criticalAfter}.`,
              `CronJob ${where} has written no verified snapshot for ${criticalAfter}: a restore now would lose more than a `
              + 'day of secrets. Fix the job (its log says what), then run it once by hand (kubectl create job --from=cronjob/...).'),
          ],
        }],
      },
    });
  }
}
