import { invalid, propError } from '../build/prop-error';

/**
 * The props a construct knows, for the unknown-prop check: `true` for a leaf (a value, a map of free keys, another
 * construct), or the known props of the object (or of each object of the array) under that key. Typed so that the
 * list cannot miss a prop of the interface, nor name one it does not have.
 */
export type KnownProps<T> = {
  readonly [K in keyof Required<T>]: true | KnownProps<NonNullable<Required<T>[K]> extends ReadonlyArray<infer E> ? E : NonNullable<Required<T>[K]>>;
};

/**
 * Rejects keys that the construct does not know, at any depth `known` describes. The fast synth path does not
 * type-check main.ts, so a misspelled prop would otherwise fall back to its default without a word.
 */
export function checkKnownProps<T>(construct: string, props: T, known: KnownProps<T>, at = ''): void {
  if (props === null || typeof props !== 'object' || Array.isArray(props)) {
    invalid(`${construct} ${at.replace(/\.$/, '') || 'props'}`, props, 'an object of props');
  }
  const names = Object.keys(known);
  for (const [key, value] of Object.entries(props as object)) {
    const rule = (known as Record<string, unknown>)[key];
    if (rule === undefined) {
      const hint = closest(key, names);
      throw propError(`invalid ${construct}: unknown prop "${at}${key}"${hint ? ` (did you mean "${at}${hint}"?)` : ''}`);
    }
    if (rule === true || value === undefined) continue;
    const items: unknown[] = Array.isArray(value) ? value : [value];
    items.forEach((item, i) => checkKnownProps(construct, item, rule as KnownProps<unknown>, `${at}${key}${Array.isArray(value) ? `[${i}]` : ''}.`));
  }
}

/** The known name a misspelling most likely meant: the fewest edits away (case aside), else one it abbreviates. */
function closest(key: string, names: string[]): string | undefined {
  const lower = key.toLowerCase();
  const scored = names.map((n) => ({ n, d: editDistance(lower, n.toLowerCase()) })).sort((a, b) => a.d - b.d);
  if (scored[0] && scored[0].d <= Math.max(2, Math.floor(key.length / 3))) return scored[0].n;
  return names.find((n) => n.toLowerCase().startsWith(lower));
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length];
}
