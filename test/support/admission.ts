import { run } from '@bufbuild/cel';
import { Manifest } from './manifests';

// A ValidatingAdmissionPolicy and its Binding as the API server applies them to one request (k8s.io/apiserver
// validatingadmissionpolicy, Kubernetes 1.30): the policy's matchConstraints pick the request's resource and
// operation; every matchCondition must hold, or the policy does not apply; then each validation, in order, denies the
// request with its message when it is false. An expression that fails to evaluate counts as the failurePolicy says.
// Expressions run with @bufbuild/cel, a conformance-tested CEL evaluator: it reads CEL's common core as Kubernetes'
// environment does, but not Kubernetes' own library functions, which the project's expressions do not use.

/** An admission request as the API server builds it for CEL: `request`, and the object after and before the update. */
export interface AdmissionRequest {
  readonly request: {
    readonly operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
    readonly resource: { readonly group: string; readonly version: string; readonly resource: string };
    readonly userInfo: { readonly username: string; readonly groups?: string[] };
    readonly name: string;
    readonly namespace?: string;
  };
  readonly object: Record<string, any>;
  readonly oldObject: Record<string, any>;
}

/** The decision: not matched (the policy does not apply), or allowed or denied; `error` when an expression failed. */
export type Decision = { readonly matched: false } | { readonly matched: true; readonly allowed: boolean; readonly message?: string; readonly error?: string };

const listed = (values: string[], value: string) => values.includes('*') || values.includes(value);

/** What the policy, through its Binding, decides on the request. */
export function admit(policy: Manifest, binding: Manifest, review: AdmissionRequest): Decision {
  if (binding.spec.policyName !== policy.metadata.name) throw new Error(`binding ${binding.metadata.name} names policy ${binding.spec.policyName}`);
  if (binding.spec.matchResources || binding.spec.paramRef || policy.spec.paramKind) throw new Error('matchResources and params are not read here');
  const { request } = review;
  const ruleMatches = (policy.spec.matchConstraints.resourceRules as any[]).some((r) => listed(r.apiGroups, request.resource.group)
    && listed(r.apiVersions, request.resource.version) && listed(r.resources, request.resource.resource) && listed(r.operations, request.operation));
  if (!ruleMatches) return { matched: false };
  const deny = (binding.spec.validationActions as string[]).includes('Deny');
  const evaluate = (expression: string): boolean | Error => {
    try {
      const result = run(expression, { request, object: review.object, oldObject: review.oldObject });
      return typeof result === 'boolean' ? result : new Error(`not a boolean: ${String(result)}`);
    } catch (error) {
      return error as Error;
    }
  };
  // An expression that fails: the request is denied under failurePolicy Fail, let through under Ignore.
  const failed = (expression: string, error: Error): Decision => ({
    matched: true, allowed: (policy.spec.failurePolicy ?? 'Fail') === 'Ignore', error: `${expression}: ${error.message}`,
  });
  for (const { expression } of policy.spec.matchConditions ?? []) {
    const result = evaluate(expression);
    if (result instanceof Error) return failed(expression, result);
    if (!result) return { matched: false };
  }
  for (const { expression, message } of policy.spec.validations ?? []) {
    const result = evaluate(expression);
    if (result instanceof Error) return failed(expression, result);
    if (!result) return { matched: true, allowed: !deny, message };
  }
  return { matched: true, allowed: true };
}

/**
 * The fields of the admissionregistration.k8s.io/v1 types these objects may hold, as Kubernetes 1.30 declares them
 * (k8s.io/api v0.30.0, admissionregistration/v1/types.go), by type; the schema check of kubernetes-models does not
 * refuse unknown fields, so this does.
 */
const FIELDS: Record<string, Record<string, string | null>> = {
  ValidatingAdmissionPolicy: { apiVersion: null, kind: null, metadata: null, spec: 'ValidatingAdmissionPolicySpec', status: null },
  ValidatingAdmissionPolicySpec: {
    paramKind: null, matchConstraints: 'MatchResources', validations: 'Validation', failurePolicy: null, auditAnnotations: null,
    matchConditions: 'MatchCondition', variables: 'Variable',
  },
  ValidatingAdmissionPolicyBinding: { apiVersion: null, kind: null, metadata: null, spec: 'ValidatingAdmissionPolicyBindingSpec' },
  ValidatingAdmissionPolicyBindingSpec: { policyName: null, paramRef: null, matchResources: 'MatchResources', validationActions: null },
  MatchResources: { namespaceSelector: null, objectSelector: null, resourceRules: 'NamedRuleWithOperations', excludeResourceRules: 'NamedRuleWithOperations', matchPolicy: null },
  // NamedRuleWithOperations inlines RuleWithOperations, which inlines Rule.
  NamedRuleWithOperations: { resourceNames: null, operations: null, apiGroups: null, apiVersions: null, resources: null, scope: null },
  Validation: { expression: null, message: null, reason: null, messageExpression: null },
  MatchCondition: { name: null, expression: null },
  Variable: { name: null, expression: null },
};

/** The fields of `value` (of the 1.30 type `type`) that the type does not declare, by path. */
export function unknownFields(value: any, type: string = value.kind, path = ''): string[] {
  const fields = FIELDS[type];
  if (Array.isArray(value)) return value.flatMap((item, i) => unknownFields(item, type, `${path}[${i}]`));
  return Object.entries(value).flatMap(([key, v]) => {
    if (!(key in fields)) return [`${path}.${key}`];
    const inner = fields[key];
    return inner ? unknownFields(v, inner, `${path}.${key}`) : [];
  });
}

/** RFC 7386: a JSON merge patch applied to `target`, as the API server applies `application/merge-patch+json`. */
export function mergePatch(target: any, patch: any): any {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, any> = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}
