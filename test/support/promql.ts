import { parser } from '@prometheus-io/lezer-promql';

// PromQL as the tests read it: Prometheus's own Lezer grammar, and the metric and label names the rules may use.

/**
 * The metrics the rules may use and the labels each carries, as kube-state-metrics, ESO and cert-manager export them
 * (see the sources named in lib/vault-alerts.ts and lib/vault-tls-alerts.ts). `exported_namespace` is a metric's own
 * `namespace` label, renamed by Prometheus when it collides with the scrape target's.
 */
export const METRIC_LABELS: Record<string, string[]> = {
  kube_statefulset_replicas: ['namespace', 'statefulset'],
  kube_statefulset_status_replicas_ready: ['namespace', 'statefulset'],
  kube_job_owner: ['namespace', 'job_name', 'owner_kind', 'owner_name', 'owner_is_controller'],
  kube_job_failed: ['namespace', 'job_name', 'condition'],
  kube_job_status_start_time: ['namespace', 'job_name'],
  kube_cronjob_status_last_successful_time: ['namespace', 'cronjob'],
  kube_cronjob_created: ['namespace', 'cronjob'],
  kube_cronjob_spec_suspend: ['namespace', 'cronjob'],
  clustersecretstore_status_condition: ['name', 'namespace', 'condition', 'status'],
  externalsecret_status_condition: ['name', 'namespace', 'exported_namespace', 'condition', 'status'],
  // cert-manager (pkg/metrics/certificates.go); `namespace` arrives as `exported_namespace` unless labels are honoured.
  certmanager_certificate_expiration_timestamp_seconds: ['name', 'namespace', 'exported_namespace', 'issuer_name', 'issuer_kind', 'issuer_group'],
  certmanager_certificate_ready_status: ['name', 'namespace', 'exported_namespace', 'condition', 'issuer_name', 'issuer_kind', 'issuer_group'],
};

export interface ParsedExpr {
  /** Positions and text of the parser's error nodes; empty when the expression is valid PromQL. */
  readonly errors: string[];
  /** The metric names of the vector selectors. */
  readonly metrics: string[];
  /** [metric, label] of every label matcher. */
  readonly matchers: Array<[string, string]>;
  /** Label names outside matchers: in by (...), on (...), group_left (...). */
  readonly groupingLabels: string[];
}

/** Parses a PromQL expression with Prometheus's own Lezer grammar, as the Prometheus UI does. */
export function parsePromql(expr: string): ParsedExpr {
  const tree = parser.parse(expr);
  const errors: string[] = [];
  const metrics: string[] = [];
  const matchers: Array<[string, string]> = [];
  const groupingLabels: string[] = [];
  const text = (from: number, to: number) => expr.slice(from, to);
  tree.iterate({
    enter: (node) => {
      if (node.type.isError) errors.push(`${node.from}: "${text(node.from, node.to + 10)}"`);
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') metrics.push(text(node.from, node.to));
      if (node.name === 'LabelName') {
        const parent = node.node.parent;
        if (parent?.name.endsWith('LabelMatcher')) {
          const selector = parent.parent?.parent;
          const metric = selector?.getChild('Identifier');
          matchers.push([metric ? text(metric.from, metric.to) : '', text(node.from, node.to)]);
        } else {
          groupingLabels.push(text(node.from, node.to));
        }
      }
    },
  });
  return { errors, metrics, matchers, groupingLabels };
}
