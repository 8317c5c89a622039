import type { SpectrumSeries } from './reportData.js';

/**
 * How the report draws the spread across seeds (src/report/seedGroups.ts) on a figure's Vega-Lite
 * view, without changing how the view is written: the view's unit (mark + encoding, or a facet's
 * `spec`) becomes a layer over a band (`area`, between `lo` and `hi`) or under error bars (`rule`),
 * coloured like the unit. A view without spread is returned as it is.
 */
export type SpreadStyle =
  /** Shaded band between `lo` and `hi` on a log y axis (densities). */
  | 'log-band'
  /** Shaded band between `lo` and `hi` (training curves). */
  | 'band'
  /** Vertical error bars from `lo` to `hi` (scalars across epochs). */
  | 'rules';

type View = Record<string, unknown>;

/**
 * (λ, lo, hi) rows of a series' across-seed band, every `ceil(n / maxPoints)`-th grid point, clamped to
 * `floor` × the mean density's maximum (as the curve is); [] for a series that is not a mean over seeds.
 */
export function seedBandRows(
  s: SpectrumSeries,
  extra: Record<string, unknown>,
  o: { readonly floor: number; readonly maxPoints: number },
): Record<string, unknown>[] {
  const band = s.seedBand;
  if (band === undefined) return [];
  let max = 0;
  for (const d of s.density) if (Number.isFinite(d) && d > max) max = d;
  const floor = max > 0 ? max * o.floor : o.floor;
  const stride = Math.max(1, Math.ceil(s.grid.length / o.maxPoints));
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < s.grid.length; i += stride)
    rows.push({ x: s.grid[i]!, lo: Math.max(band.lo[i]!, floor), hi: Math.max(band.hi[i]!, floor), ...extra });
  return rows;
}

/** The spread layer of a unit: its x, colour and detail channels, y from `lo` to `hi`. */
function spreadLayer(unit: View, style: SpreadStyle): View {
  const enc = (unit['encoding'] ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const mark = (unit['mark'] ?? {}) as Record<string, unknown>;
  const fixedColor = typeof mark['color'] === 'string' ? { color: mark['color'] } : {};
  const x = enc['x'] !== undefined ? { x: { field: enc['x']['field'], type: enc['x']['type'] } } : {};
  const channels = Object.fromEntries((['color', 'detail'] as const).filter((k) => enc[k] !== undefined).map((k) => [k, enc[k]]));
  if (enc['strokeDash'] !== undefined && channels['detail'] === undefined) channels['detail'] = enc['strokeDash'];
  return {
    transform: [{ filter: 'isValid(datum.lo)' }],
    mark: style === 'rules' ? { type: 'rule', strokeWidth: 1.2, ...fixedColor } : { type: 'area', opacity: 0.22, ...fixedColor },
    encoding: {
      ...x,
      y: { field: 'lo', type: 'quantitative', ...(style === 'log-band' && { scale: { type: 'log' } }) },
      y2: { field: 'hi' },
      ...channels,
    },
  };
}

/** A unit (mark + encoding + …) as two layers: the spread and the unit, each reading only its own rows. */
function layered(unit: View, style: SpreadStyle): View {
  const { mark, encoding, data, ...rest } = unit;
  const own = { ...(data !== undefined && { data }), mark, encoding };
  const valueField = ((encoding as Record<string, { field?: string }> | undefined)?.['y']?.field ?? 'y') as string;
  const spread = spreadLayer(unit, style);
  return {
    ...rest,
    layer:
      style === 'rules'
        ? [own, spread]
        : [spread, { ...own, transform: [{ filter: `isValid(datum[${JSON.stringify(valueField)}])` }] }],
  };
}

/** The style a unit's spread takes: error bars for lines with points, a band on a log or linear y axis otherwise. */
function styleOf(unit: View): SpreadStyle {
  const mark = unit['mark'] as Record<string, unknown> | undefined;
  const y = (unit['encoding'] as Record<string, { scale?: { type?: string } }> | undefined)?.['y'];
  return mark?.['point'] === true ? 'rules' : y?.scale?.type === 'log' ? 'log-band' : 'band';
}

/**
 * `view` with the spread across seeds drawn with it, when rows of its data carry `lo` and `hi` (the
 * band rows of `seedBandRows`, with the fields the view facets or colours by, or points that are
 * means over seeds): its unit becomes a layer over the band or under the error bars, each layer
 * reading only its own rows. Handles a single view and a facet (`spec`); anything else, and a view
 * without such rows, is returned as it is.
 */
export function withSeedSpread(view: View): View {
  const values = (view['data'] as { values?: Record<string, unknown>[] } | undefined)?.values ?? [];
  if (!values.some((r) => r['lo'] !== undefined)) return view;
  const spec = view['spec'] as View | undefined;
  if (spec !== undefined) return spec['mark'] === undefined ? view : { ...view, spec: layered(spec, styleOf(spec)) };
  if (view['mark'] === undefined) return view;
  const { data, ...rest } = view;
  return { ...layered(rest, styleOf(rest)), data };
}
