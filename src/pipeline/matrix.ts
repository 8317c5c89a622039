import { canonicalJson } from '../util/canonicalJson.js';
import type { MatrixSpec } from './spec.js';

export type MatrixCell = Readonly<Record<string, unknown>>;

/** `r[k]` when `k` is r's own key, else undefined: a key named "constructor" never reads Object.prototype. */
export function ownValue(r: Readonly<Record<string, unknown>>, k: string): unknown {
  return Object.hasOwn(r, k) ? r[k] : undefined;
}

function matches(cell: MatrixCell, pattern: MatrixCell, keys: Iterable<string>): boolean {
  for (const k of keys) if (canonicalJson(ownValue(cell, k)) !== canonicalJson(ownValue(pattern, k))) return false;
  return true;
}

/**
 * How many cells a matrix can expand to, counted without expanding it: the product of the axis
 * lengths (before `exclude`) plus one per `include` entry (at most one new cell each). `factors`
 * are the axis lengths, for messages.
 */
export function matrixCellBound(m: MatrixSpec | undefined): { readonly count: number; readonly factors: readonly number[] } {
  if (m === undefined) return { count: 1, factors: [] };
  const factors = Object.values(m.axes).map((values) => values.length);
  const product = factors.length === 0 ? 0 : factors.reduce((a, b) => a * b, 1);
  return { count: product + m.include.length, factors };
}

/**
 * Expands a matrix like GitHub Actions' `strategy.matrix`:
 * 1. the Cartesian product of the axes, first axis outermost;
 * 2. `exclude` removes every cell that agrees with an entry on all the entry's keys;
 * 3. each `include` entry is merged into every cell that agrees with it on the original axes it
 *    names (never overwriting an axis value); an entry that fits no cell becomes a cell of its own.
 * Cells that come out equal are kept once. An absent matrix gives one empty cell. Cells are built
 * with own properties only (a key named `__proto__` is an ordinary key). Check
 * {@link matrixCellBound} first: the product is materialised.
 */
export function expandMatrix(m: MatrixSpec | undefined): MatrixCell[] {
  if (m === undefined) return [{}];
  const axisNames = Object.keys(m.axes);
  const isAxis = new Set(axisNames);
  let cells: MatrixCell[] = axisNames.length === 0 ? [] : [{}];
  for (const a of axisNames) {
    const next: MatrixCell[] = [];
    for (const c of cells) for (const v of m.axes[a]!) next.push({ ...c, [a]: v });
    cells = next;
  }
  cells = cells.filter((c) => !m.exclude.some((e) => matches(c, e, Object.keys(e))));
  const original = cells.length;
  for (const inc of m.include) {
    const axisKeys = Object.keys(inc).filter((k) => isAxis.has(k));
    const extra = Object.entries(inc).filter(([k]) => !isAxis.has(k));
    let merged = false;
    for (let i = 0; i < original; i++) {
      const c = cells[i]!;
      if (!matches(c, inc, axisKeys)) continue;
      cells[i] = { ...c, ...Object.fromEntries(extra) };
      merged = true;
    }
    if (!merged) cells.push(Object.fromEntries(Object.entries(inc)));
  }
  const seen = new Set<string>();
  return cells.filter((c) => {
    const id = canonicalJson(c);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** How a matrix value appears in an instance name: scalars as written, anything else as canonical JSON. */
export function cellValueLabel(v: unknown): string {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : canonicalJson(v);
}
