import { isIP } from 'net';
import { invalid } from '../build/prop-error';

/**
 * Prop checks shared by the constructs. Each throws an error that names the construct's prop, the value received
 * and what is expected, so a wrong prop stops synthesis before anything is written.
 */

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// A Kubernetes quantity: a decimal number with an optional binary or decimal suffix.
const QUANTITY = /^(\d+(\.\d+)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$/;
// repository[:tag][@sha256:digest], repository being lowercase path components with an optional registry host.
const IMAGE = /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;

/** A name such as a namespace or Service: a DNS-1123 label of at most 63 characters. */
export function checkDnsLabel(prop: string, value: string): string {
  if (typeof value !== 'string' || value.length > 63 || !DNS_LABEL.test(value)) {
    invalid(prop, value, 'a DNS-1123 label (lowercase letters, digits and "-", at most 63 characters)');
  }
  return value;
}

/** An object name such as a Secret, ConfigMap or ExternalSecret: a DNS-1123 subdomain of at most 253 characters. */
export function checkDnsSubdomain(prop: string, value: string): string {
  if (typeof value !== 'string' || value.length > 253 || !DNS_SUBDOMAIN.test(value)) {
    invalid(prop, value, 'a DNS-1123 subdomain (lowercase letters, digits, "-" and ".", at most 253 characters)');
  }
  return value;
}

/** A fully qualified host name served by an Ingress (at least two labels, no wildcard, no port). */
export function checkHostname(prop: string, value: string): string {
  const labels = typeof value === 'string' ? value.split('.') : [];
  if (labels.length < 2 || value.length > 253 || !DNS_SUBDOMAIN.test(value) || labels.some((l) => l.length > 63)) {
    invalid(prop, value, 'a lowercase fully qualified host name such as "vault.example.com"');
  }
  return value;
}

/** A Kubernetes resource quantity greater than zero, such as "10Gi" or "100m". */
export function checkQuantity(prop: string, value: string): string {
  if (typeof value !== 'string' || !QUANTITY.test(value) || Number(value.replace(/[a-zA-Z]+$/, '')) <= 0) {
    invalid(prop, value, 'a positive Kubernetes quantity such as "10Gi", "256Mi" or "100m"');
  }
  return value;
}

/** A container image pinned to a tag or digest; "latest" and untagged references are refused. */
export function checkPinnedImage(prop: string, value: string): string {
  const pinned = typeof value === 'string' && IMAGE.test(value) && /(:[^/:]+|@sha256:[a-f0-9]{64})$/.test(value);
  if (!pinned || /:latest(@|$)/.test(value)) {
    invalid(prop, value, 'an image pinned to a version tag or digest, such as "hashicorp/vault:2.0.4"');
  }
  return value;
}

/** A CIDR block, IPv4 or IPv6, as ingress-nginx parses it. */
export function checkCidr(prop: string, value: string): string {
  const [address, prefix, rest] = typeof value === 'string' ? value.split('/') : [];
  const family = isIP(address ?? '');
  const bits = Number(prefix);
  const max = family === 6 ? 128 : 32;
  if (!family || rest !== undefined || !/^\d{1,3}$/.test(prefix ?? '') || bits > max) {
    invalid(prop, value, 'a CIDR block such as "192.168.1.0/24" or "fd00::/8"');
  }
  return value;
}

/** A whole number within [min, max]. */
export function checkInteger(prop: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    invalid(prop, value, `a whole number from ${min} to ${max}`);
  }
  return value;
}

const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

/** Label or annotation keys (`prefix/name`), and for labels their values too. */
export function checkMetadataMap(prop: string, map: Record<string, string>, labels: boolean): Record<string, string> {
  if (map === null || typeof map !== 'object' || Array.isArray(map)) invalid(prop, map, 'a map of names to string values');
  for (const [key, value] of Object.entries(map)) {
    if (!QUALIFIED_NAME.test(key)) invalid(prop, key, 'keys of the form "prefix/name" or "name", as Kubernetes labels and annotations have');
    if (typeof value !== 'string' || (labels && !LABEL_VALUE.test(value))) {
      invalid(prop, value, labels ? 'label values of at most 63 letters, digits, "-", "_" or "."' : 'string values');
    }
  }
  return map;
}

/** A Go duration as ESO parses it, such as "1h", "15m" or "1h30m"; "0" turns periodic refresh off. */
export function checkDuration(prop: string, value: string): string {
  if (typeof value !== 'string' || !(value === '0' || /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(value))) {
    invalid(prop, value, 'a duration such as "1h", "15m" or "1h30m"');
  }
  return value;
}

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/** An http(s) base URL with no path, query or trailing slash, such as Vault's in-cluster address. */
export function checkHttpUrl(prop: string, value: string): string {
  const url = parseUrl(value);
  if (!url || !/^https?:$/.test(url.protocol) || url.pathname !== '/' || url.search || url.username || value.endsWith('/')) {
    invalid(prop, value, 'an http(s) URL with no path, such as "http://vault.security.svc.cluster.local:8200"');
  }
  return value;
}

// The five fields of a cron schedule as Kubernetes CronJobs and Longhorn read it (robfig/cron's standard parser):
// name, lowest and highest value.
const CRON_FIELDS: ReadonlyArray<readonly [string, number, number]> = [
  ['minute', 0, 59], ['hour', 0, 23], ['day of month', 1, 31], ['month', 1, 12], ['day of week', 0, 6],
];
const CRON_ITEM = /^(\*|(\d+)(-(\d+))?)(\/(\d+))?$/;

function cronFieldValid(field: string, min: number, max: number): boolean {
  return field.split(',').every((item) => {
    const m = CRON_ITEM.exec(item);
    if (!m) return false;
    const low = m[2] === undefined ? min : Number(m[2]);
    const high = m[4] === undefined ? (m[2] === undefined || m[6] !== undefined ? max : low) : Number(m[4]);
    const step = m[6] === undefined ? 1 : Number(m[6]);
    return low >= min && high <= max && low <= high && step >= 1 && step <= max;
  });
}

/**
 * A cron schedule of five numeric fields, each `*`, a value, a range `a-b`, any of these with a step `/n`, or a list of
 * them, within the field's range. Names (`MON`, `JAN`) and macros (`@daily`) are refused: numbers read the same in
 * every tool that runs the schedule.
 */
export function checkCron(prop: string, value: string): string {
  const fields = typeof value === 'string' ? value.trim().split(/\s+/) : [];
  if (fields.length !== CRON_FIELDS.length || !fields.every((f, i) => cronFieldValid(f, CRON_FIELDS[i][1], CRON_FIELDS[i][2]))) {
    invalid(prop, value, `five cron fields (${CRON_FIELDS.map(([name, min, max]) => `${name} ${min}-${max}`).join(', ')}) such as "0 * * * *"`);
  }
  return value;
}

const PROM_DURATION = /^((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?$/;
const PROM_DURATION_UNITS = [604800, 86400, 3600, 60, 1];

/** The seconds of a Prometheus duration such as "1h30m"; NaN when it is not one. */
export function promDurationSeconds(value: string): number {
  const m = typeof value === 'string' && value !== '' ? PROM_DURATION.exec(value) : null;
  if (!m) return NaN;
  return PROM_DURATION_UNITS.reduce((sum, unit, i) => sum + Number(m[2 * i + 2] ?? 0) * unit, 0);
}

/** A Prometheus duration, such as "10m" or "1h30m" (units w, d, h, m, s, largest first), from min to max seconds. */
export function checkPromDuration(prop: string, value: string, minSeconds: number, maxSeconds: number): string {
  const seconds = promDurationSeconds(value);
  if (!(seconds >= minSeconds && seconds <= maxSeconds)) {
    invalid(prop, value, `a Prometheus duration such as "10m" or "1h30m" (units w, d, h, m, s), from ${minSeconds}s to ${maxSeconds}s`);
  }
  return value;
}

/** An http(s) URL of a document, without a fragment (one is appended to it), such as a README's web address. */
export function checkDocumentUrl(prop: string, value: string): string {
  const url = parseUrl(value);
  if (!url || !/^https?:$/.test(url.protocol) || value.includes('#') || /\s/.test(value)) {
    invalid(prop, value, 'an http(s) URL without "#", such as "https://git.example.com/homelab/homelab-secrets/src/branch/main/README.md"');
  }
  return value;
}
