import type { SeriesTags } from './reportData.js';

/**
 * What tells series of one (dataset, model) apart beyond operator, split and epoch, in the
 * pipeline's own words: the run (when runs are compared) and the instance's matrix coordinates,
 * e.g. "train_per_class=200" or "run B · lr=0.1". Legends and facet headers use these labels and
 * name the axes (variantTitle), never a field the pipeline did not set.
 */
export function variantLabel(t: Pick<SeriesTags, 'axes' | 'run'>): string {
  const parts: string[] = [];
  if (t.run !== undefined) parts.push(t.run);
  for (const k of Object.keys(t.axes ?? {}).sort()) parts.push(`${k}=${String(t.axes![k])}`);
  return parts.join(' · ');
}

/** The axis names behind the labels of these series ("run · train_per_class"), or null when none vary. */
export function variantTitle(items: readonly Pick<SeriesTags, 'axes' | 'run'>[]): string | null {
  const names = new Set<string>();
  let run = false;
  for (const t of items) {
    if (t.run !== undefined) run = true;
    for (const k of Object.keys(t.axes ?? {})) names.add(k);
  }
  const all = [...(run ? ['run'] : []), ...[...names].sort()];
  return all.length > 0 ? all.join(' · ') : null;
}

/** Distinct variant labels, in a stable order (numeric values ascending). */
export function variantsOf(items: readonly Pick<SeriesTags, 'axes' | 'run'>[]): string[] {
  return [...new Set(items.map(variantLabel))].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/**
 * Matrix coordinates that name a variant: all but those the report shows by other means. The seed
 * (`seed`, or an upstream stage's `stage.seed`) is never a variant: items that differ only by it are
 * averaged across seeds (src/report/seedGroups.ts), not told apart in a legend.
 */
const NOT_VARIANTS = new Set(['operator', 'split', 'checkpoint', 'epoch', 'seed']);

/** The `axes` tag of an instance from its matrix coordinates (scalar values only, never the seed). */
export function axesOf(coords: Readonly<Record<string, unknown>>): Record<string, string | number | boolean> | undefined {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(coords)) {
    if (NOT_VARIANTS.has(k) || k.endsWith('.seed')) continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** A sequential colour (viridis, dark → light) for position i of n: epochs in order. */
export function sequentialColor(i: number, n: number): string {
  const stops = ['#440154', '#414487', '#2a788e', '#22a884', '#7ad151', '#bddf26'];
  if (n <= 1) return stops[1]!;
  const t = (i / (n - 1)) * (stops.length - 1);
  return stops[Math.round(t)]!;
}
