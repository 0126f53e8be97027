// The command line and the environment, read the way the vault CLI reads them: VAULT_ADDR, then VAULT_TOKEN or else
// the token file that `vault login` writes, VAULT_CACERT for an https address.
import { readFileSync } from 'fs';
import { homedir } from 'os';
import { join, resolve } from 'path';
import { Env, readSeconds, readUrl } from '../../runtime/common/settings';
import { ALLOW_HTTP_FLAG, refuseCleartext } from './cleartext';
import { ListenerTls, readToolCa } from './tls';
import { Connection } from '../../runtime/common/vault-config/vault-client';

export const USAGE = [
  `usage: npm run vault-setup -- plan|apply|retire [--confirm NAME]... [--dist DIR] [${ALLOW_HTTP_FLAG}]`,
  '  plan    show what apply would change in vault, and which declared secrets or fields vault lacks',
  '          exit 0 in sync and nothing missing, 2 changes pending or secrets missing, 1 error',
  '  apply   make exactly those changes, read them back; exit 0 when vault is in sync, 1 on error',
  '  retire  list the roles and policies of vault-setup\'s own that dist/ no longer uses (exit 2 when there are some);',
  '          with --confirm NAME, delete role NAME and policy NAME, then read them back',
  '  exit 2 before anything is read from vault when dist/ would let one namespace read another\'s paths',
  '  --dist DIR   the synthesized manifests (default: dist/ of the project)',
  `  ${ALLOW_HTTP_FLAG}  accept an http VAULT_ADDR to a host other than this machine (the token then crosses the network in cleartext)`,
  'environment: VAULT_ADDR (default https://127.0.0.1:8200 when dist/ says vault speaks TLS, else http://127.0.0.1:8200),',
  "             VAULT_CACERT (the CA of vault's certificate: needed for https to 127.0.0.1), VAULT_TOKEN (else ~/.vault-token),",
  '             VAULT_SETUP_TIMEOUT_SECONDS (bound on each call, default 10)',
];

export type Command = 'plan' | 'apply' | 'retire';

export interface Args {
  readonly command?: Command;
  readonly help: boolean;
  readonly distDir: string;
  /** Plain http to a host that is not loopback is accepted: the operator said so. */
  readonly allowHttp: boolean;
  /** `retire`: the roles and policies the operator confirmed, by name. */
  readonly confirm: string[];
}

/** Throws a one-line reason for a bad argument; the caller prints the usage. */
export function parseArgs(argv: string[]): Args {
  let command: Command | undefined;
  let distDir = 'dist';
  let help = false;
  let allowHttp = false;
  const confirm: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') help = true;
    else if (arg === ALLOW_HTTP_FLAG) allowHttp = true;
    else if (arg === '--dist' || arg.startsWith('--dist=')) {
      const value = arg === '--dist' ? argv[++i] : arg.slice('--dist='.length);
      if (!value) throw new Error('--dist needs a directory');
      distDir = value;
    } else if (arg === '--confirm' || arg.startsWith('--confirm=')) {
      const value = arg === '--confirm' ? argv[++i] : arg.slice('--confirm='.length);
      if (!value) throw new Error('--confirm needs the name of the role and policy to retire');
      confirm.push(value);
    } else if ((arg === 'plan' || arg === 'apply' || arg === 'retire') && !command) command = arg;
    else throw new Error(`unexpected argument "${arg}"`);
  }
  if (!command && !help) throw new Error('missing the command: plan, apply or retire');
  if (confirm.length > 0 && command !== 'retire') throw new Error('--confirm goes with retire only');
  // Relative to the working directory, which `npm run` and scripts/vault-setup.js set to the project root.
  return { command, help, distDir: resolve(distDir), allowHttp, confirm };
}

/** The token from VAULT_TOKEN, else from `$HOME/.vault-token`; never printed. */
export function readToken(env: Env): string {
  const fromEnv = env.VAULT_TOKEN?.trim();
  if (fromEnv) return fromEnv;
  const file = join(env.HOME ?? homedir(), '.vault-token');
  let token = '';
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch {
    token = '';
  }
  if (!token) throw new Error(`no vault token: run \`vault login\` (it writes ${file}) or set VAULT_TOKEN`);
  return token;
}

/**
 * Checked before the token is read: a refused address never gets it. The port-forward's end is the default, in the
 * scheme dist/ says Vault's listener speaks (`tls`).
 */
export function readConnection(env: Env, allowHttp = false, tls: ListenerTls = { on: false, fetchCa: 'the CA of vault\'s certificate' }): Connection {
  const addr = readUrl(env, 'VAULT_ADDR', `${tls.on ? 'https' : 'http'}://127.0.0.1:8200`);
  refuseCleartext(addr, allowHttp);
  const timeoutMs = readSeconds(env, 'VAULT_SETUP_TIMEOUT_SECONDS', 10, 0.1, 120) * 1000;
  const ca = readToolCa(env, addr, tls);
  return { addr, timeoutMs, ...(ca && { ca }), ...(tls.namespace && { namespace: tls.namespace }), token: readToken(env) };
}
