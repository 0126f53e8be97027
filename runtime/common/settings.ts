// Settings come from environment variables only; a malformed one ends the run at once with a message naming it.
import { needsHuman } from './failure';
import { DEFAULTS, ENV } from './variables';

export type Env = Record<string, string | undefined>;

export function invalid(name: string, value: string, expected: string): never {
  throw needsHuman(`invalid ${name}: got ${JSON.stringify(value)}, expected ${expected}`);
}

/** A URL, such as VAULT_ADDR; returned without a trailing slash. */
export function readUrl(env: Env, name: string, fallback: string): string {
  const value = env[name] ?? fallback;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || !/^https?:$/.test(url.protocol) || url.search || url.hash) {
    invalid(name, value, 'an http(s) URL such as "http://vault.security.svc.cluster.local:8200"');
  }
  return value.replace(/\/+$/, '');
}

/** A number of seconds within [min, max]. */
export function readSeconds(env: Env, name: string, fallback: number, min: number, max = 3600): number {
  const value = env[name];
  if (value === undefined) return fallback;
  const seconds = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(seconds) || seconds < min || seconds > max) {
    invalid(name, value, `a number of seconds from ${min} to ${max}`);
  }
  return seconds;
}

/** A non-empty string such as a path or a name. */
export function readString(env: Env, name: string, fallback: string, pattern = /^\S+$/): string {
  const value = env[name] ?? fallback;
  if (!pattern.test(value)) invalid(name, value, `a value matching ${pattern}`);
  return value;
}

/** A comma-separated list of names. */
export function readList(env: Env, name: string, fallback: string[], pattern: RegExp): string[] {
  const value = env[name];
  if (value === undefined) return fallback;
  const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0 || items.some((item) => !pattern.test(item))) {
    invalid(name, value, 'a comma-separated list of Kubernetes names');
  }
  return items;
}

/** The retry settings both scripts share: one run keeps trying inside its window, every interval, until its deadline. */
export interface RetrySettings {
  /** Bound on every connection and HTTP call, in milliseconds. */
  readonly timeoutMs: number;
  /** How long one run keeps trying, in milliseconds; 0 makes one attempt. */
  readonly windowMs: number;
  /** The pause between attempts, in milliseconds. */
  readonly intervalMs: number;
  /** When the run stops, whatever it is doing, in milliseconds from its start. */
  readonly deadlineMs: number;
}

export function readRetrySettings(env: Env): RetrySettings {
  const settings = {
    timeoutMs: readSeconds(env, ENV.timeoutSeconds, DEFAULTS.timeoutSeconds, 0.1, 60) * 1000,
    windowMs: readSeconds(env, ENV.retryWindowSeconds, DEFAULTS.retryWindowSeconds, 0, 3600) * 1000,
    intervalMs: readSeconds(env, ENV.retryIntervalSeconds, DEFAULTS.retryIntervalSeconds, 0.1, 600) * 1000,
    deadlineMs: readSeconds(env, ENV.runDeadlineSeconds, DEFAULTS.runDeadlineSeconds, 0.1, 3600) * 1000,
  };
  if (settings.deadlineMs < settings.windowMs) {
    invalid(ENV.runDeadlineSeconds, String(settings.deadlineMs / 1000), `at least ${ENV.retryWindowSeconds} (${settings.windowMs / 1000})`);
  }
  return settings;
}

/** A whole number within [min, max], such as a count of files to keep. */
export function readInteger(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = env[name];
  if (value === undefined) return fallback;
  const number = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max) invalid(name, value, `a whole number from ${min} to ${max}`);
  return number;
}
