// write-secrets: the apps' secret values into Vault as the writer identity the bootstrap declares, never as an admin.
// `npm run write-secrets [-- PATH...]`, through a port-forward to Vault as vault-setup uses. It reads dist/ for the
// secrets the ExternalSecrets read (and their fields), mints a 10-minute token for the writer's ServiceAccount with the
// operator's own kubectl (`kubectl create token`), logs in with Kubernetes auth as the writer's role, writes each
// secret whole (a KV v2 version), and revokes its token. The values come from a prompt without echo, or, when stdin is
// not a terminal, from one JSON object on stdin ({"<path>": {"<field>": "<value>"}}); none is ever printed.
// Exit 0 when every secret asked for was written; 1 on any error, saying what to do.
import { bootstrapJobs } from '../../runtime/common/vault-config/bootstrap';
import { deriveConfig } from '../../runtime/common/vault-config/derive';
import { DesiredSecret } from '../../runtime/common/vault-config/desired';
import { encodePath, vaultClient } from '../../runtime/common/vault-config/vault-client';
import { Log, logTo, Output, processOutput, reason, redact } from '../../runtime/common/log';
import { start } from '../../runtime/common/main';
import { Env, readSeconds, readUrl } from '../../runtime/common/settings';
import { KubectlRunner, spawnKubectl } from '../vault-rollout/kubectl';
import { refuseCleartext } from '../vault-setup/cleartext';
import { askValues, Values } from './terminal';
import { readManifests } from '../vault-setup/manifests';
import { portForwardHint } from '../vault-setup/port-forward';
import { listenerTls, readToolCa } from '../vault-setup/tls';


export interface Io extends Output {
  /**
   * Asks for the values of `secrets` (field names known, or free-form when a secret is read whole).
   * @default the terminal, without echo, or one JSON object on a piped stdin (terminal.ts)
   */
  readonly values?: (secrets: DesiredSecret[], log: Log) => Promise<Values>;
  /** @default the operator's kubectl (WRITE_SECRETS_KUBECTL names another) */
  readonly kubectl?: KubectlRunner;
}

const USAGE = 'usage: npm run write-secrets [-- [--dist DIR] [PATH...]]: PATH as the ExternalSecrets name it, such as secret/postgres-secret';


async function run(argv: string[], env: Env, io: Io, out: Log): Promise<number> {
  const kubectl = io.kubectl ?? spawnKubectl(env.WRITE_SECRETS_KUBECTL ?? 'kubectl', env);
  const dist = argv[0] === '--dist' ? argv[1] : 'dist';
  const paths = argv[0] === '--dist' ? argv.slice(2) : argv;
  if (paths.some((p) => p.startsWith('-'))) throw new Error(USAGE);
  const docs = readManifests(dist);
  const { manifests, want } = deriveConfig(docs);
  const [job] = bootstrapJobs(docs);
  if (!job) throw new Error(`${dist} has no vault-bootstrap CronJob, so no writer identity: write the values as an admin (\`vault kv put\`, docs/secrets.md)`);
  const declared = want.secrets.filter((s) => s.source === 'data');
  const unknown = paths.filter((p) => !declared.some((s) => `${s.mount}/${s.key}` === p));
  if (unknown.length > 0) throw new Error(`no ExternalSecret in ${dist} reads ${unknown.join(', ')}: the writer may write only ${declared.map((s) => `${s.mount}/${s.key}`).join(', ')}`);
  const chosen = paths.length > 0 ? declared.filter((s) => paths.includes(`${s.mount}/${s.key}`)) : declared;

  const tls = listenerTls(docs);
  const addr = readUrl(env, 'VAULT_ADDR', `${tls.on ? 'https' : 'http'}://127.0.0.1:8200`);
  refuseCleartext(addr, false);
  const ca = readToolCa(env, addr, tls);
  const timeoutMs = readSeconds(env, 'VAULT_SETUP_TIMEOUT_SECONDS', 10, 0.1, 120) * 1000;

  const values = await (io.values ?? askValues)(chosen, out);
  for (const fields of Object.values(values)) for (const value of Object.values(fields)) redact(String(value));
  for (const secret of chosen) {
    const given = values[`${secret.mount}/${secret.key}`] ?? {};
    const lacking = secret.fields.filter((f) => typeof given[f] !== 'string' || given[f] === '');
    if (lacking.length > 0) throw new Error(`${secret.mount}/${secret.key} needs ${lacking.join(', ')} (its ExternalSecrets read them): nothing written`);
    if (Object.keys(given).length === 0) throw new Error(`${secret.mount}/${secret.key} was given no field: nothing written`);
  }

  const minted = await kubectl(['-n', job.namespace, 'create', 'token', job.writerServiceAccount, '--duration=10m'], { timeoutMs });
  const jwt = minted.stdout.trim();
  if (minted.code !== 0 || jwt === '') {
    throw new Error(`kubectl create token ${job.writerServiceAccount} in ${job.namespace} failed (${minted.stderr.trim().split('\n').pop() ?? 'no message'}): your kubeconfig needs create on serviceaccounts/token there`);
  }
  redact(jwt);
  const anonymous = vaultClient({ addr, token: '', timeoutMs, ...(ca && { ca }), portForward: portForwardHint(manifests.stores) });
  const login = await anonymous.login(`/v1/auth/${encodePath(job.authMount)}/login`, { role: job.writerRole, jwt });
  redact(login);
  const vault = vaultClient({ addr, token: login, timeoutMs, ...(ca && { ca }), denied: `the writer's policy ${job.writerRole} lacks it: run \`npm run vault-setup -- apply\`` });
  try {
    for (const secret of chosen) {
      await vault.write('POST', `/v1/${encodePath(secret.mount)}/data/${encodePath(secret.key)}`, { data: values[`${secret.mount}/${secret.key}`] });
      out.log(`wrote ${secret.mount}/${secret.key} (${Object.keys(values[`${secret.mount}/${secret.key}`]).sort().join(', ')})`);
    }
  } finally {
    await vault.write('POST', '/v1/auth/token/revoke-self', {}).catch(() => undefined);
  }
  out.log(`write-secrets: ${chosen.length} secret${chosen.length === 1 ? '' : 's'} written as ${job.authMount}/${job.writerRole}; its token revoked`);
  return 0;
}

export async function main(argv: string[], env: Env = process.env, io: Io = processOutput): Promise<number> {
  const out = logTo(io);
  if (argv.includes('--help')) {
    out.log(USAGE);
    return 0;
  }
  try {
    return await run(argv, env, io, out);
  } catch (error) {
    out.logError(reason(error));
    return 1;
  }
}

export function cli(argv: string[] = process.argv.slice(2)): void {
  start(() => main(argv));
}

if (require.main === module) cli();
