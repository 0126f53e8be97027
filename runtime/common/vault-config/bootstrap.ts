// What the bootstrap CronJob of the manifests adds to Vault's desired configuration, read from the CronJob itself so
// that vault-setup (from dist/) and the job (from the plan rendered at synthesis from the same objects) derive one
// plan: an audit device, the job's own identity and a human writer of app secret values. The job's policy is exact
// paths derived from everything else it manages, `sudo` only where Vault requires it (sys/auth/*, sys/audit*); it may
// read its own policy and role but never write them, so it cannot widen itself. In report mode it may only read.
import { BOOTSTRAP_DEFAULTS, BOOTSTRAP_ENV } from '../bootstrap-variables';
import { DesiredAudit, DesiredConfig, DesiredPolicy, DesiredRole } from './desired';
import { containersOf, envOf, trimSlashes } from './manifests';
import { grant, policyLines, Rules } from './policy';
import { AUTOPILOT_PATH } from './raft';

type Doc = Record<string, any>;

/** A CronJob that runs the bootstrap script, and the identities it declares. */
export interface BootstrapJob {
  readonly name: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly authMount: string;
  readonly role: string;
  readonly mode: 'apply' | 'report';
  readonly writerRole: string;
  readonly writerServiceAccount: string;
}

/** The job's token TTL: its Job's deadline is the longest it needs the token. */
export const BOOTSTRAP_TOKEN_TTL_SECONDS = 900;
/** The writer's token TTL: long enough to write a site's values, short enough to lapse on its own. */
export const WRITER_TOKEN_TTL_SECONDS = 900;

export const AUDIT_DEVICE: DesiredAudit = { path: BOOTSTRAP_DEFAULTS.auditPath, type: 'file', options: { file_path: 'stdout' } };


/** The CronJobs whose container runs the bootstrap script (it has BOOTSTRAP_ROLE). */
export function bootstrapJobs(docs: Doc[]): BootstrapJob[] {
  const jobs: BootstrapJob[] = [];
  for (const doc of docs.filter((d) => d.kind === 'CronJob')) {
    const env = containersOf(doc).map(envOf).find((e) => e[BOOTSTRAP_ENV.role] !== undefined);
    if (!env) continue;
    const what = `cronjob ${doc.metadata?.namespace}/${doc.metadata?.name}`;
    const serviceAccount = doc.spec.jobTemplate.spec.template.spec.serviceAccountName;
    if (!serviceAccount) throw new Error(`${what} runs the bootstrap script without a serviceAccountName: its role is bound to that service account`);
    const mode = env[BOOTSTRAP_ENV.mode] ?? BOOTSTRAP_DEFAULTS.mode;
    if (mode !== 'apply' && mode !== 'report') throw new Error(`${what} sets ${BOOTSTRAP_ENV.mode} "${mode}": expected apply or report`);
    jobs.push({
      name: doc.metadata.name, namespace: doc.metadata.namespace ?? 'default', serviceAccount, mode,
      authMount: trimSlashes(env[BOOTSTRAP_ENV.authMount] ?? BOOTSTRAP_DEFAULTS.authMount),
      role: env[BOOTSTRAP_ENV.role],
      writerRole: env[BOOTSTRAP_ENV.writerRole] ?? BOOTSTRAP_DEFAULTS.writerRole,
      writerServiceAccount: env[BOOTSTRAP_ENV.writerServiceAccount] ?? BOOTSTRAP_DEFAULTS.writerServiceAccount,
    });
  }
  if (jobs.length > 1) throw new Error(`the manifests hold ${jobs.length} bootstrap CronJobs (${jobs.map((j) => `${j.namespace}/${j.name}`).join(', ')}): one Vault has one`);
  return jobs;
}

/** Create and update on every path an ExternalSecret reads: the writer puts values, never reads or deletes them. */
function writerRules(want: DesiredConfig): Rules {
  const rules: Rules = new Map();
  for (const secret of want.secrets) grant(rules, `${secret.mount}/${secret.source}/${secret.key}`, 'create', 'update');
  for (const find of want.finds) grant(rules, `${find.mount}/data/${find.path ? `${find.path}/` : ''}*`, 'create', 'update');
  return rules;
}

/** Exactly what the job reads and writes to bring `want` about, its own policy and role read-only. */
function jobRules(want: DesiredConfig, job: BootstrapJob): Rules {
  const write = job.mode === 'apply' ? ['create', 'update'] : [];
  const rules: Rules = new Map();
  grant(rules, 'sys/mounts', 'read');
  for (const mount of want.kvMounts) grant(rules, `sys/mounts/${mount}`, ...(write.length ? write : ['read']));
  grant(rules, 'sys/auth', 'read');
  for (const mount of want.authMounts) {
    if (write.length) grant(rules, `sys/auth/${mount}`, ...write, 'sudo');
    grant(rules, `auth/${mount}/config`, 'read', ...write);
    grant(rules, `auth/${mount}/role`, 'list');
  }
  grant(rules, 'sys/policies/acl', 'list');
  for (const policy of want.policies) grant(rules, `sys/policies/acl/${policy.name}`, 'read', ...write);
  for (const role of want.roles) grant(rules, `auth/${role.authMount}/role/${role.name}`, 'read', ...write);
  // Its own: read, to report drift; never written, so that the job cannot widen itself.
  grant(rules, `sys/policies/acl/${job.role}`, 'read');
  grant(rules, `auth/${job.authMount}/role/${job.role}`, 'read');
  if (want.audit) {
    grant(rules, 'sys/audit', 'read', 'sudo');
    if (write.length) grant(rules, `sys/audit/${want.audit.path}`, ...write, 'sudo');
  }
  // Field names only: subkeys answers every value as null, so the job can say which secrets are missing.
  for (const secret of want.secrets) grant(rules, `${secret.mount}/${secret.source === 'data' ? 'subkeys' : 'metadata'}/${secret.key}`, 'read');
  if (want.autopilot) grant(rules, AUTOPILOT_PATH.replace(/^\/v1\//, ''), 'read', ...(write.length ? ['update'] : []));
  return rules;
}

function identity(name: string, authMount: string, serviceAccount: string, namespace: string, ttlSeconds: number): DesiredRole {
  return { authMount, name, serviceAccounts: [serviceAccount], namespaces: [namespace], policies: [name], ttlSeconds, stores: [] };
}

/** The desired configuration with what a bootstrap CronJob adds: the audit device, its identity and the writer's. */
export function withBootstrap(want: DesiredConfig, docs: Doc[]): DesiredConfig {
  const [job] = bootstrapJobs(docs);
  if (!job) return want;
  const what = `cronjob ${job.namespace}/${job.name}`;
  const taken = want.roles.map((r) => r.name);
  for (const name of [job.role, job.writerRole]) {
    if (taken.includes(name)) throw new Error(`${what} names role ${name}, which a store or another job uses too: give it a role of its own`);
  }
  if (job.role === job.writerRole) throw new Error(`${what} names role ${job.role} for itself and for the writer: give each its own`);
  const writerPolicy: DesiredPolicy = {
    name: job.writerRole, stores: [what], lines: policyLines(writerRules(want)), source: 'the secrets the ExternalSecrets read, for the writer of',
  };
  const withWriter: DesiredConfig = {
    ...want,
    authMounts: [...new Set([...want.authMounts, job.authMount])].sort(),
    policies: [...want.policies, writerPolicy],
    roles: [...want.roles, identity(job.writerRole, job.authMount, job.writerServiceAccount, job.namespace, WRITER_TOKEN_TTL_SECONDS)],
    audit: AUDIT_DEVICE,
  };
  const jobPolicy: DesiredPolicy = { name: job.role, stores: [what], lines: policyLines(jobRules(withWriter, job)), source: `what it manages (${job.mode} mode), for` };
  return {
    ...withWriter,
    policies: [...withWriter.policies, jobPolicy],
    roles: [...withWriter.roles, identity(job.role, job.authMount, job.serviceAccount, job.namespace, BOOTSTRAP_TOKEN_TTL_SECONDS)],
  };
}
