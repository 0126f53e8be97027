// write-secrets: the apps' secret values into Vault as the writer identity the bootstrap declares, never as an admin.
// `npm run write-secrets [-- PATH...]`, through a port-forward to Vault as vault-setup uses. It reads dist/ for the
// secrets the ExternalSecrets read (and their fields), mints a 10-minute token for the writer's ServiceAccount with the
// operator's own kubectl (`kubectl create token`), logs in with Kubernetes auth as the writer's role, writes each
// secret whole (a KV v2 version), and revokes its token. The values come from a prompt without echo, or, when stdin is
// not a terminal, from one JSON object on stdin ({"<path>": {"<field>": "<value>"}}); none is ever printed.
// Exit 0 when every secret asked for was written; 1 on any error, saying what to do.
import { createInterface } from 'readline';
import { bootstrapJobs } from '../../runtime/common/vault-config/bootstrap';
import { deriveConfig } from '../../runtime/common/vault-config/derive';
import { DesiredSecret } from '../../runtime/common/vault-config/desired';
import { encodePath, vaultClient } from '../../runtime/common/vault-config/vault-client';
import { Log, logTo, Output, processOutput, reason, redact } from '../../runtime/common/log';
import { start } from '../../runtime/common/main';
import { Env, readSeconds, readUrl } from '../../runtime/common/settings';
import { KubectlRunner, spawnKubectl } from '../vault-rollout/kubectl';
import { refuseCleartext } from '../vault-setup/cleartext';
import { readManifests } from '../vault-setup/manifests';
import { listenerTls, readToolCa } from '../vault-setup/tls';

/** Values by secret path (`<mount>/<key>`), then field. */
export type Values = Record<string, Record<string, string>>;

export interface Io extends Output {
  /** Asks for the values of `secrets` (field names known, or free-form when a secret is read whole). */
  readonly values: (secrets: DesiredSecret[]) => Promise<Values>;
  readonly kubectl: KubectlRunner;
}

const USAGE = 'usage: npm run write-secrets [-- [--dist DIR] [PATH...]]: PATH as the ExternalSecrets name it, such as secret/postgres-secret';

/** The values from a terminal, without echo; from a pipe, one JSON object. */
async function askValues(secrets: DesiredSecret[], out: Log): Promise<Values> {
  if (!process.stdin.isTTY) {
    let text = '';
    for await (const chunk of process.stdin) text += chunk;
    return JSON.parse(text) as Values;
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const muted = rl as unknown as { _writeToOutput: (s: string) => void; output: NodeJS.WriteStream };
  let hidden = false;
  muted._writeToOutput = (s: string) => { if (!hidden) muted.output.write(s); };
  const ask = (question: string) => new Promise<string>((resolve) => {
    process.stderr.write(question);
    hidden = true;
    rl.question('', (answer) => { hidden = false; process.stderr.write('\n'); resolve(answer); });
  });
  const values: Values = {};
  for (const secret of secrets) {
    const path = `${secret.mount}/${secret.key}`;
    const fields: Record<string, string> = {};
    const names = secret.fields.length > 0 ? secret.fields : [];
    out.log(`${path} (read by ${secret.readers.join(', ')})${names.length === 0 ? ': read whole; give each field, an empty name to finish' : ''}`);
    for (const field of names) fields[field] = await ask(`  ${field}: `);
    while (names.length === 0) {
      hidden = false;
      const field = await new Promise<string>((resolve) => rl.question('  field name: ', resolve));
      if (field.trim() === '') break;
      fields[field.trim()] = await ask(`  ${field.trim()}: `);
    }
    values[path] = fields;
  }
  rl.close();
  return values;
}

export const processIo = (out: Log): Io => ({ ...processOutput, values: (s) => askValues(s, out), kubectl: spawnKubectl('kubectl', process.env) });

async function run(argv: string[], env: Env, io: Io, out: Log): Promise<number> {
  const dist = argv[0] === '--dist' ? argv[1] : 'dist';
  const paths = argv[0] === '--dist' ? argv.slice(2) : argv;
  if (paths.some((p) => p.startsWith('-'))) throw new Error(USAGE);
  const docs = readManifests(dist);
  const { want } = deriveConfig(docs);
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

  const values = await io.values(chosen);
  for (const fields of Object.values(values)) for (const value of Object.values(fields)) redact(String(value));
  for (const secret of chosen) {
    const given = values[`${secret.mount}/${secret.key}`] ?? {};
    const lacking = secret.fields.filter((f) => typeof given[f] !== 'string' || given[f] === '');
    if (lacking.length > 0) throw new Error(`${secret.mount}/${secret.key} needs ${lacking.join(', ')} (its ExternalSecrets read them): nothing written`);
    if (Object.keys(given).length === 0) throw new Error(`${secret.mount}/${secret.key} was given no field: nothing written`);
  }

  const minted = await io.kubectl(['-n', job.namespace, 'create', 'token', job.writerServiceAccount, '--duration=10m'], { timeoutMs });
  const jwt = minted.stdout.trim();
  if (minted.code !== 0 || jwt === '') {
    throw new Error(`kubectl create token ${job.writerServiceAccount} in ${job.namespace} failed (${minted.stderr.trim().split('\n').pop() ?? 'no message'}): your kubeconfig needs create on serviceaccounts/token there`);
  }
  redact(jwt);
  const anonymous = vaultClient({ addr, token: '', timeoutMs, ...(ca && { ca }), portForward: `kubectl -n ${job.namespace} port-forward svc/vault 8200` });
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

export async function main(argv: string[], env: Env = process.env, io?: Io): Promise<number> {
  const out = logTo(io ?? processOutput);
  if (argv.includes('--help')) {
    out.log(USAGE);
    return 0;
  }
  try {
    return await run(argv, env, io ?? processIo(out), out);
  } catch (error) {
    out.logError(reason(error));
    return 1;
  }
}

export function cli(argv: string[] = process.argv.slice(2)): void {
  start(() => main(argv));
}

if (require.main === module) cli();
