import { Construct } from 'constructs';
import { PrometheusRule, PrometheusRuleSpecGroupsRulesExpr } from '../imports/monitoring.coreos.com';
import { validating } from '../build/prop-error';
import { checkDnsLabel, checkDnsSubdomain, checkMetadataMap, checkPromDuration } from './checks';
import { crdObjectAnnotations } from './gitops';
import { cronJobAlerts } from './promql';
import { DEFAULT_RULE_LABELS } from './vault-alerts';
import { VaultBootstrap } from './vault-bootstrap';

export interface VaultBootstrapAlertsProps {
  /** The bootstrap CronJob whose runs are watched. */
  readonly bootstrap: VaultBootstrap;
  /**
   * The namespace of the PrometheusRule.
   * @default 'monitoring'
   */
  readonly namespace?: string;
  /**
   * The PrometheusRule's name.
   * @default 'vault-bootstrap-alerts'
   */
  readonly name?: string;
  /**
   * The PrometheusRule's labels, which Prometheus selects rules by.
   * @default { release: 'kube-prometheus-stack' }
   */
  readonly labels?: Record<string, string>;
  /**
   * VaultBootstrapFailing fires when the bootstrap's runs have failed this long: drift it may not correct, a Vault it
   * did not initialize, or one that stays sealed.
   * @default '15m'
   */
  readonly failingFor?: string;
}

function checkProps(props: VaultBootstrapAlertsProps) {
  return {
    namespace: checkDnsLabel('VaultBootstrapAlerts namespace', props.namespace ?? 'monitoring'),
    name: checkDnsSubdomain('VaultBootstrapAlerts name', props.name ?? 'vault-bootstrap-alerts'),
    labels: checkMetadataMap('VaultBootstrapAlerts labels', props.labels ?? { ...DEFAULT_RULE_LABELS }, true),
    failingFor: checkPromDuration('VaultBootstrapAlerts failingFor', props.failingFor ?? '15m', 60, 30 * 86400),
  };
}

/**
 * The PrometheusRule `vault-bootstrap-alerts`: the bootstrap CronJob failing (its runs since the last success failed:
 * the Job's log line and a Warning Event on the CronJob say what differs), suspended, or not running.
 */
export class VaultBootstrapAlerts extends Construct {
  /** The alerts' names. */
  public readonly alertNames: string[];

  constructor(scope: Construct, id: string, props: VaultBootstrapAlertsProps) {
    super(scope, id);
    const { namespace, name, labels, failingFor } = validating(this, () => checkProps(props));
    const { namespace: jobNamespace, cronJobName } = props.bootstrap;
    const alerts = cronJobAlerts({
      prefix: 'VaultBootstrap',
      what: 'Vault\'s bootstrap',
      namespace: jobNamespace,
      cronJob: cronJobName,
      failing: {
        name: 'VaultBootstrapFailing',
        severity: 'warning',
        for: failingFor,
        summary: `Vault's bootstrap has failed for ${failingFor}: Vault differs from dist/, or could not be checked.`,
        description: `Every run of CronJob ${jobNamespace}/${cronJobName} since its last success failed. Its Job's log line says `
          + `why; drift it may not correct is also a Warning Event on the CronJob (kubectl -n ${jobNamespace} get events `
          + `--field-selector involvedObject.name=${cronJobName}). \`npm run vault-setup -- plan\` shows the difference.`,
      },
      notRunningAfter: '1h',
      suspendedFor: '1h',
    });
    this.alertNames = alerts.map((a) => a.name);
    new PrometheusRule(this, 'rule', {
      metadata: { name, namespace, labels: { ...labels }, annotations: crdObjectAnnotations() },
      spec: {
        groups: [{
          name: 'vault-bootstrap',
          rules: alerts.map((a) => ({
            alert: a.name, expr: PrometheusRuleSpecGroupsRulesExpr.fromString(a.expr), for: a.for, labels: { severity: a.severity },
            annotations: { summary: a.summary, description: a.description, runbook: `docs/alerts.md#${a.name.toLowerCase()}` },
          })),
        }],
      },
    });
  }
}
