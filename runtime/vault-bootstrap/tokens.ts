// The tokens the bootstrap holds, each for one run only: the root token `sys/init` answers (once), a root token minted
// later with `sys/generate-root` from the stored shares, or the job's own Kubernetes-auth login. Each is revoked with
// `auth/token/revoke-self` when the run ends, and a root token is then looked up to prove it no longer works. Every
// token, share and one-time pad is registered for redaction the moment it is known, in each form it travels in.
import { readFileSync } from 'fs';
import { Budget } from '../common/budget';
import { needsHuman, notYet, RunError } from '../common/failure';
import { describeAnswer, HttpResponse, request } from '../common/http';
import { Lookup } from '../common/io';
import { redact } from '../common/log';
import { CaFile } from '../common/tls';
import { vaultCall, vaultErrors } from '../common/vault';

/**
 * A call to one Vault's API, bounded by the run's budget (or by `timeoutMs`, still within the run); the token, when
 * given, in X-Vault-Token only.
 */
export type VaultCall = (method: string, path: string, options?: { token?: string; body?: unknown; timeoutMs?: number }) => Promise<HttpResponse>;

export function vaultCaller(addr: string, budget: Budget, lookup?: Lookup, ca?: CaFile): VaultCall {
  const tls = vaultCall(addr, { ca });
  return (method, path, { token, body, timeoutMs } = {}) => request(`${addr}${path}`, {
    name: `${method} ${path}`, method, body, lookup, ...tls,
    timeoutMs: timeoutMs === undefined ? budget.callMs() : Math.min(timeoutMs, Math.max(budget.leftMs(), 1)),
    headers: token === undefined ? {} : { 'x-vault-token': token },
  });
}

/** Registers a share in every form it may be printed in: as given, hex and base64. */
export function redactShare(share: string): void {
  redact(share);
  const bytes = /^([0-9a-f]{2})+$/i.test(share) ? Buffer.from(share, 'hex') : Buffer.from(share, 'base64');
  redact(bytes.toString('hex'));
  redact(bytes.toString('base64'));
  redact(bytes.toString('base64').replace(/=+$/, ''));
  // As a Secret's data holds the hex text: an API error quoting the object would carry this form.
  redact(Buffer.from(share, 'utf8').toString('base64'));
}

const isHex = (value: unknown): value is string => typeof value === 'string' && /^([0-9a-f]{2})+$/i.test(value);

export interface InitAnswer {
  /** The shares, hex. */
  readonly shares: string[];
  readonly rootToken: string;
}

/**
 * `PUT sys/init`: the shares and the root token, checked for shape and redacted before anything else happens. Vault
 * initializes its storage before it answers, which may take long (the vault CLI waits a minute): the call has its
 * own bound, and a call that got no answer is never retried, as Vault may be initialized with shares nobody holds.
 */
export async function initialize(call: VaultCall, shares: number, threshold: number, timeoutMs: number): Promise<InitAnswer> {
  let answer: HttpResponse;
  try {
    answer = await call('PUT', '/v1/sys/init', { body: { secret_shares: shares, secret_threshold: threshold }, timeoutMs });
  } catch (error) {
    throw needsHuman(`PUT /v1/sys/init got no answer (${(error as Error).message}): vault may now be initialized with shares nobody holds; `
      + 'look at its seal status and log before anything else: if it is initialized and holds no data, wipe its storage so that the next run initializes it');
  }
  const keys = answer.json?.keys;
  const base64 = answer.json?.keys_base64;
  const root = answer.json?.root_token;
  // Redact first: whatever the answer holds must not reach an error message.
  for (const key of [...(Array.isArray(keys) ? keys : []), ...(Array.isArray(base64) ? base64 : [])]) if (typeof key === 'string') redactShare(key);
  if (typeof root === 'string') redact(root);
  if (answer.status !== 200) throw notYet(`PUT /v1/sys/init answered HTTP ${answer.status}${vaultErrors(answer)}`);
  if (!Array.isArray(keys) || keys.length !== shares || !keys.every(isHex) || typeof root !== 'string' || root === '') {
    // Vault may hold an initialized barrier now whose shares this run cannot read: a human must look.
    throw needsHuman(`PUT /v1/sys/init answered ${describeAnswer(answer)} without ${shares} hex shares and a root token: vault may be initialized with shares nobody holds; check \`kubectl logs\` of vault and its seal status before anything else`);
  }
  return { shares: keys, rootToken: root };
}

/**
 * Kubernetes-auth login with the pod's ServiceAccount token: the token, or why Vault refused. A 400 "invalid role name"
 * is a role Vault does not have (path_login.go); a 403 anything else (the ServiceAccount not bound, the API server's
 * TokenReview failing, the auth method not enabled: an unauthenticated call to a path no mount serves is denied).
 */
export async function login(call: VaultCall, authMount: string, role: string, tokenFile: string): Promise<{ token: string } | { refused: 'no role' | 'denied'; reason: string }> {
  let jwt: string;
  try {
    jwt = readFileSync(tokenFile, 'utf8').trim();
  } catch (error) {
    throw needsHuman(`cannot read the service account token at ${tokenFile} (${(error as NodeJS.ErrnoException).code}): mount it (automountServiceAccountToken) or set KUBE_TOKEN_FILE`);
  }
  if (jwt === '') throw needsHuman(`the service account token at ${tokenFile} is empty: mount the pod's token (automountServiceAccountToken) or set KUBE_TOKEN_FILE`);
  redact(jwt);
  const answer = await call('POST', `/v1/auth/${authMount}/login`, { body: { role, jwt } });
  const token = answer.json?.auth?.client_token;
  if (typeof token === 'string') redact(token);
  // Only "invalid role name" says that Vault lacks the role; any other 400 (a request it cannot read) is no reason to
  // mint a root token.
  if (answer.status === 400 && /invalid role name/i.test(vaultErrors(answer))) return { refused: 'no role', reason: `HTTP 400${vaultErrors(answer)}` };
  if (answer.status === 403) return { refused: 'denied', reason: `HTTP 403${vaultErrors(answer)}` };
  if (answer.status !== 200 || typeof token !== 'string' || token === '') {
    throw notYet(`POST /v1/auth/${authMount}/login answered ${describeAnswer(answer)}${vaultErrors(answer)}`);
  }
  return { token };
}

/** How long the token a root token is exchanged for lives: a run killed midway leaves it valid this long at most. */
export const SHORT_ROOT_SECONDS = 300;

/**
 * An orphan token with the root policy that expires on its own (`auth/token/create-orphan`, explicit_max_ttl): the run
 * works with it, so that the root token from init or generate-root, which never expires, is revoked at once.
 */
export async function shortLivedRoot(call: VaultCall, root: string): Promise<string> {
  const ttl = `${SHORT_ROOT_SECONDS}s`;
  const answer = await call('POST', '/v1/auth/token/create-orphan', {
    token: root, body: { policies: ['root'], ttl, explicit_max_ttl: ttl, renewable: false, display_name: 'vault-bootstrap' },
  });
  const token = answer.json?.auth?.client_token;
  if (typeof token === 'string') redact(token);
  if (answer.status !== 200 || typeof token !== 'string' || token === '') {
    throw notYet(`POST /v1/auth/token/create-orphan answered ${describeAnswer(answer)}${vaultErrors(answer)}`);
  }
  return token;
}

/**
 * A root token from `sys/generate-root` with the stored shares and a one-time pad Vault makes (Vault 1.10 and later):
 * the answer is the token XORed with the pad, base64 (command/operator_generate_root.go decodes it so). An attempt
 * this run started and could not finish is cancelled; one started by someone else is left alone.
 */
export async function generateRoot(call: VaultCall, shares: string[]): Promise<string> {
  const status = await call('GET', '/v1/sys/generate-root/attempt');
  if (status.status !== 200 || typeof status.json?.started !== 'boolean') throw notYet(`GET /v1/sys/generate-root/attempt answered ${describeAnswer(status)}`);
  if (status.json.started) {
    throw needsHuman('a root token generation is already in progress (a human\'s, or a run stopped midway): finish it, or cancel it with `vault operator generate-root -cancel`, and the next run continues');
  }
  const started = await call('PUT', '/v1/sys/generate-root/attempt', { body: {} });
  const otp = started.json?.otp;
  const nonce = started.json?.nonce;
  if (typeof otp === 'string') redact(otp);
  if (started.status !== 200 || typeof otp !== 'string' || otp === '' || typeof nonce !== 'string') {
    throw notYet(`PUT /v1/sys/generate-root/attempt answered ${describeAnswer(started)}${vaultErrors(started)}`);
  }
  try {
    for (const key of shares) {
      const answer = await call('PUT', '/v1/sys/generate-root/update', { body: { key, nonce } });
      if (answer.status !== 200) throw needsHuman(`PUT /v1/sys/generate-root/update answered HTTP ${answer.status}${vaultErrors(answer)}: check that the unseal Secret holds this Vault's shares`);
      if (answer.json?.complete !== true) continue;
      const encoded = answer.json?.encoded_token;
      if (typeof encoded !== 'string' || encoded === '') throw notYet('sys/generate-root completed without an encoded_token: not vault\'s answer');
      const bytes = Buffer.from(encoded, 'base64');
      const pad = Buffer.from(otp, 'utf8');
      if (bytes.length !== pad.length) throw notYet(`sys/generate-root answered a token of ${bytes.length} bytes for a pad of ${pad.length}: not vault's answer`);
      const token = Buffer.from(bytes.map((b, i) => b ^ pad[i])).toString('utf8');
      redact(token);
      return token;
    }
    throw needsHuman(`sys/generate-root took all ${shares.length} stored shares and is not complete: the unseal Secret holds fewer shares than the threshold`);
  } catch (error) {
    await call('DELETE', '/v1/sys/generate-root/attempt').catch(() => undefined);
    throw error;
  }
}

/**
 * Revokes `token` (`auth/token/revoke-self`) and, for a root token, proves it: `lookup-self` must then be refused.
 * Throws when Vault still honours it, saying what to do.
 */
/** How a human revokes a root token nobody holds. */
export const REVOKE_BY_HAND = 'nobody holds it, yet vault honours it: as an admin, `vault list auth/token/accessors`, find the root token among them '
  + '(`vault token lookup -accessor <accessor>`: policies [root]) and `vault token revoke -accessor <accessor>`';

export async function revoke(call: VaultCall, token: string, what: string, prove: boolean): Promise<void> {
  const fix = REVOKE_BY_HAND;
  let answer: HttpResponse;
  try {
    answer = await call('POST', '/v1/auth/token/revoke-self', { token });
  } catch (error) {
    throw new RunError(`could not revoke the ${what} (${(error as Error).message}): ${fix}`, 2);
  }
  if (answer.status !== 204 && answer.status !== 200) throw new RunError(`revoking the ${what} answered HTTP ${answer.status}${vaultErrors(answer)}: ${fix}`, 2);
  if (!prove) return;
  const lookup = await call('GET', '/v1/auth/token/lookup-self', { token });
  if (lookup.status !== 403) throw new RunError(`the ${what} still works after revoke-self (lookup-self answered HTTP ${lookup.status}): ${fix}`, 2);
}
