// Vault answers in its own normal form: TTLs as seconds, lists possibly null, a URL with or without its default port.
// Comparing normalized values is what lets an in-sync Vault plan no change.

const UNITS: Record<string, number> = { ns: 1e-9, us: 1e-6, 'µs': 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600, d: 86400 };

/** Seconds of a TTL as Vault returns it (a number) or as it accepts it ("3600", "1h", "1h30m"); undefined if unset. */
export function ttlSeconds(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) return undefined;
  return parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]], 0);
}

/** A list of names as a sorted set; Vault answers an empty list as null, and a comma-separated string is accepted too. */
export function nameSet(value: unknown): string[] {
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [];
  return [...new Set(items.filter((v): v is string => typeof v === 'string').map((v) => v.trim()).filter((v) => v !== ''))].sort();
}

/** A URL without its default port or trailing slash, so "https://h:443/" equals "https://h". */
export function normalUrl(value: unknown): string {
  if (typeof value !== 'string') return '';
  try {
    const url = new URL(value.trim());
    return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
  } catch {
    return value.trim();
  }
}

export const quoteList = (items: string[]) => `[${items.map((i) => JSON.stringify(i)).join(', ')}]`;

/** "3600 (1h)": seconds as Vault reads them back, with a readable form. */
export function showTtl(seconds: number | undefined): string {
  if (seconds === undefined) return 'unset';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const readable = `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s || seconds === 0 ? `${s}s` : ''}`;
  return `${seconds} (${readable})`;
}
