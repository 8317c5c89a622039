import { canonicalJson } from './canonicalJson.js';
import type { MatrixSpec } from './spec.js';

export type MatrixCell = Readonly<Record<string, unknown>>;

function matches(cell: MatrixCell, pattern: MatrixCell, keys: Iterable<string>): boolean {
  for (const k of keys) if (canonicalJson(cell[k]) !== canonicalJson(pattern[k])) return false;
  return true;
}

/**
 * Expands a matrix like GitHub Actions' `strategy.matrix`:
 * 1. the Cartesian product of the axes, first axis outermost;
 * 2. `exclude` removes every cell that agrees with an entry on all the entry's keys;
 * 3. each `include` entry is merged into every cell that agrees with it on the original axes it
 *    names (never overwriting an axis value); an entry that fits no cell becomes a cell of its own.
 * Cells that come out equal are kept once. An absent matrix gives one empty cell.
 */
export function expandMatrix(m: MatrixSpec | undefined): MatrixCell[] {
  if (m === undefined) return [{}];
  const axisNames = Object.keys(m.axes);
  let cells: Record<string, unknown>[] = axisNames.length === 0 ? [] : [{}];
  for (const a of axisNames) {
    const next: Record<string, unknown>[] = [];
    for (const c of cells) for (const v of m.axes[a]!) next.push({ ...c, [a]: v });
    cells = next;
  }
  cells = cells.filter((c) => !m.exclude.some((e) => matches(c, e, Object.keys(e))));
  const original = cells.length;
  for (const inc of m.include) {
    const axisKeys = Object.keys(inc).filter((k) => axisNames.includes(k));
    let merged = false;
    for (let i = 0; i < original; i++) {
      const c = cells[i]!;
      if (!matches(c, inc, axisKeys)) continue;
      for (const [k, v] of Object.entries(inc)) if (!axisNames.includes(k)) c[k] = v;
      merged = true;
    }
    if (!merged) cells.push({ ...inc });
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
