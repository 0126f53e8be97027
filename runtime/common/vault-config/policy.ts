// The policy of a store's role, derived from what its ExternalSecrets read: least privilege, and one line per path so
// that the text is stable and a diff reads as "this path added, that path removed".
import { SecretRead } from './manifests';

/** Vault path → capabilities. */
export type Rules = Map<string, Set<string>>;

/** Adds `capabilities` on `path` to `rules`. */
export function grant(rules: Rules, path: string, ...capabilities: string[]): void {
  const set = rules.get(path) ?? new Set<string>();
  for (const c of capabilities) set.add(c);
  rules.set(path, set);
}

/**
 * What ESO's Vault provider requests for each read on a KV v2 `mount` (external-secrets providers/v1/vault):
 * - `data[].remoteRef` and `dataFrom[].extract` (client_get.go, readSecret): `GET <mount>/data/<key>`, so `read` on
 *   exactly that path (a `version` only adds a query parameter).
 * - with `metadataPolicy: Fetch` (client_get.go, readSecretMetadata): `GET <mount>/metadata/<key>` instead of the data,
 *   so `read` on the metadata path and nothing on the data path.
 * - `dataFrom[].find` (client_get_all_secrets.go, listSecrets): `LIST <mount>/metadata/<path>/`, recursing into every
 *   folder it finds, so `list` on the glob `<mount>/metadata/<path>/*` (which also matches the folder itself; without a
 *   path the glob is `<mount>/metadata/*`); then it reads each matching secret's data (`read` on
 *   `<mount>/data/<path>/*`), and a find by tags first reads each candidate's metadata (`read` on the metadata glob).
 * `auth/token/lookup-self`, which validating the store calls, is allowed by Vault's default policy.
 */
export function deriveRules(mount: string, reads: SecretRead[]): Rules {
  const rules: Rules = new Map();
  for (const read of reads) {
    if (read.kind === 'data') grant(rules, `${mount}/data/${read.key}`, 'read');
    if (read.kind === 'metadata') grant(rules, `${mount}/metadata/${read.key}`, 'read');
    if (read.kind === 'find') {
      const under = read.path ? `${read.path}/*` : '*';
      grant(rules, `${mount}/metadata/${under}`, 'list', ...(read.tags ? ['read'] : []));
      grant(rules, `${mount}/data/${under}`, 'read');
    }
  }
  return rules;
}

/** Merges rule sets (several stores can share one role). */
export function mergeRules(...sets: Rules[]): Rules {
  const merged: Rules = new Map();
  for (const rules of sets) for (const [path, capabilities] of rules) grant(merged, path, ...capabilities);
  return merged;
}

/** One canonical line per path, sorted by path, capabilities sorted and deduplicated. */
export function policyLines(rules: Rules): string[] {
  return [...rules.keys()].sort().map((path) => {
    const capabilities = [...rules.get(path)!].sort().map((c) => `"${c}"`).join(', ');
    return `path "${path}" { capabilities = [${capabilities}] }`;
  });
}

/** The policy text written to Vault: a comment saying where it comes from, then the canonical lines. */
export function policyText(name: string, stores: string[], lines: string[], source = 'the ExternalSecrets of'): string {
  const header = `# ${name}: derived by vault-setup from ${source} ${stores.join(', ')} in dist/; change the manifests, not this policy`;
  return `${[header, ...lines].join('\n')}\n`;
}

const BLOCK = /path\s+"([^"]*)"\s*\{\s*capabilities\s*=\s*\[([^\]]*)\]\s*,?\s*\}/g;

function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(#|\/\/)[^\n]*/g, ' ');
}

/**
 * The rules of a policy, when it has only `path { capabilities }` blocks, however laid out; undefined when it has
 * anything else (parameters, wrapping TTLs).
 */
export function parseRules(text: string): Rules | undefined {
  const code = stripComments(text);
  const rules: Rules = new Map();
  for (const match of code.matchAll(BLOCK)) {
    const capabilities = match[2].split(',').map((c) => c.trim().replace(/^"|"$/g, '')).filter((c) => c !== '');
    grant(rules, match[1], ...capabilities);
  }
  return code.replace(BLOCK, '').trim() === '' ? rules : undefined;
}

/**
 * The canonical lines of a policy Vault holds, when it has only `path { capabilities }` blocks, however laid out;
 * undefined when it has anything else, which is then compared line by line.
 */
export function parsePolicy(text: string): string[] | undefined {
  const rules = parseRules(text);
  return rules && policyLines(rules);
}

/** Whether Vault holds `text` as vault-setup wrote it for `name`: its header says so (policyText). */
export const writtenByVaultSetup = (name: string, text: string | undefined) => text?.startsWith(`# ${name}: derived by vault-setup from `) === true;

/** A policy's lines for comparison: canonical when it parses, else its trimmed non-empty, non-comment lines. */
export function normalizedPolicy(text: string): string[] {
  return parsePolicy(text) ?? stripComments(text).split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

/** The lines to remove ("- ...") and to add ("+ ..."), each group in sorted order. */
export function diffLines(current: string[], desired: string[]): string[] {
  const want = new Set(desired);
  const have = new Set(current);
  return [
    ...[...have].filter((l) => !want.has(l)).sort().map((l) => `- ${l}`),
    ...[...want].filter((l) => !have.has(l)).sort().map((l) => `+ ${l}`),
  ];
}
