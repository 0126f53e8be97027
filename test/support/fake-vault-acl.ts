// Vault's ACL, as the stand-in for Vault's API checks a client token's requests against it: modelled on
// hashicorp/vault vault/policy.go (parsePaths: a leading "/" stripped, "+*" refused, a path with a "+" segment is a
// segment-wildcard rule that keeps its trailing "*", any other path ending in "*" a prefix rule without it) and
// vault/acl.go (NewACL: rules of the same path merged across policies, "deny" winning; AllowOperation: the exact rule
// first, for a list the path without its trailing "/" too, then CheckAllowedFromNonExactPaths: the longest prefix rule
// and every matching segment-wildcard rule, ranked by where the first wildcard or glob is, prefix or not, the number of
// "+" segments, then length). Only `path "..." { capabilities = [...] }` stanzas are parsed; anything else in a policy
// is refused, as the stand-in cannot vouch for it.

export type Operation = 'read' | 'list' | 'create' | 'update' | 'delete' | 'patch';

const CAPABILITIES = new Set(['create', 'read', 'update', 'delete', 'list', 'sudo', 'patch', 'deny', 'subscribe', 'recover']);
const STANZA = /path\s+"([^"]*)"\s*\{\s*capabilities\s*=\s*\[([^\]]*)\]\s*,?\s*\}/g;

interface Rule {
  /** The path as Vault stores the rule: a prefix rule without its "*", a segment-wildcard rule with it. */
  readonly path: string;
  readonly isPrefix: boolean;
  readonly segmentWildcards: boolean;
  readonly capabilities: Set<string>;
}

/**
 * The root paths of Vault's backends (PathsSpecial.Root): the system backend's (vault/logical_system.go, as of Vault
 * 1.2x) and the token store's (vault/token_store.go), under their mounts. An entry ending in "*" is a prefix; others
 * are exact: `sys/auth` (listing auth methods) is not a root path, `sys/auth/<path>` is.
 */
const ROOT_PATHS = [
  'sys/auth/*', 'sys/remount', 'sys/audit', 'sys/audit/*', 'sys/raw', 'sys/raw/*', 'sys/rotate', 'sys/config/cors',
  'sys/config/auditing/*', 'sys/config/ui/headers/*', 'sys/plugins/catalog/*', 'sys/plugins/runtimes/catalog/*',
  'sys/revoke-prefix/*', 'sys/revoke-force/*', 'sys/leases', 'sys/leases/revoke-prefix/*', 'sys/leases/revoke-force/*',
  'sys/leases/lookup/*', 'sys/storage/raft/snapshot-auto/config/*', 'sys/internal/inspect/*', 'sys/seal', 'sys/step-down',
  'auth/token/revoke-orphan/*', 'auth/token/accessors*',
];

/** Whether Vault requires `sudo` besides the operation's capability on this path (as the API path after /v1/). */
export function requiresSudo(requestPath: string): boolean {
  const path = requestPath.replace(/^\/+/, '');
  return ROOT_PATHS.some((root) => (root.endsWith('*') ? path.startsWith(root.slice(0, -1)) : path === root));
}

/** The rules of one policy's text; throws with Vault's kind of message on what it cannot parse. */
export function parsePolicy(text: string): Rule[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(#|\/\/)[^\n]*/g, ' ');
  if (code.replace(STANZA, '').trim() !== '') throw new Error('failed to parse policy: only path stanzas with capabilities are modelled');
  return [...code.matchAll(STANZA)].map(([, raw, list]) => {
    const capabilities = new Set(list.split(',').map((c) => c.trim().replace(/^"|"$/g, '')).filter((c) => c !== ''));
    for (const c of capabilities) if (!CAPABILITIES.has(c)) throw new Error(`path "${raw}": invalid capability "${c}"`);
    const path = raw.replace(/^\//, '');
    if (path.includes('+*')) throw new Error(`path "${path}": invalid use of wildcards ('+*' is forbidden)`);
    const segmentWildcards = path === '+' || path.includes('/+') || path.startsWith('+/');
    const isPrefix = path.endsWith('*') && !segmentWildcards;
    return { path: isPrefix ? path.slice(0, -1) : path, isPrefix, segmentWildcards, capabilities: capabilities.has('deny') ? new Set(['deny']) : capabilities };
  });
}

/** A match among the non-exact rules, with what acl.go ranks it by. */
interface Candidate { readonly firstWildcard: number; readonly isPrefix: boolean; readonly wildcards: number; readonly path: string; readonly capabilities: Set<string> }

/** acl.go's `less`: true when `a` has the lower priority. */
function lower(a: Candidate, b: Candidate): boolean {
  if (a.firstWildcard !== b.firstWildcard) return a.firstWildcard < b.firstWildcard;
  if (a.isPrefix !== b.isPrefix) return a.isPrefix;
  if (a.wildcards !== b.wildcards) return a.wildcards > b.wildcards;
  if (a.path.length !== b.path.length) return a.path.length < b.path.length;
  return a.path < b.path;
}

/** The ACL of a token: its policies' rules, merged. */
export class Acl {
  private readonly exact = new Map<string, Set<string>>();
  private readonly prefix = new Map<string, Set<string>>();
  private readonly segment = new Map<string, Set<string>>();

  constructor(policyTexts: string[]) {
    for (const rule of policyTexts.flatMap(parsePolicy)) {
      const table = rule.segmentWildcards ? this.segment : rule.isPrefix ? this.prefix : this.exact;
      const existing = table.get(rule.path);
      if (!existing) table.set(rule.path, new Set(rule.capabilities));
      else if (existing.has('deny')) continue;
      else if (rule.capabilities.has('deny')) table.set(rule.path, new Set(['deny']));
      else rule.capabilities.forEach((c) => existing.add(c));
    }
  }

  /**
   * Whether the operation on `path` (as the API path after /v1/) is allowed: AllowOperation without parameters. On a
   * root path (`requiresSudo`) the same rule must also grant `sudo` (acl.go's RootPrivs, checked by performPolicyChecks).
   */
  allows(operation: Operation, requestPath: string): boolean {
    const path = requestPath.replace(/^\/+/, '');
    const capabilities = this.exact.get(path)
      ?? (operation === 'list' ? this.exact.get(path.replace(/\/$/, '')) : undefined)
      ?? (operation === 'list' && path.endsWith('/') ? this.nonExact(path.slice(0, -1)) : undefined)
      ?? this.nonExact(path);
    return capabilities !== undefined && !capabilities.has('deny') && capabilities.has(operation)
      && (!requiresSudo(path) || capabilities.has('sudo'));
  }

  private nonExact(path: string): Set<string> | undefined {
    const candidates: Candidate[] = [];
    const longest = [...this.prefix.keys()].filter((p) => path.startsWith(p)).sort((a, b) => b.length - a.length)[0];
    if (longest !== undefined) {
      if (this.segment.size === 0) return this.prefix.get(longest);
      candidates.push({ firstWildcard: longest.length, isPrefix: true, wildcards: 0, path: longest, capabilities: this.prefix.get(longest)! });
    }
    const parts = path.split('/');
    for (const [full, capabilities] of this.segment) {
      const isPrefix = full.endsWith('*');
      const wcPath = isPrefix ? full.slice(0, -1) : full;
      const ruleParts = wcPath.split('/');
      if (parts.length < ruleParts.length || (!isPrefix && parts.length !== ruleParts.length)) continue;
      let wildcards = 0;
      const matches = ruleParts.every((part, i) => {
        if (part === '+') return ++wildcards > 0;
        if (part === parts[i]) return true;
        return isPrefix && i === ruleParts.length - 1 && parts[i].startsWith(part);
      });
      if (matches) candidates.push({ firstWildcard: full.indexOf('+'), isPrefix, wildcards, path: wcPath, capabilities });
    }
    if (candidates.length === 0) return undefined;
    return candidates.reduce((best, c) => (lower(best, c) ? c : best)).capabilities;
  }
}
