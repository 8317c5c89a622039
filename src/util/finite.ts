/** Index of the first NaN or ±Infinity in `values`, or -1 when every value is finite. */
export function firstNonFinite(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return i;
  return -1;
}

/**
 * How a number read back from JSON prints in tables: finite numbers through `format`; NaN, Infinity
 * and -Infinity by name; null as "non-finite" (JSON.stringify writes NaN and ±Infinity as null);
 * anything else (a hand-edited record) as JSON.
 */
export function numberText(v: unknown, format: (x: number) => string = String): string {
  if (typeof v === 'number') return Number.isFinite(v) ? format(v) : String(v);
  if (v === null) return 'non-finite';
  return JSON.stringify(v) ?? String(v);
}
