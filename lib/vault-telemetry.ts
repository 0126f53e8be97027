import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { PrometheusRule, PrometheusRuleSpecGroupsRulesExpr, ServiceMonitor, ServiceMonitorSpecEndpointsScheme } from '../imports/monitoring.coreos.com';
import { validating } from '../build/prop-error';
import { checkDnsLabel, checkDuration, checkMetadataMap, checkPromDuration } from './checks';
import { crdObjectAnnotations } from './gitops';
import { Alert, selector } from './promql';
import { IVault } from './vault';
import { DEFAULT_RULE_LABELS } from './vault-alerts';

// Vault's own telemetry, the best HA signal (autopilot's health and failure tolerance, which node is active), opt-in:
// Vault serves its metrics on the API listener without a token, a Service of its own lists the pods, a ServiceMonitor
// has Prometheus scrape them (over HTTPS, verified against Vault's CA, when Vault serves TLS), Vault's NetworkPolicy
// admits Prometheus's pods, and two alerts watch autopilot. An alert stays silent while its series are absent (no
// scrape yet, file storage, no autopilot).

const NAME = 'vault-metrics';
const MINUTE = 60;
const DAY = 24 * 60 * MINUTE;

export interface VaultTelemetryProps {
  /** The Vault whose metrics are scraped: its configuration turns telemetry on. */
  readonly vault: IVault;

  /**
   * The namespace of Prometheus's pods, which scrape Vault.
   * @default 'monitoring'
   */
  readonly prometheusNamespace?: string;

  /**
   * The labels of Prometheus's pods: only they are let through Vault's NetworkPolicy.
   * @default { 'app.kubernetes.io/name': 'prometheus' } (kube-prometheus-stack's)
   */
  readonly prometheusPodLabels?: Record<string, string>;

  /**
   * Labels of the ServiceMonitor and the PrometheusRule: kube-prometheus-stack selects them by its Helm release's label.
   * @default { release: 'kube-prometheus-stack' }
   */
  readonly labels?: Record<string, string>;

  /**
   * How often Prometheus scrapes Vault.
   * @default '30s'
   */
  readonly interval?: string;

  /**
   * How long autopilot must report a problem before its alert fires.
   * @default '10m'
   */
  readonly for?: string;
}

/** The autopilot alerts, on the series Vault's active node emits (`disable_hostname`: the documented names). */
export function autopilotAlerts(namespace: string, job: string, duration: string): Alert[] {
  const series = (metric: string) => `max by (namespace) (${selector(metric, { namespace, job })})`;
  return [
    {
      name: 'VaultAutopilotUnhealthy',
      severity: 'critical',
      expr: `${series('vault_autopilot_healthy')} < 1`,
      for: duration,
      summary: `Vault's autopilot has reported the Raft cluster unhealthy for ${duration}.`,
      description: `Autopilot on the active node (namespace ${namespace}) reports a server unhealthy: not a voter, behind on `
        + 'the log or silent. `vault operator raft autopilot state` names it.',
    },
    {
      name: 'VaultAutopilotFailureToleranceLow',
      severity: 'warning',
      expr: `${series('vault_autopilot_failure_tolerance')} < 1`,
      for: duration,
      summary: `Vault's Raft cluster has tolerated no failure for ${duration}: one more pod down and it stops.`,
      description: `Autopilot on the active node (namespace ${namespace}) reports a failure tolerance of 0: a voter is down `
        + 'or unhealthy; the next one lost takes the quorum with it.',
    },
  ];
}

/** Vault's telemetry scraped by Prometheus (prometheus-operator's ServiceMonitor) and its autopilot alerts. */
export class VaultTelemetry extends Construct {
  constructor(scope: Construct, id: string, props: VaultTelemetryProps) {
    super(scope, id);
    const { vault } = props;
    const s = validating(this, () => ({
      prometheusNamespace: checkDnsLabel('VaultTelemetry prometheusNamespace', props.prometheusNamespace ?? 'monitoring'),
      prometheusPodLabels: checkMetadataMap('VaultTelemetry prometheusPodLabels', props.prometheusPodLabels ?? { 'app.kubernetes.io/name': 'prometheus' }, true),
      labels: checkMetadataMap('VaultTelemetry labels', props.labels ?? { ...DEFAULT_RULE_LABELS }, true),
      interval: checkDuration('VaultTelemetry interval', props.interval ?? '30s'),
      for: checkPromDuration('VaultTelemetry for', props.for ?? '10m', MINUTE, DAY),
    }));
    vault.enableTelemetry();
    vault.allowClient({ description: 'Prometheus, scraping Vault\'s metrics', namespace: s.prometheusNamespace, podLabels: s.prometheusPodLabels });

    const labels = { 'app.kubernetes.io/name': 'vault', 'app.kubernetes.io/component': 'metrics' };
    // A Service of its own: Vault's other Services share one set of labels, and a ServiceMonitor selects by labels.
    new k8s.KubeService(this, 'service', {
      metadata: { name: NAME, namespace: vault.namespace, labels },
      spec: { clusterIp: 'None', selector: { ...vault.labels }, ports: [{ name: vault.scheme, port: vault.port, targetPort: k8s.IntOrString.fromNumber(vault.port) }] },
    });
    // Prometheus scrapes each pod by its address, and checks the certificate against the client Service's name.
    const tls = vault.tls && { ca: { secret: { name: vault.tls.caSecretName, key: vault.tls.caKey } }, serverName: vault.tls.serverName };
    new ServiceMonitor(this, 'service-monitor', {
      metadata: { name: NAME, namespace: vault.namespace, labels: { ...s.labels }, annotations: crdObjectAnnotations() },
      spec: {
        selector: { matchLabels: labels },
        endpoints: [{
          port: vault.scheme, path: '/v1/sys/metrics', params: { format: ['prometheus'] }, interval: s.interval,
          scheme: tls ? ServiceMonitorSpecEndpointsScheme.HTTPS : ServiceMonitorSpecEndpointsScheme.HTTP, ...(tls && { tlsConfig: tls }),
        }],
      },
    });
    new PrometheusRule(this, 'rules', {
      metadata: { name: 'vault-telemetry-alerts', namespace: vault.namespace, labels: { ...s.labels }, annotations: crdObjectAnnotations() },
      spec: {
        groups: [{
          name: 'vault-telemetry',
          rules: autopilotAlerts(vault.namespace, NAME, s.for).map((a) => ({
            alert: a.name,
            expr: PrometheusRuleSpecGroupsRulesExpr.fromString(a.expr),
            for: a.for,
            labels: { severity: a.severity },
            annotations: { summary: a.summary, description: a.description, runbook: `docs/alerts.md#${a.name.toLowerCase()}` },
          })),
        }],
      },
    });
  }
}
